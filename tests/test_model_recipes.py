"""Every model the BIDS-App offers works under every recipe, through the CLI.

``--model-name`` accepts every network of the registry and every linear baseline, and
``--recipe`` both recipes; each combination either trains and writes its derivatives
or is refused before any work with a usage error (exit 64). Here each runs on the
session's tiny dataset (one epoch, four context windows); no combination is refused
today. The full-size networks (``spec2vol``, ``e2fnet``) take 20-50 s each here.
"""

import json

import nibabel as nib
import numpy as np
import pytest

from bids_app.run import main
from eeg2fmri.pipeline import RECIPES, model_names

STEM = "sub-01/func/sub-01_task-rest_desc-eeg2fmri"


@pytest.mark.parametrize("recipe", RECIPES)
@pytest.mark.parametrize("name", model_names())
def test_every_model_under_every_recipe(name, recipe, sim_bids, tmp_path):
    out = tmp_path / "out"
    argv = [str(sim_bids), str(out), "participant", "--participant-label", "01",
            "-w", str(tmp_path / "work"), "--model-name", name, "--recipe", recipe,
            "--epochs", "1", "--n-context", "4", "--batch-size", "8",
            "--random-seed", "0", "--omp-nthreads", "1", "--skip-bids-validation"]
    assert main(argv) == 0, f"{name} under --recipe {recipe}"

    meta = json.loads((out / f"{STEM}_bold.json").read_text())
    assert meta["Model"]["Name"] == name
    img = nib.load(out / f"{STEM}_bold.nii.gz")
    measured = nib.load(
        sim_bids / "sub-01" / "func" / "sub-01_task-rest_bold.nii.gz"
    )
    assert img.shape == measured.shape  # every volume, on the measured grid
    volumes = np.asarray(img.dataobj)
    assert np.isfinite(volumes).all()
    summary = json.loads((out / f"{STEM}_metrics.json").read_text())["Summary"]
    assert np.isfinite(summary["temporal_r"])
    features = meta["Preprocessing"]["FeatureParams"]
    official = recipe == "official"
    assert (features["normalization"] == "zscore_electrodes") is official
