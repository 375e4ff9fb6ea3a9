"""Paired EEG -> BOLD datasets: :func:`build_dataset` and :class:`PairedDataset`.

For each paired run: load the EEG, find the volume onsets, compute the TR-window spectra
(:mod:`eeg2fmri.features.spectra`), load the BOLD volumes (optionally resampled), and
keep both as one array per run (memory-mapped ``.npy`` files when a ``work_dir`` is
given). The pairs are lazy views into those arrays (:mod:`eeg2fmri.features.pairs`).
"""

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .._utils.io import atomic_path, write_json_atomic
from .._utils.logging import logger
from ..exceptions import AlignmentError, DataError, NoMatchingDataError
from .pairs import BOLD_SCALINGS, ConcatPairs, ContextPairs, VolumeTargets
from .params import FeatureParams
from .resample import RESAMPLE_METHODS, resample_volumes
from .spectra import (
    WindowGrid,
    compute_window_spectra,
    make_window_grid,
    spectrum_frequencies,
)

__all__ = ["RunFeatures", "PairedDataset", "build_dataset", "CACHE_VERSION"]

#: Bumped whenever the cached arrays would change for the same inputs and parameters.
CACHE_VERSION = 1

_EEG_COMPANIONS = (".vhdr", ".vmrk", ".eeg", ".set", ".fdt", ".edf", ".bdf")
_PROVENANCE_COLUMNS = [
    "subject",
    "session",
    "task",
    "run",
    "run_label",
    "volume_index",
    "onset",
    "context_start",
    "context_end",
]


@dataclass
class RunFeatures:
    """The per-run arrays a :class:`PairedDataset` indexes into.

    Attributes
    ----------
    label : str
        Run label (``"sub-01_task-rest_run-1"``).
    subject, session, task, run : str or None
        BIDS entities (labels without prefixes).
    tr : float
        Repetition time in seconds.
    sfreq : float
        EEG sampling frequency in Hz.
    onsets : np.ndarray of float64, shape (n_volumes,)
        Volume onsets in seconds from the first EEG sample.
    grid : WindowGrid
        The TR windows; row ``i`` of ``spectra`` is window/volume
        ``grid.first_window + i``.
    spectra : np.ndarray of float32, shape (n_windows, C, F)
        Window spectra (a read-only memmap when cached).
    volumes : np.ndarray of float32, shape (n_volumes, D, H, W)
        BOLD volumes on the output grid (a read-only memmap when cached).
    affine : np.ndarray, shape (4, 4)
        Voxel-to-world affine of ``volumes`` (after resampling).
    onset_source : str
        ``"markers"``, ``"fallback"`` or ``"given"``.
    marker : str or None
        Marker the onsets were read from.
    paired_run : PairedRun or None
        The discovered run this came from.
    cache_dir : Path or None
        Where the arrays are cached.
    """

    label: str
    subject: str
    session: str | None
    task: str | None
    run: str | None
    tr: float
    sfreq: float
    onsets: np.ndarray
    grid: WindowGrid
    spectra: np.ndarray
    volumes: np.ndarray
    affine: np.ndarray
    onset_source: str = "given"
    marker: str | None = None
    paired_run: object = field(default=None, repr=False)
    cache_dir: Path | None = None

    @property
    def n_volumes(self):
        """Number of BOLD volumes."""
        return int(self.volumes.shape[0])

    @classmethod
    def from_arrays(
        cls,
        eeg,
        sfreq,
        onsets,
        volumes,
        affine,
        tr,
        params=None,
        *,
        subject="01",
        label=None,
        session=None,
        task=None,
        run=None,
    ):
        """Compute the features of one run from arrays (no files involved).

        Parameters
        ----------
        eeg : array-like, shape (n_channels, n_samples)
            EEG signal.
        sfreq : float
            EEG sampling frequency in Hz.
        onsets : array-like of float, shape (n_volumes,)
            Volume onsets in seconds from the first EEG sample.
        volumes : array-like, shape (n_volumes, D, H, W)
            BOLD volumes.
        affine : array-like, shape (4, 4)
            Voxel-to-world affine.
        tr : float
            Repetition time in seconds.
        params : FeatureParams, optional
        subject, label, session, task, run : str, optional
            Identity of the run (``label`` defaults to ``"sub-<subject>"``).

        Returns
        -------
        run_features : RunFeatures
        """
        params = FeatureParams() if params is None else params
        volumes = np.asarray(volumes, dtype=np.float32)
        onsets = np.asarray(onsets, dtype=np.float64)
        if volumes.ndim != 4 or volumes.shape[0] != onsets.size:
            raise ValueError(
                f"volumes must be (n_volumes, D, H, W) with n_volumes = len(onsets) = "
                f"{onsets.size}; got shape {volumes.shape}"
            )
        grid = make_window_grid(onsets, sfreq, tr, np.shape(eeg)[-1], params)
        spectra = compute_window_spectra(
            eeg, sfreq, grid.starts, grid.window_length, params
        )
        return cls(
            label=label or f"sub-{subject}",
            subject=subject,
            session=session,
            task=task,
            run=run,
            tr=float(tr),
            sfreq=float(sfreq),
            onsets=onsets,
            grid=grid,
            spectra=spectra,
            volumes=volumes,
            affine=np.asarray(affine, dtype=np.float64),
        )


class PairedDataset:
    """(context spectra, BOLD volume) pairs of one or more runs, lazily indexed.

    Parameters
    ----------
    X : array-like, shape (n_pairs, n_context, C, F)
        Lazy contexts (:class:`ConcatPairs` of :class:`ContextPairs`).
    y : array-like, shape (n_pairs, D, H, W)
        Lazy targets (:class:`ConcatPairs` of :class:`VolumeTargets`), scaled per
        ``bold_scaling`` when indexed.
    groups : np.ndarray of str, shape (n_pairs,)
        Participant label (without ``sub-``) of each pair, for ``LeaveOneGroupOut``.
    provenance : pandas.DataFrame, n_pairs rows
        Columns ``subject, session, task, run, run_label, volume_index, onset``
        (target volume onset, seconds from the first EEG sample) and
        ``context_start, context_end`` (EEG seconds covered by the context).
    runs : list of RunFeatures
        The runs that contribute pairs, in order.
    affine : np.ndarray, shape (4, 4)
        Affine of the output grid (first run's; every run's is in ``runs``).
    tr : float
        Repetition time in seconds (first run's).
    params : FeatureParams
    bold_scaling : {None, "run", "volume"}
    run_table : pandas.DataFrame, optional
        One row per run: ``run_label, subject, tr, sfreq, n_volumes, n_windows,
        first_window, n_pairs, n_missing_start, n_missing_end, onset_source, marker``
        (``n_missing_*``: volumes without a pair because the EEG starts too late or
        ends too early). Built by :meth:`from_runs`.

    Notes
    -----
    The paper writes the input as ``C x T x F`` (electrodes, time windows,
    frequencies). ``X`` follows the official code instead: axis 1 is T (the
    ``n_context`` TR windows, oldest first, which the model uses as convolution
    channels), axis 2 is C (electrodes) and axis 3 is F (bins at ``k / TR`` Hz, see
    :attr:`frequencies`).
    """

    def __init__(
        self,
        X,
        y,
        groups,
        provenance,
        runs,
        affine,
        tr,
        params,
        bold_scaling=None,
        run_table=None,
    ):
        n = len(X)
        if len(y) != n or len(groups) != n or len(provenance) != n:
            raise ValueError(
                f"X, y, groups and provenance must have the same length; got "
                f"{n}, {len(y)}, {len(groups)}, {len(provenance)}"
            )
        self.X = X
        self.y = y
        self.groups = np.asarray(groups)
        self.provenance = provenance
        self.runs = list(runs)
        self.affine = np.asarray(affine, dtype=np.float64)
        self.tr = float(tr)
        self.params = params
        self.bold_scaling = bold_scaling
        self.run_table = run_table

    @classmethod
    def from_runs(cls, runs, params=None, bold_scaling=None):
        """Pair the volumes of each run with their preceding EEG context.

        Parameters
        ----------
        runs : sequence of RunFeatures
        params : FeatureParams, optional
            Must be the parameters the spectra were computed with.
        bold_scaling : {None, "run", "volume"}, default=None
            Scaling of ``y`` (see :class:`VolumeTargets`).

        Returns
        -------
        dataset : PairedDataset

        Raises
        ------
        AlignmentError
            When a run has no complete (context, volume) pair.
        DataError
            When runs differ in context length, channels, bins or volume shape.
        """
        params = FeatureParams() if params is None else params
        if bold_scaling not in BOLD_SCALINGS:
            raise ValueError(
                f"bold_scaling must be one of {BOLD_SCALINGS}, got {bold_scaling!r}"
            )
        runs = list(runs)
        if not runs:
            raise NoMatchingDataError("no runs to pair: the run list is empty")
        xs, ys, frames, table = [], [], [], []
        ref = None
        for rf in runs:
            n_ctx = params.n_context_for(rf.tr)
            targets, last, missing = rf.grid.pairs(
                n_ctx, params.discard_volumes, params.use_pre_scan_eeg
            )
            lo = rf.grid.first_window
            hi = lo + rf.grid.n_windows - 1
            if missing["end"]:
                logger.warning(
                    "%s: the EEG ends before the context of the last %d volume(s); "
                    "they get no pair",
                    rf.label,
                    missing["end"],
                )
            if missing["start"]:
                logger.info(
                    "%s: %d volume(s) lack EEG context at the start of the run",
                    rf.label,
                    missing["start"],
                )
            if targets.size == 0:
                raise AlignmentError(
                    f"{rf.label}: no (context, volume) pair: {rf.n_volumes} volumes, "
                    f"EEG windows for volumes {lo}..{hi}, {n_ctx} context windows "
                    f"needed after discarding {params.discard_volumes} volumes"
                )
            sig = (n_ctx, rf.spectra.shape[1:], rf.volumes.shape[1:])
            if ref is None:
                ref = (rf.label, sig)
            elif sig != ref[1]:
                raise DataError(
                    f"{rf.label}: (n_context, (C, F), (D, H, W)) = {sig} differs from "
                    f"{ref[0]}'s {ref[1]}; use the same channels, TR and target_shape"
                )
            table.append(
                {
                    "run_label": rf.label,
                    "subject": rf.subject,
                    "tr": rf.tr,
                    "sfreq": rf.sfreq,
                    "n_volumes": rf.n_volumes,
                    "n_windows": rf.grid.n_windows,
                    "first_window": rf.grid.first_window,
                    "n_pairs": int(targets.size),
                    "n_missing_start": missing["start"],
                    "n_missing_end": missing["end"],
                    "onset_source": rf.onset_source,
                    "marker": rf.marker,
                }
            )
            xs.append(ContextPairs(rf.spectra, last, n_ctx))
            ys.append(VolumeTargets(rf.volumes, targets, bold_scaling))
            starts = rf.grid.starts
            frames.append(
                pd.DataFrame(
                    {
                        "subject": rf.subject,
                        "session": rf.session,
                        "task": rf.task,
                        "run": rf.run,
                        "run_label": rf.label,
                        "volume_index": targets,
                        "onset": rf.onsets[targets],
                        "context_start": starts[last - n_ctx + 1] / rf.sfreq,
                        "context_end": (starts[last] + rf.grid.window_length)
                        / rf.sfreq,
                    },
                    columns=_PROVENANCE_COLUMNS,
                )
            )
            logger.info(
                "%s: %d pairs (%d volumes)", rf.label, targets.size, rf.n_volumes
            )
        first = runs[0]
        if any(abs(rf.tr - first.tr) > 1e-6 for rf in runs):
            logger.warning(
                "runs have different TRs (%s): frequency bin k is at k/TR Hz, so bins "
                "differ in Hz between runs",
                sorted({rf.tr for rf in runs}),
            )
        provenance = pd.concat(frames, ignore_index=True)
        return cls(
            ConcatPairs(xs),
            ConcatPairs(ys),
            provenance["subject"].to_numpy(dtype=str),
            provenance,
            runs,
            first.affine,
            first.tr,
            params,
            bold_scaling,
            pd.DataFrame(table),
        )

    def __len__(self):
        return len(self.X)

    @property
    def frequencies(self):
        """Frequency in Hz of each bin of ``X``'s last axis, (F,), for the first run."""
        rf = self.runs[0]
        return spectrum_frequencies(rf.grid.window_length, rf.sfreq, self.params)

    @property
    def n_pairs(self):
        """Number of pairs."""
        return len(self.X)

    def subset(self, mask_or_indices):
        """Lazy subset of the pairs (order of ``mask_or_indices`` kept).

        Parameters
        ----------
        mask_or_indices : array-like of bool, shape (n_pairs,), or of int
            Pairs to keep.

        Returns
        -------
        dataset : PairedDataset
            Same runs (those still contributing pairs), params, affine and scaling; the
            per-run scaling range of ``bold_scaling="run"`` is kept.
        """
        idx = np.asarray(mask_or_indices)
        if idx.dtype == bool:
            if idx.shape != (len(self),):
                raise ValueError(f"mask has shape {idx.shape}, expected ({len(self)},)")
            idx = np.flatnonzero(idx)
        idx = idx.astype(np.int64).ravel()
        prov = self.provenance.iloc[idx].reset_index(drop=True)
        labels = set(prov["run_label"])
        table = None
        if self.run_table is not None:
            table = self.run_table[self.run_table["run_label"].isin(labels)].copy()
            counts = prov["run_label"].value_counts()
            table["n_pairs"] = table["run_label"].map(counts).astype(int).to_numpy()
            table = table.reset_index(drop=True)
        return PairedDataset(
            self.X.take(idx),
            self.y.take(idx),
            self.groups[idx],
            prov,
            [r for r in self.runs if r.label in labels],
            self.affine,
            self.tr,
            self.params,
            self.bold_scaling,
            table,
        )

    def __repr__(self):
        return (
            f"<PairedDataset {len(self)} pairs from {len(self.runs)} run(s) of "
            f"{len(np.unique(self.groups))} participant(s); X {tuple(self.X.shape)}, "
            f"y {tuple(self.y.shape)}, bold_scaling={self.bold_scaling!r}>"
        )


# ---------------------------------------------------------------------------------
# building from BIDS


def _file_identity(path):
    path = Path(path)
    st = path.stat()
    return [str(path.resolve()), st.st_size, st.st_mtime_ns]


def _eeg_files(eeg_path):
    """The EEG file and its companions (BrainVision .vmrk/.eeg, EEGLAB .fdt)."""
    eeg_path = Path(eeg_path)
    files = [eeg_path]
    for ext in _EEG_COMPANIONS:
        other = eeg_path.with_suffix(ext)
        if other != eeg_path and other.is_file():
            files.append(other)
    return files


def _cache_key(run, params, marker, target_shape, resample, eeg_correction="detect"):
    material = {
        "version": CACHE_VERSION,
        "eeg": [_file_identity(p) for p in _eeg_files(run.eeg_path)],
        "bold": _file_identity(run.bold_path),
        "tr": float(run.tr),
        "params": params.to_dict(),
        "marker": marker,
        "target_shape": None
        if target_shape is None
        else [int(x) for x in target_shape],
        "resample": resample,
    }
    if eeg_correction not in ("detect", "none"):  # same features either way
        material["eeg_correction"] = eeg_correction
    text = json.dumps(material, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _save_npy(path, array):
    with atomic_path(path, suffix=".npy") as tmp:
        np.save(tmp, np.ascontiguousarray(array))


def _load_cached(cache_dir, key, run):
    meta_path = cache_dir / "meta.json"
    if not meta_path.is_file():
        return None
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("key") != key:
            return None
        spectra = np.load(cache_dir / "spectra.npy", mmap_mode="r")
        volumes = np.load(cache_dir / "volumes.npy", mmap_mode="r")
        g = meta["grid"]
        grid = WindowGrid(
            np.asarray(g["starts"], dtype=np.int64),
            int(g["first_window"]),
            int(g["window_length"]),
            float(g["sfreq"]),
            float(g["tr"]),
            int(g["n_volumes"]),
            float(g["lag"]),
        )
    except (OSError, ValueError, KeyError) as exc:
        logger.warning(
            "%s: ignoring unreadable feature cache %s (%s)", run.label, cache_dir, exc
        )
        return None
    logger.info("%s: features loaded from cache %s", run.label, cache_dir)
    return RunFeatures(
        label=run.label,
        subject=run.subject,
        session=run.session,
        task=run.task,
        run=run.run,
        tr=grid.tr,
        sfreq=grid.sfreq,
        onsets=np.asarray(meta["onsets"], dtype=np.float64),
        grid=grid,
        spectra=spectra,
        volumes=volumes,
        affine=np.asarray(meta["affine"], dtype=np.float64),
        onset_source=meta["onset_source"],
        marker=meta["marker"],
        paired_run=run,
        cache_dir=cache_dir,
    )


def _eeg_array(raw):
    """(n_channels, n_samples) data of a preloaded mne Raw without copying it."""
    data = getattr(raw, "_data", None)  # preloaded data; get_data() would copy it
    if (
        isinstance(data, np.ndarray)
        and data.ndim == 2
        and data.shape[0] == len(raw.ch_names)
    ):
        return data
    return raw.get_data()


def _n_slices(run):
    """Acquisitions per TR from the BOLD sidecar's SliceTiming, or None."""
    timing = (getattr(run, "bold_metadata", None) or {}).get("SliceTiming")
    try:
        return len({round(float(t), 6) for t in timing}) or None
    except (TypeError, ValueError):
        return None


def _compute_run(
    run, params, marker, target_shape, resample, eeg_correction="detect", work_dir=None
):
    from .. import bids
    from ..artifacts import check_in_scanner_eeg
    from ..artifacts.derivatives import cached_correction

    raw = bids.load_eeg(run.eeg_path)
    bold = bids.load_bold(run.bold_path, tr=run.tr)
    n_volumes = int(bold.shape[0])  # from the header; the data is read below
    found = bids.find_volume_onsets(
        raw, tr=run.tr, marker=marker, n_volumes=n_volumes, run_label=run.label
    )
    n_slices = _n_slices(run)

    def check(raw=raw):
        return check_in_scanner_eeg(
            raw,
            tr=run.tr,
            correction=eeg_correction,
            onsets=found.onsets,
            n_slices=n_slices,
            run_label=run.label,
        )

    if work_dir is not None and eeg_correction in ("gradient", "gradient+pulse"):
        checked = cached_correction(
            run.eeg_path,
            Path(work_dir) / "eeg_corrected",
            eeg_correction,
            check,
            options={"n_slices": n_slices, "tr": float(run.tr)},
            raw=raw,
            tr=float(run.tr),
            onsets=found.onsets,
        )
    else:
        checked = check()
    if checked is not raw:  # corrected: new sampling rate, same markers
        raw = checked
        found = bids.find_volume_onsets(
            raw, tr=run.tr, marker=marker, n_volumes=n_volumes, run_label=run.label
        )
    onsets = np.asarray(found.onsets, dtype=np.float64)
    if onsets.size < n_volumes:
        raise AlignmentError(
            f"{run.eeg_path}: {onsets.size} volume onsets found for {n_volumes} "
            f"BOLD volumes in {run.bold_path.name}"
        )
    onsets = onsets[:n_volumes]
    sfreq = float(raw.info["sfreq"])
    data = _eeg_array(raw)
    grid = make_window_grid(onsets, sfreq, run.tr, data.shape[-1], params)
    spectra = compute_window_spectra(
        data, sfreq, grid.starts, grid.window_length, params
    )
    del raw, data
    volumes = np.asarray(bold.volumes, dtype=np.float32)
    affine = np.asarray(bold.affine, dtype=np.float64)
    if target_shape is not None and tuple(target_shape) != volumes.shape[1:]:
        volumes, affine = resample_volumes(volumes, affine, target_shape, resample)
    return RunFeatures(
        label=run.label,
        subject=run.subject,
        session=run.session,
        task=run.task,
        run=run.run,
        tr=float(run.tr),
        sfreq=sfreq,
        onsets=onsets,
        grid=grid,
        spectra=spectra,
        volumes=volumes,
        affine=affine,
        onset_source=getattr(found, "source", "markers"),
        marker=getattr(found, "marker", None),
        paired_run=run,
    )


def _save_cache(rf, cache_dir, key):
    _save_npy(cache_dir / "spectra.npy", rf.spectra)
    _save_npy(cache_dir / "volumes.npy", rf.volumes)
    g = rf.grid
    write_json_atomic(
        cache_dir / "meta.json",
        {  # written last: marks the cache complete
            "key": key,
            "label": rf.label,
            "grid": {
                "starts": g.starts.tolist(),
                "first_window": g.first_window,
                "window_length": g.window_length,
                "sfreq": g.sfreq,
                "tr": g.tr,
                "n_volumes": g.n_volumes,
                "lag": g.lag,
            },
            "onsets": rf.onsets.tolist(),
            "affine": rf.affine.tolist(),
            "onset_source": rf.onset_source,
            "marker": rf.marker,
        },
    )
    rf.spectra = np.load(cache_dir / "spectra.npy", mmap_mode="r")
    rf.volumes = np.load(cache_dir / "volumes.npy", mmap_mode="r")
    rf.cache_dir = cache_dir


def load_run_features(
    run,
    params=None,
    *,
    marker="auto",
    target_shape=None,
    resample=None,
    work_dir=None,
    eeg_correction="detect",
):
    """Features of one paired run, from the work-dir cache when it is up to date.

    Parameters
    ----------
    run : PairedRun
        From :func:`eeg2fmri.bids.find_paired_runs`.
    params : FeatureParams, optional
    marker : str, default="auto"
        Volume marker, passed to :func:`eeg2fmri.bids.find_volume_onsets`.
    target_shape : tuple of int, optional
        ``(D, H, W)`` of the output grid.
    resample : {"dct", "linear"}, optional
        How to reach ``target_shape``.
    work_dir : str or Path, optional
        Cache folder; ``<work_dir>/features/<run label>_<key>/`` holds
        ``spectra.npy``, ``volumes.npy`` and ``meta.json``. The key hashes the input
        files' paths, sizes and modification times, the TR, ``params``, ``marker``
        and the target grid (and ``eeg_correction`` when it corrects).
    eeg_correction : {"detect", "none", "gradient", "gradient+pulse"}
        What to do with EEG recorded in the scanner (see
        :func:`eeg2fmri.artifacts.check_in_scanner_eeg`): ``"detect"`` (default)
        refuses EEG that carries the gradient artifact with a
        :class:`~eeg2fmri.exceptions.DataError`; ``"none"`` trusts the data;
        the others correct it first (slice count from the BOLD ``SliceTiming``);
        with ``work_dir``, the corrected EEG is written (and reused) as BIDS
        derivatives in ``<work_dir>/eeg_corrected``
        (:mod:`eeg2fmri.artifacts.derivatives`).

    Returns
    -------
    run_features : RunFeatures
    """
    params = FeatureParams() if params is None else params
    if work_dir is None:
        return _compute_run(run, params, marker, target_shape, resample, eeg_correction)
    key = _cache_key(run, params, marker, target_shape, resample, eeg_correction)
    cache_dir = Path(work_dir) / "features" / f"{run.label}_{key[:16]}"
    cached = _load_cached(cache_dir, key, run)
    if cached is not None:
        return cached
    rf = _compute_run(
        run, params, marker, target_shape, resample, eeg_correction, work_dir
    )
    _save_cache(rf, cache_dir, key)
    logger.info("%s: features cached in %s", run.label, cache_dir)
    return rf


def _resolve_runs(source, find_kwargs):
    from ..bids.interop import is_bids_layout, is_bids_path

    if isinstance(source, str | os.PathLike) or is_bids_layout(source) or is_bids_path(
        source
    ):
        from .. import bids

        return list(bids.find_paired_runs(source, **find_kwargs).runs)
    if find_kwargs:
        raise TypeError(
            f"build_dataset: {sorted(find_kwargs)} only apply when source is a "
            f"BIDS path, got a {type(source).__name__}"
        )
    if hasattr(source, "runs") and not isinstance(source, list | tuple):
        return list(source.runs)
    if isinstance(source, list | tuple):
        return list(source)
    raise TypeError(
        "build_dataset: source must be a BIDS path, a pybids BIDSLayout, an mne-bids "
        f"BIDSPath, a PairingReport or a list of PairedRun, got {type(source).__name__}"
    )


def build_dataset(
    source,
    params=None,
    *,
    marker="auto",
    target_shape=None,
    resample=None,
    bold_scaling=None,
    work_dir=None,
    eeg_correction="detect",
    **find_kwargs,
):
    """Gather the (EEG context, BOLD volume) pairs of a dataset.

    Parameters
    ----------
    source : str, Path, bids.BIDSLayout, mne_bids.BIDSPath, PairingReport or list of \
PairedRun
        A BIDS root, a pybids layout or an mne-bids path (runs found with
        :func:`eeg2fmri.bids.find_paired_runs` and ``find_kwargs``), or runs found
        already.
    params : FeatureParams, optional
        Preprocessing; defaults to the official choices.
    marker : str, default="auto"
        Volume trigger name (see :func:`eeg2fmri.bids.find_volume_onsets`).
    target_shape : tuple of int, optional
        ``(D, H, W)`` to resample every run's BOLD to (same field of view).
    resample : {"dct", "linear"}, optional
        Method for ``target_shape``; defaults to ``"dct"`` (the paper's CN-EPFL choice).
    bold_scaling : {None, "run", "volume"}, default=None
        Scaling of ``y`` applied on access: None = raw float32 values, "volume" =
        per-volume min-max to [0, 1] (official), "run" = min-max over the run.
    work_dir : str or Path, optional
        Cache folder for per-run spectra and volumes (memory-mapped on reuse).
    eeg_correction : {"detect", "none", "gradient", "gradient+pulse"}
        In-scanner EEG: refuse raw data (default), trust it, or correct it (see
        :func:`load_run_features`).
    **find_kwargs
        ``participant_label``, ``session_label``, ``task``, ``eeg_derivatives``,
        ``bold_derivatives``, ``bids_filters`` of ``find_paired_runs``.

    Returns
    -------
    dataset : PairedDataset
        ``X`` (n_pairs, n_context, C, F), ``y`` (n_pairs, D, H, W), ``groups``,
        ``provenance``; per run ``n_volumes - discard_volumes - n_context`` pairs with
        the default parameters.

    Raises
    ------
    NoMatchingDataError
        No paired run.
    AlignmentError
        A run has no complete pair (EEG too short, onsets missing).
    DataError
        With ``eeg_correction="detect"``: a run's EEG carries the MR gradient
        artifact (the message names the run and the fix).
    """
    params = FeatureParams() if params is None else params
    if not isinstance(params, FeatureParams):
        raise TypeError(f"params must be a FeatureParams, got {type(params).__name__}")
    if bold_scaling not in BOLD_SCALINGS:
        raise ValueError(
            f"bold_scaling must be one of {BOLD_SCALINGS}, got {bold_scaling!r}"
        )
    if resample is not None and resample not in RESAMPLE_METHODS:
        raise ValueError(
            f"resample must be one of {RESAMPLE_METHODS}, got {resample!r}"
        )
    if target_shape is not None:
        target_shape = tuple(int(x) for x in target_shape)
        if len(target_shape) != 3:
            raise ValueError(f"target_shape must be (D, H, W), got {target_shape!r}")
        resample = resample or "dct"
    elif resample is not None:
        raise ValueError(f"resample={resample!r} needs a target_shape (D, H, W)")
    runs = _resolve_runs(source, find_kwargs)
    if not runs:
        raise NoMatchingDataError(f"build_dataset: no paired EEG/BOLD run in {source}")
    features = [
        load_run_features(
            run,
            params,
            marker=marker,
            target_shape=target_shape,
            resample=resample,
            work_dir=work_dir,
            eeg_correction=eeg_correction,
        )
        for run in runs
    ]
    return PairedDataset.from_runs(features, params, bold_scaling)
