"""Wall time of the BIDS-App end to end on a small simulated dataset (CPU).

Simulates a noddi-like dataset, then runs ``eeg2fmri bids out participant group`` with
leave-one-subject-out training of a small model for every participant, and prints the
time of each level. Writes ``benchmarks/results/bids_app_end_to_end.{json,md}``.

    python benchmarks/bids_app_end_to_end.py [--n-subjects 3] [--epochs 2]
"""

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

from bids_app.run import main
from eeg2fmri.simulate import simulate_dataset


def run(n_subjects, n_volumes, epochs, model_name, threads):
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        start = time.perf_counter()
        bids = simulate_dataset(tmp / "bids", preset="noddi", n_subjects=n_subjects,
                                n_volumes=n_volumes, n_channels=16,
                                bold_shape=(8, 16, 16), random_state=0)
        results["simulate_s"] = time.perf_counter() - start
        common = ["-w", str(tmp / "work"), "--model-name", model_name, "--epochs",
                  str(epochs), "--n-context", "4", "--batch-size", "8",
                  "--omp-nthreads", str(threads), "--random-seed", "0"]
        for level in ("participant", "group"):
            start = time.perf_counter()
            code = main([str(bids), str(tmp / "out"), level, *common])
            results[f"{level}_s"] = time.perf_counter() - start
            results[f"{level}_exit"] = code
        results["group_metrics"] = (tmp / "out" / "group_metrics.tsv").read_text()
    return results


def main_cli():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-subjects", type=int, default=3)
    parser.add_argument("--n-volumes", type=int, default=40)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--model-name", default="spec2vol-tiny")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    res = run(args.n_subjects, args.n_volumes, args.epochs, args.model_name,
              args.threads)
    res.update(vars(args), machine=platform.processor() or platform.machine(),
               python=platform.python_version())
    rows = [("simulate", res["simulate_s"]),
            (f"participant ({args.n_subjects} LOSO models)", res["participant_s"]),
            ("group", res["group_s"])]
    table = "| step | seconds |\n|---|---|\n" + "\n".join(
        f"| {name} | {sec:.1f} |" for name, sec in rows)
    print(table)
    print(res["group_metrics"])
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "bids_app_end_to_end.json").write_text(json.dumps(res, indent=2) + "\n")
    flags = " ".join(f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items())
    (out / "bids_app_end_to_end.md").write_text(
        f"# BIDS-App end to end\n\n`{flags}`\n\n" + table + "\n\n```\n"
        + res["group_metrics"] + "```\n")


if __name__ == "__main__":
    main_cli()
