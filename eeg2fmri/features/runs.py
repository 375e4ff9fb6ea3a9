"""One run's features: :class:`RunFeatures`, from BIDS files or a work-dir cache.

For each paired run: load the EEG, find the volume onsets, correct in-scanner
artifacts when asked, compute the TR-window spectra
(:mod:`eeg2fmri.features.spectra`), load the BOLD volumes (optionally resampled), and
keep both as one array per run, with the channels' names, types and positions (memory-
mapped ``.npy`` files and a ``meta.json`` when a ``work_dir`` is given).
"""

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._utils.io import atomic_path, write_json_atomic
from .._utils.logging import logger
from ..bids.files import eeg_recording_files, file_identity
from ..exceptions import AlignmentError
from ..spaces import space_label_of
from .params import FeatureParams
from .resample import resample_volumes
from .spectra import (
    WindowGrid,
    compute_window_spectra,
    make_window_grid,
    spectrum_frequencies,
)

__all__ = [
    "RunFeatures",
    "load_run_features",
    "checked_eeg",
    "channel_info",
    "CACHE_VERSION",
]

#: Bumped whenever the cached arrays would change for the same inputs and parameters
#: (2: the channels' names, types and positions are cached).
CACHE_VERSION = 2


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
    ch_names : tuple of str
        Channel names in the order of ``spectra``'s channel axis (empty when
        unknown: channels then count by position only).
    ch_types : tuple of str
        MNE channel type of each channel.
    ch_positions : np.ndarray of shape (C, 3) or None
        Electrode positions of the recording (head frame, m; NaN when unknown).
    line_freq : float or None
        Power-line frequency of the recording (``PowerLineFrequency``).
    space : str or None
        ``space-`` entity of the BOLD file (e.g. ``MNI152NLin2009cAsym`` for
        fMRIPrep outputs), None for raw (native) BOLD.
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
    ch_names: tuple = ()
    ch_types: tuple = ()
    ch_positions: np.ndarray | None = field(default=None, repr=False)
    line_freq: float | None = None
    space: str | None = None

    def eeg_spec(self, params):
        """The :class:`~eeg2fmri.spaces.EEGSpec` of this run's spectra, or None.

        Parameters
        ----------
        params : FeatureParams
            The parameters the spectra were computed with.

        Returns
        -------
        spec : EEGSpec or None
            None when the channel names are unknown.
        """
        from ..spaces import EEGSpec

        if not self.ch_names:
            return None
        freqs = spectrum_frequencies(self.grid.window_length, self.sfreq, params)
        types = self.ch_types or ("eeg",) * len(self.ch_names)
        return EEGSpec(self.ch_names, types, self.sfreq, self.tr, freqs,
                       self.line_freq, self.ch_positions)

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
        ch_names=None,
        ch_types=None,
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
        ch_names, ch_types : sequence of str, optional
            Channel names (and MNE types, default ``"eeg"``) of the rows of ``eeg``;
            without names the channels count by position only.

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
        n_channels = np.shape(eeg)[0]
        names = tuple(ch_names or ())
        if names and len(names) != n_channels:
            raise ValueError(
                f"ch_names: expected {n_channels} names (one per row of eeg), got "
                f"{len(names)}"
            )
        types = tuple(ch_types or ()) or (("eeg",) * len(names))
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
            ch_names=names,
            ch_types=types if names else (),
        )


def _cache_key(run, params, marker, target_shape, resample, eeg_correction="detect"):
    material = {
        "version": CACHE_VERSION,
        "eeg": [file_identity(p) for p in eeg_recording_files(run.eeg_path)],
        "bold": file_identity(run.bold_path),
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
        **_run_fields(run),
        tr=grid.tr,
        sfreq=grid.sfreq,
        onsets=np.asarray(meta["onsets"], dtype=np.float64),
        grid=grid,
        spectra=spectra,
        volumes=volumes,
        affine=np.asarray(meta["affine"], dtype=np.float64),
        onset_source=meta["onset_source"],
        marker=meta["marker"],
        cache_dir=cache_dir,
        **_channel_fields(meta),
    )


def _run_fields(run):
    """The :class:`RunFeatures` fields that name a paired run (its entities, space)."""
    return dict(
        label=run.label,
        subject=run.subject,
        session=run.session,
        task=run.task,
        run=run.run,
        paired_run=run,
        space=space_label_of(run.bold_path),
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


def checked_eeg(run, raw, *, tr, eeg_correction="detect", marker="auto",
                n_volumes=None, work_dir=None):
    """A run's EEG made safe for features: in-scanner artifacts detected or corrected.

    Parameters
    ----------
    run : PairedRun or EEGRun
        ``eeg_path`` (the cache of corrected EEG is keyed by it), ``label``,
        ``bold_metadata`` (``SliceTiming``: the slice count of the correction).
    raw : mne.io.BaseRaw
        The run's EEG (:func:`eeg2fmri.bids.load_eeg`).
    tr : float
        Repetition time (s).
    eeg_correction : {"detect", "none", "gradient", "gradient+pulse"}
        See :func:`eeg2fmri.artifacts.check_in_scanner_eeg`; with ``work_dir`` the
        corrected EEG is written (and reused) as BIDS derivatives in
        ``<work_dir>/eeg_corrected``.
    marker : str, default="auto"
        Volume trigger (:func:`eeg2fmri.bids.find_volume_onsets`).
    n_volumes : int, optional
        Number of BOLD volumes (checked against the triggers).
    work_dir : str or Path, optional

    Returns
    -------
    raw : mne.io.BaseRaw
        ``raw`` itself, or its corrected copy (another sampling rate, same markers).
    found : VolumeOnsets
        The volume onsets of the returned EEG.
    """
    from .. import bids
    from ..artifacts import check_in_scanner_eeg
    from ..artifacts.derivatives import cached_correction

    has_bold = getattr(run, "bold_path", None) is not None
    fallback = True if has_bold else "quiet"
    found = bids.find_volume_onsets(
        raw, tr=tr, marker=marker, n_volumes=n_volumes, run_label=run.label,
        fallback=fallback,
    )
    n_slices = _n_slices(run)

    def check(raw=raw):
        return check_in_scanner_eeg(
            raw,
            tr=tr,
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
            options={"n_slices": n_slices, "tr": float(tr)},
            raw=raw,
            tr=float(tr),
            onsets=found.onsets,
        )
    else:
        checked = check()
    if checked is not raw:  # corrected: new sampling rate, same markers
        raw = checked
        found = bids.find_volume_onsets(
            raw, tr=tr, marker=marker, n_volumes=n_volumes, run_label=run.label,
            fallback=fallback,
        )
    return raw, found


def _compute_run(
    run, params, marker, target_shape, resample, eeg_correction="detect", work_dir=None
):
    from .. import bids

    raw = bids.load_eeg(run.eeg_path)
    bold = bids.load_bold(run.bold_path, tr=run.tr)
    n_volumes = int(bold.shape[0])  # from the header; the data is read below
    raw, found = checked_eeg(
        run, raw, tr=run.tr, eeg_correction=eeg_correction, marker=marker,
        n_volumes=n_volumes, work_dir=work_dir,
    )
    onsets = np.asarray(found.onsets, dtype=np.float64)
    if onsets.size < n_volumes:
        raise AlignmentError(
            f"{run.eeg_path}: {onsets.size} volume onsets found for {n_volumes} "
            f"BOLD volumes in {run.bold_path.name}"
        )
    onsets = onsets[:n_volumes]
    sfreq = float(raw.info["sfreq"])
    raw_info = raw.info
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
        **_run_fields(run),
        tr=float(run.tr),
        sfreq=sfreq,
        onsets=onsets,
        grid=grid,
        spectra=spectra,
        volumes=volumes,
        affine=affine,
        onset_source=getattr(found, "source", "markers"),
        marker=getattr(found, "marker", None),
        **channel_info(raw_info, run),
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
            "ch_names": list(rf.ch_names),
            "ch_types": list(rf.ch_types),
            "ch_positions": None
            if rf.ch_positions is None
            else np.where(np.isfinite(rf.ch_positions), rf.ch_positions, -1e9)
            .tolist(),
            "line_freq": rf.line_freq,
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


def channel_info(info, run=None):
    """Channel fields of :class:`RunFeatures` from an :class:`mne.Info` (dict).

    Names, MNE types, positions (NaN rows where the recording has none) and the
    power-line frequency (the run's ``PowerLineFrequency`` sidecar entry first).
    """
    from mne import channel_type

    names = tuple(info["ch_names"])
    types = tuple(channel_type(info, i) for i in range(len(names)))
    pos = np.array([ch["loc"][:3] for ch in info["chs"]], dtype=np.float64)
    unknown = ~np.isfinite(pos).all(axis=1) | np.all(pos == 0, axis=1)
    pos[unknown] = np.nan
    line = (getattr(run, "eeg_metadata", None) or {}).get("PowerLineFrequency")
    try:
        line = float(line) if line not in (None, "n/a") else info.get("line_freq")
    except (TypeError, ValueError):
        line = info.get("line_freq")
    return {
        "ch_names": names,
        "ch_types": types,
        "ch_positions": None if unknown.all() else pos,
        "line_freq": None if line is None else float(line),
    }


def _channel_fields(meta):
    pos = meta.get("ch_positions")
    if pos is not None:
        pos = np.asarray(pos, dtype=np.float64)
        pos[pos <= -1e8] = np.nan
    return {
        "ch_names": tuple(meta.get("ch_names") or ()),
        "ch_types": tuple(meta.get("ch_types") or ()),
        "ch_positions": pos,
        "line_freq": meta.get("line_freq"),
    }
