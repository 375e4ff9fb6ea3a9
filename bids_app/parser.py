"""Command-line parser of the ``eeg2fmri`` BIDS-App (no side effects).

Flags follow fMRIPrep and MRIQC: kebab-case with underscore aliases, the BIDS-Apps
positionals ``bids_dir output_dir analysis_level``. Options that are not given on the
command line are absent from the parsed namespace (``argparse.SUPPRESS``), so that
``bids_app.config.Config`` can tell them apart from values of a ``--config-file``.
"""

import argparse
import sys
from pathlib import Path

from eeg2fmri._utils.cli import ArgumentParser
from eeg2fmri._version import __version__

from .config import EEG_CORRECTIONS, RECIPES, Config

__all__ = ["build_parser", "ArgumentParser", "LEVELS"]

#: Analysis levels, in the order they run when several are given.
LEVELS = ("participant", "group")

_D = Config()  # defaults shown in the help


def _positive_int(value):
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a positive integer, got {value!r}"
        ) from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}")
    return number


def _non_negative_int(value):
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise argparse.ArgumentTypeError(
            f"expected an integer >= 0, got {value!r}"
        )
    return number


def _positive_float(value):
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not number > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {value!r}")
    return number


def _path(value):
    return Path(value).expanduser().absolute()


def _label(prefix):
    def convert(value):
        value = str(value)
        return value[len(prefix):] if value.startswith(prefix) else value

    convert.__name__ = f"{prefix.rstrip('-')} label"
    return convert


def build_parser(prog="eeg2fmri"):
    """Build the command-line parser (pure: reads nothing, writes nothing).

    Returns
    -------
    parser : ArgumentParser
    """
    parser = ArgumentParser(
        prog=prog,
        description=(
            "eeg2fmri BIDS-App: synthesize fMRI (BOLD) volumes from simultaneously "
            "recorded EEG with Spec2VolCAMU-Net. The participant level synthesizes "
            "each selected participant's BOLD with a model trained on every other "
            "participant (leave-one-subject-out) or given by --model, and writes BIDS "
            "derivatives, metrics and an HTML report; the group level aggregates the "
            "participant outputs."
        ),
        argument_default=argparse.SUPPRESS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            "Exit codes: 0 success, 16 invalid BIDS dataset, 17 unknown analysis "
            "level, "
            "18 no data matches the selection, 64 usage error, 65 unusable data, "
            "66 missing input, 70 software error (a crash log is written to "
            "<output_dir>/logs)."
        ),
    )
    parser.add_argument(
        "bids_dir", type=_path,
        help="The root folder of a BIDS dataset with simultaneous EEG-fMRI "
        "(sub-XX/eeg and sub-XX/func). It is never written to.",
    )
    parser.add_argument(
        "output_dir", type=_path,
        help="Where the derivatives, reports and logs go (for example "
        "<bids_dir>/derivatives/eeg2fmri).",
    )
    parser.add_argument(
        "analysis_level", nargs="+", metavar="analysis_level",
        help="'participant' (per participant: train/apply the model, write "
        "derivatives and reports; independent jobs), 'group' (aggregate participant "
        "outputs; with --save-model also train on all participants), or both in "
        "that order.",
    )
    parser.add_argument(
        "--version", action="version", version=f"eeg2fmri {__version__}",
    )
    parser.add_argument(
        "-v", "--verbose", dest="verbose", action="count",
        help="More log detail (-v: debug). Progress is shown by default.",
    )

    g_bids = parser.add_argument_group("Options for filtering BIDS queries")
    g_bids.add_argument(
        "--participant-label", "--participant_label", "--participant-labels",
        dest="participant_label", nargs="+", type=_label("sub-"), metavar="LABEL",
        help="Participants to process (with or without 'sub-'); default: all "
        "participants that have a paired EEG/BOLD run.",
    )
    g_bids.add_argument(
        "--session-label", "--session_label", "--session-id", dest="session_label",
        nargs="+", type=_label("ses-"), metavar="LABEL",
        help="Sessions to process (with or without 'ses-'); default: all.",
    )
    g_bids.add_argument(
        "-t", "--task-id", "--task_id", dest="task_id", metavar="TASK",
        help="Process only this task (default: all tasks).",
    )
    g_bids.add_argument(
        "--bids-filter-file", "--bids_filter_file", dest="bids_filter_file",
        type=_path, metavar="FILE",
        help="A JSON file of PyBIDS filters keyed by input kind (eeg, bold), as in "
        'fMRIPrep, e.g. {"bold": {"session": "02"}, "eeg": {"acquisition": null}}: '
        'null means the entity is absent, "*" any value, a list any of its values.',
    )
    g_bids.add_argument(
        "--eeg-derivatives", "--eeg_derivatives", dest="eeg_derivatives",
        type=_path, metavar="PATH",
        help="A BIDS-Derivatives dataset with gradient/BCG-corrected EEG to read "
        "instead of the raw EEG.",
    )
    g_bids.add_argument(
        "--skip-bids-validation", "--skip_bids_validation", "--skip-bids-validator",
        dest="skip_bids_validation", action="store_true",
        help="Do not validate the input with bids-validator-deno (by default it runs "
        "when installed and errors stop the run with exit code 16).",
    )
    g_bids.add_argument(
        "--volume-marker", "--volume_marker", dest="volume_marker", metavar="NAME",
        help="EEG annotation that marks each volume, e.g. 'Response/R128' "
        f"(default: {_D.volume_marker!r}: scanner markers are detected; without "
        "markers EEG sample 0 is taken as the first volume, with a warning). A name "
        "given here must be present.",
    )
    g_bids.add_argument(
        "--require-triggers", "--require_triggers", dest="require_triggers",
        action="store_true",
        help="Fail (exit 65) on a run whose EEG has no volume triggers instead of "
        "falling back to 'EEG sample 0 is the first volume'.",
    )
    g_bids.add_argument(
        "--eeg-correction", "--eeg_correction", dest="eeg_correction",
        choices=EEG_CORRECTIONS, metavar="{" + ",".join(EEG_CORRECTIONS) + "}",
        help="EEG recorded in the scanner (default: "
        f"{_D.eeg_correction!r}: a run whose EEG carries the MR gradient artifact "
        "stops with exit 65 and a message; 'none': the EEG is clean, do not check; "
        "'gradient' or 'gradient+pulse': correct it (average artifact subtraction on "
        "the slice/volume triggers, then R-peak-locked pulse subtraction, needing an "
        "ECG channel) before the features.",
    )

    g_perf = parser.add_argument_group("Options to handle performance")
    g_perf.add_argument(
        "-w", "--work-dir", "--work_dir", dest="work_dir", type=_path, metavar="PATH",
        help="Cache of spectra, volumes and trained models, shared by participant jobs "
        f"(default: ./{_D.work_dir}). Must not be inside bids_dir.",
    )
    g_perf.add_argument(
        "--nprocs", "--nthreads", "--n_cpus", "--n-cpus", dest="nprocs",
        type=_positive_int, metavar="N",
        help="Maximum number of CPUs used (default: all).",
    )
    g_perf.add_argument(
        "--omp-nthreads", "--omp_nthreads", dest="omp_nthreads", type=_positive_int,
        metavar="N", help="Threads of torch/BLAS operations (default: --nprocs).",
    )
    g_perf.add_argument(
        "--device", choices=("auto", "cpu", "cuda"),
        help=f"Where the model runs (default: {_D.device}).",
    )
    g_perf.add_argument(
        "--random-seed", "--random_seed", "--seed", dest="random_seed", type=int,
        metavar="SEED", help=f"Seed of every random step (default: {_D.random_seed}).",
    )
    g_perf.add_argument(
        "--config-file", "--config_file", dest="config_file", type=_path,
        metavar="FILE",
        help="A TOML file of settings (e.g. logs/config.toml of an earlier run); "
        "flags on the command line override its values.",
    )

    g_model = parser.add_argument_group("Model and training")
    g_model.add_argument(
        "--model", dest="model", type=_path, metavar="PATH",
        help="A trained model (.safetensors with its .json, written by --save-model "
        "or Spec2VolEstimator.save) to apply instead of leave-one-subject-out "
        "training.",
    )
    g_model.add_argument(
        "--recipe", choices=RECIPES,
        help="How features and training are set up: 'default' (the benchmark "
        "study's choice: log spectra standardized per channel and frequency, "
        "targets standardized per voxel within each run, MSE; the synthesized BOLD "
        "follows the measured BOLD over time) or 'official' (the paper's code: "
        "spectra z-scored across electrodes, per-volume [0, 1] targets, SSIM + MSE, "
        f"the spec2vol network) (default: {_D.recipe}).",
    )
    g_model.add_argument(
        "--model-name", "--model_name", dest="model_name", metavar="NAME",
        help="Model to train: a registered network (see eeg2fmri.list_models(); "
        "default: spec2vol-bridge, which trains in minutes on a CPU; spec2vol with "
        "--recipe official) or a baseline ('ridge', 'reduced-rank-ridge', "
        "'interaction-ridge').",
    )
    g_model.add_argument(
        "--epochs", type=_positive_int, metavar="N",
        help="Training epochs (default: 15; 50 with --recipe official).",
    )
    g_model.add_argument(
        "--batch-size", "--batch_size", dest="batch_size", type=_positive_int,
        metavar="N", help=f"Training batch size (default: {_D.batch_size}).",
    )
    g_model.add_argument(
        "--lr", type=_positive_float, metavar="LR",
        help="Peak AdamW learning rate (default: 0.001).",
    )
    g_model.add_argument(
        "--n-context", "--n_context", dest="n_context", type=_positive_int,
        metavar="N",
        help=f"EEG TR windows before each volume fed to the model "
        f"(default: {_D.n_context}).",
    )
    g_model.add_argument(
        "--discard-volumes", "--discard_volumes", dest="discard_volumes",
        type=_non_negative_int, metavar="N",
        help=f"First volumes of every run left out (default: {_D.discard_volumes}).",
    )
    g_model.add_argument(
        "--max-interpolated", "--max_interpolated", dest="max_interpolated",
        type=_fraction, metavar="FRACTION",
        help="Applying a model to a recording from another cap: the largest fraction "
        "of the model's channels that may be missing or bad and interpolated "
        f"(spherical splines) (default: {_D.max_interpolated}); beyond it the run "
        "is refused (exit 65).",
    )
    g_model.add_argument(
        "--tr", dest="tr", type=_positive_float, metavar="SECONDS",
        help="EEG-only runs without scanner markers: volume k starts k * TR after "
        "EEG sample 0; the TR must be the model's (its default), since the model's "
        "spectra are TR-long windows (needed for older model files only).",
    )
    g_model.add_argument(
        "--no-ridge-comparison", "--no_ridge_comparison", dest="ridge_comparison",
        action="store_false",
        help="Do not train the band-power ridge beside a network on the same "
        "participants (by default its temporal r is reported next to the model's; "
        "it costs one ridge fit per training set).",
    )
    g_model.add_argument(
        "--save-model", "--save_model", dest="save_model", action="store_true",
        help="At the group level, also train a model on all participants and save it "
        "under <output_dir>/models/.",
    )
    return parser


def _fraction(text):
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1], got {text!r}")
    return value


def parse_args(argv=None):
    """Parse ``argv`` (default ``sys.argv[1:]``) into a namespace of given options."""
    return build_parser().parse_args(sys.argv[1:] if argv is None else argv)
