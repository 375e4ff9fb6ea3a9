"""One training of :class:`~eeg2fmri.Spec2VolEstimator`'s network.

:func:`train_network` does what a fit repeats for its validation fit and its refit:
the input and target scalings of the training rows, the network built from the
registry (a bounded output made linear for z-scored targets), its output zeroed
around the mean training target, and the training loop
(:func:`eeg2fmri.estimators.training.train_model`).
"""

from types import SimpleNamespace

import numpy as np

from .._utils.logging import logger
from . import scaling
from ._network_setup import (
    check_model_output,
    check_target_range,
    index_digest,
    scaling_digest,
    zero_output,
)
from ._validation import target_mean

__all__ = ["train_network", "fit_scalings", "fit_target_mean"]

#: Estimator parameters the training loop takes unchanged (``TrainConfig`` fields).
_TRAIN_PARAMS = (
    "batch_size", "lr", "weight_decay", "loss", "lambda_ssim", "lr_schedule",
    "warmup_steps", "restart_epochs", "grad_clip", "selection", "n_iter_no_change",
)


def fit_scalings(est, X, y, train_idx, val_idx, input_shape, output_shape, codes):
    """Input and target scalings from the training rows (validation rows checked)."""
    input_scaling = scaling.fit_input_scaling(
        X, train_idx, est.input_scaling, input_shape
    )
    if len(val_idx):
        scaling.streaming_minmax(X, val_idx, name="X")  # finiteness
    target = scaling.fit_target_scaling(
        y, train_idx, est.target_scaling, output_shape, codes=codes, extra_idx=val_idx
    )
    return input_scaling, target


def train_network(est, X, y, train_idx, val_idx, *, epochs, input_shape,
                  output_shape, codes, seed, device, warm, checkpoint_dir,
                  output_mask=None):
    """Scalings, network and training on ``train_idx`` (validated on ``val_idx``).

    Parameters
    ----------
    est : Spec2VolEstimator
        Its parameters (and, with ``warm``, its fitted network and scalings).
    X, y : array-like
        The data given to ``fit`` (validated).
    train_idx, val_idx : ndarray of int
    epochs : int
    input_shape, output_shape : tuple of int
    codes : ndarray of int
        Run code of every row (target standardization per run).
    seed : int
    device : torch.device
    warm : bool
        Continue from ``est.model_`` with its scalings.
    checkpoint_dir : str or Path or None
    output_mask : ndarray of bool of shape (D, H, W), optional
        The voxels the network learns (the training mean elsewhere).

    Returns
    -------
    fit : SimpleNamespace
        ``model`` (trained, eval mode), ``history``, ``best_epoch``,
        ``input_scaling``, ``target`` (with the per-run statistics of the fitted
        rows), ``target_mean`` and the training ``cfg``.
    """
    import torch

    from ..models import create_model, model_from_config
    from . import training as _training

    input_scaling, target = fit_scalings(
        est, X, y, train_idx, val_idx, input_shape, output_shape, codes
    )
    if warm:  # keep the statistics the weights were fitted with
        input_scaling = est.input_scaler_
        target.location = est.target_scaler_.location
        target.scale = est.target_scaler_.scale
        target.lo, target.hi = est.target_scaler_.lo, est.target_scaler_.hi

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if warm:
            model = est.model_.to("cpu")
        elif isinstance(est.model, dict):
            model = model_from_config(dict(est.model))
        else:
            overrides = dict(est.model_params or {})
            shapes = dict(
                n_context=input_shape[0],
                n_channels=input_shape[1],
                n_freqs=input_shape[2],
                out_shape=output_shape,
            )
            model = create_model(est.model, **shapes, **overrides)
            bounded = model.get_config().get("output_activation")
            if (
                bounded is not None
                and est.target_scaling == "zscore"
                and "output_activation" not in overrides
            ):
                # z-scored targets are unbounded: the same network, linear output
                logger.info(
                    "%s: its %s output bounds predictions to [0, 1]; with "
                    "target_scaling='zscore' it gets a linear output instead "
                    "(keep the %s with target_scaling='volume', the official "
                    "recipe)", est.model, bounded, bounded,
                )
                torch.manual_seed(seed)
                model = create_model(
                    est.model, **shapes, **overrides, output_activation=None
                )
        check_model_output(model, input_shape, output_shape, est.model)
        check_target_range(model, est.target_scaling, est.model)
        mean = fit_target_mean(est, model, y, train_idx, output_shape, target, warm)
        if mean is not None and not warm:
            zeroed = zero_output(model, input_shape)
            logger.debug("output layer zero-initialised: %s", zeroed)
        params = est.get_params(deep=False)
        fingerprint = {
            "params": {
                k: params[k]
                for k in sorted(params)
                if k
                not in (
                    "epochs",
                    "verbose",
                    "checkpoint_dir",
                    "device",
                    "early_stopping",
                    "n_iter_no_change",
                    "warm_start",
                    "baseline_check",
                    "refit",
                    "frequencies",
                )
            },
            "seed": seed,
            "input_shape": input_shape,
            "output_shape": output_shape,
            "n_samples": len(X),
            "train": index_digest(train_idx),
            "val": index_digest(val_idx),
            "runs": index_digest(codes),
            "input": scaling_digest(input_scaling),
            "target": scaling_digest(target),
            "warm_start": bool(warm),
            "output_mask": None if output_mask is None else index_digest(
                np.flatnonzero(output_mask)
            ),
        }
        cfg = _training.TrainConfig(
            input_shape=input_shape,
            output_shape=output_shape,
            input_scaling=input_scaling,
            target=target,
            epochs=epochs,
            **{name: params[name] for name in _TRAIN_PARAMS},
            early_stopping=bool(est.early_stopping),
            seed=seed,
            device=device,
            verbose=int(est.verbose),
            checkpoint_dir=str(checkpoint_dir) if checkpoint_dir else None,
            fingerprint=fingerprint,
            target_offset=mean,
            output_mask=output_mask,
        )
        logger.info(
            "training %s (%s parameters) on %d samples (%d for validation) on "
            "%s; X %s -> y %s",
            model.get_config().get("name", type(model).__name__),
            f"{sum(p.numel() for p in model.parameters()):,}",
            len(train_idx),
            len(val_idx),
            cfg.device,
            input_shape,
            output_shape,
        )
        model, history, best_epoch = _training.train_model(
            model, X, y, train_idx, val_idx, cfg
        )
    return SimpleNamespace(
        model=model, history=history, best_epoch=best_epoch,
        input_scaling=input_scaling, target=target, target_mean=mean,
        cfg=cfg,
    )


def fit_target_mean(est, model, y, train_idx, output_shape, target, warm):
    """The offset added to the network outputs (``target_mean_``) or None."""
    if est.target_offset is None:
        return None
    activation = model.get_config().get("output_activation")
    if activation is not None:
        logger.info(
            "target_offset='mean' not applied: the model ends with a %s output "
            "activation (bounded), which cannot learn a residual of either sign",
            activation,
        )
        return None
    previous = getattr(est, "target_mean_", None) if warm else None
    if previous is not None:
        return previous  # warm start: keep the offset the weights were fitted with
    return target_mean(y, train_idx, output_shape, target)

# --------------------------------------------------------------------- predict
