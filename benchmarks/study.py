"""The paper's evaluation protocol at CPU scale, on simulated EEG-fMRI datasets.

One command runs the whole study and writes its tables and figures::

    python benchmarks/study.py                       # under 2 h on 2 cores
    python benchmarks/study.py --quick --out /tmp/s  # minutes: smoke run, tiny sizes

What it does (see ``docs/study.rst`` for the discussion of the results):

1. Simulates the ``noddi``, ``oddball`` and ``cnepfl`` presets at CPU scale (fewer
   subjects, volumes, electrodes and voxels than the real datasets; see
   :data:`STUDY_DATASETS`). cnepfl is simulated on a finer grid and DCT-resampled to
   the common grid, as the paper does for CN-EPFL.
2. Builds the (EEG context, BOLD volume) pairs twice: with the default features
   (log-magnitude TR-window spectra, :class:`eeg2fmri.features.FeatureParams`) and with
   the official ones (:meth:`~eeg2fmri.features.FeatureParams.official`).
3. Splits by participant: leave-one-subject-out for noddi and oddball, a fixed split
   with the last four participants as the test set for cnepfl.
4. Rows (:data:`MAIN_ROWS`, :data:`ABLATIONS`, :data:`BASELINES`):

   - ``spec2vol-small`` with the default recipe (the estimator's defaults: bridge,
     per-run voxel standardization, MSE), trained on all training participants for a
     fixed number of epochs;
   - the same model trained and tested on EEG circularly shifted against the BOLD by
     at least 60 s within each run (a null that keeps every statistic of the EEG but
     its alignment with the BOLD);
   - ``spec2vol-small`` and ``e2fnet-small`` with the paper's recipe
     (:meth:`~eeg2fmri.estimator.Spec2VolEstimator.official`, no bridge, model
     selection on SSIM of a validation participant), as in the paper;
   - ablations of the default recipe on the ablation datasets (cnepfl by default, as
     in the paper's Table 3): each part of the model or recipe changed alone;
   - the linear baselines :class:`~eeg2fmri.linear.BandPowerRidge` and
     :class:`~eeg2fmri.linear.ReducedRankRidge` (penalty and rank by group
     cross-validation on the training participants); the mean training volume; a
     time-only null that sees the volume index but no EEG (the mean standardized
     training BOLD at the same index); and the oracle, the simulator's noise-free BOLD.
5. Scores every held-out participant: SSIM and PSNR in the paper's units (each volume
   min-max scaled to [0, 1]); the voxel-wise temporal correlation with the measured
   BOLD, averaged over the simulated networks' voxels and over the brain; the same
   correlation with the test EEG circularly shifted (every model's null, at no
   training cost); and the correlation of parcel-mean time courses in the 264
   spheres (8 mm) of the Power et al. (2011) atlas, averaged over the spheres that
   overlap the simulated networks and over all spheres in the brain.
6. Compares ``spec2vol-small`` with every other row by a paired t-test across held-out
   participants (p-value, 95 % confidence interval of the mean difference, Holm
   adjustment per dataset) plus the Wilcoxon signed-rank p-value, and draws violin
   plots of the per-volume SSIM and PSNR and the per-participant temporal r.

Trained fits run in ``--jobs`` worker processes with one thread each (two single-thread
fits use two cores better than one two-thread fit; see ``benchmarks/results/scan.md``).
Each fit's result is saved in the work folder as soon as it finishes; a re-run with the
same work folder skips what is done. Outputs (``--out``, default ``docs/study``):
``results.md``, ``results.rst``, ``summary.tsv``, ``per_subject.tsv``,
``paired_tests.tsv``, ``study.json`` (command, versions, seeds, timings) and
``figures/*.png``.
"""

import argparse
import concurrent.futures
import json
import math
import multiprocessing
import os
import platform
import shlex
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from eeg2fmri.metrics import comparable_volumes

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


@dataclass(frozen=True)
class StudyDataset:
    """How one preset is simulated and split for the study."""

    preset: str
    n_subjects: int
    n_volumes: int
    n_channels: int
    bold_shape: tuple
    target_shape: tuple | None = None  # DCT-resample the BOLD to this grid
    n_test: int | None = None  # None: leave-one-subject-out; else the last n_test


#: CPU-scale versions of the paper's datasets (Table 1 has 16-20 participants,
#: 30 x 64 x 64 volumes, 43-64 electrodes).
STUDY_DATASETS = {
    "noddi": StudyDataset("noddi", 6, 150, 32, (16, 32, 32)),
    "oddball": StudyDataset("oddball", 6, 150, 32, (16, 32, 32)),
    "cnepfl": StudyDataset(
        "cnepfl", 10, 150, 32, (27, 54, 54), target_shape=(16, 32, 32), n_test=4
    ),
}

#: Tiny sizes for ``--quick`` (a smoke run of the whole pipeline).
QUICK_DATASETS = {
    "noddi": StudyDataset("noddi", 3, 40, 8, (6, 12, 12)),
    "oddball": StudyDataset("oddball", 3, 40, 8, (6, 12, 12)),
    "cnepfl": StudyDataset(
        "cnepfl", 5, 40, 8, (9, 18, 18), target_shape=(6, 12, 12), n_test=2
    ),
}

#: The model compared with every other row.
REFERENCE_ROW = "spec2vol-small"
#: Epochs of the default recipe (the estimator's default) and of the paper recipe
#: (10, as the previous study; the official code trains for 50).
DEFAULT_EPOCHS = 15
PAPER_EPOCHS = 10
#: Shortest circular shift of the EEG against the BOLD in the null rows (seconds).
NULL_SHIFT_SECONDS = 60.0


@dataclass(frozen=True)
class Row:
    """A trained row: which estimator, on which features, and whether it is a null.

    ``recipe='default'``: :class:`~eeg2fmri.estimator.Spec2VolEstimator` defaults,
    trained on all training participants (``validation_split=0``) for
    :data:`DEFAULT_EPOCHS`; ``'official'``: ``Spec2VolEstimator.official`` with the
    official features, a validation participant and :data:`PAPER_EPOCHS`. ``params``
    override estimator parameters, ``features='official'`` the features alone.
    ``shifted``: train and test on circularly shifted EEG.
    """

    model: str
    recipe: str = "default"
    model_params: tuple = ()
    params: tuple = ()
    features: str | None = None
    shifted: bool = False
    cost: float = 1.0  # relative cost, to schedule the costliest fits first
    datasets: tuple | None = None  # None: every dataset it is listed for

    @property
    def feature_set(self):
        return self.features or ("official" if self.recipe == "official" else "default")

    def estimator(self, quick, seed):
        from eeg2fmri.estimators import Spec2VolEstimator

        kwargs = dict(
            model=self.model,
            model_params=dict(self.model_params) or None,
            batch_size=4 if quick else 16,
            device="cpu",
            random_state=seed,
        )
        if self.recipe == "official":
            kwargs.update(epochs=1 if quick else PAPER_EPOCHS, validation_split=0.2)
            kwargs.update(dict(self.params))
            return Spec2VolEstimator.official(**kwargs)
        kwargs.update(epochs=1 if quick else DEFAULT_EPOCHS, validation_split=0)
        kwargs.update(dict(self.params))
        return Spec2VolEstimator(**kwargs)


#: Trained rows on every dataset.
MAIN_ROWS = {
    "spec2vol-small": Row("spec2vol-small", cost=1.5),
    "spec2vol-small, EEG shifted (null)": Row("spec2vol-small", shifted=True, cost=1.5),
    "spec2vol-small, paper recipe": Row(
        "spec2vol-small", "official", model_params=(("bridge_latents", 0),), cost=0.8
    ),
    # on cnepfl only, to keep the study within 2 hours on 2 cores (the previous
    # study ran it on all three datasets: temporal r about 0 everywhere)
    "e2fnet-small, paper recipe": Row(
        "e2fnet-small", "official", cost=2.0, datasets=("cnepfl",)
    ),
}
#: Trained rows on the ablation datasets: one change to the default recipe each.
ABLATIONS = {
    "no bridge": Row("spec2vol-small", model_params=(("bridge_latents", 0),)),
    "bridge only (no encoder blocks, no decoder)": Row(
        "spec2vol-small", model_params=(("decoder", "none"),), cost=0.2
    ),
    "bridge on the encoder output": Row(
        "spec2vol-small", model_params=(("bridge_source", "encoder"),)
    ),
    "U-Net decoder": Row("spec2vol-small", model_params=(("decoder", "unet"),)),
    "no attention": Row("spec2vol-small", model_params=(("attention", False),)),
    "correlation loss": Row("spec2vol-small", params=(("loss", "correlation"),)),
    "per-volume [0, 1] targets": Row(
        "spec2vol-small", params=(("target_scaling", "volume"),)
    ),
    "official inputs (z-scored across electrodes, min-max)": Row(
        "spec2vol-small", params=(("input_scaling", "minmax"),), features="official"
    ),
}
#: The paper's conv-path ablations (``--ablations all``): the paths sit in the encoder
#: blocks, which with the default recipe feed the decoder only; the "bridge only" row
#: removes blocks and decoder at once and bounds what they contribute together.
CONV_PATH_ABLATIONS = {
    "no electrode path": Row(
        "spec2vol-small", model_params=(("conv_paths", ("frequency", "square")),)
    ),
    "no frequency path": Row(
        "spec2vol-small", model_params=(("conv_paths", ("electrode", "square")),)
    ),
    "no square path": Row(
        "spec2vol-small", model_params=(("conv_paths", ("electrode", "frequency")),)
    ),
}
#: Rows that are not trained networks (fitted in the main process).
BASELINES = (
    "ridge (band power)",
    "reduced-rank ridge",
    "mean volume",
    "time only (null)",
    "oracle (noise-free BOLD)",
)

ALL_ROWS = {**MAIN_ROWS, **ABLATIONS, **CONV_PATH_ABLATIONS}

METRICS = (
    "ssim",
    "psnr",
    "r_network",
    "r_brain",
    "r_null",
    "r_parcels",
    "r_parcels_all",
)
METRIC_LABELS = {
    "ssim": "SSIM",
    "psnr": "PSNR (dB)",
    "r_network": "temporal r, network voxels",
    "r_brain": "temporal r, brain",
    "r_null": "temporal r, network voxels, EEG shifted",
    "r_parcels": "parcel r, network spheres",
    "r_parcels_all": "parcel r, all spheres",
}


# ------------------------------------------------------------------ data and folds


def _dataset_seed(seed, preset):
    return seed + list(STUDY_DATASETS).index(preset)


def simulate(spec, work, seed):
    """Simulate one preset into ``work/bids-<preset>`` (skipped when present)."""
    from eeg2fmri.simulate import simulate_dataset

    bids = work / f"bids-{spec.preset}"
    if not (bids / "dataset_description.json").is_file():
        simulate_dataset(
            bids,
            preset=spec.preset,
            n_subjects=spec.n_subjects,
            n_volumes=spec.n_volumes,
            n_channels=spec.n_channels,
            bold_shape=spec.bold_shape,
            random_state=_dataset_seed(seed, spec.preset),
        )
    return bids


def load_pairs(spec, work, features="default"):
    """The preset's paired dataset (features cached in the work folder)."""
    from eeg2fmri.features import FeatureParams, build_dataset

    params = FeatureParams.official() if features == "official" else FeatureParams()
    return build_dataset(
        work / f"bids-{spec.preset}",
        params,
        target_shape=spec.target_shape,
        work_dir=work / "features",
    )


def folds(spec, subjects):
    """``[(fold name, test subjects)]``: one per subject, or the fixed test split."""
    subjects = sorted(subjects)
    if spec.n_test is None:
        return [(f"sub-{s}", [s]) for s in subjects]
    return [("test", subjects[-spec.n_test :])]


def _truth_path(bids, run_label, desc):
    sub = run_label.split("_")[0]
    return (
        bids
        / "derivatives"
        / "simulation"
        / sub
        / "func"
        / (f"{run_label}_desc-{desc}.nii.gz")
    )


def truth_volumes(spec, bids, run_label, volume_indices):
    """Noise-free BOLD of the given volumes, on the study grid, (n, D, H, W)."""
    from eeg2fmri.bids.bold import load_bold
    from eeg2fmri.features.resample import resample_volumes

    bold = load_bold(_truth_path(bids, run_label, "noiseless_bold"))
    vols = np.asarray(bold.volumes)[np.asarray(volume_indices)]
    if spec.target_shape is not None:
        vols, _ = resample_volumes(vols, bold.affine, spec.target_shape, "dct")
    return vols


def network_mask(spec, bids, run_label):
    """Voxels where a simulated network map exceeds 0.5, on the study grid."""
    import nibabel as nib

    from eeg2fmri.bids.bold import nifti_to_volumes
    from eeg2fmri.features.resample import resample_volumes

    img = nib.load(_truth_path(bids, run_label, "networks_mask"))
    maps = nifti_to_volumes(np.asarray(img.dataobj, dtype=np.float32))
    if spec.target_shape is not None:
        maps, _ = resample_volumes(maps, img.affine, spec.target_shape, "linear")
    return (maps > 0.5).any(axis=0)


def brain_mask(y_scaled):
    """Voxels whose mean scaled intensity exceeds 0.2 (the brain on these images)."""
    return y_scaled.mean(axis=0) > 0.2


def power_spheres(ds, net_mask, brain):
    """Power et al. (2011) spheres (8 mm) on the study grid, as (masks, kind).

    ``kind`` is ``'network'`` for spheres that overlap the simulated networks, ``'all'``
    for the others inside the brain; spheres without a brain voxel are dropped.
    """
    from nilearn.datasets import fetch_coords_power_2011

    from eeg2fmri.metrics import sphere_masks

    rois = fetch_coords_power_2011().rois  # a CSV shipped with nilearn: no download
    coords = rois[["x", "y", "z"]].to_numpy(dtype=float)
    masks = sphere_masks(net_mask.shape, ds.affine, coords, radius=8.0) & brain
    keep = masks.reshape(len(masks), -1).any(axis=1)
    masks = masks[keep]
    in_network = (masks & net_mask).reshape(len(masks), -1).any(axis=1)
    return masks, in_network


def scale_volumes(v, reference=None):
    """Per-volume min-max scaling to [0, 1] (the official target units).

    With ``reference`` (same shape), volume ``i`` of ``v`` is scaled with the min and
    max of ``reference[i]``: the noise-free BOLD in the measured volume's units.
    """
    v = np.asarray(v, dtype=np.float64)
    ref = v if reference is None else np.asarray(reference, dtype=np.float64)
    flat = ref.reshape(len(ref), -1)
    lo = flat.min(axis=1)[:, None]
    span = np.maximum(flat.max(axis=1)[:, None] - lo, np.finfo(np.float64).tiny)
    return ((v.reshape(len(v), -1) - lo) / span).reshape(v.shape)


def shift_permutation(provenance, tr, seconds=NULL_SHIFT_SECONDS):
    """Row order that circularly shifts the EEG by at least ``seconds`` within runs.

    Row ``i`` of ``X[perm]`` is the EEG context of the pair ``k`` rows later in the
    same run (wrapping around), with ``k = ceil(seconds / TR)`` (at most the run's
    length - 1); the targets stay in place.
    """
    perm = np.arange(len(provenance))
    k = int(math.ceil(seconds / tr))
    for _, rows in provenance.groupby("run_label", sort=False).groups.items():
        rows = np.asarray(rows)
        order = rows[np.argsort(provenance["onset"].to_numpy()[rows], kind="stable")]
        shift = min(k, len(order) - 1)
        perm[order] = np.roll(order, -shift)
    return perm


# ----------------------------------------------------------------------- scoring


def score_subject(y_raw, pred_metric, pred_corr, y_corr, net_mask, spheres,
                  pred_null=None):
    """Every metric of one held-out subject (volumes in time order).

    ``pred_metric`` is in the paper's units (compared with the measured volumes
    scaled per volume), ``pred_corr``/``y_corr`` in the units of the correlations
    (the estimator's ``_correlation_inputs``), ``pred_null`` the predictions from
    shifted EEG in those units.
    """
    from eeg2fmri.metrics import (
        mean_temporal_correlation,
        parcel_correlation,
        psnr_per_volume,
        ssim_per_volume,
    )

    y_scaled = scale_volumes(y_raw)
    ssim = ssim_per_volume(y_scaled, pred_metric)
    psnr = psnr_per_volume(y_scaled, pred_metric)
    brain = brain_mask(y_scaled)
    masks, in_network = spheres
    parcels = parcel_correlation(y_corr, pred_corr, masks)
    out = {
        "ssim": float(np.mean(ssim)),
        "psnr": float(np.mean(psnr)),
        "r_network": mean_temporal_correlation(y_corr, pred_corr, net_mask),
        "r_brain": mean_temporal_correlation(y_corr, pred_corr, brain),
        "r_null": np.nan,
        "r_parcels": float(np.nanmean(parcels[in_network]))
        if in_network.any()
        else np.nan,
        "r_parcels_all": float(np.nanmean(parcels)),
        "per_volume": {"ssim": ssim.tolist(), "psnr": psnr.tolist()},
    }
    if pred_null is not None:
        out["r_null"] = mean_temporal_correlation(y_corr, pred_null, net_mask)
    return out


def _subject_order(ds, test_idx):
    """{subject: test rows in time order} (runs in order, volumes by onset)."""
    prov = ds.provenance.iloc[test_idx]
    out = {}
    for s in sorted(set(ds.groups[test_idx])):
        sel = np.flatnonzero(ds.groups[test_idx] == s)
        keys = np.lexsort((prov["onset"].to_numpy()[sel],
                           prov["run_label"].to_numpy()[sel]))
        out[s] = sel[keys]
    return out


def score_predictions(spec, bids, ds, test_idx, est, pred, pred_null=None,
                      metric_pred=None):
    """Per-subject scores of predictions of the rows ``test_idx`` of ``ds``."""
    y_raw = np.asarray(ds.y[test_idx], dtype=np.float64)
    if metric_pred is None:
        _, metric_pred = comparable_volumes(est, y_raw, pred, "metric")
    y_corr, pred_corr = comparable_volumes(est, y_raw, pred)
    null_corr = None
    if pred_null is not None:
        _, null_corr = comparable_volumes(est, y_raw, pred_null)
    run_labels = ds.provenance["run_label"].to_numpy()
    out = {}
    for s, rows in _subject_order(ds, test_idx).items():
        net = network_mask(spec, bids, run_labels[test_idx][rows[0]])
        brain = brain_mask(scale_volumes(y_raw[rows]))
        out[s] = score_subject(
            y_raw[rows],
            metric_pred[rows],
            pred_corr[rows],
            y_corr[rows],
            net,
            power_spheres(ds, net, brain),
            None if null_corr is None else null_corr[rows],
        )
    return out


# --------------------------------------------------------------------- the jobs


@dataclass(frozen=True)
class Job:
    """One trained fit: a row on one fold of one dataset."""

    preset: str
    fold: str
    test_subjects: tuple
    row: str
    seed: int
    work: str
    quick: bool

    @property
    def spec(self):
        return (QUICK_DATASETS if self.quick else STUDY_DATASETS)[self.preset]

    @property
    def definition(self):
        return ALL_ROWS[self.row]

    @property
    def key(self):
        safe = self.row
        for ch in " ()[],":
            safe = safe.replace(ch, "_")
        return f"{self.preset}/{safe}/{self.fold}"

    def result_path(self):
        return Path(self.work) / "results" / f"{self.key}.json"


def _write_json(path, obj):
    from eeg2fmri._utils.io import write_json_atomic

    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, obj)


def _init_worker():
    os.environ["EEG2FMRI_SCAN_THREADS"] = "1"
    import torch

    torch.set_num_threads(1)


def run_job(job):
    """Fit one network, predict its held-out participants, save the scores."""
    row, spec, work = job.definition, job.spec, Path(job.work)
    bids = work / f"bids-{job.preset}"
    ds = load_pairs(spec, work, row.feature_set)
    test = np.isin(ds.groups, job.test_subjects)
    train_idx, test_idx = np.flatnonzero(~test), np.flatnonzero(test)
    shift = shift_permutation(ds.provenance, ds.tr)
    x_train = shift[train_idx] if row.shifted else train_idx
    x_test = shift[test_idx] if row.shifted else test_idx
    est = row.estimator(job.quick, job.seed)
    t0 = time.perf_counter()
    est.fit(
        _rows(ds.X, x_train),
        np.asarray(ds.y[train_idx]),
        groups=ds.groups[train_idx],
        runs=ds.provenance["run_label"].to_numpy()[train_idx],
    )
    train_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    pred = est.predict(_rows(ds.X, x_test))
    predict_seconds = time.perf_counter() - t0
    pred_null = None if row.shifted else est.predict(_rows(ds.X, shift[test_idx]))
    result = {
        "preset": job.preset,
        "fold": job.fold,
        "row": job.row,
        "model": row.model,
        "recipe": row.recipe,
        "params": est.get_params(deep=False) | {"model_params": row.model_params},
        "n_params": int(sum(p.numel() for p in est.model_.parameters())),
        "train_seconds": train_seconds,
        "inference_ms_per_volume": 1000 * predict_seconds / len(test_idx),
        "n_train": int(len(train_idx)),
        "best_epoch": int(est.best_epoch_),
        "validation_subjects": list(est.validation_groups_ or []),
        "history": est.history_,
        "subjects": score_predictions(spec, bids, ds, test_idx, est, pred, pred_null),
    }
    _write_json(job.result_path(), json.loads(json.dumps(result, default=str)))
    return job.key, train_seconds


def _rows(X, rows):
    """``X[rows]`` as an array, read in increasing order (memory-map friendly)."""
    rows = np.asarray(rows)
    order = np.argsort(rows, kind="stable")
    out = np.asarray(X[rows[order]])
    return out[np.argsort(order, kind="stable")]


class TimeOnlyNull:
    """The volume-index null: the mean standardized training BOLD at the same index.

    It never sees EEG. Where every participant has the same stimulus sequence, the
    BOLD is partly predictable from the volume index alone; this row measures how
    much. Predictions are mapped to intensity like ``target_scaling='zscore'``.
    """

    def fit(self, volume_index, y, runs):
        from eeg2fmri.estimators.scaling import fit_target_scaling, run_codes

        n, shape = len(y), y.shape[1:]
        codes, _ = run_codes(runs, n)
        self.target_ = fit_target_scaling(y, np.arange(n), "zscore", shape,
                                          codes=codes)
        z = self.target_.to_model(np.asarray(y, dtype=np.float32), rows=np.arange(n))
        self.index_ = np.unique(volume_index)
        self.mean_ = np.stack([z[volume_index == v].mean(axis=0) for v in self.index_])
        self.target_.release_fit_state()
        return self

    def predict(self, volume_index):
        pos = np.clip(np.searchsorted(self.index_, volume_index), 0,
                      len(self.index_) - 1)
        known = self.index_[pos] == volume_index
        z = np.where(known[:, None, None, None], self.mean_[pos], 0.0)
        return self.target_.to_prediction(z.astype(np.float32))


def run_baselines(spec, work, fold, test_subjects, seed):
    """Linear, mean-volume, time-only and oracle rows of one fold (in this process)."""
    from eeg2fmri.estimators import (
        BandPowerRidge,
        MeanVolumeRegressor,
        ReducedRankRidge,
    )

    bids = work / f"bids-{spec.preset}"
    ds = load_pairs(spec, work)
    test = np.isin(ds.groups, test_subjects)
    train_idx, test_idx = np.flatnonzero(~test), np.flatnonzero(test)
    runs = ds.provenance["run_label"].to_numpy()
    X_train, y_train = np.asarray(ds.X[train_idx]), np.asarray(ds.y[train_idx])
    X_test = np.asarray(ds.X[test_idx])
    shift = shift_permutation(ds.provenance, ds.tr)
    X_null = _rows(ds.X, shift[test_idx])
    results = {}

    for name, cls in (("ridge (band power)", BandPowerRidge),
                      ("reduced-rank ridge", ReducedRankRidge)):
        est = cls(frequencies=ds.frequencies)
        t0 = time.perf_counter()
        est.fit(X_train, y_train, groups=ds.groups[train_idx], runs=runs[train_idx])
        train_seconds = time.perf_counter() - t0
        t0 = time.perf_counter()
        pred = est.predict(X_test)
        predict_seconds = time.perf_counter() - t0
        components = getattr(est, "components_", None)
        results[name] = {
            "n_params": int(
                est.pipeline_[-1].coef_.size + est.intercept_.size
                + (0 if components is None else components.size)
            ),
            "train_seconds": train_seconds,
            "inference_ms_per_volume": 1000 * predict_seconds / len(test_idx),
            "alpha_median": float(np.median(est.alpha_)),
            "rank": int(getattr(est, "rank_", 0)) or None,
            "subjects": score_predictions(
                spec, bids, ds, test_idx, est, pred, est.predict(X_null)
            ),
        }

    base = MeanVolumeRegressor().fit(
        X_train[:, :1, :1, :1], y_train, groups=ds.groups[train_idx],
        runs=runs[train_idx],
    )
    pred = base.predict(X_test[:, :1, :1, :1])
    results["mean volume"] = {
        "n_params": int(base.mean_volume_.size),
        "train_seconds": None,
        "inference_ms_per_volume": None,
        "subjects": score_predictions(spec, bids, ds, test_idx, base, pred),
    }

    index = ds.provenance["volume_index"].to_numpy()
    null = TimeOnlyNull().fit(index[train_idx], y_train, runs[train_idx])
    results["time only (null)"] = {
        "n_params": int(null.mean_.size),
        "train_seconds": None,
        "inference_ms_per_volume": None,
        "subjects": score_predictions(
            spec, bids, ds, test_idx, base, null.predict(index[test_idx])
        ),
    }

    # the noise-free BOLD: correlations in intensity; SSIM/PSNR with each volume
    # scaled by the measured volume's min and max (noise sets the background minimum)
    prov = ds.provenance.iloc[test_idx]
    y_raw = np.asarray(ds.y[test_idx], dtype=np.float64)
    oracle = np.empty_like(y_raw)
    for run_label in prov["run_label"].unique():
        sel = (prov["run_label"] == run_label).to_numpy()
        oracle[sel] = truth_volumes(spec, bids, run_label, prov["volume_index"][sel])
    results["oracle (noise-free BOLD)"] = {
        "n_params": None,
        "train_seconds": None,
        "inference_ms_per_volume": None,
        "subjects": score_predictions(
            spec, bids, ds, test_idx, base, oracle,
            metric_pred=scale_volumes(oracle, reference=y_raw),
        ),
    }
    return results


# ------------------------------------------------------------------ aggregation


def collect(results):
    """Long tables: per subject (one row per preset, row, subject) and per volume."""
    subject_rows, volume_rows = [], []
    for res in results:
        for subject, scores in res["subjects"].items():
            subject_rows.append(
                {
                    "dataset": res["preset"],
                    "row": res["row"],
                    "fold": res["fold"],
                    "subject": subject,
                    **{m: scores.get(m, np.nan) for m in METRICS},
                    "n_params": res["n_params"],
                    "train_seconds": res["train_seconds"],
                    "inference_ms_per_volume": res["inference_ms_per_volume"],
                }
            )
            for metric, values in scores["per_volume"].items():
                for i, value in enumerate(values):
                    volume_rows.append(
                        {
                            "dataset": res["preset"],
                            "row": res["row"],
                            "subject": subject,
                            "volume": i,
                            "metric": metric,
                            "value": value,
                        }
                    )
    per_subject = pd.DataFrame(subject_rows)
    for col in ("n_params", "train_seconds", "inference_ms_per_volume", *METRICS):
        per_subject[col] = pd.to_numeric(per_subject[col])
    return per_subject, pd.DataFrame(volume_rows)


def summarize(per_subject, row_order):
    """Mean and std across held-out subjects; training time is per fit."""
    out = []
    for (dataset, row), g in per_subject.groupby(["dataset", "row"], sort=False):
        fits = g.drop_duplicates("fold")
        rec = {"dataset": dataset, "row": row, "n_subjects": len(g)}
        for m in METRICS:
            rec[f"{m}_mean"] = g[m].mean()
            rec[f"{m}_std"] = g[m].std(ddof=1) if len(g) > 1 else np.nan
        rec["n_params"] = g["n_params"].iloc[0]
        rec["train_seconds"] = fits["train_seconds"].mean()
        rec["inference_ms_per_volume"] = fits["inference_ms_per_volume"].mean()
        out.append(rec)
    df = pd.DataFrame(out)
    df["_order"] = df["row"].map({r: i for i, r in enumerate(row_order)})
    return df.sort_values(["dataset", "_order"]).drop(columns="_order")


#: Metrics of the paired tests (the null column is a property of each row).
TEST_METRICS = ("ssim", "psnr", "r_network", "r_brain", "r_parcels")


def paired_tests(per_subject, reference=REFERENCE_ROW, metrics=TEST_METRICS):
    """Paired t-test (+ Wilcoxon) across held-out subjects: reference minus row.

    The reference row is also compared with its own EEG-shifted predictions
    (``metric='r_network'`` against ``r_null``: comparison ``... - EEG shifted``).
    """
    from scipy import stats

    out = []
    for dataset, g in per_subject.groupby("dataset", sort=False):
        ref = g[g["row"] == reference].set_index("subject")
        if ref.empty:
            continue
        pairs = [
            (row, m, g[g["row"] == row].set_index("subject")[m])
            for row in g["row"].unique()
            if row != reference
            for m in metrics
        ]
        if "r_null" in ref:
            pairs.append(("its EEG shifted at test", "r_network", ref["r_null"]))
        for row, m, other in pairs:
            common = ref.index.intersection(other.index)
            a = ref.loc[common, m].to_numpy(float)
            b = other.loc[common].to_numpy(float)
            keep = np.isfinite(a) & np.isfinite(b)
            d = (a - b)[keep]
            n = len(d)
            rec = {
                "dataset": dataset,
                "comparison": f"{reference} - {row}",
                "metric": m,
                "n_subjects": n,
                "mean_difference": d.mean() if n else np.nan,
                "ci95_low": np.nan,
                "ci95_high": np.nan,
                "t_test_p": np.nan,
                "wilcoxon_p": np.nan,
            }
            if n >= 2 and np.std(d) > 0:
                half = stats.t.ppf(0.975, n - 1) * d.std(ddof=1) / np.sqrt(n)
                rec["ci95_low"] = d.mean() - half
                rec["ci95_high"] = d.mean() + half
                rec["t_test_p"] = stats.ttest_rel(a[keep], b[keep]).pvalue
                if np.any(d != 0):
                    rec["wilcoxon_p"] = stats.wilcoxon(d).pvalue
            out.append(rec)
    df = pd.DataFrame(out)
    if not df.empty:
        df["holm_p"] = df.groupby("dataset")["t_test_p"].transform(holm)
    return df


def holm(p_values):
    """Holm-Bonferroni adjusted p-values (NaNs are left out and stay NaN)."""
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full_like(p, np.nan)
    finite = np.flatnonzero(np.isfinite(p))
    order = finite[np.argsort(p[finite], kind="stable")]
    m, running = len(order), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adjusted[i] = running
    return adjusted


# ------------------------------------------------------------------------ output


def _fmt(mean, std, digits):
    if not np.isfinite(mean):
        return "n/a"
    if not np.isfinite(std):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def _fmt_num(v, fmt):
    return "n/a" if v is None or not np.isfinite(v) else format(v, fmt)


SUMMARY_HEADER = [
    "row",
    "temporal r, networks",
    "r, EEG shifted",
    "temporal r, brain",
    "parcel r, networks",
    "parcel r, all",
    "SSIM",
    "PSNR (dB)",
    "parameters",
    "training s/fit",
    "inference ms/volume",
]
TESTS_HEADER = [
    "comparison",
    "metric",
    "n",
    "mean difference [95 % CI]",
    "t-test p",
    "Holm p",
    "Wilcoxon p",
]


def summary_cells(summary, dataset):
    """Formatted cells of the summary table of one dataset (rows of strings)."""
    rows = []
    for _, r in summary[summary["dataset"] == dataset].iterrows():
        rows.append(
            [
                r["row"],
                _fmt(r["r_network_mean"], r["r_network_std"], 3),
                _fmt(r["r_null_mean"], r["r_null_std"], 3),
                _fmt(r["r_brain_mean"], r["r_brain_std"], 3),
                _fmt(r["r_parcels_mean"], r["r_parcels_std"], 3),
                _fmt(r["r_parcels_all_mean"], r["r_parcels_all_std"], 3),
                _fmt(r["ssim_mean"], r["ssim_std"], 4),
                _fmt(r["psnr_mean"], r["psnr_std"], 2),
                _fmt_num(r["n_params"], ",.0f"),
                _fmt_num(r["train_seconds"], ".1f"),
                _fmt_num(r["inference_ms_per_volume"], ".2f"),
            ]
        )
    return rows


def tests_cells(tests, dataset):
    """Formatted cells of the paired-test table of one dataset."""
    rows = []
    for _, r in tests[tests["dataset"] == dataset].iterrows():
        ci = (
            f"{r['mean_difference']:+.3g} [{r['ci95_low']:+.3g}, {r['ci95_high']:+.3g}]"
            if np.isfinite(r["ci95_low"])
            else _fmt_num(r["mean_difference"], "+.3g")
        )
        rows.append(
            [
                r["comparison"],
                METRIC_LABELS[r["metric"]],
                str(r["n_subjects"]),
                ci,
                _fmt_num(r["t_test_p"], ".3g"),
                _fmt_num(r["holm_p"], ".3g"),
                _fmt_num(r["wilcoxon_p"], ".3g"),
            ]
        )
    return rows


def markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def rst_table(header, rows):
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for row in [header, *rows]:
        lines.append("   * - " + row[0])
        lines += [f"     - {cell}" for cell in row[1:]]
    return "\n".join(lines)


def violin_figure(per_volume, per_subject, dataset, rows, path):
    """Figure-3-style violins: per-volume SSIM and PSNR, per-subject temporal r."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [
        r
        for r in rows
        if r in set(per_subject["row"][per_subject["dataset"] == dataset])
    ]
    fig, axes = plt.subplots(
        3, 1, figsize=(max(6.0, 1.5 + 0.75 * len(rows)), 10), sharex=True
    )
    for ax, metric in zip(axes[:2], ("ssim", "psnr"), strict=True):
        sel = per_volume[
            (per_volume["dataset"] == dataset) & (per_volume["metric"] == metric)
        ]
        data = [sel["value"][sel["row"] == r].to_numpy() for r in rows]
        parts = ax.violinplot(
            [d if len(d) else [np.nan] for d in data], showmedians=True,
            showextrema=False,
        )
        for body in parts["bodies"]:
            body.set_alpha(0.6)
        ax.set_title(f"{METRIC_LABELS[metric]} per test volume")
    ax = axes[2]
    sel = per_subject[per_subject["dataset"] == dataset]
    data = [sel["r_network"][sel["row"] == r].dropna().to_numpy() for r in rows]
    ax.violinplot(
        [d if len(d) else [np.nan] for d in data], showmedians=True, showextrema=False
    )
    for i, d in enumerate(data, start=1):
        ax.plot(np.full(len(d), i), d, "k.", ms=4)
    ax.axhline(0, color="0.6", lw=0.8)
    ax.set_title("temporal r (network voxels) per subject")
    axes[-1].set_xticks(range(1, len(rows) + 1), rows, rotation=35, ha="right")
    fig.suptitle(f"{dataset}: held-out participants")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    from eeg2fmri._utils.io import atomic_path

    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


def versions():
    import matplotlib
    import scipy
    import sklearn
    import torch

    import eeg2fmri

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "eeg2fmri": eeg2fmri.__version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "scikit-learn": sklearn.__version__,
        "pandas": pd.__version__,
        "matplotlib": matplotlib.__version__,
    }


def _git_commit():
    """HEAD's commit, with ``-dirty`` when the package or benchmarks are modified."""
    import subprocess

    def git(*cmd):
        return subprocess.run(
            ["git", "-C", str(REPO), *cmd], capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        dirty = git("status", "--porcelain", "--", "eeg2fmri", "benchmarks")
        return git("rev-parse", "HEAD") + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return None


def _training_run(out, this_run, n_trained):
    """Provenance of the run that trained the fits.

    A re-run that trains nothing (every fit cached) regenerates the tables; it keeps
    the command, commit, date and timings of the previous ``study.json`` in ``out``.
    """
    previous = out / "study.json"
    if n_trained == 0 and previous.is_file():
        old = json.loads(previous.read_text(encoding="utf-8"))
        return old.get("training_run") or {
            key: old.get(key)
            for key in ("command", "git_commit", "date", "timings_seconds")
        }
    return {**this_run, "fits_trained": n_trained}


# -------------------------------------------------------------------------- main


def build_parser():
    p = argparse.ArgumentParser(
        description="Run the eeg2fmri benchmark study (the paper's protocol at CPU "
        "scale on simulated datasets).",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=REPO / "docs" / "study",
        help="folder for the tables and figures (default: docs/study)",
    )
    p.add_argument(
        "--work",
        type=Path,
        default=Path("/tmp/eeg2fmri-study"),
        help="simulated datasets, feature cache and per-fit results; a "
        "re-run with the same folder skips finished fits",
    )
    p.add_argument(
        "--datasets",
        nargs="+",
        default=list(STUDY_DATASETS),
        choices=list(STUDY_DATASETS),
    )
    p.add_argument(
        "--ablation-datasets",
        nargs="*",
        default=["cnepfl"],
        choices=list(STUDY_DATASETS),
        help="datasets on which the ablations run (default: cnepfl, as in "
        "the paper's Table 3)",
    )
    p.add_argument(
        "--ablations",
        choices=("default", "all"),
        default="default",
        help="'all' adds the paper's three conv-path ablations (about 15 min more)",
    )
    p.add_argument(
        "--rows",
        nargs="+",
        default=None,
        help="train only these rows (default: all); the tables hold every row "
        "whose results exist",
    )
    p.add_argument(
        "--jobs", type=int, default=2, help="worker processes, one thread each"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--quick",
        action="store_true",
        help="tiny datasets and 1 epoch: checks the pipeline in minutes",
    )
    return p


def _run_jobs(todo, jobs, t_start):
    if todo and jobs == 1:  # in this process (no pickling), one thread
        import torch

        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            for i, job in enumerate(todo, 1):
                key, seconds = run_job(job)
                print(
                    f"[{i}/{len(todo)}] {key}: trained in {seconds:.0f} s", flush=True
                )
        finally:
            torch.set_num_threads(threads)
    elif todo:
        ctx = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(
            jobs, mp_context=ctx, initializer=_init_worker
        ) as pool:
            futures = [pool.submit(run_job, j) for j in todo]
            for i, fut in enumerate(concurrent.futures.as_completed(futures), 1):
                key, seconds = fut.result()
                print(
                    f"[{i}/{len(todo)}] {key}: trained in {seconds:.0f} s "
                    f"({time.perf_counter() - t_start:.0f} s elapsed)",
                    flush=True,
                )


def main(argv=None):
    args = build_parser().parse_args(argv)
    t_start = time.perf_counter()
    commit = _git_commit()
    specs = QUICK_DATASETS if args.quick else STUDY_DATASETS
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    if args.quick:
        work = work / "quick"
    timings = {}

    # 1. data, folds, baselines
    jobs, results = [], []
    for name in args.datasets:
        spec = specs[name]
        t0 = time.perf_counter()
        simulate(spec, work, args.seed)
        ds = load_pairs(spec, work)
        load_pairs(spec, work, "official")
        timings[f"data_{name}"] = time.perf_counter() - t0
        print(
            f"{name}: {len(ds)} pairs, X {ds.X.shape[1:]}, y {ds.y.shape[1:]}, "
            f"{len(set(ds.groups))} participants",
            flush=True,
        )
        rows = {
            k: v for k, v in MAIN_ROWS.items()
            if v.datasets is None or name in v.datasets
        }
        if name in args.ablation_datasets:
            rows.update(ABLATIONS)
            if args.ablations == "all":
                rows.update(CONV_PATH_ABLATIONS)
        t0 = time.perf_counter()
        for fold, test_subjects in folds(spec, set(ds.groups)):
            path = work / "results" / name / "baselines" / f"{fold}.json"
            if not path.is_file():
                base = run_baselines(spec, work, fold, test_subjects, args.seed)
                _write_json(path, json.loads(json.dumps(base, default=float)))
            base = json.loads(path.read_text())
            for row, res in base.items():
                results.append({"preset": name, "fold": fold, "row": row, **res})
            for row in rows:
                jobs.append(
                    Job(name, fold, tuple(test_subjects), row, args.seed,
                        str(work), args.quick)
                )
        timings[f"baselines_{name}"] = time.perf_counter() - t0

    # 2. trained rows, the costliest first, in single-thread workers
    wanted = set(args.rows) if args.rows else None
    todo = [
        j for j in jobs
        if not j.result_path().is_file() and (wanted is None or j.row in wanted)
    ]
    todo.sort(key=lambda j: -j.definition.cost)
    print(f"{len(jobs)} fits, {len(todo)} to train", flush=True)
    t0 = time.perf_counter()
    _run_jobs(todo, args.jobs, t_start)
    timings["training_wall"] = time.perf_counter() - t0
    done = [j for j in jobs if j.result_path().is_file()]
    for j in done:
        results.append(json.loads(j.result_path().read_text()))

    # 3. tables, tests, figures
    row_order = list(MAIN_ROWS) + list(BASELINES) + list(ABLATIONS)
    row_order += list(CONV_PATH_ABLATIONS)
    per_subject, per_volume = collect(results)
    summary = summarize(per_subject, row_order)
    tests = paired_tests(per_subject)
    out = args.out.resolve()
    (out / "figures").mkdir(parents=True, exist_ok=True)
    from eeg2fmri._utils.io import write_text_atomic

    for name, df in (
        ("summary", summary),
        ("per_subject", per_subject),
        ("paired_tests", tests),
    ):
        write_text_atomic(
            out / f"{name}.tsv", df.to_csv(sep="\t", index=False, float_format="%.6g")
        )
    for name in args.datasets:
        violin_figure(
            per_volume,
            per_subject,
            name,
            [r for r in row_order if r in MAIN_ROWS or r in BASELINES],
            out / "figures" / f"study_{name}.png",
        )
    timings["total"] = time.perf_counter() - t_start
    this_run = {
        "command": shlex.join(
            ["python", "benchmarks/study.py"]
            + list(argv if argv is not None else sys.argv[1:])
        ),
        "git_commit": commit,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "timings_seconds": timings,
    }
    meta = {
        **this_run,
        "training_run": _training_run(out, this_run, len(todo)),
        "sum_train_seconds": float(
            sum(r["train_seconds"] for r in results if "best_epoch" in r)
        ),
        "seed": args.seed,
        "dataset_seeds": {n: _dataset_seed(args.seed, n) for n in args.datasets},
        "epochs": {
            "default": 1 if args.quick else DEFAULT_EPOCHS,
            "paper recipe": 1 if args.quick else PAPER_EPOCHS,
        },
        "null_shift_seconds": NULL_SHIFT_SECONDS,
        "jobs": args.jobs,
        "threads_per_fit": 1,
        "datasets": {n: asdict(specs[n]) for n in args.datasets},
        "ablation_datasets": args.ablation_datasets,
        "rows": {
            k: {
                "model": v.model,
                "recipe": v.recipe,
                "model_params": dict(v.model_params),
                "params": dict(v.params),
                "features": v.feature_set,
                "shifted": v.shifted,
            }
            for k, v in ALL_ROWS.items()
        },
        "ablations": args.ablations,
        "versions": versions(),
        "best_epochs": {
            f"{r['preset']}/{r['row']}/{r['fold']}": r["best_epoch"]
            for r in results
            if "best_epoch" in r
        },
    }
    _write_json(out / "study.json", json.loads(json.dumps(meta, default=str)))
    write_text_atomic(out / "results.md", results_markdown(meta, summary, tests, args))
    write_text_atomic(out / "results.rst", results_rst(meta, summary, tests, args))
    print(f"wrote {out} in {timings['total'] / 60:.1f} min", flush=True)


def _header_lines(meta):
    v, run = meta["versions"], meta["training_run"]
    return [
        f"- Command: `{run['command']}` (commit `{run['git_commit']}`, "
        f"{run['date']}): {run.get('fits_trained', 'all')} fits trained, "
        f"{run['timings_seconds']['total'] / 60:.1f} min wall time; "
        f"{meta['sum_train_seconds'] / 3600:.2f} h of training summed over fits.",
        f"- Tables regenerated by `{meta['command']}` (commit `{meta['git_commit']}`, "
        f"{meta['date']}).",
        f"- Seeds: study {meta['seed']}, datasets {meta['dataset_seeds']}; every fit "
        f"uses `random_state={meta['seed']}`.",
        f"- Training: default recipe {meta['epochs']['default']} epochs on all "
        "training participants; paper recipe "
        f"{meta['epochs']['paper recipe']} epochs with a validation participant (best "
        "SSIM epoch kept); batch 16, one thread per fit, "
        f"{meta['jobs']} fits in parallel.",
        f"- Versions: Python {v['python']}, eeg2fmri {v['eeg2fmri']}, torch "
        f"{v['torch']}, numpy {v['numpy']}, scikit-learn {v['scikit-learn']}; "
        f"{v['cpu_count']} CPUs ({v['processor']}).",
    ]


_UNITS_NOTE = (
    "Scores are per held-out participant (mean ± std across participants). Temporal "
    "r: voxel-wise correlation over the participant's test volumes between the "
    "prediction and the measured BOLD (in intensity; per-volume units for the paper "
    "recipe's per-volume targets), averaged over the simulated networks' voxels or "
    "the brain; a prediction that is constant over time scores 0. r, EEG shifted: "
    "the same model on the test EEG circularly shifted by at least "
    f"{NULL_SHIFT_SECONDS:.0f} s within each run (its null). Parcel r: correlation of "
    "the mean time courses in the 8 mm spheres of the Power et al. (2011) atlas that "
    "overlap the simulated networks, or all spheres in the brain. SSIM and PSNR in "
    "the paper's units (each volume min-max scaled to [0, 1]). Differences are "
    f"`{REFERENCE_ROW}` minus the row: positive means `{REFERENCE_ROW}` scores higher. "
    "Holm p: the t-test p-values adjusted for all comparisons and metrics of the "
    "dataset (Holm-Bonferroni)."
)


def results_markdown(meta, summary, tests, args):
    parts = [
        "# Benchmark study: results",
        "",
        "Generated by `benchmarks/study.py`; do not edit by hand. Discussion: "
        "`docs/study.rst`.",
        "",
        *_header_lines(meta),
        "",
        _UNITS_NOTE,
    ]
    for name in args.datasets:
        parts += [
            "",
            f"## {name}",
            "",
            _dataset_line(meta["datasets"][name]),
            "",
            markdown_table(SUMMARY_HEADER, summary_cells(summary, name)),
            "",
            f"Paired tests across held-out participants ({REFERENCE_ROW} minus row):",
            "",
            markdown_table(TESTS_HEADER, tests_cells(tests, name)),
            "",
            f"![{name}](figures/study_{name}.png)",
        ]
    return "\n".join(parts) + "\n"


def results_rst(meta, summary, tests, args):
    """The tables and figures for ``docs/study.rst`` (``.. include::``)."""
    parts = [".. Generated by benchmarks/study.py; do not edit by hand.", ""]
    parts += [*(line.replace("`", "``") for line in _header_lines(meta)), ""]
    parts += [_UNITS_NOTE.replace("`", "``"), ""]
    for name in args.datasets:
        title = f"{name}: scores of the held-out participants"
        parts += [
            title,
            "-" * len(title),
            "",
            _dataset_line(meta["datasets"][name]),
            "",
            rst_table(SUMMARY_HEADER, summary_cells(summary, name)),
            "",
            f"Paired tests across held-out participants ({REFERENCE_ROW} minus row):",
            "",
            rst_table(TESTS_HEADER, tests_cells(tests, name)),
            "",
            f".. image:: /study/figures/study_{name}.png",
            f"   :alt: violin plots of SSIM, PSNR and temporal r on {name}",
            "",
        ]
    return "\n".join(parts)


def _dataset_line(spec):
    split = (
        "leave-one-subject-out"
        if spec["n_test"] is None
        else f"fixed split, last {spec['n_test']} participants held out"
    )
    grid = tuple(spec["bold_shape"])
    if spec["target_shape"] is not None:
        grid = f"{grid} DCT-resampled to {tuple(spec['target_shape'])}"
    return (
        f"{spec['n_subjects']} participants x {spec['n_volumes']} volumes, "
        f"{spec['n_channels']} channels, BOLD grid {grid}; {split}."
    )


if __name__ == "__main__":
    main()
