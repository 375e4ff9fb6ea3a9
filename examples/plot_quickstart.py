"""
Quickstart: from a BIDS dataset to synthesized fMRI volumes
===========================================================

This example walks through the Python API end to end:

1. simulate a tiny EEG-fMRI BIDS dataset with known ground truth;
2. pair every BOLD volume with the EEG spectra that precede it
   (:func:`eeg2fmri.features.build_dataset`);
3. train a :class:`~eeg2fmri.Spec2VolEstimator` on two participants and
   synthesize the volumes of the third (leave-one-subject-out);
4. compare it with the :class:`~eeg2fmri.MeanVolumeRegressor` baseline on
   the voxel-wise temporal correlation and on SSIM, and plot a measured volume, a
   synthesized volume and the map of temporal correlation with nilearn.

The model is the tiny preset trained for 10 epochs on CPU, so the numbers only show
that the pipeline works, not what Spec2VolCAMU-Net reaches on real data.
"""

# %%
# Simulate a small dataset
# ------------------------
# Three participants, one resting-state run each, 60 volumes of 8x16x16 voxels,
# 16 EEG channels. Everything is written to a temporary folder.
import tempfile
from pathlib import Path

import numpy as np
import torch

from eeg2fmri.simulate import simulate_dataset

torch.set_num_threads(1)  # tiny models: one thread is enough, and robust

tmp = Path(tempfile.mkdtemp(prefix="eeg2fmri_quickstart_"))
bids_dir = simulate_dataset(
    tmp / "bids",
    preset="noddi",
    n_subjects=3,
    n_volumes=60,
    n_channels=16,
    bold_shape=(8, 16, 16),
    random_state=0,
)
print(sorted(p.name for p in bids_dir.iterdir()))

# %%
# Extract the (EEG context, BOLD volume) pairs
# --------------------------------------------
# :class:`~eeg2fmri.features.FeatureParams` holds the preprocessing. Its defaults
# are log-magnitude spectra of TR-long EEG windows, 20 windows of context, the first
# 6 volumes discarded, and no z-score across electrodes
# (:meth:`FeatureParams.official() <eeg2fmri.features.FeatureParams.official>` gives
# the features of the paper's code instead). Here we use a 4-window context, so that
# short runs still give many pairs, and the first 128 frequency bins (up to about
# 59 Hz at this TR), so that the example runs fast.
from eeg2fmri.features import FeatureParams, build_dataset

params = FeatureParams(n_context=4, n_freqs=128)
dataset = build_dataset(bids_dir, params, work_dir=tmp / "work")
print(dataset)
print("X:", dataset.X.shape, "(pairs, context windows, channels, frequencies)")
print("y:", dataset.y.shape, "(pairs, D, H, W)")
print("participants:", np.unique(dataset.groups))
dataset.provenance.head()

# %%
# Leave one participant out
# -------------------------
# Volumes of the same participant are strongly correlated, so the test participant
# must never be seen in training. ``groups`` holds the participant label of each
# pair, and ``runs`` the run of each pair (``provenance["run_label"]``): the
# estimator standardizes every voxel over time within each run
# (``target_scaling='zscore'``, the default).
test_subject = "03"
train = np.flatnonzero(dataset.groups != test_subject)
test = np.flatnonzero(dataset.groups == test_subject)
runs = dataset.provenance["run_label"].to_numpy()
X_train, y_train = dataset.X[train], dataset.y[train]
X_test, y_test = dataset.X[test], dataset.y[test]
print(X_train.shape, X_test.shape)

# %%
# Train Spec2VolCAMU-Net (tiny) and the mean-volume baseline
# ----------------------------------------------------------
# ``validation_split`` (default 0.1) holds out whole training participants for
# model selection, rounded to a whole number of them: with two training
# participants it rounds to none, so both train the model and the last epoch is
# kept (``validation_groups_`` is None and the validation columns of ``history_``
# are None). With six or more training participants, one is held out and the epoch
# with the best validation temporal correlation is kept (``selection='temporal_r'``).
from eeg2fmri.estimators import MeanVolumeRegressor, Spec2VolEstimator

est = Spec2VolEstimator("spec2vol-tiny", epochs=10, batch_size=8, random_state=0)
est.fit(X_train, y_train, groups=dataset.groups[train], runs=runs[train])
print("validation participant(s):", est.validation_groups_)
print("kept epoch:", est.best_epoch_)
for row in est.history_:
    print(
        f"epoch {row['epoch']:2d}: train loss {row['train_loss']:.4f}, "
        f"val temporal r {row['val_temporal_r']}"
    )

baseline = MeanVolumeRegressor().fit(
    X_train, y_train, groups=dataset.groups[train], runs=runs[train]
)

# %%
# The training loss is the MSE of the per-voxel z-scores, so 1 is what predicting
# each voxel's run mean costs; it falls only as far as the EEG explains the BOLD
# fluctuations of the training runs.
#
# Score on the held-out participant
# ---------------------------------
# ``score`` is the mean voxel-wise temporal correlation between the synthesized and
# the measured run. The mean-volume baseline scores exactly 0: it predicts the same
# volume at every time point. SSIM and PSNR, the paper's metrics, are in
# :data:`eeg2fmri.metrics.SCORERS`; they compare each volume min-max scaled to
# [0, 1], so they mostly measure how well the anatomy is reproduced: the baseline,
# which knows nothing of the EEG, scores close to the model.
from eeg2fmri.metrics import SCORERS

for name, model in [("Spec2Vol", est), ("baseline", baseline)]:
    print(
        f"{name:8s}  temporal r {model.score(X_test, y_test):+.3f}   "
        f"SSIM {SCORERS['ssim'](model, X_test, y_test):.4f}   "
        f"PSNR {SCORERS['psnr'](model, X_test, y_test):.2f} dB"
    )

# %%
# ``predict`` returns BOLD intensity, in the units of the measured volumes: the
# training runs' mean volume plus the predicted z-score times each voxel's temporal
# standard deviation. To compute the paper's metrics by hand, scale both sides one
# volume at a time. The voxel-wise map of temporal correlation shows where the
# synthesized run follows the measured one; in this simulation only the voxels of a
# few simulated networks carry EEG-related signal, so the mean over all voxels
# printed above is much smaller than the correlation in the best voxels.
from eeg2fmri.metrics import ssim_per_volume, temporal_correlation

y_test = np.asarray(y_test)
y_pred = est.predict(X_test)  # (n_test, D, H, W), BOLD intensity
print("measured mean intensity:", y_test.mean().round(1),
      " synthesized:", y_pred.mean().round(1))


def per_volume_01(volumes):
    """Min-max scale each volume to [0, 1] (the paper's units)."""
    lo = volumes.min(axis=(1, 2, 3), keepdims=True)
    hi = volumes.max(axis=(1, 2, 3), keepdims=True)
    return (volumes - lo) / (hi - lo)


print("SSIM per volume:",
      ssim_per_volume(per_volume_01(y_test), per_volume_01(y_pred)).round(3)[:5], "...")
r = temporal_correlation(y_test, y_pred)
print(f"voxel-wise temporal r: median {np.nanmedian(r):+.3f}, "
      f"95th percentile {np.nanpercentile(r, 95):+.3f}, max {np.nanmax(r):+.3f}")

# %%
# Plot a measured and a synthesized volume, and the correlation map
# -----------------------------------------------------------------
# :func:`eeg2fmri.bids.volumes_to_nifti` turns ``(n, D, H, W)`` arrays back into the
# NIfTI ``(i, j, k, t)`` layout; the affine of the source BOLD is kept in the dataset.
# Both volumes are in BOLD intensity and are drawn on the same colour scale; the
# fluctuations over time are a few percent of the intensity, too small to see here,
# which is why the correlation map is the figure to read.
import matplotlib.pyplot as plt
import nibabel as nib
from nilearn import plotting

from eeg2fmri.bids import volumes_to_nifti

affine = dataset.affine
measured = nib.Nifti1Image(volumes_to_nifti(y_test[0]).astype(np.float32), affine)
synthesized = nib.Nifti1Image(volumes_to_nifti(y_pred[0]).astype(np.float32), affine)
r_img = nib.Nifti1Image(volumes_to_nifti(np.nan_to_num(r)).astype(np.float32), affine)
vmax = float(np.percentile(y_test[0], 99.5))
cuts = (-25, 0, 25, 50)  # the same MNI z coordinates in the three rows

fig, axes = plt.subplots(3, 1, figsize=(8, 7.5))
plotting.plot_epi(measured, display_mode="z", cut_coords=cuts, axes=axes[0],
                  title=f"measured, sub-{test_subject}", colorbar=False,
                  vmin=0, vmax=vmax)
plotting.plot_epi(synthesized, display_mode="z", cut_coords=cuts, axes=axes[1],
                  title="synthesized from EEG", colorbar=False, vmin=0, vmax=vmax)
plotting.plot_stat_map(r_img, bg_img=measured, display_mode="z", cut_coords=cuts,
                       axes=axes[2], vmax=1.0, threshold=0.3,
                       title="temporal r, synthesized vs measured (|r| > 0.3)")
plt.show()
