"""Paired EEG -> BOLD datasets: :func:`build_dataset` and :class:`PairedDataset`.

The runs' features (:mod:`eeg2fmri.features.runs`) are paired lazily: each target
volume with the TR-window spectra of its preceding EEG context
(:mod:`eeg2fmri.features.pairs`), the channels of every run put in the first run's
order by name (:mod:`eeg2fmri.features.alignment`). ``X`` and ``y`` carry what they
are (``X.eeg_spec``: channels, sampling rate, frequencies; ``y.output_space``: the
grid), so that estimators fitted on them can be applied to other recordings.
"""

import os

import numpy as np
import pandas as pd

from .._utils.logging import logger
from ..exceptions import AlignmentError, DataError, NoMatchingDataError
from .alignment import align_channels, output_space_of
from .pairs import BOLD_SCALINGS, ConcatPairs, ContextPairs, VolumeTargets
from .params import FeatureParams
from .resample import RESAMPLE_METHODS
from .runs import RunFeatures, load_run_features
from .spectra import spectrum_frequencies

__all__ = ["PairedDataset", "build_dataset", "RunFeatures", "load_run_features"]

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

    Attributes
    ----------
    eeg_spec : EEGSpec or None
        Channels (names, types, positions), sampling rate and frequency bins of
        ``X`` (``X.eeg_spec`` too); None when the runs' channel names are unknown.
    output_space : OutputSpace or None
        The grid of ``y`` (``y.output_space`` too): shape, affine, BIDS space label.
        Estimators fitted on ``X`` and ``y`` record both, which makes them
        applicable to EEG recorded without fMRI (:func:`eeg2fmri.synthesize_image`).

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

    @property
    def eeg_spec(self):
        """What the channel and frequency axes of ``X`` are (EEGSpec or None)."""
        return getattr(self.X, "eeg_spec", None)

    @property
    def output_space(self):
        """The grid of ``y`` (OutputSpace or None)."""
        return getattr(self.y, "output_space", None)

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
        channel_order = align_channels(runs)
        for rf, channels in zip(runs, channel_order, strict=True):
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
            n_channels = rf.spectra.shape[1] if channels is None else len(channels)
            sig = (n_ctx, (n_channels, rf.spectra.shape[2]), rf.volumes.shape[1:])
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
            xs.append(ContextPairs(rf.spectra, last, n_ctx, channels))
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
            ConcatPairs(xs, eeg_spec=first.eeg_spec(params), feature_params=params),
            ConcatPairs(ys, output_space=output_space_of(runs)),
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
