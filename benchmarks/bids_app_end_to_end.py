"""Wall time of the BIDS-App end to end on a small simulated dataset (CPU).

Simulates a noddi-like dataset, then runs ``eeg2fmri bids out participant group`` with
leave-one-subject-out training of a small model for every participant, and prints the
time of each level. Writes ``benchmarks/results/bids_app_end_to_end.{json,md}``
(``--out-dir`` elsewhere).

    python benchmarks/bids_app_end_to_end.py [--n-subjects 3] [--epochs 2]
"""

import argparse
import sys
import tempfile
from pathlib import Path

if not __package__:  # run as a file: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import harness


def run(n_subjects, n_volumes, epochs, model_name, threads):
    from bids_app.run import main
    from eeg2fmri.simulate import simulate_dataset

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        with harness.Stopwatch() as clock:
            bids = simulate_dataset(tmp / "bids", preset="noddi", n_subjects=n_subjects,
                                    n_volumes=n_volumes, n_channels=16,
                                    bold_shape=(8, 16, 16), random_state=0)
        results["simulate_s"] = clock.seconds
        common = ["-w", str(tmp / "work"), "--model-name", model_name, "--epochs",
                  str(epochs), "--n-context", "4", "--batch-size", "8",
                  "--omp-nthreads", str(threads), "--random-seed", "0"]
        for level in ("participant", "group"):
            with harness.Stopwatch() as clock:
                code = main([str(bids), str(tmp / "out"), level, *common])
            results[f"{level}_s"] = clock.seconds
            results[f"{level}_exit"] = code
        results["group_metrics"] = (tmp / "out" / "group_metrics.tsv").read_text()
    return results


def main_cli(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-subjects", type=int, default=3)
    parser.add_argument("--n-volumes", type=int, default=40)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--model-name", default="spec2vol-tiny")
    parser.add_argument("--threads", type=int, default=1)
    harness.add_output_arguments(parser)
    args = parser.parse_args(argv)
    settings = dict(n_subjects=args.n_subjects, n_volumes=args.n_volumes,
                    epochs=args.epochs, model_name=args.model_name,
                    threads=args.threads)
    res = run(**settings)
    command = harness.command_line(__file__, argv)
    res.update(settings, command=command)
    rows = [("simulate", res["simulate_s"]),
            (f"participant ({args.n_subjects} LOSO models)", res["participant_s"]),
            ("group", res["group_s"])]
    table = harness.markdown_table(
        ["step", "seconds"], [(name, f"{sec:.1f}") for name, sec in rows]
    )
    print(res["group_metrics"])
    harness.publish(
        "bids_app_end_to_end", res, table, out_dir=args.out_dir,
        write=not args.no_write,
        markdown=f"# BIDS-App end to end\n\n`{command}`\n\n" + table + "\n\n```\n"
        + res["group_metrics"] + "```\n",
    )


if __name__ == "__main__":
    main_cli()
