"""Portable models: a model file knows its channels, rate and grid, and applies to
EEG recorded without fMRI, by another cap, at another rate (issue: fMRI from EEG alone).
"""

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from eeg2fmri import (
    BandPowerRidge,
    FeatureParams,
    Spec2VolEstimator,
    build_dataset,
    load_eeg,
    load_model,
    synthesize_image,
    synthesize_run,
)
from eeg2fmri.exceptions import DataError
from eeg2fmri.simulate import simulate_eeg_only_dataset

from .conftest import SIM_KWARGS

V2 = Path(__file__).parent / "data" / "model_format_v2"
PARAMS = FeatureParams(n_context=4)


@pytest.fixture(scope="module")
def data(sim_bids):
    """Pairs of sub-01 and sub-02 (sub-03 is held out)."""
    return build_dataset(sim_bids, PARAMS, participant_label=["01", "02"])


@pytest.fixture(scope="module")
def ridge(data):
    runs = data.provenance["run_label"].to_numpy()
    return BandPowerRidge().fit(data.X, data.y, groups=data.groups, runs=runs)


@pytest.fixture(scope="module")
def ridge_file(ridge, tmp_path_factory):
    return ridge.save(tmp_path_factory.mktemp("model") / "ridge.safetensors")


@pytest.fixture(scope="module")
def elsewhere(tmp_path_factory):
    """sub-03 "recorded elsewhere": 2 channels dropped, old names, shuffled, 500 Hz,
    one channel bad, an extra EOG channel, no scanner markers."""
    kwargs = {k: v for k, v in SIM_KWARGS.items() if k != "n_subjects"}
    return simulate_eeg_only_dataset(
        tmp_path_factory.mktemp("elsewhere") / "bids", subjects=("03",),
        drop_channels=2, rename="10-20-old", shuffle_channels=True, sfreq=500.0,
        bad_channels=1, extra_channels=("EOG",), **kwargs,
    )


def _eeg_of(root, subject="03"):
    return next((Path(root) / f"sub-{subject}" / "eeg").glob("*_eeg.vhdr"))


def test_model_file_records_what_applying_needs(ridge, ridge_file, data):
    desc = json.loads(Path(ridge_file).with_suffix(".json").read_text())
    assert desc["format_version"] == 3
    eeg = desc["eeg"]
    assert eeg["ch_names"] == list(data.eeg_spec.ch_names)
    assert eeg["ch_names"][:3] == ["Fp1", "Fp2", "F3"] and "ECG" in eeg["ch_names"]
    assert eeg["sfreq"] == 250.0 and eeg["tr"] == pytest.approx(2.16)
    assert eeg["line_freq"] == 50.0 and len(eeg["frequencies"]) == 249
    space = desc["output_space"]
    assert space["shape"] == [8, 16, 16] and space["label"] == "sub01"
    assert space["tr"] == pytest.approx(2.16) and "BOLD units" in space["units"]
    np.testing.assert_allclose(space["affine"], data.runs[0].affine)
    loaded = load_model(ridge_file)
    assert loaded.ch_names_ == ridge.ch_names_ == data.eeg_spec.ch_names
    assert loaded.output_space_ == ridge.output_space_
    assert loaded.output_space_.mask.any() and loaded.output_space_.reference.max() > 0
    assert loaded.channel_means_.shape == (16, 249)


def test_channel_order_alone_changes_nothing(sim_bids, ridge, data):
    net = Spec2VolEstimator("spec2vol-tiny", epochs=1, validation_split=0,
                            random_state=0).fit(data.X, data.y, groups=data.groups)
    raw = load_eeg(_eeg_of(sim_bids))
    shuffled = raw.copy().reorder_channels(raw.ch_names[::-1])
    for model in (ridge, net):
        a = np.asarray(synthesize_image(model, raw).dataobj)
        b = np.asarray(synthesize_image(model, shuffled).dataobj)
        assert np.max(np.abs(a - b)) < 1e-5


def test_another_cap_and_rate_give_the_same_synthesis(sim_bids, ridge, elsewhere):
    paired = synthesize_run(ridge, load_eeg(_eeg_of(sim_bids)))
    other = synthesize_run(ridge, _eeg_of(elsewhere))
    cap = json.loads(next((elsewhere / "derivatives" / "simulation").rglob(
        "*_desc-capchanges.json")).read_text())
    c = other.conformed
    assert c.resampled == (500.0, 250.0)
    assert c.reordered and c.renamed and "EOG" in c.dropped
    truth = [*cap["dropped"], *(b["original_name"] for b in cap["bad"])]
    assert sorted(c.interpolated) == sorted(truth) and len(truth) == 3
    assert c.renamed == {v: k for k, v in cap["renamed"].items()} and not c.imputed
    assert other.timing == "eeg-start" and paired.timing == "markers"
    # the same volumes: the paired EEG starts eeg_lead s before volume 0
    n = min(paired.n_frames, other.n_frames)
    keep = paired.context_complete[:n] & other.context_complete[:n]
    mask = ridge.output_space_.mask
    a = paired.volumes[:n][keep][:, mask]
    b = other.volumes[:n][keep][:, mask]
    varies = a.std(axis=0) > 0
    r = [np.corrcoef(a[:, v], b[:, v])[0, 1] for v in np.flatnonzero(varies)]
    # 3 of 15 EEG channels rebuilt from a sparse 16-channel cap: close, not equal
    assert np.median(r) > 0.8
    sidecar = other.sidecar()
    assert sidecar["EEGAdaptations"]["Resampled"] == {"FromHz": 500.0, "ToHz": 250.0}
    assert sidecar["FramesWithIncompleteContext"] == [0, 1, 2, 3]


def test_names_order_and_rate_alone_lose_nothing(sim_bids, ridge, tmp_path):
    """Renamed, shuffled and resampled, with every channel there: the same BOLD."""
    kwargs = {k: v for k, v in SIM_KWARGS.items() if k != "n_subjects"}
    root = simulate_eeg_only_dataset(tmp_path / "b", subjects=("03",),
                                     rename="10-20-old", sfreq=500.0, **kwargs)
    paired = synthesize_run(ridge, load_eeg(_eeg_of(sim_bids)))
    other = synthesize_run(ridge, _eeg_of(root))
    assert other.conformed.renamed and other.conformed.resampled == (500.0, 250.0)
    n = min(paired.n_frames, other.n_frames)
    mask = ridge.output_space_.mask
    a, b = paired.volumes[:n][:, mask], other.volumes[:n][:, mask]
    varies = a.std(axis=0) > 0
    r = [np.corrcoef(a[:, v], b[:, v])[0, 1] for v in np.flatnonzero(varies)]
    assert np.min(r) > 0.999


def test_eeg_alone_gives_an_image_nilearn_takes(ridge, elsewhere):
    import matplotlib

    matplotlib.use("Agg")
    import nibabel as nib
    from nilearn import image, plotting
    from nilearn.maskers import NiftiMasker

    from eeg2fmri.bids.derivatives import volumes_to_nifti_image

    img = synthesize_image(ridge, _eeg_of(elsewhere))  # no reference, no TR
    space = ridge.output_space_
    np.testing.assert_allclose(img.affine, space.affine)
    assert img.shape[:3] == space.nifti_shape
    assert img.header.get_zooms()[3] == pytest.approx(2.16)
    mask = volumes_to_nifti_image(space.mask.astype(np.uint8), space.affine,
                                  dtype=np.uint8)
    ts = NiftiMasker(mask_img=mask).fit_transform(img)
    assert ts.shape == (img.shape[3], int(space.mask.sum()))
    std = image.math_img("np.std(img, axis=-1)", img=img)
    plotting.plot_stat_map(std, bg_img=image.mean_img(img, copy_header=True)).close()
    assert isinstance(img, nib.Nifti1Image)


def test_refused_recordings_say_why(sim_bids, ridge):
    raw = load_eeg(_eeg_of(sim_bids))
    eeg = [n for n in raw.ch_names if n != "ECG"]
    with pytest.raises(DataError, match=r"5 of the model's 16 channels .*missing "
                       r".*at most 4"):
        synthesize_run(ridge, raw.copy().drop_channels(eeg[:5]))
    with pytest.raises(DataError, match="Nyquist 100 Hz.* below the model's highest"):
        synthesize_run(ridge, raw.copy().resample(200.0))
    anonymous = raw.copy().rename_channels(
        {n: f"E{i}" for i, n in enumerate(raw.ch_names)})
    with pytest.raises(DataError, match="none of its 16 channel names .* is a "
                       "channel of the model"):
        synthesize_run(ridge, anonymous)
    with pytest.raises(DataError, match="TR 2 s, but the model's spectra are 2.16-s"):
        synthesize_run(ridge, raw, tr=2.0)
    # up to the limit, and a raised limit
    synthesize_run(ridge, raw.copy().drop_channels(eeg[:4]))
    run = synthesize_run(ridge, raw.copy().drop_channels(eeg[:5]),
                         max_interpolated=0.4)
    assert len(run.conformed.interpolated) == 5


def test_missing_ecg_is_imputed(sim_bids, ridge):
    raw = load_eeg(_eeg_of(sim_bids))
    run = synthesize_run(ridge, raw.copy().drop_channels(["ECG"]))
    assert run.conformed.imputed == ["ECG"] and not run.conformed.interpolated


def test_models_of_the_previous_format_still_load():
    X = np.load(V2 / "X.npy")
    for name in ("spec2vol-tiny", "ridge", "mean"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = load_model(V2 / f"{name}.json")
        messages = [str(w.message) for w in caught if w.category is UserWarning]
        assert len(messages) == 1 and "format version 2" in messages[0]
        assert "no channel names" in messages[0] and "no output grid" in messages[0]
        assert model.eeg_spec_ is None and model.output_space_ is None
        np.testing.assert_allclose(
            model.predict(X), np.load(V2 / f"pred_{name}.npy"), rtol=1e-5, atol=1e-6)


def test_previous_format_applies_by_position_with_a_reference(sim_bids, tmp_path):
    """An older model file: channels by position, and a reference BOLD is needed."""
    from eeg2fmri import find_paired_runs

    bids = simulate_dataset_v2_like(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        old = load_model(V2 / "ridge.json")
    run = find_paired_runs(bids).runs[0]
    img = synthesize_image(old, run)
    assert img.shape[3] == 40
    with pytest.raises(ValueError, match="no output grid"):
        synthesize_image(old, run.eeg_path)
    raw = load_eeg(run.eeg_path)
    with pytest.raises(DataError, match="takes 8 channels by position"):
        synthesize_image(old, raw.copy().drop_channels(raw.ch_names[:1]),
                         reference=run.bold_path)


def simulate_dataset_v2_like(tmp_path):
    from eeg2fmri.simulate import simulate_dataset

    return simulate_dataset(tmp_path / "v2", preset="noddi", n_subjects=1,
                            n_volumes=40, n_channels=8, bold_shape=(4, 8, 8),
                            random_state=0)


def test_model_of_plain_arrays_is_not_portable(data):
    est = BandPowerRidge(frequencies=data.frequencies).fit(
        np.asarray(data.X), np.asarray(data.y), groups=data.groups)
    assert est.eeg_spec_ is None and est.output_space_ is None
    with pytest.raises(AttributeError, match="knows its channels only by position"):
        _ = est.ch_names_
