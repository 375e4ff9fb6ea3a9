"""Loading EEG and BOLD (eeg2fmri.bids.eeg / .bold): real files and broken ones."""

import importlib.util
import logging
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from eeg2fmri.bids import load_bold, load_eeg, nifti_to_volumes, volumes_to_nifti
from eeg2fmri.exceptions import DataError, MissingInputError

_spec = importlib.util.spec_from_file_location(
    "bids_builders", Path(__file__).with_name("bids_builders.py")
)
bb = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bb)


# ----------------------------------------------------------------------------- real EEG
def test_eeglab_sample(realdata):
    raw = load_eeg(realdata / "eeg" / "eeglab-sample" / "test_raw.set")
    assert len(raw.ch_names) == 32
    assert raw.info["sfreq"] == 128
    assert raw.n_times == 30504
    assert raw.preload
    assert set(raw.annotations.description) == {"square", "rt"}


def test_brainvision_sample_keeps_native_markers(realdata):
    raw = load_eeg(realdata / "eeg" / "brainvision-mne-test" / "test.vhdr", picks="all")
    assert len(raw.ch_names) == 32
    assert raw.info["sfreq"] == 1000
    counts = {
        d: int(np.sum(raw.annotations.description == d))
        for d in set(raw.annotations.description)
    }
    assert counts["Stimulus/S255"] == 5
    assert counts["Response/R255"] == 1
    assert counts["SyncStatus/Sync On"] == 1
    # marker Mk10 = Response,R255 at data point 6000 (1-based) -> 5.999 s
    onset = raw.annotations.onset[raw.annotations.description == "Response/R255"]
    assert onset[0] == pytest.approx(5.999)
    # default picks drop the 6 channels whose units are not volts (mne types them misc)
    assert (
        len(load_eeg(realdata / "eeg" / "brainvision-mne-test" / "test.vhdr").ch_names)
        == 26
    )


def test_edf_annotations(realdata):
    raw = load_eeg(
        realdata / "eeg" / "eegmmidb-edf" / "test_edf_overlapping_annotations.edf"
    )
    assert len(raw.ch_names) == 64
    assert raw.info["sfreq"] == 128
    desc = list(raw.annotations.description)
    assert {d: desc.count(d) for d in set(desc)} == {"T0": 19, "T1": 10, "T2": 9}


def test_truncated_real_edf_is_a_data_error(realdata, tmp_path):
    data = (
        realdata / "eeg" / "eegmmidb-edf" / "test_edf_overlapping_annotations.edf"
    ).read_bytes()
    cut = tmp_path / "sub-01_task-rest_eeg.edf"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="sub-01_task-rest_eeg.edf looks truncated"):
        load_eeg(cut)
    raw = load_eeg(cut, allow_truncated=True)
    assert 0 < raw.n_times < 15872


def test_truncated_real_eeglab_fdt(realdata, tmp_path):
    src = realdata / "eeg" / "eeglab-sample"
    (tmp_path / "test_raw.set").write_bytes((src / "test_raw.set").read_bytes())
    fdt = (src / "test_raw.fdt").read_bytes()
    (tmp_path / "test_raw.fdt").write_bytes(fdt[: len(fdt) // 2])
    with pytest.raises(DataError, match="test_raw.set looks truncated"):
        load_eeg(tmp_path / "test_raw.set")
    (tmp_path / "test_raw.fdt").unlink()
    with pytest.raises(MissingInputError, match="test_raw.set"):
        load_eeg(tmp_path / "test_raw.set")


# ------------------------------------------------------------------------ broken EEG
@pytest.fixture
def vhdr(tmp_path):
    return bb.write_brainvision(
        tmp_path / "eeg" / "sub-01_task-rest_eeg.vhdr",
        n_channels=4,
        duration=10.0,
        markers=bb.volume_markers(4, 2.0),
    )


def test_missing_and_empty_eeg(vhdr):
    with pytest.raises(MissingInputError, match="does not exist"):
        load_eeg(vhdr.with_name("sub-02_task-rest_eeg.vhdr"))
    vhdr.with_suffix(".eeg").write_bytes(b"")
    with pytest.raises(
        MissingInputError, match=r"sub-01_task-rest_eeg.eeg is empty \(0 bytes\)"
    ):
        load_eeg(vhdr)
    vhdr.with_suffix(".eeg").unlink()
    with pytest.raises(
        MissingInputError, match="data file of .*sub-01_task-rest_eeg.vhdr not found"
    ):
        load_eeg(vhdr)


def test_truncated_brainvision(vhdr):
    data = vhdr.with_suffix(".eeg").read_bytes()
    vhdr.with_suffix(".eeg").write_bytes(data[: len(data) // 3 + 2])  # cut mid-sample
    with pytest.raises(DataError, match="looks truncated"):
        load_eeg(vhdr)
    frame = 4 * 4  # 4 channels, float32
    vhdr.with_suffix(".eeg").write_bytes(
        data[: (len(data) // 3 // frame) * frame]
    )  # whole samples
    with pytest.raises(DataError, match="markers up to sample"):
        load_eeg(vhdr)


def test_stale_datafile_name_in_header(vhdr, caplog):
    """Files renamed to their BIDS names without editing the header (common)."""
    text = vhdr.read_text(encoding="utf-8")
    text = text.replace("DataFile=sub-01_task-rest_eeg.eeg", "DataFile=rec_0042.eeg")
    text = text.replace(
        "MarkerFile=sub-01_task-rest_eeg.vmrk", "MarkerFile=rec_0042.vmrk"
    )
    vhdr.write_text(text, encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="eeg2fmri"):
        raw = load_eeg(vhdr)
    assert "rec_0042.eeg" in caplog.text and "sub-01_task-rest_eeg.eeg" in caplog.text
    assert raw.n_times == 1000
    assert int(np.sum(raw.annotations.description == "Response/R128")) == 4


def test_nans_name_the_channels(tmp_path):
    data = np.random.default_rng(0).standard_normal((4, 500)) * 1e-5
    data[2, 100:120] = np.nan
    path = bb.write_brainvision(
        tmp_path / "sub-01_task-rest_eeg.vhdr", data=data, sfreq=100.0
    )
    with pytest.raises(
        DataError, match=r"NaN or infinite samples in 1 of 4 channels \(E3\)"
    ):
        load_eeg(path)
    # the same channel marked bad in channels.tsv: zero-filled with a warning
    (tmp_path / "sub-01_task-rest_channels.tsv").write_text(
        "name\ttype\tunits\tstatus\nE1\tEEG\tuV\tgood\nE2\tEEG\tuV\tgood\nE3\tEEG\tuV\tbad\nE4\tEEG\tuV\tgood\n"
    )
    raw = load_eeg(path)
    assert raw.info["bads"] == ["E3"]
    assert np.isfinite(raw.get_data()).all()
    assert np.all(raw.get_data(picks=["E3"])[0, 100:120] == 0)


def test_space_separated_channels_tsv_types_and_picks(tmp_path):
    path = bb.write_brainvision(
        tmp_path / "sub-01_task-rest_eeg.vhdr",
        n_channels=5,
        duration=5.0,
        ch_names=["Fz", "Cz", "ECG", "VEOG", "Trig"],
    )
    (tmp_path / "sub-01_task-rest_channels.tsv").write_text(
        "name   type  units status\nFz     EEG   uV    good\nCz     EEG   uV    bad\n"
        "ECG    ECG   uV    good\nVEOG   EOG   uV    good\nTrig   TRIG  n/a   good\n"
    )
    raw = load_eeg(path)  # default "data": EEG + ECG
    assert raw.ch_names == ["Fz", "Cz", "ECG"]
    assert raw.get_channel_types() == ["eeg", "eeg", "ecg"]
    assert raw.info["bads"] == ["Cz"]
    assert load_eeg(path, picks="eeg").ch_names == ["Fz", "Cz"]
    assert load_eeg(path, picks="all").get_channel_types() == [
        "eeg",
        "eeg",
        "ecg",
        "eog",
        "stim",
    ]
    # without channels.tsv: ECG/EOG recognised by name
    raw = load_eeg(path, channels_tsv=None, picks="all")
    assert raw.get_channel_types() == ["eeg", "eeg", "ecg", "eog", "eeg"]


def test_unsupported_format(tmp_path):
    (tmp_path / "x_eeg.fif").write_bytes(b"1234")
    with pytest.raises(DataError, match="unsupported format '.fif'"):
        load_eeg(tmp_path / "x_eeg.fif")


# ----------------------------------------------------------------------------- BOLD
def test_example4d_tr_from_ms_and_layout(realdata, caplog):
    path = realdata / "fmri" / "nibabel" / "example4d.nii.gz"
    with caplog.at_level(logging.WARNING, logger="eeg2fmri"):
        run = load_bold(path)
    assert run.tr == 2.0
    assert "2000" in caplog.text
    assert run.shape == (2, 24, 128, 96)
    vols = run.volumes
    assert (
        vols.shape == (2, 24, 128, 96)
        and vols.dtype == np.float32
        and vols.flags.c_contiguous
    )
    img = nib.load(path)
    np.testing.assert_array_equal(run.affine, img.affine)
    assert abs(run.affine[1, 2]) > 0.3  # oblique kept
    data = np.asanyarray(img.dataobj)
    t, k, i, j = 1, 7, 50, 33
    assert vols[t, k, i, j] == data[i, j, k, t]
    np.testing.assert_array_equal(volumes_to_nifti(vols), data.astype(np.float32))
    # sidecar TR wins over the header
    assert load_bold(path, metadata={"RepetitionTime": 2.5}).tr == 2.5


def test_layout_helpers_roundtrip(rng):
    data = rng.standard_normal((5, 6, 7, 3)).astype(np.float32)
    vols = nifti_to_volumes(data)
    assert vols.shape == (3, 7, 5, 6)
    assert vols[2, 4, 1, 3] == data[1, 3, 4, 2]
    np.testing.assert_array_equal(volumes_to_nifti(vols), data)
    assert nifti_to_volumes(data[..., 0]).shape == (7, 5, 6)


def test_bold_errors(tmp_path):
    with pytest.raises(MissingInputError, match="does not exist"):
        load_bold(tmp_path / "sub-01_task-rest_bold.nii.gz")
    empty = tmp_path / "empty_bold.nii.gz"
    empty.write_bytes(b"")
    with pytest.raises(
        MissingInputError, match=r"empty_bold.nii.gz is empty \(0 bytes\)"
    ):
        load_bold(empty)
    junk = tmp_path / "junk_bold.nii.gz"
    junk.write_bytes(b"not a nifti" * 50)
    with pytest.raises(DataError, match="junk_bold.nii.gz"):
        load_bold(junk)
    three_d = tmp_path / "anat_bold.nii.gz"
    nib.save(nib.Nifti1Image(np.zeros((4, 4, 4), np.float32), np.eye(4)), three_d)
    with pytest.raises(DataError, match="expected a 4-D BOLD series"):
        load_bold(three_d)
    no_tr = bb.write_bold(tmp_path / "notr_bold.nii.gz", tr=0.0)
    with pytest.raises(DataError, match="no RepetitionTime for .*notr_bold.nii.gz"):
        load_bold(no_tr)


def test_truncated_bold_data(tmp_path):
    full = bb.write_bold(
        tmp_path / "full_bold.nii.gz", shape=(20, 20, 10), n_volumes=8
    ).read_bytes()
    cut = tmp_path / "cut_bold.nii.gz"
    cut.write_bytes(full[: len(full) // 2])
    run = load_bold(cut)  # header is fine
    assert run.shape == (8, 10, 20, 20)
    with pytest.raises(DataError, match="cut_bold.nii.gz.*truncated"):
        _ = run.volumes


@pytest.mark.parametrize("fmt", ["bdf", "edf"])
def test_bdf_and_edf_annotations_round_trip(tmp_path, fmt):
    """EDF+/BDF+ written by mne's exporter: annotations come back as volume triggers."""
    import mne

    from eeg2fmri.bids import find_volume_onsets

    info = mne.create_info(["Fz", "Cz", "ECG"], 256.0, ["eeg", "eeg", "ecg"])
    data = np.random.default_rng(0).standard_normal((3, 256 * 30)) * 1e-5
    raw = mne.io.RawArray(data, info, verbose=False)
    raw.set_annotations(mne.Annotations(1.5 + 2.0 * np.arange(12), 0.0, "Volume"))
    path = tmp_path / f"sub-01_task-rest_eeg.{fmt}"
    mne.export.export_raw(path, raw, fmt=fmt, overwrite=True, verbose=False)
    loaded = load_eeg(path)
    assert loaded.ch_names == ["Fz", "Cz", "ECG"]
    assert loaded.get_channel_types() == ["eeg", "eeg", "ecg"]
    res = find_volume_onsets(loaded, tr=2.0, n_volumes=12)
    assert res.marker == "Volume"
    np.testing.assert_allclose(res.onsets, 1.5 + 2.0 * np.arange(12), atol=1e-3)


def test_write_brainvision_round_trips_data_and_vendor_markers(tmp_path):
    import mne

    from eeg2fmri.bids.brainvision import write_brainvision

    data = np.random.default_rng(0).normal(0, 1e-5, (3, 500))
    markers = [("Response", "R128", 10), ("Scanner", "Scan Start", 250),
               ("Comment", "a, b", 499)]
    vhdr = write_brainvision(tmp_path, "sub-01_task-rest_eeg", data, sfreq=250.0,
                             ch_names=["Fz", "Cz", "Pz"], markers=markers)
    assert "Comment,a\\1 b,500,1,0" in vhdr.with_suffix(".vmrk").read_text()
    raw = mne.io.read_raw_brainvision(vhdr, preload=True, verbose="error")
    assert raw.ch_names == ["Fz", "Cz", "Pz"]
    np.testing.assert_allclose(raw.get_data(), data, atol=0.06e-6)  # 0.1 µV steps
    got = [(d, round(o * 250)) for d, o in zip(raw.annotations.description,
                                                 raw.annotations.onset, strict=True)]
    assert ("Response/R128", 10) in got and ("Scanner/Scan Start", 250) in got
