"""Tests of eeg2fmri.metrics: numpy SSIM/PSNR, temporal correlation, scorers."""

import numpy as np
import pytest
import torch

from eeg2fmri.losses import ssim
from eeg2fmri.metrics import (
    SCORERS,
    mse_per_volume,
    psnr_per_volume,
    ssim_per_volume,
    summarize_correlation,
    temporal_correlation,
)


@pytest.mark.parametrize(
    "shape, border_trim",
    [
        ((3, 4, 16, 16), False),
        ((2, 2, 12, 21), False),
        ((2, 1, 3, 5), False),
        ((3, 4, 16, 16), True),
        ((2, 2, 12, 21), True),
    ],
)
def test_ssim_matches_torch(rng, shape, border_trim):
    y = rng.random(shape).astype(np.float32)
    p = np.clip(y + 0.2 * rng.standard_normal(shape), 0, 1).astype(np.float32)
    ours = ssim_per_volume(y, p, border_trim=border_trim)
    ref = ssim(
        torch.from_numpy(p).double(),
        torch.from_numpy(y).double(),
        border_trim=border_trim,
        reduction="none",
    ).numpy()
    assert ours.shape == (shape[0],)
    np.testing.assert_allclose(ours, ref, atol=1e-10)
    ref32 = ssim(
        torch.from_numpy(p),
        torch.from_numpy(y),
        border_trim=border_trim,
        reduction="none",
    ).numpy()
    np.testing.assert_allclose(ours, ref32, atol=1e-5)


def test_ssim_chunks_and_single_volume(rng):
    y = rng.random((70, 2, 8, 8))  # more than one chunk
    p = y + 0.05 * rng.standard_normal(y.shape)
    full = ssim_per_volume(y, p)
    np.testing.assert_allclose(full[-1:], ssim_per_volume(y[-1], p[-1]))
    assert np.all(full < 1) and np.all(full > 0.3)


def test_psnr_and_mse(rng):
    y = rng.random((3, 2, 4, 4))
    p = y + 0.1
    np.testing.assert_allclose(mse_per_volume(y, p), 0.01)
    np.testing.assert_allclose(psnr_per_volume(y, p), 20.0)
    np.testing.assert_allclose(psnr_per_volume(y, p, data_range=10.0), 40.0)
    assert np.isinf(psnr_per_volume(y, y)).all()


def test_temporal_correlation(rng):
    t, shape = 50, (2, 3, 4)
    y = rng.standard_normal((t, *shape))
    noise = rng.standard_normal((t, *shape))
    p = 0.5 * y + noise
    p[:, 0, 0, 0] = 3.0  # constant prediction
    mask = np.ones(shape, bool)
    mask[1, 2, 3] = False
    r = temporal_correlation(y, p, mask=mask)
    assert r.shape == shape
    assert np.isnan(r[0, 0, 0]) and np.isnan(r[1, 2, 3])
    expected = np.corrcoef(y[:, 1, 1, 1], p[:, 1, 1, 1])[0, 1]
    np.testing.assert_allclose(r[1, 1, 1], expected)
    s = summarize_correlation(r)
    assert s["n_voxels"] == np.prod(shape) - 2
    assert 0.2 < s["mean"] < 0.7
    with pytest.raises(ValueError, match="mask"):
        temporal_correlation(y, p, mask=np.ones((2, 3)))
    with pytest.raises(ValueError, match="same shape"):
        temporal_correlation(y, p[:-1])


class _FlatModel:
    """A tiny estimator-like object predicting flattened volumes."""

    output_shape_ = (2, 12, 12)

    def __init__(self, noise):
        self.noise = noise

    def predict(self, X):
        return X + self.noise


def test_scorers_on_flattened_y(rng):
    y = rng.random((6, 2 * 12 * 12))
    good, bad = _FlatModel(0.01), _FlatModel(0.3)
    for name, scorer in SCORERS.items():
        if name == "temporal_correlation":
            continue
        assert scorer(good, y, y) > scorer(bad, y, y), name
    vols = y.reshape(6, 2, 12, 12)
    np.testing.assert_allclose(
        SCORERS["ssim"](good, y, y), ssim_per_volume(vols, vols + 0.01).mean()
    )
    np.testing.assert_allclose(SCORERS["neg_mse"](bad, y, y), -0.09)
