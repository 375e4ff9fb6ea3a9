"""Jobs, workers and the resumable work folder.

The work folder holds the simulated datasets (``bids-<name>``), the feature cache
(``features``) and one JSON file per finished fit (``results/<name>/<row>/<fold>.json``
for trained rows, ``results/<name>/baselines/<fold>.json`` for the others, one entry
per row): a re-run with the same folder skips what is done.
"""

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.harness import run_parallel, write_json_atomic

from .baselines import run_baselines
from .config import NULL_SHIFT_SECONDS, is_trained, rows_for
from .data import bids_root, folds, load_pairs, shift_permutation, split, take_rows
from .scoring import score_predictions


def _json_ready(obj):
    """``obj`` with numpy values and tuples turned into plain JSON values."""
    def default(o):
        return o.tolist() if hasattr(o, "tolist") else str(o)

    return json.loads(json.dumps(obj, default=default))


@dataclass(frozen=True, eq=False)
class Job:
    """One trained fit: a row on one fold of one dataset."""

    spec: object  # StudyDataset (at the run's size)
    fold: str
    test_subjects: tuple
    label: str
    row: object  # TrainedRow
    seed: int
    work: str
    quick: bool

    @property
    def key(self):
        safe = self.label
        for ch in " ()[],":
            safe = safe.replace(ch, "_")
        return f"{self.spec.name}/{safe}/{self.fold}"

    def result_path(self):
        return Path(self.work) / "results" / f"{self.key}.json"


def _n_params(est):
    """The network's parameters, plus the ridge's numbers in its predictions."""
    n = sum(p.numel() for p in est.model_.parameters())
    backing = getattr(est, "ridge_backing_", None)
    if backing is not None:
        n += sum(np.size(getattr(backing, k)) for k in (
            "feature_mean", "feature_scale", "feature_maps", "voxel_maps", "intercept"
        ))
    return int(n)


def run_job(job):
    """Fit one network, predict its held-out participants, save the scores.

    Returns
    -------
    key : str
    train_seconds : float
    """
    row, spec, work = job.row, job.spec, Path(job.work)
    ds = load_pairs(spec, work, row.feature_set)
    train_idx, test_idx = split(ds, job.test_subjects)
    shift = shift_permutation(ds.provenance, ds.tr, NULL_SHIFT_SECONDS)
    x_train = shift[train_idx] if row.shifted else train_idx
    x_test = shift[test_idx] if row.shifted else test_idx
    est = row.estimator(job.quick, job.seed)
    t0 = time.perf_counter()
    est.fit(
        take_rows(ds.X, x_train),
        np.asarray(ds.y[train_idx]),
        groups=ds.groups[train_idx],
        runs=ds.provenance["run_label"].to_numpy()[train_idx],
    )
    train_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    pred = est.predict(take_rows(ds.X, x_test))
    predict_seconds = time.perf_counter() - t0
    pred_null = None if row.shifted else est.predict(take_rows(ds.X, shift[test_idx]))
    result = {
        "preset": spec.name,
        "fold": job.fold,
        "row": job.label,
        "model": row.model,
        "recipe": row.recipe,
        "params": est.get_params(deep=False) | {"model_params": row.model_params},
        "n_params": _n_params(est),
        "train_seconds": train_seconds,
        "inference_ms_per_volume": 1000 * predict_seconds / len(test_idx),
        "n_train": int(len(train_idx)),
        "best_epoch": int(est.best_epoch_),
        "validation_subjects": list(est.validation_groups_ or []),
        "history": est.history_,
        "subjects": score_predictions(
            ds, test_idx, est, pred, bids=bids_root(work, spec),
            target_shape=spec.target_shape, pred_null=pred_null,
        ),
    }
    write_json_atomic(job.result_path(), _json_ready(result))
    return job.key, train_seconds


def baseline_results(spec, work, fold, test_subjects, rows):
    """Results of the baseline rows on one fold, from the work folder or fitted.

    Rows missing from ``results/<name>/baselines/<fold>.json`` are fitted and added
    to it.

    Returns
    -------
    results : list of dict
        One per row, as :func:`run_job` writes them (``preset``, ``fold``, ``row``...).
    """
    path = Path(work) / "results" / spec.name / "baselines" / f"{fold}.json"
    done = json.loads(path.read_text()) if path.is_file() else {}
    missing = {label: row for label, row in rows.items() if label not in done}
    if missing:
        done.update(_json_ready(run_baselines(spec, work, test_subjects, missing)))
        write_json_atomic(path, done)
    return [
        {"preset": spec.name, "fold": fold, "row": label, **done[label]}
        for label in rows
    ]


@dataclass
class Plan:
    """What a run does: the trained fits and the baselines' results."""

    jobs: list
    results: list
    timings: dict


def plan(specs, work, args):
    """Simulate every dataset, fit its baselines, list its trained fits.

    Parameters
    ----------
    specs : dict of {name: StudyDataset}
        At the run's size.
    work : Path
    args : argparse.Namespace
        ``seed``, ``quick``, ``ablation_datasets``, ``ablations``.
    """
    from .data import simulate

    out = Plan([], [], {})
    for name, spec in specs.items():
        t0 = time.perf_counter()
        simulate(spec, work, args.seed)
        ds = load_pairs(spec, work)
        load_pairs(spec, work, "official")
        out.timings[f"data_{name}"] = time.perf_counter() - t0
        print(
            f"{name}: {len(ds)} pairs, X {ds.X.shape[1:]}, y {ds.y.shape[1:]}, "
            f"{len(set(ds.groups))} participants",
            flush=True,
        )
        rows = rows_for(name, args.ablation_datasets, args.ablations)
        baselines = {k: r for k, r in rows.items() if not is_trained(r)}
        t0 = time.perf_counter()
        for fold, test_subjects in folds(spec, set(ds.groups)):
            out.results += baseline_results(spec, work, fold, test_subjects, baselines)
            out.jobs += [
                Job(spec, fold, tuple(test_subjects), label, row, args.seed,
                    str(work), args.quick)
                for label, row in rows.items()
                if is_trained(row)
            ]
        out.timings[f"baselines_{name}"] = time.perf_counter() - t0
    return out


def run_jobs(todo, jobs):
    """Train ``todo`` (the costliest first) in ``jobs`` single-thread workers."""
    todo = sorted(todo, key=lambda j: -j.row.cost)
    t_start = time.perf_counter()
    for i, (key, seconds) in enumerate(run_parallel(run_job, todo, jobs), 1):
        print(
            f"[{i}/{len(todo)}] {key}: trained in {seconds:.0f} s "
            f"({time.perf_counter() - t_start:.0f} s elapsed)",
            flush=True,
        )


def finished_results(jobs):
    """The saved results of the jobs that are done (list of dict)."""
    return [
        json.loads(j.result_path().read_text())
        for j in jobs
        if j.result_path().is_file()
    ]
