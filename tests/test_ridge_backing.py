"""Tests of Spec2VolEstimator's ridge backing: the ridge in its predictions."""

import warnings

import numpy as np
import pytest

from eeg2fmri import BandPowerRidge, Spec2VolEstimator, load_model
from eeg2fmri.estimators import BACKING_RANK, RidgeBacking
from eeg2fmri.estimators._band_features import _band_power
from eeg2fmri.exceptions import BaselineWarning, ModelFileError

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _runs(ds):
    return ds.provenance["run_label"].to_numpy()


@pytest.fixture(scope="module")
def fitted(pairs):
    """The default recipe on a tiny network, with and without the backing."""
    out = {}
    for backing in (True, False):
        est = Spec2VolEstimator(
            "spec2vol-tiny", epochs=2, batch_size=8, device="cpu", random_state=0,
            frequencies=pairs.frequencies, ridge_backing=backing,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", BaselineWarning)
            out[backing] = est.fit(pairs.X, pairs.y, groups=pairs.groups,
                                   runs=_runs(pairs))
    return out


@pytest.fixture(scope="module")
def ridge(pairs):
    return BandPowerRidge(frequencies=pairs.frequencies).fit(
        pairs.X, pairs.y, groups=pairs.groups, runs=_runs(pairs)
    )


def test_untruncated_backing_is_the_ridge(pairs, ridge):
    """With every component kept, the backing predicts what the ridge predicts."""
    blend = np.zeros(ridge.output_shape_, dtype=bool)
    backing = RidgeBacking.from_ridge(ridge, blend, rank=10**6)
    X = np.asarray(pairs.X[:20])
    features = _band_power(X, ridge.input_shape_, ridge.band_weights_)
    expected = ridge._predict_model_units(features)
    np.testing.assert_allclose(backing.model_units(X), expected, rtol=1e-4,
                               atol=1e-4 * np.abs(expected).max())
    # and a network-free combination is the ridge's prediction in intensity
    pred = ridge.target_scaler_.to_prediction(
        backing.combine(np.zeros((20, *ridge.output_shape_), np.float32), X)
    )
    expected = ridge.predict(X)
    np.testing.assert_allclose(pred, expected, atol=1e-5 * np.abs(expected).max())


def test_truncation_keeps_the_leading_components(ridge):
    backing = RidgeBacking.from_ridge(ridge, np.ones(ridge.output_shape_, bool),
                                      rank=3)
    assert backing.rank == 3
    assert backing.feature_maps.shape == (ridge.pipeline_[0].mean_.size, 3)
    assert backing.voxel_maps.shape == (3, int(np.prod(ridge.output_shape_)))
    # the kept part of the coefficients is their best rank-3 approximation
    coef = ridge.coef_.astype(np.float64).T  # (n_features, n_voxels)
    approx = backing.feature_maps.astype(np.float64) @ backing.voxel_maps
    s = np.linalg.svd(coef, compute_uv=False)
    np.testing.assert_allclose(
        np.linalg.norm(coef - approx), np.sqrt(np.sum(s[3:] ** 2)), rtol=1e-3
    )


def test_default_predictions_combine_network_and_ridge(fitted, pairs):
    est = fitted[True]
    backing = est.ridge_backing_
    assert est.ridge_backing and backing.rank <= BACKING_RANK
    mask = est.signal_mask_
    np.testing.assert_array_equal(
        backing.blend, mask if mask is not None else np.zeros_like(backing.blend)
    )
    from eeg2fmri.estimators.training import predict_batches

    X = np.asarray(pairs.X[:16])
    network = predict_batches(est.model_, X, est._predict_config())
    ridge = backing.model_units(X).reshape(network.shape)
    expected = np.where(backing.blend, 0.5 * (network + ridge), ridge)
    np.testing.assert_allclose(
        est.predict(X), est.target_scaler_.to_prediction(expected), rtol=1e-5
    )
    # the check scored the combination and the network alone
    check = est.baseline_check_
    assert check["ridge_backing"] is True and "network_alone_r" in check


def test_without_backing_the_network_alone(fitted, pairs):
    alone, backed = fitted[False], fitted[True]
    assert alone.ridge_backing_ is None
    assert "network_alone_r" not in alone.baseline_check_
    # same network (same seed, same rows), different predictions
    for a, b in zip(alone.model_.parameters(), backed.model_.parameters(),
                    strict=True):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy())
    X = np.asarray(pairs.X[:16])
    assert np.abs(alone.predict(X) - backed.predict(X)).max() > 0


def test_backing_is_saved_and_loaded(fitted, pairs, tmp_path):
    est = fitted[True]
    est.save(tmp_path / "model")
    back = load_model(tmp_path / "model")
    assert back.ridge_backing_.rank == est.ridge_backing_.rank
    np.testing.assert_array_equal(back.ridge_backing_.blend, est.ridge_backing_.blend)
    X = np.asarray(pairs.X[:8])
    np.testing.assert_allclose(back.predict(X), est.predict(X), rtol=1e-5)


def test_a_broken_backing_is_refused(fitted, tmp_path):
    from safetensors import safe_open
    from safetensors.numpy import save_file

    fitted[True].save(tmp_path / "model")
    weights = next((tmp_path / "model").glob("*.safetensors"))
    with safe_open(weights, "np") as f:
        metadata = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    tensors["ridge_backing.intercept"] = tensors["ridge_backing.intercept"][:-1]
    save_file(tensors, weights, metadata=metadata)
    with pytest.raises(ModelFileError, match="ridge backing's 'intercept'"):
        load_model(tmp_path / "model")


def test_too_few_signal_voxels_gives_the_ridge(rng):
    """Noise only: no signal voxels, so the ridge alone predicts every voxel."""
    X = rng.random((60, 2, 4, 6)).astype("float32")
    y = rng.random((60, 2, 8, 8)).astype("float32")
    groups = np.repeat(np.arange(6), 10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BaselineWarning)
        est = Spec2VolEstimator("spec2vol-tiny", epochs=1, device="cpu",
                                random_state=0).fit(X, y, groups=groups)
    assert est.signal_mask_ is None and not est.ridge_backing_.blend.any()
    ridge_units = est.ridge_backing_.model_units(X).reshape(len(X), 2, 8, 8)
    np.testing.assert_allclose(
        est.predict(X), est.target_scaler_.to_prediction(ridge_units), rtol=1e-5
    )


def test_models_without_backing_still_load(fitted, tmp_path):
    """A file whose parameters predate ridge_backing loads as the network alone."""
    import json

    fitted[False].save(tmp_path / "model")
    desc_path = next((tmp_path / "model").glob("*.json"))
    desc = json.loads(desc_path.read_text())
    desc["params"].pop("ridge_backing")
    desc_path.write_text(json.dumps(desc))
    back = load_model(tmp_path / "model")
    assert back.ridge_backing is False and back.ridge_backing_ is None
