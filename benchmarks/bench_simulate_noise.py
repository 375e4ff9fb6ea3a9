"""Benchmark: the BOLD noise statistics of every simulator preset (the docs' table).

Usage::

    python benchmarks/bench_simulate_noise.py [--presets noddi,oddball,...]
        [--seeds 2] [--n-volumes N] [--white] [--no-brainiak]

For each preset at its default BOLD grid and number of volumes (the EEG is reduced to
4 channels at 250 Hz without artifacts: the BOLD noise does not depend on it), one
subject per seed, it measures with :func:`eeg2fmri.simulate.measure_bold_noise` over
the in-brain voxels (GM + WM + CSF > 0.5):

- ``tSNR`` and ``lag-1 r``: median over voxels after a linear detrend (the measured
  BOLD, signal included), the numbers quoted for real EPI (tSNR 30-130, lag-1
  0.3-0.5);
- ``SFNR`` and ``noise lag-1``: the same on the noise alone (measured - noise-free
  + mean), after a quadratic detrend (Friedman & Glover 2006);

and, when brainiak's ``fmrisim`` imports (``pip install --no-deps brainiak
statsmodels``; never needed by the tests), its ``calc_noise`` estimates on the
measured BOLD: SFNR, SNR, FWHM (mm), AR(1) and MA(1) of an ARMA(1,1) fit. Prints a
Markdown table and writes ``benchmarks/results/simulate_noise.{json,md}``.
"""

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
PRESETS = ("noddi", "oddball", "cnepfl", "inscanner", "realistic")


def _brainiak():
    try:
        from brainiak.utils import fmrisim
    except Exception as error:  # optional: any import failure means "not used"
        return None, f"{type(error).__name__}: {error}"
    return fmrisim, None


def _one(preset, seed, n_volumes, white):
    from eeg2fmri.simulate import measure_bold_noise
    from eeg2fmri.simulate.dataset import _subject_params
    from eeg2fmri.simulate.generative import GenerativeModel
    from eeg2fmri.simulate.presets import WHITE_NOISE, resolve_preset

    overrides = dict(n_channels=4, sfreq=250.0, gradient_artifact=0.0)
    overrides["pulse_artifact"] = 0.0
    if white:
        overrides.update(WHITE_NOISE)
    p = resolve_preset(preset, **overrides)
    model = GenerativeModel(p)
    root = np.random.SeedSequence(seed)
    ss = np.random.SeedSequence(root.entropy, spawn_key=(0, 1))
    start = time.perf_counter()
    run = model.simulate_run(ss, n_volumes or p.n_volumes, _subject_params(root, 0))
    seconds = time.perf_counter() - start
    a = model.anatomy
    brain = (a.gm + a.wm + a.csf) > 0.5
    measured = measure_bold_noise(run.bold, brain)
    noise = run.bold - run.noiseless + run.noiseless.mean(0)
    alone = measure_bold_noise(noise, brain, detrend_order=2)
    row = {
        "preset": preset,
        "seed": seed,
        "tr": p.tr,
        "bold_shape": list(p.bold_shape),
        "n_volumes": int(run.bold.shape[0]),
        "tsnr": round(measured["tsnr"], 1),
        "lag1": round(measured["lag1_autocorrelation"], 3),
        "sfnr": round(alone["tsnr"], 1),
        "noise_lag1": round(alone["lag1_autocorrelation"], 3),
        "simulate_seconds": round(seconds, 2),
        "brain": brain,
        "bold": run.bold,
        "template": np.clip(a.gm + a.wm + a.csf, 0, 1),
        "zooms": [float(z) for z in np.sqrt((a.affine[:3, :3] ** 2).sum(0))],
    }
    return row


def _calc_noise(fmrisim, row, seed):
    vol = row["bold"].transpose(2, 3, 1, 0).astype(np.float64)  # (i, j, k, t)
    mask = row["brain"].transpose(1, 2, 0)
    template = row["template"].transpose(1, 2, 0)
    np.random.seed(seed)  # noqa: NPY002 - calc_noise samples with the global RNG
    start = time.perf_counter()
    est = fmrisim.calc_noise(vol, mask, template, {"voxel_size": row["zooms"]})
    return {
        "brainiak_sfnr": round(float(est["sfnr"]), 1),
        "brainiak_snr": round(float(est["snr"]), 1),
        "brainiak_fwhm_mm": round(float(est["fwhm"]), 2),
        "brainiak_ar1": round(float(np.ravel(est["auto_reg_rho"])[0]), 3),
        "brainiak_ma1": round(float(np.ravel(est["ma_rho"])[0]), 3),
        "brainiak_seconds": round(time.perf_counter() - start, 1),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default=",".join(PRESETS))
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--n-volumes", type=int, default=None)
    parser.add_argument("--white", action="store_true", help="WHITE_NOISE overrides")
    parser.add_argument("--no-brainiak", action="store_true")
    parser.add_argument("--output", type=Path, default=RESULTS / "simulate_noise")
    args = parser.parse_args(argv)

    fmrisim, why = (None, "--no-brainiak") if args.no_brainiak else _brainiak()
    rows = []
    for preset in args.presets.split(","):
        for seed in range(args.seeds):
            row = _one(preset, seed, args.n_volumes, args.white)
            if fmrisim is not None:
                row.update(_calc_noise(fmrisim, row, seed))
            for key in ("brain", "bold", "template", "zooms"):
                del row[key]
            rows.append(row)
            print(json.dumps(row), flush=True)

    cols = ["preset", "seed", "tr", "n_volumes", "tsnr", "lag1", "sfnr", "noise_lag1"]
    if fmrisim is not None:
        cols += [
            "brainiak_sfnr",
            "brainiak_snr",
            "brainiak_fwhm_mm",
            "brainiak_ar1",
            "brainiak_ma1",
        ]
    lines = [
        "| " + " | ".join(cols) + " |",
        "|" + "---|" * len(cols),
        *("| " + " | ".join(str(r[c]) for c in cols) + " |" for r in rows),
    ]
    command = "python benchmarks/bench_simulate_noise.py " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    note = f"brainiak calc_noise: {'used' if fmrisim is not None else 'not used'}" + (
        "" if fmrisim is not None else f" ({why})"
    )
    table = "\n".join(lines)
    print(table)
    print(note)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "rows": rows,
        "white_noise": args.white,
        "brainiak": note,
        "command": command.strip(),
        "python": platform.python_version(),
    }
    args.output.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    args.output.with_suffix(".md").write_text(
        f"# BOLD noise statistics per preset\n\n`{command.strip()}`\n\n{table}\n\n"
        f"{note}\n"
    )
    print(f"wrote {args.output.with_suffix('.json')} and .md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
