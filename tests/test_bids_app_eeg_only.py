"""The BIDS-App on EEG recorded without fMRI: EEG-only datasets and sessions."""

import json
import shutil
from pathlib import Path

import pytest

from bids_app.run import main
from eeg2fmri.simulate import simulate_eeg_only_dataset

from .conftest import SIM_KWARGS

TINY = ["--model-name", "spec2vol-tiny", "--epochs", "1", "--n-context", "4",
        "--omp-nthreads", "1", "--skip-bids-validation"]
EEG_ONLY = {k: v for k, v in SIM_KWARGS.items() if k != "n_subjects"}


@pytest.fixture(scope="module")
def saved_model(sim_bids, tmp_path_factory):
    """``group --save-model`` on the simultaneous dataset (sub-01..03)."""
    root = tmp_path_factory.mktemp("app_model")
    out = root / "out"
    assert main([str(sim_bids), str(out), "group", "--save-model", "-w",
                 str(root / "work"), *TINY]) == 0
    return next((out / "models").glob("*.safetensors"))


def _simulate(path, **kwargs):
    return simulate_eeg_only_dataset(path, subjects=("04",), **EEG_ONLY, **kwargs)


@pytest.fixture(scope="module")
def elsewhere(tmp_path_factory):
    return _simulate(
        tmp_path_factory.mktemp("elsewhere") / "bids", drop_channels=2,
        rename="10-20-old", sfreq=500.0, bad_channels=1, extra_channels=("EOG",),
    )


def _mtimes(root):
    return {p: p.stat().st_mtime_ns for p in Path(root).rglob("*")}


def test_plain_eeg_dataset_is_synthesized(saved_model, elsewhere, tmp_path, capsys):
    out = tmp_path / "out"
    before = _mtimes(elsewhere)
    argv = [str(elsewhere), str(out), "participant", "--model", str(saved_model),
            "-w", str(tmp_path / "w"), "--omp-nthreads", "1"]
    assert main(argv) == 0, capsys.readouterr().err
    assert _mtimes(elsewhere) == before  # the input is never written to
    func = out / "sub-04" / "func"
    stem = "sub-04_task-rest_space-sub01"
    names = sorted(p.name for p in func.iterdir())
    assert names == sorted([
        f"{stem}_desc-eeg2fmri_bold.nii.gz", f"{stem}_desc-eeg2fmri_bold.json",
        f"{stem}_boldref.nii.gz", f"{stem}_boldref.json",
        f"{stem}_desc-brain_mask.nii.gz", f"{stem}_desc-brain_mask.json",
    ])
    meta = json.loads((func / f"{stem}_desc-eeg2fmri_bold.json").read_text())
    assert meta["MeasuredBOLD"] is False
    assert meta["Sources"] == ["bids:raw:sub-04/eeg/sub-04_task-rest_eeg.vhdr"]
    assert meta["SpatialReference"] == f"bids::sub-04/func/{stem}_boldref.nii.gz"
    assert meta["RepetitionTime"] == pytest.approx(2.16)
    timing = meta["VolumeOnsetsFromEEG"]
    assert timing["Source"] == "eeg-start" and timing["Marker"] is None
    assert meta["FramesWithIncompleteContext"] == [0, 1, 2, 3]
    # every whole TR the EEG holds (40 volumes and its tail after the last)
    assert meta["NumberOfFrames"] == len(meta["ContextComplete"]) >= 40
    adapted = meta["EEGAdaptations"]
    cap = json.loads(next((elsewhere / "derivatives").rglob("*capchanges.json"))
                     .read_text())
    truth = [*cap["dropped"], *(b["original_name"] for b in cap["bad"])]
    assert sorted(adapted["ChannelsInterpolated"]) == sorted(truth)
    assert adapted["ChannelsDropped"] == ["EOG"]
    assert adapted["Resampled"] == {"FromHz": 500.0, "ToHz": 250.0}
    assert adapted["ChannelsRenamed"] == {v: k for k, v in cap["renamed"].items()}
    assert adapted["ChannelsReordered"] is True
    assert meta["Model"]["TrainingParticipants"] == ["sub-01", "sub-02", "sub-03"]
    assert meta["Model"]["OutputSpace"]["Label"] == "sub01"
    report = (out / "sub-04.html").read_text()
    assert "no measured BOLD" in report and "interpolated" in report
    # a re-run finds everything complete
    assert main(argv) == 0
    assert "outputs complete, skipped" in capsys.readouterr().err
    # the group level lists the EEG-only run and has nothing to score
    assert main([str(elsewhere), str(out), "group"]) == 0
    assert "synthesized from EEG only" in capsys.readouterr().err


def test_outputs_pass_the_validator(saved_model, elsewhere, tmp_path):
    validator = shutil.which("bids-validator-deno") or str(
        Path(__import__("sys").executable).parent / "bids-validator-deno")
    if not Path(validator).exists():
        pytest.skip("bids-validator-deno is not installed")
    import subprocess

    out = tmp_path / "out"
    assert main([str(elsewhere), str(out), "participant", "--model",
                 str(saved_model), "-w", str(tmp_path / "w"), "--omp-nthreads",
                 "1"]) == 0
    for root in (elsewhere, out):
        proc = subprocess.run([validator, str(root), "--format", "json"],
                              capture_output=True, text=True, check=False)
        report = json.loads(proc.stdout)
        errors = [i["code"] for i in report["issues"]["issues"]
                  if i["severity"] == "error"]
        assert errors == [] and proc.returncode == 0, (root, errors)


def test_eeg_only_session_of_a_simultaneous_dataset(sim_bids, saved_model, tmp_path,
                                                    capsys):
    """sub-03 lost its fMRI: skipped (with why) without a model, synthesized with."""
    bids = Path(shutil.copytree(sim_bids, tmp_path / "bids"))
    shutil.rmtree(bids / "sub-03" / "func")
    base = ["-w", str(tmp_path / "w"), "--skip-bids-validation",
            "--participant-label", "03"]
    assert main([str(bids), str(tmp_path / "o1"), "participant", *base, *TINY]) == 18
    err = capsys.readouterr().err
    assert "EEG-only runs" in err and "training needs BOLD" in err and "--model" in err
    out = tmp_path / "o2"
    assert main([str(bids), str(out), "participant", *base, "--model",
                 str(saved_model), "--omp-nthreads", "1"]) == 0
    bold = out / "sub-03/func/sub-03_task-rest_space-sub01_desc-eeg2fmri_bold.json"
    meta = json.loads(bold.read_text())
    # the scanner markers are still in the EEG: they time the volumes
    assert meta["VolumeOnsetsFromEEG"]["Source"] == "markers"
    assert not meta["EEGAdaptations"]["ChannelsInterpolated"]


@pytest.mark.parametrize("cap, message", [
    ({"drop_channels": 6}, "would have to be interpolated"),
    ({"sfreq": 200.0}, "below the model's highest frequency bin"),
    ({"rename": {n: f"E{i}" for i, n in enumerate(
        ["Fp1", "Fp2", "F3", "F4", "C3", "C4", "P3", "P4", "O1", "O2", "F7", "F8",
         "T7", "T8", "P7", "ECG"])}}, "is a channel of the model"),
])
def test_unusable_recordings_exit_65(saved_model, tmp_path, capsys, cap, message):
    bids = _simulate(tmp_path / "bids", shuffle_channels=False, **cap)
    code = main([str(bids), str(tmp_path / "out"), "participant", "--model",
                 str(saved_model), "-w", str(tmp_path / "w"),
                 "--skip-bids-validation"])
    err = capsys.readouterr().err
    lines = [x for x in err.splitlines() if x.startswith("eeg2fmri: error:")]
    assert code == 65 and len(lines) == 1 and message in lines[0], err
    assert "Traceback" not in err
