"""Evaluation metrics for synthesized volumes (numpy) and scikit-learn scorers.

``ssim_per_volume`` and ``psnr_per_volume`` are the per-volume metrics the paper reports
(2-D SSIM with slices as channels, exactly as :func:`eeg2fmri.losses.ssim`; PSNR =
``10 log10(data_range**2 / MSE)``). ``temporal_correlation`` goes beyond the paper: the
voxel-wise Pearson correlation over time between a synthesized and a measured run.

The scorers (``ssim_scorer``, ``psnr_scorer``, ``neg_mse_scorer``,
``temporal_correlation_scorer`` and the dict ``SCORERS``) follow scikit-learn's
``scorer(estimator, X, y)`` convention, so ``cross_validate(..., scoring=SCORERS)``
works. SSIM, PSNR and MSE compare ``y`` and ``estimator.predict(X)`` in the paper's
units (each volume min-max scaled to [0, 1]); the temporal correlation compares them in
the units of the predictions (BOLD intensity, or per-volume units for
``target_scaling='volume'``), where a model that predicts a constant scores 0.
"""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
from scipy import ndimage

__all__ = [
    "ssim_per_volume",
    "psnr_per_volume",
    "mse_per_volume",
    "temporal_correlation",
    "summarize_correlation",
    "mean_temporal_correlation",
    "sphere_masks",
    "parcel_correlation",
    "comparable_volumes",
    "ssim_scorer",
    "psnr_scorer",
    "neg_mse_scorer",
    "temporal_correlation_scorer",
    "SCORERS",
]

_CHUNK = 32  # volumes filtered at once in ssim_per_volume (bounds memory)


def _as_volumes(y, name):
    y = np.asarray(y)
    if y.ndim == 3:
        y = y[None]
    if y.ndim != 4:
        raise ValueError(
            f"'{name}' must have shape (n_volumes, D, H, W) or (D, H, W). "
            f"Got shape {y.shape} instead."
        )
    return y


def _check_pair(y_true, y_pred):
    y_true = _as_volumes(y_true, "y_true")
    y_pred = _as_volumes(y_pred, "y_pred")
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"'y_true' and 'y_pred' must have the same shape. Got {y_true.shape} and "
            f"{y_pred.shape} instead."
        )
    return y_true, y_pred


def _gaussian_window(kernel_size, sigma):
    dist = np.arange(kernel_size, dtype=np.float64) - (kernel_size - 1) / 2
    g = np.exp(-((dist / sigma) ** 2) / 2)
    return g / g.sum()


def _filter(x, window):
    # separable Gaussian over (H, W); scipy's 'mirror' equals torch/numpy 'reflect'
    # (the edge pixel is not repeated)
    x = ndimage.correlate1d(x, window, axis=-2, mode="mirror")
    return ndimage.correlate1d(x, window, axis=-1, mode="mirror")


def ssim_per_volume(
    y_true,
    y_pred,
    *,
    data_range=1.0,
    kernel_size=None,
    sigma=1.5,
    k1=0.01,
    k2=0.03,
    border_trim=False,
):
    """SSIM of each volume, 2-D with slices as channels (numpy, float64).

    Same definition as :func:`eeg2fmri.losses.ssim` (and torchmetrics >= 1.4.2):
    Gaussian window of ``sigma`` 1.5 (11 x 11), reflect padding, mean over the full map.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_volumes, D, H, W) or (D, H, W)
        Measured and synthesized volumes.
    data_range : float, default=1.0
        Value range of the data; values are not clamped.
    kernel_size : int, optional
        Window size; default ``2 * int(3.5 * sigma + 0.5) + 1``.
    sigma : float, default=1.5
        Standard deviation of the Gaussian window in pixels.
    k1, k2 : float, default=0.01, 0.03
        SSIM constants.
    border_trim : bool, default=False
        Average only the interior of the map (torchmetrics <= 1.4.1 behaviour).

    Returns
    -------
    ssim : ndarray of shape (n_volumes,)
        SSIM per volume.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.random.default_rng(0).random((2, 3, 16, 16))
    >>> ssim_per_volume(y, y).round(6)
    array([1., 1.])
    """
    from .losses import _check_border_trim, _check_ssim_params

    kernel_size = _check_ssim_params(kernel_size, sigma, "none")
    y_true, y_pred = _check_pair(y_true, y_pred)
    pad = _check_border_trim(y_true.shape, kernel_size) if border_trim else 0
    window = _gaussian_window(kernel_size, sigma)
    c1 = (k1 * data_range) ** 2
    c2 = (k2 * data_range) ** 2
    out = np.empty(len(y_true))
    for start in range(0, len(y_true), _CHUNK):
        t = np.asarray(y_true[start : start + _CHUNK], dtype=np.float64)
        p = np.asarray(y_pred[start : start + _CHUNK], dtype=np.float64)
        mu_t, mu_p = _filter(t, window), _filter(p, window)
        mu_tt, mu_pp, mu_tp = mu_t * mu_t, mu_p * mu_p, mu_t * mu_p
        var_t = np.maximum(_filter(t * t, window) - mu_tt, 0.0)
        var_p = np.maximum(_filter(p * p, window) - mu_pp, 0.0)
        cov = _filter(t * p, window) - mu_tp
        smap = ((2 * mu_tp + c1) * (2 * cov + c2)) / (
            (mu_tt + mu_pp + c1) * (var_t + var_p + c2)
        )
        if pad:
            smap = smap[..., pad:-pad, pad:-pad]
        out[start : start + len(t)] = smap.reshape(len(t), -1).mean(axis=1)
    return out


def mse_per_volume(y_true, y_pred):
    """Mean squared error of each volume.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_volumes, D, H, W) or (D, H, W)
        Measured and synthesized volumes.

    Returns
    -------
    mse : ndarray of shape (n_volumes,)
    """
    y_true, y_pred = _check_pair(y_true, y_pred)
    diff = np.asarray(y_true, dtype=np.float64) - np.asarray(y_pred, dtype=np.float64)
    return np.mean(diff.reshape(len(diff), -1) ** 2, axis=1)


def psnr_per_volume(y_true, y_pred, data_range=1.0):
    """Peak signal-to-noise ratio of each volume, ``10 log10(data_range**2 / MSE)``.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_volumes, D, H, W) or (D, H, W)
        Measured and synthesized volumes.
    data_range : float, default=1.0
        Peak value range (1 after min-max scaling, as in the paper).

    Returns
    -------
    psnr : ndarray of shape (n_volumes,)
        PSNR in dB; ``inf`` for a perfect prediction.

    Examples
    --------
    >>> import numpy as np
    >>> psnr_per_volume(np.zeros((1, 2, 4, 4)), np.full((1, 2, 4, 4), 0.1)).round(3)
    array([20.])
    """
    mse = mse_per_volume(y_true, y_pred)
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(data_range**2 / mse)


def temporal_correlation(y_true, y_pred, mask=None):
    """Voxel-wise Pearson correlation over time between two runs.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_volumes, D, H, W)
        Measured and synthesized runs (same volumes, in time order).
    mask : array-like of bool of shape (D, H, W), optional
        Voxels to evaluate (a brain mask). Voxels outside are NaN.

    Returns
    -------
    r : ndarray of shape (D, H, W)
        Correlation per voxel; NaN outside the mask and where either series is constant.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(5.0)[:, None, None, None] * np.ones((5, 1, 2, 2))
    >>> temporal_correlation(t, 2 * t + 1)[0]
    array([[1., 1.],
           [1., 1.]])
    """
    y_true, y_pred = _check_pair(y_true, y_pred)
    shape = y_true.shape[1:]
    if mask is None:
        mask = np.ones(shape, dtype=bool)
    else:
        mask = np.asarray(mask)
        if mask.shape != shape:
            raise ValueError(
                f"'mask' must have the volume shape {shape}. Got {mask.shape} instead."
            )
        mask = mask.astype(bool)
    r = np.full(shape, np.nan)
    if len(y_true) < 2:
        return r
    idx = np.flatnonzero(mask)
    t = np.asarray(y_true).reshape(len(y_true), -1)
    p = np.asarray(y_pred).reshape(len(y_pred), -1)
    flat = r.reshape(-1)
    for start in range(0, len(idx), 65536):
        cols = idx[start : start + 65536]
        a = t[:, cols].astype(np.float64)
        b = p[:, cols].astype(np.float64)
        constant = (np.ptp(a, axis=0) == 0) | (np.ptp(b, axis=0) == 0)
        a -= a.mean(axis=0)
        b -= b.mean(axis=0)
        denom = np.sqrt((a * a).sum(axis=0) * (b * b).sum(axis=0))
        num = (a * b).sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            flat[cols] = np.where(constant | (denom == 0), np.nan, num / denom)
    return np.clip(r, -1.0, 1.0)


def summarize_correlation(r):
    """Summary statistics of a voxel-wise correlation map.

    Parameters
    ----------
    r : array-like
        Correlations (e.g. from :func:`temporal_correlation`); NaNs are ignored.

    Returns
    -------
    summary : dict
        ``mean``, ``median``, ``std``, ``mean_fisher_z`` (mean after the Fisher
        transform, mapped back to r), ``fraction_positive`` and ``n_voxels``.
    """
    v = np.asarray(r, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    if v.size == 0:
        nan = float("nan")
        return dict(
            mean=nan,
            median=nan,
            std=nan,
            mean_fisher_z=nan,
            fraction_positive=nan,
            n_voxels=0,
        )
    z = np.arctanh(np.clip(v, -0.999999, 0.999999))
    return dict(
        mean=float(v.mean()),
        median=float(np.median(v)),
        std=float(v.std()),
        mean_fisher_z=float(np.tanh(z.mean())),
        fraction_positive=float(np.mean(v > 0)),
        n_voxels=int(v.size),
    )


def mean_temporal_correlation(y_true, y_pred, mask=None):
    """Mean voxel-wise temporal correlation, with constant predictions scoring 0.

    Unlike ``summarize_correlation(temporal_correlation(...))["mean"]``, voxels where
    only the prediction is constant (a model that does not follow the fluctuations,
    such as the mean-volume baseline) count as r = 0 instead of being left out.
    Voxels where the measured series is constant are left out.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_volumes, D, H, W)
    mask : array-like of bool of shape (D, H, W), optional

    Returns
    -------
    r : float
        NaN when no measured voxel varies.
    """
    y_true, y_pred = _check_pair(y_true, y_pred)
    r = temporal_correlation(y_true, y_pred, mask)
    varies = np.ptp(np.asarray(y_true).reshape(len(y_true), -1), axis=0).reshape(
        y_true.shape[1:]
    ) > 0
    if mask is not None:
        varies &= np.asarray(mask, dtype=bool)
    if len(y_true) < 2 or not varies.any():
        return float("nan")
    return float(np.nan_to_num(r[varies], nan=0.0).mean())


def sphere_masks(shape, affine, coords, radius=8.0):
    """Boolean masks of spheres around world coordinates, on a volume grid.

    Parameters
    ----------
    shape : tuple of int (D, H, W)
        Volume shape in the package's layout (NIfTI axes (k, i, j), as
        :func:`eeg2fmri.bids.nifti_to_volumes` returns them).
    affine : array-like of shape (4, 4)
        NIfTI affine: voxel (i, j, k) -> world millimetres.
    coords : array-like of shape (n_parcels, 3)
        Sphere centres in world millimetres (e.g. MNI coordinates).
    radius : float, default=8.0
        Sphere radius in millimetres. A sphere that contains no voxel centre gets
        the voxel nearest to its centre (when that voxel lies within one voxel
        diagonal of the centre), so that coarse grids keep every parcel inside them.

    Returns
    -------
    masks : ndarray of bool of shape (n_parcels, D, H, W)
    """
    d, h, w = (int(v) for v in shape)
    kk, ii, jj = np.meshgrid(np.arange(d), np.arange(h), np.arange(w), indexing="ij")
    vox = np.stack([ii, jj, kk, np.ones_like(ii)], axis=-1).reshape(-1, 4)
    world = (vox @ np.asarray(affine, dtype=np.float64).T)[:, :3]
    coords = np.asarray(coords, dtype=np.float64).reshape(-1, 3)
    diagonal = float(np.sqrt((np.asarray(affine)[:3, :3] ** 2).sum()))
    masks = np.zeros((len(coords), d * h * w), dtype=bool)
    for n, center in enumerate(coords):
        dist = np.sqrt(((world - center) ** 2).sum(axis=1))
        inside = dist <= radius
        if not inside.any() and dist.min() <= diagonal:
            inside[np.argmin(dist)] = True
        masks[n] = inside
    return masks.reshape(len(coords), d, h, w)


def parcel_correlation(y_true, y_pred, masks, min_voxels=1):
    """Temporal correlation of parcel-mean time courses (e.g. atlas spheres).

    This is the ROI-level score of NeuroBOLT-style studies: each parcel's measured
    and synthesized time courses are the means over its voxels, then correlated.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_volumes, D, H, W)
        Measured and synthesized runs.
    masks : array-like of bool of shape (n_parcels, D, H, W)
        Parcels (see :func:`sphere_masks`).
    min_voxels : int, default=1
        Parcels with fewer voxels are NaN.

    Returns
    -------
    r : ndarray of shape (n_parcels,)
        NaN for parcels that are too small or whose measured series is constant;
        0 where only the prediction is constant.
    """
    y_true, y_pred = _check_pair(y_true, y_pred)
    masks = np.asarray(masks, dtype=bool)
    n = len(y_true)
    t = np.asarray(y_true, dtype=np.float64).reshape(n, -1)
    p = np.asarray(y_pred, dtype=np.float64).reshape(n, -1)
    flat = masks.reshape(len(masks), -1)
    counts = flat.sum(axis=1)
    weights = flat / np.maximum(counts, 1)[:, None]
    a = t @ weights.T  # (n, n_parcels)
    b = p @ weights.T
    a -= a.mean(axis=0)
    b -= b.mean(axis=0)
    va, vb = (a * a).sum(axis=0), (b * b).sum(axis=0)
    tiny = 1e-12 * (1.0 + va.max(initial=0.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (a * b).sum(axis=0) / np.sqrt(va * vb)
    r = np.where(vb > tiny, r, 0.0)
    r[(va <= tiny) | (counts < max(int(min_voxels), 1)) | (n < 2)] = np.nan
    return r


# --------------------------------------------------------------------------- scorers


def _final_step(estimator):
    steps = getattr(estimator, "steps", None)
    return steps[-1][1] if steps else estimator


def comparable_volumes(estimator, y_true, y_pred, kind="correlation"):
    """Measured and predicted volumes in the units a score compares them in.

    Parameters
    ----------
    estimator : fitted estimator or Pipeline
        The estimator that made ``y_pred`` (its ``target_scaling`` decides the units).
    y_true : array-like of shape (n_samples, D, H, W) or flattened
        Measured volumes, in the units of ``fit``.
    y_pred : array-like of the same shape
        ``estimator.predict(X)``.
    kind : {'correlation', 'metric'}, default='correlation'
        ``'correlation'`` (temporal r): the units of the predictions (BOLD intensity;
        per-volume [0, 1] for ``target_scaling='volume'``, with the measured volumes
        scaled the same way). ``'metric'`` (SSIM, PSNR, MSE): the paper's units, each
        volume min-max scaled to [0, 1].

    Returns
    -------
    y_true, y_pred : ndarray of shape (n_samples, D, H, W), float64
    """
    if kind not in ("correlation", "metric"):
        raise ValueError(
            f"kind: expected 'correlation' or 'metric', got {kind!r}"
        )
    return _volumes_for_scoring(estimator, y_true, y_pred, kind)


def _volumes_for_scoring(estimator, y_true, y_pred, kind="metric"):
    """Reshape to (n, D, H, W) and convert to the units of the score.

    ``kind='metric'`` (SSIM, PSNR, MSE): the paper's units (each volume min-max scaled
    to [0, 1]); ``kind='correlation'``: the units of the predictions.
    """
    final = _final_step(estimator)
    convert = getattr(final, "_score_volumes", None)
    if convert is not None:
        return convert(y_true, y_pred, kind)
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    shape = getattr(final, "output_shape_", None)
    n = len(y_true)
    if shape is None:
        shape = y_true.shape[1:] if y_true.ndim == 4 else (1, 1, -1)
    return y_true.reshape(n, *shape), y_pred.reshape(n, *shape)


class _VolumeScorer:
    """A scikit-learn scorer ``scorer(estimator, X, y) -> float`` on volumes."""

    def __init__(self, name, score_func, sign=1.0, kind="metric"):
        self.name = name
        self.score_func = score_func
        self.sign = sign
        self.kind = kind

    def __call__(self, estimator, X, y, sample_weight=None):
        y_pred = estimator.predict(X)
        y_true, y_pred = _volumes_for_scoring(estimator, y, y_pred, self.kind)
        return self.sign * float(self.score_func(y_true, y_pred))

    def __repr__(self):
        return f"<eeg2fmri scorer {self.name!r}>"


def _mean_ssim(y_true, y_pred):
    return np.mean(ssim_per_volume(y_true, y_pred))


def _mean_psnr(y_true, y_pred):
    return np.mean(psnr_per_volume(y_true, y_pred))


def _mean_mse(y_true, y_pred):
    return np.mean(mse_per_volume(y_true, y_pred))


def _mean_temporal_correlation(y_true, y_pred):
    return mean_temporal_correlation(y_true, y_pred)


#: Mean SSIM per volume (higher is better).
ssim_scorer = _VolumeScorer("ssim", _mean_ssim)
#: Mean PSNR per volume in dB (higher is better).
psnr_scorer = _VolumeScorer("psnr", _mean_psnr)
#: Negated mean squared error (higher is better).
neg_mse_scorer = _VolumeScorer("neg_mse", _mean_mse, sign=-1.0)
#: Mean voxel-wise temporal correlation over the scored samples (voxels whose measured
#: series varies; a constant prediction scores 0), in the units of the predictions.
temporal_correlation_scorer = _VolumeScorer(
    "temporal_correlation", _mean_temporal_correlation, kind="correlation"
)

#: All scorers by name, for ``cross_validate(..., scoring=SCORERS)``.
SCORERS = {
    "ssim": ssim_scorer,
    "psnr": psnr_scorer,
    "neg_mse": neg_mse_scorer,
    "temporal_correlation": temporal_correlation_scorer,
}
