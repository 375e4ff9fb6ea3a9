"""Scaling of EEG inputs and BOLD targets, fitted on training rows by streaming.

Inputs (``input_scaling``), statistics from the training rows only:

- ``'standard'``: each (channel, frequency) standardized with the mean and standard
  deviation over the training samples and their context windows.
- ``'minmax'`` (official, without the official code's use of test data): one global
  minimum and maximum, ``x' = (x - min) / (max - min)``.

Targets (``target_scaling``):

- ``'zscore'``: every voxel standardized over time within each run (its own mean and
  standard deviation in that run). The model learns the fluctuations in units of each
  voxel's temporal standard deviation. Predictions are mapped back to BOLD intensity
  with the training runs' voxel-wise mean (``location``) and root-mean-square
  temporal standard deviation (``scale``).
- ``'volume'`` (official): each volume min-max scaled to [0, 1] on its own; spatial
  patterns are learned, the signal level of a volume is not. Predictions stay in
  these per-volume units.
- ``'run'``: one minimum and maximum over all training targets; predictions are mapped
  back to the units of the training targets.
"""

# SPDX-License-Identifier: BSD-3-Clause

from dataclasses import dataclass

import numpy as np

from ..exceptions import DataError

__all__ = [
    "INPUT_SCALINGS",
    "TARGET_SCALINGS",
    "InputScaling",
    "TargetScaling",
    "fit_input_scaling",
    "fit_target_scaling",
    "streaming_minmax",
    "per_volume_minmax",
    "run_codes",
]

INPUT_SCALINGS = ("standard", "minmax")
TARGET_SCALINGS = ("zscore", "volume", "run")
_CHUNK = 256


def _check_finite(chunk, name):
    if not np.isfinite(chunk).all():
        kind = "NaN" if np.isnan(chunk).any() else "infinite (inf)"
        raise DataError(
            f"Input {name} contains {kind} values; expected finite values "
            "(remove or interpolate them first)."
        )


def _chunks(array, indices, shape=None, chunk_size=_CHUNK):
    """Yield ``(rows, array[rows])`` in increasing row order, reshaped to ``shape``."""
    indices = np.sort(np.asarray(indices, dtype=np.int64))
    for start in range(0, len(indices), chunk_size):
        rows = indices[start : start + chunk_size]
        chunk = np.asarray(array[rows])
        if shape is not None:
            chunk = chunk.reshape(len(rows), *shape)
        yield rows, chunk


def streaming_minmax(array, indices, *, name="X", chunk_size=_CHUNK):
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
    for _, chunk in _chunks(array, indices, chunk_size=chunk_size):
        _check_finite(chunk, name)
        lo = min(lo, float(chunk.min()))
        hi = max(hi, float(chunk.max()))
    return lo, hi


def _range(lo, hi):
    r = hi - lo
    return r if r > 0 else 1.0


def per_volume_minmax(y):
    """Min-max scale each volume of ``y`` (n, ...) to [0, 1]; constant volumes -> 0."""
    y = np.asarray(y, dtype=np.float32)
    flat = y.reshape(len(y), -1)
    lo = flat.min(axis=1, keepdims=True)
    rng = flat.max(axis=1, keepdims=True) - lo
    rng[rng <= 0] = 1.0
    return ((flat - lo) / rng).reshape(y.shape).astype(np.float32, copy=False)


def run_codes(runs, n_samples, groups=None):
    """Integer run code per sample from run labels (or groups, or one run).

    Parameters
    ----------
    runs : array-like of shape (n_samples,) or None
        Run label of each sample.
    n_samples : int
    groups : array-like of shape (n_samples,), optional
        Used when ``runs`` is None (one run per group).

    Returns
    -------
    codes : ndarray of int of shape (n_samples,)
    source : {'runs', 'groups', 'none'}
        Where the codes came from.
    """
    for source, labels in (("runs", runs), ("groups", groups)):
        if labels is None:
            continue
        labels = np.asarray(labels)
        if labels.shape != (n_samples,):
            raise ValueError(
                f"{source} must have shape ({n_samples},), one label per sample. Got "
                f"shape {labels.shape} instead."
            )
        return np.unique(labels.astype(str), return_inverse=True)[1], source
    return np.zeros(n_samples, dtype=np.int64), "none"


# ------------------------------------------------------------------------- inputs


@dataclass
class InputScaling:
    """Fitted input scaling; call it on a batch ``(n, T, C, F)`` to scale it.

    Attributes
    ----------
    method : {'standard', 'minmax'}
    lo, hi : float or None
        Global minimum and maximum (``'minmax'``).
    mean, std : ndarray of shape (C, F) or None
        Per (channel, frequency) statistics (``'standard'``), float32.
    """

    method: str
    lo: float | None = None
    hi: float | None = None
    mean: np.ndarray | None = None
    std: np.ndarray | None = None

    def __call__(self, x):
        """Scale a batch to float32 model units."""
        x = np.asarray(x, dtype=np.float32)
        if self.method == "minmax":
            return (x - np.float32(self.lo)) / np.float32(_range(self.lo, self.hi))
        return (x - self.mean) / self.std


def fit_input_scaling(X, indices, method, input_shape, chunk_size=_CHUNK):
    """Input statistics of the rows ``indices`` of X (streamed; checks finiteness).

    Parameters
    ----------
    X : array-like of shape (n_samples, ...)
        Inputs; each row reshapes to ``input_shape``.
    indices : ndarray of int
        Training rows.
    method : {'standard', 'minmax'}
    input_shape : tuple of int (T, C, F)

    Returns
    -------
    scaling : InputScaling
    """
    if method == "minmax":
        lo, hi = streaming_minmax(X, indices, name="X", chunk_size=chunk_size)
        return InputScaling(method, lo=lo, hi=hi)
    # two passes (mean, then variance about it) in float64: exact and stable
    total = np.zeros(input_shape[1:], dtype=np.float64)
    count = 0
    for _, chunk in _chunks(X, indices, input_shape, chunk_size):
        _check_finite(chunk, "X")
        total += chunk.sum(axis=(0, 1), dtype=np.float64)
        count += chunk.shape[0] * chunk.shape[1]
    mean = total / max(count, 1)
    sq = np.zeros_like(total)
    for _, chunk in _chunks(X, indices, input_shape, chunk_size):
        sq += ((chunk - mean) ** 2).sum(axis=(0, 1))
    std = np.sqrt(sq / max(count, 1))
    std[std <= 0] = 1.0
    return InputScaling(
        method, mean=mean.astype(np.float32), std=std.astype(np.float32)
    )


# ------------------------------------------------------------------------ targets


@dataclass
class TargetScaling:
    """Fitted target scaling: model units for training, prediction units for users.

    Attributes
    ----------
    method : {'zscore', 'volume', 'run'}
    lo, hi : float or None
        Minimum and maximum of the training targets (``'run'``).
    location, scale : ndarray of shape (D, H, W) or None
        Voxel-wise mean and RMS temporal standard deviation over the training runs
        (``'zscore'``): predictions are ``location + scale * z``.
    row_codes : ndarray of int or None
        Run code of every row of the fitted data (``'zscore'``, during ``fit`` only).
    run_mean, run_std : ndarray of shape (n_runs, D, H, W) or None
        Each run's voxel-wise statistics (``'zscore'``, during ``fit`` only).
    """

    method: str
    lo: float | None = None
    hi: float | None = None
    location: np.ndarray | None = None
    scale: np.ndarray | None = None
    row_codes: np.ndarray | None = None
    run_mean: np.ndarray | None = None
    run_std: np.ndarray | None = None

    def to_model(self, y, rows=None):
        """Targets (input units) -> model units, float32.

        Parameters
        ----------
        y : ndarray of shape (n, D, H, W)
        rows : ndarray of int of shape (n,), optional
            Rows of the fitted data (``'zscore'``: selects each row's run
            statistics); without them the training ``location``/``scale`` are used.
        """
        if self.method == "volume":
            return per_volume_minmax(y)
        y = np.asarray(y, dtype=np.float32)
        if self.method == "run":
            return (y - np.float32(self.lo)) / np.float32(_range(self.lo, self.hi))
        if rows is None or self.run_mean is None:
            return (y - self.location) / self.scale
        codes = self.row_codes[np.asarray(rows)]
        return (y - self.run_mean[codes]) / self.run_std[codes]

    def to_prediction(self, pred):
        """Model outputs -> prediction units (identity for ``'volume'``)."""
        if self.method == "volume":
            return pred
        if self.method == "run":
            return pred * np.float32(_range(self.lo, self.hi)) + np.float32(self.lo)
        return pred * self.scale + self.location

    def release_fit_state(self):
        """Drop the per-run statistics of the training data (after ``fit``)."""
        self.row_codes = self.run_mean = self.run_std = None
        return self


def _run_statistics(y, rows, output_shape, chunk_size):
    """Voxel-wise mean and standard deviation of ``y[rows]`` (two passes, float64)."""
    total = np.zeros(output_shape, dtype=np.float64)
    for _, chunk in _chunks(y, rows, output_shape, chunk_size):
        _check_finite(chunk, "y")
        total += chunk.sum(axis=0, dtype=np.float64)
    mean = total / len(rows)
    sq = np.zeros_like(total)
    for _, chunk in _chunks(y, rows, output_shape, chunk_size):
        sq += ((chunk - mean) ** 2).sum(axis=0)
    return mean, np.sqrt(sq / len(rows))


def fit_target_scaling(
    y, train_idx, method, output_shape, *, codes=None, extra_idx=None,
    chunk_size=_CHUNK,
):
    """Target statistics of the training rows (streamed; checks finiteness).

    Parameters
    ----------
    y : array-like of shape (n_samples, ...)
        Targets; each row reshapes to ``output_shape``.
    train_idx : ndarray of int
        Training rows: the only source of ``lo``/``hi``/``location``/``scale``.
    method : {'zscore', 'volume', 'run'}
    output_shape : tuple of int (D, H, W)
    codes : ndarray of int of shape (n_samples,), optional
        Run code of every row (``'zscore'``; default: one run).
    extra_idx : ndarray of int, optional
        Other rows that will be scaled during ``fit`` (validation): their runs get
        their own statistics too (``'zscore'``), and they are checked for NaNs.

    Returns
    -------
    scaling : TargetScaling
    """
    train_idx = np.asarray(train_idx, dtype=np.int64)
    extra_idx = np.zeros(0, np.int64) if extra_idx is None else np.asarray(extra_idx)
    if method == "volume":
        for idx in (train_idx, extra_idx):
            streaming_minmax(y, idx, name="y", chunk_size=chunk_size)
        return TargetScaling(method)
    if method == "run":
        lo, hi = streaming_minmax(y, train_idx, name="y", chunk_size=chunk_size)
        streaming_minmax(y, extra_idx, name="y", chunk_size=chunk_size)
        return TargetScaling(method, lo=lo, hi=hi)
    streaming_minmax(y, extra_idx, name="y", chunk_size=chunk_size)  # finiteness
    n = len(y)
    codes = np.zeros(n, dtype=np.int64) if codes is None else np.asarray(codes)
    used = np.union1d(train_idx, extra_idx)
    n_runs = int(codes.max()) + 1 if n else 0
    run_mean = np.zeros((n_runs, *output_shape), dtype=np.float32)
    run_std = np.ones((n_runs, *output_shape), dtype=np.float32)
    train_runs = np.unique(codes[train_idx])
    var_sum = np.zeros(output_shape, dtype=np.float64)
    mean_sum = np.zeros(output_shape, dtype=np.float64)
    for code in np.unique(codes[used]):
        # a run with training rows is described by them alone (no validation rows
        # leak into the training targets); a validation-only run by its own rows
        rows = train_idx[codes[train_idx] == code]
        if not len(rows):
            rows = extra_idx[codes[extra_idx] == code]
        mean, std = _run_statistics(y, rows, output_shape, chunk_size)
        if code in train_runs:
            mean_sum += mean
            var_sum += std**2
        run_mean[code] = mean
        run_std[code] = np.where(std > 0, std, 1.0)
    n_train_runs = max(len(train_runs), 1)
    scale = np.sqrt(var_sum / n_train_runs)
    scale[scale <= 0] = 1.0
    return TargetScaling(
        method,
        location=(mean_sum / n_train_runs).astype(np.float32),
        scale=scale.astype(np.float32),
        row_codes=codes,
        run_mean=run_mean,
        run_std=run_std,
    )
