"""
A first-level GLM on synthesized BOLD: the oddball task
=======================================================

If synthesized BOLD is to replace a scan, a standard analysis run on it should give
the same answer as on the measured BOLD. Here we simulate a tiny auditory oddball
EEG-fMRI dataset (rare *target* tones among *standard* ones), synthesize the run of
one held-out participant with a model trained on the others, and fit the same
:class:`~nilearn.glm.first_level.FirstLevelModel` to the measured and to the
synthesized run. We then compare the two "target - standard" z-maps.

Honest expectations: the model is the tiny preset trained for a few seconds on CPU,
on 2 participants. Its synthesized run follows the measured one only weakly (its
held-out temporal correlation is printed below), the rare targets are a small part
of the BOLD fluctuations, and the synthesized z-map is mostly noise. The example
shows how to line up events, frames and models correctly, which is the part that
carries over to a real, trained model.
"""

# %%
# Simulate an oddball dataset
# ---------------------------
# The simulator writes the stimuli twice: in EEG time next to the EEG recording, and
# in BOLD time (onsets from the first volume) in ``func/..._events.tsv``, the file
# an fMRI analysis reads.
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from eeg2fmri.simulate import simulate_dataset

torch.set_num_threads(1)  # tiny models: one thread is enough, and robust

tmp = Path(tempfile.mkdtemp(prefix="eeg2fmri_oddball_"))
bids_dir = simulate_dataset(
    tmp / "bids", preset="oddball", n_subjects=3, n_volumes=80, n_channels=16,
    bold_shape=(10, 16, 16), random_state=0,
)
test_subject = "03"
func_dir = bids_dir / f"sub-{test_subject}" / "func"
events = pd.read_csv(func_dir / f"sub-{test_subject}_task-oddball_events.tsv", sep="\t")
print(events.head())
print(events["trial_type"].value_counts())

# %%
# Train on two participants, synthesize the third
# -----------------------------------------------
# The default recipe standardizes every voxel over time within each run (``runs``)
# and ``predict`` returns BOLD intensity, the units of the measured run, so both
# runs go through the GLM as they are. The features use the first 128 frequency
# bins (up to 64 Hz at this TR) to keep the example fast.
from eeg2fmri.estimators import Spec2VolEstimator
from eeg2fmri.features import FeatureParams, build_dataset

dataset = build_dataset(
    bids_dir, FeatureParams(n_context=4, n_freqs=128), work_dir=tmp / "work"
)
train = dataset.subset(np.flatnonzero(dataset.groups != test_subject))
test = dataset.subset(np.flatnonzero(dataset.groups == test_subject))
est = Spec2VolEstimator("spec2vol-tiny", epochs=10, batch_size=8, random_state=0)
est.fit(train.X[:], train.y[:], groups=train.groups,
        runs=train.provenance["run_label"].to_numpy())
y_pred = est.predict(test.X[:])  # (n_frames, D, H, W), BOLD intensity
r_test = est.score(test.X[:], test.y[:])
print(f"held-out temporal r, mean over all voxels: {r_test:.3f}")

# %%
# Align frames and events
# -----------------------
# Only the volumes preceded by a full EEG context (and after the discarded first
# volumes) are synthesized. ``provenance.volume_index`` gives their index in the
# run. We fit the measured BOLD on exactly the same frames, and shift the event
# onsets so that time 0 is the first synthesized volume (events before it still
# contribute their HRF tail; nilearn keeps them).
import nibabel as nib

from eeg2fmri.bids import load_bold, volumes_to_nifti

frames = test.provenance["volume_index"].to_numpy()
tr = dataset.tr
print(f"TR {tr} s; synthesized volumes {frames[0]}..{frames[-1]} ({len(frames)})")
print("one contiguous block of volumes:", bool(np.all(np.diff(frames) == 1)))

bold = load_bold(func_dir / f"sub-{test_subject}_task-oddball_bold.nii.gz")
measured_img = nib.Nifti1Image(
    volumes_to_nifti(bold.volumes[frames]).astype(np.float32), bold.affine)
synth_img = nib.Nifti1Image(volumes_to_nifti(y_pred).astype(np.float32), bold.affine)

# the tones are brief: model them as 0.1 s events rather than null-duration ones
events_shifted = events.assign(onset=events["onset"] - frames[0] * tr, duration=0.1)

# %%
# Fit the same first-level model to both
# --------------------------------------
# Glover HRF, cosine drift, no smoothing (the voxels are already ~12 mm). Both runs
# share one brain mask computed from the measured mean volume, so the maps are
# compared on the same voxels.
from nilearn.glm.first_level import FirstLevelModel
from nilearn.image import mean_img
from nilearn.masking import compute_epi_mask

mask = compute_epi_mask(mean_img(measured_img, copy_header=True))
# FirstLevelModel's internal masker warns that the mask we give is used: that is
# what we want.
warnings.filterwarnings("ignore", message=".*Given mask will be used")
z_maps = {}
for name, img in [("measured", measured_img), ("synthesized", synth_img)]:
    glm = FirstLevelModel(t_r=tr, hrf_model="glover", drift_model="cosine",
                          high_pass=0.01, mask_img=mask, smoothing_fwhm=None,
                          minimize_memory=True)
    glm.fit(img, events=events_shifted)
    z_maps[name] = glm.compute_contrast("target - standard", output_type="z_score")

# %%
# Compare the z-maps
# ------------------
from nilearn.masking import apply_mask

z_meas = apply_mask(z_maps["measured"], mask)
z_synth = apply_mask(z_maps["synthesized"], mask)
r = np.corrcoef(z_meas, z_synth)[0, 1] if z_synth.std() > 0 else np.nan
print(f"{int(mask.get_fdata().sum())} voxels in the mask")
print(f"max |z| measured {np.abs(z_meas).max():.2f}, "
      f"synthesized {np.abs(z_synth).max():.2f}")
print(f"spatial correlation of the two target - standard z-maps: r = {r:.3f}")

# %%
# Even the measured map is weak: 10 targets in 70 frames of a 10x16x16 grid give
# little power, so only scattered voxels pass ``|z| > 2``. The synthesized map, from
# a tiny model trained for seconds on two participants, is close to noise: compare
# the maximum ``|z|`` of the two maps and their spatial correlation printed above.
# With a trained model this is the comparison to make: same events, same frames,
# same GLM, same mask, both runs in BOLD intensity.
import matplotlib.pyplot as plt
from nilearn import plotting

# nilearn warns when no voxel of a map passes the threshold
warnings.filterwarnings("ignore", message="empty mask")
background = mean_img(measured_img, copy_header=True)
fig, axes = plt.subplots(2, 1, figsize=(8, 5))
for ax, name in zip(axes, ["measured", "synthesized"], strict=True):
    plotting.plot_stat_map(z_maps[name], bg_img=background,
                           display_mode="z", cut_coords=(-30, -5, 20, 45),
                           threshold=2.0, axes=ax,
                           title=f"{name}: target - standard (|z| > 2)")
plt.show()
