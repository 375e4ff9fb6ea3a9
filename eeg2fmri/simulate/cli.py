"""``eeg2fmri-simulate``: write a simulated EEG-fMRI BIDS dataset from the command line.

Exit codes: 0 success, 64 usage error (bad option or value), 73 the output folder
exists and is not empty (pass ``--overwrite``).
"""

import argparse
import os
import sys
import time
from pathlib import Path

from .._utils.cli import EX_USAGE, ArgumentParser, parse_arguments, print_error

__all__ = ["main"]

EX_CANTCREAT = getattr(os, "EX_CANTCREAT", 73)
PROG = "eeg2fmri-simulate"


def _shape(text):
    try:
        shape = tuple(int(s) for s in text.lower().replace("x", ",").split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected D,H,W (e.g. 30,64,64), got {text!r}"
        ) from None
    if len(shape) != 3:
        raise argparse.ArgumentTypeError(f"expected three sizes D,H,W, got {text!r}")
    return shape


def build_parser():
    """Return the argument parser of ``eeg2fmri-simulate``."""
    from .presets import SIMULATION_PRESETS

    parser = ArgumentParser(
        prog=PROG,
        description="Simulate a simultaneous EEG-fMRI BIDS dataset with known ground "
        "truth (raw data plus derivatives/simulation).",
    )
    parser.add_argument("out_dir", type=Path, help="dataset folder to create")
    parser.add_argument(
        "--preset",
        choices=sorted(SIMULATION_PRESETS),
        default="noddi",
        help="dataset preset (default: %(default)s)",
    )
    parser.add_argument(
        "--n-subjects",
        type=int,
        default=2,
        metavar="N",
        help="number of subjects (default: %(default)s)",
    )
    parser.add_argument(
        "--n-runs",
        type=int,
        default=1,
        metavar="R",
        help="runs per subject (default: %(default)s)",
    )
    parser.add_argument(
        "--n-volumes",
        type=int,
        default=None,
        metavar="V",
        help="volumes per run (default: the preset's)",
    )
    parser.add_argument(
        "--n-channels",
        type=int,
        default=None,
        metavar="C",
        help="EEG channels incl. ECG (default: the preset's)",
    )
    parser.add_argument(
        "--bold-shape",
        type=_shape,
        default=None,
        metavar="D,H,W",
        help="BOLD grid (default: the preset's)",
    )
    parser.add_argument(
        "--coupling",
        type=float,
        default=None,
        help="EEG-BOLD coupling in [0, 1] (default: the preset's)",
    )
    parser.add_argument(
        "--white-noise",
        action="store_true",
        help="white thermal BOLD noise only (no AR, physiological or drift noise)",
    )
    parser.add_argument(
        "--random-seed",
        type=int,
        default=None,
        metavar="S",
        help="seed; the same seed gives identical files",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing dataset in OUT_DIR",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="log progress (-v) or debug detail (-vv)",
    )
    return parser


def main(argv=None):
    """Run ``eeg2fmri-simulate``; returns 0, 64 (usage error) or 73 (OUT_DIR not empty).

    ``argv`` is the argument list without the program name (default: ``sys.argv[1:]``).
    """
    args, code = parse_arguments(build_parser(), argv)
    if args is None:
        return code

    from .._utils.logging import set_log_level
    from .dataset import simulate_dataset

    set_log_level(args.verbose)
    overrides = {
        k: v
        for k, v in (
            ("n_channels", args.n_channels),
            ("bold_shape", args.bold_shape),
            ("coupling", args.coupling),
        )
        if v is not None
    }
    if args.white_noise:
        from .presets import WHITE_NOISE

        overrides.update(WHITE_NOISE)
    start = time.perf_counter()
    try:
        out = simulate_dataset(
            args.out_dir,
            preset=args.preset,
            n_subjects=args.n_subjects,
            n_runs=args.n_runs,
            n_volumes=args.n_volumes,
            random_state=args.random_seed,
            overwrite=args.overwrite,
            **overrides,
        )
    except FileExistsError as error:
        print_error(PROG, error)
        return EX_CANTCREAT
    except (ValueError, TypeError) as error:
        print_error(PROG, error)
        return EX_USAGE
    print(f"{PROG}: wrote {out} ({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
