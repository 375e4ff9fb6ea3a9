"""The paper's evaluation protocol at CPU scale, on simulated EEG-fMRI datasets.

One command runs the whole study and writes its tables and figures::

    python benchmarks/study.py                       # about 70 min on 2 cores
    python benchmarks/study.py --quick --out /tmp/s  # minutes: smoke run, tiny sizes

What it does (see ``docs/study.rst`` for the discussion of the results):

1. Simulates the ``noddi``, ``oddball`` and ``cnepfl`` presets at CPU scale (fewer
   subjects, volumes, electrodes and voxels than the real datasets; see
   :data:`STUDY_DATASETS`). cnepfl is simulated on a finer grid and DCT-resampled to
   the common grid, as the paper does for CN-EPFL.
2. Builds the (EEG context, BOLD volume) pairs with the official preprocessing
   (:class:`eeg2fmri.features.FeatureParams` defaults).
3. Splits by participant: leave-one-subject-out for noddi and oddball, a fixed split
   with the last four participants as the test set for cnepfl. Model selection (the
   best epoch, the ridge penalty) uses a validation participant taken from the training
   participants only.
4. Rows: ``spec2vol-small``; the same with a convolutional U-Net decoder instead of
   VM-UNet (the first ablation of the paper's Table 3, run on every dataset);
   ``e2fnet-small`` (about the same number of parameters); on the ablation datasets
   (cnepfl by default, as in the paper's Table 3) the other ablations of
   ``spec2vol-small``: no attention, each of the three convolution paths removed; a
   ridge regression on band power (a linear reference the paper does not have); the
   mean training volume; the oracle, i.e. the simulator's noise-free BOLD, which shows
   the ceiling set by thermal noise.
5. Scores every held-out participant in the official model units (each volume min-max
   scaled to [0, 1]): SSIM and PSNR averaged over its volumes, and the voxel-wise
   temporal correlation, averaged over the simulated networks' voxels (where the EEG
   can predict anything) and over the whole brain.
6. Compares ``spec2vol-small`` with every other row by a paired t-test across held-out
   participants (p-value and 95 % confidence interval of the mean difference) plus the
   Wilcoxon signed-rank p-value, and draws violin plots of the per-volume SSIM and PSNR
   (the paper's Figure 3).

Trained fits run in ``--jobs`` worker processes with one thread each (two single-thread
fits use two cores better than one two-thread fit; see ``benchmarks/results/scan.md``).
Each fit's result is saved in the work folder as soon as it finishes; a re-run with the
same work folder skips what is done. Outputs (``--out``, default ``docs/study``):
``results.md``, ``summary.tsv``, ``per_subject.tsv``, ``paired_tests.tsv``,
``study.json`` (command, versions, seeds, timings) and ``figures/*.png``.
"""

import argparse
import concurrent.futures
import json
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

#: Trained rows: label -> (registered model, overrides).
MAIN_MODELS = {
    "spec2vol-small": ("spec2vol-small", {}),
    "U-Net decoder": ("spec2vol-small", {"decoder": "unet"}),
    "e2fnet-small": ("e2fnet-small", {}),
}
ABLATIONS = {
    "no attention": ("spec2vol-small", {"attention": False}),
    "no electrode path": ("spec2vol-small", {"conv_paths": ["frequency", "square"]}),
    "no frequency path": ("spec2vol-small", {"conv_paths": ["electrode", "square"]}),
    "no square path": ("spec2vol-small", {"conv_paths": ["electrode", "frequency"]}),
}
#: Rows that are not deep networks.
BASELINES = ("ridge (band power)", "mean volume", "oracle (noise-free BOLD)")

#: Frequency bands (Hz) averaged into the ridge regression's features.
RIDGE_BANDS = ((1, 4), (4, 8), (8, 13), (13, 20), (20, 30), (30, 45), (45, 70))
RIDGE_ALPHAS = (1e1, 1e2, 1e3, 1e4, 1e5)

METRICS = ("ssim", "psnr", "r_network", "r_brain")
METRIC_LABELS = {
    "ssim": "SSIM",
    "psnr": "PSNR (dB)",
    "r_network": "temporal r, network voxels",
    "r_brain": "temporal r, brain",
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


def load_pairs(spec, work):
    """The preset's paired dataset (features cached in the work folder)."""
    from eeg2fmri.features import FeatureParams, build_dataset

    return build_dataset(
        work / f"bids-{spec.preset}",
        FeatureParams(),
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


# ----------------------------------------------------------------------- scoring


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


def score_subject(y_true, y_pred, net_mask):
    """Per-volume SSIM/PSNR and the temporal-r summaries of one held-out subject.

    ``y_true`` and ``y_pred`` are (n, D, H, W) in model units, in time order.
    """
    from eeg2fmri.metrics import (
        psnr_per_volume,
        ssim_per_volume,
        summarize_correlation,
        temporal_correlation,
    )

    ssim = ssim_per_volume(y_true, y_pred)
    psnr = psnr_per_volume(y_true, y_pred)
    r_net = summarize_correlation(temporal_correlation(y_true, y_pred, net_mask))
    r_brain = summarize_correlation(
        temporal_correlation(y_true, y_pred, brain_mask(y_true))
    )
    return {
        "ssim": float(np.mean(ssim)),
        "psnr": float(np.mean(psnr)),
        "r_network": r_net["mean"],
        "r_brain": r_brain["mean"],
        "per_volume": {"ssim": ssim.tolist(), "psnr": psnr.tolist()},
    }


# --------------------------------------------------------------------- the rows


def _band_power(X, frequencies):
    """Average the spectra over :data:`RIDGE_BANDS`, (n, T * C * n_bands)."""
    cols = []
    for lo, hi in RIDGE_BANDS:
        sel = (frequencies >= lo) & (frequencies < hi)
        if sel.any():
            cols.append(np.asarray(X)[..., sel].mean(axis=-1))
    return np.stack(cols, axis=-1).reshape(len(X), -1)


def fit_ridge(X, y_scaled, groups, frequencies, validation_subject):
    """Ridge on standardized band power; alpha chosen on the validation subject."""
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    F = _band_power(X, frequencies)
    Y = y_scaled.reshape(len(y_scaled), -1)
    val = groups == validation_subject
    errors = {}
    for alpha in RIDGE_ALPHAS:
        m = make_pipeline(StandardScaler(), Ridge(alpha=alpha))
        m.fit(F[~val], Y[~val])
        errors[alpha] = float(np.mean((m.predict(F[val]) - Y[val]) ** 2))
    alpha = min(errors, key=errors.get)
    model = make_pipeline(StandardScaler(), Ridge(alpha=alpha)).fit(F, Y)
    return model, alpha


@dataclass(frozen=True)
class Job:
    """One trained fit: a row on one fold of one dataset."""

    preset: str
    fold: str
    test_subjects: tuple
    row: str
    model: str
    model_params: dict
    epochs: int
    seed: int
    work: str
    quick: bool

    @property
    def key(self):
        safe = self.row.replace(" ", "_").replace("(", "").replace(")", "")
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


def _test_subject_scores(spec, bids, ds, test_mask, pred_scaled, y_scaled):
    out = {}
    for s in sorted(set(ds.groups[test_mask])):
        sel = ds.groups[test_mask] == s
        prov = ds.provenance[test_mask][sel]
        order = np.argsort(prov["onset"].to_numpy(), kind="stable")
        run_label = prov["run_label"].iloc[0]
        out[s] = score_subject(
            y_scaled[sel][order],
            pred_scaled[sel][order],
            network_mask(spec, bids, run_label),
        )
    return out


def run_job(job):
    """Fit one deep model, predict its held-out participants, save the scores."""
    from eeg2fmri.estimator import Spec2VolEstimator

    spec = (QUICK_DATASETS if job.quick else STUDY_DATASETS)[job.preset]
    work = Path(job.work)
    bids = work / f"bids-{job.preset}"
    ds = load_pairs(spec, work)
    test = np.isin(ds.groups, job.test_subjects)
    train_idx, test_idx = np.flatnonzero(~test), np.flatnonzero(test)
    X_train = np.asarray(ds.X[train_idx])
    y_train = np.asarray(ds.y[train_idx])
    est = Spec2VolEstimator(
        job.model,
        model_params=job.model_params or None,
        epochs=job.epochs,
        batch_size=4 if job.quick else 16,
        validation_split=0.2,
        device="cpu",
        random_state=job.seed,
    )
    t0 = time.perf_counter()
    est.fit(X_train, y_train, groups=ds.groups[train_idx])
    train_seconds = time.perf_counter() - t0
    X_test = np.asarray(ds.X[test_idx])
    t0 = time.perf_counter()
    pred = est.predict(X_test)
    predict_seconds = time.perf_counter() - t0
    y_true, y_pred = est._metric_inputs(np.asarray(ds.y[test_idx]), pred)
    result = {
        "preset": job.preset,
        "fold": job.fold,
        "row": job.row,
        "model": job.model,
        "model_params": job.model_params,
        "n_params": int(sum(p.numel() for p in est.model_.parameters())),
        "train_seconds": train_seconds,
        "inference_ms_per_volume": 1000 * predict_seconds / len(test_idx),
        "n_train": int(len(train_idx)),
        "best_epoch": int(est.best_epoch_),
        "validation_subjects": list(est.validation_groups_ or []),
        "history": est.history_,
        "subjects": _test_subject_scores(spec, bids, ds, test, y_pred, y_true),
    }
    _write_json(job.result_path(), result)
    return job.key, train_seconds


def run_baselines(spec, work, fold, test_subjects, seed):
    """Ridge, mean volume and oracle rows of one fold (fast, in this process)."""
    from eeg2fmri.estimator import MeanVolumeRegressor

    bids = work / f"bids-{spec.preset}"
    ds = load_pairs(spec, work)
    test = np.isin(ds.groups, test_subjects)
    y_raw = np.asarray(ds.y, dtype=np.float64)
    y_all = scale_volumes(y_raw)
    y_train, y_test = y_all[~test], y_all[test]
    X = np.asarray(ds.X)
    train_subjects = sorted(set(ds.groups[~test]))
    # the validation participant, drawn like the estimator draws it
    rng = np.random.default_rng(seed)
    validation_subject = train_subjects[rng.integers(len(train_subjects))]
    results = {}

    t0 = time.perf_counter()
    ridge, alpha = fit_ridge(
        X[~test], y_train, ds.groups[~test], ds.frequencies, validation_subject
    )
    train_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    pred = ridge.predict(_band_power(X[test], ds.frequencies)).reshape(y_test.shape)
    predict_seconds = time.perf_counter() - t0
    ridge_coef = ridge[-1].coef_
    results["ridge (band power)"] = {
        "n_params": int(ridge_coef.size + ridge_coef.shape[0]),
        "train_seconds": train_seconds,
        "inference_ms_per_volume": 1000 * predict_seconds / len(y_test),
        "alpha": alpha,
        "validation_subjects": [validation_subject],
        "subjects": _test_subject_scores(spec, bids, ds, test, pred, y_test),
    }

    t0 = time.perf_counter()
    mean_model = MeanVolumeRegressor().fit(X[~test][:, :1, :1, :1], y_train)
    train_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    pred = mean_model.predict(X[test][:, :1, :1, :1]).astype(np.float64)
    predict_seconds = time.perf_counter() - t0
    results["mean volume"] = {
        "n_params": int(mean_model.mean_volume_.size),
        "train_seconds": train_seconds,
        "inference_ms_per_volume": 1000 * predict_seconds / len(y_test),
        "subjects": _test_subject_scores(spec, bids, ds, test, pred, y_test),
    }

    # the noise-free volume in the measured volume's units: scaled with the measured
    # volume's own min and max (noise sets the minimum of the background)
    prov = ds.provenance[test]
    oracle = np.empty_like(y_test)
    for run_label in prov["run_label"].unique():
        sel = (prov["run_label"] == run_label).to_numpy()
        vols = truth_volumes(spec, bids, run_label, prov["volume_index"][sel])
        oracle[sel] = scale_volumes(vols, reference=y_raw[test][sel])
    results["oracle (noise-free BOLD)"] = {
        "n_params": None,
        "train_seconds": None,
        "inference_ms_per_volume": None,
        "subjects": _test_subject_scores(spec, bids, ds, test, oracle, y_test),
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
                    **{m: scores[m] for m in METRICS},
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
    for col in ("n_params", "train_seconds", "inference_ms_per_volume"):
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


def paired_tests(per_subject, reference=REFERENCE_ROW):
    """Paired t-test (+ Wilcoxon) across held-out subjects: reference minus row."""
    from scipy import stats

    out = []
    for dataset, g in per_subject.groupby("dataset", sort=False):
        ref = g[g["row"] == reference].set_index("subject")
        if ref.empty:
            continue
        for row in g["row"].unique():
            if row == reference:
                continue
            other = g[g["row"] == row].set_index("subject")
            common = ref.index.intersection(other.index)
            for m in METRICS:
                d = (ref.loc[common, m] - other.loc[common, m]).to_numpy(float)
                d = d[np.isfinite(d)]
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
                    rec["t_test_p"] = stats.ttest_rel(
                        ref.loc[common, m], other.loc[common, m], nan_policy="omit"
                    ).pvalue
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
    "SSIM",
    "PSNR (dB)",
    "temporal r, networks",
    "temporal r, brain",
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
                _fmt(r["ssim_mean"], r["ssim_std"], 4),
                _fmt(r["psnr_mean"], r["psnr_std"], 2),
                _fmt(r["r_network_mean"], r["r_network_std"], 3),
                _fmt(r["r_brain_mean"], r["r_brain_std"], 3),
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


def markdown_summary(summary, dataset):
    return markdown_table(SUMMARY_HEADER, summary_cells(summary, dataset))


def markdown_tests(tests, dataset):
    return markdown_table(TESTS_HEADER, tests_cells(tests, dataset))


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
        parts = ax.violinplot(data, showmedians=True, showextrema=False)
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
    p.add_argument("--epochs", type=int, default=10)
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


def main(argv=None):
    args = build_parser().parse_args(argv)
    t_start = time.perf_counter()
    commit = _git_commit()
    specs = QUICK_DATASETS if args.quick else STUDY_DATASETS
    epochs = 1 if args.quick else args.epochs
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
        timings[f"data_{name}"] = time.perf_counter() - t0
        print(
            f"{name}: {len(ds)} pairs, X {ds.X.shape[1:]}, y {ds.y.shape[1:]}, "
            f"{len(set(ds.groups))} participants",
            flush=True,
        )
        rows = dict(MAIN_MODELS)
        if name in args.ablation_datasets:
            rows.update(ABLATIONS)
        t0 = time.perf_counter()
        for fold, test_subjects in folds(spec, set(ds.groups)):
            path = work / "results" / name / "baselines" / f"{fold}.json"
            if not path.is_file():
                base = run_baselines(spec, work, fold, test_subjects, args.seed)
                _write_json(path, base)
            base = json.loads(path.read_text())
            for row, res in base.items():
                results.append({"preset": name, "fold": fold, "row": row, **res})
            for row, (model, params) in rows.items():
                jobs.append(
                    Job(
                        name,
                        fold,
                        tuple(test_subjects),
                        row,
                        model,
                        params,
                        epochs,
                        args.seed,
                        str(work),
                        args.quick,
                    )
                )
        timings[f"baselines_{name}"] = time.perf_counter() - t0

    # 2. trained rows, the costliest first, in single-thread workers
    todo = [j for j in jobs if not j.result_path().is_file()]
    cost = {"e2fnet-small": 2.0, "spec2vol-small": 1.5, "U-Net decoder": 1.2}
    todo.sort(key=lambda j: -cost.get(j.row, 1.0))
    print(f"{len(jobs)} fits, {len(jobs) - len(todo)} already done", flush=True)
    t0 = time.perf_counter()
    if todo and args.jobs == 1:  # in this process (no pickling), one thread
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
            args.jobs, mp_context=ctx, initializer=_init_worker
        ) as pool:
            futures = [pool.submit(run_job, j) for j in todo]
            for i, fut in enumerate(concurrent.futures.as_completed(futures), 1):
                key, seconds = fut.result()
                print(
                    f"[{i}/{len(todo)}] {key}: trained in {seconds:.0f} s "
                    f"({time.perf_counter() - t_start:.0f} s elapsed)",
                    flush=True,
                )
    timings["training_wall"] = time.perf_counter() - t0
    for j in jobs:
        results.append(json.loads(j.result_path().read_text()))

    # 3. tables, tests, figures
    row_order = list(MAIN_MODELS) + list(ABLATIONS) + list(BASELINES)
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
            row_order,
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
        "epochs": epochs,
        "jobs": args.jobs,
        "threads_per_fit": 1,
        "datasets": {n: asdict(specs[n]) for n in args.datasets},
        "ablation_datasets": args.ablation_datasets,
        "ridge_bands_hz": RIDGE_BANDS,
        "ridge_alphas": RIDGE_ALPHAS,
        "versions": versions(),
        "best_epochs": {
            f"{r['preset']}/{r['row']}/{r['fold']}": r["best_epoch"]
            for r in results
            if "best_epoch" in r
        },
    }
    _write_json(out / "study.json", meta)
    write_text_atomic(out / "results.md", results_markdown(meta, summary, tests, args))
    write_text_atomic(out / "results.rst", results_rst(meta, summary, tests, args))
    print(f"wrote {out} in {timings['total'] / 60:.1f} min", flush=True)


def results_markdown(meta, summary, tests, args):
    v, run = meta["versions"], meta["training_run"]
    parts = [
        "# Benchmark study: results",
        "",
        "Generated by `benchmarks/study.py`; do not edit by hand. Discussion: "
        "`docs/study.rst`.",
        "",
        f"- Command: `{run['command']}` (commit `{run['git_commit']}`, "
        f"{run['date']}): {run.get('fits_trained', 'all')} fits trained, "
        f"{run['timings_seconds']['total'] / 60:.1f} min wall time; "
        f"{meta['sum_train_seconds'] / 3600:.2f} h of training summed over fits.",
        f"- Tables regenerated by `{meta['command']}` (commit `{meta['git_commit']}`, "
        f"{meta['date']}).",
        f"- Seeds: study {meta['seed']}, datasets {meta['dataset_seeds']}; every fit "
        f"uses `random_state={meta['seed']}`.",
        f"- Training: {meta['epochs']} epochs, batch 16, validation on 20 % of the "
        "training participants (best epoch kept), one thread per fit, "
        f"{meta['jobs']} fits in parallel.",
        f"- Versions: Python {v['python']}, eeg2fmri {v['eeg2fmri']}, torch "
        f"{v['torch']}, numpy {v['numpy']}, scikit-learn {v['scikit-learn']}; "
        f"{v['cpu_count']} CPUs ({v['processor']}).",
        "",
        "Scores are per held-out participant (mean ± std across participants), in "
        "the official units (each volume min-max scaled to [0, 1]). Temporal r is the "
        "voxel-wise correlation over the participant's test volumes, averaged over "
        "the simulated networks' voxels or over the brain. Differences are "
        f"`{REFERENCE_ROW}` minus the row: positive means `{REFERENCE_ROW}` scores "
        "higher. Holm p: the t-test p-values adjusted for all comparisons and "
        "metrics of the dataset (Holm-Bonferroni).",
    ]
    for name in args.datasets:
        parts += [
            "",
            f"## {name}",
            "",
            _dataset_line(meta["datasets"][name]),
            "",
            markdown_summary(summary, name),
            "",
            f"Paired tests across held-out participants ({REFERENCE_ROW} minus row):",
            "",
            markdown_tests(tests, name),
            "",
            f"![{name}](figures/study_{name}.png)",
        ]
    return "\n".join(parts) + "\n"


def results_rst(meta, summary, tests, args):
    """The tables and figures for ``docs/study.rst`` (``.. include::``)."""
    parts = [".. Generated by benchmarks/study.py; do not edit by hand.", ""]
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
