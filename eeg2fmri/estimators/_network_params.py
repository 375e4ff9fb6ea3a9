"""The parameters of :class:`~eeg2fmri.Spec2VolEstimator`: allowed values and checks.

Kept free of torch so that checking parameters (``set_params``, ``fit``'s first step,
the BIDS-App's usage errors) imports no deep-learning library.
"""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np

from . import scaling
from ._band_features import _real_vector
from ._params import is_bool, is_int, is_real, one_of

__all__ = ["LOSSES", "LR_SCHEDULES", "SELECTIONS", "NETWORK_PARAMETER_CHECKS"]

#: Training losses (``loss``; the names of :func:`eeg2fmri.losses.make_loss`).
LOSSES = ("mse", "hybrid", "correlation")
#: Learning-rate schedules (``lr_schedule``; see
#: :func:`eeg2fmri.estimators.training.lr_factor`).
LR_SCHEDULES = ("cosine", "cosine-restarts", "constant")
#: Validation scores the kept epoch can be selected on (``selection``); ``"last"``
#: keeps the last epoch (validation scores are still recorded in the history).
SELECTIONS = ("last", "temporal_r", "ssim", "psnr", "loss")

#: parameter name -> (check, what is expected), read by ``_validate_params``
NETWORK_PARAMETER_CHECKS = {
    "epochs": (lambda v: is_int(v, 1), "an int >= 1"),
    "batch_size": (lambda v: is_int(v, 1), "an int >= 1"),
    "lr": (lambda v: is_real(v, 0, low_open=True), "a float > 0"),
    "weight_decay": (lambda v: is_real(v, 0), "a float >= 0"),
    "lambda_ssim": (lambda v: is_real(v, 0, 1), "a float in [0, 1]"),
    "loss": one_of(LOSSES),
    "lr_schedule": one_of(LR_SCHEDULES),
    "warmup_steps": (lambda v: is_int(v, 0), "an int >= 0"),
    "selection": one_of(SELECTIONS),
    "input_scaling": one_of(scaling.INPUT_SCALINGS),
    "restart_epochs": (lambda v: is_int(v, 1), "an int >= 1"),
    "grad_clip": (
        lambda v: v is None or is_real(v, 0, low_open=True),
        "None or a float > 0",
    ),
    "validation_split": (
        lambda v: v is None or is_real(v, 0, 1) and v < 1,
        "None or a float in [0, 1)",
    ),
    "early_stopping": (is_bool, "a bool"),
    "n_iter_no_change": (lambda v: is_int(v, 1), "an int >= 1"),
    "target_offset": (
        lambda v: v is None or (isinstance(v, str) and v == "mean"),
        "'mean' or None",
    ),
    "model_params": (lambda v: v is None or isinstance(v, dict), "None or a dict"),
    "model": (
        lambda v: isinstance(v, str | dict),
        "a registered name or a config dict",
    ),
    "device": (lambda v: isinstance(v, str), "'auto', 'cpu', 'cuda' or 'cuda:N'"),
    "verbose": (lambda v: is_int(v, 0) or isinstance(v, bool), "an int >= 0"),
    "warm_start": (is_bool, "a bool"),
    "baseline_check": (is_bool, "a bool"),
    "refit": (is_bool, "a bool"),
    "ridge_backing": (is_bool, "a bool"),
    "signal_voxels": (
        lambda v: v is None or (isinstance(v, str) and v == "ridge"),
        "'ridge' or None",
    ),
    "frequencies": (
        lambda v: v is None or (np.ndim(v) == 1 and _real_vector(v) is not None),
        "None or a 1-D sequence of finite frequencies in Hz, one per bin of X",
    ),
}
