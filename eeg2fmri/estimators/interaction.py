"""A fair non-linear baseline: :class:`InteractionRidge`.

:class:`~eeg2fmri.BandPowerRidge` plus the pairwise products of the band powers
within every context window and channel, so that a deep model's gain over the ridge
is not feature engineering the baselines were denied (the products can express a
band weight switched by another band's power, or a saturating response).
"""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
from sklearn.preprocessing import StandardScaler

from .._utils.logging import logger
from ..exceptions import ModelFileError
from ._band_features import _real_vector
from .ridge import DEFAULT_ALPHAS, DEFAULT_BANDS, BandPowerRidge

__all__ = ["InteractionRidge"]


class _WeightedScaler(StandardScaler):
    """A StandardScaler whose columns ``columns`` come out multiplied by ``weight``.

    Dividing ``scale_`` by the weight keeps it a plain StandardScaler for
    ``transform``, saving and loading (weight 0: those columns come out 0).
    """

    def __init__(self, columns=None, weight=1.0):
        super().__init__()
        self.columns = columns
        self.weight = weight

    def fit(self, X, y=None, sample_weight=None):
        super().fit(X, y, sample_weight)
        if self.columns is not None and self.weight != 1.0:
            scale = self.scale_.copy()
            scale[self.columns] = (
                np.inf if self.weight == 0 else scale[self.columns] / self.weight
            )
            self.scale_ = scale
        return self


class InteractionRidge(BandPowerRidge):
    """Ridge regression on band power and its pairwise band interactions.

    A fair non-linear baseline for the deep models: :class:`BandPowerRidge` plus, in
    every context window and channel, the products of its standardized band powers
    (every pair of bands and every band with itself). A voxel can then follow, for
    example, alpha power with a weight that depends on theta power in the same
    channel (a state that switches band weights), or the square of a band power (a
    saturating or accelerating response), which a linear model of band power
    cannot. Products across channels or windows are left out: with ``B`` bands there
    are ``B (B + 1) / 2`` products per (window, channel), 28 for the 7 default
    bands, so the features grow from ``T C B`` to ``T C (B + B (B + 1) / 2)``
    instead of quadratically in ``T C B``. The penalties are chosen by the same
    cross-validation over participants as :class:`BandPowerRidge` (one per voxel by
    default), the features standardized in the same pipeline; saving and loading
    work the same way.

    The products get their own weight: after standardization they are multiplied
    by a factor ``interaction_scale_`` chosen from ``interaction_scales`` by the
    same cross-validation (with the penalties), which amounts to a ridge penalty on
    the products ``1 / interaction_scale_**2`` times that on the band powers. The
    factor 0 is the band-power ridge itself, so that on data without interactions
    (few samples for many products) the model falls back to :class:`BandPowerRidge`
    instead of paying for the products' variance.

    Parameters
    ----------
    frequencies : array-like of shape (n_freqs,)
        As :class:`BandPowerRidge`.
    bands : sequence of (low, high) pairs or None, default=DEFAULT_BANDS
        As :class:`BandPowerRidge`.
    alphas : float or array-like of floats >= 0, default=DEFAULT_ALPHAS
        As :class:`BandPowerRidge`.
    interaction_scales : float or array-like of floats >= 0, default=(0, 0.3, 1)
        Candidate weights of the standardized products (0 leaves them out).
    alpha_per_target : bool, default=True
        As :class:`BandPowerRidge`.
    cv : None, int, cross-validation splitter or iterable, default=None
        As :class:`BandPowerRidge`.
    target_scaling : {'zscore', 'volume', 'run'}, default='zscore'
        As :class:`BandPowerRidge`.
    input_shape : tuple of 3 ints, optional
        As :class:`BandPowerRidge`.
    output_shape : tuple of 3 ints, optional
        As :class:`BandPowerRidge`.

    Attributes
    ----------
    interaction_scale_ : float
        The chosen weight of the products.
    interaction_cv_scores_ : dict
        ``best_score_`` (mean held-out r of the chosen penalties) of each candidate
        weight.
    interaction_mean_, interaction_std_ : ndarray of shape (T * C * B,)
        Mean and standard deviation of every band power over the training rows
        (float64), which standardize the band powers before they are multiplied.
    feature_shape_ : tuple of int
        ``(n_context, n_channels, B + B (B + 1) / 2)``: per (window, channel), the
        ``B`` band powers, then the products ``(0, 0), (0, 1), ..., (B-1, B-1)``
        (upper triangle, row by row), in C order (the columns of ``coef_``).

    The other attributes are those of :class:`BandPowerRidge`.

    See Also
    --------
    BandPowerRidge : The linear band-power model.

    Examples
    --------
    Voxels that follow alpha power where theta power is high and against it where it
    is low (a band weight switched by a state), which no linear model of band power
    can follow:

    >>> import numpy as np
    >>> from eeg2fmri import BandPowerRidge, InteractionRidge
    >>> rng = np.random.default_rng(0)
    >>> freqs = np.arange(1.0, 41.0)
    >>> X = rng.normal(size=(150, 1, 2, 40))
    >>> alpha, theta = X[:, 0, 0, 7:12].mean(axis=1), X[:, 0, 0, 3:7].mean(axis=1)
    >>> drive = alpha * np.sign(theta)
    >>> y = 100 + drive[:, None, None, None] * np.ones((1, 2, 2, 2))
    >>> y += rng.normal(scale=0.1, size=y.shape)
    >>> groups = np.repeat(["01", "02", "03"], 50)
    >>> kw = dict(frequencies=freqs)
    >>> lin = BandPowerRidge(**kw).fit(X[:100], y[:100], groups=groups[:100])
    >>> nonlin = InteractionRidge(**kw).fit(X[:100], y[:100], groups=groups[:100])
    >>> bool(nonlin.score(X[100:], y[100:]) > lin.score(X[100:], y[100:]) + 0.2)
    True
    """

    _parameter_checks = {
        "interaction_scales": (
            lambda v: _real_vector(v, 0.0) is not None,
            "a float >= 0 or a non-empty 1-D sequence of floats >= 0",
        ),
    }

    def __init__(
        self,
        *,
        frequencies=None,
        bands=DEFAULT_BANDS,
        alphas=DEFAULT_ALPHAS,
        interaction_scales=(0.0, 0.3, 1.0),
        alpha_per_target=True,
        cv=None,
        target_scaling="zscore",
        input_shape=None,
        output_shape=None,
    ):
        super().__init__(
            frequencies=frequencies, bands=bands, alphas=alphas,
            alpha_per_target=alpha_per_target, cv=cv, target_scaling=target_scaling,
            input_shape=input_shape, output_shape=output_shape,
        )
        self.interaction_scales = interaction_scales

    def _new_scaler(self):
        return _WeightedScaler(self._product_columns, getattr(self, "_weight", 1.0))

    def _select(self, features, Y, groups):
        """The penalties of every candidate weight; keeps the best weight's."""
        results = {}
        for scale in np.unique(_real_vector(self.interaction_scales, 0.0)):
            self._weight = float(scale)
            super()._select(features, Y, groups)
            results[float(scale)] = (
                self.best_score_, self.alpha_, self.cv_scores_, self.n_splits_,
            )
        finite = {k: v for k, v in results.items() if np.isfinite(v[0])}
        if finite:
            best = max(finite.values(), key=lambda v: v[0])[0]
            # ties go to the smaller weight (the simpler model)
            chosen = min(k for k, v in finite.items() if v[0] >= best - 1e-12)
        else:
            chosen = float(max(results))
        self._weight = chosen
        self.best_score_, self.alpha_, self.cv_scores_, self.n_splits_ = results[
            chosen
        ]
        self.interaction_scale_ = chosen
        self.interaction_cv_scores_ = {k: float(v[0]) for k, v in results.items()}
        logger.info(
            "InteractionRidge: products weighted %g (mean held-out r per weight: %s)",
            chosen,
            ", ".join(
                f"{k:g}: {v:.4f}" for k, v in self.interaction_cv_scores_.items()
            ),
        )

    def _features(self, band_power, n_bands, fit=False):
        """[band power, products of standardized band powers] per (window, channel).

        The standardization statistics come from the rows seen with ``fit=True``
        (the training rows); the cross-validation folds share them, which uses no
        target and changes no fold's standardized features but by a shift and scale
        of the products before the fold's own StandardScaler.
        """
        if fit:
            self.interaction_mean_ = band_power.mean(axis=0)
            std = band_power.std(axis=0)
            std[std <= 0] = 1.0
            self.interaction_std_ = std
        n = len(band_power)
        z = (band_power - self.interaction_mean_) / self.interaction_std_
        z = z.reshape(n, -1, n_bands)
        i, j = np.triu_indices(n_bands)
        products = z[:, :, i] * z[:, :, j]
        cells = np.concatenate(
            [band_power.reshape(n, -1, n_bands), products], axis=2
        )
        if fit:
            is_product = np.zeros(cells.shape[1:], dtype=bool)
            is_product[:, n_bands:] = True
            self._product_columns = is_product.reshape(-1)
        return cells.reshape(n, -1)

    def _features_per_cell(self, n_bands):
        return int(n_bands + n_bands * (n_bands + 1) // 2)

    # ----------------------------------------------------------------- persistence

    def _state(self):
        fitted, tensors, extra = super()._state()
        tensors["interaction.mean"] = self.interaction_mean_
        tensors["interaction.std"] = self.interaction_std_
        fitted["interaction_scale_"] = self.interaction_scale_
        fitted["interaction_cv_scores_"] = [
            [k, v] for k, v in self.interaction_cv_scores_.items()
        ]
        return fitted, tensors, extra

    def _restore(self, desc, tensors, version, source):
        fitted = desc.get("fitted") or {}
        try:
            self.interaction_mean_ = np.asarray(tensors["interaction.mean"], np.float64)
            self.interaction_std_ = np.asarray(tensors["interaction.std"], np.float64)
            self.interaction_scale_ = float(fitted["interaction_scale_"])
            self.interaction_cv_scores_ = {
                float(k): float("nan") if v is None else float(v)
                for k, v in fitted["interaction_cv_scores_"]
            }
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(
                f"Model file {source}: unreadable InteractionRidge state ({exc})."
            ) from exc
        super()._restore(desc, tensors, version, source)
