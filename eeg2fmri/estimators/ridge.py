"""The linear encoding baseline: ridge regression from EEG band power to every voxel.

:class:`BandPowerRidge` averages the EEG spectra of ``X`` over frequency bands (per
context window and channel), standardizes these band powers and fits one ridge
regression per voxel, all voxels sharing the penalty ``alpha_`` chosen by
cross-validation over participants. :class:`ReducedRankRidge` projects the same
ridge's predictions on the top ``rank_`` principal directions of its fitted training
values, so that every voxel is predicted from a few shared spatial maps.

Both are scikit-learn regressors with the conventions of
:class:`eeg2fmri.Spec2VolEstimator`: ``fit(X, y, groups=None, runs=None)``,
targets scaled by ``target_scaling`` (fitted on the training rows only), ``predict``
in the units of the targets, ``score`` = mean voxel-wise temporal correlation, and
:data:`eeg2fmri.metrics.SCORERS` for ``cross_validate``.

Model
-----
For a sample, the feature of band ``b = [lo, hi)`` in context window ``t`` and channel
``c`` is the mean of ``X[t, c, k]`` over the bins ``k`` with
``lo <= frequencies[k] < hi`` (with the default log-magnitude spectra of
:class:`eeg2fmri.features.FeatureParams`, the log of the geometric mean magnitude of
the band). The features, ``n_context * n_channels * n_bands`` per sample, are
standardized with the training mean and standard deviation (a
:class:`~sklearn.preprocessing.StandardScaler` inside a
:class:`~sklearn.pipeline.Pipeline`) and mapped to the targets in model units (for
``'zscore'``, each voxel standardized within its run) by ridge regression.

Choosing the penalty
--------------------
Every candidate in ``alphas`` (and ``ranks``) is scored by the mean voxel-wise
temporal correlation between the held-out predictions and the held-out targets (model
units), averaged over the folds; the highest wins, ties going to the larger ``alpha``
(and the smaller rank). Correlation, not R², because the mean prediction is the
baseline every model is compared with: it scores 0 by construction. The folds hold
out whole participants (``groups``) when there are two or more, else contiguous
blocks of samples, with a warning. Each fold fits its own StandardScaler on its
training rows; one singular value decomposition of the fold's standardized features
then gives the ridge solutions for all penalties and all voxels in closed form
(Hastie, Tibshirani & Friedman, *The Elements of Statistical Learning*, 3.4.1), and the
reduced-rank projections follow from the ``r x r`` Gram matrix of the fitted values
(Mukherjee & Zhu, "Reduced rank ridge regression and its kernel extensions", 2011).
The targets are scaled once, with the statistics of all the rows given to ``fit``:
with ``'zscore'`` every run is standardized with its own statistics, so when runs
belong to participants a held-out participant's targets do not inform the training
folds (``'run'`` and ``'volume'`` change no correlation). The cost per fold is one
SVD of the fold's features plus about ``n_alphas * n_samples * n_components *
n_voxels`` multiply-adds.

Memory
------
``fit`` holds the training features (float64, ``n_samples x n_features``) and the
training targets in model units (float32, ``n_samples x n_voxels``); everything per
voxel is computed in blocks of voxels. The fitted weights are stored in float32 in the
smaller of two exact forms: the dense ridge coefficients ``(n_voxels, n_features)``,
or a factorization ``latent (n_components, n_features)`` times ``components_
(n_components, n_voxels)`` with ``n_components`` the rank of the standardized
training features (at most ``min(n_samples, n_features)``). With 120 000 voxels and
9 000 band features the dense form takes 4.3 GB; fitted on 4 000 samples, the
factorized form takes 2 GB. :class:`ReducedRankRidge` needs only ``rank_ *
(n_features + n_voxels)`` numbers. Predicted volumes are computed in float32 from
the float32 weights; flattened targets in float64.
"""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from . import scaling as _scaling
from ._band_features import (
    _band_pairs,
    _band_power,
    _band_weights,
    _cv_ok,
    _model_targets,
    _real_vector,
    _row_step,
    _RowView,
)
from ._docs import fill_doc
from ._params import store_parameters
from ._ridge_cv import _PenaltySelection
from ._ridge_solver import (
    _centered_block,
    _svd,
    _voxel_blocks,
)
from ._ridge_state import _RidgePersistence
from ._validation import check_groups
from .base import BaseVolumeRegressor

__all__ = ["BandPowerRidge", "DEFAULT_BANDS", "DEFAULT_ALPHAS", "DEFAULT_RANKS"]

#: Default EEG bands in Hz, ``[low, high)``: delta, theta, alpha, beta 1, beta 2,
#: gamma 1 and gamma 2.
DEFAULT_BANDS = ((1, 4), (4, 8), (8, 13), (13, 20), (20, 30), (30, 45), (45, 70))
#: Default ridge penalties: 1, 10, ..., 10**6 (the features are standardized).
DEFAULT_ALPHAS = (1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6)
#: Default candidate ranks of :class:`~eeg2fmri.ReducedRankRidge`.
DEFAULT_RANKS = (1, 2, 4, 8, 16, 32)

_LINEAR_CHECKS = {
    "frequencies": (
        lambda v: v is None or _real_vector(v) is not None,
        "None or a 1-D sequence of finite frequencies in Hz, one per bin of X",
    ),
    "bands": (
        lambda v: v is None or _band_pairs(v) is not None,
        "None or a non-empty sequence of (low, high) pairs of finite frequencies in "
        "Hz with low < high",
    ),
    "alphas": (
        lambda v: _real_vector(v, 0.0) is not None,
        "a float >= 0 or a non-empty 1-D sequence of floats >= 0",
    ),
    "alpha_per_target": (lambda v: isinstance(v, bool | np.bool_), "a bool"),
    "cv": (
        _cv_ok,
        "None, an int >= 2, a cross-validation splitter or an iterable of (train, "
        "test) index pairs",
    ),
}


@fill_doc
class BandPowerRidge(_PenaltySelection, _RidgePersistence, BaseVolumeRegressor):
    """Ridge regression from EEG band power to every voxel (linear baseline).

    See the module documentation (:mod:`eeg2fmri.estimators`) for the features, the
    choice of the penalty by cross-validation and the memory the model takes.

    Parameters
    ----------
    frequencies : array-like of shape (n_freqs,)
        Frequency in Hz of each bin of the last axis of ``X``
        (:attr:`eeg2fmri.features.PairedDataset.frequencies`). Required unless
        ``bands`` is None.
    bands : sequence of (low, high) pairs or None, default=DEFAULT_BANDS
        Frequency bands in Hz, ``low <= f < high``: delta 1-4, theta 4-8, alpha 8-13,
        beta 13-20 and 20-30, gamma 30-45 and 45-70 by default. Bands without a bin
        are skipped. None uses every bin as its own feature (no averaging).
    alphas : float or array-like of floats >= 0, default=DEFAULT_ALPHAS
        Candidate ridge penalties (1, 10, ..., 1e6), on standardized features.
    alpha_per_target : bool, default=True
        Choose the penalty of every voxel on its own (the candidate with the lowest
        held-out squared error of that voxel, summed over the folds), as voxel-wise
        encoding models do; voxels without EEG-related signal get the strongest
        penalty and predictions near their mean. False: one penalty for all voxels,
        the candidate with the highest mean held-out correlation.
    cv : None, int, cross-validation splitter or iterable, default=None
        Splits that choose ``alpha_``. None: ``GroupKFold(min(5, n_groups))`` when
        ``groups`` has two or more participants, else ``KFold(min(5, n_samples))``
        (contiguous blocks, not shuffled, since neighbouring volumes are correlated)
        with a warning. An int: that number of ``GroupKFold`` or ``KFold`` splits. A
        splitter gets ``groups`` (e.g. ``LeaveOneGroupOut()``). Ignored when there is
        a single candidate.
    target_scaling : {'zscore', 'volume', 'run'}, default='zscore'
        Targets standardized per voxel within each run, min-max scaled per volume, or
        min-max scaled over the training targets, as in
        :class:`~eeg2fmri.Spec2VolEstimator`; ``predict`` returns BOLD
        intensity for ``'zscore'`` and ``'run'``, per-volume [0, 1] units for
        ``'volume'``.
    %(input_shape)s
    %(output_shape)s

    Attributes
    ----------
    pipeline_ : sklearn.pipeline.Pipeline
        ``StandardScaler`` (band-power statistics of the training rows) followed by
        ``Ridge(alpha=alpha_)`` holding the solution. When ``components_`` is None,
        ``coef_`` (float32) has shape ``(n_voxels, n_features)`` and
        ``pipeline_.predict(features)`` gives the model-unit predictions; else
        ``coef_`` has shape ``(n_components, n_features)``, ``intercept_`` is 0, and
        the model-unit predictions are
        ``pipeline_.predict(features) @ components_ + intercept_``.
    components_ : ndarray of shape (n_components, n_voxels) or None
        float32. None when the ridge predicts the voxels directly (dense
        coefficients); else the voxel loadings of the ridge's outputs. The factorized
        form is used when it takes less memory than the dense one.
    intercept_ : ndarray of shape (n_voxels,)
        Mean training target in model units (float64; 0 for ``'zscore'``).
    coef_ : ndarray of shape (n_voxels, n_features)
        Ridge coefficients of the standardized band powers (float32), computed on
        access from the factorized form (mind the memory with many voxels).
    alpha_ : float or ndarray of shape (n_voxels,)
        Penalty chosen by cross-validation (one per voxel with
        ``alpha_per_target=True``).
    cv_scores_ : dict
        Mean held-out voxel-wise temporal correlation (model units) of each candidate
        ``alpha`` used for every voxel; NaN where no fold could be scored; empty
        without cross-validation.
    best_score_ : float
        Mean held-out correlation of the chosen penalties (NaN without
        cross-validation).
    cv_voxel_scores_ : ndarray of shape (n_voxels,) or None
        With ``alpha_per_target=True``: each voxel's mean held-out correlation at
        its chosen penalty (float32; NaN where no fold could be scored); None
        otherwise. Where EEG band power predicts held-out participants' BOLD.
    n_splits_ : int
        Number of cross-validation splits (0 without cross-validation).
    bands_ : ndarray of shape (n_bands, 2) or None
        The bands that contain at least one bin (None for ``bands=None``).
    band_weights_ : ndarray of shape (n_freqs, n_bands) or None
        The averaging matrix of the bins of each band.
    feature_shape_ : tuple of int
        ``(n_context, n_channels, n_bands)``: the features (and the columns of
        ``coef_``) in C order.
    target_scaler_ : TargetScaling
        Target statistics (training rows only): ``location`` and ``scale`` of shape
        ``(D, H, W)`` for ``'zscore'``, ``lo``/``hi`` for ``'run'``.
    run_source_ : {'runs', 'groups', 'none'}
        What defined the runs of ``target_scaling='zscore'``.
    input_shape_, output_shape_ : tuple of int
        Sample shapes seen in ``fit``.
    n_features_in_ : int
        Number of input values per sample.
    feature_names_in_ : ndarray of str
        Column names of a 2-D DataFrame ``X``, if it had string column names.

    See Also
    --------
    ReducedRankRidge : The same ridge with predictions on a few shared spatial maps.
    eeg2fmri.MeanVolumeRegressor : The mean-volume baseline (score 0).

    Examples
    --------
    Voxels that follow the alpha band (8-13 Hz) of channel 0 plus noise:

    >>> import numpy as np
    >>> from eeg2fmri.estimators import BandPowerRidge
    >>> rng = np.random.default_rng(0)
    >>> freqs = np.arange(1.0, 41.0)  # 40 bins at 1..40 Hz
    >>> X = rng.normal(size=(90, 2, 3, 40))  # (n_samples, n_context, n_channels, F)
    >>> alpha_power = X[:, :, 0, 7:12].mean(axis=(1, 2))
    >>> y = 100 + 5 * alpha_power[:, None, None, None] * np.ones((1, 2, 3, 4))
    >>> y += rng.normal(scale=0.2, size=y.shape)
    >>> groups = np.repeat(["01", "02", "03"], 30)  # participant of each sample
    >>> est = BandPowerRidge(frequencies=freqs).fit(X[:60], y[:60], groups=groups[:60])
    >>> est.predict(X[60:]).shape
    (30, 2, 3, 4)
    >>> est.alpha_.shape, est.feature_shape_  # one penalty per voxel; no 45-70 Hz bin
    ((24,), (2, 3, 6))
    >>> bool(est.score(X[60:], y[60:]) > 0.5)
    True
    """

    _parameter_checks = _LINEAR_CHECKS

    def __init__(
        self,
        *,
        frequencies=None,
        bands=DEFAULT_BANDS,
        alphas=DEFAULT_ALPHAS,
        alpha_per_target=True,
        cv=None,
        target_scaling="zscore",
        input_shape=None,
        output_shape=None,
    ):
        store_parameters(self, locals())

    # ------------------------------------------------------------------------- fit

    @fill_doc
    def fit(self, X, y, groups=None, runs=None, *, eeg_spec=None, output_space=None):
        """Choose the penalty by cross-validation, then fit on all rows.

        Parameters
        ----------
        %(X_spectra)s
            EEG spectra (a numpy array, a memmap or a lazy array-like, read in
            chunks of rows).
        y : array-like of shape (n_samples, D, H, W), (n_samples, n_voxels) or \
(n_samples,)
            Measured volumes.
        groups : array-like of shape (n_samples,), optional
            Participant of each sample: the cross-validation holds out whole
            participants, and, without ``runs``, each participant is one run of
            ``target_scaling='zscore'``.
        %(runs)s
        %(spaces)s
            The frequencies of the bins come from ``eeg_spec`` (or ``X.eeg_spec``)
            when ``frequencies`` is None.

        Returns
        -------
        self : BandPowerRidge
            The fitted estimator.
        """
        self._validate_params()
        source_X, source_y = X, y
        X, y, input_shape, output_shape, y_ndim = self._validate_fit_data(X, y)
        n = len(X)
        groups = check_groups(groups, n)
        weights, bands = _band_weights(
            self, input_shape[2], self._bin_frequencies(source_X, eeg_spec)
        )
        n_bands = input_shape[2] if weights is None else weights.shape[1]
        features = self._features(
            _band_power(X, input_shape, weights), n_bands, fit=True
        )
        codes, source = _scaling.run_codes(runs, n, groups)
        target = _scaling.fit_target_scaling(
            y, np.arange(n), self.target_scaling, output_shape, codes=codes
        )
        Y = _model_targets(y, target, output_shape)
        self._select(features, Y, groups)
        self._fit_final(features, Y)
        self.target_scaler_ = target.release_fit_state()
        self.run_source_ = source
        self.bands_ = bands
        self.band_weights_ = weights
        self.feature_shape_ = (
            int(input_shape[0]),
            int(input_shape[1]),
            self._features_per_cell(n_bands),
        )
        self._record_shapes(input_shape, output_shape, y_ndim)
        self._fit_spaces(
            source_X,
            source_y,
            np.arange(n),
            eeg_spec=eeg_spec,
            output_space=output_space,
            reference=self.target_scaler_.location,
        )
        return self

    def _features(self, band_power, n_bands, fit=False):
        """Regression features from band power (n, T * C * B); here the band power.

        Subclasses add features (:class:`~eeg2fmri.InteractionRidge`); ``fit=True``
        on the training rows, where they learn what they need.
        """
        return band_power

    @property
    def _n_bands(self):
        """Bands B of the fitted band power (bins without ``bands``)."""
        w = self.band_weights_
        return int(self.input_shape_[2] if w is None else w.shape[1])

    def _features_per_cell(self, n_bands):
        """Features per (context window, channel) (``feature_shape_[2]``)."""
        return int(n_bands)

    def _new_scaler(self):
        """The standardization of the features (a subclass may reweight columns)."""
        return StandardScaler()

    def _candidate_ranks(self):
        return np.zeros(1, dtype=np.int64)  # plain ridge: no rank

    def _fit_final(self, features, Y):
        """Refit on all rows with ``alpha_``: ``pipeline_``, ``components_``..."""
        scaler = self._new_scaler().fit(features)
        U, s, Vt = _svd(scaler.transform(features))
        alpha = np.asarray(self.alpha_, dtype=np.float64)
        rows = np.arange(len(Y))
        n_vox, n_feat, r = Y.shape[1], features.shape[1], len(s)
        intercept = np.zeros(n_vox)
        for cols in _voxel_blocks(n_vox, len(rows)):
            intercept[cols] = Y[:, cols].mean(axis=0, dtype=np.float64)

        def shrink(G, cols):  # (r, c) ridge factors s / (s**2 + alpha) per voxel
            a = alpha if alpha.ndim == 0 else alpha[cols][None, :]
            return G * (s[:, None] / (s[:, None] ** 2 + a))

        if n_feat * n_vox <= r * (n_feat + n_vox):  # dense coefficients are smaller
            coef = np.empty((n_vox, n_feat), dtype=np.float32)
            for cols in _voxel_blocks(n_vox, len(rows) + n_feat):
                G = U.T @ _centered_block(Y, rows, cols)
                coef[cols] = shrink(G, cols).T @ Vt
            components = None
        else:
            coef = Vt.astype(np.float32)
            components = np.empty((r, n_vox), dtype=np.float32)
            for cols in _voxel_blocks(n_vox, len(rows) + r):
                G = U.T @ _centered_block(Y, rows, cols)
                components[:, cols] = shrink(G, cols)
        self._set_model(scaler, coef, components, intercept)

    def _set_model(self, scaler, coef, components, intercept):
        ridge = Ridge(alpha=self.alpha_)
        ridge.coef_ = np.ascontiguousarray(coef, dtype=np.float32)
        # dense: the pipeline predicts model units; factorized: the latent outputs
        ridge.intercept_ = (
            np.asarray(intercept, dtype=np.float64)
            if components is None
            else np.zeros(len(coef))
        )
        ridge.n_features_in_ = int(coef.shape[1])
        ridge.solver_ = "svd"
        self.pipeline_ = make_pipeline(scaler, ridge)
        self.components_ = components
        self.intercept_ = np.asarray(intercept, dtype=np.float64)

    # --------------------------------------------------------------------- predict

    @property
    def coef_(self):
        """Dense ridge coefficients (n_voxels, n_features), float32 (see class doc)."""
        check_is_fitted(self)
        coef = self.pipeline_[-1].coef_
        if self.components_ is None:
            return coef
        return np.ascontiguousarray((coef.T @ self.components_).T)

    def _predict_model_units(self, features, dtype=np.float64):
        """Model-unit predictions (n, n_voxels) of band-power features.

        ``dtype=np.float32`` (predictions of volumes, returned as float32): the
        products over voxels run on the stored float32 weights as they are; float64
        otherwise (flattened targets).
        """
        Xs = self.pipeline_[0].transform(features)
        coef = self.pipeline_[-1].coef_
        n_vox = len(self.intercept_)
        out = np.empty((len(Xs), n_vox), dtype=dtype)
        if self.components_ is None:
            for cols in _voxel_blocks(n_vox, Xs.shape[1] + len(Xs)):
                out[:, cols] = Xs.astype(dtype) @ coef[cols].astype(dtype, copy=False).T
        else:
            latent = (Xs @ coef.astype(np.float64).T).astype(dtype)
            for cols in _voxel_blocks(n_vox, len(coef) + len(Xs)):
                block = self.components_[:, cols].astype(dtype, copy=False)
                out[:, cols] = latent @ block
        out += self.intercept_.astype(dtype)
        return out

    def _predict(self, X):
        n = len(X)
        shape = tuple(self.output_shape_)
        n_vox = int(np.prod(shape))
        dtype = np.float32 if self._y_ndim == 4 else np.float64
        out = np.empty((n, *shape), dtype=dtype)
        step = _row_step(8 * (n_vox + np.prod(self.input_shape_)))
        for start in range(0, n, step):
            rows = np.arange(start, min(n, start + step))
            features = self._features(
                _band_power(_RowView(X, rows), self.input_shape_, self.band_weights_),
                self._n_bands,
            )
            pred = self._predict_model_units(features, dtype)
            pred = pred.reshape(len(rows), *shape)
            out[rows] = self.target_scaler_.to_prediction(pred)
        return out

    def __sklearn_is_fitted__(self):
        return hasattr(self, "pipeline_")
