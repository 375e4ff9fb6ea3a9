"""Tests of the departures from linear EEG-BOLD coupling and of the ceiling image."""

import json

import nibabel as nib
import numpy as np
import pytest
from scipy import signal

from eeg2fmri.simulate import SIMULATION_PRESETS, simulate_dataset
from eeg2fmri.simulate.dataset import _subject_params
from eeg2fmri.simulate.generative import GenerativeModel
from eeg2fmri.simulate.haemodynamics import (
    BALLOON_TIME_SCALE,
    DT,
    balloon_gain,
    balloon_response,
    canonical_hrf,
    gamma_hrf,
    hrf_parameters,
    latency_warp,
)
from eeg2fmri.simulate.presets import COUPLING_FIELDS, resolve_preset

SMALL = dict(n_channels=32, bold_shape=(8, 16, 16))
LINEAR_OFF = dict(
    vigilance_dwell=None,
    spectral_drive=0.0,
    haemodynamics="linear",
    latency_shift=0.0,
    hrf_peak_sd_subject=0.0,
    hrf_peak_sd_region=0.0,
    hrf_dispersion_sd=0.0,
)


def _run(preset, n_volumes, seed=1, subject=0, **overrides):
    p = resolve_preset(preset, **overrides)
    model = GenerativeModel(p)
    root = np.random.SeedSequence(seed)
    ss = np.random.SeedSequence(root.entropy, spawn_key=(subject, 1))
    return model, model.simulate_run(ss, n_volumes, _subject_params(root, subject))


def _map(model, name, run_array):
    sel = model.maps[[n.name for n in model.networks].index(name)] > 0.5
    return run_array[:, sel].mean(1)


def test_paper_presets_are_linear_and_realistic_turns_every_knob_on():
    for name in ("noddi", "oddball", "cnepfl", "inscanner"):
        p = SIMULATION_PRESETS[name]
        assert not p.has_nonlinear_coupling
        assert not set(COUPLING_FIELDS) & set(p.to_dict())
    r = SIMULATION_PRESETS["realistic"]
    assert r.has_nonlinear_coupling and r.has_structured_noise
    assert (r.paradigm, r.n_channels, r.has_ecg, r.tr) == ("rest", 64, True, 2.16)
    assert r.vigilance_dwell == (30.0, 120.0) and r.spectral_drive > 0
    assert r.haemodynamics == "balloon" and r.latency_shift > 0
    assert min(r.hrf_peak_sd_subject, r.hrf_peak_sd_region, r.hrf_dispersion_sd) > 0
    assert r.to_dict()["vigilance_dwell"] == [30.0, 120.0]
    for field, value in (
        ("vigilance_dwell", (50.0, 10.0)),
        ("vigilance_dwell", "long"),
        ("spectral_drive", 1.5),
        ("haemodynamics", "windkessel"),
        ("latency_shift", -1.0),
        ("hrf_peak_sd_region", -0.1),
        ("state_flip_fraction", 2.0),
    ):
        with pytest.raises(ValueError, match=field):
            r.replace(**{field: value})


def test_vigilance_state_gates_the_bold_drive_and_shows_in_the_eeg():
    model, run = _run(
        "noddi", 250, vigilance_dwell=(30.0, 60.0), state_weight=-0.5, **SMALL
    )
    d = run.drives
    vig = run.truth["coupling_departures"]["vigilance"]
    stops = [seg[1] - seg[0] for seg in vig["segments_s"][1:-1]]
    assert stops and all(29.9 <= s <= 60.1 for s in stops)  # dwell times
    assert not vig["sign_flipped"] or vig["weight_alert"] == -1.0
    drowsy = d["vigilance_drowsy"].to_numpy()
    alert_sel, drowsy_sel = drowsy < 0.05, drowsy > 0.95
    assert alert_sel.sum() > 20 and drowsy_sel.sum() > 20
    # the BOLD drive is the latent drive times 1 (alert) or -0.5 (drowsy)
    sign = vig["weight_alert"]
    for net in ("visual", "motor"):
        ratio = d[f"{net}_bold_drive"] / d[net]
        ok = d[net].abs() > 0.3
        assert np.median(ratio[alert_sel & ok]) == pytest.approx(sign, abs=0.05)
        assert np.median(ratio[drowsy_sel & ok]) == pytest.approx(-0.5 * sign, abs=0.05)
    # the recorded weight is w(t), and the ceiling's drive is gated by it too
    weight = d["vigilance_weight"].to_numpy()
    assert np.median(weight[alert_sel]) == pytest.approx(sign, abs=1e-6)
    assert np.median(weight[drowsy_sel]) == pytest.approx(-0.5 * sign, abs=1e-6)
    for net in ("visual", "motor"):
        gated = d[f"{net}_ceiling_drive"].to_numpy()
        r_alert = np.corrcoef(gated[alert_sel], d[net][alert_sel])[0, 1]
        r_drowsy = np.corrcoef(gated[drowsy_sel], d[net][drowsy_sel])[0, 1]
        assert sign * r_alert > 0.3 and -sign * r_drowsy > 0.3
    # the EEG shows the state: posterior alpha down, frontal theta up when drowsy
    n = int(round(2.16 * 250))
    f = np.fft.rfftfreq(n, 1 / 250)

    def band_power(channel, lo, hi):
        x = run.eeg[run.ch_names.index(channel)]
        return np.log(
            [
                (np.abs(np.fft.rfft(x[s : s + n]))[(f >= lo) & (f < hi)] ** 2).mean()
                for s in run.truth["volume_onset_samples"]
            ]
        )

    alpha, theta = band_power("Oz", 8.5, 11.5), band_power("Cz", 4, 7)
    assert alpha[drowsy_sel].mean() < alpha[alert_sel].mean() - 0.5
    assert theta[drowsy_sel].mean() > theta[alert_sel].mean() + 0.5


def test_sign_flip_follows_the_participant_draw():
    flips = []
    for subject in range(12):
        _, run = _run(
            "noddi",
            20,
            subject=subject,
            vigilance_dwell=(30.0, 60.0),
            state_flip_fraction=0.5,
            n_channels=4,
            bold_shape=(4, 8, 8),
        )
        vig = run.truth["coupling_departures"]["vigilance"]
        flips.append(vig["sign_flipped"])
        u = _subject_params(np.random.SeedSequence(1), subject)["flip_u"]
        assert vig["sign_flipped"] == (u < 0.5)
    assert 0 < sum(flips) < 12


def test_spectral_profile_drive_is_oriented_and_not_the_latent():
    model, run = _run("noddi", 200, spectral_drive=1.0, coupling=1.0, **SMALL)
    d = run.drives
    info = run.truth["coupling_departures"]["spectral_drive"]
    assert info["high_band"] == [False, True, False, True]  # alpha, beta, theta, gamma
    r = [
        np.corrcoef(d[f"{net}_bold_drive"], d[net])[0, 1]
        for net in ("visual", "motor", "default_mode", "frontal")
    ]
    # raised by the network's own activation, but not the latent drive: the
    # visual alpha dominates its region (r near 1), the others mix rhythms
    assert min(r) > 0.2 and max(r) < 0.995 and sorted(r)[1] < 0.9


def test_balloon_saturates_and_is_refractory():
    gain = balloon_gain(DT)
    pulse = np.zeros((1, 600))
    pulse[0, 10:20] = 1.0
    small = balloon_response(0.1 * pulse, DT, BALLOON_TIME_SCALE)[0]
    large = balloon_response(3.0 * pulse, DT, BALLOON_TIME_SCALE)[0]
    assert large.max() < 0.95 * 30 * small.max()  # saturation of a brief input
    sustained = [
        balloon_response(np.full((1, 900), a), DT, BALLOON_TIME_SCALE)[0, -1] / a
        for a in (0.1, 3.0)
    ]
    assert sustained[1] < 0.75 * sustained[0]  # and of a sustained one
    assert 4.0 <= (small.argmax() - 10) * DT <= 6.0  # peak near 5 s
    second = 3.0 * pulse.copy()
    second[0, 40:50] = 3.0
    both = balloon_response(second, DT, BALLOON_TIME_SCALE)[0] - large
    assert both.max() < large.max()  # refractoriness: a smaller response
    # the small-input gain: a constant small input gives the linear amplitude
    steady = balloon_response(np.full((1, 900), 0.02), DT, BALLOON_TIME_SCALE)[0, -1]
    assert steady / gain == pytest.approx(0.02, rel=0.02)


def test_latency_warp_advances_large_responses_only():
    t = np.arange(600) * DT
    y = np.stack([np.exp(-0.5 * ((t - 30) / 3) ** 2), 0.1 * np.sin(t)])
    y[1] = np.where(np.abs(t - 30) < 10, 0, y[1])
    warped = latency_warp(y, DT, 0.8)
    assert (y[0].argmax() - warped[0].argmax()) * DT == pytest.approx(0.8, abs=0.11)
    np.testing.assert_array_equal(latency_warp(y, DT, 0.0), y)


def test_hrf_variability_across_participants_and_regions():
    np.testing.assert_allclose(gamma_hrf(DT), canonical_hrf(DT))
    assert gamma_hrf(DT, peak=6.5).argmax() * DT == pytest.approx(6.5, abs=0.11)
    p = resolve_preset("realistic")
    peaks = np.array(
        [
            hrf_parameters(p, _subject_params(np.random.SeedSequence(0), s), 4)[0]
            for s in range(60)
        ]
    )
    assert 0.5 < peaks.mean(1).std() < 1.2  # across people (0.8 s)
    assert 0.25 < (peaks - peaks.mean(1, keepdims=True)).std() < 0.7  # regions
    _, run = _run("realistic", 20, n_channels=4, bold_shape=(4, 8, 8))
    dep = run.truth["coupling_departures"]
    assert set(dep["hrf_time_to_peak_s"]) == {
        "visual",
        "motor",
        "default_mode",
        "frontal",
    }
    assert dep["haemodynamics"] == "balloon" and 0.6 <= dep["hrf_dispersion"] <= 1.4


def test_ceiling_is_the_eeg_visible_bold():
    # coupling 1, linear: the ceiling is the noise-free BOLD without the drift
    model, run = _run("noddi", 60, coupling=1.0, **SMALL)
    baseline = run.noiseless.mean(0) - 0  # (D, H, W) up to the signal
    drift = run.drives["drift"].to_numpy()[:, None, None, None]
    base = model.anatomy.contrast * _subject_params(np.random.SeedSequence(1), 0)["s0"]
    np.testing.assert_allclose(
        run.ceiling + drift * base[None], run.noiseless, rtol=0, atol=1e-2
    )
    assert baseline.shape == run.ceiling.shape[1:]
    # coupling 0 at rest: the EEG carries nothing, the ceiling is flat
    _, flat = _run("noddi", 30, coupling=0.0, **SMALL)
    assert np.abs(np.diff(flat.ceiling, axis=0)).max() < 1e-2
    # coupling 0.8: the ceiling follows the noise-free BOLD with r about 0.8
    model, mid = _run("noddi", 250, coupling=0.8, **SMALL)
    r = np.corrcoef(
        _map(model, "visual", mid.ceiling), _map(model, "visual", mid.noiseless)
    )[0, 1]
    assert 0.6 < r < 0.95
    # realistic: the ceiling beats the latent drive through a linear HRF
    model, real = _run("realistic", 250, **SMALL)
    ceil = _map(model, "visual", real.ceiling)
    truth = _map(model, "visual", real.noiseless)
    lin = signal.fftconvolve(real.drives["visual"], canonical_hrf(2.16))[:250]
    assert np.corrcoef(ceil, truth)[0, 1] > np.corrcoef(lin, truth)[0, 1] + 0.1


def test_ceiling_and_departures_are_written(tmp_path):
    root = simulate_dataset(
        tmp_path / "bids",
        preset="realistic",
        n_subjects=1,
        n_volumes=20,
        n_channels=8,
        bold_shape=(6, 12, 12),
        random_state=2,
    )
    func = root / "derivatives/simulation/sub-01/func"
    ceiling = nib.load(func / "sub-01_task-rest_desc-ceiling_bold.nii.gz")
    assert ceiling.shape == (12, 12, 6, 20)
    side = json.loads((func / "sub-01_task-rest_desc-ceiling_bold.json").read_text())
    assert "EEG-visible" in side["Description"] and side["RepetitionTime"] == 2.16
    truth = json.loads((func / "sub-01_task-rest_desc-truth.json").read_text())
    assert "conditional mean" in truth["ceiling"]
    dep = truth["coupling_departures"]
    assert {"vigilance", "spectral_drive", "hrf_time_to_peak_s"} <= set(dep)
    columns = json.loads(
        (func / "sub-01_task-rest_desc-drives_timeseries.json").read_text()
    )
    assert {
        "visual_ceiling", "visual_ceiling_drive", "visual_bold_drive",
        "vigilance_drowsy", "vigilance_weight",
    } <= set(columns)
