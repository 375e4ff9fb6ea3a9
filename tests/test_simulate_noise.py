"""Tests of the simulated BOLD noise: real-EPI statistics in every preset."""

import numpy as np
import pytest

from eeg2fmri.simulate import SIMULATION_PRESETS, measure_bold_noise
from eeg2fmri.simulate.dataset import _subject_params
from eeg2fmri.simulate.generative import GenerativeModel
from eeg2fmri.simulate.presets import REALISM_FIELDS, WHITE_NOISE, resolve_preset

#: BOLD only: a tiny EEG (the BOLD noise does not depend on it) on a 12 x 24 x 24 grid.
BOLD_ONLY = dict(
    n_channels=4,
    sfreq=250.0,
    bold_shape=(12, 24, 24),
    gradient_artifact=0.0,
    pulse_artifact=0.0,
)


def _run(preset, n_volumes, seed=0, **overrides):
    p = resolve_preset(preset, **overrides)
    model = GenerativeModel(p)
    root = np.random.SeedSequence(seed)
    ss = np.random.SeedSequence(root.entropy, spawn_key=(0, 1))
    return model, model.simulate_run(ss, n_volumes, _subject_params(root, 0))


def _brain(model):
    a = model.anatomy
    return (a.gm + a.wm + a.csf) > 0.5


def test_every_preset_has_structured_noise_and_white_noise_turns_it_off():
    for name, p in SIMULATION_PRESETS.items():
        assert p.has_structured_noise, name
        white = p.replace(**WHITE_NOISE)
        assert not white.has_structured_noise and white.bold_noise == 0.01
        if not white.has_artifacts:
            assert not set(REALISM_FIELDS) & set(white.to_dict())
    with pytest.raises(ValueError, match="drift_period"):
        SIMULATION_PRESETS["noddi"].replace(drift_period=0.0)
    with pytest.raises(ValueError, match="noise_fwhm"):
        SIMULATION_PRESETS["noddi"].replace(noise_fwhm=-1.0)


@pytest.mark.parametrize("preset", sorted(SIMULATION_PRESETS))
def test_noise_statistics_are_those_of_real_epi(preset):
    """tSNR 30-130 and lag-1 autocorrelation 0.3-0.5 after a linear detrend."""
    model, run = _run(preset, 150, **BOLD_ONLY)
    stats = measure_bold_noise(run.bold, _brain(model))
    assert 30 <= stats["tsnr"] <= 130
    assert 0.3 <= stats["lag1_autocorrelation"] <= 0.5
    # the noise alone (measured - noise-free): SFNR 70-90 after a quadratic detrend
    noise = run.bold - run.noiseless + run.noiseless.mean(0)
    sfnr = measure_bold_noise(noise, _brain(model), detrend_order=2)["tsnr"]
    assert 70 <= sfnr <= 90


def test_white_noise_switch_gives_white_noise_and_the_same_signal():
    model, run = _run("noddi", 150, **BOLD_ONLY)
    _, white = _run("noddi", 150, **BOLD_ONLY, **WHITE_NOISE)
    np.testing.assert_array_equal(white.noiseless, run.noiseless)
    noise = white.bold - white.noiseless + white.noiseless.mean(0)
    stats = measure_bold_noise(noise, _brain(model))
    assert abs(stats["lag1_autocorrelation"]) < 0.05  # thermal noise only
    assert "bold_structured_noise" not in white.truth


def test_ar_coefficients_vary_across_voxels_and_noise_is_spatially_smooth():
    # default noddi voxels (about 3 x 3 x 4.6 mm), 40 volumes
    model, run = _run("noddi", 40, n_channels=4, bold_shape=(30, 64, 64))
    info = run.truth["bold_structured_noise"]
    assert info["ar_coef_mean"] == pytest.approx(0.45, abs=0.03)
    assert 0.04 <= info["ar_coef_sd_across_voxels"] <= 0.1
    assert info["fwhm_mm"] == 5.0 and info["drift_n_cosines"] >= 1
    brain = _brain(model)
    noise = run.bold - run.noiseless

    def neighbour_r(x):
        a, b = (
            x[:, :, :-1][:, brain[:, :-1] & brain[:, 1:]],
            x[:, :, 1:][:, brain[:, :-1] & brain[:, 1:]],
        )
        return np.corrcoef(a.ravel(), b.ravel())[0, 1]

    _, rough = _run("noddi", 40, n_channels=4, bold_shape=(30, 64, 64), noise_fwhm=0.0)
    assert neighbour_r(noise) > 0.3  # FWHM 5 mm on 3 mm voxels
    assert neighbour_r(rough.bold - rough.noiseless) < 0.1


def test_measure_bold_noise_checks_its_input():
    vols = np.random.default_rng(0).normal(100, 1, (10, 2, 2, 2))
    mask = np.ones((2, 2, 2), bool)
    assert measure_bold_noise(vols, mask, detrend_order=0)["n_voxels"] == 8
    with pytest.raises(ValueError, match="3 volumes"):
        measure_bold_noise(vols[:2], mask)
    with pytest.raises(ValueError, match="detrend_order"):
        measure_bold_noise(vols, mask, detrend_order=9)


def test_cli_white_noise_flag(tmp_path):
    import json

    from eeg2fmri.simulate.cli import main as cli_main

    out = tmp_path / "white"
    argv = [str(out), "--n-subjects", "1", "--n-volumes", "6", "--n-channels", "4"]
    assert cli_main([*argv, "--bold-shape", "4,8,8", "--white-noise"]) == 0
    truth = json.loads(
        (
            out / "derivatives/simulation/sub-01/func/sub-01_task-rest_desc-truth.json"
        ).read_text()
    )
    assert "bold_structured_noise" not in truth
    assert truth["preset"]["bold_noise"] == 0.01
