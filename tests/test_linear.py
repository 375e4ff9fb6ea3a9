"""Linear baselines (eeg2fmri.estimators): band-power ridge and reduced-rank ridge."""

import doctest
import json
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import Ridge
from sklearn.model_selection import GroupKFold, LeaveOneGroupOut, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import eeg2fmri.estimators._band_features
import eeg2fmri.estimators.reduced_rank
import eeg2fmri.estimators.ridge
from eeg2fmri import load_model
from eeg2fmri.estimators import (
    DEFAULT_ALPHAS,
    BandPowerRidge,
    InteractionRidge,
    MeanVolumeRegressor,
    ReducedRankRidge,
    Spec2VolEstimator,
)
from eeg2fmri.exceptions import DataError, ModelFileError
from eeg2fmri.features import FeatureParams, build_dataset
from eeg2fmri.metrics import SCORERS, mean_temporal_correlation

FREQS = np.arange(1.0, 41.0)  # 40 bins at 1..40 Hz: the 45-70 Hz band is empty
GROUPS = np.repeat(["01", "02", "03"], 30)


def _band(X, lo, hi):
    """Mean of X (n, T, C, F) over the bins lo <= f < hi of FREQS: (n, T, C)."""
    sel = (FREQS >= lo) & (FREQS < hi)
    return X[..., sel].mean(axis=-1)


def _planted(rank=2, noise=0.3, seed=0):
    """X (90, 2, 4, 40) and volumes (90, 2, 3, 4) linear in band power + noise."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(90, 2, 4, 40))
    drivers = [
        _band(X, 8, 13)[:, 0, 1],  # alpha power, context window 0, channel 1
        _band(X, 13, 20)[:, 1, 2] - _band(X, 4, 8)[:, 0, 0],
    ][:rank]
    patterns = rng.normal(size=(rank, 2, 3, 4))
    signal = sum(
        d[:, None, None, None] * p for d, p in zip(drivers, patterns, strict=True)
    )
    y = 100 + 3 * signal + noise * rng.normal(size=(90, 2, 3, 4))
    return X, y


def _held_out_r(est, X, y):
    """Fit on participants 01 and 02, mean temporal r on participant 03."""
    train = GROUPS != "03"
    est.fit(X[train], y[train], groups=GROUPS[train])
    return mean_temporal_correlation(y[~train], est.predict(X[~train]))


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    """Tiny matrices: threaded BLAS only waits for the other threads (shared CPU)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture(scope="module")
def ds(sim_bids, tmp_path_factory):
    """Lazy pairs of the simulated dataset (3 participants, 30 pairs each)."""
    work = tmp_path_factory.mktemp("linear_work")
    return build_dataset(sim_bids, FeatureParams(n_context=4), work_dir=work)


@pytest.fixture(scope="module")
def fitted_ds(ds):
    """BandPowerRidge fitted on participants 01 and 02 of the simulated dataset."""
    train = np.flatnonzero(ds.groups != "03")
    runs = ds.provenance["run_label"].to_numpy(dtype=str)
    est = BandPowerRidge(frequencies=ds.frequencies)
    est.fit(ds.X[train], ds.y[train], groups=ds.groups[train], runs=runs[train])
    return est, train


# ------------------------------------------------------------------- the models


def test_band_power_ridge_recovers_planted_relation():
    X, y = _planted(rank=2)
    est = BandPowerRidge(frequencies=FREQS)
    assert _held_out_r(est, X, y) > 0.8
    assert est.feature_shape_ == (2, 4, 6)  # the empty 45-70 Hz band is skipped
    defaults = eeg2fmri.estimators.DEFAULT_BANDS
    assert est.bands_.tolist() == [list(b) for b in defaults[:6]]
    # a planted relation beats the mean-volume baseline, which scores 0
    base = MeanVolumeRegressor().fit(X[:60], y[:60], groups=GROUPS[:60])
    assert base.score(X[60:], y[60:]) == 0
    assert est.score(X[60:], y[60:]) > 0.8


def test_reduced_rank_ridge_picks_a_small_rank_for_a_rank_one_truth():
    X, y = _planted(rank=1)
    est = ReducedRankRidge(frequencies=FREQS, ranks=(1, 2, 4, 8))
    assert _held_out_r(est, X, y) > 0.8
    assert est.rank_ == 1
    assert set(est.cv_scores_) == {(a, k) for a in DEFAULT_ALPHAS for k in (1, 2, 4, 8)}
    assert est.best_score_ == est.cv_scores_[(est.alpha_, 1)]
    # the spatial map is orthonormal and the coefficients have rank 1
    assert est.components_.shape == (1, 24)
    np.testing.assert_allclose(est.components_ @ est.components_.T, [[1.0]], atol=1e-5)
    assert est.pipeline_[-1].coef_.shape == (1, 2 * 4 * 6)
    assert np.linalg.matrix_rank(est.coef_.astype(np.float64), tol=1e-4) == 1


def test_reduced_rank_ridge_finds_the_rank_of_a_rank_two_truth():
    X, y = _planted(rank=2, noise=0.1)
    est = ReducedRankRidge(frequencies=FREQS, ranks=(1, 2, 4, 8))
    assert _held_out_r(est, X, y) > 0.9
    assert est.rank_ == 2



def _switched(seed=0, noise=0.3):
    """X (90, 1, 2, 40); voxels follow alpha power times theta power (channel 1)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(90, 1, 2, 40))
    alpha, theta = _band(X, 8, 13)[:, 0, 1], _band(X, 4, 8)[:, 0, 1]
    drive = alpha * theta  # a theta-dependent alpha weight (a "state")
    pattern = rng.normal(size=(1, 2, 3, 4))
    y = 100 + 3 * drive[:, None, None, None] * pattern
    return X, y + noise * rng.normal(size=y.shape)


def test_interaction_ridge_features():
    X, y = _planted()
    est = InteractionRidge(frequencies=FREQS, alphas=10.0).fit(X, y, groups=GROUPS)
    assert est.feature_shape_ == (2, 4, 6 + 21)  # 6 bands, 21 products
    assert est.pipeline_[-1].coef_.shape[-1] == 2 * 4 * 27
    assert est.interaction_mean_.shape == est.interaction_std_.shape == (48,)
    assert est.interaction_scale_ == 1.0  # one penalty: no cross-validation
    # the first B features of a cell are the band powers, then z_i * z_j (i <= j)
    bp = _band(X, 1, 4)  # delta
    feats = est._features(
        eeg2fmri.estimators._band_features._band_power(
            X, est.input_shape_, est.band_weights_
        ), 6
    ).reshape(90, 2, 4, 27)
    np.testing.assert_allclose(feats[..., 0], bp)
    z = (bp - bp.mean(axis=0)) / bp.std(axis=0)
    np.testing.assert_allclose(feats[..., 6], z * z)  # (0, 0)


def test_interaction_ridge_follows_a_switched_band_weight():
    """Ridge on band power cannot follow alpha x theta; with interactions it can."""
    X, y = _switched()
    linear = _held_out_r(BandPowerRidge(frequencies=FREQS), X, y)
    est = InteractionRidge(frequencies=FREQS)
    nonlinear = _held_out_r(est, X, y)
    assert linear < 0.2 and nonlinear > linear + 0.4
    assert est.interaction_scale_ > 0 and set(est.interaction_cv_scores_) == {
        0.0, 0.3, 1.0
    }


def test_interaction_ridge_on_a_linear_truth_stays_close_to_ridge():
    X, y = _planted(rank=2)
    linear = _held_out_r(BandPowerRidge(frequencies=FREQS), X, y)
    est = InteractionRidge(frequencies=FREQS)
    nonlinear = _held_out_r(est, X, y)
    assert nonlinear > linear - 0.02
    # weight 0 is the band-power ridge itself
    zero = InteractionRidge(frequencies=FREQS, interaction_scales=0.0)
    np.testing.assert_allclose(
        _held_out_r(zero, X, y), linear, atol=1e-6
    )


def _manual_cv_scores(features, Y, groups, alphas, rank=None):
    """Fold-averaged held-out r of Pipeline(StandardScaler, Ridge) per alpha."""
    out = {}
    for alpha in alphas:
        rs = []
        for tr, te in GroupKFold(n_splits=3).split(features, None, groups):
            pipe = make_pipeline(StandardScaler(), Ridge(alpha=alpha))
            pipe.fit(features[tr], Y[tr])
            pred = pipe.predict(features[te])
            if rank is not None:  # project on the fold's fitted values only
                fitted = pipe.predict(features[tr])
                V = np.linalg.svd(fitted - fitted.mean(0), full_matrices=False)[2]
                pred = (pred - pipe[-1].intercept_) @ V[:rank].T @ V[:rank]
            rs.append(
                mean_temporal_correlation(
                    Y[te].reshape(len(te), 1, 1, -1), pred.reshape(len(te), 1, 1, -1)
                )
            )
        out[alpha] = np.mean(rs)
    return out


@pytest.mark.parametrize("cls", [BandPowerRidge, ReducedRankRidge])
def test_cv_scores_are_group_wise_pipeline_scores(cls):
    """Closed-form CV == StandardScaler + Ridge refitted in each participant fold."""
    X, y = _planted(rank=2, noise=2.0)
    alphas = (0.1, 10.0, 1e3)
    kw = {"ranks": (1, 3)} if cls is ReducedRankRidge else {"alpha_per_target": False}
    est = cls(frequencies=FREQS, alphas=alphas, target_scaling="run", **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # groups given: no fallback warning
        est.fit(X, y, groups=GROUPS)
    assert est.n_splits_ == 3
    assert est.alpha_ in alphas
    edges = [(1, 4), (4, 8), (8, 13), (13, 20), (20, 30), (30, 45)]
    features = np.stack([_band(X, lo, hi) for lo, hi in edges], -1).reshape(90, -1)
    Y = ((y - y.min()) / (y.max() - y.min())).reshape(90, -1)
    for rank in kw.get("ranks", [None]):
        expected = _manual_cv_scores(features, Y, GROUPS, alphas, rank)
        for alpha in alphas:
            key = alpha if rank is None else (alpha, rank)
            assert est.cv_scores_[key] == pytest.approx(expected[alpha], abs=1e-6)
    best = max(est.cv_scores_.values())
    assert est.best_score_ == best


def test_penalty_per_voxel_equals_sklearn_ridge_per_voxel():
    """alpha_per_target: each voxel's penalty minimizes its own held-out error."""
    X, y = _planted(rank=1, noise=0.5)
    y = y.reshape(90, -1).copy()
    y[:, 12:] = 100 + np.random.default_rng(3).normal(size=(90, 12))  # noise voxels
    alphas = (0.1, 10.0, 1e3, 1e6)
    est = BandPowerRidge(
        frequencies=FREQS, alphas=alphas, target_scaling="run", input_shape=(2, 4, 40)
    ).fit(X.reshape(90, -1), y, groups=GROUPS)
    assert est.alpha_.shape == (24,) and set(est.alpha_) <= set(alphas)
    edges = [(1, 4), (4, 8), (8, 13), (13, 20), (20, 30), (30, 45)]
    features = np.stack([_band(X, lo, hi) for lo, hi in edges], -1).reshape(90, -1)
    Y = (y - y.min()) / (y.max() - y.min())
    # the held-out squared error of every (alpha, voxel), refitted with sklearn
    sse = np.zeros((len(alphas), 24))
    for tr, te in GroupKFold(n_splits=3).split(features, Y, GROUPS):
        for i, alpha in enumerate(alphas):
            pipe = make_pipeline(StandardScaler(), Ridge(alpha=alpha))
            pred = pipe.fit(features[tr], Y[tr]).predict(features[te])
            resid = (Y[te] - Y[te].mean(0)) - (pred - pred.mean(0))
            sse[i] += (resid**2).sum(0)
    np.testing.assert_array_equal(est.alpha_, np.asarray(alphas)[sse.argmin(0)])
    # voxels without signal end up with stronger penalties
    assert np.all(est.alpha_[12:] >= 1e3)
    assert np.median(est.alpha_[12:]) > np.median(est.alpha_[:12])
    # the final model: one sklearn ridge per voxel with its own penalty
    for v in (0, 5, 20):
        pipe = make_pipeline(StandardScaler(), Ridge(alpha=est.alpha_[v]))
        pipe.fit(features, Y[:, v])
        np.testing.assert_allclose(
            est.coef_[v], pipe[-1].coef_, rtol=1e-4, atol=1e-6
        )
    assert est.best_score_ >= max(est.cv_scores_.values()) - 1e-9


def test_final_model_equals_sklearn_pipeline():
    X, y = _planted(rank=2)
    edges = [(1, 4), (4, 8), (8, 13), (13, 20), (20, 30), (30, 45)]
    features = np.stack([_band(X, lo, hi) for lo, hi in edges], -1).reshape(90, -1)
    many = y.reshape(90, -1) @ np.random.default_rng(1).normal(size=(24, 200))
    # 90 samples > 48 features: dense coefficients; 20 samples, 200 voxels: the
    # factorized form (rank 19 x (48 + 200)) is smaller than 48 x 200
    for n, target in ((90, y.reshape(90, -1)[:, :2]), (20, many[:20])):
        est = BandPowerRidge(frequencies=FREQS, alphas=10.0, target_scaling="run")
        est.set_params(input_shape=(2, 4, 40)).fit(X[:n].reshape(n, -1), target)
        assert (est.components_ is None) == (n == 90)
        lo, hi = target.min(), target.max()
        pipe = make_pipeline(StandardScaler(), Ridge(alpha=10.0))
        pipe.fit(features[:n], (target - lo) / (hi - lo))
        np.testing.assert_allclose(est.coef_, pipe[-1].coef_, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(
            est.predict(X.reshape(90, -1)),
            pipe.predict(features) * (hi - lo) + lo,
            rtol=1e-6,
            atol=1e-6 * (hi - lo),  # float32 weights
        )
        # the exposed pipeline gives the model-unit predictions
        model_units = est.pipeline_.predict(features)
        if est.components_ is not None:
            model_units = model_units @ est.components_ + est.intercept_
        np.testing.assert_allclose(model_units, pipe.predict(features), atol=1e-5)
    assert est.alpha_ == 10.0 and est.cv_scores_ == {} and est.n_splits_ == 0


def test_one_group_or_no_groups_falls_back_to_blocks_with_a_warning():
    X, y = _planted()
    est = BandPowerRidge(frequencies=FREQS, alphas=(1.0, 100.0))
    with pytest.warns(UserWarning, match="Only one group"):
        est.fit(X, y, groups=np.full(90, "01"))
    assert est.n_splits_ == 5 and set(est.cv_scores_) == {1.0, 100.0}
    with pytest.warns(UserWarning, match="No groups given"):
        est.fit(X, y)
    assert est.n_splits_ == 5
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est.set_params(cv=LeaveOneGroupOut()).fit(X, y, groups=GROUPS)
        assert est.n_splits_ == 3
        est.set_params(cv=3).fit(X, y)  # explicit blocks: the user chose them
        assert est.n_splits_ == 3


# ------------------------------------------------------ the simulated dataset


def test_no_leakage_statistics_come_from_training_rows(ds, fitted_ds):
    est, train = fitted_ds
    X = np.asarray(ds.X[train], dtype=np.float64)
    freqs = np.asarray(ds.frequencies)
    feats = []
    for lo, hi in est.bands_:
        sel = (freqs >= lo) & (freqs < hi)
        feats.append(X[..., sel].mean(axis=-1))
    feats = np.stack(feats, -1).reshape(len(train), -1)
    scaler = est.pipeline_[0]
    np.testing.assert_allclose(scaler.mean_, feats.mean(0), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(scaler.scale_, feats.std(0), rtol=1e-8)
    assert scaler.n_samples_seen_ == len(train)
    # target statistics: the training runs' voxel-wise means and temporal stds
    y = np.asarray(ds.y[train], dtype=np.float64)
    runs = ds.provenance["run_label"].to_numpy(dtype=str)[train]
    means = [y[runs == r].mean(0) for r in np.unique(runs)]
    var = np.mean([y[runs == r].var(0) for r in np.unique(runs)], axis=0)
    scale = np.where(var > 0, np.sqrt(var), 1.0)
    np.testing.assert_allclose(
        est.target_scaler_.location, np.mean(means, 0), rtol=1e-5, atol=1e-3
    )
    np.testing.assert_allclose(est.target_scaler_.scale, scale, rtol=1e-4, atol=1e-4)
    assert est.run_source_ == "runs" and len(np.unique(runs)) == 2


def test_predictions_are_in_intensity_units(ds, fitted_ds):
    est, train = fitted_ds
    y = np.asarray(ds.y[train], dtype=np.float64)
    pred = est.predict(ds.X[train])
    assert pred.shape == y.shape and pred.dtype == np.float32
    # z-scores average to 0 over each run: the mean prediction is the mean volume
    np.testing.assert_allclose(pred.mean(0), est.target_scaler_.location, atol=1e-2)
    np.testing.assert_allclose(pred.mean(0), y.mean(0), rtol=1e-4, atol=1e-2)
    test = np.flatnonzero(ds.groups == "03")
    pred_test = est.predict(ds.X[test])
    assert abs(pred_test.mean() - y.mean()) < 0.05 * y.std()


def test_lazy_numpy_and_flattened_inputs_agree(ds, fitted_ds):
    est, train = fitted_ds
    test = np.flatnonzero(ds.groups == "03")
    runs = ds.provenance["run_label"].to_numpy(dtype=str)
    X = np.asarray(ds.X[train])
    y = np.asarray(ds.y[train])
    flat = BandPowerRidge(
        frequencies=ds.frequencies,
        input_shape=X.shape[1:],
        output_shape=y.shape[1:],
    ).fit(
        X.reshape(len(X), -1),
        y.reshape(len(y), -1),
        groups=ds.groups[train],
        runs=runs[train],
    )
    np.testing.assert_array_equal(flat.alpha_, est.alpha_)
    Xt = np.asarray(ds.X[test])
    pred_flat = flat.predict(Xt.reshape(len(Xt), -1))
    assert pred_flat.shape == (len(test), int(np.prod(y.shape[1:])))
    np.testing.assert_allclose(
        pred_flat.reshape(len(test), *y.shape[1:]),
        est.predict(ds.X[test]),
        rtol=1e-5,
        atol=1e-3,
    )
    np.testing.assert_allclose(est.predict(Xt), est.predict(ds.X[test]), rtol=1e-6)


def test_cross_validate_leave_one_participant_out(ds):
    res = cross_validate(
        ReducedRankRidge(frequencies=ds.frequencies, ranks=(1, 4)),
        ds.X,
        ds.y,
        groups=ds.groups,
        cv=LeaveOneGroupOut(),
        scoring=SCORERS,
        params={"groups": ds.groups},
        return_estimator=True,
        error_score="raise",
    )
    assert len(res["test_temporal_correlation"]) == 3
    assert np.all(np.abs(res["test_temporal_correlation"]) <= 1)
    assert np.all((res["test_ssim"] > 0) & (res["test_ssim"] <= 1))
    assert np.all(np.isfinite(res["test_psnr"])) and np.all(res["test_neg_mse"] < 0)
    for fitted in res["estimator"]:
        assert fitted.n_splits_ == 2  # the two training participants
        assert fitted.rank_ in (1, 4)


@pytest.mark.parametrize("target_scaling", ["volume", "run"])
def test_other_target_scalings(ds, target_scaling):
    est = BandPowerRidge(
        frequencies=ds.frequencies, target_scaling=target_scaling, alphas=(10.0, 1e4)
    )
    est.fit(ds.X, ds.y, groups=ds.groups)
    pred = est.predict(ds.X[np.arange(5)])
    y = np.asarray(ds.y[np.arange(5)])
    if target_scaling == "volume":  # per-volume [0, 1] units
        assert -0.5 < pred.mean() < 1.5
    else:  # units of the targets
        assert abs(pred.mean() - y.mean()) < y.std()
    assert np.isfinite(est.score(ds.X, ds.y))


# ----------------------------------------------------------------- persistence


@pytest.mark.parametrize("cls", [BandPowerRidge, ReducedRankRidge, InteractionRidge])
def test_save_load_round_trip(tmp_path, cls):
    X, y = _planted()
    kw = {"ranks": (1, 2)} if cls is ReducedRankRidge else {}
    est = cls(frequencies=FREQS, alphas=(1.0, 100.0), **kw).fit(X, y, groups=GROUPS)
    json_path = est.save(tmp_path / "model")
    desc = json.loads(json_path.read_text())
    assert desc["format"] == "eeg2fmri-estimator" and desc["format_version"] == 3
    assert desc["class"] == cls.__name__
    loaded = cls.load(tmp_path / "model")
    assert type(loaded) is cls
    np.testing.assert_allclose(loaded.predict(X), est.predict(X), rtol=1e-6)
    np.testing.assert_array_equal(loaded.alpha_, est.alpha_)
    assert loaded.cv_scores_ == est.cv_scores_
    assert loaded.get_params()["bands"] == est.bands
    np.testing.assert_array_equal(loaded.frequencies, FREQS)
    np.testing.assert_array_equal(
        loaded.target_scaler_.location, est.target_scaler_.location
    )
    assert loaded.score(X, y) == est.score(X, y)
    if cls is ReducedRankRidge:
        assert loaded.rank_ == est.rank_
    if cls is InteractionRidge:
        np.testing.assert_array_equal(loaded.interaction_mean_, est.interaction_mean_)
        np.testing.assert_array_equal(loaded.interaction_std_, est.interaction_std_)
        assert loaded.interaction_scale_ == est.interaction_scale_
        assert loaded.interaction_cv_scores_ == est.interaction_cv_scores_
    # also by the JSON name, and through the base class
    assert type(BandPowerRidge.load(json_path)) is cls
    assert not list((tmp_path / "model").glob(".*"))  # no temporary files left


def test_save_load_flattened_dataframe(tmp_path):
    pd = pytest.importorskip("pandas")
    X, y = _planted()
    frame = pd.DataFrame(X.reshape(90, -1), columns=[f"x{i}" for i in range(320)])
    est = BandPowerRidge(frequencies=FREQS, input_shape=(2, 4, 40), alphas=3.0)
    est.fit(frame, y.reshape(90, -1))
    loaded = BandPowerRidge.load(est.save(tmp_path / "m.safetensors"))
    assert list(loaded.feature_names_in_) == list(frame.columns)
    # threaded BLAS reductions are not bitwise reproducible: a tight tolerance
    np.testing.assert_allclose(loaded.predict(frame), est.predict(frame), rtol=1e-12)


def test_load_rejects_foreign_and_corrupt_files(tmp_path):
    X, y = _planted()
    MeanVolumeRegressor().fit(X, y).save(tmp_path / "mean")
    with pytest.raises(ModelFileError, match="Regressor.*not a BandPowerRidge"):
        BandPowerRidge.load(tmp_path / "mean")
    BandPowerRidge(frequencies=FREQS, alphas=1.0).fit(X, y).save(tmp_path / "ridge")
    with pytest.raises(ModelFileError, match="not a ReducedRankRidge") as info:
        ReducedRankRidge.load(tmp_path / "ridge")
    assert "\n" not in str(info.value)
    with pytest.raises(ModelFileError, match="holds a BandPowerRidge"):
        Spec2VolEstimator.load(tmp_path / "ridge")
    assert isinstance(load_model(tmp_path / "ridge"), BandPowerRidge)
    with pytest.raises(ModelFileError, match="not found"):
        BandPowerRidge.load(tmp_path / "nothing")
    weights = tmp_path / "ridge" / "weights.safetensors"
    weights.write_bytes(b"\x00" * 16)
    with pytest.raises(ModelFileError, match="weights.safetensors"):
        BandPowerRidge.load(tmp_path / "ridge")
    desc_path = tmp_path / "ridge" / "estimator.json"
    desc = json.loads(desc_path.read_text())
    desc["format"] = "something-else"
    desc_path.write_text(json.dumps(desc))
    with pytest.raises(ModelFileError, match="not written by eeg2fmri"):
        BandPowerRidge.load(tmp_path / "ridge")


def test_load_rejects_tensors_that_do_not_fit(tmp_path):
    X, y = _planted()
    BandPowerRidge(frequencies=FREQS, alphas=1.0).fit(X, y).save(tmp_path / "a")
    BandPowerRidge(frequencies=FREQS, alphas=1.0).fit(X, y[:, :1]).save(tmp_path / "b")
    weights = "weights.safetensors"
    (tmp_path / "b" / weights).replace(tmp_path / "a" / weights)
    with pytest.raises(ModelFileError, match="expected"):
        BandPowerRidge.load(tmp_path / "a")


# ------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "params, match",
    [
        ({}, r"'frequencies' .* required .* expected 40 values .* found None"),
        ({"frequencies": FREQS[:10]}, r"'frequencies'.*expected 40 values, found 10"),
        ({"frequencies": FREQS, "bands": [(100, 200)]}, r"None of the 'bands'"),
        ({"frequencies": FREQS, "bands": [(8, 4)]}, r"'bands' parameter .* low < high"),
        ({"frequencies": FREQS, "alphas": -1.0}, r"'alphas' parameter .* >= 0"),
        ({"frequencies": FREQS, "alphas": []}, r"'alphas' parameter"),
        ({"frequencies": FREQS, "cv": 1}, r"'cv' parameter"),
        ({"frequencies": FREQS, "target_scaling": "x"}, r"'target_scaling' parameter"),
        ({"frequencies": [np.nan] * 40}, r"'frequencies' parameter"),
        ({"frequencies": np.arange(400.0)}, r"expected 40 values, found 400\."),
    ],
)
def test_bad_parameters_give_one_line_errors(params, match):
    X, y = _planted()
    with pytest.raises(ValueError, match=match) as info:
        BandPowerRidge(**params).fit(X, y, groups=GROUPS)
    assert "\n" not in str(info.value)


def test_bad_ranks():
    X, y = _planted()
    for ranks in (0, (1, 2.5), "2"):
        with pytest.raises(ValueError, match="'ranks' parameter of ReducedRankRidge"):
            ReducedRankRidge(frequencies=FREQS, ranks=ranks).fit(X, y, groups=GROUPS)


def test_nan_in_X_is_a_clear_error():
    X, y = _planted()
    X[3, 0, 1, 5] = np.nan
    with pytest.raises(DataError, match="X contains NaN"):
        BandPowerRidge(frequencies=FREQS).fit(X, y, groups=GROUPS)
    with pytest.raises(ValueError, match="NaN"):
        BandPowerRidge(frequencies=FREQS, input_shape=(2, 4, 40)).fit(
            X.reshape(90, -1), y.reshape(90, -1), groups=GROUPS
        )
    est = BandPowerRidge(frequencies=FREQS, alphas=1.0).fit(X[4:], y[4:])
    with pytest.raises(DataError, match="NaN"):
        est.predict(X[:4])


def test_one_sample_needs_a_single_alpha():
    X, y = _planted()
    with pytest.raises(ValueError, match="n_samples=1"):
        BandPowerRidge(frequencies=FREQS).fit(X[:1], y[:1])
    est = BandPowerRidge(frequencies=FREQS, alphas=1.0).fit(X[:1], y[:1])
    np.testing.assert_allclose(est.predict(X[:3]), np.repeat(y[:1], 3, 0), rtol=1e-6)


# ----------------------------------------------------------- scikit-learn API


def test_clone_get_set_params():
    est = ReducedRankRidge(frequencies=FREQS, ranks=(1, 2), alphas=(1.0, 10.0))
    c = clone(est).set_params(cv=LeaveOneGroupOut())
    assert c.get_params()["ranks"] == (1, 2) and isinstance(c.cv, LeaveOneGroupOut)
    X, y = _planted()
    c.fit(X, y, groups=GROUPS)
    assert est.cv is None and not hasattr(est, "pipeline_")
    assert not hasattr(clone(c), "pipeline_")
    assert c.__sklearn_is_fitted__()


@parametrize_with_checks(
    [
        BandPowerRidge(bands=None),
        ReducedRankRidge(bands=None, ranks=(1, 2)),
        InteractionRidge(bands=None),
    ]
)
def test_sklearn_compatible(estimator, check):
    """The common checks on 2-D data (bands=None: every column is a feature)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "No groups given", UserWarning)
        check(estimator)


def test_docstring_examples():
    import eeg2fmri.estimators.interaction as interaction

    ridge, rrr = eeg2fmri.estimators.ridge, eeg2fmri.estimators.reduced_rank
    for module in (ridge, rrr, interaction):
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.attempted > 0 and result.failed == 0
