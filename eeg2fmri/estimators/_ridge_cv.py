"""Choosing the ridge penalty (and rank) by cross-validation over participants.

:class:`_PenaltySelection` is the part of :class:`~eeg2fmri.BandPowerRidge` that sets
``alpha_`` (one, or one per voxel with ``alpha_per_target``), ``rank_`` for
:class:`~eeg2fmri.ReducedRankRidge`, ``cv_scores_``, ``best_score_`` and ``n_splits_``.
Every fold standardizes its own training rows and solves all penalties at once from one
SVD (see the module docstring of :mod:`eeg2fmri.estimators.ridge`).
"""

# SPDX-License-Identifier: BSD-3-Clause

import numbers
import warnings

import numpy as np

from .._utils.logging import logger
from ._band_features import _real_vector
from ._ridge_solver import (
    _centered_block,
    _correlation_sums,
    _svd,
    _voxel_blocks,
    _voxel_scores,
)

#: Folds of the default cross-validation (at most; fewer with fewer participants).
_MAX_FOLDS = 5


class _PenaltySelection:
    """Cross-validated choice of ``alpha_`` (a mixin of BandPowerRidge).

    The class using it provides ``alphas``, ``cv``, ``_new_scaler()`` and
    ``_candidate_ranks()``; ReducedRankRidge overrides ``_set_rank`` and
    ``_score_dict``.
    """

    def _splits(self, features, groups):
        """The (train, test) index pairs of the cross-validation."""
        from sklearn.model_selection import GroupKFold, KFold, check_cv

        n = len(features)
        name = type(self).__name__
        if n < 2:
            raise ValueError(
                f"{name} needs at least 2 samples to choose among the candidate "
                f"penalties by cross-validation; found n_samples={n}. Pass a single "
                "value to 'alphas' to fit without cross-validation."
            )
        n_groups = 0 if groups is None else len(np.unique(groups))
        if self.cv is None or isinstance(self.cv, numbers.Integral):
            if n_groups >= 2:
                k = min(_MAX_FOLDS, n_groups) if self.cv is None else int(self.cv)
                splitter, split_groups = GroupKFold(n_splits=k), groups
            else:
                k = min(_MAX_FOLDS, n) if self.cv is None else int(self.cv)
                splitter, split_groups = KFold(n_splits=k), None
                if self.cv is None:
                    reason = (
                        "Only one group (participant) in the training data"
                        if n_groups == 1
                        else "No groups given to fit"
                    )
                    warnings.warn(
                        f"{reason}: {name} chooses its penalty by {k}-fold "
                        "cross-validation over contiguous blocks of samples, which "
                        "gives optimistic scores because neighbouring volumes are "
                        "correlated; pass groups=<participant per sample> of two or "
                        "more participants to hold out whole participants.",
                        UserWarning,
                        stacklevel=4,
                    )
        else:
            splitter, split_groups = check_cv(self.cv), groups
        splits = [
            (np.asarray(tr, dtype=np.int64), np.asarray(te, dtype=np.int64))
            for tr, te in splitter.split(features, None, split_groups)
        ]
        if not splits:
            raise ValueError(f"The 'cv' parameter of {name} gave no split.")
        return splits

    def _select(self, features, Y, groups):
        """Set ``alpha_`` (and ``rank_``), ``cv_scores_``, ``best_score_``."""
        alphas = np.unique(_real_vector(self.alphas, 0.0))
        ranks = self._candidate_ranks()
        self.cv_voxel_scores_ = None
        if len(alphas) * len(ranks) == 1:
            self.alpha_, self.cv_scores_ = float(alphas[0]), {}
            self.best_score_, self.n_splits_ = float("nan"), 0
            self._set_rank(int(ranks[0]))
            return
        splits = self._splits(features, groups)
        if self._per_target:
            self._select_per_target(features, Y, splits, alphas)
            return
        fold_scores = np.full((len(splits), len(alphas), len(ranks)), np.nan)
        for i, (tr, te) in enumerate(splits):
            fold_scores[i] = self._fold_scores(features, Y, tr, te, alphas, ranks)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN candidates
            scores = np.nanmean(fold_scores, axis=0)
        # preference among ties: smaller rank, then larger alpha
        order = [(j, i) for j in range(len(ranks)) for i in range(len(alphas))[::-1]]
        finite = np.isfinite(scores)
        if finite.any():
            best = np.max(scores[finite])
            tol = 1e-12 * max(1.0, abs(best))
            i, j = next((i, j) for j, i in order if scores[i, j] >= best - tol)
        else:
            i, j = order[0][1], order[0][0]
            warnings.warn(
                f"{type(self).__name__}: no cross-validation fold could be scored "
                "(held-out targets constant or fewer than 2 held-out samples); chose "
                f"alpha={alphas[i]:g}.",
                UserWarning,
                stacklevel=3,
            )
        self.alpha_ = float(alphas[i])
        self._set_rank(int(ranks[j]))
        self.cv_scores_ = self._score_dict(alphas, ranks, scores)
        self.best_score_ = float(scores[i, j])
        self.n_splits_ = len(splits)
        logger.info(
            "%s: alpha=%g chosen by %d-fold cross-validation (mean r %.4f)",
            type(self).__name__,
            self.alpha_,
            self.n_splits_,
            self.best_score_,
        )

    @property
    def _per_target(self):
        return bool(self.get_params(deep=False).get("alpha_per_target", False))

    def _select_per_target(self, features, Y, splits, alphas):
        """One penalty per voxel: the lowest summed held-out squared error."""
        n_vox = Y.shape[1]
        sse = np.zeros((len(alphas), n_vox))
        r_sum = np.zeros((len(alphas), n_vox))
        n_scored = np.zeros(n_vox)
        for tr, te in splits:
            U, s, _, A = self._fold_setup(features, tr, te)
            D = s[None, :] / (s[None, :] ** 2 + alphas[:, None])
            AD = A[None, :, :] * D[:, None, :]
            per_voxel = len(alphas) * len(te) + len(tr) + len(te)
            for cols in _voxel_blocks(n_vox, per_voxel):
                G = U.T @ _centered_block(Y, tr, cols)
                Yte = _centered_block(Y, te, cols)
                r, e = _voxel_scores(AD @ G, Yte)
                sse[:, cols] += e
                if len(te) >= 2:
                    varies = np.any(Yte != 0, axis=0)
                    r_sum[:, cols] += np.where(varies, r, 0.0)
                    n_scored[cols] += varies
        # ties go to the larger penalty: search the candidates from the largest
        best = len(alphas) - 1 - np.argmin(sse[::-1], axis=0)
        self.alpha_ = alphas[best].astype(np.float64)
        scored = n_scored > 0
        mean_r = np.divide(r_sum, np.maximum(n_scored, 1))
        self.cv_scores_ = {
            float(a): float(mean_r[i, scored].mean()) if scored.any() else float("nan")
            for i, a in enumerate(alphas)
        }
        voxel_r = np.where(scored, mean_r[best, np.arange(n_vox)], np.nan)
        self.cv_voxel_scores_ = voxel_r.astype(np.float32)
        self.best_score_ = (
            float(voxel_r[scored].mean()) if scored.any() else float("nan")
        )
        self.n_splits_ = len(splits)
        self._set_rank(0)
        shares = {float(a): float(np.mean(best == i)) for i, a in enumerate(alphas)}
        logger.info(
            "%s: one alpha per voxel by %d-fold cross-validation (share of voxels per "
            "alpha: %s; mean r %.4f)",
            type(self).__name__,
            self.n_splits_,
            ", ".join(f"{a:g}: {v:.2f}" for a, v in shares.items() if v),
            self.best_score_,
        )

    def _set_rank(self, rank):
        pass

    def _score_dict(self, alphas, ranks, scores):
        return {float(a): float(scores[i, 0]) for i, a in enumerate(alphas)}

    def _fold_setup(self, features, tr, te):
        """Fold-wise standardization and SVD: (U, s, Vt, centered test projections)."""
        scaler = self._new_scaler().fit(features[tr])
        U, s, Vt = _svd(scaler.transform(features[tr]))
        A = scaler.transform(features[te]) @ Vt.T
        A -= A.mean(axis=0) if len(A) else 0.0
        return U, s, Vt, A

    def _fold_scores(self, features, Y, tr, te, alphas, ranks):
        """Summed correlation / number of varying voxels, per (alpha, rank)."""
        U, s, _, A = self._fold_setup(features, tr, te)
        D = s[None, :] / (s[None, :] ** 2 + alphas[:, None])  # (n_alphas, r)
        AD = A[None, :, :] * D[:, None, :]
        sums, count = np.zeros(len(alphas)), 0
        per_voxel = len(alphas) * len(te) + len(tr) + len(te)
        for cols in _voxel_blocks(Y.shape[1], per_voxel):
            G = U.T @ _centered_block(Y, tr, cols)
            Yte = _centered_block(Y, te, cols)
            varies = np.any(Yte != 0, axis=0)
            sums += _correlation_sums(AD @ G, Yte, varies)
            count += int(varies.sum())
        if len(te) < 2 or count == 0:
            return np.full((len(alphas), 1), np.nan)
        return (sums / count)[:, None]
