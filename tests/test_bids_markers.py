"""Volume onsets from EEG markers (eeg2fmri.bids.markers)."""

import importlib.util
import logging
from pathlib import Path

import numpy as np
import pytest

from eeg2fmri.bids import check_eeg_covers, find_volume_onsets, load_eeg
from eeg2fmri.exceptions import AlignmentError

_spec = importlib.util.spec_from_file_location(
    "bids_builders", Path(__file__).with_name("bids_builders.py")
)
bb = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bb)


def _raw(
    tmp_path, markers, *, sfreq=250.0, duration=40.0, name="sub-01_task-rest_eeg.vhdr"
):
    vhdr = bb.write_brainvision(
        tmp_path / name, n_channels=2, sfreq=sfreq, duration=duration, markers=markers
    )
    return load_eeg(vhdr)


def noddi_markers(n_volumes=12, tr=2.16, n_slices=30, lead=0.148, seed=0):
    """Like the NODDI derivative: Scan Start per volume, slice 's' markers, R peaks."""
    rng = np.random.default_rng(seed)
    markers = [("Scanner", "Scan Start", lead + v * tr) for v in range(n_volumes)]
    markers += [
        ("Scanner", "s", lead + v * tr + s * tr / n_slices)
        for v in range(n_volumes)
        for s in range(n_slices)
    ]
    t = 0.3
    while t < lead + n_volumes * tr:
        markers.append(("Pulse Artifact", "R", t))
        t += rng.uniform(0.8, 1.2)
    return sorted(markers, key=lambda m: m[2])


def test_noddi_like_auto_detection(tmp_path):
    raw = _raw(tmp_path, noddi_markers())
    res = find_volume_onsets(raw, tr=2.16, n_volumes=12)
    assert res.marker == "Scanner/Scan Start"
    assert res.source == "markers"
    assert res.onsets.dtype == np.float64
    np.testing.assert_allclose(res.onsets, 0.148 + 2.16 * np.arange(12), atol=0.5 / 250)
    # a heart rate near the TR must not confuse it either (R peaks jitter)
    assert (
        find_volume_onsets(raw, tr=2.16, marker="Scan Start").marker
        == "Scanner/Scan Start"
    )


def test_r128_with_fractional_positions(tmp_path):
    raw = _raw(tmp_path, bb.volume_markers(15, 1.28, lead=2.0), sfreq=1000.0)
    res = find_volume_onsets(raw, tr=1.28)
    assert res.marker == "Response/R128"
    assert len(res) == 15
    # onsets are float seconds (1.28 s = 1280 samples; positions are 1-based in .vmrk)
    np.testing.assert_allclose(np.diff(res.onsets), 1.28, atol=1e-9)
    assert find_volume_onsets(raw, tr=1.28, marker="R128").onsets[0] == res.onsets[0]


def test_spacing_disagrees_with_tr(tmp_path):
    raw = _raw(tmp_path, bb.volume_markers(10, 2.0))
    with pytest.raises(
        AlignmentError,
        match=r"spacing does not match the TR 2.5 s.*'Response/R128'.*median 2.0000 s",
    ):
        find_volume_onsets(raw, tr=2.5)
    with pytest.raises(
        AlignmentError,
        match=r"sub-01_task-rest_run-1: trigger 'Response/R128' spacing.*TR 2.5",
    ):
        find_volume_onsets(
            raw, tr=2.5, marker="R128", run_label="sub-01_task-rest_run-1"
        )


def test_missing_trigger_gap_is_an_error(tmp_path):
    markers = bb.volume_markers(10, 2.0)
    del markers[5]
    raw = _raw(tmp_path, markers)
    with pytest.raises(AlignmentError, match=r"worst 4.0000 s after trigger 4"):
        find_volume_onsets(raw, tr=2.0)


def test_trigger_count_vs_volumes(tmp_path, caplog):
    raw = _raw(tmp_path, bb.volume_markers(12, 2.0))
    with caplog.at_level(logging.WARNING, logger="eeg2fmri"):
        res = find_volume_onsets(raw, tr=2.0, n_volumes=10)
    assert "12 triggers" in caplog.text
    assert len(res) == 10 and res.n_dropped == 2
    assert res.onsets[0] == pytest.approx(1.0, abs=0.01)
    last = find_volume_onsets(raw, tr=2.0, n_volumes=10, extra_triggers="last")
    assert last.onsets[0] == pytest.approx(5.0, abs=0.01)
    with pytest.raises(AlignmentError, match="12 triggers"):
        find_volume_onsets(raw, tr=2.0, n_volumes=10, extra_triggers="error")
    with pytest.raises(
        AlignmentError,
        match="only 12 triggers 'Response/R128' for a BOLD run of 14 volumes",
    ):
        find_volume_onsets(raw, tr=2.0, n_volumes=14)


def test_no_triggers_falls_back_with_warning(tmp_path, caplog):
    raw = _raw(
        tmp_path, [("Stimulus", "S1", 3.3), ("Stimulus", "S1", 7.9)], duration=21.0
    )
    with caplog.at_level(logging.WARNING, logger="eeg2fmri"):
        res = find_volume_onsets(raw, tr=2.0)
    assert res.source == "fallback" and res.marker is None
    np.testing.assert_array_equal(res.onsets, 2.0 * np.arange(10))
    assert "assuming EEG sample 0 is the first volume" in caplog.text
    assert len(find_volume_onsets(raw, tr=2.0, n_volumes=4)) == 4
    with pytest.raises(AlignmentError, match="no volume trigger"):
        find_volume_onsets(raw, tr=2.0, fallback=False)


def test_ambiguous_markers_list_candidates(tmp_path):
    markers = bb.volume_markers(10, 2.0, kind="Stimulus", desc="S1")
    markers += bb.volume_markers(10, 2.0, lead=1.5, kind="Stimulus", desc="S2")
    raw = _raw(tmp_path, markers)
    with pytest.raises(
        AlignmentError,
        match=r"several annotations.*'Stimulus/S  1'.*'Stimulus/S  2'.*marker=",
    ):
        find_volume_onsets(raw, tr=2.0)
    assert find_volume_onsets(raw, tr=2.0, marker="Stimulus/S  2").onsets[
        0
    ] == pytest.approx(1.5, abs=0.01)


def test_unknown_marker_name(tmp_path):
    raw = _raw(tmp_path, bb.volume_markers(5, 2.0))
    with pytest.raises(
        AlignmentError, match=r"no annotation 'R182'.*did you mean 'Response/R128'"
    ):
        find_volume_onsets(raw, tr=2.0, marker="R182")


def test_eeglab_sample_has_no_scanner_markers(realdata, caplog):
    raw = load_eeg(realdata / "eeg" / "eeglab-sample" / "test_raw.set")
    with caplog.at_level(logging.WARNING, logger="eeg2fmri"):
        res = find_volume_onsets(raw, tr=2.0)
    assert res.source == "fallback"
    assert len(res) == int(238.3 // 2.0)
    assert "'square'" in caplog.text


def test_edf_annotations_as_triggers(realdata):
    """T0 marks every rest block of eegmmidb, exactly every 6.5 s (fractional onsets
    kept)."""
    raw = load_eeg(
        realdata / "eeg" / "eegmmidb-edf" / "test_edf_overlapping_annotations.edf"
    )
    res = find_volume_onsets(raw, tr=6.5, marker="T0")
    assert len(res) == 19
    np.testing.assert_allclose(np.diff(res.onsets), 6.5)
    with pytest.raises(AlignmentError, match="'T0'.*TR 2"):
        find_volume_onsets(raw, tr=2.0, marker="T0")


def test_brainvision_sample_markers(realdata):
    raw = load_eeg(realdata / "eeg" / "brainvision-mne-test" / "test.vhdr")
    res = find_volume_onsets(raw, tr=2.0)  # irregular stimulus markers: no trigger
    assert res.source == "fallback"
    with pytest.raises(AlignmentError, match="Stimulus/S255"):
        find_volume_onsets(raw, tr=2.0, marker="S255")


def test_onsets_relative_to_first_sample_after_crop(tmp_path):
    raw = _raw(tmp_path, bb.volume_markers(10, 2.0, lead=5.0))
    raw.crop(tmin=4.0)
    res = find_volume_onsets(raw, tr=2.0)
    assert res.onsets[0] == pytest.approx(1.0, abs=0.01)


def test_check_eeg_covers(tmp_path):
    raw = _raw(tmp_path, bb.volume_markers(10, 2.0), duration=20.0)  # EEG ends at 20 s
    res = find_volume_onsets(raw, tr=2.0)
    check_eeg_covers(raw, res.onsets[:9], 2.0)  # last volume 17-19 s: covered
    with pytest.raises(
        AlignmentError, match=r"EEG \(20.000 s\) is shorter than the BOLD run.*9 of 10"
    ):
        check_eeg_covers(raw, res, 2.0, run_label="sub-01_task-rest")
    with pytest.raises(AlignmentError, match="EEG starts too late"):
        check_eeg_covers(raw, res, 2.0, before=4.0, after=0.0)


def test_heartbeat_near_tr_is_not_a_trigger(tmp_path):
    """R peaks about one TR apart are irregular: never taken for volume triggers."""
    rng = np.random.default_rng(1)
    beats = np.cumsum(rng.uniform(0.9, 1.1, 35))
    markers = [("Pulse Artifact", "R", float(t)) for t in beats]
    raw = _raw(tmp_path, markers, duration=40.0)
    assert find_volume_onsets(raw, tr=1.0).source == "fallback"
    raw = _raw(
        tmp_path,
        markers + bb.volume_markers(30, 1.0, lead=0.55),
        duration=40.0,
        name="b_eeg.vhdr",
    )
    assert find_volume_onsets(raw, tr=1.0).marker == "Response/R128"


def test_simulated_runs_align_with_truth(sim_bids):
    """Discovery + loading + auto-detected onsets reproduce the simulator's truth."""
    import json

    from eeg2fmri.bids import find_paired_runs, load_bold

    for run in find_paired_runs(sim_bids).runs:
        raw = load_eeg(run.eeg_path)
        bold = load_bold(run.bold_path, tr=run.tr, metadata=run.bold_metadata)
        res = find_volume_onsets(raw, tr=run.tr, n_volumes=bold.n_volumes)
        check_eeg_covers(raw, res, run.tr)
        truth_path = next(
            (sim_bids / "derivatives" / "simulation").rglob(
                f"{run.label}_desc-truth.json"
            )
        )
        truth = json.loads(truth_path.read_text())
        assert res.source == "markers" and res.marker == truth["trigger"]
        np.testing.assert_allclose(res.onsets, truth["volume_onsets"], atol=1e-6)
        assert "ecg" in raw.get_channel_types()  # default picks keep the ECG
