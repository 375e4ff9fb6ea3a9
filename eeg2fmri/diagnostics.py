"""Cheap checks to run before a long training: can the model learn at all?

:func:`overfit_check` trains a model on a few dozen (EEG, volume) pairs and reports
whether the training loss falls below a fraction of what predicting zero costs. With
a noise-free target that depends on the input (:func:`planted_target`), a model that
cannot get there will not learn the EEG-driven BOLD fluctuations from real data
either, whatever the number of epochs. :func:`gradient_norms` shows where the
gradient of the loss goes, block by block.

>>> import numpy as np
>>> from eeg2fmri.diagnostics import overfit_check
>>> X = np.random.default_rng(0).normal(size=(32, 4, 8, 16)).astype("float32")
>>> result = overfit_check("spec2vol-tiny", X, out_shape=(2, 8, 8), n_steps=200)
>>> result.passed
True
"""

# SPDX-License-Identifier: BSD-3-Clause

import time
from dataclasses import dataclass, field

import numpy as np

__all__ = ["OverfitResult", "planted_target", "overfit_check", "gradient_norms"]


def _standardize_inputs(X):
    """Standardize each (channel, frequency) over samples and windows (float32)."""
    X = np.asarray(X, dtype=np.float32)
    mean = X.mean(axis=(0, 1), keepdims=True)
    std = X.std(axis=(0, 1), keepdims=True)
    std[std == 0] = 1.0
    return (X - mean) / std


def planted_target(X, out_shape, *, n_sources=3, random_state=0):
    """Noise-free volumes that depend on the EEG input: ``sum_k a_k(x) * blob_k``.

    Each source ``k`` reads the mean of the standardized input over the last few
    context windows, a random half of the electrodes and a random contiguous eighth
    of the frequency bins (a "band power"); ``a_k`` is that value standardized over
    the samples. Each source has a Gaussian blob at a random place of the volume. The
    target has no noise, and it is a function of the input that a network with a
    global path from band power to space can represent.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_context, n_channels, n_freqs)
        EEG spectra (any units: standardized here).
    out_shape : tuple of int (D, H, W)
    n_sources : int, default=3
    random_state : int, default=0

    Returns
    -------
    y : ndarray of shape (n_samples, D, H, W), float32
        Unit variance over all values.
    latents : ndarray of shape (n_samples, n_sources)
        The ``a_k`` of each sample.
    """
    rng = np.random.default_rng(random_state)
    X = _standardize_inputs(X)
    n, n_ctx, n_ch, n_freqs = X.shape
    width = max(1, n_freqs // 8)
    latents = np.empty((n, n_sources), dtype=np.float64)
    for k in range(n_sources):
        chans = rng.choice(n_ch, max(1, n_ch // 2), replace=False)
        f0 = int(rng.integers(0, n_freqs - width + 1))
        windows = slice(max(0, n_ctx - 3), n_ctx)
        a = X[:, windows][:, :, chans][..., f0 : f0 + width].mean(axis=(1, 2, 3))
        latents[:, k] = (a - a.mean()) / (a.std() or 1.0)
    grids = np.meshgrid(*[np.arange(s) for s in out_shape], indexing="ij")
    blobs = np.empty((n_sources, *out_shape))
    for k in range(n_sources):
        center = [rng.uniform(0, s - 1) for s in out_shape]
        width_k = [max(1.0, s / 4) for s in out_shape]
        d2 = sum(((g - c) / w) ** 2 for g, c, w in zip(grids, center, width_k,
                                                      strict=True))
        blobs[k] = np.exp(-d2 / 2)
    y = np.einsum("nk,kdhw->ndhw", latents, blobs)
    y /= y.std() or 1.0
    return y.astype(np.float32), latents


@dataclass
class OverfitResult:
    """Outcome of :func:`overfit_check`.

    Attributes
    ----------
    model : str
        Model name.
    relative_loss : float
        Final training MSE divided by the MSE of predicting each voxel's mean over
        the samples (1 = nothing learned).
    passed : bool
        ``relative_loss < threshold``.
    threshold : float
    n_steps : int
    n_samples : int
    n_params : int
    seconds : float
    curve : list of (step, relative_loss)
    """

    model: str
    relative_loss: float
    passed: bool
    threshold: float
    n_steps: int
    n_samples: int
    n_params: int
    seconds: float
    curve: list = field(default_factory=list)


def _as_model(model, X, out_shape, random_state, model_params):
    from .models import create_model

    if isinstance(model, str):
        n, n_ctx, n_ch, n_freqs = X.shape
        return model, create_model(
            model,
            n_context=n_ctx,
            n_channels=n_ch,
            n_freqs=n_freqs,
            out_shape=tuple(out_shape),
            random_state=random_state,
            **(model_params or {}),
        )
    name = getattr(model, "name", "") or type(model).__name__
    return name, model


def overfit_check(
    model,
    X,
    y=None,
    *,
    out_shape=None,
    n_samples=32,
    n_steps=300,
    batch_size=16,
    lr=1e-3,
    threshold=0.1,
    model_params=None,
    random_state=0,
):
    """Can the model fit a few dozen pairs? (training loss vs predicting zero)

    The model is trained with AdamW (no weight decay; the learning rate decays from
    ``lr`` to 0 on a cosine over the ``n_steps``) on the MSE of ``n_samples`` pairs,
    starting from an output of exactly zero when the model supports it
    (``zero_output_()``, as :class:`~eeg2fmri.Spec2VolEstimator` does).
    The targets are standardized per voxel over the samples, so that predicting zero
    (each voxel's mean) costs 1; a model with a sigmoid output gets them mapped to
    ``0.5 + 0.2 * z`` (clipped to [0.02, 0.98]) and the cost of predicting each voxel's
    mean as reference. A model that learns should bring the training MSE below
    ``threshold`` times that reference within ``n_steps`` steps.

    Parameters
    ----------
    model : str or torch.nn.Module
        A registered name (built for the shapes of ``X`` and ``y``) or a model.
    X : array-like of shape (n, n_context, n_channels, n_freqs)
        EEG spectra; the first ``n_samples`` are used, standardized per (channel,
        frequency).
    y : array-like of shape (n, D, H, W), optional
        Targets; default :func:`planted_target` (noise-free, input-dependent). Given
        targets are standardized per voxel over the samples.
    out_shape : tuple of int (D, H, W), optional
        Volume shape for the planted target (required when ``y`` is None).
    n_samples : int, default=32
    n_steps : int, default=300
    batch_size : int, default=16
    lr : float, default=1e-3
    threshold : float, default=0.1
    model_params : dict, optional
        Overrides for a registered ``model``.
    random_state : int, default=0

    Returns
    -------
    result : OverfitResult
    """
    import torch

    X = np.asarray(X[:n_samples], dtype=np.float32)
    if X.ndim != 4:
        raise ValueError(
            "X must have shape (n_samples, n_context, n_channels, n_freqs). Got shape "
            f"{X.shape} instead."
        )
    if y is None:
        if out_shape is None:
            raise ValueError("out_shape is required when y is None (planted target).")
        y, _ = planted_target(X, out_shape, random_state=random_state)
    else:
        y = np.asarray(y[:n_samples], dtype=np.float32)
    std = y.std(axis=0)
    std[std == 0] = 1.0
    y = (y - y.mean(axis=0)) / std
    name, net = _as_model(model, X, y.shape[1:], random_state, model_params)
    config = net.get_config() if hasattr(net, "get_config") else {}
    if config.get("output_activation") == "sigmoid":
        y = np.clip(0.5 + 0.2 * y, 0.02, 0.98)
    if hasattr(net, "zero_output_"):
        net.zero_output_()
    Xt = torch.from_numpy(_standardize_inputs(X))
    yt = torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32))
    zero_loss = float(((yt - yt.mean(dim=0)) ** 2).mean())
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=n_steps)
    gen = torch.Generator().manual_seed(random_state)
    curve, t0 = [], time.perf_counter()

    def relative():
        net.eval()
        with torch.no_grad():
            loss = float(((net(Xt) - yt) ** 2).mean())
        net.train()
        return loss / zero_loss

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(random_state)
        net.train()
        for step in range(1, n_steps + 1):
            idx = torch.randperm(len(Xt), generator=gen)[:batch_size]
            loss = ((net(Xt[idx]) - yt[idx]) ** 2).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            if step % max(1, n_steps // 12) == 0 or step == n_steps:
                curve.append((step, relative()))
    final = curve[-1][1]
    return OverfitResult(
        model=name,
        relative_loss=final,
        passed=bool(final < threshold),
        threshold=threshold,
        n_steps=n_steps,
        n_samples=len(X),
        n_params=int(sum(p.numel() for p in net.parameters())),
        seconds=time.perf_counter() - t0,
        curve=curve,
    )


def gradient_norms(model, X, y, loss=None, depth=2):
    """Norm of the loss gradient per block of a model, for one batch.

    Parameters
    ----------
    model : torch.nn.Module
    X : Tensor or array of shape (batch, n_context, n_channels, n_freqs)
        Model inputs (already scaled).
    y : Tensor or array of shape (batch, D, H, W)
        Targets in model units.
    loss : callable, optional
        ``loss(pred, target)``; default MSE.
    depth : int, default=2
        Parameters are grouped by the first ``depth`` parts of their names
        (``encoder.blocks``, ``decoder.layers_up``, ``bridge.readout``, ...).

    Returns
    -------
    norms : dict
        Block name -> L2 norm of its gradient (0.0 where no gradient arrives),
        in the order the parameters are registered.
    """
    import torch

    X = torch.as_tensor(np.asarray(X, dtype=np.float32))
    y = torch.as_tensor(np.asarray(y, dtype=np.float32))
    loss = loss or torch.nn.functional.mse_loss
    model.zero_grad(set_to_none=True)
    loss(model(X), y).backward()
    norms = {}
    for name, p in model.named_parameters():
        key = ".".join(name.split(".")[:depth])
        g = 0.0 if p.grad is None else float(p.grad.detach().pow(2).sum())
        norms[key] = norms.get(key, 0.0) + g
    model.zero_grad(set_to_none=True)
    return {k: float(np.sqrt(v)) for k, v in norms.items()}
