"""Find the runs of a BIDS dataset that have both EEG and BOLD.

BIDS has no notion of a "simultaneous EEG-fMRI run": the only link between
``sub-01/eeg/sub-01_task-rest_eeg.vhdr`` and
``sub-01/func/sub-01_task-rest_bold.nii.gz`` is that they share the entities subject,
session, task, acquisition and run. This module pairs files on exactly those five
entities (``run-1`` and ``run-01`` are the same run) and reports every run that has only
one of the two instead of failing on it.

Why our own scanner instead of :class:`bids.BIDSLayout`
--------------------------------------------------------
pybids is the reference indexer, but for this job a small parser is faster and more
robust:

- ``BIDSLayout`` indexes *every* file of the dataset into SQLite (anat, dwi, ...): 0.3 s
  on a toy dataset, minutes on a large one, for a question that needs two datatypes.
- ``validate=True`` drops files that are not raw BIDS, and derivative folders need a
  ``dataset_description.json``; the corrected EEG of real datasets (bids-examples
  ``eeg_rest_fmri/derivatives``) often has none, and junk files (``._*.json`` from
  macOS) either break the index or get indexed as sidecars.
- Pairing, sidecar inheritance and the checks we need (subject folder vs ``sub-``
  entity, ambiguous matches) are a few dozen lines; our messages can name the file and
  the fix.

The parser follows the BIDS inheritance principle: for a data file, the folders from the
dataset root down to the file's own folder are searched for sidecars with the same
suffix whose entities are a subset of the file's; deeper and more specific ones win, key
by key (:class:`~eeg2fmri.bids._entities.SidecarFinder`). Dotfiles and dot-folders are
ignored everywhere; in the raw dataset only ``sub-*`` folders are scanned, so
``derivatives/``, ``sourcedata/`` and ``code/`` never contribute files, and EEG must sit
in an ``eeg/`` folder, BOLD in ``func/``.
"""

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._utils.logging import logger
from ..exceptions import (
    DataError,
    Eeg2fmriError,
    InvalidDatasetError,
    MissingInputError,
    NoMatchingDataError,
)
from ._entities import SidecarFinder, read_tsv
from ._scanning import (
    BOLD_EXTENSIONS,
    EEG_EXTENSIONS,
    PAIR_ENTITIES,
    _as_labels,
    _check_known,
    _group,
    _resolve_root,
    _scan,
    _scan_layout,
    _sort_key,
)
from .filters import _matches, _merge_filters, _merge_selection, _normalize_filters
from .interop import bids_path_selection, is_bids_layout, is_bids_path, to_bids_path

__all__ = [
    "find_paired_runs",
    "PairedRun",
    "EEGRun",
    "UnpairedRun",
    "PairingReport",
    "EEG_EXTENSIONS",
    "BOLD_EXTENSIONS",
]


_LONG = {
    "sub": "subject",
    "ses": "session",
    "task": "task",
    "acq": "acquisition",
    "run": "run",
}


def _label(entities, keys=PAIR_ENTITIES):
    return "_".join(f"{k}-{entities[k]}" for k in keys if entities.get(k) is not None)


def _pair_values(run):
    """Short entity name -> value (or None) of a run's pairing entities."""
    values = (run.subject, run.session, run.task, run.acquisition, run.run)
    return dict(zip(PAIR_ENTITIES, values, strict=True))


@dataclass(frozen=True)
class PairedRun:
    """One run recorded with both EEG and BOLD.

    Attributes
    ----------
    subject, session, task, acquisition, run : str or None
        Entities shared by both files (labels without ``sub-`` etc.; ``run`` as written
        in the BOLD file name). None when the entity is absent.
    eeg_path : Path
        EEG data file (``.vhdr``, ``.edf``, ``.bdf`` or ``.set``).
    bold_path : Path
        BOLD NIfTI file.
    bold_metadata : dict
        Merged ``*_bold.json`` sidecars (inheritance applied): ``RepetitionTime``,
        ``SliceTiming``, ...
    eeg_metadata : dict
        Merged ``*_eeg.json`` sidecars of the dataset the EEG comes from.
    """

    subject: str
    session: str | None
    task: str
    acquisition: str | None
    run: str | None
    eeg_path: Path
    bold_path: Path
    bold_metadata: dict = field(default_factory=dict, compare=False, repr=False)
    eeg_metadata: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def entities(self):
        """The pairing entities with pybids long names, absent ones left out (dict)."""
        return {
            _LONG[k]: v for k, v in _pair_values(self).items() if v is not None
        }

    @property
    def label(self):
        """BIDS basename prefix of the run, e.g. ``"sub-01_ses-1_task-rest_run-1"``."""
        return _label(_pair_values(self))

    @property
    def eeg_bids_path(self):
        """The EEG file as an :class:`mne_bids.BIDSPath` (for
        :func:`mne_bids.read_raw_bids`)."""
        return to_bids_path(self.eeg_path)

    @property
    def bold_bids_path(self):
        """The BOLD file as an :class:`mne_bids.BIDSPath`."""
        return to_bids_path(self.bold_path)

    @functools.cached_property
    def tr(self):
        """Repetition time in seconds (float).

        From the merged sidecars' ``RepetitionTime``; when absent, from the NIfTI header
        (see :func:`eeg2fmri.bids.bold.header_tr`). Raises DataError naming the file
        when neither has it.
        """
        from .bold import header_tr, normalize_tr

        value = self.bold_metadata.get("RepetitionTime")
        if value is not None:
            return normalize_tr(
                value, f"RepetitionTime of the sidecars of {self.bold_path}"
            )
        import nibabel as nib

        try:
            header = nib.load(self.bold_path).header
        except Exception as err:
            raise MissingInputError(
                f"cannot read the NIfTI header of {self.bold_path}: {err}"
            ) from None
        tr = header_tr(header, self.bold_path)
        if tr is None:
            raise DataError(
                f"no RepetitionTime for {self.bold_path}: none in its sidecars and the "
                "NIfTI header's pixdim[4] is not set"
            )
        logger.info(
            "%s: no RepetitionTime in the sidecars; using the NIfTI header's TR %.4g s",
            self.label,
            tr,
        )
        return tr

    @property
    def slice_timing(self):
        """``SliceTiming`` from the sidecars as a float array (s), or None."""
        st = self.bold_metadata.get("SliceTiming")
        return None if st is None else np.asarray(st, dtype=float)


@dataclass(frozen=True)
class EEGRun:
    """One EEG run without BOLD (recorded outside the scanner, or its fMRI is absent).

    A model trained on simultaneous EEG-fMRI synthesizes its BOLD
    (:func:`eeg2fmri.synthesize_image`, the BIDS-App with ``--model``); nothing can be
    trained on it.

    Attributes
    ----------
    subject, session, task, acquisition, run : str or None
        Entities of the EEG file (labels without prefixes).
    eeg_path : Path
        EEG data file (``.vhdr``, ``.edf``, ``.bdf`` or ``.set``).
    eeg_metadata : dict
        Merged ``*_eeg.json`` sidecars (inheritance applied): ``SamplingFrequency``,
        ``PowerLineFrequency``...
    """

    subject: str
    session: str | None
    task: str
    acquisition: str | None
    run: str | None
    eeg_path: Path
    eeg_metadata: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def entities(self):
        """The entities with pybids long names, absent ones left out (dict)."""
        return {
            _LONG[k]: v for k, v in _pair_values(self).items() if v is not None
        }

    @property
    def label(self):
        """BIDS basename prefix of the run, e.g. ``"sub-01_task-rest"``."""
        return _label(_pair_values(self))

    @property
    def eeg_bids_path(self):
        """The EEG file as an :class:`mne_bids.BIDSPath`."""
        return to_bids_path(self.eeg_path)


@dataclass(frozen=True)
class UnpairedRun:
    """A run that could not be paired, and why.

    Attributes
    ----------
    subject, session, task, acquisition, run : str or None
        Entities of the run.
    modality : {"eeg", "bold"}
        Which data the run has.
    paths : tuple of Path
        The file(s) found.
    reason : str
        Why it is unpaired (no partner, or several candidate files).
    """

    subject: str
    session: str | None
    task: str | None
    acquisition: str | None
    run: str | None
    modality: str
    paths: tuple
    reason: str

    @property
    def label(self):
        """BIDS basename prefix of the run."""
        return _label(_pair_values(self))


@dataclass
class PairingReport:
    """What :func:`find_paired_runs` found.

    Attributes
    ----------
    runs : list of PairedRun
        Paired runs, sorted by subject, session, task, acquisition, run.
    unpaired : list of UnpairedRun
        EEG without BOLD, BOLD without EEG, and runs with ambiguous files.
    participants : list of str
        Labels (without ``sub-``) with at least one paired run.
    bids_dir, eeg_root, bold_root : Path
        The raw dataset and where EEG and BOLD were read from.
    eeg_only : list of EEGRun
        The EEG runs without BOLD (one EEG file each), sorted like ``runs``.
    """

    runs: list
    unpaired: list
    participants: list
    bids_dir: Path
    eeg_root: Path
    bold_root: Path
    eeg_only: list = field(default_factory=list)

    @property
    def eeg_only_participants(self):
        """Labels (without ``sub-``) with at least one EEG-only run (list of str)."""
        return sorted({r.subject for r in self.eeg_only})

    def __len__(self):
        return len(self.runs)

    def __iter__(self):
        return iter(self.runs)

    def summary(self):
        """One line per run: paired runs, then unpaired ones with their reason (str)."""
        lines = [
            f"{len(self.runs)} paired run(s) for {len(self.participants)} "
            "participant(s)"
        ]
        lines += [
            f"  paired    {r.label}: {r.eeg_path.name} + {r.bold_path.name}"
            for r in self.runs
        ]
        lines += [
            f"  unpaired  {u.label} ({u.modality}): {u.reason}" for u in self.unpaired
        ]
        return "\n".join(lines)


def find_paired_runs(
    bids_dir,
    *,
    participant_label=None,
    session_label=None,
    task=None,
    eeg_derivatives=None,
    bold_derivatives=None,
    bids_filters=None,
    allow_eeg_only=False,
):
    """Find every run that has both EEG and BOLD (and those that have EEG only).

    Parameters
    ----------
    bids_dir : path-like, bids.BIDSLayout or mne_bids.BIDSPath
        Raw BIDS dataset (must contain ``dataset_description.json``). With a pybids
        ``BIDSLayout``, pybids lists the raw EEG and BOLD files and applies
        ``bids_filters`` itself (``BIDSLayout.get``; sidecars still merge through the
        inheritance principle, same result). With an mne-bids ``BIDSPath``, its
        ``root`` is the dataset and its entities select runs (see
        :func:`eeg2fmri.bids.interop.bids_path_selection`): ``BIDSPath(root=r,
        subject="01", task="rest")`` selects what ``participant_label="01",
        task="rest"`` does.
    participant_label : str or list of str, optional
        Participants to keep, with or without ``sub-``. Default: all.
    session_label : str or list of str, optional
        Sessions to keep, with or without ``ses-``. Default: all.
    task : str or list of str, optional
        Tasks to keep. Default: all.
    eeg_derivatives : path-like, optional
        Dataset to take the EEG from instead of ``bids_dir`` (e.g. gradient- and
        pulse-artifact-corrected EEG). A relative path that does not exist is also
        looked up under ``bids_dir/derivatives/``, then ``bids_dir``. It may lack a
        ``dataset_description.json``, and may be ``derivatives/`` itself holding
        ``sub-*`` folders (bids-examples ``eeg_rest_fmri``).
    bold_derivatives : path-like, optional
        Dataset to take the BOLD from (e.g. fMRIPrep output). Select one space/desc with
        ``bids_filters``.
    bids_filters : dict, optional
        pybids queries per input kind, as in fMRIPrep's ``--bids-filter-file``, e.g.
        ``{"bold": {"space": "MNI152NLin2009cAsym", "desc": "preproc"}, "eeg":
        {"desc": "clean"}}``. Keys are entity names (pybids' ``acquisition``, or the
        file-name key ``acq``), ``extension``, ``suffix`` or ``datatype`` (which may
        only say ``"eeg"``/``"bold"``/``"func"``). Values follow ``BIDSLayout.get``:
        a label, a list (any of; it may hold None), None (entity absent), ``"*"`` or
        ``bids.layout.Query.ANY`` (present, any value), ``Query.OPTIONAL`` (no
        constraint). Run-like indices match as numbers (``1`` = ``"01"``).
    allow_eeg_only : bool, default=False
        Return the report when the selection has EEG runs but no paired run (a plain
        BIDS EEG dataset), instead of raising NoMatchingDataError.

    Returns
    -------
    report : PairingReport
        ``.runs`` paired runs (sorted), ``.eeg_only`` the EEG runs without BOLD,
        ``.unpaired`` everything not paired, ``.participants``.

    Raises
    ------
    MissingInputError
        ``bids_dir`` or a derivatives folder does not exist.
    InvalidDatasetError
        ``bids_dir`` is not a folder or has no ``dataset_description.json``.
    NoMatchingDataError
        A selected participant, session or task does not exist (the message lists what
        does), or the selection has no paired run (the message lists the unpaired runs;
        the report is attached as ``err.report``).

    Notes
    -----
    Pairing uses subject, session, task, acquisition and run; other entities (``desc``,
    ``space``, ``echo``, ...) only select files. When several EEG (or BOLD) files fit
    the same run, the run is reported as unpaired with the candidates listed: narrow the
    selection with ``bids_filters``. ``participants.tsv`` rows without a subject folder
    are logged as a warning and ignored.
    """
    layout = None
    if is_bids_path(bids_dir):
        bids_dir, selection, extra = bids_path_selection(bids_dir)
        participant_label = _merge_selection(
            "participant_label", participant_label, selection.get("participant_label")
        )
        session_label = _merge_selection(
            "session_label", session_label, selection.get("session_label")
        )
        task = _merge_selection("task", task, selection.get("task"))
        bids_filters = _merge_filters(bids_filters, extra)
    elif is_bids_layout(bids_dir):
        layout = bids_dir
        bids_dir = Path(layout.root)
    elif not isinstance(bids_dir, str | os.PathLike):
        raise TypeError(
            "bids_dir must be a path, a pybids BIDSLayout or an mne-bids BIDSPath, "
            f"got {type(bids_dir).__name__}"
        )
    bids_dir = Path(bids_dir).expanduser()
    if not bids_dir.exists():
        raise MissingInputError(f"bids_dir {bids_dir} does not exist")
    if not bids_dir.is_dir():
        raise InvalidDatasetError(f"bids_dir {bids_dir} is not a folder")
    bids_dir = bids_dir.resolve()
    if not (bids_dir / "dataset_description.json").is_file():
        raise InvalidDatasetError(
            f"{bids_dir} is not a BIDS dataset: dataset_description.json is missing"
        )
    eeg_root = _resolve_root(eeg_derivatives, bids_dir, "eeg_derivatives")
    bold_root = _resolve_root(bold_derivatives, bids_dir, "bold_derivatives")
    filters = _normalize_filters(bids_filters)

    # scan each source once; with a BIDSLayout, pybids lists (and filters) the raw
    # dataset's files
    scans = {}
    for root in {eeg_root, bold_root, bids_dir}:
        if layout is not None and root == bids_dir:
            scans[root] = _scan_layout(layout, filters)
        else:
            scans[root] = _scan(root, raw=root == bids_dir)
    eeg_files = scans[eeg_root][0]
    bold_files = scans[bold_root][1]
    by_pybids = {
        "eeg": layout is not None and eeg_root == bids_dir,
        "bold": layout is not None and bold_root == bids_dir,
    }

    folders = {
        p.name[4:]
        for p in bids_dir.iterdir()
        if p.name.startswith("sub-") and p.is_dir()
    }
    _check_participants_tsv(bids_dir, folders)

    subjects = _as_labels(participant_label, "participant_label", "sub-")
    sessions = _as_labels(session_label, "session_label", "ses-")
    tasks = _as_labels(task, "task", "task-")
    found = eeg_files + bold_files
    if subjects is not None:
        _check_known(
            subjects,
            folders | {f.entities["sub"] for f in found},
            "participant(s)",
            bids_dir,
        )
    if sessions is not None:
        _check_known(
            sessions,
            {f.entities["ses"] for f in found if "ses" in f.entities},
            "session(s)",
            bids_dir,
        )
    if tasks is not None:
        _check_known(tasks, {f.entities["task"] for f in found}, "task(s)", bids_dir)

    def keep(f, modality):
        e = f.entities
        return (
            (subjects is None or e["sub"] in subjects)
            and (sessions is None or e.get("ses") in sessions)
            and (tasks is None or e["task"] in tasks)
            and (by_pybids[modality] or _matches(f, filters[modality]))
        )

    eeg_groups = _group(f for f in eeg_files if keep(f, "eeg"))
    bold_groups = _group(f for f in bold_files if keep(f, "bold"))

    eeg_sidecars, bold_sidecars = SidecarFinder(eeg_root), SidecarFinder(bold_root)
    runs, unpaired, eeg_only = [], [], []
    for key in sorted(set(eeg_groups) | set(bold_groups), key=_sort_key):
        eegs, bolds = eeg_groups.get(key, []), bold_groups.get(key, [])
        problem = None
        if not bolds:
            problem = (
                "eeg",
                eegs,
                "no BOLD run with the same subject/session/task/acquisition/run",
            )
        elif not eegs:
            problem = (
                "bold",
                bolds,
                "no EEG run with the same subject/session/task/acquisition/run",
            )
        elif len(eegs) > 1 or len(bolds) > 1:
            modality, many = ("eeg", eegs) if len(eegs) > 1 else ("bold", bolds)
            names = ", ".join(f.path.name for f in many)
            problem = (
                modality,
                eegs + bolds,
                f"{len(many)} {modality.upper()} files fit ({names}); narrow with "
                f"bids_filters={{'{modality}': {{...}}}}",
            )
        if not bolds and len(eegs) == 1:
            e = eegs[0].entities
            eeg_only.append(
                EEGRun(
                    subject=e["sub"],
                    session=e.get("ses"),
                    task=e["task"],
                    acquisition=e.get("acq"),
                    run=e.get("run"),
                    eeg_path=eegs[0].path,
                    eeg_metadata=eeg_sidecars.metadata(eegs[0].path, e, "eeg"),
                )
            )
        if problem is not None:
            modality, files, reason = problem
            ents = dict(
                zip(
                    PAIR_ENTITIES,
                    (files[0].entities.get(k) for k in PAIR_ENTITIES),
                    strict=False,
                )
            )
            unpaired.append(
                UnpairedRun(
                    ents["sub"],
                    ents["ses"],
                    ents["task"],
                    ents["acq"],
                    ents["run"],
                    modality,
                    tuple(f.path for f in files),
                    reason,
                )
            )
            continue
        eeg, bold = eegs[0], bolds[0]
        e = bold.entities
        runs.append(
            PairedRun(
                subject=e["sub"],
                session=e.get("ses"),
                task=e["task"],
                acquisition=e.get("acq"),
                run=e.get("run"),
                eeg_path=eeg.path,
                bold_path=bold.path,
                bold_metadata=bold_sidecars.metadata(bold.path, bold.entities, "bold"),
                eeg_metadata=eeg_sidecars.metadata(eeg.path, eeg.entities, "eeg"),
            )
        )

    participants = sorted({r.subject for r in runs})
    report = PairingReport(
        runs, unpaired, participants, bids_dir, eeg_root, bold_root, eeg_only
    )
    if unpaired:
        shown = "; ".join(f"{u.label} ({u.modality}: {u.reason})" for u in unpaired[:5])
        more = f" and {len(unpaired) - 5} more" if len(unpaired) > 5 else ""
        logger.warning("%d unpaired run(s) skipped: %s%s", len(unpaired), shown, more)
    if not runs and allow_eeg_only and eeg_only:
        logger.info(
            "found no paired run but %d EEG-only run(s) of %d participant(s)",
            len(eeg_only), len(report.eeg_only_participants),
        )
        return report
    if not runs:
        selection = (
            f"participants {', '.join(subjects)}" if subjects else "the selection"
        )
        detail = (
            "; ".join(f"{u.label}: {u.reason}" for u in unpaired[:5])
            or "no EEG or BOLD file found"
        )
        err = NoMatchingDataError(
            f"no run with both EEG (from {eeg_root}) and BOLD (from {bold_root}) for "
            f"{selection}: {detail}"
        )
        err.report = report
        raise err
    if subjects is not None:
        missing = [s for s in subjects if s not in participants]
        if missing:
            logger.warning("no paired run for participant(s) %s", ", ".join(missing))
    logger.info(
        "found %d paired run(s) for %d participant(s), %d unpaired",
        len(runs),
        len(participants),
        len(unpaired),
    )
    return report


def _check_participants_tsv(bids_dir, folders):
    tsv = bids_dir / "participants.tsv"
    if not tsv.is_file():
        return
    try:
        rows = read_tsv(tsv)
    except Eeg2fmriError as err:  # unreadable participants.tsv: only a warning
        logger.warning("could not read %s: %s", tsv, err)
        return
    listed = [r.get("participant_id", "") for r in rows]
    listed = [p[4:] if p.startswith("sub-") else p for p in listed if p and p != "n/a"]
    orphans = [p for p in listed if p not in folders]
    if orphans:
        logger.warning(
            "participants.tsv lists %d participant(s) without a folder, ignored: %s",
            len(orphans),
            ", ".join(f"sub-{p}" for p in orphans),
        )
