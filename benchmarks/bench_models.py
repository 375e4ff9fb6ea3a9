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
changes the stem, ``--merge`` keeps the rows of models not re-run).
"""

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import torch

from eeg2fmri._utils.io import write_json_atomic, write_text_atomic
from eeg2fmri.models import create_model

RESULTS = Path(__file__).resolve().parent / "results"

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


def _peak_rss_mb():
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return peak / 1024 if sys.platform != "darwin" else peak / 2**20


def bench_one(label, batch_size, repeats, threads):
    """Time one preset; returns a dict of results."""
    torch.set_num_threads(threads)
    name, overrides = PRESETS[label]
    model = create_model(name, **NODDI, random_state=0, **overrides)
    n_params = sum(p.numel() for p in model.parameters())
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(
        batch_size,
        NODDI["n_context"],
        NODDI["n_channels"],
        NODDI["n_freqs"],
        generator=gen,
    )
    y = torch.rand(batch_size, *NODDI["out_shape"], generator=gen)
    model.train()
    fwd, fwdbwd, cpu = [], [], []
    for i in range(repeats + 1):  # first run is a warm-up
        model.zero_grad(set_to_none=True)
        t0 = time.perf_counter()
        with torch.no_grad():
            model(x)
        t1, c1 = time.perf_counter(), time.process_time()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        t2, c2 = time.perf_counter(), time.process_time()
        if i:
            fwd.append(t1 - t0)
            fwdbwd.append(t2 - t1)
            cpu.append(c2 - c1)
    return {
        "model": label,
        "name": name,
        "overrides": overrides,
        "params": n_params,
        "batch_size": batch_size,
        "forward_ms": 1000 * min(fwd),
        "forward_backward_ms": 1000 * min(fwdbwd),
        "forward_ms_median": 1000 * sorted(fwd)[len(fwd) // 2],
        "forward_backward_ms_median": 1000 * sorted(fwdbwd)[len(fwdbwd) // 2],
        # CPU seconds of this process (all threads) for the fastest forward+backward:
        # less sensitive than wall time to other processes sharing the cores
        "forward_backward_cpu_s": cpu[fwdbwd.index(min(fwdbwd))],
        "peak_rss_mb": _peak_rss_mb(),
        "load_average": os.getloadavg()[0],
    }


def _markdown(rows, meta):
    lines = [
        f"Batch {meta['batch_size']} at the noddi shape "
        "(20 x 64 x 249 -> 30 x 64 x 64), "
        f"{meta['threads']} threads, torch {meta['torch']}, {meta['cpu']}; "
        f"best of {meta['repeats']} runs ({meta['heavy_repeats']} for the full-size "
        "presets; median in brackets) after one warm-up; forward under no_grad, "
        "forward+backward in train mode with an MSE loss. Load average at the end: "
        f"{', '.join(f'{v:.1f}' for v in meta['load_average_at_end'])} "
        "(the CPU is shared; CPU s = process CPU time, all threads; load = 1-min "
        "load average after each model, rows merged from several runs).",
        "",
        "| model | params | forward ms | forward+backward ms | fwd+bwd CPU s "
        "| peak RSS MB | load |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['params']:,} | {r['forward_ms']:.0f} "
            f"({r['forward_ms_median']:.0f}) | {r['forward_backward_ms']:.0f} "
            f"({r['forward_backward_ms_median']:.0f}) | "
            f"{r['forward_backward_cpu_s']:.2f} | {r['peak_rss_mb']:.0f} | "
            f"{r.get('load_average', float('nan')):.1f} |"
        )
    return "\n".join(lines) + "\n"


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
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument(
        "--out",
        default="models",
        help="results file stem in benchmarks/results/ (default: models)",
    )
    parser.add_argument(
        "--merge",
        action="store_true",
        help="keep the rows of other models already in results/models.json",
    )
    parser.add_argument("--json-row", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    rows = []
    for label in args.models:
        repeats = args.heavy_repeats if label in HEAVY else args.repeats
        if args.isolate:
            cmd = [
                sys.executable,
                __file__,
                "--models",
                label,
                "--batch-size",
                str(args.batch_size),
                "--repeats",
                str(repeats),
                "--heavy-repeats",
                str(repeats),
                "--threads",
                str(args.threads),
                "--json-row",
            ]
            out = subprocess.run(
                cmd,
                check=True,
                capture_output=True,
                text=True,
                env={**os.environ, "OMP_NUM_THREADS": str(args.threads)},
            )
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        else:
            rows.append(bench_one(label, args.batch_size, repeats, args.threads))
        if args.json_row:
            print(json.dumps(rows[-1]))
            return 0
        print(
            f"{label}: {rows[-1]['forward_backward_ms']:.0f} ms fwd+bwd",
            file=sys.stderr,
        )

    meta = {
        "load_average_at_end": os.getloadavg(),
        "batch_size": args.batch_size,
        "threads": args.threads,
        "repeats": args.repeats,
        "heavy_repeats": args.heavy_repeats,
        "torch": torch.__version__,
        "cpu": platform.processor() or platform.machine(),
        "isolated": args.isolate,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    previous = RESULTS / f"{args.out}.json"
    if args.merge and previous.is_file():
        done = {r["model"] for r in rows}
        old = json.loads(previous.read_text())["results"]
        rows = [r for r in old if r["model"] not in done] + rows
        rows.sort(key=lambda r: list(PRESETS).index(r["model"]))
    table = _markdown(rows, meta)
    print(table)
    if not args.no_write:
        RESULTS.mkdir(parents=True, exist_ok=True)
        write_json_atomic(RESULTS / f"{args.out}.json", {"meta": meta, "results": rows})
        write_text_atomic(RESULTS / f"{args.out}.md", table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
