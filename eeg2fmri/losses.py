"""Training losses: the SSIM + MSE hybrid (official), MSE, and a correlation loss.

``make_loss(name)`` builds the loss that :class:`~eeg2fmri.Spec2VolEstimator`
trains with (its ``loss`` parameter): ``'hybrid'`` (:class:`HybridLoss`, the official
Spec2VolCAMU-Net loss), ``'mse'`` or ``'correlation'`` (:class:`CorrelationLoss`,
which rewards following each voxel's fluctuations across the batch).

SSIM is two-dimensional with the D slices of a volume as channels (the official
Spec2VolCAMU-Net code calls ``torchmetrics`` on ``(B, D, H, W)`` tensors): an 11 x 11
Gaussian window (sigma 1.5), reflect padding of the inputs,
``C1 = (k1 * data_range)**2``, ``C2 = (k2 * data_range)**2`` and the mean over the full
SSIM map. This equals ``torchmetrics.functional.structural_similarity_index_measure``
from version 1.4.2 on; ``border_trim=True`` gives the older (<= 1.4.1) variant that
drops ``(kernel_size - 1) // 2`` pixels at each border of the map before averaging.
"""

# SPDX-License-Identifier: BSD-3-Clause

import inspect

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "ssim",
    "SSIMLoss",
    "HybridLoss",
    "CorrelationLoss",
    "LOSSES",
    "make_loss",
    "gaussian_kernel_size",
]

#: Names accepted by :func:`make_loss`.
LOSSES = ("mse", "hybrid", "correlation")


def gaussian_kernel_size(sigma):
    """Window size torchmetrics uses for a Gaussian of standard deviation ``sigma``.

    Parameters
    ----------
    sigma : float
        Standard deviation in pixels.

    Returns
    -------
    size : int
        ``2 * int(3.5 * sigma + 0.5) + 1`` (11 for sigma 1.5).
    """
    return 2 * int(3.5 * sigma + 0.5) + 1


def _check_ssim_params(kernel_size, sigma, reduction):
    if not sigma > 0:
        raise ValueError(f"'sigma' must be a positive float. Got {sigma!r} instead.")
    if kernel_size is None:
        kernel_size = gaussian_kernel_size(sigma)
    if int(kernel_size) != kernel_size or kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(
            "'kernel_size' must be an odd positive integer. "
            f"Got {kernel_size!r} instead."
        )
    if reduction not in ("mean", "none"):
        raise ValueError(
            f"'reduction' must be 'mean' or 'none'. Got {reduction!r} instead."
        )
    return int(kernel_size)


def _check_border_trim(shape, kernel_size):
    """Pixels ``border_trim`` drops at each border; raise if the slices are too small.

    ``shape`` is ``(..., H, W)``.
    """
    pad = (kernel_size - 1) // 2
    h, w = shape[-2:]
    if h <= 2 * pad or w <= 2 * pad:
        raise ValueError(
            f"'border_trim' needs slices larger than {2 * pad} x {2 * pad} pixels. "
            f"Got {h} x {w} instead."
        )
    return pad


def _reflect_index(n, pad, device):
    """Indices of a reflect-padded axis (numpy 'reflect' = scipy 'mirror').

    Works for any ``pad`` (several reflections when ``pad >= n``), unlike
    ``F.pad(mode="reflect")``; an axis of length 1 is repeated.
    """
    idx = torch.arange(-pad, n + pad, device=device)
    if n == 1:
        return torch.zeros_like(idx)
    period = 2 * (n - 1)
    idx = torch.remainder(idx, period)
    return torch.where(idx >= n, period - idx, idx)


def _gaussian_1d(kernel_size, sigma, dtype, device):
    dist = torch.arange(kernel_size, dtype=dtype, device=device) - (kernel_size - 1) / 2
    gauss = torch.exp(-((dist / sigma) ** 2) / 2)
    return gauss / gauss.sum()


def _blur_matrix(n, kernel_size, sigma, dtype, device):
    """(n, n) matrix M with ``M @ x`` = Gaussian filter of reflect-padded ``x``.

    Folding the reflect padding into a small dense matrix turns the separable
    filter into two batched matmuls, which are several times faster than
    single-channel convolutions on CPU, forward and backward.
    """
    pad = (kernel_size - 1) // 2
    g = _gaussian_1d(kernel_size, sigma, dtype, device)
    source = _reflect_index(n, pad, device)  # padded position -> source index
    rows = torch.arange(n, device=device).repeat_interleave(kernel_size)
    taps = torch.arange(kernel_size, device=device).repeat(n)
    cols = source[rows + taps]
    matrix = torch.zeros(n, n, dtype=dtype, device=device)
    return matrix.index_put_((rows, cols), g[taps], accumulate=True)


def _ssim_map(pred, target, data_range, kernel_size, sigma, k1, k2):
    """SSIM map of (B, D, H, W) tensors, shape (B, D, H, W)."""
    b, d, h, w = pred.shape
    # (5, B, D, H, W): the five local moments are filtered in one pass
    stack = torch.stack([pred, target, pred * pred, target * target, pred * target])
    blur_h = _blur_matrix(h, kernel_size, sigma, pred.dtype, pred.device)
    blur_w = _blur_matrix(w, kernel_size, sigma, pred.dtype, pred.device)
    stack = blur_h @ stack @ blur_w.T
    mu_p, mu_t, e_pp, e_tt, e_pt = stack.unbind(0)
    c1 = (k1 * data_range) ** 2
    c2 = (k2 * data_range) ** 2
    mu_pp, mu_tt, mu_pt = mu_p * mu_p, mu_t * mu_t, mu_p * mu_t
    var_p = torch.clamp(e_pp - mu_pp, min=0.0)
    var_t = torch.clamp(e_tt - mu_tt, min=0.0)
    cov = e_pt - mu_pt
    num = (2 * mu_pt + c1) * (2 * cov + c2)
    return num / ((mu_pp + mu_tt + c1) * (var_p + var_t + c2))


def ssim(
    pred,
    target,
    *,
    data_range=1.0,
    kernel_size=None,
    sigma=1.5,
    k1=0.01,
    k2=0.03,
    border_trim=False,
    reduction="mean",
):
    """Structural similarity of volumes, 2-D with slices as channels (differentiable).

    Parameters
    ----------
    pred, target : torch.Tensor of shape (batch, D, H, W)
        Predicted and measured volumes, floating point, same shape.
    data_range : float, default=1.0
        Value range of the data (1 after min-max scaling). Values are not clamped.
    kernel_size : int, optional
        Size of the Gaussian window. Default ``2 * int(3.5 * sigma + 0.5) + 1``,
        which is 11 for ``sigma=1.5`` and is what torchmetrics uses.
    sigma : float, default=1.5
        Standard deviation of the Gaussian window in pixels.
    k1, k2 : float, default=0.01, 0.03
        SSIM stabilisation constants.
    border_trim : bool, default=False
        If True, average only the interior of the SSIM map (drop
        ``(kernel_size - 1) // 2`` pixels at each border), as torchmetrics <= 1.4.1 did.
    reduction : {'mean', 'none'}, default='mean'
        ``'mean'`` returns a scalar (mean over volumes); ``'none'`` one value per
        volume.

    Returns
    -------
    ssim : torch.Tensor of shape () or (batch,)
        Mean SSIM.

    Examples
    --------
    >>> import torch
    >>> x = torch.rand(2, 3, 16, 16)
    >>> round(float(ssim(x, x)), 4)
    1.0
    """
    kernel_size = _check_ssim_params(kernel_size, sigma, reduction)
    if not (torch.is_tensor(pred) and torch.is_tensor(target)):
        raise TypeError(
            f"'pred' and 'target' must be torch tensors. Got {type(pred).__name__} "
            f"and {type(target).__name__} instead."
        )
    if pred.ndim != 4 or pred.shape != target.shape:
        raise ValueError(
            "'pred' and 'target' must have the same shape (batch, D, H, W). Got "
            f"{tuple(pred.shape)} and {tuple(target.shape)} instead."
        )
    if not pred.is_floating_point():
        pred = pred.float()
    target = target.to(pred.dtype)
    smap = _ssim_map(pred, target, data_range, kernel_size, sigma, k1, k2)
    if border_trim:
        pad = _check_border_trim(smap.shape, kernel_size)
        if pad:
            smap = smap[..., pad:-pad, pad:-pad]
    per_volume = smap.reshape(smap.shape[0], -1).mean(dim=1)
    return per_volume.mean() if reduction == "mean" else per_volume


#: The options of :func:`ssim` a loss module takes, with their defaults.
_SSIM_OPTIONS = {
    name: p.default
    for name, p in inspect.signature(ssim).parameters.items()
    if p.kind is p.KEYWORD_ONLY and name != "reduction"
}


def _checked_ssim_options(options, owner):
    """The SSIM options given to a loss module, checked when it is built."""
    unknown = sorted(set(options) - set(_SSIM_OPTIONS))
    if unknown:
        raise TypeError(
            f"{owner}: unknown SSIM option(s) {unknown}; expected some of "
            f"{list(_SSIM_OPTIONS)} (see eeg2fmri.losses.ssim)."
        )
    full = {**_SSIM_OPTIONS, **options}
    _check_ssim_params(full["kernel_size"], full["sigma"], "mean")
    return dict(options)


class SSIMLoss(nn.Module):
    """``1 - SSIM`` as a loss module.

    Parameters
    ----------
    **ssim_kwargs
        Options of :func:`ssim`: ``data_range``, ``kernel_size``, ``sigma``, ``k1``,
        ``k2``, ``border_trim`` (same defaults).

    Examples
    --------
    >>> import torch
    >>> loss = SSIMLoss()
    >>> x = torch.rand(2, 3, 16, 16)
    >>> float(loss(x, x))
    0.0
    """

    def __init__(self, **ssim_kwargs):
        super().__init__()
        self.ssim_kwargs = {
            **_SSIM_OPTIONS, **_checked_ssim_options(ssim_kwargs, "SSIMLoss")
        }

    def forward(self, pred, target):
        """Loss of (batch, D, H, W) tensors; returns a scalar tensor."""
        return 1.0 - ssim(pred, target, **self.ssim_kwargs)


class HybridLoss(nn.Module):
    """``lambda_ssim * (1 - SSIM) + (1 - lambda_ssim) * MSE``, the training loss.

    With ``lambda_ssim=0.5`` this is the official Spec2VolCAMU-Net loss (MSE is the mean
    over all voxels of the batch).

    Parameters
    ----------
    lambda_ssim : float, default=0.5
        Weight of the SSIM term, in [0, 1].
    **ssim_kwargs
        Options of :func:`ssim` (``data_range``, ``sigma``, ``border_trim``, ...),
        checked here.

    Examples
    --------
    >>> import torch
    >>> loss = HybridLoss(lambda_ssim=0.5)
    >>> x = torch.rand(2, 3, 16, 16)
    >>> float(loss(x, x))
    0.0
    """

    def __init__(self, lambda_ssim=0.5, **ssim_kwargs):
        super().__init__()
        if not 0.0 <= lambda_ssim <= 1.0:
            raise ValueError(
                f"'lambda_ssim' must be a float in [0, 1]. Got {lambda_ssim!r} instead."
            )
        self.lambda_ssim = float(lambda_ssim)
        self.ssim_kwargs = _checked_ssim_options(ssim_kwargs, "HybridLoss")

    def forward(self, pred, target):
        """Loss of (batch, D, H, W) tensors; returns a scalar tensor."""
        mse = F.mse_loss(pred, target)
        if self.lambda_ssim == 0.0:
            return mse
        s = ssim(pred, target, **self.ssim_kwargs)
        return self.lambda_ssim * (1.0 - s) + (1.0 - self.lambda_ssim) * mse

    def extra_repr(self):
        return f"lambda_ssim={self.lambda_ssim}"


def batch_correlation(pred, target, eps=1e-8):
    """Pearson correlation of every voxel across the samples of a batch.

    Parameters
    ----------
    pred, target : Tensor of shape (batch, ...)

    Returns
    -------
    Tensor of shape (...)
        ``r`` per voxel; 0 where either side is constant over the batch.
    """
    p = pred - pred.mean(dim=0)
    t = target - target.mean(dim=0)
    # eps inside the root: a constant prediction (the zero-initialised output) has
    # a finite gradient
    denom = torch.sqrt((p * p).sum(dim=0) * (t * t).sum(dim=0) + eps)
    return (p * t).sum(dim=0) / denom


class CorrelationLoss(nn.Module):
    """``MSE + (1 - mean voxel-wise r across the batch)``: a correlation-aware loss.

    The correlation term rewards following each voxel's fluctuations whatever their
    size, which the MSE of small fluctuations around a large mean does little for; the
    MSE term fixes the scale and offset the correlation ignores. Use with targets in
    comparable units per voxel (``target_scaling='zscore'``) and batches of several
    volumes (the correlation is over the batch).

    Examples
    --------
    >>> import torch
    >>> loss = CorrelationLoss()
    >>> x = torch.randn(8, 2, 4, 4)
    >>> round(float(loss(x, x)), 6)
    0.0
    """

    def forward(self, pred, target):
        """Loss of (batch, D, H, W) tensors; returns a scalar tensor."""
        mse = F.mse_loss(pred, target)
        if len(pred) < 2:
            return mse
        return mse + 1.0 - batch_correlation(pred, target).mean()


def make_loss(name, lambda_ssim=0.5):
    """The training loss called ``name``.

    Parameters
    ----------
    name : {'mse', 'hybrid', 'correlation'}
        ``'hybrid'``: :class:`HybridLoss` with ``lambda_ssim`` (official: 0.5);
        ``'mse'``: mean squared error; ``'correlation'``: :class:`CorrelationLoss`.
    lambda_ssim : float, default=0.5
        Weight of the SSIM term of ``'hybrid'``.

    Returns
    -------
    loss : torch.nn.Module
        Called as ``loss(pred, target)`` on (batch, D, H, W) tensors.
    """
    if name == "hybrid":
        return HybridLoss(lambda_ssim)
    if name == "mse":
        return nn.MSELoss()
    if name == "correlation":
        return CorrelationLoss()
    raise ValueError(f"'loss' must be one of {LOSSES}. Got {name!r} instead.")
