"""
Synthesized vs measured time courses in atlas regions
=====================================================

Voxel-wise scores summarise a whole volume; neuroscientists usually look at a few
regions instead. Here we synthesize the BOLD run of one held-out participant of a
small simulated dataset, write it to NIfTI, and extract synthesized and measured
time courses in 8 mm spheres around coordinates of the Power et al. (2011) atlas
(bundled with nilearn, nothing is downloaded) with
:class:`~nilearn.maskers.NiftiSpheresMasker`.

Be warned: the model is the tiny preset trained for a few seconds on CPU on two
participants. In this simulation only a few networks of voxels carry BOLD
fluctuations that the EEG predicts, so the synthesized time courses can follow the
measured ones only in spheres that overlap these networks. The example shows the
workflow, not what a trained Spec2VolCAMU-Net reaches on real data.
"""

# %%
# Simulate a dataset in MNI space
# -------------------------------
# The simulator resamples the MNI152 template to the requested grid, so the BOLD
# affine is in MNI millimetres and atlas coordinates can be used directly. A
# 16x24x24 grid gives voxels of about 8 mm, small enough for 8 mm spheres.
import tempfile
from pathlib import Path

import numpy as np
import torch

from eeg2fmri.simulate import simulate_dataset

torch.set_num_threads(1)  # tiny models: one thread is enough, and robust

tmp = Path(tempfile.mkdtemp(prefix="eeg2fmri_regions_"))
bids_dir = simulate_dataset(
    tmp / "bids", preset="noddi", n_subjects=3, n_volumes=60, n_channels=16,
    bold_shape=(16, 24, 24), random_state=0,
)

# %%
# Pair EEG and BOLD, train on two participants
# --------------------------------------------
# A 4-window context and the first 128 frequency bins (up to about 59 Hz) keep the
# example fast; ``runs`` lets the estimator standardize every voxel within its run.
from eeg2fmri.estimators import Spec2VolEstimator
from eeg2fmri.features import FeatureParams, build_dataset

dataset = build_dataset(
    bids_dir, FeatureParams(n_context=4, n_freqs=128), work_dir=tmp / "work"
)
test_subject = "03"
train = dataset.subset(np.flatnonzero(dataset.groups != test_subject))
test = dataset.subset(np.flatnonzero(dataset.groups == test_subject))
print("voxel size (mm):", np.sqrt((dataset.affine[:3, :3] ** 2).sum(0)).round(1))
print("train pairs:", len(train.groups), "test pairs:", len(test.groups))

est = Spec2VolEstimator("spec2vol-tiny", epochs=10, batch_size=8, random_state=0)
est.fit(train.X[:], train.y[:], groups=train.groups,
        runs=train.provenance["run_label"].to_numpy())

# %%
# Synthesize the held-out run and write it to NIfTI
# -------------------------------------------------
# ``predict`` returns BOLD intensity, in the units of the measured volumes (the
# training runs' mean volume plus the predicted fluctuations), so the two runs can
# be written and masked the same way. Only the volumes with a full EEG context are
# synthesized: ``test.provenance.volume_index`` says which ones.
import nibabel as nib

from eeg2fmri.bids import volumes_to_nifti

y_meas = np.asarray(test.y[:], dtype=np.float32)
y_pred = est.predict(test.X[:])
print("synthesized volumes:", test.provenance["volume_index"].to_numpy()[[0, -1]])
print(f"held-out temporal r, mean over all voxels: {est.score(test.X[:], y_meas):.3f}")


def to_img(vols, path):
    img = nib.Nifti1Image(volumes_to_nifti(vols).astype(np.float32), dataset.affine)
    img.header.set_xyzt_units("mm", "sec")
    img.header["pixdim"][4] = dataset.tr
    img.to_filename(path)
    return img


measured_img = to_img(y_meas, tmp / f"sub-{test_subject}_desc-measured_bold.nii.gz")
synth_img = to_img(y_pred, tmp / f"sub-{test_subject}_desc-synthesized_bold.nii.gz")
print(synth_img.shape, "TR", synth_img.header.get_zooms()[3])

# %%
# Time courses in Power-2011 spheres
# ----------------------------------
# ``fetch_coords_power_2011`` reads a CSV shipped with nilearn (no download). We
# take a handful of its 264 coordinates spread over the brain.
import pandas as pd
from nilearn import datasets
from nilearn.maskers import NiftiSpheresMasker

rois = datasets.fetch_coords_power_2011().rois
picks = [4, 40, 90, 140, 200, 250]  # 0-based rows of the atlas table
coords = rois.loc[picks, ["x", "y", "z"]].to_numpy().tolist()
labels = [
    f"ROI {rois.loc[i, 'roi']} ({x},{y},{z})"
    for i, (x, y, z) in zip(picks, coords, strict=True)
]

masker = NiftiSpheresMasker(coords, radius=8.0, allow_overlap=True, standardize=None)
ts_meas = masker.fit_transform(measured_img)  # (n_volumes, n_spheres)
ts_pred = masker.transform(synth_img)

# %%
# The simulator also writes its ground truth under ``derivatives/simulation``,
# among which one map per simulated network (a 4-D image, networks along the 4th
# axis). The same masker gives the mean of each map in each sphere; the largest,
# between 0 and 1, says how much a sphere overlaps a network whose BOLD follows the
# EEG.
truth_dir = bids_dir / "derivatives" / "simulation" / f"sub-{test_subject}" / "func"
networks_img = nib.load(
    truth_dir / f"sub-{test_subject}_task-rest_desc-networks_mask.nii.gz"
)
network_weight = masker.transform(networks_img).max(axis=0)  # (n_spheres,)

rows = []
for k, label in enumerate(labels):
    a, b = ts_meas[:, k].astype(np.float64), ts_pred[:, k].astype(np.float64)
    r = np.corrcoef(a, b)[0, 1] if a.std() > 1e-9 and b.std() > 1e-9 else np.nan
    rows.append(
        {"region": label, "network map": network_weight[k], "r": r,
         "sd measured": a.std(), "sd synthesized": b.std()}
    )
table = pd.DataFrame(rows)
print(table.to_string(index=False, float_format=lambda v: f"{v:.3g}"))

# %%
# Plot them
# ---------
# Both time courses are shown as deviations from their own mean, in BOLD intensity.
# Read them with the table above: the correlation is highest in the spheres that
# overlap a simulated network most (``network map`` well above 0), where the BOLD
# depends on the EEG. Elsewhere the measured time courses hold thermal noise and
# the slow scanner drift that the simulator adds to every voxel, and over 50
# volumes a slow synthesized time course can correlate with them by chance: one
# sphere's r is no evidence that the model follows it. The
# synthesized fluctuations are smaller than the measured ones (compare the two
# ``sd`` columns): noise and drift cannot be predicted from the EEG, and a model
# trained on two participants predicts the EEG-driven part only in part.
import matplotlib.pyplot as plt

t = test.provenance["volume_index"].to_numpy() * dataset.tr


fig, axes = plt.subplots(len(labels), 1, figsize=(8, 1.4 * len(labels)), sharex=True)
for k, ax in enumerate(axes):
    meas, pred = ts_meas[:, k], ts_pred[:, k]
    ax.plot(t, meas - meas.mean(), color="k", lw=1, label="measured")
    ax.plot(t, pred - pred.mean(), color="C1", lw=1, label="synthesized")
    ax.set_title(f"{labels[k]}  network map {network_weight[k]:.2f}  "
                 f"r = {table.r[k]:.2f}", fontsize=8, loc="left")
axes[0].legend(fontsize=7, loc="upper right")
axes[-1].set_xlabel("time from the first volume (s)")
fig.tight_layout()
plt.show()
