"""Tests of eeg2fmri.losses: SSIM against torchmetrics, gradients, hybrid loss."""

import numpy as np
import pytest
import torch

from eeg2fmri.losses import HybridLoss, SSIMLoss, gaussian_kernel_size, ssim

tm_ssim = pytest.importorskip(
    "torchmetrics.functional.image"
).structural_similarity_index_measure

SHAPES = [(2, 3, 16, 16), (3, 2, 12, 20), (1, 1, 32, 17), (4, 5, 11, 13)]


def _pair(shape, kind, seed=0):
    g = torch.Generator().manual_seed(seed)
    if kind == "random":
        target = torch.rand(shape, generator=g)
        pred = torch.rand(shape, generator=g)
    else:  # smooth structure + noise, like volumes
        b, d, h, w = shape
        yy, xx = torch.meshgrid(
            torch.linspace(-1, 1, h), torch.linspace(-1, 1, w), indexing="ij"
        )
        blob = torch.exp(-(xx**2 + yy**2) * 3)
        target = blob.expand(b, d, h, w) * torch.rand(b, d, 1, 1, generator=g)
        pred = target + 0.1 * torch.randn(shape, generator=g)
    return pred, target


def test_kernel_size_rule():
    assert gaussian_kernel_size(1.5) == 11
    assert gaussian_kernel_size(1.0) == 9


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kind", ["random", "structured"])
def test_matches_torchmetrics(shape, kind):
    pred, target = _pair(shape, kind)
    ours = ssim(pred, target, reduction="none")
    ref = tm_ssim(pred, target, data_range=1.0, reduction="none")
    assert ours.shape == (shape[0],)
    torch.testing.assert_close(ours, ref, atol=1e-5, rtol=0)
    torch.testing.assert_close(ssim(pred, target), ref.mean(), atol=1e-5, rtol=0)


def test_matches_torchmetrics_float64_other_sigma():
    pred, target = _pair((2, 3, 24, 20), "structured")
    pred, target = pred.double(), target.double()
    ours = ssim(pred, target, sigma=1.0, data_range=2.0, k1=0.02, reduction="none")
    ref = tm_ssim(pred, target, sigma=1.0, data_range=2.0, k1=0.02, reduction="none")
    torch.testing.assert_close(ours, ref, atol=1e-10, rtol=0)


def test_border_trim_is_interior_mean():
    pred, target = _pair((2, 3, 20, 18), "structured")
    _, full_map = tm_ssim(
        pred, target, data_range=1.0, return_full_image=True, reduction="none"
    )
    expected = full_map[..., 5:-5, 5:-5].reshape(2, -1).mean(1)
    torch.testing.assert_close(
        ssim(pred, target, border_trim=True, reduction="none"),
        expected,
        atol=1e-5,
        rtol=0,
    )
    assert not torch.allclose(ssim(pred, target, border_trim=True), ssim(pred, target))
    with pytest.raises(ValueError, match="border_trim"):
        ssim(pred[..., :10, :], target[..., :10, :], border_trim=True)


def test_identical_and_small_inputs():
    x = torch.rand(2, 1, 4, 3)  # smaller than the window: reflect several times
    np.testing.assert_allclose(ssim(x, x).item(), 1.0, atol=1e-5)
    one = torch.full((3, 1, 1, 1), 0.5)
    np.testing.assert_allclose(ssim(one, one).item(), 1.0, atol=1e-6)


def test_gradients_finite_and_loss_decreases():
    pred, target = _pair((2, 3, 16, 16), "structured")
    pred = pred.clone().requires_grad_(True)
    opt = torch.optim.SGD([pred], lr=1.0)
    loss_fn = HybridLoss(0.5)
    first = None
    for _ in range(20):
        opt.zero_grad()
        loss = loss_fn(pred, target)
        loss.backward()
        assert torch.isfinite(pred.grad).all()
        first = loss.item() if first is None else first
        opt.step()
    assert loss.item() < first
    # constant images: zero variance must not give NaN gradients
    flat = torch.full((1, 2, 8, 8), 0.3, requires_grad=True)
    SSIMLoss()(flat, torch.full((1, 2, 8, 8), 0.7)).backward()
    assert torch.isfinite(flat.grad).all()


def test_hybrid_loss_value():
    pred, target = _pair((2, 3, 16, 16), "random")
    s = ssim(pred, target)
    mse = torch.mean((pred - target) ** 2)
    torch.testing.assert_close(HybridLoss(0.3)(pred, target), 0.3 * (1 - s) + 0.7 * mse)
    torch.testing.assert_close(HybridLoss(0.0)(pred, target), mse)
    torch.testing.assert_close(SSIMLoss()(pred, target), 1 - s)


def test_bad_arguments():
    x = torch.rand(2, 3, 16, 16)
    with pytest.raises(ValueError, match="same shape"):
        ssim(x, x[:, :2])
    with pytest.raises(ValueError, match=r"\(batch, D, H, W\)"):
        ssim(x[0], x[0])
    with pytest.raises(TypeError, match="torch tensors"):
        ssim(x.numpy(), x)
    with pytest.raises(ValueError, match="reduction"):
        ssim(x, x, reduction="sum")
    with pytest.raises(ValueError, match="kernel_size"):
        ssim(x, x, kernel_size=4)
    with pytest.raises(ValueError, match="lambda_ssim"):
        HybridLoss(1.5)


def test_loss_modules_check_their_ssim_options_when_built():
    assert SSIMLoss(sigma=1.0).ssim_kwargs["sigma"] == 1.0
    assert SSIMLoss().ssim_kwargs["kernel_size"] is None
    for build in (lambda: SSIMLoss(sigm=1.0), lambda: HybridLoss(0.5, windw=7)):
        with pytest.raises(TypeError, match="unknown SSIM option"):
            build()
    with pytest.raises(ValueError, match="kernel_size"):
        HybridLoss(0.5, kernel_size=4)
