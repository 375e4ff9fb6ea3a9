"""Benchmark: TR-window spectra of a long run (time and peak memory vs raw size).

Cases (random EEG, float64 as mne returns it, volume onsets every TR):

- NODDI-like: 11 min, 64 channels, 250 Hz, TR 2.16 s. Target: under 0.5 s.
- CN-EPFL-like: 8 min, 64 channels, 5 kHz, TR 1.28 s.

Peak memory is the tracemalloc peak during :func:`compute_run_spectra` (numpy and scipy
allocations made after the raw signal exists); target: under twice the raw signal's
size. The time is the best of ``--repeat`` runs without tracemalloc.

Run: ``python benchmarks/bench_features.py``
(writes ``benchmarks/results/features.json``).
"""

import argparse
import json
import platform
import time
import tracemalloc
from pathlib import Path

import numpy as np

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
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        spectra, _ = compute_run_spectra(
            data, case["sfreq"], onsets, case["tr"], params
        )
        times.append(time.perf_counter() - t0)
    del spectra
    tracemalloc.start()
    spectra, _ = compute_run_spectra(data, case["sfreq"], onsets, case["tr"], params)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "case": case["name"],
        "n_channels": case["n_channels"],
        "sfreq": case["sfreq"],
        "tr": case["tr"],
        "n_windows": int(spectra.shape[0]),
        "spectra_shape": list(spectra.shape),
        "raw_mib": data.nbytes / 2**20,
        "spectra_mib": spectra.nbytes / 2**20,
        "seconds_best": min(times),
        "seconds_all": times,
        "peak_mib": peak / 2**20,
        "peak_over_raw": peak / data.nbytes,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--out", default=str(Path(__file__).parent / "results" / "features.json")
    )
    args = parser.parse_args(argv)
    params = FeatureParams(discard_volumes=0)  # every window of the run
    rows = [run_case(c, args.repeat, params) for c in CASES]
    header = (
        f"{'case':34s} {'windows':>7s} {'raw MiB':>8s} {'seconds':>8s} "
        f"{'peak MiB':>9s} {'peak/raw':>8s}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['case']:34s} {r['n_windows']:7d} {r['raw_mib']:8.1f} "
            f"{r['seconds_best']:8.3f} "
            f"{r['peak_mib']:9.1f} {r['peak_over_raw']:8.3f}"
        )
    result = {
        "benchmark": "features.compute_run_spectra",
        "targets": {"noddi_seconds": 0.5, "peak_over_raw": 2.0},
        "params": params.to_dict(),
        "machine": {
            "python": platform.python_version(),
            "processor": platform.machine(),
        },
        "numpy": np.__version__,
        "results": rows,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
