"""The steps of a BIDS-App job, as library functions a script can call too.

The BIDS-App (:mod:`bids_app`) only sequences them:

1. :func:`select_runs`: the paired runs (training pool) and the EEG-only runs of the
   selected participants;
2. :func:`eeg2fmri.features.build_dataset`: pairs of the paired runs (cached);
3. :func:`load_trained_model`, or :class:`ModelCache` (leave-one-subject-out models
   trained once and kept), with :func:`make_estimator`;
4. :func:`eeg2fmri.synthesize_run` on each run's EEG
   (:func:`eeg2fmri.features.checked_eeg` first: in-scanner artifacts detected or
   corrected);
5. :func:`write_paired_run` (derivatives, scores against the measured BOLD and the
   mean-volume baseline :func:`baseline_volume`) or :func:`write_eeg_only_run`
   (derivatives on the model's grid);
6. :class:`eeg2fmri.reports.ParticipantReport`.
"""

from .group import collect_participant_metrics, list_eeg_only_runs, summarize_group
from .models import (
    DEFAULT_MODELS,
    LINEAR_MODELS,
    RECIPES,
    ModelCache,
    baseline_volume,
    check_model_choice,
    load_trained_model,
    make_estimator,
    model_names,
    save_trained_model,
    training_participants,
)
from .outputs import (
    expected_outputs,
    measured_bold,
    outputs_complete,
    write_eeg_only_run,
    write_paired_run,
)
from .selection import SKIP_NEEDS_MODEL, RunSelection, select_runs

__all__ = [
    "select_runs",
    "RunSelection",
    "SKIP_NEEDS_MODEL",
    "make_estimator",
    "check_model_choice",
    "model_names",
    "ModelCache",
    "load_trained_model",
    "save_trained_model",
    "training_participants",
    "baseline_volume",
    "RECIPES",
    "LINEAR_MODELS",
    "DEFAULT_MODELS",
    "measured_bold",
    "expected_outputs",
    "outputs_complete",
    "write_paired_run",
    "write_eeg_only_run",
    "collect_participant_metrics",
    "summarize_group",
    "list_eeg_only_runs",
]
