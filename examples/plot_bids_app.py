"""
Run the BIDS-App and read its derivatives with nilearn
======================================================

The ``eeg2fmri`` command line (see :ref:`bids_app`) can also be called from Python
through :func:`bids_app.run.main`, which takes the same arguments and returns the
exit code. Here we run the participant level on one participant of a small simulated
dataset (its model is trained on the two other participants), then open the
BIDS-Derivatives with nilearn: the synthesized run, the voxel-wise correlation map,
a carpet plot and a masker.

The App trains with the default recipe (log spectra standardized per channel and
frequency, targets standardized per voxel within each run, MSE; ``--recipe
default``); ``--recipe official`` trains with the recipe of the paper's code
instead, and ``--model-name ridge`` fits the linear band-power baseline. Here the
tiny network preset is trained for 10 epochs, so the run shows the outputs, not the
accuracy of a trained model.
"""

# %%
# Simulate a dataset and run the participant level
# ------------------------------------------------
import json
import tempfile
from pathlib import Path

import pandas as pd

from bids_app.run import main
from eeg2fmri.simulate import simulate_dataset

tmp = Path(tempfile.mkdtemp(prefix="eeg2fmri_bids_app_"))
bids_dir = simulate_dataset(
    tmp / "bids", preset="noddi", n_subjects=3, n_volumes=50, n_channels=16,
    bold_shape=(8, 16, 16), random_state=0,
)
out_dir = bids_dir / "derivatives" / "eeg2fmri"

exit_code = main([
    str(bids_dir), str(out_dir), "participant",
    "--participant-label", "01",
    "--model-name", "spec2vol-tiny",
    "--epochs", "10",
    "--n-context", "4",
    "--nprocs", "2",
    "--omp-nthreads", "1",
    "--skip-bids-validation",
    "-w", str(tmp / "work"),
])
print("exit code:", exit_code)

# %%
# What was written
# ----------------
for path in sorted(out_dir.rglob("*")):
    if path.is_file() and "figures" not in path.parts:
        print(path.relative_to(out_dir))

# %%
# The sidecar of the synthesized run says which source volumes it holds, which model
# made it and in which units (``IntensityUnits``): with the default recipe, those of
# the measured BOLD, so the synthesized run can be analysed like a measured one.
func = out_dir / "sub-01" / "func"
bold_file = next(func.glob("*_desc-eeg2fmri_bold.nii.gz"))
sidecar = json.loads(bold_file.with_name(bold_file.name.replace(".nii.gz", ".json"))
                     .read_text())
frames = sidecar["SourceVolumeIndices"]
print(f"{len(frames)} frames: source volumes {frames[0]}..{frames[-1]}, "
      f"TR {sidecar['RepetitionTime']} s, starting {sidecar['StartTimeOffset']} s "
      "after the first source volume")
print(sidecar.get("IntensityUnits"))

# %%
# Metrics
# -------
# The TSV has the paper's per-volume metrics, SSIM and PSNR (each volume min-max
# scaled to [0, 1]), for the model and for the mean-volume baseline; its JSON
# sidecar adds the run-level summary, with the voxel-wise temporal correlation in
# the brain mask, where the baseline scores 0.
metrics_tsv = next(func.glob("*_metrics.tsv"))
metrics = pd.read_csv(metrics_tsv, sep="\t")
summary = json.loads(metrics_tsv.with_suffix(".json").read_text())["Summary"]
for key in ["temporal_r", "temporal_r_baseline", "ssim", "ssim_baseline"]:
    print(f"{key:20s} {summary[key]:.4f}")
metrics.head()

# %%
# Synthesized BOLD: one volume
# ----------------------------
import matplotlib.pyplot as plt
from nilearn import image, plotting

synth = image.load_img(bold_file)
print("synthesized image:", synth.shape, "TR", synth.header.get_zooms()[3])
plotting.plot_epi(image.index_img(synth, 0), display_mode="z", cut_coords=4,
                  title="synthesized volume 0")

# %%
# Voxel-wise temporal correlation with the measured BOLD
# ------------------------------------------------------
r_map = next(func.glob("*_stat-r_statmap.nii.gz"))
plotting.plot_stat_map(r_map, bg_img=image.mean_img(synth, copy_header=True),
                       display_mode="z", cut_coords=4, vmax=1.0,
                       title="temporal r, synthesized vs measured")

# %%
# Carpet plot and masker
# ----------------------
# The derivative is an ordinary 4-D NIfTI with a correct TR, so nilearn's tools read
# it as they are.
from nilearn.maskers import NiftiMasker

plotting.plot_carpet(synth, t_r=synth.header.get_zooms()[3],
                     title="synthesized run (carpet)")

masker = NiftiMasker(mask_strategy="epi", standardize="zscore_sample")
signals = masker.fit_transform(synth)
print("masked time series:", signals.shape, "(frames, voxels in the EPI mask)")
plt.show()
