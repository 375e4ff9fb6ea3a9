"""
Quickstart: from a BIDS dataset to synthesized fMRI volumes
===========================================================

This example walks through the Python API end to end:

1. simulate a tiny EEG-fMRI BIDS dataset with known ground truth;
2. pair every BOLD volume with the EEG spectra that precede it
   (:func:`eeg2fmri.features.build_dataset`);
3. train a :class:`~eeg2fmri.estimator.Spec2VolEstimator` on two participants and
   synthesize the volumes of the third (leave-one-subject-out);
4. compare it with the :class:`~eeg2fmri.estimator.MeanVolumeRegressor` baseline and
   plot a measured and a synthesized volume with nilearn.

The model is the tiny preset trained for 3 epochs on CPU, so the numbers only show
that the pipeline works, not what Spec2VolCAMU-Net reaches on real data.
"""

# %%
# Simulate a small dataset
# ------------------------
# Three participants, one resting-state run each, 40 volumes of 8x16x16 voxels,
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
    n_volumes=40,
    n_channels=16,
    bold_shape=(8, 16, 16),
    random_state=0,
)
print(sorted(p.name for p in bids_dir.iterdir()))

# %%
# Extract the (EEG context, BOLD volume) pairs
# --------------------------------------------
# :class:`~eeg2fmri.features.FeatureParams` holds the preprocessing. Its defaults
# are those of the official code (20 TR windows of context, 6 discarded volumes);
# here we use a 4-window context so that short runs still give many pairs.
from eeg2fmri.features import FeatureParams, build_dataset

params = FeatureParams(n_context=4)
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
# pair; the estimator also uses it to hold out a *training* participant for model
# selection (``validation_split``).
test_subject = "03"
train = dataset.groups != test_subject
X_train, y_train = dataset.X[np.flatnonzero(train)], dataset.y[np.flatnonzero(train)]
X_test, y_test = dataset.X[np.flatnonzero(~train)], dataset.y[np.flatnonzero(~train)]
print(X_train.shape, X_test.shape)

# %%
# Train Spec2VolCAMU-Net (tiny) and the mean-volume baseline
# ----------------------------------------------------------
from eeg2fmri.estimator import MeanVolumeRegressor, Spec2VolEstimator

est = Spec2VolEstimator(
    "spec2vol-tiny",
    epochs=3,
    batch_size=8,
    validation_split=0.5,  # one of the two training participants
    random_state=0,
)
est.fit(X_train, y_train, groups=dataset.groups[train])
print("validation participant(s):", est.validation_groups_)
print("best epoch:", est.best_epoch_)
for row in est.history_:
    print(
        f"epoch {row['epoch']}: train loss {row['train_loss']:.4f}, "
        f"val SSIM {row['val_ssim']:.4f}"
    )

baseline = MeanVolumeRegressor().fit(X_train, y_train)

# %%
# Score on the held-out participant
# ---------------------------------
# ``score`` is the mean SSIM per volume, computed, as in the paper, on volumes
# min-max scaled to [0, 1] one by one. The mean volume scores high because anatomy
# dominates the images: always read a model's score next to the baseline's. By
# default (``target_offset='mean'``) the network learns the residual from the mean
# training volume, so it starts from the baseline and can only improve on it with
# what the EEG predicts; a tiny model trained for 3 epochs stays close to it.
from eeg2fmri.metrics import psnr_per_volume, ssim_per_volume, temporal_correlation

print(f"Spec2Vol SSIM {est.score(X_test, y_test):.4f}")
print(f"baseline SSIM {baseline.score(X_test, y_test):.4f}")

y_pred = est.predict(X_test)  # (n_test, D, H, W), per-volume [0, 1] units
lo = y_test.min(axis=(1, 2, 3), keepdims=True)
hi = y_test.max(axis=(1, 2, 3), keepdims=True)
y_test01 = (y_test - lo) / (hi - lo)
print("PSNR (dB):", psnr_per_volume(y_test01, y_pred).mean().round(2))
print("SSIM per volume:", ssim_per_volume(y_test01, y_pred).round(3)[:5], "...")
r = temporal_correlation(y_test01, y_pred)
print("voxel-wise temporal r, median:", float(np.nanmedian(r)))

# %%
# Plot a measured and a synthesized volume
# ----------------------------------------
# :func:`eeg2fmri.bids.volumes_to_nifti` turns ``(n, D, H, W)`` arrays back into the
# NIfTI ``(i, j, k, t)`` layout; the affine of the source BOLD is kept in the dataset.
import matplotlib.pyplot as plt
import nibabel as nib
from nilearn import plotting

from eeg2fmri.bids import volumes_to_nifti

affine = dataset.affine
measured = nib.Nifti1Image(volumes_to_nifti(y_test01[:1])[..., 0], affine)
synthesized = nib.Nifti1Image(volumes_to_nifti(y_pred[:1])[..., 0], affine)

fig, axes = plt.subplots(2, 1, figsize=(8, 5))
plotting.plot_epi(measured, display_mode="z", cut_coords=4, axes=axes[0],
                  title=f"measured, sub-{test_subject}", colorbar=False)
plotting.plot_epi(synthesized, display_mode="z", cut_coords=4, axes=axes[1],
                  title="synthesized from EEG", colorbar=False)
plt.show()
