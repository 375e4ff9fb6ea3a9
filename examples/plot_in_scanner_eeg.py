"""
EEG recorded in the scanner: detect and correct the gradient and pulse artifacts
================================================================================

EEG recorded during fMRI carries a gradient artifact at every slice (thousands of
µV) and a pulse artifact at every heartbeat. This example

1. simulates a small raw in-scanner recording with the ``inscanner`` preset, whose
   clean EEG is kept as truth in ``derivatives/simulation``;
2. shows that the feature extraction refuses it (and says what to do);
3. corrects it with :func:`eeg2fmri.artifacts.correct_artifacts` and compares the
   result with the truth, in time and in frequency.
"""

# %%
# Simulate a raw in-scanner recording
# -----------------------------------
# 30 volumes of TR 2 s, 16 slices, 8 channels (7 EEG + ECG) at 2.5 kHz.
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from scipy import signal

from eeg2fmri.artifacts import correct_artifacts, correction_provenance
from eeg2fmri.bids import load_eeg
from eeg2fmri.exceptions import DataError
from eeg2fmri.features import FeatureParams, build_dataset
from eeg2fmri.simulate import simulate_dataset

tmp = Path(tempfile.mkdtemp(prefix="eeg2fmri_inscanner_"))
bids_dir = simulate_dataset(
    tmp / "bids",
    preset="inscanner",
    n_subjects=1,
    n_volumes=30,
    n_channels=8,
    sfreq=2500.0,
    bold_shape=(16, 8, 8),
    random_state=0,
)

# %%
# The features refuse raw in-scanner EEG
# --------------------------------------
params = FeatureParams(n_context=4, discard_volumes=0)
try:
    build_dataset(bids_dir, params)
except DataError as err:
    print(err)

# %%
# Correct it
# ----------
# Slices are acquired back to back and the file has only volume triggers, so the
# slice count is given (the BIDS-App reads it from ``SliceTiming``).
raw = load_eeg(bids_dir / "sub-01/eeg/sub-01_task-rest_eeg.vhdr")
clean = correct_artifacts(raw, "gradient+pulse", n_slices=16)
print(raw.info["sfreq"], "Hz ->", clean.info["sfreq"], "Hz")
print(correction_provenance(clean))

truth = load_eeg(
    bids_dir / "derivatives/simulation/sub-01/eeg/sub-01_task-rest_desc-clean_eeg.vhdr"
)
truth_250 = signal.resample_poly(truth.get_data(), 1, 10, axis=-1)
got = clean.get_data()
first = int(10 * 250)  # the first volume trigger is 10 s in
sos = signal.butter(4, [1, 40], btype="bandpass", fs=250, output="sos")
a = signal.sosfiltfilt(sos, got)[:, first:]
b = signal.sosfiltfilt(sos, truth_250[:, : got.shape[1]])[:, first:]
eeg = [i for i, kind in enumerate(clean.get_channel_types()) if kind == "eeg"]
r = [np.corrcoef(a[i], b[i])[0, 1] for i in eeg]
print("1-40 Hz correlation with the truth per EEG channel:", np.round(r, 3))

# %%
# Raw, corrected and true EEG
# ---------------------------
# Two seconds of O1 (µV): the raw recording is dominated by the gradient artifact;
# the corrected one follows the truth.
ch = clean.ch_names.index("O1") if "O1" in clean.ch_names else eeg[0]
t = np.arange(500) / 250
fig, axes = plt.subplots(2, 1, figsize=(8, 5))
raw_250 = signal.resample_poly(raw.get_data(picks=[ch])[0], 1, 10)
axes[0].plot(t, 1e6 * raw_250[first + 2500 : first + 3000], lw=0.6)
axes[0].set(title="raw (down-sampled)", ylabel="µV")
axes[1].plot(t, 1e6 * b[ch, 2500:3000], label="truth", lw=1.5)
axes[1].plot(t, 1e6 * a[ch, 2500:3000], label="corrected", lw=0.8)
axes[1].set(title="1-40 Hz", xlabel="s", ylabel="µV")
axes[1].legend()
fig.tight_layout()

# %%
# Spectra: the slice harmonics (8, 16, 24 ... Hz) are gone
# ---------------------------------------------------------
f, p_got = signal.welch(got[eeg, first:], fs=250, nperseg=1000)
_, p_true = signal.welch(truth_250[eeg, first:], fs=250, nperseg=1000)
_, p_raw = signal.welch(
    signal.resample_poly(raw.get_data(picks=eeg), 1, 10, axis=-1)[:, first:],
    fs=250,
    nperseg=1000,
)
fig, ax = plt.subplots(figsize=(8, 4))
for p, label in ((p_raw, "raw"), (p_true, "truth"), (p_got, "corrected")):
    ax.semilogy(f, np.median(p, 0), label=label)
ax.set(xlabel="Hz", ylabel="V²/Hz (median over channels)", xlim=(0, 100))
ax.legend()
plt.show()
