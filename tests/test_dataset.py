"""build_dataset on the simulated BIDS dataset, a real EEG file, the work-dir cache."""

import json
import shutil

import nibabel as nib
import numpy as np
import pytest

from eeg2fmri import bids
from eeg2fmri.features import FeatureParams, build_dataset, compute_run_spectra

N_VOL, TR = 40, 2.16  # the session dataset (tests/conftest.py SIM_KWARGS)


def _truth(sim_bids, subject):
    path = (
        sim_bids
        / "derivatives"
        / "simulation"
        / f"sub-{subject}"
        / "func"
        / f"sub-{subject}_task-rest_desc-truth.json"
    )
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def sim_ds(sim_bids, tmp_path_factory):
    work = tmp_path_factory.mktemp("features_work")
    return build_dataset(sim_bids, work_dir=work), work


def test_build_dataset_counts_groups_provenance_targets(sim_bids, sim_ds):
    ds, _ = sim_ds
    # official count per run: 40 volumes - 6 discarded - 20 context windows = 14
    assert len(ds) == 3 * 14
    assert ds.X.shape == (42, 20, 16, 249) and ds.y.shape == (42, 8, 16, 16)
    assert ds.groups.tolist() == ["01"] * 14 + ["02"] * 14 + ["03"] * 14
    prov = ds.provenance
    assert (prov["subject"] == ds.groups).all()
    assert prov["run_label"].unique().tolist() == [
        f"sub-{s}_task-rest" for s in ("01", "02", "03")
    ]
    np.testing.assert_array_equal(prov["volume_index"], np.tile(np.arange(26, 40), 3))
    assert ds.tr == pytest.approx(TR)
    assert ds.frequencies[0] == pytest.approx(1 / TR)  # bin 1; DC dropped
    assert ds.frequencies[-1] == pytest.approx(249 / TR)  # 115.3 Hz < Nyquist 125 Hz
    for rf in ds.runs:
        truth = _truth(sim_bids, rf.subject)
        # onsets come from the scanner triggers, which sit where the simulator put them
        assert rf.onset_source == "markers"
        np.testing.assert_allclose(rf.onsets, truth["volume_onsets"], atol=1 / rf.sfreq)
        rows = prov[prov["subject"] == rf.subject]
        np.testing.assert_allclose(
            rows["onset"],
            np.asarray(truth["volume_onsets"])[rows["volume_index"]],
            atol=1 / rf.sfreq,
        )
        # the context ends at the target's onset (zero lag) and spans 20 TRs
        np.testing.assert_allclose(rows["context_end"], rows["onset"], atol=0.01)
        np.testing.assert_allclose(
            rows["context_end"] - rows["context_start"], 20 * TR, atol=0.01
        )
    # y is the BOLD volume at volume_index, in the (D, H, W) = (k, i, j) layout
    bold = nib.load(ds.runs[1].paired_run.bold_path)
    data = np.asarray(bold.dataobj, dtype=np.float32)
    for i in (14, 20, 27):
        v = prov["volume_index"].iloc[i]
        np.testing.assert_array_equal(ds.y[i], np.moveaxis(data[..., v], 2, 0))
    np.testing.assert_allclose(ds.affine, bold.affine)
    # X is the spectra of the right windows: pair 0's last window = volume 25
    rf = ds.runs[0]
    np.testing.assert_array_equal(ds.X[0][-1], rf.spectra[25 - rf.grid.first_window])
    # default features: log magnitudes; the official ones are z-scored per cell
    raw = build_dataset(sim_bids, FeatureParams(log_magnitude=False))
    np.testing.assert_allclose(np.exp(np.asarray(ds.X)), np.asarray(raw.X), rtol=1e-4)
    official = build_dataset(sim_bids, FeatureParams.official())
    np.testing.assert_allclose(np.asarray(official.X).mean(axis=2), 0, atol=1e-4)
    sub = ds.subset(ds.groups != "02")
    assert len(sub) == 28 and [r.subject for r in sub.runs] == ["01", "03"]


def test_cache_is_reused_and_keyed_by_params(sim_bids, sim_ds, monkeypatch):
    ds, work = sim_ds
    assert all(isinstance(r.spectra, np.memmap) for r in ds.runs)
    assert len(list((work / "features").glob("*/meta.json"))) == 3

    def no_read(*args, **kwargs):
        raise AssertionError("the EEG was read although the cache is up to date")

    monkeypatch.setattr(bids, "load_eeg", no_read)
    again = build_dataset(sim_bids, work_dir=work)
    np.testing.assert_array_equal(np.asarray(again.X), np.asarray(ds.X))
    np.testing.assert_array_equal(np.asarray(again.y), np.asarray(ds.y))
    assert again.provenance.equals(ds.provenance)
    # other parameters -> other cache entry -> the EEG must be read
    with pytest.raises(AssertionError, match="EEG was read"):
        build_dataset(sim_bids, FeatureParams(window="hann"), work_dir=work)
    with pytest.raises(AssertionError, match="EEG was read"):
        build_dataset(sim_bids, work_dir=work, target_shape=(4, 8, 8))


def test_sources_pre_scan_scaling_and_resampling(sim_bids):
    report = bids.find_paired_runs(sim_bids)
    one = build_dataset(sim_bids, participant_label=["02"], bold_scaling="volume")
    assert len(one) == 14 and set(one.groups) == {"02"}
    y = np.asarray(one.y)
    np.testing.assert_allclose(y.min(axis=(1, 2, 3)), 0)
    np.testing.assert_allclose(y.max(axis=(1, 2, 3)), 1, atol=1e-6)
    from_list = build_dataset(report.runs[1:2], bold_scaling="volume")
    np.testing.assert_array_equal(np.asarray(from_list.X), np.asarray(one.X))

    # the EEG starts 10 s before the first volume: floor(10 / 2.16) = 4 windows before
    # it; targets v >= max(6, 20 - 4) = 16 -> 24 pairs per run
    lead = _truth(sim_bids, "01")["volume_onsets"][0]
    n_pre = int(np.floor(lead / TR))
    pre = build_dataset(report, FeatureParams(use_pre_scan_eeg=True))
    assert len(pre) == 3 * (N_VOL - max(6, 20 - n_pre))

    small = build_dataset(report.runs[:1], target_shape=(4, 8, 8))
    assert small.y.shape == (14, 4, 8, 8)
    vox = np.linalg.norm(small.affine[:3, :3], axis=0)
    orig = np.linalg.norm(nib.load(report.runs[0].bold_path).affine[:3, :3], axis=0)
    np.testing.assert_allclose(vox, 2 * orig)

    with pytest.raises(TypeError, match="only apply when source is a BIDS path"):
        build_dataset(report, participant_label=["01"])
    with pytest.raises(ValueError, match="target_shape"):
        build_dataset(report, resample="linear")
    with pytest.raises(ValueError, match="bold_scaling"):
        build_dataset(report, bold_scaling="zscore")


def test_real_eeglab_file_through_bids_loader(realdata):
    raw = bids.load_eeg(realdata / "eeg" / "eeglab-sample" / "test_raw.set")
    # no scanner triggers -> fallback onsets every TR from sample 0:
    # floor(30504 samples / 128 Hz / 2 s) = floor(238.3 / 2) = 119 volumes
    onsets = bids.find_volume_onsets(raw, tr=2.0)
    assert onsets.source == "fallback" and len(onsets.onsets) == 119
    p = FeatureParams(n_freqs=128)  # 256-sample windows: bins 1..128 reach Nyquist
    spectra, grid = compute_run_spectra(raw.get_data(), 128.0, onsets.onsets, 2.0, p)
    assert spectra.shape == (119 - 6, 32, 128)
    assert grid.pairs(20, 6, False)[0].size == 119 - 6 - 20


def test_burst_planted_in_the_eeg_file_shows_in_exactly_the_covering_pairs(
    sim_bids, tmp_path
):
    root = tmp_path / "bids"
    shutil.copytree(sim_bids, root, ignore=shutil.ignore_patterns("derivatives"))
    eeg = root / "sub-01" / "eeg" / "sub-01_task-rest_eeg.eeg"
    # BrainVision, multiplexed IEEE float32, 16 channels, resolution 0.1 uV
    data = np.memmap(eeg, dtype="<f4", mode="r+").reshape(-1, 16)
    sfreq = 250.0
    onset15 = _truth(sim_bids, "01")["volume_onsets"][15]
    f = 22 / TR  # exactly FFT bin 22 of a TR window -> column 21 (DC dropped)
    i0 = int(round((onset15 + 0.3) * sfreq))
    t = np.arange(int(1.5 * sfreq)) / sfreq
    data[i0 : i0 + t.size, 3] += 1e5 * np.sin(2 * np.pi * f * t)  # 10 mV on F4
    data.flush()
    del data
    ds = build_dataset(root, FeatureParams.official(), participant_label=["01"])
    # official z-score across 16 electrodes: the lone outlier has z = sqrt(15)
    hits = np.argwhere(np.asarray(ds.X)[:, :, 3, 21] > 3.5)
    volumes = ds.provenance["volume_index"].to_numpy()
    # window 15 is in the contexts of targets 16..35 -> targets 26..35 exist
    np.testing.assert_array_equal(volumes[hits[:, 0]], np.arange(26, 36))
    np.testing.assert_array_equal(hits[:, 1], 35 - np.arange(26, 36))
    assert np.asarray(ds.X)[hits[:, 0], hits[:, 1], 3, 21] == pytest.approx(
        np.sqrt(15), abs=0.01
    )
