"""Min-max scaling of EEG inputs and BOLD targets, fitted by streaming over batches.

EEG (model input): one global minimum and maximum over the training inputs (as the
official code, but without looking at test data), ``x' = (x - min) / (max - min)``.

BOLD (model target), ``target_scaling``:

- ``'volume'`` (official): each volume is min-max scaled to [0, 1] on its own. Spatial
  patterns are learned; the global signal level of each volume is not. Predictions are
  in these per-volume units.
- ``'run'``: one minimum and maximum over all training targets. Fluctuations across
  volumes are kept; predictions are mapped back to the units of the training targets.
"""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np

from .exceptions import DataError

__all__ = [
    "TARGET_SCALINGS",
    "streaming_minmax",
    "scale_inputs",
    "scale_targets",
    "unscale_predictions",
    "predictions_to_model_units",
    "per_volume_minmax",
]

TARGET_SCALINGS = ("volume", "run")


def streaming_minmax(array, indices, *, name="X", chunk_size=256):
    """Global minimum and maximum of ``array[indices]`` read in chunks.

    Parameters
    ----------
    array : array-like of shape (n_samples, ...)
        Numpy array, memmap or lazy array-like indexable with integer arrays.
    indices : ndarray of int of shape (n_indices,)
        Rows to include.
    name : str, default='X'
        Name used in error messages.
    chunk_size : int, default=256
        Rows read at once (bounds memory).

    Returns
    -------
    lo, hi : float
        Minimum and maximum.

    Raises
    ------
    DataError
        If the rows contain NaN or infinite values.
    """
    lo, hi = np.inf, -np.inf
    indices = np.sort(np.asarray(indices))
    for start in range(0, len(indices), chunk_size):
        chunk = np.asarray(array[indices[start : start + chunk_size]])
        if not np.isfinite(chunk).all():
            kind = "NaN" if np.isnan(chunk).any() else "infinite (inf)"
            raise DataError(
                f"Input {name} contains {kind} values; expected finite values "
                "(remove or interpolate them first)."
            )
        lo = min(lo, float(chunk.min()))
        hi = max(hi, float(chunk.max()))
    return lo, hi


def _range(lo, hi):
    r = hi - lo
    return r if r > 0 else 1.0


def scale_inputs(x, lo, hi):
    """Scale EEG inputs with the training minimum and maximum (float32)."""
    return (
        (np.asarray(x, dtype=np.float32) - np.float32(lo)) / np.float32(_range(lo, hi))
    ).astype(np.float32, copy=False)


def per_volume_minmax(y):
    """Min-max scale each volume of ``y`` (n, ...) to [0, 1]; constant volumes -> 0."""
    y = np.asarray(y, dtype=np.float32)
    flat = y.reshape(len(y), -1)
    lo = flat.min(axis=1, keepdims=True)
    rng = flat.max(axis=1, keepdims=True) - lo
    rng[rng <= 0] = 1.0
    return ((flat - lo) / rng).reshape(y.shape).astype(np.float32, copy=False)


def scale_targets(y, scaling, lo=None, hi=None):
    """Map targets (input units) to model units according to ``scaling``."""
    if scaling == "volume":
        return per_volume_minmax(y)
    return (
        (np.asarray(y, dtype=np.float32) - np.float32(lo)) / np.float32(_range(lo, hi))
    ).astype(np.float32, copy=False)


def unscale_predictions(pred, scaling, lo=None, hi=None):
    """Map model outputs to prediction units (identity for ``'volume'``)."""
    if scaling == "volume":
        return pred
    return pred * np.float32(_range(lo, hi)) + np.float32(lo)


def predictions_to_model_units(pred, scaling, lo=None, hi=None):
    """Inverse of :func:`unscale_predictions` (identity for ``'volume'``)."""
    if scaling == "volume":
        return np.asarray(pred, dtype=np.float64)
    return (np.asarray(pred, dtype=np.float64) - lo) / _range(lo, hi)
