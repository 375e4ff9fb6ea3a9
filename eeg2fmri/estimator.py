"""Scikit-learn estimators that synthesize fMRI volumes from EEG spectra.

:class:`Spec2VolEstimator` trains a model of the :mod:`eeg2fmri.models` registry with
scikit-learn's ``fit`` / ``predict`` / ``score``; :class:`MeanVolumeRegressor` is the
honest baseline that always predicts the mean training volume.

Defaults and the official recipe
--------------------------------
The defaults are those the benchmark study chose (``docs/study.rst``) because with
them the synthesized BOLD follows the measured BOLD over time on held-out
participants: ``spec2vol-small`` (Spec2VolCAMU-Net scaled down, with a global
bridge), inputs standardized per (channel, frequency), targets standardized per voxel
within each run, MSE, a cosine learning-rate decay with warm-up, and the best epoch
picked on the validation participants' temporal correlation.
:meth:`Spec2VolEstimator.official` gives the recipe of the paper's code instead
(``spec2vol``, global min-max inputs, per-volume [0, 1] targets, SSIM + MSE, cosine
with warm restarts, selection on SSIM).

Units
-----
Inputs ``X`` are EEG spectra of shape ``(n_samples, n_context, n_channels, n_freqs)``
(or flattened to 2-D), scaled with training statistics (``input_scaling``). Targets
``y`` of shape ``(n_samples, D, H, W)`` (or flattened) are scaled according to
``target_scaling``:

``'zscore'`` (default)
    Every voxel standardized over time within its run (``runs`` given to ``fit``,
    else one run per participant of ``groups``). ``predict`` returns BOLD intensity:
    the training runs' mean volume plus the predicted z times the voxels' temporal
    standard deviation (attributes ``target_scaler_.location`` and ``.scale``).
``'volume'`` (official)
    Each volume min-max scaled to [0, 1] on its own. ``predict`` returns volumes in
    these per-volume [0, 1] units (the spatial pattern, not the signal level).
``'run'``
    One minimum and maximum over all training targets; ``predict`` maps the outputs
    back to the units of the training targets.

``score`` is the mean voxel-wise temporal correlation between ``predict(X)`` and
``y``; SSIM and PSNR (:mod:`eeg2fmri.metrics` scorers) compare volumes in the paper's
units, each volume min-max scaled to [0, 1].
"""

# SPDX-License-Identifier: BSD-3-Clause

import difflib
import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _scaling
from ._utils.logging import logger, set_log_level

#: Training losses (``loss``), schedules (``lr_schedule``) and selection scores
#: (``selection``); the same tuples as :mod:`eeg2fmri.losses` and the training loop,
#: repeated here so that parameter checks do not import torch.
LOSSES = ("mse", "hybrid", "correlation")
LR_SCHEDULES = ("cosine", "cosine-restarts", "constant")
SELECTIONS = ("temporal_r", "ssim", "psnr", "loss")

__all__ = ["Spec2VolEstimator", "MeanVolumeRegressor"]


# ------------------------------------------------------------------ input validation


def _is_lazy_nd(X):
    shape = getattr(X, "shape", None)
    return (
        shape is not None
        and hasattr(X, "__getitem__")
        and len(shape) >= 3
        and not hasattr(X, "tocsr")
    )


def _check_shape_param(value, name, length):
    if value is None:
        return None
    try:
        shape = tuple(int(v) for v in value)
    except TypeError:
        shape = ()
    if len(shape) != length or any(s < 1 for s in shape):
        raise ValueError(
            f"The '{name}' parameter must be None or a tuple of {length} positive "
            "ints. "
            f"Got {value!r} instead."
        )
    return shape


def _check_numeric(arr, name):
    dtype = np.dtype(getattr(arr, "dtype", np.float64))
    if not (np.issubdtype(dtype, np.floating) or np.issubdtype(dtype, np.integer)):
        raise ValueError(f"{name} must contain numbers. Got dtype {dtype} instead.")


def _target_layout(y, output_shape, n_samples, name):
    """Output volume shape and the ndim of y for the flattened layouts."""
    ndim = len(y.shape)
    if len(y) != n_samples:
        raise ValueError(
            "Found input variables with inconsistent numbers of samples: X has "
            f"{n_samples} samples but y has {len(y)}."
        )
    if ndim == 4:
        shape = tuple(int(s) for s in y.shape[1:])
        if output_shape is not None and output_shape != shape:
            raise ValueError(
                f"y has volumes of shape {shape} but 'output_shape' is {output_shape}; "
                f"{name} cannot produce volumes of that shape."
            )
        return shape, 4
    if ndim == 1:
        n_out = 1
    elif ndim == 2:
        n_out = int(y.shape[1])
    else:
        raise ValueError(
            "y must have shape (n_samples, D, H, W), or be flattened to "
            "(n_samples, n_voxels) or (n_samples,). "
            f"Got shape {tuple(y.shape)} instead."
        )
    shape = output_shape or (1, 1, n_out)
    if int(np.prod(shape)) != n_out:
        raise ValueError(
            f"y has {n_out} values per sample but 'output_shape' {shape} holds "
            f"{int(np.prod(shape))}; {name} cannot produce targets of that shape."
        )
    return tuple(shape), ndim


def _check_fit_data(est, X, y):
    """Validate (X, y) for fit; returns (X, y, input_shape, output_shape, y_ndim).

    2-D inputs go through scikit-learn's ``validate_data`` (feature names, dtypes,
    finiteness); N-D and lazy inputs are checked without being read (finiteness is
    checked while streaming the scaling statistics).
    """
    name = type(est).__name__
    input_shape = _check_shape_param(est.input_shape, "input_shape", 3)
    output_shape = _check_shape_param(est.output_shape, "output_shape", 3)
    if y is None:
        raise ValueError(f"{name} requires y to be passed, but the target y is None.")
    if _is_lazy_nd(X):
        if len(X.shape) != 4:
            raise ValueError(
                "X must have shape (n_samples, n_context, n_channels, n_freqs) or be "
                "flattened to (n_samples, n_features). "
                f"Got shape {tuple(X.shape)} instead."
            )
        _check_numeric(X, "X")
        if len(X) < 1:
            raise ValueError(
                "Found array with 0 sample(s) while a minimum of 1 is required."
            )
        shape = tuple(int(s) for s in X.shape[1:])
        if input_shape is not None and input_shape != shape:
            raise ValueError(
                f"X has samples of shape {shape} but 'input_shape' is {input_shape}."
            )
        input_shape = shape
        if not hasattr(y, "shape"):
            y = np.asarray(y)
        _check_numeric(y, "y")
    else:
        if hasattr(X, "shape") and len(X.shape) == 3:
            raise ValueError(
                "X must have shape (n_samples, n_context, n_channels, n_freqs) or be "
                "flattened to (n_samples, n_features). "
                f"Got shape {tuple(X.shape)} instead."
            )
        y_is_nd = hasattr(y, "shape") and len(y.shape) > 2
        if y_is_nd:
            X = validate_data(est, X, reset=True, dtype=[np.float32, np.float64])
        else:
            X, y = validate_data(
                est,
                X,
                y,
                reset=True,
                multi_output=True,
                y_numeric=True,
                dtype=[np.float32, np.float64],
            )
        n_features = X.shape[1]
        input_shape = input_shape or (1, 1, n_features)
        if int(np.prod(input_shape)) != n_features:
            raise ValueError(
                f"X has {n_features} features but 'input_shape' {input_shape} holds "
                f"{int(np.prod(input_shape))}."
            )
    output_shape, y_ndim = _target_layout(y, output_shape, len(X), name)
    return X, y, input_shape, output_shape, y_ndim


def _check_predict_data(est, X):
    """Validate X for predict against the fitted input shape."""
    check_is_fitted(est)
    if _is_lazy_nd(X):
        shape = tuple(int(s) for s in X.shape[1:])
        if shape != tuple(est.input_shape_):
            raise ValueError(
                f"X has samples of shape {shape}, but {type(est).__name__} was fitted "
                f"on samples of shape {tuple(est.input_shape_)}."
            )
        _check_numeric(X, "X")
        return X
    return validate_data(est, X, reset=False, dtype=[np.float32, np.float64])


def _format_prediction(pred, n, y_ndim, output_shape):
    if y_ndim == 4:
        return pred.reshape(n, *output_shape)
    pred = np.asarray(pred, dtype=np.float64).reshape(n, -1)
    return pred.ravel() if y_ndim == 1 else pred


def _target_mean(y, indices, output_shape, target, chunk_size=256):
    """Mean of the scaled targets ``y[indices]`` (model units), read in chunks.

    Returns
    -------
    mean : ndarray of shape output_shape, float32
    """
    indices = np.sort(np.asarray(indices))
    total = np.zeros(output_shape, dtype=np.float64)
    for start in range(0, len(indices), chunk_size):
        idx = indices[start : start + chunk_size]
        chunk = np.asarray(y[idx]).reshape(len(idx), *output_shape)
        total += target.to_model(chunk, rows=idx).sum(axis=0, dtype=np.float64)
    return (total / max(len(indices), 1)).astype(np.float32)


def _metric_inputs(est, y_true, y_pred):
    """(y_true, y_pred) as (n, D, H, W) float64 arrays in the paper's units.

    Measured volumes are min-max scaled to [0, 1] one by one; so are predictions in
    intensity units. Predictions of ``target_scaling='volume'`` are in these units
    already and are compared as they are (as the paper does).
    """
    n = len(y_true)
    y_true = np.asarray(y_true).reshape(n, *est.output_shape_)
    y_pred = np.asarray(y_pred).reshape(n, *est.output_shape_)
    y_true = _scaling.per_volume_minmax(y_true).astype(np.float64)
    if est.target_scaling != "volume":
        y_pred = _scaling.per_volume_minmax(y_pred)
    return y_true, y_pred.astype(np.float64)


def _correlation_inputs(est, y_true, y_pred):
    """(y_true, y_pred) as (n, D, H, W) float64 arrays for temporal correlation.

    Intensity predictions are correlated with the measured volumes as they are;
    predictions in per-volume units (``target_scaling='volume'``) with the measured
    volumes scaled the same way.
    """
    n = len(y_true)
    y_true = np.asarray(y_true, dtype=np.float64).reshape(n, *est.output_shape_)
    y_pred = np.asarray(y_pred, dtype=np.float64).reshape(n, *est.output_shape_)
    if est.target_scaling == "volume":
        y_true = _scaling.per_volume_minmax(y_true).astype(np.float64)
    return y_true, y_pred


def _mean_temporal_r(est, y_true, y_pred, sample_weight=None):
    from .metrics import mean_temporal_correlation

    if sample_weight is not None:
        warnings.warn(
            "sample_weight is ignored by the temporal correlation score.",
            UserWarning,
            stacklevel=3,
        )
    return mean_temporal_correlation(*_correlation_inputs(est, y_true, y_pred))


def _fit_scalings(est, X, y, train_idx, val_idx, input_shape, output_shape, codes):
    """Input and target scalings from the training rows (validation rows checked)."""
    input_scaling = _scaling.fit_input_scaling(
        X, train_idx, est.input_scaling, input_shape
    )
    if len(val_idx):
        _scaling.streaming_minmax(X, val_idx, name="X")  # finiteness
    target = _scaling.fit_target_scaling(
        y, train_idx, est.target_scaling, output_shape, codes=codes, extra_idx=val_idx
    )
    return input_scaling, target


# ---------------------------------------------------------------- parameter checking


def _is_int(v, low, high=None):
    return (
        isinstance(v, numbers.Integral)
        and not isinstance(v, bool)
        and v >= low
        and (high is None or v <= high)
    )


def _is_real(v, low, high=None, low_open=False):
    if not isinstance(v, numbers.Real) or isinstance(v, bool) or not np.isfinite(v):
        return False
    ok_low = v > low if low_open else v >= low
    return ok_low and (high is None or v <= high)


_CONSTRAINTS = {
    "epochs": (lambda v: _is_int(v, 1), "an int >= 1"),
    "batch_size": (lambda v: _is_int(v, 1), "an int >= 1"),
    "lr": (lambda v: _is_real(v, 0, low_open=True), "a float > 0"),
    "weight_decay": (lambda v: _is_real(v, 0), "a float >= 0"),
    "lambda_ssim": (lambda v: _is_real(v, 0, 1), "a float in [0, 1]"),
    "loss": (lambda v: v in LOSSES, f"one of {LOSSES}"),
    "lr_schedule": (lambda v: v in LR_SCHEDULES, f"one of {LR_SCHEDULES}"),
    "warmup_steps": (lambda v: _is_int(v, 0), "an int >= 0"),
    "selection": (lambda v: v in SELECTIONS, f"one of {SELECTIONS}"),
    "input_scaling": (
        lambda v: v in _scaling.INPUT_SCALINGS,
        f"one of {_scaling.INPUT_SCALINGS}",
    ),
    "restart_epochs": (lambda v: _is_int(v, 1), "an int >= 1"),
    "grad_clip": (
        lambda v: v is None or _is_real(v, 0, low_open=True),
        "None or a float > 0",
    ),
    "validation_split": (
        lambda v: v is None or _is_real(v, 0, 1) and v < 1,
        "None or a float in [0, 1)",
    ),
    "early_stopping": (lambda v: isinstance(v, bool | np.bool_), "a bool"),
    "n_iter_no_change": (lambda v: _is_int(v, 1), "an int >= 1"),
    "target_scaling": (
        lambda v: v in _scaling.TARGET_SCALINGS,
        f"one of {_scaling.TARGET_SCALINGS}",
    ),
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
    "verbose": (lambda v: _is_int(v, 0) or isinstance(v, bool), "an int >= 0"),
    "warm_start": (lambda v: isinstance(v, bool | np.bool_), "a bool"),
}


def _validate_params(est):
    params = est.get_params(deep=False)
    for name, (check, expected) in _CONSTRAINTS.items():
        if name in params and not check(params[name]):
            raise ValueError(
                f"The '{name}' parameter of {type(est).__name__} must be {expected}. "
                f"Got {params[name]!r} instead."
            )


def _check_model_name(name):
    from .models import list_models

    names = list_models()
    if name.strip().lower().replace("_", "-") not in names:
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise ValueError(
            f"Unknown model {name!r}; expected one of {', '.join(names)}.{hint}"
        )


# ----------------------------------------------------------------------- estimators


class Spec2VolEstimator(RegressorMixin, BaseEstimator):
    """Synthesize fMRI volumes from EEG spectra with a deep network (scikit-learn API).

    Trains a model from the :mod:`eeg2fmri.models` registry with AdamW, a learning-rate
    schedule with warm-up and gradient clipping, and keeps the epoch with the best
    validation score on held-out training participants. The defaults learn the
    EEG-driven BOLD fluctuations (see the module documentation);
    :meth:`official` reproduces the paper's recipe.

    Parameters
    ----------
    model : str or dict, default='spec2vol-small'
        A registered model name (see :func:`eeg2fmri.models.list_models`) or a model
        configuration dict (``model.get_config()`` of a built model).
    model_params : dict, optional
        Overrides passed to :func:`eeg2fmri.models.create_model` (ablation switches,
        widths, ``bridge_latents``). Ignored when ``model`` is a config dict.
    epochs : int, default=15
        Number of passes over the training data.
    batch_size : int, default=16
        Samples per optimisation step (the global batch under ``torchrun``).
    lr : float, default=1e-3
        Peak AdamW learning rate.
    weight_decay : float, default=1e-2
        AdamW weight decay.
    loss : {'mse', 'hybrid', 'correlation'}, default='mse'
        Training loss (:func:`eeg2fmri.losses.make_loss`): mean squared error,
        the official ``lambda_ssim * (1 - SSIM) + (1 - lambda_ssim) * MSE``, or MSE
        plus one minus the mean voxel-wise correlation across the batch.
    lambda_ssim : float, default=0.5
        Weight of the SSIM term of ``loss='hybrid'``.
    lr_schedule : {'cosine', 'cosine-restarts', 'constant'}, default='cosine'
        One cosine decay to 0 over all epochs, cosine annealing with warm restarts
        every ``restart_epochs`` epochs (official), or constant; stepped per batch.
    warmup_steps : int, default=50
        Linear learning-rate warm-up over the first steps (the official code uses 50),
        at most a tenth of all steps.
    restart_epochs : int, default=10
        Period of ``lr_schedule='cosine-restarts'``, in epochs.
    grad_clip : float or None, default=1.0
        Maximum gradient norm; None disables clipping.
    validation_split : float, default=0.1
        Fraction of the training participants (``groups`` given to ``fit``) held out
        for model selection, rounded to the nearest whole number of participants
        (with the default, one from 6 training participants on: with fewer, training
        on all of them does better than picking an epoch on one; see
        ``docs/study.rst``); without groups, a random fraction of the samples, with
        a warning (neighbouring volumes are correlated, so that validation is
        optimistic). 0 or None disables validation. Without validation the last
        epoch is kept.
    selection : {'temporal_r', 'ssim', 'psnr', 'loss'}, default='temporal_r'
        Validation score the best epoch is picked on: the mean voxel-wise temporal
        correlation (model units), SSIM or PSNR (each volume min-max scaled to
        [0, 1], the paper's units), or the validation loss (lowest).
    early_stopping : bool, default=False
        Stop when the validation score has not improved for ``n_iter_no_change``
        epochs.
    n_iter_no_change : int, default=10
        Patience of early stopping, in epochs.
    input_scaling : {'standard', 'minmax'}, default='standard'
        Standardize each (channel, frequency) with the training mean and standard
        deviation, or min-max scale with the global training minimum and maximum
        (official).
    target_scaling : {'zscore', 'volume', 'run'}, default='zscore'
        Targets standardized per voxel within each run, min-max scaled per volume to
        [0, 1] (official), or with one min-max over the training targets. See the
        module documentation for the units of ``predict``.
    target_offset : {'mean'} or None, default='mean'
        ``'mean'``: the network learns the residual from the mean training target
        (model units; 0 for ``'zscore'``): ``fit`` computes it on the training split
        (attribute ``target_mean_``), initialises the network's output to exactly 0
        (:meth:`~eeg2fmri.models.Spec2Vol.zero_output_`), and adds the offset to the
        outputs in the loss and in ``predict``. Training so starts from the honest
        mean-volume baseline (:class:`MeanVolumeRegressor`). ``None``: raw network
        outputs, as the official code. Models with a bounded output activation
        (E2fNet's sigmoid) cannot learn a residual of either sign; for them the
        offset is not applied (``target_mean_`` is None).
    input_shape : tuple of 3 ints, optional
        ``(n_context, n_channels, n_freqs)`` of flattened 2-D ``X``. Default for 2-D
        ``X``: ``(1, 1, n_features)``.
    output_shape : tuple of 3 ints, optional
        ``(D, H, W)`` of flattened 2-D ``y``. Default for 1-D/2-D ``y``:
        ``(1, 1, n_targets)``.
    device : str, default='auto'
        ``'auto'`` (CUDA when available), ``'cpu'``, ``'cuda'`` or ``'cuda:N'``.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, batch order, dropout and the validation split.
        With an int, two fits on the same machine give identical weights on CPU.
    verbose : int, default=0
        0 is quiet; 1 shows a progress bar per epoch (on a terminal) and logs a summary
        per epoch and a training-time estimate; 2 adds debug messages.
    warm_start : bool, default=False
        Continue from the weights (and scaling) of the previous fit instead of a new
        initialisation.
    checkpoint_dir : str or path-like, optional
        Write a checkpoint after every epoch there; a fit interrupted and restarted on
        the same data with the same parameters resumes from the last checkpoint.

    Attributes
    ----------
    model_ : torch.nn.Module
        The trained network (weights of the selected epoch), in eval mode.
    model_config_ : dict
        ``model_.get_config()``; rebuilds the network with
        :func:`eeg2fmri.models.model_from_config`.
    input_shape_ : tuple of int
        ``(n_context, n_channels, n_freqs)``.
    output_shape_ : tuple of int
        ``(D, H, W)``.
    n_features_in_ : int
        Number of input values per sample.
    input_scaler_ : InputScaling
        Input statistics (training participants only): ``mean``/``std`` of shape
        ``(n_channels, n_freqs)`` for ``'standard'``, ``lo``/``hi`` for
        ``'minmax'``.
    target_scaler_ : TargetScaling
        Target statistics (training participants only): ``location`` and ``scale``
        of shape ``(D, H, W)`` for ``'zscore'``, ``lo``/``hi`` for ``'run'``.
    run_source_ : {'runs', 'groups', 'none'}
        What defined the runs of ``target_scaling='zscore'``.
    target_mean_ : ndarray of shape (D, H, W) or None
        Mean scaled training target (float32, model units) added to the network
        outputs (``target_offset='mean'``); None when no offset is applied.
    history_ : list of dict
        One dict per epoch: ``epoch``, ``train_loss``, ``val_loss``,
        ``val_temporal_r``, ``val_ssim``, ``val_psnr``, ``lr``, ``seconds``.
    best_epoch_ : int
        Epoch whose weights were kept (1-based).
    validation_groups_ : list or None
        Participants held out for model selection.
    device_ : str
        Device the model was trained on.

    See Also
    --------
    MeanVolumeRegressor : The mean-volume baseline.
    eeg2fmri.linear.BandPowerRidge : The linear band-power baseline.
    eeg2fmri.metrics.SCORERS : Scorers for ``cross_validate``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((8, 2, 4, 6)).astype("float32")
    >>> y = rng.random((8, 2, 8, 8)).astype("float32")
    >>> est = Spec2VolEstimator("spec2vol-tiny", epochs=1, validation_split=0,
    ...                         random_state=0).fit(X, y)
    >>> est.predict(X).shape
    (8, 2, 8, 8)
    """

    def __init__(
        self,
        model="spec2vol-small",
        *,
        model_params=None,
        epochs=15,
        batch_size=16,
        lr=1e-3,
        weight_decay=1e-2,
        loss="mse",
        lambda_ssim=0.5,
        lr_schedule="cosine",
        warmup_steps=50,
        restart_epochs=10,
        grad_clip=1.0,
        validation_split=0.1,
        selection="temporal_r",
        early_stopping=False,
        n_iter_no_change=10,
        input_scaling="standard",
        target_scaling="zscore",
        target_offset="mean",
        input_shape=None,
        output_shape=None,
        device="auto",
        random_state=None,
        verbose=0,
        warm_start=False,
        checkpoint_dir=None,
    ):
        self.model = model
        self.model_params = model_params
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.loss = loss
        self.lambda_ssim = lambda_ssim
        self.lr_schedule = lr_schedule
        self.warmup_steps = warmup_steps
        self.restart_epochs = restart_epochs
        self.grad_clip = grad_clip
        self.validation_split = validation_split
        self.selection = selection
        self.early_stopping = early_stopping
        self.n_iter_no_change = n_iter_no_change
        self.input_scaling = input_scaling
        self.target_scaling = target_scaling
        self.target_offset = target_offset
        self.input_shape = input_shape
        self.output_shape = output_shape
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.checkpoint_dir = checkpoint_dir

    #: Parameters of the official Spec2VolCAMU-Net code (hdy6438/Spec2VolCAMU-Net),
    #: as :meth:`official` sets them.
    OFFICIAL_PARAMS = {
        "model": "spec2vol",
        "epochs": 50,
        "batch_size": 16,
        "lr": 1e-3,
        "weight_decay": 1e-2,
        "loss": "hybrid",
        "lambda_ssim": 0.5,
        "lr_schedule": "cosine-restarts",
        "warmup_steps": 50,
        "restart_epochs": 10,
        "grad_clip": 1.0,
        "selection": "ssim",
        "input_scaling": "minmax",
        "target_scaling": "volume",
        "target_offset": None,
    }

    @classmethod
    def official(cls, **overrides):
        """An estimator with the recipe of the paper's official code.

        ``spec2vol`` (45.9 M parameters), inputs min-max scaled with the training
        minimum and maximum, each target volume min-max scaled to [0, 1], the loss
        ``0.5 * (1 - SSIM) + 0.5 * MSE``, AdamW at 1e-3 with 50 warm-up steps and
        cosine annealing restarted every 10 epochs, 50 epochs of batches of 16, the
        epoch with the best SSIM kept (on validation participants, never on the test
        participant as the official code did). Use it with
        :meth:`eeg2fmri.features.FeatureParams.official` features to reproduce the
        paper. It does not learn the EEG-driven fluctuations (temporal r about 0;
        ``docs/study.rst``).

        Parameters
        ----------
        **overrides
            Any parameter, e.g. ``model="spec2vol-small"`` for a CPU-sized network
            with the official recipe (add ``model_params={"bridge_latents": 0}`` for
            its official topology).

        Returns
        -------
        estimator : Spec2VolEstimator
        """
        return cls(**{**cls.OFFICIAL_PARAMS, **overrides})

    # ------------------------------------------------------------------------- fit

    def fit(self, X, y, groups=None, runs=None):
        """Train the model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_context, n_channels, n_freqs) or \
(n_samples, n_features)
            EEG spectra: numpy arrays, memory maps or lazy array-likes (indexable
            with integer arrays); batches are read on the fly.
        y : array-like of shape (n_samples, D, H, W), (n_samples, n_voxels) or \
(n_samples,)
            Measured volumes.
        groups : array-like of shape (n_samples,), optional
            Participant of each sample; the validation split holds out whole
            participants.
        runs : array-like of shape (n_samples,), optional
            Run of each sample (``PairedDataset.provenance["run_label"]``), for
            ``target_scaling='zscore'``; without it each participant of ``groups``
            is taken as one run (or, without groups, all samples as one run).

        Returns
        -------
        self : Spec2VolEstimator
            The fitted estimator.
        """
        import torch

        from . import _training
        from .models import create_model, model_from_config

        _validate_params(self)
        if isinstance(self.model, str):
            _check_model_name(self.model)
        if self.verbose:
            set_log_level(self.verbose)
        X, y, input_shape, output_shape, y_ndim = _check_fit_data(self, X, y)
        n = len(X)
        rng = check_random_state(self.random_state)
        seed = int(rng.randint(0, 2**31 - 1))
        train_idx, val_idx, val_groups = _validation_split(
            n, groups, self.validation_split, seed
        )
        codes, run_source = _scaling.run_codes(runs, n, groups)
        if self.target_scaling == "zscore" and run_source != "runs":
            logger.info(
                "target_scaling='zscore' without runs: each %s is standardized as "
                "one run",
                "participant (groups)" if run_source == "groups" else "fit",
            )

        warm = (
            self.warm_start
            and hasattr(self, "model_")
            and tuple(self.input_shape_) == input_shape
            and tuple(self.output_shape_) == output_shape
        )
        input_scaling, target = _fit_scalings(
            self, X, y, train_idx, val_idx, input_shape, output_shape, codes
        )
        if warm:  # keep the statistics the weights were fitted with
            input_scaling = self.input_scaler_
            target.location = self.target_scaler_.location
            target.scale = self.target_scaler_.scale
            target.lo, target.hi = self.target_scaler_.lo, self.target_scaler_.hi

        device = _training.resolve_device(self.device)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            if warm:
                model = self.model_.to("cpu")
            elif isinstance(self.model, dict):
                model = model_from_config(dict(self.model))
            else:
                model = create_model(
                    self.model,
                    n_context=input_shape[0],
                    n_channels=input_shape[1],
                    n_freqs=input_shape[2],
                    out_shape=output_shape,
                    **(self.model_params or {}),
                )
            _check_model_output(model, input_shape, output_shape, self.model)
            _check_target_range(model, self.target_scaling, self.model)
            target_mean = self._fit_target_mean(
                model, y, train_idx, output_shape, target, warm
            )
            if target_mean is not None and not warm:
                zeroed = _zero_output(model, input_shape)
                logger.debug("output layer zero-initialised: %s", zeroed)
            params = self.get_params(deep=False)
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
                    )
                },
                "seed": seed,
                "input_shape": input_shape,
                "output_shape": output_shape,
                "n_samples": n,
                "train": _index_digest(train_idx),
                "val": _index_digest(val_idx),
                "runs": _index_digest(codes),
                "input": _scaling_digest(input_scaling),
                "target": _scaling_digest(target),
                "warm_start": bool(warm),
            }
            cfg = _training.TrainConfig(
                input_shape=input_shape,
                output_shape=output_shape,
                input_scaling=input_scaling,
                target=target,
                epochs=self.epochs,
                batch_size=self.batch_size,
                lr=self.lr,
                weight_decay=self.weight_decay,
                loss=self.loss,
                lambda_ssim=self.lambda_ssim,
                lr_schedule=self.lr_schedule,
                warmup_steps=self.warmup_steps,
                restart_epochs=self.restart_epochs,
                grad_clip=self.grad_clip,
                selection=self.selection,
                early_stopping=bool(self.early_stopping),
                n_iter_no_change=self.n_iter_no_change,
                seed=seed,
                device=device,
                verbose=int(self.verbose),
                checkpoint_dir=(
                    str(self.checkpoint_dir) if self.checkpoint_dir else None
                ),
                fingerprint=fingerprint,
                target_offset=target_mean,
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

        self.model_ = model
        self.model_config_ = model.get_config()
        self.input_shape_ = input_shape
        self.output_shape_ = output_shape
        self.n_features_in_ = int(np.prod(input_shape))
        self.input_scaler_ = input_scaling
        self.target_scaler_ = target.release_fit_state()
        self.run_source_ = run_source
        self.target_mean_ = target_mean
        self.history_ = history
        self.best_epoch_ = int(best_epoch)
        self.validation_groups_ = val_groups
        self.device_ = str(cfg.device)
        self._y_ndim = y_ndim
        return self

    def _fit_target_mean(self, model, y, train_idx, output_shape, target, warm):
        """The offset added to the network outputs (``target_mean_``) or None."""
        if self.target_offset is None:
            return None
        activation = model.get_config().get("output_activation")
        if activation is not None:
            logger.info(
                "target_offset='mean' not applied: the model ends with a %s output "
                "activation (bounded), which cannot learn a residual of either sign",
                activation,
            )
            return None
        previous = getattr(self, "target_mean_", None) if warm else None
        if previous is not None:
            return previous  # warm start: keep the offset the weights were fitted with
        return _target_mean(y, train_idx, output_shape, target)

    # --------------------------------------------------------------------- predict

    def _predict_config(self):
        from types import SimpleNamespace

        from ._training import resolve_device

        device = resolve_device(self.device)
        if next(self.model_.parameters()).device != device:
            self.model_.to(device)
        return SimpleNamespace(
            input_shape=tuple(self.input_shape_),
            output_shape=tuple(self.output_shape_),
            input_scaling=self.input_scaler_,
            batch_size=self.batch_size,
            device=device,
            target_offset=getattr(self, "target_mean_", None),
        )

    def predict(self, X):
        """Synthesize volumes.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_context, n_channels, n_freqs) or \
(n_samples, n_features)
            EEG spectra (read in batches).

        Returns
        -------
        y_pred : ndarray of shape (n_samples, D, H, W), (n_samples, n_voxels) or \
(n_samples,)
            The layout of ``y`` in ``fit``: float32 volumes, or float64 for flattened
            targets. Units: BOLD intensity like the training targets for
            ``target_scaling='zscore'`` and ``'run'``; per-volume [0, 1] for
            ``'volume'``.
        """
        from ._training import predict_batches

        X = _check_predict_data(self, X)
        pred = predict_batches(self.model_, X, self._predict_config())
        pred = self.target_scaler_.to_prediction(pred)
        return _format_prediction(pred, len(X), self._y_ndim, self.output_shape_)

    def score(self, X, y, sample_weight=None):
        """Mean voxel-wise temporal correlation between ``predict(X)`` and ``y``.

        The samples are taken as one time series (correlation does not depend on
        their order); voxels where ``y`` is constant are left out, and a prediction
        that is constant over the samples scores 0 (the mean-volume baseline).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_context, n_channels, n_freqs) or \
(n_samples, n_features)
            EEG spectra.
        y : array-like of shape (n_samples, D, H, W) or flattened
            Measured volumes (units of ``fit``).
        sample_weight : None
            Not supported (ignored with a warning).

        Returns
        -------
        score : float
            Mean r over the voxels (see :func:`eeg2fmri.metrics.temporal_correlation`
            for per-voxel maps and :data:`eeg2fmri.metrics.SCORERS` for SSIM/PSNR).
        """
        return _mean_temporal_r(self, y, self.predict(X), sample_weight)

    def _metric_inputs(self, y_true, y_pred):
        return _metric_inputs(self, y_true, y_pred)

    def _correlation_inputs(self, y_true, y_pred):
        return _correlation_inputs(self, y_true, y_pred)

    def __sklearn_is_fitted__(self):
        return hasattr(self, "model_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        tags.regressor_tags.poor_score = True
        tags.input_tags.allow_nan = False
        tags.non_deterministic = self.device not in ("cpu", "auto")
        return tags

    # ----------------------------------------------------------------- persistence

    def save(self, path):
        """Write the fitted estimator as safetensors weights + a JSON description.

        Parameters
        ----------
        path : str or path-like
            A directory (``weights.safetensors`` and ``estimator.json`` inside), or a
            file name ending in ``.safetensors`` (the JSON is written next to it).

        Returns
        -------
        path : pathlib.Path
            The JSON file written.
        """
        from ._persistence import save_estimator

        check_is_fitted(self)
        return save_estimator(self, path)

    @classmethod
    def load(cls, path):
        """Load an estimator written by :meth:`save` (nothing is unpickled).

        Parameters
        ----------
        path : str or path-like
            The directory, the ``.safetensors`` file or the JSON file.

        Returns
        -------
        estimator : Spec2VolEstimator

        Raises
        ------
        eeg2fmri.exceptions.ModelFileError
            If the files are missing, were not written by eeg2fmri or are corrupt.
        """
        from ._persistence import load_estimator

        return load_estimator(path, expected=cls)

    def __getstate__(self):
        from ._persistence import module_state

        state = self.__dict__.copy()
        if "model_" in state:
            state["model_"] = module_state(self.model_)
        return state

    def __setstate__(self, state):
        from ._persistence import module_from_state

        if isinstance(state.get("model_"), dict):
            state["model_"] = module_from_state(state["model_"])
        self.__dict__.update(state)


def _check_model_output(model, input_shape, output_shape, name):
    import torch

    training = model.training
    model.eval()
    with torch.no_grad():
        try:
            out = model(torch.zeros(1, *input_shape))
        except Exception as exc:  # the architecture cannot take these inputs
            raise ValueError(
                f"Model {_model_label(name)} cannot take inputs of shape "
                f"{input_shape}: "
                f"{exc}"
            ) from exc
    model.train(training)
    if tuple(out.shape[1:]) != tuple(output_shape):
        raise ValueError(
            f"Model {_model_label(name)} produces volumes of shape "
            f"{tuple(out.shape[1:])} but y has volumes of shape {tuple(output_shape)}."
        )


def _check_target_range(model, target_scaling, name):
    """Refuse a bounded output activation with unbounded (z-scored) targets."""
    activation = model.get_config().get("output_activation")
    if activation is not None and target_scaling == "zscore":
        raise ValueError(
            f"Model {_model_label(name)} ends with a {activation} (outputs in [0, 1]) "
            "and cannot predict target_scaling='zscore' targets; use "
            "target_scaling='volume' (official) or "
            "model_params={'output_activation': None}."
        )


def _zero_output(model, input_shape):
    """Make the model output exactly 0 at initialisation; returns True if it did.

    Models of the registry that can (Spec2VolCAMU-Net) say how with ``zero_output_()``;
    for any other model, the last module with parameters that runs in ``forward`` is
    zeroed, and kept zeroed only if that makes the output exactly 0 (nothing but
    reshapes and crops after it).
    """
    import torch

    if hasattr(model, "zero_output_"):
        model.zero_output_()
        return True
    order = []
    hooks = [
        m.register_forward_hook(lambda mod, inp, out: order.append(mod))
        for m in model.modules()
        if any(True for _ in m.parameters(recurse=False))
    ]
    training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros(1, *input_shape))
    finally:
        for h in hooks:
            h.remove()
    if not order:
        model.train(training)
        return False
    layer = order[-1]
    saved = {k: v.detach().clone() for k, v in layer.named_parameters(recurse=False)}
    with torch.no_grad():
        for v in layer.parameters(recurse=False):
            v.zero_()
        probe = torch.linspace(0, 1, 2 * int(np.prod(input_shape)))
        out = model(probe.reshape(2, *input_shape))
        ok = bool(torch.all(out == 0))
        if not ok:
            for k, v in layer.named_parameters(recurse=False):
                v.copy_(saved[k])
    model.train(training)
    return ok


def _scaling_digest(scaling):
    """Short hash of fitted scaling statistics (for the checkpoint fingerprint)."""
    import hashlib

    h = hashlib.sha256(scaling.method.encode())
    for name in ("lo", "hi", "mean", "std", "location", "scale"):
        value = getattr(scaling, name, None)
        if value is not None:
            h.update(name.encode())
            h.update(np.ascontiguousarray(value, dtype=np.float64).tobytes())
    return h.hexdigest()[:16]


def _model_label(model):
    return repr(model) if isinstance(model, str) else repr(model.get("name", "config"))


def _index_digest(idx):
    import hashlib

    return hashlib.sha256(np.ascontiguousarray(idx, dtype=np.int64)).hexdigest()[:16]


def _validation_split(n, groups, validation_split, seed):
    """Indices (train, validation) and the validation groups (or None)."""
    all_idx = np.arange(n)
    if groups is not None:
        groups = np.asarray(groups)
        if groups.shape != (n,):
            raise ValueError(
                f"groups must have shape ({n},), one label per sample. Got shape "
                f"{groups.shape} instead."
            )
    if not validation_split:
        return all_idx, all_idx[:0], None
    rng = np.random.default_rng([seed, 7])
    if groups is not None:
        labels = np.unique(groups)
        if len(labels) >= 2:
            n_val = min(round(validation_split * len(labels)), len(labels) - 1)
            if n_val < 1:
                logger.info(
                    "validation_split=%g of %d participants rounds to none: every "
                    "participant trains the model and the last epoch is kept",
                    validation_split,
                    len(labels),
                )
                return all_idx, all_idx[:0], None
            val_groups = np.sort(rng.choice(labels, n_val, replace=False))
            is_val = np.isin(groups, val_groups)
            return all_idx[~is_val], all_idx[is_val], val_groups.tolist()
        warnings.warn(
            "Only one group (participant) in the training data: the validation split "
            "holds out random samples of it, and validation scores are optimistic "
            "because neighbouring volumes are correlated.",
            UserWarning,
            stacklevel=3,
        )
    else:
        warnings.warn(
            "No groups given to fit: the validation split holds out random samples, "
            "which gives optimistic validation scores because neighbouring volumes "
            "are correlated; pass groups=<participant per sample> to hold out whole "
            "participants, or validation_split=0 to disable it.",
            UserWarning,
            stacklevel=3,
        )
    if n < 2:
        return all_idx, all_idx[:0], None
    n_val = min(max(1, round(validation_split * n)), n - 1)
    perm = rng.permutation(n)
    return np.sort(perm[n_val:]), np.sort(perm[:n_val]), None


class MeanVolumeRegressor(RegressorMixin, BaseEstimator):
    """Baseline that predicts the mean training volume for every input.

    SSIM of a constant mean volume is already high, because anatomy dominates the
    images, and its temporal correlation with the measured BOLD is 0 (it does not
    change over time); every score of :class:`Spec2VolEstimator` should be read next
    to this one.

    Parameters
    ----------
    target_scaling : {'zscore', 'volume', 'run'}, default='zscore'
        Units of the mean, as in :class:`Spec2VolEstimator`: for ``'zscore'`` the mean
        of the training runs' mean volumes in BOLD intensity, for ``'volume'`` the
        mean of the per-volume [0, 1] scaled volumes, for ``'run'`` the mean volume in
        the units of the targets.
    input_shape : tuple of 3 ints, optional
        Shape of one input sample for flattened 2-D ``X``.
    output_shape : tuple of 3 ints, optional
        ``(D, H, W)`` for flattened 2-D ``y``.

    Attributes
    ----------
    mean_volume_ : ndarray of shape (D, H, W)
        Mean training volume in model units (0 for ``'zscore'``).
    target_scaler_ : TargetScaling
        Target statistics (see :class:`Spec2VolEstimator`).
    run_source_ : {'runs', 'groups', 'none'}
        What defined the runs of ``target_scaling='zscore'``.
    input_shape_, output_shape_ : tuple of int
        Sample shapes seen in ``fit``.
    n_features_in_ : int
        Number of input values per sample.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.zeros((4, 1, 2, 3))
    >>> y = np.arange(4 * 8, dtype=float).reshape(4, 2, 2, 2)
    >>> base = MeanVolumeRegressor(target_scaling="run").fit(X, y)
    >>> base.predict(X[:1])[0, 0].round(3)
    array([[12., 13.],
           [14., 15.]], dtype=float32)
    """

    def __init__(self, *, target_scaling="zscore", input_shape=None, output_shape=None):
        self.target_scaling = target_scaling
        self.input_shape = input_shape
        self.output_shape = output_shape

    def fit(self, X, y, groups=None, runs=None):
        """Compute the mean training volume (streaming over y).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_context, n_channels, n_freqs) or \
(n_samples, n_features)
            Only its shape is used.
        y : array-like of shape (n_samples, D, H, W) or flattened
            Measured volumes.
        groups : array-like of shape (n_samples,), optional
            Participant of each sample (one run each, for ``'zscore'`` without
            ``runs``).
        runs : array-like of shape (n_samples,), optional
            Run of each sample (``'zscore'``).

        Returns
        -------
        self : MeanVolumeRegressor
        """
        _validate_params(self)
        X, y, input_shape, output_shape, y_ndim = _check_fit_data(self, X, y)
        n = len(X)
        idx = np.arange(n)
        codes, run_source = _scaling.run_codes(runs, n, groups)
        target = _scaling.fit_target_scaling(
            y, idx, self.target_scaling, output_shape, codes=codes
        )
        self.mean_volume_ = _target_mean(y, idx, output_shape, target)
        self.target_scaler_ = target.release_fit_state()
        self.run_source_ = run_source
        self.input_shape_ = input_shape
        self.output_shape_ = output_shape
        self.n_features_in_ = int(np.prod(input_shape))
        self._y_ndim = y_ndim
        return self

    def predict(self, X):
        """The mean volume for every sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Inputs (only their number is used).

        Returns
        -------
        y_pred : ndarray of shape (n_samples, D, H, W) or flattened like ``y``
            In the units of :class:`Spec2VolEstimator` with the same
            ``target_scaling``.
        """
        X = _check_predict_data(self, X)
        mean = self.target_scaler_.to_prediction(self.mean_volume_)
        pred = np.broadcast_to(mean, (len(X), *mean.shape))
        if self._y_ndim == 4:
            return np.array(pred, dtype=np.float32)
        return _format_prediction(pred, len(X), self._y_ndim, self.output_shape_)

    def score(self, X, y, sample_weight=None):
        """Mean temporal correlation (see :meth:`Spec2VolEstimator.score`): 0."""
        return _mean_temporal_r(self, y, self.predict(X), sample_weight)

    def _metric_inputs(self, y_true, y_pred):
        return _metric_inputs(self, y_true, y_pred)

    def _correlation_inputs(self, y_true, y_pred):
        return _correlation_inputs(self, y_true, y_pred)

    def __sklearn_is_fitted__(self):
        return hasattr(self, "mean_volume_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        tags.regressor_tags.poor_score = True
        return tags
