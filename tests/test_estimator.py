"""Tests of Spec2VolEstimator / MeanVolumeRegressor: training, units, errors, resume."""

import functools
import importlib.util
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError

from eeg2fmri.estimators import MeanVolumeRegressor, Spec2VolEstimator
from eeg2fmri.estimators import training as _training
from eeg2fmri.exceptions import DataError
from eeg2fmri.metrics import SCORERS, comparable_volumes, ssim_per_volume

pytestmark = pytest.mark.usefixtures("one_torch_thread")


_spec = importlib.util.spec_from_file_location(
    "toy_data", Path(__file__).with_name("toy_data.py")
)
toy_data = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(toy_data)
toy = toy_data.state_blobs


def tiny(**kw):
    params = dict(
        model="spec2vol-tiny",
        epochs=2,
        batch_size=8,
        validation_split=0,
        device="cpu",
        random_state=0,
    )
    params.update(kw)
    return Spec2VolEstimator(**params)


class LazyArray:
    """Array-like that only allows integer-array indexing and records row counts."""

    def __init__(self, data):
        self._data = data
        self.shape, self.dtype = data.shape, data.dtype
        self.max_rows = 0

    def __len__(self):
        return len(self._data)

    def __getitem__(self, idx):
        idx = np.asarray(idx) if not isinstance(idx, slice) else idx
        out = self._data[idx]
        self.max_rows = max(self.max_rows, len(out))
        return np.array(out)

    def __array__(self, *args, **kwargs):
        raise AssertionError("the estimator materialised a lazy array")


def _state(est):
    return {k: v.detach().clone() for k, v in est.model_.state_dict().items()}


def _assert_same_weights(a, b):
    sa, sb = _state(a), _state(b)
    assert sa.keys() == sb.keys()
    for k in sa:
        torch.testing.assert_close(sa[k], sb[k], rtol=0, atol=0, msg=k)


# --------------------------------------------------------------------- basic behaviour


def test_fit_predict_default_units():
    X, y = toy(24, 0)
    est = tiny().fit(X, y)
    pred = est.predict(X)
    assert pred.shape == y.shape and pred.dtype == np.float32
    assert est.input_shape_ == (2, 4, 6) and est.output_shape_ == (2, 8, 8)
    assert est.n_features_in_ == 48 and est.best_epoch_ == 2
    assert [h["epoch"] for h in est.history_] == [1, 2]
    assert set(est.history_[0]) == {
        "epoch",
        "train_loss",
        "val_loss",
        "val_temporal_r",
        "val_ssim",
        "val_psnr",
        "lr",
        "seconds",
    }
    # inputs standardized per (channel, frequency) with the training statistics
    np.testing.assert_allclose(est.input_scaler_.mean, X.mean(axis=(0, 1)), atol=1e-6)
    np.testing.assert_allclose(est.input_scaler_.std, X.std(axis=(0, 1)), rtol=1e-4)
    # targets standardized per voxel (one run here); predictions back in y's units
    np.testing.assert_allclose(est.target_scaler_.location, y.mean(0), rtol=1e-5)
    np.testing.assert_allclose(est.target_scaler_.scale, y.std(0), rtol=1e-4)
    np.testing.assert_allclose(est.target_mean_, 0, atol=1e-5)
    assert abs(pred.mean() - y.mean()) < 1.0
    assert -1 <= est.score(X, y) <= 1


def test_official_recipe_volume_units():
    X, y = toy(24, 0)
    official = Spec2VolEstimator.official()
    assert official.model == "spec2vol" and official.loss == "hybrid"
    assert (official.input_scaling, official.target_scaling) == ("minmax", "volume")
    assert (official.selection, official.lr_schedule) == ("ssim", "cosine-restarts")
    assert official.target_offset is None and official.epochs == 50
    est = Spec2VolEstimator.official(
        model="spec2vol-tiny",
        epochs=2,
        batch_size=8,
        validation_split=0,
        device="cpu",
        random_state=0,
    ).fit(X, y)
    assert est.input_scaler_.lo == pytest.approx(X.min())
    assert est.input_scaler_.hi == pytest.approx(X.max())
    # per-volume units: predictions are near [0, 1], far from the scanner units of y
    assert np.abs(est.predict(X)).max() < 10
    assert 0 < SCORERS["ssim"](est, X, y) <= 1


def test_run_scaling_predicts_in_input_units():
    X, y = toy(24, 0)
    est = tiny(target_scaling="run").fit(X, y)
    assert est.target_scaler_.lo == pytest.approx(y.min())
    assert est.target_scaler_.hi == pytest.approx(y.max())
    pred = est.predict(X)
    assert 50 < pred.mean() < 200  # back in the units of y
    # SSIM/PSNR compare volumes in the paper's units: each min-max scaled to [0, 1]
    y_true, y_pred = comparable_volumes(est, y, pred, kind="metric")
    assert y_true.min() == pytest.approx(0) and y_true.max() == pytest.approx(1)
    assert y_pred.min() == pytest.approx(0) and y_pred.max() == pytest.approx(1)


def test_learning_beats_mean_volume():
    X, y = toy(128, 0)
    Xt, yt = toy(48, 1)
    est = tiny(epochs=12, batch_size=16).fit(X, y)
    base = MeanVolumeRegressor().fit(X, y)
    assert est.history_[-1]["train_loss"] < 0.5 * est.history_[0]["train_loss"]
    assert base.score(Xt, yt) == 0.0  # a constant does not follow the fluctuations
    assert est.score(Xt, yt) > 0.5
    assert SCORERS["neg_mse"](est, Xt, yt) > 2 * SCORERS["neg_mse"](base, Xt, yt)


def test_reproducible_weights():
    X, y = toy(24, 0)
    a = tiny(epochs=2).fit(X, y)
    b = tiny(epochs=2).fit(X, y)
    _assert_same_weights(a, b)
    np.testing.assert_allclose(a.predict(X), b.predict(X), rtol=1e-6)
    c = tiny(epochs=2, random_state=1).fit(X, y)
    assert not np.array_equal(a.predict(X), c.predict(X))


def test_verbose_logs_each_epoch(caplog):
    X, y = toy(16, 0)
    with caplog.at_level("INFO", logger="eeg2fmri"):
        tiny(epochs=2, verbose=1).fit(X, y)
    epochs = [r.getMessage() for r in caplog.records if "train_loss=" in r.getMessage()]
    assert len(epochs) == 2 and epochs[0].startswith("epoch 1/2 train_loss=")


def test_global_torch_rng_untouched():
    X, y = toy(16, 0)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    tiny(epochs=1).fit(X, y)
    torch.testing.assert_close(torch.rand(3), expected)


def test_lazy_inputs_are_read_in_batches():
    X, y = toy(40, 0)
    lx, ly = LazyArray(X), LazyArray(y)
    est = tiny(batch_size=8).fit(lx, ly)
    np.testing.assert_allclose(
        est.predict(LazyArray(X)),
        tiny(batch_size=8).fit(X, y).predict(X),
        rtol=1e-6,
        atol=1e-6,
    )
    assert lx.max_rows <= 256 and ly.max_rows <= 256


def test_memmap_inputs(tmp_path):
    X, y = toy(16, 0)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    Xm = np.load(tmp_path / "X.npy", mmap_mode="r")
    ym = np.load(tmp_path / "y.npy", mmap_mode="r")
    np.testing.assert_allclose(
        tiny().fit(Xm, ym).predict(Xm), tiny().fit(X, y).predict(X), rtol=1e-6
    )


def test_flattened_inputs_with_shapes():
    X, y = toy(16, 0)
    est = tiny(input_shape=(2, 4, 6), output_shape=(2, 8, 8))
    pred = est.fit(X.reshape(16, -1), y.reshape(16, -1)).predict(X.reshape(16, -1))
    assert pred.shape == (16, 128) and pred.dtype == np.float64
    np.testing.assert_allclose(
        pred.reshape(y.shape), tiny().fit(X, y).predict(X), rtol=1e-5, atol=1e-5
    )
    # 4-D X is accepted at predict time by an estimator fitted on flattened X
    np.testing.assert_allclose(est.predict(X), pred, rtol=1e-6)
    scorer = SCORERS["temporal_correlation"]
    assert scorer(est, X.reshape(16, -1), y.reshape(16, -1)) == pytest.approx(
        est.score(X, y)
    )


def test_one_dimensional_y():
    rng = np.random.default_rng(0)
    X, y = rng.random((20, 5)), rng.random(20)
    est = tiny(target_scaling="run").fit(X, y)
    assert est.input_shape_ == (1, 1, 5) and est.output_shape_ == (1, 1, 1)
    assert est.predict(X).shape == (20,)


# --------------------------------------------------------------- validation / selection


def test_group_validation_split_and_warning():
    X, y = toy(30, 0)
    groups = np.repeat(["01", "02", "03"], 10)
    est = tiny(validation_split=0.34).fit(X, y, groups=groups)
    assert len(est.validation_groups_) == 1 and est.validation_groups_[0] in groups
    # the validation fit's history has the validation scores; the refit on every
    # participant (the final model) has none
    assert all(h["val_ssim"] is not None for h in est.validation_history_)
    assert est.refitted_ and all(h["val_ssim"] is None for h in est.history_)
    again = tiny(validation_split=0.34).fit(X, y, groups=groups)
    assert again.validation_groups_ == est.validation_groups_
    with pytest.warns(UserWarning, match="neighbouring volumes are correlated"):
        tiny(validation_split=0.2).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tiny(validation_split=0).fit(X, y)


def _scripted_validation(monkeypatch, scores):
    it = iter(scores)

    def validate(*args, **kwargs):
        r = next(it)
        return {"val_loss": 1 - r, "val_temporal_r": r, "val_ssim": r, "val_psnr": 20.0}

    monkeypatch.setattr(_training, "_validate", validate)


def test_best_epoch_restored(monkeypatch):
    X, y = toy(16, 0)
    seen = {}
    real_hook = _training._epoch_end_hook
    est = tiny(epochs=3, validation_split=0.25, selection="temporal_r", refit=False,
               baseline_check=False)

    def hook(epoch):
        seen[epoch] = {k: v.clone() for k, v in captured["model"].state_dict().items()}
        real_hook(epoch)

    captured = {}
    real_train = _training.train_model

    def train(model, *args):
        captured["model"] = model
        return real_train(model, *args)

    monkeypatch.setattr(_training, "_epoch_end_hook", hook)
    monkeypatch.setattr(_training, "train_model", train)
    _scripted_validation(monkeypatch, [0.1, 0.9, 0.2])
    with pytest.warns(UserWarning):
        est.fit(X, y)
    assert est.best_epoch_ == 2
    for k, v in est.model_.state_dict().items():
        torch.testing.assert_close(v, seen[2][k], rtol=0, atol=0)
    assert not torch.equal(
        next(iter(seen[3].values())), next(iter(seen[2].values()))
    ) or any(not torch.equal(seen[3][k], seen[2][k]) for k in seen[2])


def test_early_stopping(monkeypatch):
    X, y = toy(16, 0)
    _scripted_validation(monkeypatch, [0.5, 0.4, 0.3, 0.2, 0.1])
    with pytest.warns(UserWarning):
        est = tiny(
            epochs=5, validation_split=0.25, early_stopping=True, n_iter_no_change=2,
            selection="temporal_r", refit=False, baseline_check=False,
        ).fit(X, y)
    assert len(est.history_) == 3 and est.best_epoch_ == 1


def test_learning_rate_schedule_restarts():
    X, y = toy(16, 0)
    est = tiny(
        epochs=3,
        restart_epochs=2,
        lr=1e-2,
        batch_size=4,
        warmup_steps=0,
        lr_schedule="cosine-restarts",
    ).fit(X, y)
    lrs = [h["lr"] for h in est.history_]
    # end of epoch 1: half-way down the cosine; end of epoch 2: restart at the peak
    np.testing.assert_allclose(lrs, [5e-3, 1e-2, 5e-3], rtol=1e-6)


def test_learning_rate_warmup_and_cosine():
    factor = functools.partial(
        _training.lr_factor,
        schedule="cosine",
        total_steps=100,
        steps_per_epoch=10,
        warmup_steps=50,
    )
    # the warm-up is capped at a tenth of the steps: 10 here, not 50
    np.testing.assert_allclose(
        [factor(0), factor(4), factor(9)],
        [0.1, 0.5 * 0.5 * (1 + np.cos(np.pi * 0.04)), 0.5 * (1 + np.cos(np.pi * 0.09))],
    )
    assert factor(50) == pytest.approx(0.5) and factor(100) == pytest.approx(0.0)
    assert (
        _training.lr_factor(7, schedule="constant", total_steps=100, steps_per_epoch=10)
        == 1.0
    )
    X, y = toy(16, 0)
    est = tiny(epochs=4, lr=1e-2, batch_size=4, warmup_steps=0).fit(X, y)
    np.testing.assert_allclose(
        [h["lr"] for h in est.history_],
        [1e-2 * 0.5 * (1 + np.cos(np.pi * e / 4)) for e in (1, 2, 3, 4)],
        atol=1e-9,
    )


# ------------------------------------------------------------------ checkpoints/resume


class _Interrupt(Exception):
    pass


def test_interrupted_fit_resumes(tmp_path, monkeypatch):
    X, y = toy(24, 0)
    params = dict(epochs=4, restart_epochs=3, checkpoint_dir=tmp_path / "ckpt")
    reference = tiny(epochs=4, restart_epochs=3).fit(X, y)

    def interrupt(epoch):
        if epoch == 2:
            raise _Interrupt

    monkeypatch.setattr(_training, "_epoch_end_hook", interrupt)
    with pytest.raises(_Interrupt):
        tiny(**params).fit(X, y)
    files = sorted(p.name for p in (tmp_path / "ckpt").iterdir())
    assert files == [
        "checkpoint.json",
        "last-epoch0002.optim.pt",
        "last-epoch0002.safetensors",
    ]
    monkeypatch.undo()
    resumed = tiny(**params).fit(X, y)
    assert [h["epoch"] for h in resumed.history_] == [1, 2, 3, 4]
    _assert_same_weights(resumed, reference)
    # a finished checkpoint is reused without training again
    again = tiny(**params).fit(X, y)
    _assert_same_weights(again, reference)
    # another problem in the same folder starts over
    other = tiny(**{**params, "lr": 2e-3}).fit(X, y)
    assert not np.array_equal(other.predict(X), reference.predict(X))


def test_warm_start_continues():
    X, y = toy(24, 0)
    est = tiny(epochs=1, warm_start=True).fit(X, y)
    first = est.predict(X)
    scaling = est.input_scaler_
    est.fit(X[:12], y[:12])  # other data: the statistics of the first fit are kept
    assert est.input_scaler_ is scaling
    assert not np.array_equal(first, est.predict(X))


# ----------------------------------------------------------------------- bad input


def test_bad_inputs():
    X, y = toy(8, 0)
    est = tiny()
    with pytest.raises(ValueError, match=r"X must have shape \(n_samples, n_context"):
        est.fit(X[:, 0], y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        est.fit(X, y[:-1])
    Xn = X.copy()
    Xn[3, 0, 0, 0] = np.nan
    with pytest.raises(DataError, match="X contains NaN"):
        est.fit(Xn, y)
    yi = y.copy()
    yi[0, 0, 0, 0] = np.inf
    with pytest.raises(DataError, match="y contains infinite"):
        est.fit(X, yi)
    with pytest.raises(ValueError, match="cannot produce volumes of that shape"):
        tiny(output_shape=(2, 8, 9)).fit(X, y)
    with pytest.raises(ValueError, match="cannot produce targets of that shape"):
        tiny(output_shape=(2, 8, 9)).fit(X, y.reshape(8, -1))
    with pytest.raises(ValueError, match=r"y must have shape \(n_samples, D, H, W\)"):
        est.fit(X, y[:, 0])
    with pytest.raises(ValueError, match="Did you mean 'spec2vol-tiny'"):
        Spec2VolEstimator("spec2vol-tinyy").fit(X, y)
    with pytest.raises(ValueError, match="'epochs' parameter of Spec2VolEstimator"):
        tiny(epochs=0).fit(X, y)
    with pytest.raises(ValueError, match="'target_scaling' parameter"):
        tiny(target_scaling="subject").fit(X, y)
    with pytest.raises(ValueError, match="groups must have shape"):
        tiny(validation_split=0.2).fit(X, y, groups=[1, 2])
    with pytest.raises(NotFittedError):
        est.predict(X)
    est.fit(X, y)
    with pytest.raises(ValueError, match=r"fitted on samples of shape \(2, 4, 6\)"):
        est.predict(X[:, :, :3])


def test_model_config_dict_and_shape_mismatch():
    X, y = toy(8, 0)
    est = tiny().fit(X, y)
    cfg = est.model_config_
    again = tiny(model=cfg).fit(X, y)
    assert again.model_config_ == cfg
    with pytest.raises(ValueError, match=r"produces volumes of shape \(2, 8, 8\)"):
        tiny(model=cfg).fit(X, y[:, :, :4, :4])


# ------------------------------------------------------------------------ baseline


def test_mean_volume_regressor():
    X, y = toy(10, 0)
    base = MeanVolumeRegressor(target_scaling="volume").fit(X, y)
    flat = y.reshape(10, -1)
    scaled = (flat - flat.min(1, keepdims=True)) / np.ptp(flat, axis=1, keepdims=True)
    np.testing.assert_allclose(
        base.mean_volume_, scaled.mean(0).reshape(2, 8, 8), rtol=1e-5, atol=1e-6
    )
    pred = base.predict(X[:3])
    assert pred.shape == (3, 2, 8, 8)
    yt, yp = comparable_volumes(base, y, base.predict(X), kind="metric")
    assert SCORERS["ssim"](base, X, y) == pytest.approx(ssim_per_volume(yt, yp).mean())
    assert base.score(X, y) == 0.0
    run = MeanVolumeRegressor(target_scaling="run").fit(X, y)
    np.testing.assert_allclose(run.predict(X[:1])[0], y.mean(0), rtol=1e-5)
    # zscore (default): the mean of the runs' mean volumes, in the units of y
    runs = np.repeat(["a", "b"], 5)
    z = MeanVolumeRegressor().fit(X, y, runs=runs)
    expected = (y[:5].mean(0) + y[5:].mean(0)) / 2
    np.testing.assert_allclose(z.predict(X[:1])[0], expected, rtol=1e-5)
    np.testing.assert_allclose(z.mean_volume_, 0, atol=1e-5)


# -------------------------------------------------------------- torchrun / DDP


_DDP_SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    import torch
    torch.set_num_threads(1)
    sys.path.insert(0, {tests!r})
    from test_estimator import toy
    from eeg2fmri.estimators import Spec2VolEstimator

    X, y = toy(32, 0)
    est = Spec2VolEstimator("spec2vol-tiny", model_params={{"drop_path_rate": 0.0}},
                            epochs=2, batch_size=8, validation_split=0, device="cpu",
                            random_state=0).fit(X, y)
    if int(__import__("os").environ["RANK"]) == 0:
        np.save(sys.argv[1], est.predict(X))
    """
)


@pytest.mark.slow
def test_torchrun_matches_single_process(tmp_path):
    script = tmp_path / "ddp_fit.py"
    script.write_text(_DDP_SCRIPT.format(tests=os.path.dirname(__file__)))
    out = tmp_path / "pred.npy"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc-per-node",
            "2",
            str(script),
            str(out),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    X, y = toy(32, 0)
    single = Spec2VolEstimator(
        "spec2vol-tiny",
        model_params={"drop_path_rate": 0.0},
        epochs=2,
        batch_size=8,
        validation_split=0,
        device="cpu",
        random_state=0,
    ).fit(X, y)
    # float summation order differs (per-rank gradients are averaged), and Adam's
    # normalisation amplifies that for near-zero gradients: equal to ~1e-3
    ddp, ref = np.load(out), single.predict(X)
    np.testing.assert_allclose(ddp, ref, rtol=0, atol=3e-3)
    assert np.abs(ddp - ref).mean() < 1e-4
    other_seed = (
        Spec2VolEstimator(
            "spec2vol-tiny",
            model_params={"drop_path_rate": 0.0},
            epochs=2,
            batch_size=8,
            validation_split=0,
            device="cpu",
            random_state=1,
        )
        .fit(X, y)
        .predict(X)
    )
    assert np.abs(other_seed - ref).mean() > 100 * np.abs(ddp - ref).mean()


# ------------------------------------------------------------------ target offset


def test_target_offset_mean_starts_from_the_baseline():
    """Residual learning: a few epochs already score at least the mean volume."""
    X, y = toy(64, 0)
    Xt, yt = toy(32, 1)
    ssim = SCORERS["ssim"]
    base = MeanVolumeRegressor(target_scaling="volume").fit(X, y)
    floor = ssim(base, Xt, yt) - 0.02
    for seed in (0, 1):
        est = tiny(epochs=2, random_state=seed, target_scaling="volume").fit(X, y)
        assert est.target_offset == "mean"
        np.testing.assert_allclose(est.target_mean_, base.mean_volume_, atol=1e-6)
        assert ssim(est, Xt, yt) >= floor
    # the official raw outputs (no offset) start from noise, far below the baseline
    raw = tiny(epochs=2, target_offset=None, target_scaling="volume",
               ridge_backing=False).fit(X, y)
    assert raw.target_mean_ is None
    assert ssim(raw, Xt, yt) < floor
    # run scaling: the offset is the mean in [0, 1] units; predictions in y units
    run = tiny(epochs=1, target_scaling="run").fit(X, y)
    run_base = MeanVolumeRegressor(target_scaling="run").fit(X, y)
    np.testing.assert_allclose(run.target_mean_, run_base.mean_volume_, atol=1e-6)
    assert ssim(run, Xt, yt) >= ssim(run_base, Xt, yt) - 0.02
    assert 50 < run.predict(Xt).mean() < 200


def test_statistics_come_from_training_participants_only(sim_bids):
    """No leakage: input, target and offset statistics ignore validation rows."""
    from eeg2fmri.estimators.scaling import (
        fit_input_scaling,
        fit_target_scaling,
        run_codes,
    )
    from eeg2fmri.features import FeatureParams, build_dataset

    ds = build_dataset(sim_bids, FeatureParams(n_context=4, n_freqs=32))
    runs = ds.provenance["run_label"].to_numpy()
    # the model trained without the validation participants (refit=False; a refit
    # trains on all of them, tests/test_baseline_check.py)
    est = tiny(epochs=1, validation_split=0.34, refit=False, baseline_check=False,
               selection="temporal_r").fit(ds.X, ds.y, groups=ds.groups, runs=runs)
    rows = np.flatnonzero(~np.isin(ds.groups, est.validation_groups_))
    assert len(rows) < len(ds)
    expected_in = fit_input_scaling(ds.X, rows, "standard", est.input_shape_)
    np.testing.assert_allclose(est.input_scaler_.mean, expected_in.mean, rtol=1e-6)
    np.testing.assert_allclose(est.input_scaler_.std, expected_in.std, rtol=1e-6)
    codes, _ = run_codes(runs, len(ds))
    expected = fit_target_scaling(ds.y, rows, "zscore", est.output_shape_, codes=codes)
    np.testing.assert_allclose(
        est.target_scaler_.location, expected.location, rtol=1e-6
    )
    np.testing.assert_allclose(est.target_scaler_.scale, expected.scale, rtol=1e-6)
    # and they differ from statistics that include the validation participant
    everything = fit_input_scaling(
        ds.X, np.arange(len(ds)), "standard", est.input_shape_
    )
    assert not np.allclose(everything.mean, est.input_scaler_.mean)
    means = [np.asarray(ds.y)[runs == r].mean(0) for r in sorted(set(runs[rows]))]
    np.testing.assert_allclose(
        est.target_scaler_.location, np.mean(means, axis=0), rtol=1e-5
    )


def test_target_offset_persistence_and_sigmoid_models(tmp_path):
    import json
    import pickle

    X, y = toy(16, 0)
    est = tiny(epochs=1, target_scaling="volume").fit(X, y)
    est.save(tmp_path / "m")
    loaded = Spec2VolEstimator.load(tmp_path / "m")
    assert loaded.target_offset == "mean"
    np.testing.assert_array_equal(loaded.target_mean_, est.target_mean_)
    np.testing.assert_allclose(loaded.predict(X), est.predict(X), rtol=1e-6)
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(restored.target_mean_, est.target_mean_)
    np.testing.assert_allclose(restored.predict(X), est.predict(X), rtol=1e-6)
    # a file of format 1 (before the scalings were parameters): the recipe it was
    # trained with (min-max inputs, raw outputs) is restored
    raw = tiny(
        epochs=1, target_offset=None, target_scaling="volume", input_scaling="minmax"
    ).fit(X, y)
    path = raw.save(tmp_path / "raw")
    desc = json.loads(path.read_text())
    desc["format_version"] = 1
    for key in ("target_offset", "input_scaling", "loss", "selection"):
        del desc["params"][key]
    desc["fitted"].update(
        eeg_min_=raw.input_scaler_.lo,
        eeg_max_=raw.input_scaler_.hi,
        target_min_=None,
        target_max_=None,
    )
    del desc["scalings"]
    path.write_text(json.dumps(desc))
    old = Spec2VolEstimator.load(tmp_path / "raw")
    assert old.target_offset is None and old.target_mean_ is None
    assert old.input_scaling == "minmax" and old.loss == "hybrid"
    np.testing.assert_allclose(old.predict(X), raw.predict(X), rtol=1e-6)
    # a bounded (sigmoid) output cannot hold a residual: no offset is applied
    e2f = tiny(model="e2fnet-tiny", epochs=1, target_scaling="volume").fit(X, y)
    assert e2f.target_mean_ is None
    # ... nor predict standardized targets: by default it gets a linear output
    e2f = tiny(model="e2fnet-tiny", epochs=1).fit(X, y)
    assert e2f.model_config_["output_activation"] is None
    assert e2f.target_mean_ is not None
    with pytest.raises(ValueError, match="cannot predict target_scaling='zscore'"):
        tiny(
            model="e2fnet-tiny", epochs=1, model_params={"output_activation": "sigmoid"}
        ).fit(X, y)
    with pytest.raises(ValueError, match="'target_offset' parameter"):
        tiny(target_offset="median").fit(X, y)
