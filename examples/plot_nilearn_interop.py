"""
From pybids and mne-bids to a nilearn image: a synthesized run in a script
==========================================================================

Users already hold their data in a pybids :class:`~bids.layout.BIDSLayout`, in
mne-bids :class:`~mne_bids.BIDSPath` objects and in nilearn images. Here we

1. select runs of a small simulated EEG-fMRI dataset through a ``BIDSLayout`` and a
   ``BIDSPath`` (the same runs as the keyword arguments would select);
2. fit the linear band-power baseline (:class:`~eeg2fmri.BandPowerRidge`, seconds on
   a CPU) on two participants;
3. synthesize the third participant's run with :func:`eeg2fmri.synthesize_image`,
   which returns a :class:`nibabel.Nifti1Image` on the BOLD grid with the TR in its
   header;
4. give that image, unchanged, to nilearn's ``NiftiMasker``, ``plot_carpet`` and
   ``FirstLevelModel``.
"""

# %%
# Select runs with pybids and mne-bids
# ------------------------------------
import tempfile
from collections import Counter
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from bids import BIDSLayout
from mne_bids import BIDSPath, read_raw_bids

from eeg2fmri import BandPowerRidge, find_paired_runs, synthesize_image
from eeg2fmri.features import FeatureParams, build_dataset
from eeg2fmri.simulate import simulate_dataset

tmp = Path(tempfile.mkdtemp(prefix="eeg2fmri_interop_"))
bids_dir = simulate_dataset(
    tmp / "bids", preset="noddi", n_subjects=3, n_volumes=60, n_channels=16,
    bold_shape=(8, 16, 16), random_state=0,
)
layout = BIDSLayout(bids_dir)
by_layout = find_paired_runs(layout, participant_label="01")
by_path = find_paired_runs(BIDSPath(root=bids_dir, subject="01", task="rest"))
print(by_layout.summary())
assert by_layout.runs == by_path.runs

# %%
# Each run gives its EEG back as a ``BIDSPath``, which mne-bids reads with its
# channel types (the simulator writes an ECG channel) and markers.
run = by_layout.runs[0]
raw = read_raw_bids(run.eeg_bids_path, verbose="error")
print(f"{raw.info['sfreq']:g} Hz;", Counter(raw.get_channel_types()))

# %%
# Train on the other participants
# -------------------------------
# ``build_dataset`` takes the layout too; ``feature_params_`` tells
# :func:`~eeg2fmri.synthesize_image` how the EEG was turned into spectra (models saved
# by the BIDS-App carry it already).
params = FeatureParams(n_context=4)
train = build_dataset(layout, params, participant_label=["02", "03"])
model = BandPowerRidge(frequencies=train.frequencies).fit(
    train.X, train.y, groups=train.groups,
    runs=train.provenance["run_label"].to_numpy(),
)
model.feature_params_ = params

# %%
# Synthesize sub-01's run as a NIfTI image
# ----------------------------------------
# Every volume the EEG covers becomes a frame of a 4-D image on the BOLD grid,
# ``zooms[3]`` is the TR; the first frames, whose EEG context starts before the first
# EEG sample, are marked in ``run.context_complete``.
img, frames, info = synthesize_image(model, run, return_volume_indices=True,
                                     return_run=True)
tr = float(img.header.get_zooms()[3])
print(img.shape, f"TR {tr:.2f} s, {int((~info.context_complete).sum())} frames with an "
      "incomplete EEG context;", img.header["descrip"].item().decode())

# %%
# NiftiMasker and plot_carpet
# ---------------------------
from nilearn.maskers import NiftiMasker
from nilearn.plotting import plot_carpet

masker = NiftiMasker(standardize="zscore_sample")
series = masker.fit_transform(img)
print("time series:", series.shape)
plot_carpet(img, title="sub-01, synthesized from EEG")
plt.show()

# %%
# A GLM on the synthesized run
# ----------------------------
# ``FirstLevelModel`` reads the frames from the image. As a toy analysis we regress
# the synthesized run on the EEG alpha-band power of each volume's window, the
# feature the simulated visual network is coupled to, convolved with the HRF by the
# GLM (a one-sample "block" per TR with that power as modulation).
from nilearn.glm.first_level import FirstLevelModel
from nilearn.image import index_img

test = build_dataset(layout, params, participant_label="01")
# the GLM on the frames the training pairs would use (steady state, full context)
paired = test.provenance["volume_index"].to_numpy()
glm_img = index_img(img, paired)
alpha = (train.frequencies >= 8) & (train.frequencies <= 12)
# the features of each volume's last TR window, averaged over channels, alpha bins
power = np.asarray(test.X[:])[:, -1][:, :, alpha].mean(axis=(1, 2))
events = pd.DataFrame({
    "onset": np.arange(len(paired)) * tr,
    "duration": tr,
    "trial_type": "alpha",
    "modulation": (power - power.mean()) / power.std(),
})
glm = FirstLevelModel(t_r=tr, noise_model="ar1", standardize=False)
glm.fit(glm_img, events=events)
z_map = glm.compute_contrast("alpha", output_type="z_score")

from nilearn.image import mean_img
from nilearn.plotting import plot_stat_map

plot_stat_map(z_map, bg_img=mean_img(img), threshold=3.0, display_mode="z",
              cut_coords=4, title="alpha power -> synthesized BOLD (z)")
plt.show()
