"""Tests of Spec2VolEstimator's validation fit, baseline check and refit."""

import importlib.util
import warnings
from pathlib import Path

import numpy as np
import pytest

from eeg2fmri.estimators import Spec2VolEstimator
from eeg2fmri.estimators import training as _training
from eeg2fmri.estimators._signal_voxels import octave_bands
from eeg2fmri.exceptions import BaselineWarning

_spec = importlib.util.spec_from_file_location(
    "toy_data", Path(__file__).with_name("toy_data.py")
)
toy_data = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(toy_data)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny(**kw):
    params = dict(model="spec2vol-tiny", epochs=1, batch_size=8, device="cpu",
                  random_state=0)
    params.update(kw)
    return Spec2VolEstimator(**params)


def fit(est, ds):
    runs = ds.provenance["run_label"].to_numpy()
    return est.fit(ds.X, ds.y, groups=ds.groups, runs=runs)


def test_defaults():
    est = Spec2VolEstimator()
    assert est.selection == "last"
    assert est.baseline_check is True and est.refit is True
    assert Spec2VolEstimator.official().refit is False


def test_check_then_refit_on_every_participant(pairs):
    """3 participants: validation_split=0.1 rounds to none, a refit holds one out."""
    from eeg2fmri.estimators.scaling import fit_input_scaling

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BaselineWarning)
        est = fit(tiny(epochs=2, frequencies=pairs.frequencies), pairs)
    assert len(est.validation_groups_) == 1
    check = est.baseline_check_
    assert check["ran"] and check["validation_groups"] == est.validation_groups_
    assert check["better"] in ("network", "ridge")
    assert check["better"] == (
        "network" if check["network_r"] >= check["ridge_r"] else "ridge"
    )
    assert check["baseline"] == "BandPowerRidge(frequencies=...)"
    n_val = int(np.isin(pairs.groups, est.validation_groups_).sum())
    assert check["n_validation"] == n_val
    assert check["n_train"] == len(pairs) - n_val
    assert 0 < check["n_signal_voxels"] <= check["n_voxels"] == 8 * 16 * 16
    # the final model is refitted on every row, for the epochs the validation kept
    assert est.refitted_ and est.best_epoch_ == 2 and len(est.history_) == 2
    assert all(h["val_temporal_r"] is not None for h in est.validation_history_)
    assert all(h["val_temporal_r"] is None for h in est.history_)
    every = fit_input_scaling(pairs.X, np.arange(len(pairs)), "standard",
                              est.input_shape_)
    np.testing.assert_allclose(est.input_scaler_.mean, every.mean, rtol=1e-6)


def toy(n_per_group=12, seed=0):
    """3 participants of :func:`toy_data.state_blobs` pairs, and their groups."""
    X, y = toy_data.state_blobs(3 * n_per_group, seed)
    return X, y, np.repeat(["01", "02", "03"], n_per_group)


def test_warning_names_the_ridge(monkeypatch):
    """A network alone that predicts the mean volume (r = 0) is below the ridge."""
    real = _training.predict_batches

    def mean_volume(model, X, cfg, **kw):
        out = real(model, X, cfg, **kw)
        return np.zeros_like(out) if hasattr(X, "rows") else out

    monkeypatch.setattr(_training, "predict_batches", mean_volume)
    X, y, groups = toy()
    with pytest.warns(BaselineWarning, match=r"BandPowerRidge.*--model-name ridge"):
        est = tiny(ridge_backing=False).fit(X, y, groups=groups)
    check = est.baseline_check_
    assert check["better"] == "ridge" and check["network_r"] == 0.0
    assert check["ridge_r"] > 0.5


def test_no_warning_when_the_network_is_better(pairs, monkeypatch):
    """A network that predicts the validation BOLD exactly scores r = 1."""
    real = _training.predict_batches

    def perfect(model, X, cfg, **kw):
        rows = getattr(X, "rows", None)
        if rows is None:  # not the check's validation rows
            return real(model, X, cfg, **kw)
        y = np.asarray(pairs.y[rows]).reshape(len(rows), *cfg.output_shape)
        return cfg.target.to_model(y, rows=rows)

    monkeypatch.setattr(_training, "predict_batches", perfect)
    with warnings.catch_warnings():
        warnings.simplefilter("error", BaselineWarning)
        est = fit(tiny(refit=False, validation_split=0.34, ridge_backing=False),
                  pairs)
    check = est.baseline_check_
    assert check["better"] == "network"
    assert check["network_r"] == pytest.approx(1.0, abs=1e-4)
    assert check["network_r"] > check["ridge_r"]
    # build_dataset pairs carry their frequencies (X.eeg_spec): the EEG bands
    assert check["baseline"] == "BandPowerRidge(frequencies=...)"
    assert not est.refitted_ and est.validation_history_ is None


def test_check_off_and_no_validation(pairs):
    # nothing needs validation participants: every participant trains
    est = fit(tiny(baseline_check=False), pairs)
    assert est.baseline_check_ is None and est.validation_groups_ is None
    assert not est.refitted_
    # no validation: the check says why it did not run
    est = fit(tiny(validation_split=0), pairs)
    assert est.baseline_check_["ran"] is False
    assert "no validation participants" in est.baseline_check_["reason"]


def test_refit_false_keeps_the_validation_fit(pairs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BaselineWarning)
        est = fit(tiny(refit=False, epochs=2, validation_split=0.34), pairs)
    assert not est.refitted_ and est.validation_history_ is None
    assert all(h["val_temporal_r"] is not None for h in est.history_)
    assert est.baseline_check_["refit"] is False


def test_refit_checkpoints_each_fit(pairs, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BaselineWarning)
        fit(tiny(checkpoint_dir=tmp_path), pairs)
    assert (tmp_path / "checkpoint.json").is_file()
    assert (tmp_path / "validation-fit" / "checkpoint.json").is_file()


def test_bad_frequencies(pairs):
    with pytest.raises(ValueError, match="'frequencies' parameter.*32 values"):
        fit(tiny(frequencies=np.arange(5.0)), pairs)
    with pytest.raises(ValueError, match="'frequencies' parameter"):
        fit(tiny(frequencies="alpha"), pairs)


def test_octave_bands_cover_every_bin():
    for n in (1, 2, 7, 32, 249):
        bands = octave_bands(n)
        assert bands[0][0] == 0 and bands[-1][1] == n
        assert all(a[1] == b[0] for a, b in zip(bands[:-1], bands[1:], strict=True))
    assert octave_bands(32) == [(0, 2), (2, 4), (4, 8), (8, 16), (16, 32)]


def test_refit_false_rounds_validation_to_none(pairs):
    """Without a refit, 0.1 of 3 participants rounds to none: every one trains."""
    est = fit(tiny(refit=False), pairs)
    assert est.validation_groups_ is None and est.baseline_check_["ran"] is False


def test_network_learns_the_signal_voxels_only(pairs, tmp_path):
    """signal_voxels='ridge': the mask is where the ridge fitted on the training
    rows predicts held-out participants (smoothed, mirror threshold); outside it
    the prediction is the training mean, exactly; saved and loaded with the
    model."""
    from eeg2fmri.estimators import BandPowerRidge

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BaselineWarning)
        est = fit(tiny(epochs=2, validation_split=0, baseline_check=False,
                       frequencies=pairs.frequencies, ridge_backing=False), pairs)
    mask = est.signal_mask_
    assert mask.dtype == bool and mask.shape == tuple(est.output_shape_)
    runs = pairs.provenance["run_label"].to_numpy()
    ridge = BandPowerRidge(frequencies=pairs.frequencies).fit(
        pairs.X, pairs.y, groups=pairs.groups, runs=runs
    )
    from scipy import ndimage

    from eeg2fmri.estimators._signal_voxels import mirror_threshold

    scores = ndimage.gaussian_filter(ridge.cv_voxel_scores_.reshape(mask.shape), 1.0)
    expected = scores >= mirror_threshold(scores.ravel())
    np.testing.assert_array_equal(mask, expected)
    assert 0 < mask.sum() < mask.size

    pred = est.predict(pairs.X[:6])
    mean = est.target_scaler_.location
    np.testing.assert_allclose(pred[:, ~mask], np.broadcast_to(mean, pred.shape)[
        :, ~mask], rtol=1e-6)
    assert np.ptp(pred[:, mask], axis=0).max() > 0  # the learned voxels vary

    est.save(tmp_path / "m")
    loaded = Spec2VolEstimator.load(tmp_path / "m")
    np.testing.assert_array_equal(loaded.signal_mask_, mask)
    np.testing.assert_allclose(loaded.predict(pairs.X[:6]), pred, rtol=1e-5,
                               atol=1e-5)


def test_every_voxel_without_signal_voxels(pairs):
    est = fit(tiny(validation_split=0, baseline_check=False, signal_voxels=None),
              pairs)
    assert est.signal_mask_ is None
    assert Spec2VolEstimator.official().signal_voxels is None
    with pytest.raises(ValueError, match="signal_voxels"):
        tiny(signal_voxels="all").fit(pairs.X, pairs.y)


def test_mirror_threshold():
    """Symmetric noise plus a positive tail: the threshold keeps the tail."""
    from eeg2fmri.estimators._signal_voxels import mirror_threshold

    rng = np.random.default_rng(0)
    noise = rng.normal(0, 0.05, 5000)
    signal = rng.uniform(0.3, 0.6, 100)
    t = mirror_threshold(np.r_[noise, signal, np.nan], fdr=0.1)
    kept = np.r_[noise, signal] >= t
    assert kept[5000:].all() and kept[:5000].sum() <= 0.1 * kept.sum()
    assert mirror_threshold(noise[noise < 0]) is None
