"""Benchmark: TR-window spectra of a long run (time and peak memory vs raw size).

Cases (random EEG, float64 as mne returns it, volume onsets every TR):

- NODDI-like: 11 min, 64 channels, 250 Hz, TR 2.16 s. Target: under 0.5 s.
- CN-EPFL-like: 8 min, 64 channels, 5 kHz, TR 1.28 s.

Peak memory is the tracemalloc peak during :func:`compute_run_spectra` (numpy and scipy
allocations made after the raw signal exists); target: under twice the raw signal's
size. The time is the best of ``--repeat`` runs without tracemalloc.

Run: ``python benchmarks/bench_features.py``
(writes ``benchmarks/results/features.json`` and ``.md``; ``--out PATH.json`` or
``--out-dir`` elsewhere).
"""

import argparse
import sys
from pathlib import Path

import numpy as np

if not __package__:  # run as a file: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import harness
from eeg2fmri.features import FeatureParams, compute_run_spectra

CASES = [
    dict(
        name="noddi-like 11 min 64 ch 250 Hz",
        minutes=11,
        n_channels=64,
        sfreq=250.0,
        tr=2.16,
    ),
    dict(
        name="cnepfl-like 8 min 64 ch 5 kHz",
        minutes=8,
        n_channels=64,
        sfreq=5000.0,
        tr=1.28,
    ),
]


def run_case(case, repeat, params):
    rng = np.random.default_rng(0)
    n = int(case["minutes"] * 60 * case["sfreq"])
    data = rng.standard_normal((case["n_channels"], n))  # float64, like raw.get_data()
    n_vol = int(np.floor(n / case["sfreq"] / case["tr"]))
    onsets = case["tr"] * np.arange(n_vol)

    def spectra():
        return compute_run_spectra(data, case["sfreq"], onsets, case["tr"], params)[0]

    # keep the times only: the last spectra must not be alive during the traced run
    seconds = harness.time_calls(spectra, repeat, warmup=0).wall
    with harness.TracedPeak() as peak:
        out = spectra()
    return {
        "case": case["name"],
        "n_channels": case["n_channels"],
        "sfreq": case["sfreq"],
        "tr": case["tr"],
        "n_windows": int(out.shape[0]),
        "spectra_shape": list(out.shape),
        "raw_mib": data.nbytes / 2**20,
        "spectra_mib": out.nbytes / 2**20,
        "seconds_best": min(seconds),
        "seconds_all": list(seconds),
        "peak_mib": peak.bytes / 2**20,
        "peak_over_raw": peak.bytes / data.nbytes,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    harness.add_output_arguments(parser, json_option="--out", name="features")
    args = parser.parse_args(argv)
    out_dir, name = harness.output_target(args, "features")
    params = FeatureParams(discard_volumes=0)  # every window of the run
    rows = [run_case(c, args.repeat, params) for c in CASES]
    header = ["case", "windows", "raw MiB", "seconds", "peak MiB", "peak/raw"]
    cells = [
        [r["case"], r["n_windows"], f"{r['raw_mib']:.1f}", f"{r['seconds_best']:.3f}",
         f"{r['peak_mib']:.1f}", f"{r['peak_over_raw']:.3f}"]
        for r in rows
    ]
    table = harness.markdown_table(header, cells, "lrrrrr")
    command = harness.command_line(__file__, argv)
    result = {
        "benchmark": "features.compute_run_spectra",
        "command": command,
        "targets": {"noddi_seconds": 0.5, "peak_over_raw": 2.0},
        "params": params.to_dict(),
        "results": rows,
    }
    harness.publish(
        name, result, table, out_dir=out_dir, write=not args.no_write,
        markdown=f"# TR-window spectra of a long run\n\n`{command}`; best of "
        f"{args.repeat} runs; peak = tracemalloc peak during the call.\n\n"
        + table + "\n",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
