"""Lazy (context, volume) pairs: index into one spectrum array per run, never copy it.

The official code stores each TR spectrum ``n_context`` times (float64); here a run
keeps one float32 array ``spectra`` of shape (n_windows, C, F) and
:class:`ContextPairs` slices the contexts on demand. :class:`VolumeTargets` does the
same for the BOLD volumes (with the optional scaling applied per item), and
:class:`ConcatPairs` chains runs. All three share one small array-like API: ``shape``,
``dtype``, ``ndim``, ``len()``, indexing with an int, a slice, an int array or a boolean
mask (returning an ``np.ndarray``), ``np.asarray(obj)`` and ``take(indices)`` (a lazy
subset).
"""

import numbers

import numpy as np

__all__ = [
    "ContextPairs",
    "FrameContexts",
    "whole_run_contexts",
    "VolumeTargets",
    "ConcatPairs",
    "BOLD_SCALINGS",
]

#: Accepted values of ``bold_scaling``.
BOLD_SCALINGS = (None, "run", "volume")


def _normalize_key(key, n):
    """Turn an index key into (int positions, is_scalar, rest-of-tuple)."""
    rest = ()
    if isinstance(key, tuple):
        if not key:
            key = slice(None)
        else:
            key, rest = key[0], key[1:]
    if isinstance(key, numbers.Integral):
        i = int(key)
        if not -n <= i < n:
            raise IndexError(f"index {i} is out of bounds for length {n}")
        return np.array([i % n]), True, rest
    if isinstance(key, slice):
        return np.arange(n)[key], False, rest
    idx = np.asarray(key)
    if idx.dtype == bool:
        if idx.shape != (n,):
            raise IndexError(f"boolean index has shape {idx.shape}, expected ({n},)")
        return np.flatnonzero(idx), False, rest
    if idx.size == 0:
        return np.zeros(0, np.int64), False, rest
    if not np.issubdtype(idx.dtype, np.integer):
        raise IndexError(
            "only integers, slices and integer or boolean arrays index pairs, "
            f"got {idx.dtype}"
        )
    if idx.ndim != 1:
        raise IndexError(f"integer index arrays must be 1-D, got shape {idx.shape}")
    if idx.min() < -n or idx.max() >= n:
        raise IndexError(f"index array has values outside [-{n}, {n})")
    return idx.astype(np.int64) % n, False, rest


def _indices(indices, n):
    """Positions (int64, 1-D) selected by an int, slice, int array or boolean mask."""
    if not isinstance(indices, slice | numbers.Integral):
        indices = np.asarray(indices)
    return _normalize_key(indices, n)[0]


class _LazyArray:
    """Shared indexing protocol; subclasses implement ``shape`` and ``_gather``."""

    dtype = np.dtype(np.float32)

    @property
    def ndim(self):
        """Number of dimensions."""
        return len(self.shape)

    @property
    def nbytes_materialized(self):
        """Bytes that ``np.asarray(self)`` would allocate."""
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, key):
        idx, scalar, rest = _normalize_key(key, len(self))
        out = self._gather(idx)
        if scalar:
            out = out[0]
        return out[(slice(None),) * (0 if scalar else 1) + rest] if rest else out

    def __array__(self, dtype=None, copy=None):
        out = self._gather(np.arange(len(self)))
        return out if dtype is None else out.astype(dtype, copy=False)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __repr__(self):
        shape = "x".join(map(str, self.shape))
        return (
            f"<{type(self).__name__} {shape} {self.dtype}, "
            f"{self.nbytes_materialized / 2**20:.1f} MiB if materialized>"
        )


class ContextPairs(_LazyArray):
    """The contexts of one run: ``n_context`` consecutive rows of ``spectra`` per pair.

    Parameters
    ----------
    spectra : np.ndarray, shape (n_windows, C, F)
        The run's window spectra (an array or a read-only memmap); never copied.
    last_window : array-like of int, shape (n_pairs,)
        Row of ``spectra`` of each pair's last context window.
    n_context : int
        Windows per context.
    channels : array-like of int, optional
        Channel axis order of the pairs: pair channel ``c`` is ``spectra`` channel
        ``channels[c]`` (runs recorded with another channel order are put in the
        dataset's order by name). Default: as in ``spectra``.

    Attributes
    ----------
    shape : tuple
        ``(n_pairs, n_context, C, F)``.

    Notes
    -----
    ``pairs[i]`` equals ``spectra[last_window[i] - n_context + 1 : last_window[i] + 1]``
    as float32. Indexing returns a new ``np.ndarray`` of the selected pairs only.
    """

    def __init__(self, spectra, last_window, n_context, channels=None):
        if getattr(spectra, "ndim", None) != 3:
            raise ValueError(
                f"spectra must be 3-D (n_windows, C, F), got shape {np.shape(spectra)}"
            )
        n_context = int(n_context)
        last = np.asarray(last_window, dtype=np.int64).ravel()
        if n_context < 1:
            raise ValueError(f"n_context must be >= 1, got {n_context}")
        if last.size and (
            last.min() - n_context + 1 < 0 or last.max() >= spectra.shape[0]
        ):
            raise ValueError(
                f"last_window must lie in [{n_context - 1}, {spectra.shape[0] - 1}] "
                f"for {spectra.shape[0]} windows and n_context={n_context}; "
                f"found [{last.min()}, {last.max()}]"
            )
        if channels is not None:
            channels = np.asarray(channels, dtype=np.int64).ravel()
            if channels.size and (
                channels.min() < 0 or channels.max() >= spectra.shape[1]
            ):
                raise ValueError(
                    f"channels must index the {spectra.shape[1]} channels of spectra, "
                    f"found {channels.tolist()}"
                )
            if np.array_equal(channels, np.arange(spectra.shape[1])):
                channels = None
        self.spectra = spectra
        self.last_window = last
        self.n_context = n_context
        self.channels = channels
        self.dtype = np.dtype(np.float32)

    @property
    def shape(self):
        """``(n_pairs, n_context, C, F)``."""
        n_channels = (
            self.spectra.shape[1] if self.channels is None else len(self.channels)
        )
        return (self.last_window.size, self.n_context, n_channels,
                self.spectra.shape[2])

    def _gather(self, idx):
        offsets = np.arange(-self.n_context + 1, 1)
        rows = self.last_window[idx][:, None] + offsets  # (k, n_context)
        if rows.size == 0:
            return np.zeros((0, *self.shape[1:]), dtype=np.float32)
        lo, hi = int(rows.min()), int(rows.max()) + 1
        block = np.asarray(
            self.spectra[lo:hi], dtype=np.float32
        )  # one read for a memmap
        if self.channels is not None:
            block = block[:, self.channels]
        return block[rows - lo]

    def take(self, indices):
        """Lazy subset: ContextPairs of the pairs ``indices`` (ints or a mask)."""
        idx = _indices(indices, len(self))
        return ContextPairs(
            self.spectra, self.last_window[idx], self.n_context, self.channels
        )


class FrameContexts(_LazyArray):
    """Contexts given row by row: context ``i`` is ``spectra[rows[i]]``.

    Parameters
    ----------
    spectra : np.ndarray, shape (n_rows, C, F)
        Window spectra (row 0 may be a fill spectrum for missing windows).
    rows : array-like of int, shape (n_frames, n_context)
        Row of ``spectra`` of each context window.

    Attributes
    ----------
    shape : tuple
        ``(n_frames, n_context, C, F)``.
    """

    def __init__(self, spectra, rows):
        rows = np.asarray(rows, dtype=np.int64)
        if rows.ndim != 2 or (rows.size and (rows.min() < 0
                                             or rows.max() >= len(spectra))):
            raise ValueError(
                f"rows must be (n_frames, n_context) indices into {len(spectra)} "
                f"spectra, got shape {rows.shape}"
            )
        self.spectra = spectra
        self.rows = rows
        self.dtype = np.dtype(np.float32)

    @property
    def shape(self):
        """``(n_frames, n_context, C, F)``."""
        return (*self.rows.shape, *self.spectra.shape[1:])

    def _gather(self, idx):
        return np.asarray(self.spectra[self.rows[idx]], dtype=np.float32)

    def take(self, indices):
        """Lazy subset of the frames ``indices``."""
        return FrameContexts(self.spectra, self.rows[_indices(indices, len(self))])


def whole_run_contexts(spectra, first_window, n_context, n_frames, fill=None):
    """The EEG context of every frame of a run, missing windows filled.

    Frame ``v`` (the volume acquired from onset ``v``) uses windows
    ``v - n_context .. v - 1``, as the training pairs do; windows the EEG does not
    hold (before its start, after its end) are replaced by ``fill``.

    Parameters
    ----------
    spectra : np.ndarray, shape (n_windows, C, F)
        Window spectra; row ``i`` is window ``first_window + i``.
    first_window : int
        Window index of row 0 (:attr:`WindowGrid.first_window`).
    n_context : int
        Windows per context.
    n_frames : int
        Frames (volumes) to synthesize: ``0 .. n_frames - 1``.
    fill : np.ndarray of shape (C, F), optional
        Spectrum that stands for a missing window; default the mean over the run's
        windows (the recording's average state: no information about that time).

    Returns
    -------
    contexts : FrameContexts
        ``(n_frames, n_context, C, F)``.
    n_available : np.ndarray of int, shape (n_frames,)
        Windows of each context the EEG holds (``n_context`` = complete).
    """
    spectra = np.asarray(spectra, dtype=np.float32)
    if spectra.ndim != 3 or len(spectra) == 0:
        raise ValueError(
            f"spectra must be (n_windows >= 1, C, F), got shape {spectra.shape}"
        )
    if fill is None:
        fill = spectra.mean(axis=0)
    fill = np.asarray(fill, dtype=np.float32).reshape(1, *spectra.shape[1:])
    padded = np.concatenate([fill, spectra])
    window = (
        np.arange(int(n_frames))[:, None] + np.arange(-int(n_context), 0)[None, :]
    )
    row = window - int(first_window)
    valid = (row >= 0) & (row < len(spectra))
    rows = np.where(valid, row + 1, 0)
    return FrameContexts(padded, rows), valid.sum(axis=1).astype(np.int64)


class VolumeTargets(_LazyArray):
    """The target volumes of one run, selected and scaled on demand.

    Parameters
    ----------
    volumes : np.ndarray, shape (n_volumes, D, H, W)
        The run's BOLD volumes (an array or a read-only memmap); never copied.
    volume_index : array-like of int, shape (n_pairs,)
        Volume of each pair.
    scaling : {None, "run", "volume"}, default=None
        None: raw float32 values. "volume" (official): each volume min-max scaled to
        [0, 1] over its voxels. "run": min-max over all voxels of all the run's target
        volumes (``volume_index``), which keeps the temporal fluctuations.
        A constant volume/run scales to zeros.
    run_range : tuple of float, optional
        (min, max) for ``scaling="run"``; computed from ``volumes[volume_index]`` when
        omitted (and kept by :meth:`take`).

    Attributes
    ----------
    shape : tuple
        ``(n_pairs, D, H, W)``.
    """

    def __init__(self, volumes, volume_index, scaling=None, run_range=None):
        if getattr(volumes, "ndim", None) != 4:
            raise ValueError(
                "volumes must be 4-D (n_volumes, D, H, W), "
                f"got shape {np.shape(volumes)}"
            )
        if scaling not in BOLD_SCALINGS:
            raise ValueError(
                f"bold_scaling must be one of {BOLD_SCALINGS}, got {scaling!r}"
            )
        idx = np.asarray(volume_index, dtype=np.int64).ravel()
        if idx.size and (idx.min() < 0 or idx.max() >= volumes.shape[0]):
            raise ValueError(
                f"volume_index must lie in [0, {volumes.shape[0] - 1}], "
                f"found [{idx.min()}, {idx.max()}]"
            )
        self.volumes = volumes
        self.volume_index = idx
        self.scaling = scaling
        self.dtype = np.dtype(np.float32)
        if scaling == "run" and run_range is None:
            lo, hi = np.inf, -np.inf
            uniq = np.unique(idx)
            for b in range(0, uniq.size, 32):
                chunk = np.asarray(volumes[uniq[b : b + 32]])
                lo, hi = min(lo, float(chunk.min())), max(hi, float(chunk.max()))
            run_range = (lo, hi) if uniq.size else (0.0, 1.0)
        self.run_range = (
            None if run_range is None else (float(run_range[0]), float(run_range[1]))
        )

    @property
    def shape(self):
        """``(n_pairs, D, H, W)``."""
        return (self.volume_index.size, *self.volumes.shape[1:])

    def _gather(self, idx):
        vi = self.volume_index[idx]
        if vi.size == 0:
            return np.zeros((0, *self.shape[1:]), dtype=np.float32)
        out = np.array(self.volumes[vi], dtype=np.float32)
        if self.scaling == "volume":
            axes = tuple(range(1, out.ndim))
            lo = out.min(axis=axes, keepdims=True)
            rng = out.max(axis=axes, keepdims=True) - lo
            out -= lo
            np.divide(out, rng, out=out, where=rng > 0)
            out[np.broadcast_to(rng <= 0, out.shape)] = 0.0
        elif self.scaling == "run":
            lo, hi = self.run_range
            out -= np.float32(lo)
            out *= np.float32(1.0 / (hi - lo)) if hi > lo else np.float32(0.0)
        return out

    def take(self, indices):
        """Lazy subset over the pairs ``indices``; the run's scaling range is kept."""
        idx = _indices(indices, len(self))
        return VolumeTargets(
            self.volumes, self.volume_index[idx], self.scaling, self.run_range
        )


class ConcatPairs(_LazyArray):
    """Concatenation along the first axis of lazy arrays with the same trailing shape.

    Parameters
    ----------
    parts : sequence of array-like
        :class:`ContextPairs`, :class:`VolumeTargets` or arrays, one per run; all with
        the same ``shape[1:]``.

    eeg_spec : EEGSpec, optional
        What the channel and frequency axes of contexts are (names, sampling rate,
        frequencies); estimators fitted on these pairs record it.
    feature_params : FeatureParams, optional
        How the spectra were computed.
    output_space : OutputSpace, optional
        The grid of target volumes.

    Attributes
    ----------
    parts : list
    offsets : np.ndarray of int64, shape (n_parts + 1,)
        First global index of each part (and the total length).
    eeg_spec, feature_params, output_space
        As given (kept by :meth:`take`).
    """

    def __init__(self, parts, *, eeg_spec=None, feature_params=None,
                 output_space=None):
        parts = list(parts)
        if not parts:
            raise ValueError("ConcatPairs needs at least one part")
        self.eeg_spec = eeg_spec
        self.feature_params = feature_params
        self.output_space = output_space
        tail = tuple(parts[0].shape[1:])
        for i, p in enumerate(parts):
            if tuple(p.shape[1:]) != tail:
                raise ValueError(
                    f"ConcatPairs part {i} has shape {tuple(p.shape)}, "
                    f"expected (n, {', '.join(map(str, tail))})"
                )
        self.parts = parts
        self.offsets = np.concatenate([[0], np.cumsum([len(p) for p in parts])]).astype(
            np.int64
        )
        self.dtype = np.dtype(np.float32)

    @property
    def shape(self):
        """``(total, *part_shape[1:])``."""
        return (int(self.offsets[-1]), *self.parts[0].shape[1:])

    def _locate(self, idx):
        part = np.searchsorted(self.offsets, idx, side="right") - 1
        return part, idx - self.offsets[part]

    def _gather(self, idx):
        out = np.empty((idx.size, *self.shape[1:]), dtype=np.float32)
        part, local = self._locate(idx)
        for p in np.unique(part):
            sel = part == p
            out[sel] = self.parts[p][local[sel]]
        return out

    def take(self, indices):
        """Lazy subset in the order of ``indices``: one part per run of consecutive
        indices that fall in the same original part."""
        idx = _indices(indices, len(self))
        meta = dict(eeg_spec=self.eeg_spec, feature_params=self.feature_params,
                    output_space=self.output_space)
        if idx.size == 0:
            return ConcatPairs([_take(self.parts[0], idx)], **meta)
        part, local = self._locate(idx)
        cuts = np.flatnonzero(np.diff(part)) + 1
        new = [
            _take(self.parts[part[seg[0]]], local[seg])
            for seg in np.split(np.arange(idx.size), cuts)
        ]
        return ConcatPairs(new, **meta)


def _take(obj, idx):
    """Lazy subset of a part: ``obj.take`` when it has one, else fancy indexing."""
    if isinstance(obj, _LazyArray):
        return obj.take(idx)
    return np.asarray(obj)[idx]
