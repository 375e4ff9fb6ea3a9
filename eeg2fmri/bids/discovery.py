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

import os
from pathlib import Path

from .._utils.logging import logger
from ..exceptions import (
    Eeg2fmriError,
    InvalidDatasetError,
    MissingInputError,
    NoMatchingDataError,
)
from . import runs as _runs
from ._entities import SidecarFinder, read_tsv
from ._scanning import (
    BOLD_EXTENSIONS,
    EEG_EXTENSIONS,
    _as_labels,
    _check_known,
    _group,
    _resolve_root,
    _scan,
    _scan_layout,
    _sort_key,
)
from .filters import _matches, _merge_filters, _merge_selection, _normalize_filters
from .interop import bids_path_selection, is_bids_layout, is_bids_path
from .runs import EEGRun, PairedRun, PairingReport, UnpairedRun, run_fields

# the run classes live in .runs and stay importable from here
__all__ = ["find_paired_runs", *_runs.__all__, "EEG_EXTENSIONS", "BOLD_EXTENSIONS"]


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
                    **run_fields(e),
                    eeg_path=eegs[0].path,
                    eeg_metadata=eeg_sidecars.metadata(eegs[0].path, e, "eeg"),
                )
            )
        if problem is not None:
            modality, files, reason = problem
            unpaired.append(
                UnpairedRun(
                    **run_fields(files[0].entities),
                    modality=modality,
                    paths=tuple(f.path for f in files),
                    reason=reason,
                )
            )
            continue
        eeg, bold = eegs[0], bolds[0]
        runs.append(
            PairedRun(
                **run_fields(bold.entities),
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
