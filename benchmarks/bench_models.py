"""Benchmark the registered model presets on this CPU.

For each preset: parameter count, forward and forward+backward wall time for one batch
at the noddi shape (20 windows x 64 electrodes x 249 bins -> 30 x 64 x 64), and the
process's peak resident memory after the runs (RSS high-water mark, cumulative: run
one model per process with ``--isolate`` to get per-model peaks).

Usage::

    python benchmarks/bench_models.py                      # default presets, batch 16
    python benchmarks/bench_models.py --models spec2vol-small e2fnet --batch-size 8
    python benchmarks/bench_models.py --isolate            # one subprocess per model

Writes ``benchmarks/results/models.json`` and ``models.md`` (Markdown table; ``--out``
changes the stem, ``--out-dir`` the folder, ``--merge`` keeps the rows of models not
re-run).
"""

import argparse
import json
import os
import sys
from pathlib import Path

if not __package__:  # run as a file: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import harness

#: label -> (registered name, overrides); the full-size presets take tens of seconds
#: and several GB per batch of 16 on 2 cores, so they get ``--heavy-repeats`` runs
HEAVY = {"spec2vol", "e2fnet"}
PRESETS = {
    "spec2vol-small": ("spec2vol-small", {}),
    "spec2vol-small/no-bridge": ("spec2vol-small", {"bridge_latents": 0}),
    "spec2vol-small/bridge-only": ("spec2vol-small", {"decoder": "none"}),
    "spec2vol-small/unet": ("spec2vol-small", {"decoder": "unet"}),
    "spec2vol-small/no-attention": ("spec2vol-small", {"attention": False}),
    "spec2vol": ("spec2vol", {}),
    "e2fnet-small": ("e2fnet-small", {}),
    "e2fnet": ("e2fnet", {}),
}

NODDI = dict(n_context=20, n_channels=64, n_freqs=249, out_shape=(30, 64, 64))


def bench_one(label, batch_size, repeats, threads):
    """Time one preset; returns a dict of results."""
    import torch

    from eeg2fmri.models import create_model

    torch.set_num_threads(threads)
    name, overrides = PRESETS[label]
    model = create_model(name, **NODDI, random_state=0, **overrides)
    n_params = sum(p.numel() for p in model.parameters())
    gen = torch.Generator().manual_seed(0)
    shape = (NODDI["n_context"], NODDI["n_channels"], NODDI["n_freqs"])
    x = torch.rand(batch_size, *shape, generator=gen)
    y = torch.rand(batch_size, *NODDI["out_shape"], generator=gen)
    model.train()

    def forward():
        with torch.no_grad():
            model(x)

    def forward_backward():
        model.zero_grad(set_to_none=True)
        torch.nn.functional.mse_loss(model(x), y).backward()

    fwd = harness.time_calls(forward, repeats)  # one warm-up call each
    fwdbwd = harness.time_calls(forward_backward, repeats)
    return {
        "model": label,
        "name": name,
        "overrides": overrides,
        "params": n_params,
        "batch_size": batch_size,
        "forward_ms": 1000 * fwd.best,
        "forward_backward_ms": 1000 * fwdbwd.best,
        "forward_ms_median": 1000 * fwd.median,
        "forward_backward_ms_median": 1000 * fwdbwd.median,
        # CPU seconds of this process (all threads) for the fastest forward+backward:
        # less sensitive than wall time to other processes sharing the cores
        "forward_backward_cpu_s": fwdbwd.cpu_of_best,
        "peak_rss_mb": harness.peak_rss_bytes() / 2**20,
        "load_average": os.getloadavg()[0],
    }


def _markdown(rows, meta):
    intro = (
        f"Batch {meta['batch_size']} at the noddi shape "
        "(20 x 64 x 249 -> 30 x 64 x 64), "
        f"{meta['threads']} threads, torch {meta['torch']}, {meta['cpu']}; "
        f"best of {meta['repeats']} runs ({meta['heavy_repeats']} for the full-size "
        "presets; median in brackets) after one warm-up; forward under no_grad, "
        "forward+backward in train mode with an MSE loss. Load average at the end: "
        f"{', '.join(f'{v:.1f}' for v in meta['load_average_at_end'])} "
        "(the CPU is shared; CPU s = process CPU time, all threads; load = 1-min "
        "load average after each model, rows merged from several runs)."
    )
    header = ["model", "params", "forward ms", "forward+backward ms",
              "fwd+bwd CPU s", "peak RSS MB", "load"]
    cells = [
        [
            r["model"],
            f"{r['params']:,}",
            f"{r['forward_ms']:.0f} ({r['forward_ms_median']:.0f})",
            f"{r['forward_backward_ms']:.0f} ({r['forward_backward_ms_median']:.0f})",
            f"{r['forward_backward_cpu_s']:.2f}",
            f"{r['peak_rss_mb']:.0f}",
            f"{r.get('load_average', float('nan')):.1f}",
        ]
        for r in rows
    ]
    return intro + "\n\n" + harness.markdown_table(header, cells, "lrrrrrr") + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--models", nargs="+", default=list(PRESETS), choices=list(PRESETS)
    )
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--heavy-repeats",
        type=int,
        default=1,
        help="repeats for the full-size presets (spec2vol, e2fnet)",
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--isolate",
        action="store_true",
        help="run each model in its own process (per-model peak RSS)",
    )
    parser.add_argument(
        "--out",
        default="models",
        help="results file stem (default: models)",
    )
    parser.add_argument(
        "--merge",
        action="store_true",
        help="keep the rows of other models already in the results file",
    )
    harness.add_output_arguments(parser)
    harness.add_worker_argument(parser)
    args = parser.parse_args(argv)
    if args.worker:
        harness.print_json_line(bench_one(**json.loads(args.worker)))
        return 0

    rows = []
    for label in args.models:
        case = dict(
            label=label,
            batch_size=args.batch_size,
            repeats=args.heavy_repeats if label in HEAVY else args.repeats,
            threads=args.threads,
        )
        if args.isolate:
            env = {"OMP_NUM_THREADS": str(args.threads)}
            rows.append(harness.run_worker(__file__, case, env=env, check=True))
        else:
            rows.append(bench_one(**case))
        print(
            f"{label}: {rows[-1]['forward_backward_ms']:.0f} ms fwd+bwd",
            file=sys.stderr,
        )

    env = harness.environment()
    meta = {
        "load_average_at_end": env["load_average"],
        "batch_size": args.batch_size,
        "threads": args.threads,
        "repeats": args.repeats,
        "heavy_repeats": args.heavy_repeats,
        "torch": env["versions"]["torch"],
        "cpu": env["processor"],
        "isolated": args.isolate,
        "date": env["date"],
    }
    previous = args.out_dir / f"{args.out}.json"
    if args.merge and previous.is_file():
        done = {r["model"] for r in rows}
        old = json.loads(previous.read_text())["results"]
        rows = [r for r in old if r["model"] not in done] + rows
        rows.sort(key=lambda r: list(PRESETS).index(r["model"]))
    doc = {
        "command": harness.command_line(__file__, argv),
        "meta": meta,
        "results": rows,
        "environment": env,
    }
    harness.publish(
        args.out, doc, _markdown(rows, meta), out_dir=args.out_dir,
        write=not args.no_write,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
