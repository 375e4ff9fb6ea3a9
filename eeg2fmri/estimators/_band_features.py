"""Band-power features of EEG spectra and the checks of their parameters.

Shared by the linear estimators (:mod:`.ridge`, :mod:`.reduced_rank`): bands in Hz
become an averaging matrix over the frequency bins, and ``X`` is read in chunks of
rows into ``(n_samples, n_context * n_channels * n_bands)`` float64 features.
"""

import numbers

import numpy as np

from .._utils.logging import logger
from . import scaling as _scaling
from ._params import is_int as _is_int

_BLOCK_BYTES = 64 * 2**20  # temporary float64 arrays per block of rows or voxels


def _real_vector(value, low=None):
    """``value`` as a non-empty 1-D float64 array of finite reals, or None."""
    if isinstance(value, str | bytes | bool) or value is None:
        return None
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError):
        return None
    if arr.ndim > 1 or arr.size == 0 or arr.dtype == bool:
        return None
    if arr.dtype.kind not in "fiu":
        return None
    arr = np.atleast_1d(arr).astype(np.float64)
    if not np.isfinite(arr).all() or (low is not None and (arr < low).any()):
        return None
    return arr


def _int_vector(value, low):
    arr = _real_vector(value, low)
    if arr is None or not np.issubdtype(np.asarray(value).dtype, np.integer):
        return None
    return arr.astype(np.int64)


def _band_pairs(value):
    """``bands`` as a (n_bands, 2) float64 array, or None if malformed."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (ValueError, TypeError):
        return None
    if arr.ndim != 2 or arr.shape[1] != 2 or len(arr) == 0:
        return None
    if not np.isfinite(arr).all() or (arr[:, 0] >= arr[:, 1]).any():
        return None
    return arr


def _cv_ok(value):
    if value is None or _is_int(value, 2):
        return True
    if isinstance(value, numbers.Number | str | bytes):
        return False
    return hasattr(value, "split") or hasattr(value, "__iter__")


def _band_weights(est, n_freqs, frequencies):
    """Averaging matrix (n_freqs, n_bands) and the kept bands, or (None, None).

    ``bands=None`` keeps every bin as its own feature.
    """
    name = type(est).__name__
    if est.bands is None:
        if frequencies is not None:
            check_frequencies(est, n_freqs, frequencies)
        return None, None
    if frequencies is None:
        raise ValueError(
            f"The 'frequencies' parameter of {name} is required to average X over "
            f"'bands': expected {n_freqs} values (Hz of each bin of X's last axis, "
            "e.g. PairedDataset.frequencies), found None."
        )
    freqs = check_frequencies(est, n_freqs, frequencies)
    bands = _band_pairs(est.bands)
    f = freqs[:, None]
    inside = (f >= bands[None, :, 0]) & (f < bands[None, :, 1])
    keep = inside.any(axis=0)
    if not keep.any():
        raise ValueError(
            f"None of the 'bands' of {name} contains a frequency bin: expected at "
            f"least one band with low <= f < high for the bins of X at "
            f"{freqs.min():g}..{freqs.max():g} Hz, found bands "
            f"{bands.tolist()}."
        )
    if not keep.all():
        logger.info(
            "%s: bands without a frequency bin skipped: %s",
            name,
            bands[~keep].tolist(),
        )
    weights = inside[:, keep].astype(np.float64)
    return weights / weights.sum(axis=0), bands[keep]


def check_frequencies(est, n_freqs, frequencies):
    freqs = _real_vector(frequencies)
    if len(freqs) != n_freqs:
        raise ValueError(
            f"The 'frequencies' parameter of {type(est).__name__} must have one value "
            f"per frequency bin of X: expected {n_freqs} values, found {len(freqs)}."
        )
    return freqs


def _row_step(bytes_per_row):
    return max(1, _BLOCK_BYTES // max(1, int(bytes_per_row)))


def _band_power(X, input_shape, weights):
    """Band-power features of every row of X, float64 (n_samples, n_features).

    X is read in chunks of rows (it may be a lazy array-like); non-finite values raise
    :class:`~eeg2fmri.exceptions.DataError`.
    """
    n = len(X)
    t, c, f = input_shape
    n_bands = f if weights is None else weights.shape[1]
    out = np.empty((n, t * c * n_bands), dtype=np.float64)
    step = _row_step(t * c * f * 8)
    for start in range(0, n, step):
        rows = np.arange(start, min(n, start + step))
        chunk = np.asarray(X[rows], dtype=np.float64).reshape(len(rows), t, c, f)
        _scaling._check_finite(chunk, "X")
        if weights is not None:
            chunk = chunk @ weights
        out[rows] = chunk.reshape(len(rows), -1)
    return out


def _model_targets(y, target, output_shape):
    """All targets in model units, float32 (n_samples, n_voxels), read in chunks."""
    n = len(y)
    n_vox = int(np.prod(output_shape))
    out = np.empty((n, n_vox), dtype=np.float32)
    step = _row_step(n_vox * 8)
    for start in range(0, n, step):
        rows = np.arange(start, min(n, start + step))
        chunk = np.asarray(y[rows]).reshape(len(rows), *output_shape)
        out[rows] = target.to_model(chunk, rows=rows).reshape(len(rows), n_vox)
    return out



class _RowView:
    """Rows ``rows`` of an array-like, indexable with int arrays (for chunking)."""

    def __init__(self, X, rows):
        self.X, self.rows = X, rows

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, idx):
        return self.X[self.rows[idx]]
