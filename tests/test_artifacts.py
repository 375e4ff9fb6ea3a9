"""Tests of eeg2fmri.artifacts: gradient and pulse artifact correction and detection."""

import hashlib
import json

import mne
import numpy as np
import pytest
from scipy import signal

from eeg2fmri.artifacts import (
    check_in_scanner_eeg,
    correct_artifacts,
    correct_gradient,
    correct_pulse,
    correction_provenance,
    detect_gradient_artifact,
    detect_pulse_artifact,
    find_artifact_epochs,
    find_r_peaks,
    gradient_harmonic_power,
    remove_gradient_artifact,
    remove_pulse_artifact,
)
from eeg2fmri.artifacts._shift import fractional_kernels, shift_rows
from eeg2fmri.exceptions import AlignmentError, DataError
from eeg2fmri.simulate.dataset import _subject_params
from eeg2fmri.simulate.generative import GenerativeModel
from eeg2fmri.simulate.presets import resolve_preset

#: 8 channels (7 EEG + ECG) at 2.5 kHz, TR 1 s, 16 slices, 40 volumes (about 54 s).
SMALL = dict(n_channels=8, sfreq=2500.0, tr=1.0, bold_shape=(16, 6, 6))
N_VOLUMES = 40


def _simulate(**overrides):
    p = resolve_preset("inscanner", **{**SMALL, **overrides})
    root = np.random.SeedSequence(7)
    ss = np.random.SeedSequence(root.entropy, spawn_key=(0, 1))
    return GenerativeModel(p).simulate_run(ss, N_VOLUMES, _subject_params(root, 0))


def _raw(run, data=None, markers=None, drop_ecg=False):
    data = run.eeg if data is None else data
    names, types = list(run.ch_names), [t.lower() for t in run.ch_types]
    if drop_ecg:
        keep = [i for i, t in enumerate(types) if t != "ecg"]
        data = data[keep]
        names = [names[i] for i in keep]
        types = [types[i] for i in keep]
    info = mne.create_info(names, run.sfreq, types)
    raw = mne.io.RawArray(data.astype(np.float64) * 1e-6, info, verbose=False)
    markers = run.markers if markers is None else markers
    raw.set_annotations(
        mne.Annotations(
            [m[2] / run.sfreq for m in markers],
            0.0,
            [f"{m[0]}/{m[1]}" for m in markers],
        )
    )
    return raw


@pytest.fixture(scope="module")
def both():
    """A run with gradient and pulse artifacts (and its clean truth)."""
    return _simulate()


@pytest.fixture(scope="module")
def corrected(both):
    return correct_artifacts(
        _raw(both), "gradient+pulse", n_slices=16, run_label="sub-01 run-1"
    )


def _band_r(run, out, rows):
    """Median per-channel 1-40 Hz correlation of ``out`` (250 Hz) with the truth."""
    truth = signal.resample_poly(run.clean_eeg.astype(np.float64), 1, 10, axis=-1)
    got = out.get_data() * 1e6
    truth = truth[:, : got.shape[1]]
    sos = signal.butter(4, [1, 40], btype="band", fs=250, output="sos")
    first = run.truth["volume_onset_samples"][0] // 10
    stop = run.truth["volume_onset_samples"][-1] // 10 + 250
    a = signal.sosfiltfilt(sos, got)[:, first:stop]
    b = signal.sosfiltfilt(sos, truth)[:, first:stop]
    return np.median([np.corrcoef(a[i], b[i])[0, 1] for i in rows])


def test_fractional_shift_matches_a_delayed_sinusoid():
    n = np.arange(200, dtype=np.float64)
    shifts = np.array([-0.5, -0.2, 0.0, 0.37, 0.5])
    # 0.2 of the sampling rate (1 kHz at 5 kHz): 0.4 %; 0.01 (50 Hz): 0.06 %
    for freq, tol in ((0.2, 4e-3), (0.01, 6e-4)):
        rows = np.sin(2 * np.pi * freq * n)[None].repeat(shifts.size, 0)
        out = shift_rows(rows.astype(np.float32), fractional_kernels(shifts), 150)
        t = np.arange(150)[None] + 7 + shifts[:, None]
        np.testing.assert_allclose(out, np.sin(2 * np.pi * freq * t), atol=tol)


def test_artifact_epochs_from_slice_markers_volumes_or_slice_count(both):
    raw = _raw(both)
    vol = find_artifact_epochs(raw, slice_marker=None)
    assert vol.kind == "volume" and len(vol) == N_VOLUMES
    assert vol.tr == pytest.approx(1.0) and vol.volume_marker == "Response/R128"
    sl = find_artifact_epochs(raw, n_slices=16)
    assert sl.kind == "slice" and len(sl) == 16 * N_VOLUMES
    np.testing.assert_allclose(np.diff(sl.onsets[:16]), 2500 / 16)
    marked = _simulate(slice_markers=True, pulse_artifact=0.0)
    ep = find_artifact_epochs(_raw(marked))
    assert ep.kind == "slice" and ep.slice_marker == "Scanner/s" and ep.n_slices == 16


def test_gradient_and_pulse_correction_recovers_the_clean_eeg(both, corrected):
    raw = _raw(both)
    before = hashlib.sha256(raw.get_data().tobytes()).hexdigest()
    eeg_rows = [i for i, t in enumerate(both.ch_types) if t == "EEG"]
    assert _band_r(both, _raw(both), eeg_rows) < 0.3  # raw: artifact dominates
    assert corrected.info["sfreq"] == 250.0
    assert corrected.ch_names == raw.ch_names
    assert _band_r(both, corrected, eeg_rows) > 0.9
    prov = correction_provenance(corrected)
    assert prov["gradient"]["epochs"] == "slice" and prov["gradient"]["n_slices"] == 16
    assert prov["pulse"]["ecg_channel"] == "ECG" and prov["pulse"]["n_beats"] > 30
    # markers kept (same count of volume triggers), pulse markers added
    desc = list(corrected.annotations.description)
    assert desc.count("Response/R128") == N_VOLUMES
    assert desc.count("Pulse Artifact/R") == prov["pulse"]["n_beats"]
    # the input is never modified
    assert hashlib.sha256(raw.get_data().tobytes()).hexdigest() == before


def test_gradient_only_correction_leaves_the_pulse_artifact(both, corrected):
    out = correct_gradient(_raw(both), n_slices=16, obs_components=3)
    assert "pulse" not in correction_provenance(out)
    assert detect_pulse_artifact(out).detected
    assert not detect_pulse_artifact(corrected).detected
    assert not detect_gradient_artifact(out, tr=1.0).detected


def test_array_level_gradient_correction_on_volume_epochs():
    run = _simulate(pulse_artifact=0.0)
    onsets = np.asarray(run.truth["volume_onset_samples"], dtype=float)
    data = run.eeg.copy()
    out, info = remove_gradient_artifact(data, run.sfreq, onsets, window=11)
    np.testing.assert_array_equal(data, run.eeg)  # not modified
    assert out.shape == (data.shape[0], int(np.ceil(data.shape[1] / 10)))
    assert out.dtype == np.float32 and info["epochs_per_volume"] == 1
    truth = signal.resample_poly(run.clean_eeg.astype(np.float64), 1, 10, axis=-1)
    sl = slice(int(onsets[0] // 10), int(onsets[-1] // 10))
    err = np.std(out[:7, sl] - truth[:7, sl]) / np.std(truth[:7, sl])
    raw_err = np.std(run.eeg[:7, :] - run.clean_eeg[:7, :]) / np.std(run.clean_eeg)
    assert err < 0.5 < raw_err  # the artifact is reduced a lot
    with pytest.raises(ValueError, match="too few"):
        remove_gradient_artifact(data, run.sfreq, onsets[:10], window=21)
    with pytest.raises(ValueError, match="irregular"):
        bad = onsets.copy()
        bad[5] = bad[4] + 3
        remove_gradient_artifact(data, run.sfreq, bad, window=5)


def test_same_slice_templates_lowpass_and_parameter_checks():
    run = _simulate(pulse_artifact=0.0)
    vol = np.asarray(run.truth["volume_onset_samples"], dtype=float)
    onsets = (vol[:, None] + np.arange(16)[None] * 2500 / 16).ravel()
    truth = signal.resample_poly(run.clean_eeg[:7].astype(np.float64), 1, 10, axis=-1)
    sl = slice(int(vol[0] // 10), int(vol[-1] // 10))
    out, info = remove_gradient_artifact(
        run.eeg, 2500.0, onsets, epochs_per_volume=16, template="same-slice",
        window=11, lowpass=40.0,
    )  # fmt: skip
    assert info["template"] == "same-slice"
    sos = signal.butter(4, [1, 30], btype="band", fs=250, output="sos")
    a = signal.sosfiltfilt(sos, out[:7])[:, sl]
    b = signal.sosfiltfilt(sos, truth)[:, sl]
    assert np.median([np.corrcoef(x, y)[0, 1] for x, y in zip(a, b, strict=True)]) > 0.9
    f, p = signal.welch(out[:7, sl], fs=250, nperseg=500)
    assert np.median(p[:, (f > 60) & (f < 100)]) < 1e-3 * np.median(p[:, f < 30])
    with pytest.raises(ValueError, match="template"):
        remove_gradient_artifact(run.eeg, 2500.0, onsets, template="slices")
    with pytest.raises(ValueError, match="epochs_per_volume"):
        remove_gradient_artifact(run.eeg, 2500.0, onsets[:-1], epochs_per_volume=16)
    with pytest.raises(ValueError, match="sfreq_out"):
        remove_gradient_artifact(run.eeg, 2500.0, onsets, sfreq_out=5000.0)
    with pytest.raises(ValueError, match="lowpass"):
        remove_gradient_artifact(run.eeg, 2500.0, onsets, lowpass=200.0)


def test_clear_errors_name_the_run(both):
    run = both
    no_trig = [m for m in run.markers if m[1] != "R128"]
    with pytest.raises(AlignmentError, match="sub-02.*no volume markers"):
        correct_gradient(_raw(run, markers=no_trig), run_label="sub-02")
    # a volume trigger missing in the middle
    trig = [i for i, m in enumerate(run.markers) if m[1] == "R128"]
    gap = [m for i, m in enumerate(run.markers) if i != trig[20]]
    with pytest.raises(AlignmentError, match="sub-02.*spacing"):
        correct_gradient(_raw(run, markers=gap), tr=1.0, run_label="sub-02")
    with pytest.raises(DataError, match="sub-02.*too few"):
        correct_gradient(_raw(run), window=60, run_label="sub-02")
    with pytest.raises(DataError, match="sub-02.*ECG channel"):
        correct_artifacts(_raw(run, drop_ecg=True), run_label="sub-02")
    with pytest.raises(DataError, match="ECG channel"):
        correct_pulse(_raw(run, drop_ecg=True))
    with pytest.raises(ValueError, match="artifact correction"):
        correct_artifacts(_raw(run), "pulse")


def test_corrected_or_clean_recordings_are_not_corrected_twice(both, corrected):
    again = correct_artifacts(corrected, "gradient+pulse", run_label="x")
    np.testing.assert_array_equal(again.get_data(), corrected.get_data())
    # no provenance, but clean: detection says so and nothing happens
    clean = _raw(both, data=both.clean_eeg)
    out = correct_gradient(clean)
    assert out.info["sfreq"] == clean.info["sfreq"]
    np.testing.assert_array_equal(out.get_data(), clean.get_data())
    assert correction_provenance(out) == {}
    forced = correct_gradient(clean, force=True)
    assert forced.info["sfreq"] == 250.0


def test_r_peaks_and_pulse_subtraction():
    run = _simulate(gradient_artifact=0.0, sfreq=250.0)
    ecg = run.ch_types.index("ECG")
    truth = np.asarray(run.truth["artifacts"]["heartbeat_samples"])
    peaks = find_r_peaks(run.eeg[ecg], run.sfreq)
    assert peaks.size == truth.size
    assert np.abs(peaks - truth).max() <= 1
    rows = [i for i, t in enumerate(run.ch_types) if t == "EEG"]
    for method, gain in (("average", 0.6), ("spatial", 0.3), ("obs", 0.8)):
        out = remove_pulse_artifact(run.eeg, run.sfreq, peaks, rows=rows, method=method)
        before = np.std(run.eeg[rows] - run.clean_eeg[rows])
        after = np.std(out[rows] - run.clean_eeg[rows])
        assert after < gain * before
        np.testing.assert_array_equal(out[ecg], run.eeg[ecg])
    with pytest.raises(ValueError, match="too few"):
        remove_pulse_artifact(run.eeg, run.sfreq, peaks[:5], window=21)
    assert find_r_peaks(np.zeros(100), 250.0).size == 0


def test_detection_measures_locked_power(both):
    sf = both.sfreq
    starts = np.asarray(both.truth["volume_onset_samples"])
    raw_db = gradient_harmonic_power(both.eeg, sf, 1.0, starts=starts)
    clean_db = gradient_harmonic_power(both.clean_eeg, sf, 1.0, starts=starts)
    assert np.all(raw_db > 12) and np.all(np.abs(clean_db) < 3)
    assert np.isnan(gradient_harmonic_power(both.eeg[:, :100], sf, 1.0)).all()
    found = detect_gradient_artifact(_raw(both), tr=1.0)
    assert found.detected and "harmonics" in found.summary()
    clean = _raw(both, data=both.clean_eeg)
    assert not detect_gradient_artifact(clean, tr=1.0).detected
    assert not detect_pulse_artifact(clean).detected
    assert detect_pulse_artifact(_raw(both, drop_ecg=True)).detected is None


def test_erps_locked_to_the_volumes_are_not_a_gradient_artifact(both):
    # a 20 µV evoked response 0.1-0.4 s after every volume trigger
    sf = both.sfreq
    starts = np.asarray(both.truth["volume_onset_samples"])
    t = np.arange(int(0.6 * sf)) / sf
    erp = 20 * np.exp(-0.5 * ((t - 0.25) / 0.06) ** 2) * np.sin(2 * np.pi * 4 * t)
    eeg = both.clean_eeg.astype(np.float64)
    for s in starts:
        eeg[:7, s : s + t.size] += erp
    assert np.all(np.abs(gradient_harmonic_power(eeg, sf, 1.0, starts=starts)) < 3)
    low = gradient_harmonic_power(eeg, sf, 1.0, starts=starts, fmin=1.0)
    assert np.median(low[:7]) > 6  # what the 30 Hz floor avoids
    assert not detect_gradient_artifact(_raw(both, data=eeg), tr=1.0).detected


def test_check_in_scanner_eeg_refuses_raw_eeg_unless_told(both):
    raw = _raw(both)
    with pytest.raises(
        DataError, match=r"sub-03_task-rest.*gradient artifact.*eeg_correction"
    ):
        check_in_scanner_eeg(raw, tr=1.0, run_label="sub-03_task-rest")
    assert check_in_scanner_eeg(raw, tr=1.0, correction="none") is raw
    clean = _raw(both, data=both.clean_eeg)
    assert check_in_scanner_eeg(clean, tr=1.0) is clean
    out = check_in_scanner_eeg(raw, tr=1.0, correction="gradient", n_slices=16)
    assert out.info["sfreq"] == 250.0 and "gradient" in correction_provenance(out)
    assert check_in_scanner_eeg(out, tr=1.0) is out  # provenance: not checked again
    with pytest.raises(ValueError, match="artifact correction"):
        check_in_scanner_eeg(raw, tr=1.0, correction="yes")


@pytest.fixture(scope="module")
def inscanner_bids(tmp_path_factory):
    """A tiny raw in-scanner BIDS dataset (gradient + pulse artifacts)."""
    from eeg2fmri.simulate import simulate_dataset

    return simulate_dataset(
        tmp_path_factory.mktemp("inscanner") / "bids",
        preset="inscanner",
        n_subjects=1,
        n_volumes=30,
        n_channels=6,
        sfreq=2000.0,
        tr=1.0,
        bold_shape=(8, 6, 6),
        random_state=2,
    )


def test_features_refuse_raw_in_scanner_eeg_unless_corrected(inscanner_bids, tmp_path):
    from eeg2fmri.features import FeatureParams, build_dataset

    params = FeatureParams(n_context=2, discard_volumes=0, n_freqs=20)
    with pytest.raises(DataError, match=r"sub-01_task-rest.*gradient artifact"):
        build_dataset(inscanner_bids, params)
    trusted = build_dataset(inscanner_bids, params, eeg_correction="none")
    fixed = build_dataset(
        inscanner_bids, params, eeg_correction="gradient", work_dir=tmp_path
    )
    assert fixed.X.shape == trusted.X.shape
    # the corrected spectra differ from the raw ones (the artifact dominated them)
    assert not np.allclose(np.asarray(fixed.X[:]), np.asarray(trusted.X[:]))
    runs = list((tmp_path / "features").iterdir())
    assert len(runs) == 1
    again = build_dataset(
        inscanner_bids, params, eeg_correction="gradient", work_dir=tmp_path
    )
    np.testing.assert_array_equal(np.asarray(again.X[:]), np.asarray(fixed.X[:]))
    # the corrected EEG is a BIDS derivative in the work dir, reused
    root = tmp_path / "eeg_corrected"
    vhdr = root / "sub-01/eeg/sub-01_task-rest_desc-gradient_eeg.vhdr"
    side = json.loads(vhdr.with_suffix(".json").read_text())
    assert side["SamplingFrequency"] == 250.0
    assert side["SoftwareFilters"]["gradient"]["n_slices"] == 8
    assert side["Sources"][0].endswith("sub-01_task-rest_eeg.vhdr")
    qc = side["eeg2fmri"]["qc"]
    assert qc["gradient_excess_db"]["before"] > 6 > qc["gradient_excess_db"]["after"]
    assert len(qc["frequencies"]) == len(qc["psd_before"]) == len(qc["psd_after"])
    desc = json.loads((root / "dataset_description.json").read_text())
    assert desc["DatasetType"] == "derivative"
    stamp = vhdr.with_suffix(".eeg").stat().st_mtime_ns
    other = build_dataset(
        inscanner_bids,
        FeatureParams(n_context=2, discard_volumes=0, n_freqs=10),
        eeg_correction="gradient",
        work_dir=tmp_path,
    )
    assert other.X.shape[-1] == 10
    assert vhdr.with_suffix(".eeg").stat().st_mtime_ns == stamp
    np.testing.assert_allclose(
        np.asarray(other.X[:]), np.asarray(fixed.X[:])[..., :10], rtol=1e-4, atol=1e-4
    )
    read = mne.io.read_raw_brainvision(vhdr, verbose="error")
    assert read.info["sfreq"] == 250.0
    assert list(read.annotations.description).count("Response/R128") == 30


def test_bids_app_refuses_raw_in_scanner_eeg(inscanner_bids, tmp_path, capsys):
    from bids_app.run import main

    argv = [
        str(inscanner_bids),
        str(tmp_path / "out"),
        "participant",
        "-w",
        str(tmp_path / "work"),
        "--skip-bids-validation",
        "--n-context",
        "2",
        "--discard-volumes",
        "0",
        "--epochs",
        "1",
    ]
    assert main(argv) == 65
    err = capsys.readouterr().err
    line = next(x for x in err.splitlines() if x.startswith("eeg2fmri: error:"))
    assert "sub-01_task-rest" in line and "gradient artifact" in line
    assert "--eeg-correction" in line


def test_bids_app_option_choices_match_the_library():
    from bids_app.config import EEG_CORRECTIONS, Config, UsageError
    from bids_app.parser import build_parser
    from eeg2fmri.artifacts import ARTIFACT_CORRECTIONS

    assert EEG_CORRECTIONS == ARTIFACT_CORRECTIONS
    args = build_parser().parse_args(
        ["b", "o", "participant", "--eeg-correction", "gradient+pulse"]
    )
    assert args.eeg_correction == "gradient+pulse"
    with pytest.raises(UsageError, match="eeg_correction"):
        Config(eeg_correction="pulse")


def test_obs_leaves_eeg_alone_where_there_is_no_artifact(both, monkeypatch):
    from eeg2fmri.artifacts import gradient

    onsets = np.asarray(both.truth["volume_onset_samples"], dtype=float)
    onsets = (onsets[:, None] + np.arange(16)[None] * 2500 / 16).ravel()
    clean = both.clean_eeg[:7]
    want = signal.resample_poly(clean.astype(np.float64), 1, 10, axis=-1)
    sos = signal.butter(4, [1, 40], btype="band", fs=250, output="sos")
    sl = slice(int(onsets[0] // 10), int(onsets[-1] // 10))

    def worst_r():
        out, _ = remove_gradient_artifact(
            clean, 2500.0, onsets, epochs_per_volume=16, obs_components=3
        )
        a = signal.sosfiltfilt(sos, out)[:, sl]
        b = signal.sosfiltfilt(sos, want)[:, sl]
        return min(np.corrcoef(x, y)[0, 1] for x, y in zip(a, b, strict=True))

    assert worst_r() > 0.98
    monkeypatch.setattr(gradient, "OBS_MIN_RATIO", 0.0)  # fit whatever is there
    assert worst_r() < 0.98


def test_report_shows_the_eeg_correction(inscanner_bids, tmp_path):
    import pandas as pd

    from eeg2fmri.artifacts import correct_artifacts
    from eeg2fmri.artifacts.qc import correction_qc
    from eeg2fmri.bids import load_eeg
    from eeg2fmri.reports import ParticipantReport, RunResult

    raw = load_eeg(inscanner_bids / "sub-01/eeg/sub-01_task-rest_eeg.vhdr")
    fixed = correct_artifacts(raw, "gradient", n_slices=8)
    qc = correction_qc(raw, fixed, tr=1.0)
    assert qc["gradient_excess_db"]["before"] > 6 > qc["gradient_excess_db"]["after"]
    # the raw spectrum carries the slice harmonics (8, 16, 24 Hz), the corrected not
    f = np.asarray(qc["frequencies"])
    at = [int(np.argmin(np.abs(f - h))) for h in (8, 16, 24)]
    assert np.all(
        np.asarray(qc["psd_before"])[at] > 10 * np.asarray(qc["psd_after"])[at]
    )
    rng = np.random.default_rng(0)
    vols = 1 + 0.01 * rng.random((6, 4, 8, 8)).astype(np.float32)
    result = RunResult(
        label="sub-01_task-rest",
        measured=vols,
        synthesized=vols[::-1].copy(),
        baseline=None,
        affine=np.diag([3.0, 3.0, 4.0, 1.0]),
        tr=1.0,
        volume_indices=np.arange(6),
        metrics=pd.DataFrame({"ssim": np.linspace(0.5, 0.9, 6), "psnr": 20.0}),
        r_map=rng.uniform(-0.5, 0.5, (4, 8, 8)),
        mask=np.ones((4, 8, 8), dtype=bool),
        summary={"ssim": 0.7, "psnr": 20.0, "temporal_r": 0.0},
        eeg_correction={
            "SoftwareFilters": correction_provenance(fixed),
            "eeg2fmri": {"qc": qc},
        },
    )
    report = ParticipantReport("01", tmp_path)
    report.add_run(result)
    html = report.save_as_html(tmp_path / "sub-01.html").read_text()
    assert (
        tmp_path / "sub-01/figures/sub-01_task-rest_desc-eegcorrection_psd.png"
    ).is_file()
    assert "EEG corrected for the scanner artifacts (gradient)" in html


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Only one group")
def test_bids_app_corrects_in_scanner_eeg_end_to_end(tmp_path):
    from bids_app.run import main
    from eeg2fmri.simulate import simulate_dataset

    bids = simulate_dataset(
        tmp_path / "bids",
        preset="inscanner",
        n_subjects=2,
        n_volumes=30,
        n_channels=6,
        sfreq=2000.0,
        bold_shape=(8, 16, 16),
        random_state=4,
    )
    out, work = tmp_path / "out", tmp_path / "work"
    argv = [str(bids), str(out), "participant", "--participant-label", "01",
            "-w", str(work), "--skip-bids-validation",
            "--eeg-correction", "gradient+pulse",
            "--model-name", "spec2vol-tiny", "--epochs", "1", "--n-context", "4",
            "--discard-volumes", "0", "--batch-size", "8", "--random-seed", "0",
            "--omp-nthreads", "1"]  # fmt: skip
    assert main(argv) == 0
    assert (out / "sub-01/func/sub-01_task-rest_desc-eeg2fmri_bold.nii.gz").is_file()
    corrected = work / "cache" / "eeg_corrected"
    for sub in ("01", "02"):  # the training participant's EEG was corrected too
        side = (
            corrected / f"sub-{sub}/eeg/sub-{sub}_task-rest_desc-gradientpulse_eeg.json"
        )
        meta = json.loads(side.read_text())
        assert set(meta["SoftwareFilters"]) == {"gradient", "pulse"}
        assert meta["SoftwareFilters"]["gradient"]["n_slices"] == 8
    html = (out / "sub-01.html").read_text()
    assert "EEG corrected for the scanner artifacts (gradient, pulse)" in html
