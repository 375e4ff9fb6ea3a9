"""Benchmark: simulate one subject at a preset's full size (default noddi, 300 vol).

Usage::

    python benchmarks/bench_simulate.py [--preset noddi] [--n-volumes 300] [--repeat 2]

Prints a table (seconds, peak memory) and writes ``benchmarks/results/simulate.json``.
The first repeat is "cold" (templates loaded and resampled, montage built); later
repeats reuse the in-process caches. Peak memory is measured in a separate run under
``tracemalloc`` (numpy reports its buffers to it), plus the process's peak RSS.
Target (issue 2): one noddi subject with 300 volumes in under 10 s.
"""

import argparse
import json
import platform
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "simulate.json"


def _one(preset, n_volumes, seed):
    from eeg2fmri.simulate import simulate_dataset

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        out = simulate_dataset(
            Path(tmp) / "bids",
            preset=preset,
            n_subjects=1,
            n_volumes=n_volumes,
            random_state=seed,
        )
        seconds = time.perf_counter() - start
        size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    return seconds, size


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="noddi")
    parser.add_argument("--n-volumes", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    import eeg2fmri.simulate  # noqa: F401  (import time reported separately)

    import_s = time.perf_counter() - t0
    from eeg2fmri.simulate import SIMULATION_PRESETS

    p = SIMULATION_PRESETS[args.preset]
    runs = [_one(args.preset, args.n_volumes, seed) for seed in range(args.repeat)]
    tracemalloc.start()
    _one(args.preset, args.n_volumes, 99)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    duration = p.eeg_lead + args.n_volumes * p.tr + p.eeg_tail
    eeg_mb = p.n_channels * duration * p.sfreq * 4 / 2**20
    bold_mb = args.n_volumes * int(__import__("math").prod(p.bold_shape)) * 4 / 2**20
    result = {
        "preset": args.preset,
        "n_volumes": args.n_volumes,
        "n_channels": p.n_channels,
        "sfreq": p.sfreq,
        "bold_shape": list(p.bold_shape),
        "import_seconds": round(import_s, 3),
        "seconds_cold": round(runs[0][0], 3),
        "seconds_warm": [round(s, 3) for s, _ in runs[1:]],
        "peak_traced_mb": round(peak / 2**20, 1),
        "peak_rss_mb": round(rss_mb, 1),
        "eeg_float32_mb": round(eeg_mb, 1),
        "bold_float32_mb": round(bold_mb, 1),
        "output_mb": round(runs[0][1] / 2**20, 1),
        "target_seconds": 10.0,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "command": "python benchmarks/bench_simulate.py "
        + " ".join(argv or sys.argv[1:]),
    }
    rows = [
        (
            "preset",
            f"{args.preset} (1 subject, {args.n_volumes} vol, {p.n_channels} ch, "
            f"{p.sfreq:g} Hz, {tuple(p.bold_shape)})",
        ),
        ("import eeg2fmri.simulate", f"{import_s:.2f} s"),
        ("simulate + write, cold", f"{runs[0][0]:.2f} s"),
        *[
            (f"simulate + write, warm #{i}", f"{s:.2f} s")
            for i, (s, _) in enumerate(runs[1:], 1)
        ],
        ("peak traced memory", f"{peak / 2**20:.0f} MB"),
        ("peak RSS (process)", f"{rss_mb:.0f} MB"),
        ("raw EEG / BOLD float32", f"{eeg_mb:.0f} MB / {bold_mb:.0f} MB"),
        ("dataset on disk", f"{runs[0][1] / 2**20:.0f} MB"),
    ]
    width = max(len(k) for k, _ in rows)
    print("\n".join(f"{k:<{width}}  {v}" for k, v in rows))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
