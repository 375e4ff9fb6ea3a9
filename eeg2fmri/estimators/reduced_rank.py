"""Reduced-rank ridge regression: :class:`ReducedRankRidge`.

The ridge of :class:`~eeg2fmri.BandPowerRidge` with its predictions projected on a few
shared spatial maps (see the class documentation and :mod:`.ridge`).
"""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np

from ._band_features import _int_vector
from ._params import store_parameters
from ._ridge_solver import (
    _centered_block,
    _correlation_sums,
    _svd,
    _top_directions,
    _voxel_blocks,
)
from .ridge import DEFAULT_ALPHAS, DEFAULT_BANDS, DEFAULT_RANKS, BandPowerRidge

__all__ = ["ReducedRankRidge"]


class ReducedRankRidge(BandPowerRidge):
    """Reduced-rank ridge regression from EEG band power to every voxel.

    The ridge of :class:`BandPowerRidge`, with its predictions projected on the top
    ``rank_`` principal directions of its fitted training values:
    ``B_rrr = B_ridge V_k V_k^T``, with ``V_k`` the top ``k`` right singular vectors
    of the (centered) fitted values ``X_train B_ridge``. Every voxel is then a
    combination of ``rank_`` shared spatial maps (``components_``), each driven by one
    linear function of the band powers. ``alpha`` and ``rank`` are chosen together by
    the cross-validation of :class:`BandPowerRidge`; in every fold the projection comes
    from that fold's training rows only. The fitted attributes not listed below
    (``best_score_``, ``n_splits_``, ``intercept_``, ``coef_``, ``bands_``,
    ``band_weights_``, ``feature_shape_``, ``target_scaler_``, ``run_source_``,
    ``input_shape_``, ``output_shape_``, ``n_features_in_``) are those of
    :class:`BandPowerRidge`.

    Parameters
    ----------
    frequencies : array-like of shape (n_freqs,)
        Frequency in Hz of each bin of ``X`` (required unless ``bands`` is None).
    bands : sequence of (low, high) pairs or None, default=DEFAULT_BANDS
        Frequency bands in Hz (see :class:`BandPowerRidge`).
    alphas : float or array-like of floats >= 0, default=DEFAULT_ALPHAS
        Candidate ridge penalties.
    ranks : int or array-like of ints >= 1, default=DEFAULT_RANKS
        Candidate ranks (1, 2, 4, 8, 16, 32). A rank larger than the number of
        directions the fitted values have (at most ``min(n_samples - 1,
        n_features, n_voxels)``) uses them all.
    cv : None, int, cross-validation splitter or iterable, default=None
        Splits that choose ``alpha_`` and ``rank_`` (see :class:`BandPowerRidge`).
    target_scaling : {'zscore', 'volume', 'run'}, default='zscore'
        Target units (see :class:`BandPowerRidge`).
    input_shape : tuple of 3 ints, optional
        ``(n_context, n_channels, n_freqs)`` of flattened 2-D ``X``.
    output_shape : tuple of 3 ints, optional
        ``(D, H, W)`` of flattened 2-D ``y``.

    Attributes
    ----------
    rank_ : int
        Number of spatial maps used: the chosen rank, or fewer when the fitted
        values have fewer directions.
    components_ : ndarray of shape (n_maps, n_voxels)
        The spatial maps (orthonormal rows ``V_k^T``, float32); ``n_maps`` is
        ``rank_``.
    pipeline_ : sklearn.pipeline.Pipeline
        ``StandardScaler`` + ``Ridge`` whose ``coef_`` of shape
        ``(rank_, n_features)`` gives the time course of each map:
        model-unit predictions are ``pipeline_.predict(features) @ components_ +
        intercept_``.
    cv_scores_ : dict
        Mean held-out temporal correlation of each ``(alpha, rank)`` candidate.
    alpha_ : float
        The chosen penalty, one for all voxels (the rank couples them).

    See Also
    --------
    BandPowerRidge : The full-rank ridge.

    Examples
    --------
    Two voxel patterns driven by the alpha band, a third by the beta band:

    >>> import numpy as np
    >>> from eeg2fmri.estimators import ReducedRankRidge
    >>> rng = np.random.default_rng(0)
    >>> freqs = np.arange(1.0, 41.0)
    >>> X = rng.normal(size=(90, 1, 4, 40))
    >>> alpha_power = X[:, 0, 0, 7:12].mean(axis=1)
    >>> pattern = rng.normal(size=(1, 2, 4, 4))
    >>> y = 50 + alpha_power[:, None, None, None] * pattern
    >>> y += rng.normal(scale=0.05, size=y.shape)
    >>> groups = np.repeat(["01", "02", "03"], 30)
    >>> est = ReducedRankRidge(frequencies=freqs, ranks=(1, 2, 4))
    >>> est = est.fit(X, y, groups=groups)
    >>> est.rank_, est.components_.shape
    (1, (1, 32))
    """

    _parameter_checks = {
        "ranks": (
            lambda v: _int_vector(v, 1) is not None,
            "an int >= 1 or a non-empty 1-D sequence of ints >= 1",
        ),
    }

    def __init__(
        self,
        *,
        frequencies=None,
        bands=DEFAULT_BANDS,
        alphas=DEFAULT_ALPHAS,
        ranks=DEFAULT_RANKS,
        cv=None,
        target_scaling="zscore",
        input_shape=None,
        output_shape=None,
    ):
        # no super().__init__: one penalty for all voxels (no alpha_per_target)
        store_parameters(self, locals())

    def _candidate_ranks(self):
        return np.unique(_int_vector(self.ranks, 1))

    def _set_rank(self, rank):
        self._requested_rank = rank

    def _score_dict(self, alphas, ranks, scores):
        return {
            (float(a), int(k)): float(scores[i, j])
            for i, a in enumerate(alphas)
            for j, k in enumerate(ranks)
        }

    def _gram(self, U, Y, rows):
        """``G @ G.T`` with ``G = U.T @ Y[rows]`` (centered), in blocks of voxels."""
        GGt = np.zeros((U.shape[1], U.shape[1]))
        for cols in _voxel_blocks(Y.shape[1], len(rows) + U.shape[1]):
            G = U.T @ _centered_block(Y, rows, cols)
            GGt += G @ G.T
        return GGt

    def _fold_scores(self, features, Y, tr, te, alphas, ranks):
        U, s, _, A = self._fold_setup(features, tr, te)
        GGt = self._gram(U, Y, tr)
        Ws, Ls = [], []
        for alpha in alphas:
            e, d = s**2 / (s**2 + alpha), s / (s**2 + alpha)
            W = _top_directions(GGt, e, int(ranks.max()))
            Ws.append(W)
            Ls.append(A @ (d[:, None] * (GGt @ W)))
        sums, count = np.zeros((len(alphas), len(ranks))), 0
        per_voxel = len(ranks) * len(te) + len(tr) + len(te)
        for cols in _voxel_blocks(Y.shape[1], per_voxel):
            G = U.T @ _centered_block(Y, tr, cols)
            Yte = _centered_block(Y, te, cols)
            varies = np.any(Yte != 0, axis=0)
            for i, (W, L) in enumerate(zip(Ws, Ls, strict=True)):
                R = W.T @ G
                P = np.stack([L[:, :k] @ R[:k] for k in ranks])
                sums[i] += _correlation_sums(P, Yte, varies)
            count += int(varies.sum())
        if len(te) < 2 or count == 0:
            return np.full((len(alphas), len(ranks)), np.nan)
        return sums / count

    def _fit_final(self, features, Y):
        scaler = self._new_scaler().fit(features)
        U, s, Vt = _svd(scaler.transform(features))
        e, d = s**2 / (s**2 + self.alpha_), s / (s**2 + self.alpha_)
        rows = np.arange(len(Y))
        n_vox = Y.shape[1]
        GGt = self._gram(U, Y, rows)
        W = _top_directions(GGt, e, self._requested_rank)
        self.rank_ = int(W.shape[1])
        components = np.empty((self.rank_, n_vox), dtype=np.float32)
        intercept = np.zeros(n_vox)
        for cols in _voxel_blocks(n_vox, len(rows) + U.shape[1]):
            components[:, cols] = W.T @ (U.T @ _centered_block(Y, rows, cols))
            intercept[cols] = Y[:, cols].mean(axis=0, dtype=np.float64)
        coef = (d[:, None] * (GGt @ W)).T @ Vt
        self._set_model(scaler, coef, components, intercept)
