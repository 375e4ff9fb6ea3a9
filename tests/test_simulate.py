"""Tests of eeg2fmri.simulate: layout, headers, triggers, coupling, determinism, CLI."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import mne
import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from eeg2fmri.simulate import SIMULATION_PRESETS, SimulationPreset, simulate_dataset
from eeg2fmri.simulate.cli import main as cli_main
from eeg2fmri.simulate.generative import canonical_hrf

TINY = dict(n_subjects=1, n_volumes=12, n_channels=8, bold_shape=(6, 12, 12))
DERIV = Path("derivatives") / "simulation"


def _read_raw(vhdr):
    return mne.io.read_raw_brainvision(vhdr, preload=True, verbose="error")


def _truth(root, base, sub="01"):
    path = root / DERIV / f"sub-{sub}" / "func" / f"{base}_desc-truth.json"
    return json.loads(path.read_text())


def _drives(root, base, sub="01"):
    path = root / DERIV / f"sub-{sub}" / "func" / f"{base}_desc-drives_timeseries.tsv"
    return pd.read_csv(path, sep="\t")


@pytest.fixture(scope="module")
def coupled(tmp_path_factory):
    """One noddi subject, 120 volumes: long enough to measure the coupling."""
    return simulate_dataset(
        tmp_path_factory.mktemp("coupled") / "bids",
        preset="noddi",
        n_subjects=1,
        n_volumes=120,
        n_channels=16,
        bold_shape=(6, 12, 12),
        random_state=0,
    )


@pytest.fixture(scope="module")
def oddball(tmp_path_factory):
    """A tiny oddball dataset with two runs (task events, R128 triggers)."""
    return simulate_dataset(
        tmp_path_factory.mktemp("oddball") / "bids",
        preset="oddball",
        n_subjects=1,
        n_runs=2,
        n_volumes=60,
        n_channels=20,
        bold_shape=(6, 12, 12),
        target_fraction=0.5,
        random_state=1,
    )


# ---------------------------------------------------------------------------- presets


def test_presets_match_the_paper_datasets():
    assert set(SIMULATION_PRESETS) == {
        "noddi",
        "oddball",
        "cnepfl",
        "inscanner",
        "realistic",
    }
    noddi, odd, epfl = (SIMULATION_PRESETS[k] for k in ("noddi", "oddball", "cnepfl"))
    assert (noddi.n_channels, noddi.sfreq, noddi.tr, noddi.bold_shape) == (
        64,
        250.0,
        2.16,
        (30, 64, 64),
    )
    assert noddi.has_ecg and noddi.paradigm == "rest"
    assert noddi.trigger == "Scanner/Scan Start"
    assert (odd.n_channels, odd.sfreq, odd.tr, odd.bold_shape) == (
        43,
        1000.0,
        2.0,
        (32, 64, 64),
    )
    assert odd.paradigm == "oddball" and odd.trigger == "Response/R128"
    assert (epfl.n_channels, epfl.sfreq, epfl.tr, epfl.bold_shape) == (
        64,
        5000.0,
        1.28,
        (54, 108, 108),
    )
    with pytest.raises(AttributeError):
        noddi.tr = 1.0  # frozen


def test_preset_replace_checks_values():
    p = SIMULATION_PRESETS["noddi"].replace(n_channels=16, bold_shape=[4, 8, 8])
    assert isinstance(p, SimulationPreset) and p.bold_shape == (4, 8, 8)
    with pytest.raises(TypeError, match="n_chanels"):
        SIMULATION_PRESETS["noddi"].replace(n_chanels=16)
    with pytest.raises(ValueError, match="coupling"):
        SIMULATION_PRESETS["noddi"].replace(coupling=1.5)
    with pytest.raises(ValueError, match="trigger"):
        SIMULATION_PRESETS["noddi"].replace(trigger="R128")
    with pytest.raises(ValueError, match="unknown simulation preset 'nodi'"):
        simulate_dataset("never-written", preset="nodi")
    assert not Path("never-written").exists()


def test_canonical_hrf_shape():
    dt = 0.1
    h = canonical_hrf(dt)
    assert h.sum() == pytest.approx(1.0)
    assert 4.0 <= h.argmax() * dt <= 6.0  # peak near 5 s
    assert h[int(15 / dt)] < 0  # undershoot


# ----------------------------------------------------------------------------- layout


def test_layout_and_sidecars(sim_bids):
    root = sim_bids
    desc = json.loads((root / "dataset_description.json").read_text())
    assert desc["DatasetType"] == "raw" and desc["BIDSVersion"] == "1.10.0"
    assert desc["GeneratedBy"][0]["Name"] == "eeg2fmri"
    participants = pd.read_csv(root / "participants.tsv", sep="\t")
    assert participants["participant_id"].tolist() == ["sub-01", "sub-02", "sub-03"]
    assert set(participants["sex"]) <= {"M", "F"}
    bold_json = json.loads((root / "task-rest_bold.json").read_text())
    assert bold_json["RepetitionTime"] == 2.16 and len(bold_json["SliceTiming"]) == 8
    assert max(bold_json["SliceTiming"]) < 2.16
    eeg_json = json.loads((root / "task-rest_eeg.json").read_text())
    assert eeg_json["SamplingFrequency"] == 250.0
    assert (eeg_json["EEGChannelCount"], eeg_json["ECGChannelCount"]) == (15, 1)
    for sub in ("01", "02", "03"):
        base = f"sub-{sub}_task-rest"
        for suffix in ("eeg.vhdr", "eeg.vmrk", "eeg.eeg", "eeg.json", "channels.tsv"):
            assert (root / f"sub-{sub}" / "eeg" / f"{base}_{suffix}").is_file()
        assert (root / f"sub-{sub}" / "func" / f"{base}_bold.nii.gz").is_file()
        assert not (root / f"sub-{sub}" / "eeg" / f"{base}_events.tsv").exists()  # rest
        deriv = root / DERIV / f"sub-{sub}" / "func"
        for suffix in (
            "desc-noiseless_bold.nii.gz",
            "desc-noiseless_bold.json",
            "desc-drives_timeseries.tsv",
            "desc-truth.json",
            "desc-networks_mask.nii.gz",
        ):
            assert (deriv / f"{base}_{suffix}").is_file(), suffix
    channels = pd.read_csv(
        root / "sub-01" / "eeg" / "sub-01_task-rest_channels.tsv", sep="\t"
    )
    assert len(channels) == 16 and channels["type"].tolist() == ["EEG"] * 15 + ["ECG"]
    assert set(channels["units"]) == {"µV"}
    deriv_desc = json.loads((root / DERIV / "dataset_description.json").read_text())
    assert deriv_desc["DatasetType"] == "derivative"
    assert deriv_desc["GeneratedBy"][0]["Name"] in "simulation"
    assert not list(root.parent.glob(".*tmp-*"))  # the temporary folder is gone


def test_bold_headers_and_grid(sim_bids):
    img = nib.load(sim_bids / "sub-01" / "func" / "sub-01_task-rest_bold.nii.gz")
    assert img.shape == (16, 16, 8, 40)  # (H, W, D, T)
    assert img.header.get_zooms()[3] == pytest.approx(2.16)
    assert img.header.get_xyzt_units() == ("mm", "sec")
    assert img.get_data_dtype() == np.int16
    clean = nib.load(
        sim_bids
        / DERIV
        / "sub-01"
        / "func"
        / "sub-01_task-rest_desc-noiseless_bold.nii.gz"
    )
    assert clean.shape == img.shape and np.allclose(clean.affine, img.affine)
    maps = nib.load(
        sim_bids
        / DERIV
        / "sub-01"
        / "func"
        / "sub-01_task-rest_desc-networks_mask.nii.gz"
    )
    assert maps.shape == (16, 16, 8, 4) and np.allclose(maps.affine, img.affine)
    # the brain fills the grid: MNI origin inside, brain brighter than the corners
    ijk = np.linalg.solve(img.affine, [0, 0, 0, 1])[:3]
    assert np.all(ijk > 0) and np.all(ijk < np.array(img.shape[:3]) - 1)
    mean = np.asarray(img.dataobj, dtype=np.float32).mean(-1)
    assert mean[8, 8, 4] > 5 * mean[0, 0, 0]
    # measured BOLD = noise-free BOLD + thermal + structured noise of documented size
    truth = _truth(sim_bids, "sub-01_task-rest")
    resid = np.asarray(img.dataobj, np.float32) - clean.get_fdata(dtype=np.float32)
    brain = mean > 300
    structured = truth["bold_structured_noise"]
    thermal = truth["bold_thermal_noise_sd"]
    ar = structured["ar_sd_fraction_of_baseline"] * mean[brain]
    expected = np.sqrt(thermal**2 + np.mean(ar**2))  # thermal + AR, the main parts
    assert expected <= resid[brain].std() <= 1.3 * expected


# --------------------------------------------------------------------------- triggers


def test_volume_triggers_read_back_with_mne(sim_bids):
    raw = _read_raw(sim_bids / "sub-02" / "eeg" / "sub-02_task-rest_eeg.vhdr")
    truth = _truth(sim_bids, "sub-02_task-rest", sub="02")
    assert raw.info["sfreq"] == 250.0 and len(raw.ch_names) == 16
    desc = raw.annotations.description
    onsets = raw.annotations.onset[desc == "Scanner/Scan Start"]
    assert onsets.size == 40
    assert np.allclose(np.diff(onsets), 2.16, atol=1 / 250)
    assert np.allclose(onsets, truth["volume_onsets"], atol=1 / 250)
    assert onsets[0] == pytest.approx(10.0)  # eeg_lead: EEG starts before volume 1
    assert raw.times[-1] > onsets[-1] + 2.16  # and ends after the last volume
    assert (desc == "Scanner/s").sum() == 40 * 8  # one marker per slice
    n_beats = (desc == "Pulse Artifact/R").sum()
    assert n_beats == truth["n_heartbeats"]
    assert 50 <= n_beats / (raw.times[-1] / 60) <= 85  # a plausible heart rate


def test_eeg_is_realistic(sim_bids):
    raw = _read_raw(sim_bids / "sub-01" / "eeg" / "sub-01_task-rest_eeg.vhdr")
    data = raw.get_data() * 1e6  # µV
    eeg, ecg = data[:15], data[15]
    assert np.all((eeg.std(1) > 3) & (eeg.std(1) < 60))
    assert ecg.std() > 3 * eeg.std(1).max()  # the ECG is much larger
    # occipital alpha peak and 50 Hz line noise in the spectrum
    f = np.fft.rfftfreq(data.shape[1], 1 / 250)
    spec = np.abs(np.fft.rfft(data[raw.ch_names.index("O1")])) ** 2

    def band(lo, hi):
        return spec[(f >= lo) & (f < hi)].mean()

    assert band(8, 12) > 3 * band(13, 17)
    assert band(49.8, 50.2) > 10 * band(46, 49)


# --------------------------------------------------------------------------- coupling


def test_occipital_alpha_tracks_visual_drive(coupled):
    """Alpha power at O1/O2 per volume window falls when the visual drive rises."""
    raw = _read_raw(coupled / "sub-01" / "eeg" / "sub-01_task-rest_eeg.vhdr")
    truth = _truth(coupled, "sub-01_task-rest")
    drives = _drives(coupled, "sub-01_task-rest")
    assert len(drives) == 120
    n = int(round(truth["repetition_time"] * raw.info["sfreq"]))
    x = raw.get_data(picks=["O1", "O2"])
    f = np.fft.rfftfreq(n, 1 / raw.info["sfreq"])
    alpha = (f >= 8) & (f <= 12)
    power = np.array(
        [
            (np.abs(np.fft.rfft(x[:, s : s + n], axis=1))[:, alpha] ** 2).mean()
            for s in truth["volume_onset_samples"]
        ]
    )
    r_visual = np.corrcoef(np.log(power), drives["visual"])[0, 1]
    r_motor = np.corrcoef(np.log(power), drives["motor"])[0, 1]
    assert r_visual < -0.5
    assert abs(r_motor) < abs(r_visual) - 0.3
    visual = next(n for n in truth["networks"] if n["name"] == "visual")
    assert visual["sign"] == -1 and visual["band_hz"] == [8.0, 12.0]


def test_bold_in_visual_map_follows_hrf_convolved_drive(coupled):
    func = coupled / DERIV / "sub-01" / "func"
    maps = nib.load(func / "sub-01_task-rest_desc-networks_mask.nii.gz").get_fdata()
    clean = nib.load(func / "sub-01_task-rest_desc-noiseless_bold.nii.gz").get_fdata()
    measured = nib.load(coupled / "sub-01" / "func" / "sub-01_task-rest_bold.nii.gz")
    drives = _drives(coupled, "sub-01_task-rest")
    visual = maps[..., 0] > 0.5
    assert visual.sum() >= 3
    ts_clean = clean[visual].mean(0)
    ts_measured = measured.get_fdata()[visual].mean(0)
    assert np.corrcoef(ts_clean, drives["visual_hrf"])[0, 1] > 0.8
    assert np.corrcoef(ts_measured, drives["visual_hrf"])[0, 1] > 0.6
    assert abs(np.corrcoef(ts_clean, drives["motor_hrf"])[0, 1]) < 0.5


def test_zero_coupling_removes_the_eeg_bold_link(tmp_path):
    root = simulate_dataset(
        tmp_path / "c0",
        n_volumes=120,
        n_channels=16,
        n_subjects=1,
        bold_shape=(6, 12, 12),
        random_state=0,
        coupling=0.0,
    )
    truth = _truth(root, "sub-01_task-rest")
    assert truth["coupling"] == 0.0
    raw = _read_raw(root / "sub-01" / "eeg" / "sub-01_task-rest_eeg.vhdr")
    n = int(round(2.16 * 250))
    x = raw.get_data(picks=["O1", "O2"])
    f = np.fft.rfftfreq(n, 1 / 250)
    alpha = (f >= 8) & (f <= 12)
    power = [
        (np.abs(np.fft.rfft(x[:, s : s + n], axis=1))[:, alpha] ** 2).mean()
        for s in truth["volume_onset_samples"]
    ]
    assert (
        abs(
            np.corrcoef(np.log(power), _drives(root, "sub-01_task-rest")["visual"])[
                0, 1
            ]
        )
        < 0.4
    )


# ----------------------------------------------------------------------------- task


def test_oddball_events_markers_and_erp(oddball):
    eeg_dir = oddball / "sub-01" / "eeg"
    assert (
        eeg_dir / "sub-01_task-oddball_run-2_eeg.vhdr"
    ).is_file()  # run-N with 2 runs
    base = "sub-01_task-oddball_run-1"
    events = pd.read_csv(eeg_dir / f"{base}_events.tsv", sep="\t")
    assert list(events.columns) == [
        "onset",
        "duration",
        "trial_type",
        "value",
        "sample",
    ]
    stim = events[events["trial_type"].isin(["standard", "target"])]
    assert {"standard", "target"} <= set(stim["trial_type"])
    assert (events["trial_type"] == "Response/R128").sum() == 60
    raw = _read_raw(eeg_dir / f"{base}_eeg.vhdr")
    desc, onset = raw.annotations.description, raw.annotations.onset
    r128 = onset[desc == "Response/R128"]
    assert r128.size == 60 and np.allclose(np.diff(r128), 2.0)
    targets = onset[desc == "Stimulus/S  2"]
    assert np.allclose(targets, stim.loc[stim["trial_type"] == "target", "onset"])
    assert np.allclose(
        targets * 1000, stim.loc[stim["trial_type"] == "target", "sample"]
    )
    func_events = pd.read_csv(
        oddball / "sub-01" / "func" / f"{base}_events.tsv", sep="\t"
    )
    assert np.allclose(func_events["onset"], stim["onset"].to_numpy() - r128[0])


def test_oddball_targets_evoke_a_p300(oddball):
    """Target minus standard at Pz, 300-400 ms, baseline-corrected, both runs pooled."""
    epochs = {"target": [], "standard": []}
    for run in (1, 2):
        base = oddball / "sub-01" / "eeg" / f"sub-01_task-oddball_run-{run}"
        events = pd.read_csv(f"{base}_events.tsv", sep="\t")
        pz = _read_raw(f"{base}_eeg.vhdr").get_data(picks=["Pz"])[0] * 1e6
        for kind, ep in epochs.items():
            for s in events.loc[events["trial_type"] == kind, "sample"]:
                ep.append(pz[s - 100 : s + 500] - pz[s - 100 : s].mean())
    assert len(epochs["target"]) >= 20
    erp = {kind: np.mean(ep, axis=0)[400:500].mean() for kind, ep in epochs.items()}
    assert erp["target"] - erp["standard"] > 4.0
    assert abs(erp["standard"]) < 3.0


# ----------------------------------------------------------------------- determinism


def _digest(root):
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_same_seed_same_files_different_seed_different_data(tmp_path):
    a = _digest(simulate_dataset(tmp_path / "a", random_state=7, **TINY))
    b = _digest(simulate_dataset(tmp_path / "b", random_state=7, **TINY))
    c = _digest(simulate_dataset(tmp_path / "c", random_state=8, **TINY))
    assert a == b
    assert a.keys() == c.keys()
    for name in (
        "sub-01/eeg/sub-01_task-rest_eeg.eeg",
        "sub-01/func/sub-01_task-rest_bold.nii.gz",
    ):
        assert a[name] != c[name]


def test_adding_subjects_keeps_existing_ones(tmp_path):
    one = simulate_dataset(tmp_path / "one", random_state=3, **TINY)
    two = simulate_dataset(tmp_path / "two", random_state=3, **dict(TINY, n_subjects=2))
    name = "sub-01/eeg/sub-01_task-rest_eeg.eeg"
    assert (one / name).read_bytes() == (two / name).read_bytes()
    assert (two / "sub-02/eeg/sub-02_task-rest_eeg.eeg").read_bytes() != (
        one / name
    ).read_bytes()


# -------------------------------------------------------------------- out_dir handling


def test_existing_out_dir_refused_then_overwritten(tmp_path):
    root = simulate_dataset(tmp_path / "ds", random_state=0, **TINY)
    with pytest.raises(FileExistsError, match="not empty"):
        simulate_dataset(root, random_state=0, **TINY)
    simulate_dataset(root, random_state=0, overwrite=True, **dict(TINY, n_subjects=2))
    assert (root / "sub-02").is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]  # no leftovers
    other = tmp_path / "notbids"
    other.mkdir()
    (other / "precious.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not a BIDS dataset"):
        simulate_dataset(other, overwrite=True, **TINY)
    assert (other / "precious.txt").read_text() == "keep me"


def test_failed_simulation_leaves_nothing(tmp_path, monkeypatch):
    from eeg2fmri.simulate import dataset

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(dataset, "write_top_level", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        simulate_dataset(tmp_path / "ds", random_state=0, **TINY)
    assert list(tmp_path.iterdir()) == []


# -------------------------------------------------------------------------- validator


def _validator():
    exe = shutil.which("bids-validator-deno") or Path(sys.executable).with_name(
        "bids-validator-deno"
    )
    if not Path(exe).is_file():
        pytest.skip(
            "bids-validator-deno is not installed (pip install eeg2fmri[validate])"
        )
    return str(exe)


def _validation_errors(root):
    proc = subprocess.run(
        [_validator(), str(root), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = json.loads(proc.stdout)
    errors = [
        f"{i['code']} {i.get('subCode')} {i.get('location')}"
        for i in report["issues"]["issues"]
        if i["severity"] == "error"
    ]
    return proc.returncode, errors


@pytest.mark.parametrize("which", ["raw", "derivatives"])
def test_bids_validator_accepts_rest_dataset(sim_bids, which):
    root = sim_bids if which == "raw" else sim_bids / DERIV
    code, errors = _validation_errors(root)
    assert errors == [] and code == 0


def test_bids_validator_accepts_task_dataset(oddball):
    code, errors = _validation_errors(oddball)
    assert errors == [] and code == 0


# -------------------------------------------------------------------------------- CLI


def test_cli_writes_dataset_and_errors_cleanly(tmp_path, capsys):
    out = tmp_path / "cli"
    argv = [
        str(out),
        "--preset",
        "oddball",
        "--n-subjects",
        "1",
        "--n-volumes",
        "12",
        "--n-channels",
        "8",
        "--bold-shape",
        "6,12,12",
        "--random-seed",
        "4",
    ]
    assert cli_main(argv) == 0
    assert (out / "sub-01" / "eeg" / "sub-01_task-oddball_eeg.vmrk").is_file()
    capsys.readouterr()

    assert cli_main(argv) == 73
    err = capsys.readouterr().err
    assert err.startswith("eeg2fmri-simulate: error:") and err.count("\n") == 1
    assert cli_main([*argv, "--overwrite"]) == 0

    assert cli_main([str(tmp_path / "x"), "--preset", "nope"]) == 64
    assert "invalid choice" in capsys.readouterr().err
    assert cli_main([str(tmp_path / "x"), "--n-channels", "500"]) == 64
    err = capsys.readouterr().err
    assert "n_channels" in err and err.count("\n") == 1
    assert cli_main([str(tmp_path / "x"), "--bold-shape", "6,12"]) == 64
    assert not (tmp_path / "x").exists()
