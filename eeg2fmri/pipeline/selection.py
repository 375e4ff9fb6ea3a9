"""Which runs a job processes: :func:`select_runs`.

Training needs runs with both EEG and BOLD; applying a trained model needs only EEG.
:func:`select_runs` lists both kinds for the selected participants: the paired runs of
every participant (the others are the training set of leave-one-subject-out), and,
when a trained model is given, the EEG-only runs (sessions without fMRI, or a plain
BIDS EEG dataset). Without a model, EEG-only runs are listed as skipped, with the
reason.
"""

from dataclasses import dataclass, field

from .._utils.logging import logger
from ..exceptions import NoMatchingDataError

__all__ = ["RunSelection", "select_runs", "SKIP_NEEDS_MODEL"]

#: Why an EEG-only run is skipped without a model.
SKIP_NEEDS_MODEL = (
    "EEG only: training needs BOLD; give a trained model (--model) to synthesize it"
)


@dataclass
class RunSelection:
    """The runs of one job.

    Attributes
    ----------
    paired : list of PairedRun
        Every paired run matching the selection, of all participants (the training
        pool of leave-one-subject-out).
    eeg_only : list of EEGRun
        EEG-only runs of the selected participants (empty without a model).
    participants : list of str
        The participants to process, in order.
    skipped : list of (EEGRun, str)
        EEG-only runs that are not processed, and why.
    report : PairingReport
        What discovery found.
    """

    paired: list
    eeg_only: list
    participants: list
    skipped: list = field(default_factory=list)
    report: object = None

    def runs_of(self, participant):
        """``(paired, eeg_only)`` runs of one participant (lists)."""
        return (
            [r for r in self.paired if r.subject == participant],
            [r for r in self.eeg_only if r.subject == participant],
        )


def select_runs(bids_dir, *, participant_label=None, with_model=False,
                selection_text="", **discovery):
    """Find the runs to process and check the participant selection.

    Parameters
    ----------
    bids_dir : path-like, bids.BIDSLayout or mne_bids.BIDSPath
        The BIDS dataset.
    participant_label : list of str, optional
        Participants to process (default: every participant with usable runs).
    with_model : bool, default=False
        A trained model is given: EEG-only runs are processed, and participants
        without any paired run are valid.
    selection_text : str, optional
        How the user selected runs (e.g. command-line flags), for messages.
    **discovery
        Keyword arguments of :func:`eeg2fmri.bids.find_paired_runs` (``session_label``,
        ``task``, ``eeg_derivatives``, ``bold_derivatives``, ``bids_filters``); they
        select runs of every participant, so that the others are the training pool.
        ``allow_eeg_only`` follows ``with_model``.

    Returns
    -------
    selection : RunSelection

    Raises
    ------
    NoMatchingDataError
        Nothing to process, or a selected participant has no usable run (the
        message says what exists and why a run cannot be used).
    TypeError
        A keyword argument that :func:`~eeg2fmri.bids.find_paired_runs` does not take
        (or ``allow_eeg_only``).
    """
    from ..bids import find_paired_runs

    if "allow_eeg_only" in discovery:
        raise TypeError(
            "select_runs: allow_eeg_only is set by with_model; give with_model instead"
        )
    report = find_paired_runs(bids_dir, allow_eeg_only=with_model, **discovery)
    where = f"{getattr(report, 'bids_dir', bids_dir)}{selection_text}"
    paired = list(report.runs)
    eeg_only = list(report.eeg_only)
    with_bold = set(report.participants)
    usable = with_bold | ({r.subject for r in eeg_only} if with_model else set())
    if not usable:
        unpaired = list(report.unpaired)
        why = f"; e.g. {unpaired[0].reason}" if unpaired else ""
        raise NoMatchingDataError(
            f"No run with both EEG and BOLD found in {where}{why}."
        )
    selected = list(participant_label or sorted(usable))
    missing = [p for p in selected if p not in usable]
    if missing:
        names = ", ".join(f"sub-{p}" for p in missing)
        only_eeg = [p for p in missing if any(r.subject == p for r in eeg_only)]
        reason = (
            f"has only EEG-only runs ({SKIP_NEEDS_MODEL})"
            if only_eeg and len(only_eeg) == len(missing)
            else "has no usable run (no EEG, or ambiguous files)"
        )
        raise NoMatchingDataError(
            f"Participant(s) {names} {reason} in {where}; participants with paired "
            f"runs: {', '.join('sub-' + p for p in sorted(with_bold)) or 'none'}."
        )
    chosen = set(selected)
    kept_eeg, skipped = [], []
    for run in eeg_only:
        if run.subject not in chosen:
            continue
        if with_model:
            kept_eeg.append(run)
        else:
            skipped.append((run, SKIP_NEEDS_MODEL))
            logger.warning("%s skipped: %s", run.label, SKIP_NEEDS_MODEL)
    return RunSelection(paired, kept_eeg, selected, skipped, report)
