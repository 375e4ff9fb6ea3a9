"""Resample BOLD volumes to another grid that covers the same field of view.

``"dct"`` is the down-sampling the paper uses for CN-EPFL (54x108x108 -> 30x64x64):
3-D DCT-II (``norm="ortho"``) of each volume, keep the low-frequency block of the target
size (zero-pad it when a target axis is larger), inverse DCT at that size.
``"linear"`` is trilinear interpolation (:func:`scipy.ndimage.zoom`, grid mode).
Both keep the field of view: voxel ``m`` of an axis resized from ``N`` to ``M`` voxels
has its centre at ``(m + 0.5) * N / M - 0.5`` in old voxel coordinates, and the affine
is updated accordingly (voxel sizes multiplied by ``N / M``).
"""

import numpy as np
import scipy.fft
import scipy.ndimage

__all__ = ["resample_volumes", "resampled_affine", "RESAMPLE_METHODS"]

#: Accepted values of ``method``.
RESAMPLE_METHODS = ("dct", "linear")


def resampled_affine(affine, shape, target_shape):
    """Affine of a grid of ``target_shape`` voxels over the same field of view.

    Parameters
    ----------
    affine : array-like, shape (4, 4)
        Voxel-to-world affine of the NIfTI volume (voxel axes i, j, k).
    shape : tuple of int
        ``(D, H, W)`` of the original volumes (array convention: D = k, H = i, W = j).
    target_shape : tuple of int
        ``(D', H', W')``.

    Returns
    -------
    new_affine : np.ndarray, shape (4, 4)
        ``affine @ T`` where ``T`` maps new voxel ``(i', j', k')`` to old voxel
        ``s * idx + (s - 1) / 2`` with ``s = old / new`` per axis.
    """
    d, h, w = (int(x) for x in shape)
    d2, h2, w2 = (int(x) for x in target_shape)
    scale = np.array([h / h2, w / w2, d / d2])  # NIfTI axes i, j, k
    t = np.eye(4)
    t[:3, :3] = np.diag(scale)
    t[:3, 3] = (scale - 1.0) / 2.0
    return np.asarray(affine, dtype=np.float64) @ t


def _dct_resize(vol, target_shape):
    """DCT low-pass resize of one 3-D volume; a constant volume stays constant."""
    coef = scipy.fft.dctn(vol.astype(np.float64, copy=False), type=2, norm="ortho")
    out = np.zeros(target_shape, dtype=np.float64)
    keep = tuple(
        slice(0, min(a, b)) for a, b in zip(vol.shape, target_shape, strict=True)
    )
    out[keep] = coef[keep]
    # truncating orthonormal coefficients scales amplitudes by sqrt(N / M) per axis
    out *= np.sqrt(np.prod(np.array(target_shape) / np.array(vol.shape)))
    return scipy.fft.idctn(out, type=2, norm="ortho")


def resample_volumes(volumes, affine, target_shape, method="dct"):
    """Resample BOLD volumes to ``target_shape`` over the same field of view.

    Parameters
    ----------
    volumes : array-like, shape (n_volumes, D, H, W)
        Volumes in the package's array convention (D = NIfTI k, H = i, W = j).
    affine : array-like, shape (4, 4)
        Voxel-to-world affine of the NIfTI grid.
    target_shape : tuple of int
        ``(D', H', W')``.
    method : {"dct", "linear"}, default="dct"
        ``"dct"``: keep the low-frequency DCT block (the paper's CN-EPFL choice). The
        amplitude change of truncating an orthonormal DCT (``sqrt(N / M)`` per axis,
        ``N`` old and ``M`` new voxels) is undone, so intensities keep their units;
        the official code skipped that, which its per-volume min-max hides.
        ``"linear"``: trilinear interpolation.

    Returns
    -------
    resampled : np.ndarray of float32, shape (n_volumes, D', H', W')
    new_affine : np.ndarray, shape (4, 4)
        See :func:`resampled_affine`.
    """
    if method not in RESAMPLE_METHODS:
        raise ValueError(f"resample must be one of {RESAMPLE_METHODS}, got {method!r}")
    shape = tuple(np.shape(volumes))
    if len(shape) != 4:
        raise ValueError(f"volumes must be 4-D (n_volumes, D, H, W), got shape {shape}")
    target = tuple(int(x) for x in target_shape)
    if len(target) != 3 or min(target) < 1:
        raise ValueError(
            f"target_shape must be 3 positive ints (D, H, W), got {target_shape!r}"
        )
    new_affine = resampled_affine(affine, shape[1:], target)
    out = np.empty((shape[0], *target), dtype=np.float32)
    if target == shape[1:]:
        out[:] = volumes
        return out, new_affine
    zoom = [t / s for t, s in zip(target, shape[1:], strict=True)]
    for t in range(shape[0]):
        vol = np.asarray(volumes[t], dtype=np.float64)
        if method == "dct":
            out[t] = _dct_resize(vol, target)
        else:
            out[t] = scipy.ndimage.zoom(
                vol, zoom, order=1, mode="nearest", grid_mode=True
            )
    return out, new_affine
