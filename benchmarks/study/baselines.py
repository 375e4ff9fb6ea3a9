"""Rows that are not trained networks, fitted and scored in the main process.

One function per row kind of :mod:`benchmarks.study.config` (:data:`FITTERS`); each
returns the row's result for one fold: ``n_params``, ``train_seconds``,
``inference_ms_per_volume`` and ``subjects`` (per-subject scores).
"""

import importlib
import time
from dataclasses import dataclass

import numpy as np

from .config import (
    NULL_SHIFT_SECONDS,
    EstimatorRow,
    MeanVolumeRow,
    PopulationCeilingRow,
    SimulatedTruthRow,
    TimeOnlyRow,
)
from .data import (
    bids_root,
    load_pairs,
    scale_volumes,
    shift_permutation,
    split,
    standardize_runs,
    take_rows,
    truth_volumes,
)
from .scoring import score_predictions


class TimeOnlyNull:
    """The volume-index null: the mean standardized training BOLD at the same index.

    It never sees EEG. Where every participant has the same stimulus sequence, the
    BOLD is partly predictable from the volume index alone; this row measures how
    much. Each voxel is standardized over time within each training run; predictions
    are mapped to intensity with the runs' mean voxel-wise mean (``location_``) and
    root-mean-square temporal standard deviation (``scale_``), as
    ``Spec2VolEstimator(target_scaling='zscore')`` does.
    """

    def fit(self, volume_index, y, runs):
        """Learn the mean standardized volume at each index.

        Parameters
        ----------
        volume_index : ndarray of int of shape (n,)
        y : ndarray of shape (n, D, H, W)
        runs : ndarray of shape (n,)
            Run label of each row.
        """
        volume_index = np.asarray(volume_index)
        z, self.location_, self.scale_ = standardize_runs(y, runs)
        self.index_ = np.unique(volume_index)
        self.mean_ = np.stack([z[volume_index == v].mean(axis=0) for v in self.index_])
        return self

    def predict(self, volume_index):
        """Predicted volumes, (n, D, H, W) float32; an unseen index gets the mean."""
        volume_index = np.asarray(volume_index)
        pos = np.clip(np.searchsorted(self.index_, volume_index), 0,
                      len(self.index_) - 1)
        known = self.index_[pos] == volume_index
        z = np.where(known[:, None, None, None], self.mean_[pos], 0.0)
        return (self.location_ + self.scale_ * z).astype(np.float32)


@dataclass
class FoldData:
    """One fold of one dataset, default features, with what every baseline needs."""

    spec: object
    bids: object
    ds: object
    train_idx: np.ndarray
    test_idx: np.ndarray
    units: object  # a fitted MeanVolumeRegressor: the units of model-free rows

    @classmethod
    def load(cls, spec, work, test_subjects):
        from eeg2fmri.estimators import MeanVolumeRegressor

        ds = load_pairs(spec, work)
        train_idx, test_idx = split(ds, test_subjects)
        X = take_rows(ds.X, train_idx)[:, :1, :1, :1]
        units = MeanVolumeRegressor().fit(
            X, np.asarray(ds.y[train_idx]), groups=ds.groups[train_idx],
            runs=ds.provenance["run_label"].to_numpy()[train_idx],
        )
        return cls(spec, bids_root(work, spec), ds, train_idx, test_idx, units)

    @property
    def runs(self):
        return self.ds.provenance["run_label"].to_numpy()

    def score(self, est, pred, **kwargs):
        return score_predictions(
            self.ds, self.test_idx, est, pred, bids=self.bids,
            target_shape=self.spec.target_shape, **kwargs,
        )


def public_class(path):
    """The class named by ``"module:Class"``; only public (non-underscore) names."""
    module, _, name = path.partition(":")
    if not name or any(p.startswith("_") for p in [*module.split("."), name]):
        raise ValueError(
            f"estimator: expected a public 'module:Class' path, got {path!r}"
        )
    return getattr(importlib.import_module(module), name)


def _n_params(est):
    """Fitted coefficients of a linear baseline (None when it has none)."""
    last = getattr(est, "pipeline_", None)
    coef = getattr(last[-1], "coef_", None) if last is not None else None
    if coef is None:
        return None
    parts = [coef, getattr(est, "intercept_", None), getattr(est, "components_", None)]
    return int(sum(np.size(p) for p in parts if p is not None))


def fit_estimator_row(row, fold):
    """A public estimator: fit on the training rows, score, and score shifted EEG."""
    ds, train_idx, test_idx = fold.ds, fold.train_idx, fold.test_idx
    kwargs = dict(row.params)
    if row.pass_frequencies:
        kwargs["frequencies"] = ds.frequencies
    est = public_class(row.estimator)(**kwargs)
    X_train, y_train = take_rows(ds.X, train_idx), np.asarray(ds.y[train_idx])
    t0 = time.perf_counter()
    est.fit(X_train, y_train, groups=ds.groups[train_idx], runs=fold.runs[train_idx])
    train_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    pred = est.predict(take_rows(ds.X, test_idx))
    predict_seconds = time.perf_counter() - t0
    shift = shift_permutation(ds.provenance, ds.tr, NULL_SHIFT_SECONDS)
    pred_null = est.predict(take_rows(ds.X, shift[test_idx]))
    rank = getattr(est, "rank_", None)
    alpha = getattr(est, "alpha_", None)
    return {
        "n_params": _n_params(est),
        "train_seconds": train_seconds,
        "inference_ms_per_volume": 1000 * predict_seconds / len(test_idx),
        "alpha_median": None if alpha is None else float(np.median(alpha)),
        "rank": int(rank) if rank else None,
        "subjects": fold.score(est, pred, pred_null=pred_null),
    }


def _untimed(n_params, subjects):
    return {
        "n_params": n_params,
        "train_seconds": None,
        "inference_ms_per_volume": None,
        "subjects": subjects,
    }


def fit_mean_volume_row(row, fold):
    """The mean training volume (constant over time: temporal r = 0)."""
    pred = fold.units.predict(take_rows(fold.ds.X, fold.test_idx)[:, :1, :1, :1])
    return _untimed(int(fold.units.mean_volume_.size), fold.score(fold.units, pred))


def fit_time_only_row(row, fold):
    """The mean standardized training BOLD at the same volume index."""
    index = fold.ds.provenance["volume_index"].to_numpy()
    y_train = np.asarray(fold.ds.y[fold.train_idx])
    null = TimeOnlyNull().fit(index[fold.train_idx], y_train, fold.runs[fold.train_idx])
    pred = null.predict(index[fold.test_idx])
    return _untimed(int(null.mean_.size), fold.score(fold.units, pred))


def fit_truth_row(row, fold):
    """Volumes the simulator wrote: correlations in intensity; SSIM and PSNR with
    each volume scaled by the measured volume's min and max (noise sets the
    background minimum)."""
    prov = fold.ds.provenance.iloc[fold.test_idx]
    y_raw = np.asarray(fold.ds.y[fold.test_idx], dtype=np.float64)
    truth = np.empty_like(y_raw)
    for run_label in prov["run_label"].unique():
        sel = (prov["run_label"] == run_label).to_numpy()
        truth[sel] = truth_volumes(
            fold.bids, run_label, prov["volume_index"][sel],
            fold.spec.target_shape, desc=row.desc,
        )
    metric = scale_volumes(truth, reference=y_raw)
    return _untimed(None, fold.score(fold.units, truth, metric_pred=metric))


def fit_population_ceiling_row(row, fold):
    """The EEG-visible drive through a haemodynamic response learned on the
    training participants."""
    from .population_ceiling import PopulationCeiling, drive_tables

    runs = fold.runs
    index = fold.ds.provenance["volume_index"].to_numpy()
    ceiling = PopulationCeiling(row.variant)
    features = ceiling.features(drive_tables(fold.bids, runs), runs, index)
    ceiling.fit(features[fold.train_idx], np.asarray(fold.ds.y[fold.train_idx]),
                runs[fold.train_idx])
    pred = ceiling.predict(features[fold.test_idx])
    return _untimed(int(ceiling.ridge_.coef_.size), fold.score(fold.units, pred))


#: Row kind -> function(row, fold) -> result.
FITTERS = {
    EstimatorRow: fit_estimator_row,
    MeanVolumeRow: fit_mean_volume_row,
    TimeOnlyRow: fit_time_only_row,
    SimulatedTruthRow: fit_truth_row,
    PopulationCeilingRow: fit_population_ceiling_row,
}


def run_baselines(spec, work, test_subjects, rows):
    """``{label: result}`` of the given baseline rows on one fold."""
    fold = FoldData.load(spec, work, test_subjects)
    return {label: FITTERS[type(row)](row, fold) for label, row in rows.items()}
