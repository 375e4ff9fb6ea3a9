"""Tests of the simulator's scanner realism: structured BOLD noise, EEG artifacts."""

import json

import mne
import numpy as np
import pytest

from eeg2fmri.simulate import SIMULATION_PRESETS, simulate_dataset
from eeg2fmri.simulate.dataset import _subject_params
from eeg2fmri.simulate.generative import GenerativeModel
from eeg2fmri.simulate.presets import REALISM_FIELDS, resolve_preset
from eeg2fmri.simulate.scanner import gradient_waveforms

#: A small in-scanner run: 5 kHz, 8 channels (7 EEG + ECG), 8 slices.
SMALL = dict(n_channels=8, bold_shape=(8, 12, 12), sfreq=5000.0)


def _run(preset, n_volumes, seed=0, **overrides):
    p = resolve_preset(preset, **overrides)
    model = GenerativeModel(p)
    root = np.random.SeedSequence(seed)
    ss = np.random.SeedSequence(root.entropy, spawn_key=(0, 1))
    return model, model.simulate_run(ss, n_volumes, _subject_params(root, 0))


def test_only_inscanner_has_artifacts_and_options_are_checked():
    for name in ("noddi", "oddball", "cnepfl"):
        assert not SIMULATION_PRESETS[name].has_artifacts
    p = SIMULATION_PRESETS["inscanner"]
    assert p.has_artifacts and p.has_structured_noise
    assert set(REALISM_FIELDS) <= set(p.to_dict())
    with pytest.raises(ValueError, match="bold_ar_coef"):
        p.replace(bold_ar_coef=1.0)
    with pytest.raises(ValueError, match="gradient_artifact"):
        p.replace(gradient_artifact=-1.0)


def test_artifacts_leave_the_clean_eeg_and_bold_unchanged():
    _, clean = _run("inscanner", 8, gradient_artifact=0.0, pulse_artifact=0.0, **SMALL)
    _, dirty = _run("inscanner", 8, **SMALL)
    assert clean.clean_eeg is None
    np.testing.assert_array_equal(dirty.clean_eeg, clean.eeg)
    np.testing.assert_array_equal(dirty.bold, clean.bold)
    assert dirty.markers == clean.markers
    art = dirty.eeg - dirty.clean_eeg
    # gradient artifact: thousands of µV during the scan only, every channel
    first = dirty.truth["volume_onset_samples"][0]
    assert np.abs(art[:, : first - 5]).max() < 500  # only the pulse artifact before
    assert np.all(np.abs(art[:, first:]).max(axis=1) > 500)
    # periodic at the slice period: the slice-locked average carries the power
    g = dirty.truth["artifacts"]["gradient"]
    assert g["n_slices"] == 8 and g["slice_period_s"] == pytest.approx(2.0 / 8)
    spec = np.abs(np.fft.rfft(art[0, first : first + 8 * 10000])) ** 2
    freqs = np.fft.rfftfreq(8 * 10000, 1 / 5000)
    harmonic = np.isclose(freqs % 4.0, 0) | np.isclose(freqs % 4.0, 4.0)
    assert spec[harmonic & (freqs > 0)].mean() > 100 * spec[~harmonic].mean()
    # pulse artifact: on EEG channels only, locked to the heartbeats
    ecg = dirty.ch_types.index("ECG")
    beats = np.asarray(dirty.truth["artifacts"]["heartbeat_samples"])
    assert beats.size > 5
    assert "pulse" in dirty.truth["artifacts"]
    pulse_only = _run("inscanner", 8, gradient_artifact=0.0, **SMALL)[1]
    pa = pulse_only.eeg - pulse_only.clean_eeg
    assert np.abs(pa[ecg]).max() == 0
    assert 30 < np.abs(pa).max() <= 60 * 1.4  # 60 µV average beat, +-10 % per beat


def test_gradient_waveforms_are_periodic_and_normalized():
    t, waves = gradient_waveforms(0.0625, 1e-5, 1.5e-4)
    assert waves.shape == (3, t.size)
    np.testing.assert_allclose(np.abs(waves).max(axis=1), 1.0)
    # dG/dt of gradients that return to zero integrates to zero over a slice
    assert np.abs(waves.sum(axis=1) * 1e-5).max() < 1e-3


def test_clean_eeg_is_written_as_derivative(tmp_path):
    root = simulate_dataset(
        tmp_path / "bids",
        preset="inscanner",
        n_subjects=1,
        n_volumes=6,
        n_channels=6,
        bold_shape=(6, 10, 10),
        sfreq=2000.0,
        random_state=3,
    )
    raw = mne.io.read_raw_brainvision(
        root / "sub-01/eeg/sub-01_task-rest_eeg.vhdr", preload=True, verbose="error"
    )
    deriv = root / "derivatives/simulation/sub-01/eeg"
    clean = mne.io.read_raw_brainvision(
        deriv / "sub-01_task-rest_desc-clean_eeg.vhdr", preload=True, verbose="error"
    )
    assert clean.ch_names == raw.ch_names and clean.n_times == raw.n_times
    assert np.ptp(raw.get_data() - clean.get_data()) > 1e-4  # > 100 µV of artifact
    assert list(clean.annotations.description) == list(raw.annotations.description)
    side = json.loads((deriv / "sub-01_task-rest_desc-clean_eeg.json").read_text())
    assert side["Sources"] == ["bids:raw:sub-01/eeg/sub-01_task-rest_eeg.vhdr"]
    truth = json.loads(
        (
            root / "derivatives/simulation/sub-01/func/sub-01_task-rest_desc-truth.json"
        ).read_text()
    )
    assert truth["preset"]["gradient_artifact"] == 2000.0
    assert "gradient" in truth["artifacts"]
