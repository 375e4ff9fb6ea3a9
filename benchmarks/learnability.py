"""Can a model learn EEG-driven BOLD fluctuations when the signal is strong?

A diagnostic for the benchmark study (``python -m benchmarks.study``): on a noddi-preset
simulation with a strong, clean coupling (``coupling=0.95``, ``bold_amplitude=0.15``,
``bold_noise=0.005``: 5 times the default signal, half the default noise), each model
is trained on four participants (one more for validation) and scored on a held-out
participant after every ``--step`` epochs (``warm_start``; each call restarts the
learning-rate schedule). Rows with "paper recipe" use the official features and
:meth:`eeg2fmri.Spec2VolEstimator.official` (without the bridge); the others
the defaults. The score is the voxel-wise temporal correlation in the simulated
networks' voxels; the noise-free BOLD (oracle) and
:class:`eeg2fmri.BandPowerRidge` give the ceiling and a linear reference.

Usage::

    python benchmarks/learnability.py              # about 10 min on 2 cores
    python benchmarks/learnability.py --epochs 4 --models spec2vol-small

Writes ``benchmarks/results/learnability.json`` and ``learnability.md``
(``learnability_lr<lr>.*`` with a non-default ``--lr``; ``--out-dir`` changes the
folder).
"""

import argparse
import functools
import sys
import time
from pathlib import Path

import numpy as np

if not __package__:  # run as a file: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import harness
from benchmarks.study import data as study_data
from benchmarks.study.config import StudyDataset

#: label -> (model, model_params, recipe)
MODELS = {
    "spec2vol-small": ("spec2vol-small", {}, "default"),
    "spec2vol-small, paper recipe": (
        "spec2vol-small", {"bridge_latents": 0}, "official"
    ),
    "spec2vol-small, U-Net decoder, paper recipe": (
        "spec2vol-small", {"bridge_latents": 0, "decoder": "unet"}, "official"
    ),
    "e2fnet-small, paper recipe": ("e2fnet-small", {}, "official"),
}
#: The study's noddi sizes with 5 times the default signal and half the noise.
SIMULATION = StudyDataset(
    "strong-signal", "noddi", 6, 150, 32, (16, 32, 32),
    simulation=dict(coupling=0.95, bold_amplitude=0.15, bold_noise=0.005),
)
TEST_SUBJECT = "01"


def _data(work, recipe="default"):
    """(BIDS root, pairs) of the simulation (simulated and cached once, seed 0)."""
    bids = study_data.simulate(SIMULATION, work, seed=0)
    features = "official" if recipe == "official" else "default"
    return bids, study_data.load_pairs(SIMULATION, work, features)


def _network_mask(bids, ds):
    run_label = ds.provenance["run_label"][ds.groups == TEST_SUBJECT].iloc[0]
    return study_data.network_mask(bids, run_label)


def _r_network(y_true, y_pred, mask):
    from eeg2fmri.metrics import mean_temporal_correlation

    return mean_temporal_correlation(y_true, y_pred, mask)


def run_model(label, work, epochs, step, seed, lr=1e-3):
    """Train in ``step``-epoch increments; r on the held-out participant after each."""
    from eeg2fmri.estimators import Spec2VolEstimator
    from eeg2fmri.metrics import comparable_volumes

    model, params, recipe = MODELS[label]
    bids, ds = _data(work, recipe)
    mask = _network_mask(bids, ds)
    test = ds.groups == TEST_SUBJECT
    X, y = np.asarray(ds.X), np.asarray(ds.y)
    make = Spec2VolEstimator.official if recipe == "official" else Spec2VolEstimator
    est = make(
        model=model,
        lr=lr,
        model_params=params or None,
        epochs=step,
        validation_split=0.2,
        device="cpu",
        random_state=seed,
        warm_start=True,
    )
    runs = ds.provenance["run_label"].to_numpy()
    curve, t0 = [], time.perf_counter()
    for done in range(step, epochs + 1, step):
        est.fit(X[~test], y[~test], groups=ds.groups[~test], runs=runs[~test])
        y_true, y_pred = comparable_volumes(est, y[test], est.predict(X[test]))
        curve.append(
            {
                "epochs": done,
                "r_network": _r_network(y_true, y_pred, mask),
                "seconds": time.perf_counter() - t0,
            }
        )
        print(f"{label}: {done} epochs, r = {curve[-1]['r_network']:.3f}", flush=True)
    return label, curve


def references(work):
    """Band-power ridge and the oracle on the held-out participant."""
    from eeg2fmri.estimators import BandPowerRidge

    bids, ds = _data(work)
    mask = _network_mask(bids, ds)
    test = ds.groups == TEST_SUBJECT
    X = np.asarray(ds.X)
    y_raw = np.asarray(ds.y, dtype=np.float64)
    runs = ds.provenance["run_label"].to_numpy()
    ridge = BandPowerRidge(frequencies=ds.frequencies).fit(
        X[~test], y_raw[~test], groups=ds.groups[~test], runs=runs[~test]
    )
    prov = ds.provenance[test]
    truth = study_data.truth_volumes(
        bids, prov["run_label"].iloc[0], prov["volume_index"]
    )
    return {
        "ridge (band power)": _r_network(y_raw[test], ridge.predict(X[test]), mask),
        "oracle (noise-free BOLD)": _r_network(y_raw[test], truth, mask),
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--step", type=int, default=2)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--lr", type=float, default=1e-3, help="learning rate (estimator default 1e-3)"
    )
    p.add_argument("--work", type=Path, default=Path("/tmp/eeg2fmri-learnability"))
    harness.add_output_arguments(p)
    args = p.parse_args(argv)
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    _data(work)  # simulate and cache once, before the workers start
    _data(work, "official")
    refs = references(work)
    print(refs, flush=True)
    fit = functools.partial(
        run_model, work=work, epochs=args.epochs, step=args.step, seed=args.seed,
        lr=args.lr,
    )
    curves = dict(harness.run_parallel(fit, args.models, args.jobs))
    steps = [c["epochs"] for c in next(iter(curves.values()))]
    rows = [
        [label, *(f"{c['r_network']:.3f}" for c in curves[label])]
        for label in args.models
    ]
    rows += [[label, *(f"{r:.3f}" for _ in steps)] for label, r in refs.items()]
    header = ["model", *(f"{e} epochs" for e in steps)]
    table = harness.markdown_table(header, rows, "l" + "r" * len(steps))
    command = harness.command_line(__file__, argv)
    doc = {
        "simulation": SIMULATION.simulate_kwargs(0),
        "test_subject": TEST_SUBJECT,
        "seed": args.seed,
        "lr": args.lr,
        "command": command,
        "curves": curves,
        "references": refs,
    }
    harness.publish(
        "learnability" if args.lr == 1e-3 else f"learnability_lr{args.lr:g}",
        doc,
        table,
        out_dir=args.out_dir,
        write=not args.no_write,
        markdown="# Learnability on a strong-signal simulation\n\n"
        f"`{command}` (seed {args.seed}, learning rate {args.lr:g}); "
        f"temporal r in the network voxels of held-out sub-{TEST_SUBJECT}, after "
        f"each {args.step}-epoch `warm_start` fit.\n\n" + table + "\n",
    )


if __name__ == "__main__":
    main()
