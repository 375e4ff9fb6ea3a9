"""Linear algebra of the ridge estimators: closed-form solutions for all penalties.

One thin SVD of the standardized features gives the ridge solutions for every
penalty and voxel (Hastie, Tibshirani & Friedman, *The Elements of Statistical
Learning*, 3.4.1); the reduced-rank projections follow from the ``r x r`` Gram matrix
of the fitted values (Mukherjee & Zhu 2011). Everything per voxel runs in blocks of
voxels to bound memory.
"""

import numpy as np

from ._band_features import _row_step


def _svd(Xs):
    """Thin SVD of ``Xs`` without its numerically zero singular values."""
    import scipy.linalg

    n, p = Xs.shape
    if n == 0 or p == 0:
        return np.zeros((n, 0)), np.zeros(0), np.zeros((0, p))
    try:
        U, s, Vt = scipy.linalg.svd(Xs, full_matrices=False, check_finite=False)
    except np.linalg.LinAlgError:  # gesdd did not converge: the slower, safer driver
        U, s, Vt = scipy.linalg.svd(
            Xs, full_matrices=False, check_finite=False, lapack_driver="gesvd"
        )
    keep = s > s[0] * max(n, p) * np.finfo(np.float64).eps
    return U[:, keep], s[keep], Vt[keep]


def _voxel_blocks(n_vox, floats_per_voxel):
    step = _row_step(8 * max(1, floats_per_voxel))
    for start in range(0, n_vox, step):
        yield slice(start, min(n_vox, start + step))


def _centered_block(Y, rows, cols):
    """``Y[rows, cols]`` in float64, centered per column; constant columns exactly 0."""
    block = Y[rows, cols].astype(np.float64)
    if not len(block):
        return block
    constant = np.ptp(block, axis=0) == 0
    block -= block.mean(axis=0)
    block[:, constant] = 0.0
    return block


def _top_directions(GGt, e, max_rank):
    """``W`` (r, k) with ``W.T @ G`` the top right singular vectors of ``diag(e) G``.

    ``GGt = G @ G.T``; the right singular vectors of ``diag(e) G`` are
    ``G.T diag(e) z / sigma`` for the eigenpairs ``(sigma**2, z)`` of
    ``diag(e) GGt diag(e)``. Directions with no variance (relative 1e-10) are dropped,
    so ``k <= max_rank`` may be smaller.
    """
    r = len(e)
    if r == 0 or max_rank == 0:
        return np.zeros((r, 0))
    lam, Z = np.linalg.eigh(e[:, None] * GGt * e[None, :])
    lam, Z = lam[::-1], Z[:, ::-1]
    keep = int(np.sum(lam > max(lam[0], 0.0) * 1e-10)) if lam[0] > 0 else 0
    k = min(max_rank, keep)
    return e[:, None] * Z[:, :k] / np.sqrt(lam[:k])


def _voxel_scores(P, Yc):
    """Per-voxel correlation and squared error of each prediction set.

    ``P`` (n_sets, n, c) and ``Yc`` (n, c) are centered over the rows. Returns ``r``
    (n_sets, c) (0 for a constant prediction) and ``sse`` (n_sets, c).
    """
    num = np.einsum("anc,nc->ac", P, Yc)
    pss = np.einsum("anc,anc->ac", P, P)
    yss = np.einsum("nc,nc->c", Yc, Yc)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(pss > 0, num / np.sqrt(pss * yss), 0.0)
    return np.clip(r, -1.0, 1.0), pss - 2.0 * num + yss[None, :]


def _correlation_sums(P, Yc, varies):
    """Sum over the varying voxels of the correlation of each prediction set.

    ``P`` (n_sets, n, c) and ``Yc`` (n, c) are centered over the rows; a prediction
    that is 0 everywhere (constant) scores 0, as in
    :func:`eeg2fmri.metrics.mean_temporal_correlation`.
    """
    num = np.einsum("anc,nc->ac", P, Yc)
    pss = np.einsum("anc,anc->ac", P, P)
    yss = np.einsum("nc,nc->c", Yc, Yc)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(pss > 0, num / np.sqrt(pss * yss), 0.0)
    return np.clip(r, -1.0, 1.0)[:, varies].sum(axis=1)
