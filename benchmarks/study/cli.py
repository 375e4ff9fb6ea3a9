"""``python -m benchmarks.study``: run the study and write its tables and figures."""

import argparse
import json
import time
from dataclasses import asdict
from pathlib import Path

from benchmarks.harness import (
    REPO,
    command_line,
    environment,
    git_commit,
    write_json_atomic,
    write_text_atomic,
)

from .config import (
    BOOTSTRAP_RESAMPLES,
    DATASETS,
    DEFAULT_EPOCHS,
    NULL_SHIFT_SECONDS,
    PAPER_EPOCHS,
    ROWS,
    SWEEPS,
    describe,
)
from .figures import violin_figure
from .report import results_markdown, results_rst
from .runner import finished_results, plan, run_jobs
from .stats import paired_tests
from .tables import collect, summarize

PROGRAM = ["python", "-m", "benchmarks.study"]
#: Packages whose versions study.json records.
PACKAGES = ("numpy", "scipy", "torch", "scikit-learn", "pandas", "matplotlib",
            "nilearn", "nibabel", "mne")


def build_parser():
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.study",
        description="Run the eeg2fmri benchmark study (the paper's protocol at CPU "
        "scale on simulated datasets).",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=REPO / "docs" / "study",
        help="folder for the tables and figures (default: docs/study)",
    )
    p.add_argument(
        "--work",
        type=Path,
        default=Path("/tmp/eeg2fmri-study"),
        help="simulated datasets, feature cache and per-fit results; a "
        "re-run with the same folder skips finished fits",
    )
    p.add_argument(
        "--datasets", nargs="*", default=list(DATASETS), choices=list(DATASETS),
        help="the study's datasets to run (none: only the --sweeps variants)",
    )
    p.add_argument(
        "--sweeps",
        nargs="*",
        default=[],
        choices=list(SWEEPS),
        help="also run these sweeps (each value a dataset of its own)",
    )
    p.add_argument(
        "--variants",
        nargs="*",
        default=None,
        metavar="NAME",
        help="of the --sweeps, run only these variants (e.g. realistic-n_channels-16; "
        "default: every value of every sweep)",
    )
    p.add_argument(
        "--ablation-datasets",
        nargs="*",
        default=["cnepfl"],
        choices=list(DATASETS),
        help="datasets on which the ablations run (default: cnepfl, as in "
        "the paper's Table 3)",
    )
    p.add_argument(
        "--ablations",
        choices=("default", "all"),
        default="default",
        help="'all' adds the architecture ablations of spec2vol-small (the paper's "
        "conv paths, attention, decoder, bridge; minutes per fit)",
    )
    p.add_argument(
        "--rows",
        nargs="+",
        default=None,
        help="train only these rows (default: all); the tables hold every row "
        "whose results exist",
    )
    p.add_argument(
        "--jobs", type=int, default=2, help="worker processes, one thread each"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--quick",
        action="store_true",
        help="tiny datasets and 1 epoch: checks the pipeline in minutes",
    )
    return p


def selected_datasets(args):
    """``{name: StudyDataset}`` of the run (datasets, then sweep variants), sized."""
    specs = {name: DATASETS[name] for name in args.datasets}
    variants = {}
    for sweep in args.sweeps:
        variants.update(SWEEPS[sweep].variants())
    if args.variants is not None:
        unknown = sorted(set(args.variants) - set(variants))
        if unknown:
            raise SystemExit(
                f"--variants: {', '.join(unknown)} is not a variant of the sweeps "
                f"{args.sweeps}; expected one of {', '.join(variants)}"
            )
        variants = {name: variants[name] for name in args.variants}
    specs.update(variants)
    return {name: spec.sized(args.quick) for name, spec in specs.items()}


def _training_run(out, this_run, n_trained):
    """Provenance of the run that trained the fits.

    A re-run that trains nothing (every fit cached) regenerates the tables; it keeps
    the command, commit, date and timings of the previous ``study.json`` in ``out``.
    """
    previous = out / "study.json"
    if n_trained == 0 and previous.is_file():
        old = json.loads(previous.read_text(encoding="utf-8"))
        return old.get("training_run") or {
            key: old.get(key)
            for key in ("command", "git_commit", "date", "timings_seconds")
        }
    return {**this_run, "fits_trained": n_trained}


def write_tables(out, per_subject, per_volume, summary, tests, datasets):
    """The TSV tables and one figure per dataset."""
    for name, df in (
        ("summary", summary),
        ("per_subject", per_subject),
        ("paired_tests", tests),
    ):
        write_text_atomic(
            out / f"{name}.tsv", df.to_csv(sep="\t", index=False, float_format="%.6g")
        )
    figure_rows = [k for k, r in ROWS.items() if r.group in ("main", "baseline")]
    for name in datasets:
        violin_figure(
            per_volume, per_subject, name, figure_rows,
            out / "figures" / f"study_{name}.png",
        )


def main(argv=None):
    args = build_parser().parse_args(argv)
    unknown = sorted(set(args.rows or ()) - set(ROWS))
    if unknown:
        build_parser().error(
            f"--rows: unknown row(s) {unknown}; expected names of {list(ROWS)}"
        )
    t_start = time.perf_counter()
    commit = git_commit()
    specs = selected_datasets(args)
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    if args.quick:
        work = work / "quick"

    # 1. data, folds, baselines
    planned = plan(specs, work, args)
    timings = planned.timings

    # 2. trained rows, the costliest first, in single-thread workers
    wanted = set(args.rows) if args.rows else None
    todo = [
        j for j in planned.jobs
        if not j.result_path().is_file() and (wanted is None or j.label in wanted)
    ]
    print(f"{len(planned.jobs)} fits, {len(todo)} to train", flush=True)
    t0 = time.perf_counter()
    run_jobs(todo, args.jobs)
    timings["training_wall"] = time.perf_counter() - t0
    results = planned.results + finished_results(planned.jobs)

    # 3. tables, tests, figures
    per_subject, per_volume = collect(results)
    summary = summarize(per_subject, list(ROWS))
    tests = paired_tests(per_subject, random_state=args.seed)
    out = args.out.resolve()
    write_tables(out, per_subject, per_volume, summary, tests, list(specs))
    timings["total"] = time.perf_counter() - t_start
    this_run = {
        "command": command_line(PROGRAM, argv),
        "git_commit": commit,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "timings_seconds": timings,
    }
    meta = {
        **this_run,
        "training_run": _training_run(out, this_run, len(todo)),
        "sum_train_seconds": float(
            sum(r["train_seconds"] for r in results if "best_epoch" in r)
        ),
        "seed": args.seed,
        "dataset_seeds": {n: args.seed + s.seed_offset for n, s in specs.items()},
        "epochs": {
            "default": 1 if args.quick else DEFAULT_EPOCHS,
            "paper recipe": 1 if args.quick else PAPER_EPOCHS,
        },
        "null_shift_seconds": NULL_SHIFT_SECONDS,
        "bootstrap_resamples": BOOTSTRAP_RESAMPLES,
        "jobs": args.jobs,
        "threads_per_fit": 1,
        "datasets": {n: asdict(s) for n, s in specs.items()},
        "ablation_datasets": args.ablation_datasets,
        "ablations": args.ablations,
        "sweeps": args.sweeps,
        "rows": {label: describe(row) for label, row in ROWS.items()},
        "environment": environment(PACKAGES),
        "best_epochs": {
            f"{r['preset']}/{r['row']}/{r['fold']}": r["best_epoch"]
            for r in results
            if "best_epoch" in r
        },
    }
    write_json_atomic(out / "study.json", meta)
    write_text_atomic(
        out / "results.md", results_markdown(meta, summary, tests, list(specs))
    )
    write_text_atomic(
        out / "results.rst", results_rst(meta, summary, tests, list(specs))
    )
    print(f"wrote {out} in {timings['total'] / 60:.1f} min", flush=True)
