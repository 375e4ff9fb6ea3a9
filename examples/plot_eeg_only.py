"""
fMRI from EEG alone: a model trained in the scanner, applied to another cap
===========================================================================

The point of EEG-to-fMRI synthesis is EEG recorded *without* a scanner. Here we

1. simulate a simultaneous EEG-fMRI dataset of four participants and train a model
   on it (the band-power ridge, seconds on a CPU; any estimator works the same way);
2. save it: the model file records its channels, sampling rate, TR, output grid,
   brain mask and the training participants' mean volume;
3. simulate the EEG of a fifth participant "recorded elsewhere": another cap (two
   electrodes missing, old 10-20 names, another channel order, a bad channel, an
   extra EOG), another sampling rate, no scanner, no fMRI;
4. synthesize its BOLD with :func:`eeg2fmri.synthesize_image` from the EEG file
   alone, look at what was adapted, and at the image with nilearn;
5. compare it with the BOLD the simulation says the scanner would have measured
   (known only because this is a simulation).
"""

# %%
# Train on simultaneous EEG-fMRI and save the model
# -------------------------------------------------
import json
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import nibabel as nib
import numpy as np
from nilearn import image, plotting
from nilearn.maskers import NiftiMasker

from eeg2fmri import (
    BandPowerRidge,
    FeatureParams,
    build_dataset,
    load_model,
    synthesize_image,
)
from eeg2fmri.bids.derivatives import volumes_to_nifti_image
from eeg2fmri.simulate import simulate_dataset, simulate_eeg_only_dataset

tmp = Path(tempfile.mkdtemp(prefix="eeg2fmri_eeg_only_"))
sim = dict(preset="noddi", n_volumes=120, n_channels=32, bold_shape=(12, 24, 24),
           random_state=0)
bids_dir = simulate_dataset(tmp / "scanner", n_subjects=4, **sim)
data = build_dataset(bids_dir, FeatureParams(n_context=8))
model = BandPowerRidge().fit(
    data.X, data.y, groups=data.groups, runs=data.provenance["run_label"].to_numpy()
)
path = model.save(tmp / "model" / "ridge.safetensors")
print(model.eeg_spec_)
print(model.output_space_)

# %%
# The JSON next to the weights says what applying the model needs: nothing is
# taken by position, and the grid does not depend on any reference image.
desc = json.loads(path.read_text())
print(desc["eeg"]["ch_names"][:8], "...", desc["eeg"]["sfreq"], "Hz")
print({k: desc["output_space"][k] for k in ("label", "shape", "tr", "description")})

# %%
# EEG recorded elsewhere
# ----------------------
# The fifth participant of the same simulation, recorded with another cap at
# 500 Hz outside the scanner. The simulator also keeps what the scanner *would*
# have measured, in ``derivatives/simulation``.
eeg_dir = simulate_eeg_only_dataset(
    tmp / "elsewhere", subjects=("05",), drop_channels=2, rename="10-20-old",
    sfreq=500.0, bad_channels=1, extra_channels=("EOG",), **sim,
)
eeg_file = next((eeg_dir / "sub-05" / "eeg").glob("*_eeg.vhdr"))
print(sorted(p.name for p in (eeg_dir / "sub-05").iterdir()))  # no func/

# %%
# Synthesize from the EEG file alone
# ----------------------------------
# The recording is put into the model's channels by name (aliases such as T3 = T7),
# the missing and bad electrodes are interpolated with spherical splines, the rest
# is resampled to the model's 250 Hz; every volume the EEG covers is synthesized,
# and those at the start, whose EEG context is incomplete, are marked.
model = load_model(path)
img, run = synthesize_image(model, eeg_file, return_run=True)
print(img.shape, img.header.get_zooms())
for line in run.conformed.summary():
    print("-", line)
print("frames with an incomplete EEG context:", np.flatnonzero(~run.context_complete))

# %%
# nilearn takes the image as it is: the model's brain mask for a masker, the
# temporal standard deviation over the mean synthesized volume.
space = model.output_space_
mask = volumes_to_nifti_image(space.mask.astype(np.uint8), space.affine,
                              dtype=np.uint8)
series = NiftiMasker(mask_img=mask, standardize=None).fit_transform(img)
print("voxel time series:", series.shape)
sd = image.math_img("np.std(img, axis=-1)", img=img)
plotting.plot_stat_map(sd, bg_img=image.mean_img(img, copy_header=True),
                       display_mode="z", cut_coords=4,
                       title="temporal SD of the synthesized BOLD")

# %%
# How close is it to what the scanner would have measured?
# --------------------------------------------------------
# The simulation's truth (never available for real EEG-only recordings): voxel-wise
# temporal correlation in the simulated networks, on the frames with a complete
# context.
truth_dir = eeg_dir / "derivatives" / "simulation" / "sub-05" / "func"
measured = nib.load(next(truth_dir.glob("*_desc-measured_bold.nii.gz")))
networks = nib.load(next(truth_dir.glob("*_desc-networks_mask.nii.gz")))
in_network = np.asarray(networks.dataobj).max(axis=-1) > 0.5
keep = run.context_complete[: measured.shape[-1]]
a = np.asarray(img.dataobj)[..., : measured.shape[-1]][in_network][:, keep]
b = np.asarray(measured.dataobj, dtype=np.float32)[in_network][:, keep]
r = [np.corrcoef(x, y)[0, 1] for x, y in zip(a, b, strict=True) if x.std() > 0]
print(f"median r in the network voxels: {np.median(r):.2f} ({len(r)} voxels)")

fig, ax = plt.subplots(figsize=(7, 2.5))
t = np.arange(len(keep))[keep] * run.tr
ax.plot(t, (b.mean(0) - b.mean()) / b.mean(0).std(), label="would have been measured")
ax.plot(t, (a.mean(0) - a.mean()) / a.mean(0).std(), label="synthesized from EEG")
ax.set(xlabel="time (s)", ylabel="network mean (z)")
ax.legend(frameon=False)
plt.show()
