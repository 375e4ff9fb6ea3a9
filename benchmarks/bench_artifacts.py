"""Benchmark: correct simulated in-scanner EEG (gradient + pulse) and compare to truth.

Usage::

    python benchmarks/bench_artifacts.py [--minutes 10] [--n-channels 64]

Simulates one run of the ``inscanner`` preset (5 kHz, 63 EEG + ECG, TR 2 s, 32 slices
back to back, R128 volume triggers, no slice markers; the BOLD grid is shrunk since
only the EEG is used), then, for each configuration, corrects the gradient artifact
(:func:`eeg2fmri.artifacts.remove_gradient_artifact` on the float32 array, slice
epochs from the volume triggers and the slice count, output 250 Hz) and the pulse
artifact (:func:`~eeg2fmri.artifacts.find_r_peaks` on the corrected ECG,
:func:`~eeg2fmri.artifacts.remove_pulse_artifact`), and reports against the clean EEG
(down-sampled the same way):

(a) median over EEG channels of the 1-40 Hz correlation with the truth (target >= 0.95);
(b) power at the slice-frequency harmonics (16, 32, 48, 64, 80, 96 Hz) of the corrected
    EEG over the truth's, median over channels, in dB (target: within 3 dB);
(c) median over EEG channels of the correlation, across TR windows, of the alpha
    (8-12 Hz) power with the truth's (target >= 0.9);
(d) seconds and peak memory (tracemalloc: every numpy buffer allocated during the
    correction, the input excluded) of the whole correction, against 60 s and twice
    the float32 size of the raw recording.

Writes ``benchmarks/results/artifacts.json`` and ``artifacts.md`` (atomically;
``--output`` or ``--out-dir`` elsewhere). Timings depend on the machine's load (noted
in the JSON).
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from scipy import signal

if not __package__:  # run as a file: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import harness

SFREQ_OUT = 250.0

CONFIGS = {
    "default": dict(gradient={}, pulse={}),
    "pulse-spatial": dict(gradient={}, pulse={"method": "spatial"}),
    "obs3+pulse-spatial": dict(
        gradient={"obs_components": 3}, pulse={"method": "spatial"}
    ),
    "obs3+pulse-obs": dict(gradient={"obs_components": 3}, pulse={"method": "obs"}),
    "volume-epochs": dict(gradient={}, pulse={}, volume_epochs=True),
}


def simulate(minutes, n_channels, seed):
    """One inscanner run: (run, slice onsets in samples, n_slices, tr)."""
    from eeg2fmri.simulate.dataset import _subject_params
    from eeg2fmri.simulate.generative import GenerativeModel
    from eeg2fmri.simulate.presets import resolve_preset

    p = resolve_preset("inscanner", n_channels=n_channels, bold_shape=(32, 6, 6))
    n_volumes = int(round(minutes * 60 / p.tr))
    root = np.random.SeedSequence(seed)
    ss = np.random.SeedSequence(root.entropy, spawn_key=(0, 1))
    run = GenerativeModel(p).simulate_run(ss, n_volumes, _subject_params(root, 0))
    return run, p


def correct(run, p, config):
    """Gradient then pulse correction of ``run.eeg``; returns (out, seconds, peak)."""
    from eeg2fmri.artifacts import (
        find_r_peaks,
        remove_gradient_artifact,
        remove_pulse_artifact,
    )

    vol = np.asarray(run.truth["volume_onset_samples"], dtype=np.float64)
    n_slices = p.bold_shape[0]
    if config.get("volume_epochs"):
        onsets, per_volume = vol, 1
    else:
        step = p.tr * p.sfreq / n_slices
        onsets = (vol[:, None] + np.arange(n_slices)[None] * step).ravel()
        per_volume = n_slices
    with harness.TracedPeak() as peak, harness.Stopwatch() as clock:
        out, info = remove_gradient_artifact(
            run.eeg,
            p.sfreq,
            onsets,
            sfreq_out=SFREQ_OUT,
            epochs_per_volume=per_volume,
            **config["gradient"],
        )
        t_gradient = clock.elapsed
        ecg = run.ch_types.index("ECG")
        peaks = find_r_peaks(out[ecg], SFREQ_OUT)
        rows = [i for i, t in enumerate(run.ch_types) if t == "EEG"]
        out = remove_pulse_artifact(
            out, SFREQ_OUT, peaks, rows=rows, **config["pulse"]
        )
    return out, {
        "seconds": clock.seconds,
        "gradient_seconds": t_gradient,
        "peak_bytes": peak.bytes,
        "n_beats": int(peaks.size),
        "n_epochs": int(onsets.size),
    }


def metrics(run, p, out):
    """(a) band correlation, (b) harmonic power ratio, (c) alpha-power correlation."""
    rows = [i for i, t in enumerate(run.ch_types) if t == "EEG"]
    down = int(round(p.sfreq / SFREQ_OUT))
    truth = signal.resample_poly(run.clean_eeg[rows].astype(np.float64), 1, down, -1)
    got = out[rows].astype(np.float64)[:, : truth.shape[1]]
    vol = np.asarray(run.truth["volume_onset_samples"]) / down
    first, stop = int(vol[0]), int(vol[-1] + p.tr * SFREQ_OUT)
    sos = signal.butter(4, [1, 40], btype="bandpass", fs=SFREQ_OUT, output="sos")
    a = signal.sosfiltfilt(sos, got)[:, first:stop]
    b = signal.sosfiltfilt(sos, truth)[:, first:stop]
    r = np.array([np.corrcoef(x, y)[0, 1] for x, y in zip(a, b, strict=True)])

    nper = int(4 * SFREQ_OUT)
    f, pa = signal.welch(got[:, first:stop], SFREQ_OUT, nperseg=nper)
    _, pb = signal.welch(truth[:, first:stop], SFREQ_OUT, nperseg=nper)
    slice_freq = p.bold_shape[0] / p.tr
    harmonics = {}
    for k in range(1, int(0.4 * SFREQ_OUT / slice_freq) + 1):
        i = int(np.argmin(np.abs(f - k * slice_freq)))
        harmonics[f"{k * slice_freq:g}"] = float(
            np.median(10 * np.log10(pa[:, i] / pb[:, i]))
        )

    sos_a = signal.butter(4, [8, 12], btype="bandpass", fs=SFREQ_OUT, output="sos")
    pa_t = signal.sosfiltfilt(sos_a, got) ** 2
    pb_t = signal.sosfiltfilt(sos_a, truth) ** 2
    win = int(round(p.tr * SFREQ_OUT))
    starts = np.round(vol).astype(int)
    starts = starts[starts + win <= got.shape[1]]
    idx = starts[:, None] + np.arange(win)[None]
    alpha_a, alpha_b = pa_t[:, idx].mean(-1), pb_t[:, idx].mean(-1)
    alpha_r = np.array(
        [np.corrcoef(x, y)[0, 1] for x, y in zip(alpha_a, alpha_b, strict=True)]
    )
    return {
        "median_r_1_40hz": float(np.median(r)),
        "min_r_1_40hz": float(r.min()),
        "harmonic_power_db": harmonics,
        "max_abs_harmonic_db": float(max(abs(v) for v in harmonics.values())),
        "median_alpha_power_r": float(np.median(alpha_r)),
        "min_alpha_power_r": float(alpha_r.min()),
    }


def _table(rows, raw_bytes):
    header = ["config", "median r 1-40 Hz (min)", "max abs harmonic dB",
              "alpha-power r (min)", "seconds (gradient)", "peak memory / raw float32"]
    cells = [
        [
            name,
            f"{res['median_r_1_40hz']:.3f} ({res['min_r_1_40hz']:.3f})",
            f"{res['max_abs_harmonic_db']:.2f}",
            f"{res['median_alpha_power_r']:.3f} ({res['min_alpha_power_r']:.3f})",
            f"{res['seconds']:.1f} ({res['gradient_seconds']:.1f})",
            f"{res['peak_bytes'] / raw_bytes:.2f}",
        ]
        for name, res in rows.items()
    ]
    return harness.markdown_table(header, cells)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--n-channels", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS)
    )
    harness.add_output_arguments(parser, json_option="--output", name="artifacts")
    args = parser.parse_args(argv)
    out_dir, name = harness.output_target(args, "artifacts")

    with harness.Stopwatch() as sim:
        run, p = simulate(args.minutes, args.n_channels, args.seed)
    raw_bytes = run.eeg.size * 4
    raw_r = metrics(run, p, signal.resample_poly(run.eeg, 1, 20, axis=-1))
    print(
        f"simulated {args.minutes:g} min, {run.eeg.shape[0]} channels at "
        f"{p.sfreq:g} Hz in {sim.seconds:.1f} s; raw float32 {raw_bytes / 2**20:.0f} "
        f"MiB; uncorrected median r {raw_r['median_r_1_40hz']:.3f}"
    )
    results = {}
    for config in args.configs:
        out, timing = correct(run, p, CONFIGS[config])
        results[config] = {**timing, **metrics(run, p, out)}
        print(config, json.dumps(results[config], default=str))
    table = _table(results, raw_bytes)
    env = harness.environment()
    doc = {
        "benchmark": "bench_artifacts",
        "command": harness.command_line(__file__, argv),
        "minutes": args.minutes,
        "n_channels": int(run.eeg.shape[0]),
        "sfreq": p.sfreq,
        "tr": p.tr,
        "n_slices": p.bold_shape[0],
        "sfreq_out": SFREQ_OUT,
        "raw_float32_bytes": raw_bytes,
        "uncorrected": raw_r,
        "targets": {
            "median_r_1_40hz": ">= 0.95",
            "harmonic_power_db": "within +-3 dB",
            "median_alpha_power_r": ">= 0.9",
            "seconds": "< 60 on 2 cores",
            "peak_bytes": "< 2 x raw float32",
        },
        "configs": {k: CONFIGS[k] for k in args.configs},
        "results": results,
        "environment": env,
    }
    harmonics = "\n".join(
        f"- {config}: "
        + ", ".join(f"{f} Hz {v:+.2f}" for f, v in res["harmonic_power_db"].items())
        for config, res in results.items()
    )
    markdown = (
        "# In-scanner EEG artifact correction (simulated)\n\n"
        f"`{doc['command']}`: {args.minutes:g} min, {doc['n_channels']} channels at "
        f"{p.sfreq:g} Hz, TR {p.tr:g} s, {p.bold_shape[0]} slices, output "
        f"{SFREQ_OUT:g} Hz. Uncorrected median r (1-40 Hz) "
        f"{raw_r['median_r_1_40hz']:.3f}. {harness.environment_line(env)}\n\n"
        + table
        + "\n\nHarmonic power (corrected / truth, dB, median over channels):\n\n"
        + harmonics
        + "\n"
    )
    harness.publish(
        name, doc, table, out_dir=out_dir, write=not args.no_write, markdown=markdown
    )


if __name__ == "__main__":
    main()
