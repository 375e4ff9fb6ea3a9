"""Can a model learn EEG-driven BOLD fluctuations when the signal is strong?

A diagnostic for the benchmark study (``benchmarks/study.py``): on a noddi-preset
simulation with a strong, clean coupling (``coupling=0.95``, ``bold_amplitude=0.15``,
``bold_noise=0.005``: 5 times the default signal, half the default noise), each model
is trained on four participants (one more for validation) and scored on a held-out
participant after every ``--step`` epochs (``warm_start``; each call restarts the
learning-rate schedule). Rows with "paper recipe" use the official features and
:meth:`eeg2fmri.estimator.Spec2VolEstimator.official` (without the bridge); the others
the defaults. The score is the voxel-wise temporal correlation in the simulated
networks' voxels; the noise-free BOLD (oracle) and
:class:`eeg2fmri.linear.BandPowerRidge` give the ceiling and a linear reference.

Usage::

    python benchmarks/learnability.py              # about 10 min on 2 cores
    python benchmarks/learnability.py --epochs 4 --models spec2vol-small

Writes ``benchmarks/results/learnability.json`` and ``learnability.md``
(``learnability_lr<lr>.*`` with a non-default ``--lr``).
"""

import argparse
import concurrent.futures
import functools
import importlib.util
import multiprocessing
import os
import shlex
import sys
import time
from pathlib import Path

import numpy as np

from eeg2fmri.metrics import comparable_volumes

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"

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
SIMULATION = dict(
    preset="noddi",
    n_subjects=6,
    n_volumes=150,
    n_channels=32,
    bold_shape=(16, 32, 32),
    coupling=0.95,
    bold_amplitude=0.15,
    bold_noise=0.005,
)
TEST_SUBJECT = "01"


@functools.cache
def _study():
    """``benchmarks/study.py`` as a module (loaded once per process)."""
    spec = importlib.util.spec_from_file_location("study", HERE / "study.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _study_spec():
    """The simulation above, described the way ``study.py``'s helpers expect."""
    sim = SIMULATION
    return _study().StudyDataset(
        sim["preset"],
        sim["n_subjects"],
        sim["n_volumes"],
        sim["n_channels"],
        sim["bold_shape"],
    )


def _data(work, recipe="default"):
    from eeg2fmri.features import FeatureParams, build_dataset
    from eeg2fmri.simulate import simulate_dataset

    bids = work / "bids"
    if not (bids / "dataset_description.json").is_file():
        simulate_dataset(bids, random_state=0, **SIMULATION)
    params = FeatureParams.official() if recipe == "official" else FeatureParams()
    return bids, build_dataset(bids, params, work_dir=work / "features")


def _network_mask(bids, ds):
    study = _study()
    spec = _study_spec()
    run_label = ds.provenance["run_label"][ds.groups == TEST_SUBJECT].iloc[0]
    return study.network_mask(spec, bids, run_label)


def _r_network(y_true, y_pred, mask):
    from eeg2fmri.metrics import mean_temporal_correlation

    return mean_temporal_correlation(y_true, y_pred, mask)


def run_model(label, work, epochs, step, seed, lr=1e-3):
    """Train in ``step``-epoch increments; r on the held-out participant after each."""
    os.environ["EEG2FMRI_SCAN_THREADS"] = "1"
    import torch

    from eeg2fmri.estimators import Spec2VolEstimator

    torch.set_num_threads(1)
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

    study = _study()
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
    truth = study.truth_volumes(
        _study_spec(),
        bids,
        prov["run_label"].iloc[0],
        prov["volume_index"],
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
    p.add_argument("--no-write", action="store_true")
    args = p.parse_args(argv)
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    _data(work)  # simulate and cache once, before the workers start
    _data(work, "official")
    refs = references(work)
    print(refs, flush=True)
    ctx = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(args.jobs, mp_context=ctx) as pool:
        futures = [
            pool.submit(run_model, m, work, args.epochs, args.step, args.seed, args.lr)
            for m in args.models
        ]
        curves = dict(f.result() for f in futures)
    steps = [c["epochs"] for c in next(iter(curves.values()))]
    lines = [
        "| model | " + " | ".join(f"{e} epochs" for e in steps) + " |",
        "|---|" + "---:|" * len(steps),
    ]
    for label in args.models:
        lines.append(
            f"| {label} | "
            + " | ".join(f"{c['r_network']:.3f}" for c in curves[label])
            + " |"
        )
    for label, r in refs.items():
        lines.append(f"| {label} | " + " | ".join(f"{r:.3f}" for _ in steps) + " |")
    table = "\n".join(lines)
    print(table)
    if not args.no_write:
        from eeg2fmri._utils.io import write_json_atomic, write_text_atomic

        RESULTS.mkdir(exist_ok=True)
        stem = "learnability" if args.lr == 1e-3 else f"learnability_lr{args.lr:g}"
        command = shlex.join(
            ["python", "benchmarks/learnability.py"]
            + list(argv if argv is not None else sys.argv[1:])
        )
        write_json_atomic(
            RESULTS / f"{stem}.json",
            {
                "simulation": {
                    k: list(v) if isinstance(v, tuple) else v
                    for k, v in SIMULATION.items()
                },
                "test_subject": TEST_SUBJECT,
                "seed": args.seed,
                "lr": args.lr,
                "command": command,
                "curves": curves,
                "references": refs,
            },
        )
        write_text_atomic(
            RESULTS / f"{stem}.md",
            (
                "# Learnability on a strong-signal simulation\n\n"
                f"`{command}` (seed {args.seed}, learning rate {args.lr:g}); "
                "temporal r in the network voxels of held-out sub-"
                f"{TEST_SUBJECT}, after each {args.step}-epoch `warm_start` fit.\n\n"
                + table
                + "\n"
            ),
        )


if __name__ == "__main__":
    main()
