"""
Does the model follow the EEG? Overfitting check, recipes and baselines
=======================================================================

A synthesized run can look right volume by volume and still ignore the EEG: the
mean training volume alone reaches a high SSIM, because anatomy dominates every
volume. This example asks whether a model follows the EEG in two ways:

1. Can the network fit a few dozen training pairs whose target is a noise-free
   function of the EEG? :func:`eeg2fmri.diagnostics.overfit_check` answers in
   seconds, before any long training. We run it on Spec2VolCAMU-Net (tiny preset)
   with and without its global bridge.
2. On a held-out participant, does the synthesized run follow the measured one over
   time, in the voxels where the simulation put EEG-related signal? We compare the
   default recipe of :class:`~eeg2fmri.Spec2VolEstimator`, the recipe of
   the paper's code (:meth:`Spec2VolEstimator.official()
   <eeg2fmri.Spec2VolEstimator.official>`), the linear band-power ridge
   (:class:`~eeg2fmri.BandPowerRidge`), the mean volume
   (:class:`~eeg2fmri.MeanVolumeRegressor`) and the simulator's
   noise-free truth, on the voxel-wise temporal correlation and on SSIM.

Everything is small and trained for seconds on one CPU thread: the numbers show
what to look for, not what the models reach on real data.
"""

# %%
# Simulate a small dataset
# ------------------------
# Four participants, one resting-state run of 70 volumes each. The simulator also
# writes its ground truth under ``derivatives/simulation``: the noise-free BOLD and
# one spatial map per simulated network, the only voxels whose BOLD depends on the
# EEG.
import tempfile
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from eeg2fmri.simulate import simulate_dataset

torch.set_num_threads(1)  # tiny models: one thread is enough, and robust
threadpool_limits(1)  # the same for numpy's and scipy's BLAS (the ridge)

tmp = Path(tempfile.mkdtemp(prefix="eeg2fmri_learn_"))
bids_dir = simulate_dataset(
    tmp / "bids", preset="noddi", n_subjects=4, n_volumes=70, n_channels=16,
    bold_shape=(8, 16, 16), random_state=0,
)
volume_shape = (8, 16, 16)

# %%
# 1. The overfitting check
# ------------------------
# :func:`~eeg2fmri.diagnostics.overfit_check` builds a target that depends on the
# input (:func:`~eeg2fmri.diagnostics.planted_target`: a few "band powers" of the
# EEG, each with a blob in the volume, no noise), trains the model on 32 pairs
# and reports the final training MSE relative to predicting each voxel's mean (1
# means nothing was learned). A model that cannot bring it below the threshold
# (0.1) on 32 noise-free pairs will not learn the EEG-driven BOLD fluctuations from
# real data either, whatever the number of epochs. Short features (4 context
# windows, 32 frequency bins) keep it fast.
#
# The model registry records whether each model passes this check
# (``passes_overfit_check``) and what else to know about it (``note``). Passing is
# necessary, not sufficient: the paper's full-size ``spec2vol`` passes, yet its note
# says that it does not learn the fluctuations of held-out participants.
from eeg2fmri.diagnostics import overfit_check
from eeg2fmri.features import FeatureParams, build_dataset
from eeg2fmri.models import model_info

for name in ["spec2vol-tiny", "spec2vol"]:
    info = model_info(name)
    print(f"{name}: passes_overfit_check={info.passes_overfit_check}  {info.note}")

short = build_dataset(
    bids_dir, FeatureParams(n_context=4, n_freqs=32), work_dir=tmp / "short"
)
X32 = np.asarray(short.X[:32])
checks = {
    "spec2vol-tiny": overfit_check(
        "spec2vol-tiny", X32, out_shape=volume_shape, n_steps=300, random_state=0
    ),
    "spec2vol-tiny, no bridge": overfit_check(
        "spec2vol-tiny", X32, out_shape=volume_shape, n_steps=300, random_state=0,
        model_params={"bridge_latents": 0},
    ),
}
for name, res in checks.items():
    print(f"{name:25s} relative loss {res.relative_loss:.3f}  passed={res.passed}  "
          f"({res.n_params:,} parameters, {res.seconds:.1f} s)")

# %%
# The tiny preset has a :class:`~eeg2fmri.models.bridge.GlobalBridge`: a few
# latent time courses read from the encoder's projection of the spectra, each with
# a learned spatial map. ``bridge_latents=0`` removes it and leaves the topology of
# the paper, where the encoder's (electrodes x frequencies) feature plane is padded
# into the decoder's image grid, so that an output voxel only sees the features
# that happen to land near it. Compare the two relative losses above and their
# curves below.
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(6, 3))
for name, res in checks.items():
    steps, rel = zip(*res.curve, strict=True)
    ax.plot(steps, rel, marker="o", ms=3, label=name)
ax.axhline(checks["spec2vol-tiny"].threshold, color="k", ls=":", lw=1,
           label="threshold")
ax.set_yscale("log")
ax.set_xlabel("training step")
ax.set_ylabel("training MSE / MSE of the mean")
ax.set_title("overfitting check: 32 pairs, noise-free EEG-driven target")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %%
# 2. Leave one participant out
# ----------------------------
# The same pairs with two kinds of features: the defaults of
# :class:`~eeg2fmri.features.FeatureParams` (log magnitudes) for the default recipe
# and :meth:`FeatureParams.official() <eeg2fmri.features.FeatureParams.official>`
# (magnitudes z-scored across electrodes) for the paper's recipe. Both use a
# 4-window context and the first 128 frequency bins (up to about 59 Hz) to keep the
# example fast. Participant 04 is held out.
features = build_dataset(
    bids_dir, FeatureParams(n_context=4, n_freqs=128), work_dir=tmp / "default"
)
features_official = build_dataset(
    bids_dir, FeatureParams.official(n_context=4, n_freqs=128),
    work_dir=tmp / "official",
)
prov = features.provenance
assert prov["volume_index"].equals(features_official.provenance["volume_index"])

test_subject = "04"
train = np.flatnonzero(features.groups != test_subject)
test = np.flatnonzero(features.groups == test_subject)
groups, runs = features.groups, prov["run_label"].to_numpy()
X, X_official = np.asarray(features.X[:]), np.asarray(features_official.X[:])
y = np.asarray(features.y[:])
y_test = y[test]
print("train pairs:", len(train), " test pairs:", len(test))

# %%
# The ground truth of the held-out run: the noise-free BOLD of the same volumes,
# and the voxels where a simulated network map exceeds 0.5. Both are NIfTI files;
# :func:`eeg2fmri.bids.nifti_to_volumes` puts them in the package's
# ``(..., D, H, W)`` layout.
import nibabel as nib

from eeg2fmri.bids import nifti_to_volumes

test_run = runs[test[0]]
truth_dir = bids_dir / "derivatives" / "simulation" / f"sub-{test_subject}" / "func"
noiseless = nib.load(truth_dir / f"{test_run}_desc-noiseless_bold.nii.gz")
truth = nifti_to_volumes(noiseless.get_fdata(dtype=np.float32))
truth = truth[prov["volume_index"].to_numpy()[test]]
maps = nib.load(truth_dir / f"{test_run}_desc-networks_mask.nii.gz")
network = (nifti_to_volumes(maps.get_fdata(dtype=np.float32)) > 0.5).any(axis=0)
print(f"{int(network.sum())} of {network.size} voxels in the simulated networks")

# %%
# Train the models
# ----------------
# The two recipes train the same network (``spec2vol-tiny``, bridge included) for
# the same 10 epochs, so that only the recipe (features included) differs. The
# default recipe standardizes the inputs per channel and frequency and the targets
# per voxel within each run (``runs``), and minimizes the MSE; its predictions are
# BOLD intensity. The official recipe min-max scales the inputs, scales each target
# volume to [0, 1] and minimizes ``0.5 * (1 - SSIM) + 0.5 * MSE``; its predictions
# are per-volume [0, 1] units. With three training participants,
# ``validation_split`` rounds to none for both, so both keep their last epoch
# (otherwise the default recipe keeps the epoch with the best validation temporal
# correlation, the official one the best validation SSIM). The ridge picks one
# penalty per voxel by cross-validation over the training participants.
from eeg2fmri.estimators import BandPowerRidge, MeanVolumeRegressor, Spec2VolEstimator

fit_kw = {"groups": groups[train], "runs": runs[train]}
default = Spec2VolEstimator("spec2vol-tiny", epochs=10, batch_size=8,
                            random_state=0).fit(X[train], y[train], **fit_kw)
official = Spec2VolEstimator.official(
    model="spec2vol-tiny", epochs=10, batch_size=8, random_state=0
).fit(X_official[train], y[train], **fit_kw)
ridge = BandPowerRidge(frequencies=features.frequencies).fit(
    X[train], y[train], **fit_kw
)
mean_volume = MeanVolumeRegressor().fit(X[train], y[train], **fit_kw)

rng = np.random.default_rng(0)
ridge_pred = ridge.predict(X[test])
predictions = {  # name -> (prediction, in per-volume [0, 1] units?)
    "default recipe": (default.predict(X[test]), False),
    "official recipe": (official.predict(X_official[test]), True),
    "band-power ridge": (ridge_pred, False),
    "ridge, shuffled in time": (ridge_pred[rng.permutation(len(test))], False),
    "mean volume": (mean_volume.predict(X[test]), False),
    "noise-free truth": (truth, False),
}

# %%
# Score them
# ----------
# The temporal correlation is computed voxel by voxel over the held-out run, then
# averaged over the network voxels and over all voxels (a constant prediction
# counts as 0). SSIM is the paper's metric: each volume min-max scaled to [0, 1].
# Per-volume predictions of the official recipe are compared as they are, with the
# measured volumes scaled the same way, as :meth:`~Spec2VolEstimator.score` and
# :data:`eeg2fmri.metrics.SCORERS` do. The "shuffled" row is the ridge's own
# volumes in a random order: the same volumes, no longer in step with the EEG.
import pandas as pd

from eeg2fmri.metrics import mean_temporal_correlation, ssim_per_volume


def per_volume_01(volumes):
    """Min-max scale each volume to [0, 1] (the paper's units)."""
    volumes = np.asarray(volumes, dtype=np.float64)
    lo = volumes.min(axis=(1, 2, 3), keepdims=True)
    hi = volumes.max(axis=(1, 2, 3), keepdims=True)
    return (volumes - lo) / (hi - lo)


y_test01 = per_volume_01(y_test)
rows = {}
for name, (pred, per_volume_units) in predictions.items():
    measured = y_test01 if per_volume_units else y_test
    rows[name] = {
        "r networks": mean_temporal_correlation(measured, pred, mask=network),
        "r all voxels": mean_temporal_correlation(measured, pred),
        "SSIM": ssim_per_volume(
            y_test01, pred if per_volume_units else per_volume_01(pred)
        ).mean(),
    }
table = pd.DataFrame(rows).T
print(table.to_string(float_format=lambda v: f"{v:.3f}"))
spread = table.max() - table.min()
print(f"\nspread over the rows: r networks {spread['r networks']:.3f}, "
      f"SSIM {spread['SSIM']:.3f}")
print("highest SSIM:", table["SSIM"].idxmax(),
      "| highest r networks:", table["r networks"].idxmax())
table

# %%
# How to read the table: the temporal correlation in the network voxels separates
# the rows. The noise-free truth is the ceiling any model can expect on this noisy
# run, the mean volume scores 0 by construction, and the shuffled ridge shows what
# the ridge's volumes score once they no longer follow the EEG. The official recipe
# trains the same network as the default one, bridge included, on the same pairs:
# compare their rows (the benchmark study, :doc:`/study`, compares the recipes on
# more data).
#
# SSIM varies much less between the rows (compare the two spreads printed above),
# and it does not order them the way the correlation does: it scores anatomy and
# image texture volume by volume, not whether the run follows the measured one over
# time, so shuffling the ridge's volumes barely changes it and the noise-free truth
# does not score the highest SSIM. The correlation over all voxels is much smaller
# than in the networks, even for the truth, because most voxels of this simulation
# carry no EEG-related signal.
#
# Time course of one network voxel
# --------------------------------
# We pick the network voxel where the noise-free truth follows the measured BOLD
# best, a choice that does not look at any model, and plot every time course
# standardized over time (the official recipe's output is in per-volume units, the
# others in intensity).
from eeg2fmri.metrics import temporal_correlation

r_truth = np.where(network, temporal_correlation(y_test, truth), -np.inf)
voxel = np.unravel_index(np.argmax(r_truth), network.shape)
t = prov["volume_index"].to_numpy()[test] * features.tr


def zscore(ts):
    ts = np.asarray(ts, dtype=np.float64)
    return (ts - ts.mean()) / (ts.std() or 1.0)


measured_ts = y_test[(slice(None), *voxel)]
fig, ax = plt.subplots(figsize=(8, 3.2))
ax.plot(t, zscore(measured_ts), color="k", lw=1.5, label="measured")
styles = {"noise-free truth": ("0.6", "--"), "default recipe": ("C0", "-"),
          "band-power ridge": ("C1", "-"), "official recipe": ("C2", "-")}
for name, (color, ls) in styles.items():
    ts = predictions[name][0][(slice(None), *voxel)]
    r = np.corrcoef(measured_ts, ts)[0, 1] if np.ptp(ts) > 0 else 0.0
    ax.plot(t, zscore(ts), color=color, ls=ls, lw=1, label=f"{name} (r = {r:.2f})")
ax.set_xlabel("time from the first volume (s)")
ax.set_ylabel("z over time")
ax.set_title(f"sub-{test_subject}, network voxel (D, H, W) = "
             f"{tuple(int(v) for v in voxel)}", fontsize=9, loc="left")
ax.legend(fontsize=7, ncol=2, loc="upper left")
fig.tight_layout()
plt.show()

# %%
# Take-aways
# ----------
# - Run :func:`~eeg2fmri.diagnostics.overfit_check` on a new architecture before a
#   long training; :func:`eeg2fmri.models.model_info` tells which registered models
#   pass it.
# - Judge a model by the temporal correlation on held-out participants, next to the
#   mean volume (0) and a linear baseline (:class:`~eeg2fmri.BandPowerRidge`);
#   SSIM and PSNR alone cannot tell a model that follows the EEG from one that
#   does not.
# - :meth:`Spec2VolEstimator.official()
#   <eeg2fmri.Spec2VolEstimator.official>` and
#   :meth:`FeatureParams.official() <eeg2fmri.features.FeatureParams.official>`
#   reproduce the paper's recipe; the defaults are the recipe to train with when
#   the synthesized BOLD should follow the measured BOLD over time.
