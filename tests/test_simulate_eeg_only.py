"""Tests of simulate_eeg_only_dataset: held-out participants, EEG on another cap."""

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
from scipy import signal

import eeg2fmri
from eeg2fmri.simulate import simulate_dataset, simulate_eeg_only_dataset

SHAPES = dict(n_volumes=12, n_channels=16, bold_shape=(6, 12, 12), random_state=3)
DERIV = Path("derivatives") / "simulation"
CHANGES = dict(
    drop_channels=3,
    rename="10-20-old",
    bad_channels=2,
    extra_channels=("VEOG", "HEOG", "EMG", "Iz"),
)


def _raw(path):
    return mne.io.read_raw_brainvision(path, preload=True, verbose="error")


def _cap(root, base="sub-05_task-rest", sub="05"):
    path = root / DERIV / f"sub-{sub}" / "eeg" / f"{base}_desc-capchanges.json"
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def paired(tmp_path_factory):
    """The training dataset: subjects 01-05 (05 is the held-out one)."""
    root = tmp_path_factory.mktemp("paired") / "bids"
    return simulate_dataset(root, n_subjects=5, **SHAPES)


@pytest.fixture(scope="module")
def elsewhere(tmp_path_factory):
    """Subject 05 recorded elsewhere: dropped, renamed, bad and extra channels."""
    root = tmp_path_factory.mktemp("eeg_only") / "bids"
    return simulate_eeg_only_dataset(root, subjects=("05",), **CHANGES, **SHAPES)


def test_kept_channels_and_bold_truth_equal_the_paired_dataset(paired, elsewhere):
    cap = _cap(elsewhere)
    full = _raw(paired / "sub-05/eeg/sub-05_task-rest_eeg.vhdr")
    moved = _raw(elsewhere / "sub-05/eeg/sub-05_task-rest_eeg.vhdr")
    first = cap["volume_timing"]["cropped_original_samples"]
    assert first == 10 * 250  # eeg_lead of the preset
    bad = {b["name"] for b in cap["bad"]}
    compared = 0
    for source, name in zip(cap["permutation"], cap["written_channels"], strict=True):
        if source in full.ch_names and name not in bad:
            expected = full.get_data(picks=[source])[0, first:]
            np.testing.assert_array_equal(moved.get_data(picks=[name])[0], expected)
            compared += 1
    assert compared == 16 - 3 - 2  # all kept good channels, ECG included
    for name in bad:  # corrupted: nothing like the recorded channel
        source = cap["permutation"][cap["written_channels"].index(name)]
        x = moved.get_data(picks=[name])[0]
        y = full.get_data(picks=[source])[0, first:]
        assert abs(np.corrcoef(x, y)[0, 1]) < 0.3
    func = elsewhere / DERIV / "sub-05" / "func"
    truth_func = paired / DERIV / "sub-05" / "func"
    measured = nib.load(func / "sub-05_task-rest_desc-measured_bold.nii.gz")
    raw_bold = nib.load(paired / "sub-05/func/sub-05_task-rest_bold.nii.gz")
    np.testing.assert_array_equal(measured.dataobj, raw_bold.dataobj)
    np.testing.assert_allclose(measured.affine, raw_bold.affine)
    for name in (
        "sub-05_task-rest_desc-noiseless_bold.nii.gz",
        "sub-05_task-rest_desc-networks_mask.nii.gz",
    ):
        np.testing.assert_array_equal(
            nib.load(func / name).dataobj, nib.load(truth_func / name).dataobj
        )
    assert (func / "sub-05_task-rest_desc-drives_timeseries.tsv").read_bytes() == (
        truth_func / "sub-05_task-rest_desc-drives_timeseries.tsv"
    ).read_bytes()
    truth = json.loads((func / "sub-05_task-rest_desc-truth.json").read_text())
    assert truth == json.loads(
        (truth_func / "sub-05_task-rest_desc-truth.json").read_text()
    )
    participants = pd.read_csv(elsewhere / "participants.tsv", sep="\t")
    paired_05 = pd.read_csv(paired / "participants.tsv", sep="\t").iloc[[4]]
    assert participants.to_dict("list") == paired_05.to_dict("list")


def test_cap_json_matches_the_files(elsewhere):
    cap = _cap(elsewhere)
    eeg_dir = elsewhere / "sub-05" / "eeg"
    channels = pd.read_csv(eeg_dir / "sub-05_task-rest_channels.tsv", sep="\t")
    assert channels["name"].tolist() == cap["written_channels"]
    assert channels["type"].tolist() == cap["written_types"]
    assert (
        _raw(eeg_dir / "sub-05_task-rest_eeg.vhdr").ch_names == cap["written_channels"]
    )
    assert len(cap["dropped"]) == 3 and "ECG" not in cap["dropped"]
    assert not set(cap["dropped"]) & set(cap["written_channels"])
    assert set(cap["original_channels"]) - set(cap["dropped"]) <= set(
        cap["permutation"]
    )
    for old, new in cap["renamed"].items():
        assert old not in cap["written_channels"] and new in cap["written_channels"]
        assert {"T7": "T3", "T8": "T4", "P7": "T5", "Fp1": "FP1", "Fp2": "FP2"}.get(
            old, new
        ) == new
    assert cap["renamed"]  # the 16-channel cap has several old-style names
    written = dict(zip(cap["permutation"], cap["written_channels"], strict=True))
    assert [written[s] for s in cap["permutation"]] == cap["written_channels"]
    kept_order = [n for n in cap["original_channels"] if n in cap["permutation"]]
    assert [n for n in cap["permutation"] if n in kept_order] != kept_order  # shuffled
    bad = channels[channels["status"] == "bad"]
    assert sorted(bad["name"]) == sorted(b["name"] for b in cap["bad"])
    assert bad["status_description"].str.len().min() > 10
    assert set(bad["type"]) == {"EEG"}
    types = dict(zip(channels["name"], channels["type"], strict=True))
    assert [types[n] for n in ("VEOG", "HEOG", "EMG", "Iz")] == [
        "EOG",
        "EOG",
        "EMG",
        "EEG",
    ]
    assert [e["name"] for e in cap["extra"]] == ["VEOG", "HEOG", "EMG", "Iz"]
    sidecar = json.loads((elsewhere / "task-rest_eeg.json").read_text())
    assert sidecar["SamplingFrequency"] == cap["sfreq_written"] == 250.0
    assert (sidecar["EEGChannelCount"], sidecar["EOGChannelCount"]) == (
        16 - 1 - 3 + 1,
        2,
    )
    assert (sidecar["ECGChannelCount"], sidecar["EMGChannelCount"]) == (1, 1)
    # no BOLD in the raw dataset
    assert not list(elsewhere.glob("sub-*/func")) and not list(elsewhere.glob("*bold*"))
    assert cap["paired_dataset"]["subject_index"] == 4
    assert cap["paired_dataset"]["seed"]["spawn_key"] == [4, 1]


def test_volume_timing_without_and_with_scanner_markers(paired, elsewhere, tmp_path):
    cap = _cap(elsewhere)
    raw = _raw(elsewhere / "sub-05/eeg/sub-05_task-rest_eeg.vhdr")
    assert len(raw.annotations) == 0  # no volume, slice or pulse markers
    timing = cap["volume_timing"]
    assert timing["first_volume_sample"] == 0
    np.testing.assert_allclose(timing["volume_onsets_s"], np.arange(12) * 2.16)
    truth = json.loads(
        (paired / DERIV / "sub-05/func/sub-05_task-rest_desc-truth.json").read_text()
    )
    np.testing.assert_allclose(
        np.asarray(truth["volume_onsets"]) - truth["first_volume_sample"] / 250.0,
        timing["volume_onsets_s"],
        atol=1e-6,
    )
    # keep_volume_markers: the recording as simulate_dataset wrote it
    kept = simulate_eeg_only_dataset(
        tmp_path / "kept",
        shuffle_channels=False,
        keep_volume_markers=True,
        **SHAPES,
    )
    a = _raw(kept / "sub-05/eeg/sub-05_task-rest_eeg.vhdr")
    b = _raw(paired / "sub-05/eeg/sub-05_task-rest_eeg.vhdr")
    assert a.ch_names == b.ch_names
    np.testing.assert_array_equal(a.get_data(), b.get_data())
    assert list(a.annotations.description) == list(b.annotations.description)
    np.testing.assert_array_equal(a.annotations.onset, b.annotations.onset)
    assert _cap(kept)["volume_timing"]["first_volume_sample"] == 2500


def test_resampled_eeg_keeps_the_signal(paired, tmp_path):
    root = simulate_eeg_only_dataset(
        tmp_path / "fs200", sfreq=200, shuffle_channels=False, **SHAPES
    )
    raw = _raw(root / "sub-05/eeg/sub-05_task-rest_eeg.vhdr")
    assert raw.info["sfreq"] == 200.0
    assert json.loads((root / "task-rest_eeg.json").read_text())[
        "SamplingFrequency"
    ] == (200.0)
    channels = pd.read_csv(root / "sub-05/eeg/sub-05_task-rest_channels.tsv", sep="\t")
    assert set(channels["sampling_frequency"]) == {200.0}
    cap = _cap(root)
    assert (cap["sfreq_original"], cap["sfreq_written"]) == (250.0, 200.0)
    assert (cap["resampling"]["up"], cap["resampling"]["down"]) == (4, 5)
    x = _raw(paired / "sub-05/eeg/sub-05_task-rest_eeg.vhdr").get_data(picks=["O1"])
    x = x[0, 2500:]
    y = raw.get_data(picks=["O1"])[0]
    assert y.size == x.size * 4 // 5
    reference = signal.resample(x, y.size)  # FFT resampling of the same segment
    assert np.corrcoef(reference, y)[0, 1] > 0.99
    # the 50 Hz line noise is kept (below the new Nyquist), nothing folds into alpha
    f, pxx = signal.welch(y, fs=200.0, nperseg=400)
    assert pxx[(f > 49) & (f < 51)].max() > 10 * pxx[(f > 44) & (f < 47)].mean()


def test_extra_channels_are_plausible_and_change_nothing_else(paired, elsewhere):
    raw = _raw(elsewhere / "sub-05/eeg/sub-05_task-rest_eeg.vhdr")
    data = raw.get_data() * 1e6
    veog = data[raw.ch_names.index("VEOG")]
    emg = data[raw.ch_names.index("EMG")]
    assert np.ptp(veog) > 100  # blinks of 100-200 µV
    f, pxx = signal.welch(emg, fs=250.0, nperseg=500)
    assert pxx[f > 30].mean() > 5 * pxx[f < 10].mean()  # EMG is high-frequency
    iz, o1, o2 = (data[raw.ch_names.index(n)] for n in ("Iz", "O1", "O2"))
    assert np.corrcoef(iz, (o1 + o2) / 2)[0, 1] > 0.7  # interpolated neighbours


def test_oddball_events_are_on_the_cropped_clock(tmp_path):
    kw = dict(SHAPES, n_volumes=20)
    paired = simulate_dataset(tmp_path / "p", preset="oddball", n_subjects=2, **kw)
    moved = simulate_eeg_only_dataset(
        tmp_path / "e", preset="oddball", subjects=["02"], sfreq=500, **kw
    )
    base = "sub-02_task-oddball"
    ev_p = pd.read_csv(paired / f"sub-02/eeg/{base}_events.tsv", sep="\t")
    ev_e = pd.read_csv(moved / f"sub-02/eeg/{base}_events.tsv", sep="\t")
    stim = ev_p[ev_p["trial_type"].isin(["standard", "target"])]
    assert set(ev_e["trial_type"]) <= {"standard", "target"}  # no volume triggers
    # onsets on the 500 Hz clock: the nearest written sample
    np.testing.assert_allclose(ev_e["onset"], stim["onset"] - 10.0, atol=1 / 1000)
    np.testing.assert_array_equal(
        ev_e["sample"], np.round((stim["sample"] - 10000) / 2)
    )
    raw = _raw(moved / f"sub-02/eeg/{base}_eeg.vhdr")
    assert set(raw.annotations.description) <= {"Stimulus/S  1", "Stimulus/S  2"}
    np.testing.assert_allclose(
        raw.annotations.onset, ev_e["onset"].to_numpy(), atol=1 / 500
    )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(subjects=("x5",)), "subjects"),
        (dict(subjects=("05", "5")), "subjects"),
        (dict(drop_channels=15), "drop_channels"),
        (dict(drop_channels=["ECG"]), "drop_channels"),
        (dict(drop_channels=["Nope"]), "drop_channels"),
        (dict(rename="10-10-new"), "rename"),
        (dict(rename={"Xx": "Y"}), "rename"),
        (dict(rename={"Fp1": "Fp2"}), "rename"),
        (dict(sfreq=50), "sfreq"),
        (dict(sfreq=333.3), "sfreq"),
        (dict(bad_channels=40), "bad_channels"),
        (dict(bad_channels=["ECG"]), "bad_channels"),
        (dict(extra_channels=("Fp1",)), "extra_channels"),
        (dict(extra_channels=("ECG",)), "extra_channels"),
        (dict(extra_channels=("BANANA",)), "extra_channels"),
        (dict(shuffle_channels="yes"), "shuffle_channels"),
        (dict(keep_volume_markers=1), "keep_volume_markers"),
        (dict(n_runs=0), "n_runs"),
        (dict(coupling=2.0), "coupling"),
    ],
)
def test_bad_parameters_fail_with_one_line(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match) as info:
        simulate_eeg_only_dataset(tmp_path / "x", **dict(SHAPES, **kwargs))
    assert "\n" not in str(info.value)
    assert not (tmp_path / "x").exists()


def test_same_seed_same_cap_and_lazy_export(tmp_path):
    a = simulate_eeg_only_dataset(
        tmp_path / "a", subjects=("01", "02"), **CHANGES, **SHAPES
    )
    b = simulate_eeg_only_dataset(tmp_path / "b", subjects=("02",), **CHANGES, **SHAPES)
    base = "sub-02_task-rest"
    cap_a, cap_b = _cap(a, base, "02"), _cap(b, base, "02")
    assert cap_a == cap_b  # the cap is the dataset's, the bad channels the recording's
    assert (a / f"sub-02/eeg/{base}_eeg.eeg").read_bytes() == (
        b / f"sub-02/eeg/{base}_eeg.eeg"
    ).read_bytes()
    assert eeg2fmri.simulate_eeg_only_dataset is simulate_eeg_only_dataset


def _validator():
    exe = shutil.which("bids-validator-deno") or Path(sys.executable).with_name(
        "bids-validator-deno"
    )
    if not Path(exe).is_file():
        pytest.skip("bids-validator-deno is not installed")
    return str(exe)


@pytest.mark.parametrize("which", ["raw", "derivatives"])
def test_bids_validator_accepts_eeg_only_dataset(elsewhere, which):
    root = elsewhere if which == "raw" else elsewhere / DERIV
    proc = subprocess.run(
        [_validator(), str(root), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    issues = json.loads(proc.stdout)["issues"]["issues"]
    errors = [
        f"{i['code']} {i.get('location')}" for i in issues if i["severity"] == "error"
    ]
    assert errors == [] and proc.returncode == 0
