"""Benchmark: simulate one subject at a preset's full size (default noddi, 300 vol).

Usage::

    python benchmarks/bench_simulate.py [--preset noddi] [--n-volumes 300] [--repeat 2]

Prints a table (seconds, peak memory) and writes ``benchmarks/results/simulate.json``
and ``.md`` (``--output PATH.json`` or ``--out-dir`` elsewhere).
The first repeat is "cold" (templates loaded and resampled, montage built); later
repeats reuse the in-process caches. Peak memory is measured in a separate run under
``tracemalloc`` (numpy reports its buffers to it), plus the process's peak RSS.
Target (issue 2): one noddi subject with 300 volumes in under 10 s.
"""

import argparse
import math
import sys
import tempfile
from pathlib import Path

if not __package__:  # run as a file: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import harness


def _one(preset, n_volumes, seed):
    from eeg2fmri.simulate import simulate_dataset

    with tempfile.TemporaryDirectory() as tmp:
        with harness.Stopwatch() as clock:
            out = simulate_dataset(
                Path(tmp) / "bids",
                preset=preset,
                n_subjects=1,
                n_volumes=n_volumes,
                random_state=seed,
            )
        size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    return clock.seconds, size


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="noddi")
    parser.add_argument("--n-volumes", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=2)
    harness.add_output_arguments(parser, json_option="--output", name="simulate")
    args = parser.parse_args(argv)
    out_dir, name = harness.output_target(args, "simulate")

    with harness.Stopwatch() as imported:
        import eeg2fmri.simulate  # noqa: F401  (import time reported separately)
    from eeg2fmri.simulate import SIMULATION_PRESETS

    p = SIMULATION_PRESETS[args.preset]
    runs = [_one(args.preset, args.n_volumes, seed) for seed in range(args.repeat)]
    with harness.TracedPeak() as peak:
        _one(args.preset, args.n_volumes, 99)
    rss_mb = harness.peak_rss_bytes() / 2**20
    import_s = imported.seconds

    duration = p.eeg_lead + args.n_volumes * p.tr + p.eeg_tail
    eeg_mb = p.n_channels * duration * p.sfreq * 4 / 2**20
    bold_mb = args.n_volumes * int(math.prod(p.bold_shape)) * 4 / 2**20
    command = harness.command_line(__file__, argv)
    result = {
        "preset": args.preset,
        "n_volumes": args.n_volumes,
        "n_channels": p.n_channels,
        "sfreq": p.sfreq,
        "bold_shape": list(p.bold_shape),
        "import_seconds": round(import_s, 3),
        "seconds_cold": round(runs[0][0], 3),
        "seconds_warm": [round(s, 3) for s, _ in runs[1:]],
        "peak_traced_mb": round(peak.bytes / 2**20, 1),
        "peak_rss_mb": round(rss_mb, 1),
        "eeg_float32_mb": round(eeg_mb, 1),
        "bold_float32_mb": round(bold_mb, 1),
        "output_mb": round(runs[0][1] / 2**20, 1),
        "target_seconds": 10.0,
        "command": command,
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
        ("peak traced memory", f"{peak.bytes / 2**20:.0f} MB"),
        ("peak RSS (process)", f"{rss_mb:.0f} MB"),
        ("raw EEG / BOLD float32", f"{eeg_mb:.0f} MB / {bold_mb:.0f} MB"),
        ("dataset on disk", f"{runs[0][1] / 2**20:.0f} MB"),
    ]
    table = harness.markdown_table(["step", "value"], rows)
    harness.publish(
        name, result, table, out_dir=out_dir, write=not args.no_write,
        markdown=f"# Simulating one subject\n\n`{command}`\n\n{table}\n",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
