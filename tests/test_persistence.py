"""Saving, loading and pickling fitted estimators (safetensors + JSON, no pickle)."""

import json
import pickle

import joblib
import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from sklearn.base import clone

from eeg2fmri.estimators import MeanVolumeRegressor, Spec2VolEstimator
from eeg2fmri.exceptions import ModelFileError

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    return (
        rng.random((16, 2, 4, 6)).astype("float32"),
        (50 + 10 * rng.random((16, 2, 8, 8))).astype("float32"),
    )


@pytest.fixture(scope="module")
def fitted(data):
    X, y = data
    est = Spec2VolEstimator(
        "spec2vol-tiny",
        epochs=2,
        batch_size=8,
        validation_split=0,
        target_scaling="run",
        device="cpu",
        random_state=0,
    )
    est.fit(X, y)
    est.feature_params_ = {"n_freqs": 6, "n_context": 2}
    return est


def test_save_load_directory(tmp_path, data, fitted):
    X, _ = data
    json_path = fitted.save(tmp_path / "model")
    assert json_path == tmp_path / "model" / "estimator.json"
    assert (tmp_path / "model" / "weights.safetensors").is_file()
    desc = json.loads(json_path.read_text())
    assert (
        desc["format"] == "eeg2fmri-estimator" and desc["class"] == "Spec2VolEstimator"
    )
    assert desc["params"]["model"] == "spec2vol-tiny"
    assert desc["model_config"]["name"] == "spec2vol-tiny"
    scaling = desc["scalings"]["target_scaler_"]
    assert scaling["method"] == "run"
    assert scaling["lo"] == pytest.approx(fitted.target_scaler_.lo)
    assert len(desc["fitted"]["history_"]) == 2
    assert desc["feature_params"] == {"n_freqs": 6, "n_context": 2}
    assert "eeg2fmri_version" in desc
    loaded = Spec2VolEstimator.load(tmp_path / "model")
    np.testing.assert_allclose(loaded.predict(X), fitted.predict(X), rtol=1e-6)
    assert loaded.get_params() == fitted.get_params() | {"checkpoint_dir": None}
    assert loaded.history_ == fitted.history_
    assert loaded.feature_params_ == fitted.feature_params_


def test_save_load_file_pair(tmp_path, data, fitted):
    X, _ = data
    fitted.save(tmp_path / "m.safetensors")
    assert (tmp_path / "m.json").is_file()
    for p in ("m.safetensors", "m.json"):
        loaded = Spec2VolEstimator.load(tmp_path / p)
        np.testing.assert_allclose(loaded.predict(X), fitted.predict(X), rtol=1e-6)


def test_mean_volume_roundtrip(tmp_path, data):
    X, y = data
    base = MeanVolumeRegressor().fit(X, y)
    from eeg2fmri import load_model

    base.save(tmp_path / "base")
    np.testing.assert_allclose(
        load_model(tmp_path / "base").predict(X), base.predict(X), rtol=1e-6
    )
    with pytest.raises(ModelFileError, match="holds a MeanVolumeRegressor"):
        Spec2VolEstimator.load(tmp_path / "base")


def test_refuses_foreign_files(tmp_path, fitted):
    with pytest.raises(ModelFileError, match="not found"):
        Spec2VolEstimator.load(tmp_path / "nothing")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ModelFileError, match="not valid JSON"):
        Spec2VolEstimator.load(bad)
    bad.write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(ModelFileError, match="not written by eeg2fmri"):
        Spec2VolEstimator.load(bad)
    # a valid JSON next to safetensors weights without our marker
    good = fitted.save(tmp_path / "ok")
    save_file({"x": torch.zeros(2)}, tmp_path / "ok" / "weights.safetensors")
    with pytest.raises(ModelFileError, match="no 'eeg2fmri-estimator' marker"):
        Spec2VolEstimator.load(good)
    # a pickle renamed to .safetensors is not read as one
    fitted.save(tmp_path / "ok2")
    (tmp_path / "ok2" / "weights.safetensors").write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(ModelFileError, match="not a valid safetensors file"):
        Spec2VolEstimator.load(tmp_path / "ok2")
    # weights that do not fit the architecture
    p = fitted.save(tmp_path / "ok3")
    desc = json.loads(p.read_text())
    desc["model_config"]["hidden_dim"] = 32
    p.write_text(json.dumps(desc))
    with pytest.raises(ModelFileError, match="do not fit the model configuration"):
        Spec2VolEstimator.load(p)


def test_pickle_joblib_clone(tmp_path, data, fitted):
    X, _ = data
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_allclose(restored.predict(X), fitted.predict(X), rtol=1e-6)
    state = fitted.__getstate__()
    assert isinstance(state["model_"]["state_dict"], dict)
    assert all(
        isinstance(v, np.ndarray) for v in state["model_"]["state_dict"].values()
    )
    joblib.dump(fitted, tmp_path / "est.joblib")
    np.testing.assert_allclose(
        joblib.load(tmp_path / "est.joblib").predict(X), fitted.predict(X), rtol=1e-6
    )
    fresh = clone(fitted)
    assert not hasattr(fresh, "model_") and fresh.get_params() == fitted.get_params()


def test_save_before_fit(tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        Spec2VolEstimator().save(tmp_path / "x")
