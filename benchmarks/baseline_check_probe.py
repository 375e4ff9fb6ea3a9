"""Probe: does the estimator's fit-time check catch a fold where the default trails
the ridge?

Fits ``Spec2VolEstimator()`` with its own defaults (a validation participant, a refit
on every participant, the check against a band-power ridge) on one fold of a study
dataset or sweep variant, using the study's simulated data and features in ``--work``
(run the study first), and prints one JSON line: the held-out temporal r in the
network voxels, what the check measured on the validation participant, and whether it
warned.

Run: ``python benchmarks/baseline_check_probe.py realistic-n_volumes-60 --fold 0
--work /tmp/eeg2fmri-study`` (the variant's sweep must be one of ``SWEEPS``).
"""

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

if not __package__:  # run as a file: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from benchmarks.study.baselines import FoldData
from benchmarks.study.config import DATASETS, SWEEPS
from benchmarks.study.data import folds, load_pairs


def _spec(name):
    if name in DATASETS:
        return DATASETS[name]
    for sweep in SWEEPS.values():
        variants = sweep.variants()
        if name in variants:
            return variants[name]
    raise SystemExit(
        f"dataset: {name!r} is neither a study dataset nor a sweep variant"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", help="a study dataset or sweep variant name")
    parser.add_argument("--fold", type=int, default=0, help="fold index (0-based)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/eeg2fmri-study"))
    args = parser.parse_args(argv)

    from eeg2fmri import Spec2VolEstimator
    from eeg2fmri.exceptions import BaselineWarning

    spec = _spec(args.dataset)
    ds = load_pairs(spec, args.work)
    fold, test_subjects = folds(spec, set(ds.groups))[args.fold]
    data = FoldData.load(spec, args.work, test_subjects)
    train, test = data.train_idx, data.test_idx
    est = Spec2VolEstimator(random_state=0, device="cpu", batch_size=16)
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(ds.X[train], ds.y[train], groups=ds.groups[train],
                runs=data.runs[train])
    scores = data.score(est, est.predict(ds.X[test]))
    check = {k: v for k, v in (est.baseline_check_ or {}).items()
             if not hasattr(v, "shape")}
    print(json.dumps({
        "dataset": args.dataset,
        "fold": fold,
        "test_r_network": float(np.mean([s["r_network"] for s in scores.values()])),
        "fit_seconds": time.perf_counter() - start,
        "check": check,
        "warned": [str(w.message) for w in caught
                   if issubclass(w.category, BaselineWarning)],
    }, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
