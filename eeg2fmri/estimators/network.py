"""The deep-network estimator: :class:`Spec2VolEstimator`.

:class:`Spec2VolEstimator` trains a model of the :mod:`eeg2fmri.models` registry with
scikit-learn's ``fit`` / ``predict`` / ``score`` (the shared protocol:
:class:`~eeg2fmri.estimators.BaseVolumeRegressor`).

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


import numpy as np
from sklearn.utils import check_random_state

from .._utils.logging import logger, set_log_level
from . import scaling
from ._network_setup import (
    check_model_name,
    check_model_output,
    check_target_range,
    index_digest,
    scaling_digest,
    validation_split,
    zero_output,
)
from ._params import is_bool, is_int, is_real, one_of
from ._validation import target_mean
from .base import BaseVolumeRegressor

#: Training losses (``loss``), schedules (``lr_schedule``) and selection scores
#: (``selection``); the same tuples as :mod:`eeg2fmri.losses` and the training loop,
#: repeated here so that parameter checks do not import torch.
LOSSES = ("mse", "hybrid", "correlation")
LR_SCHEDULES = ("cosine", "cosine-restarts", "constant")
SELECTIONS = ("temporal_r", "ssim", "psnr", "loss")

__all__ = ["Spec2VolEstimator", "LOSSES", "LR_SCHEDULES", "SELECTIONS"]

#: fitted attributes of the JSON description (beyond the common ones)
_FITTED = ("history_", "best_epoch_", "validation_groups_", "device_")
#: array statistics of the scalings: (attribute, field) -> safetensors key
_SCALING_TENSORS = {
    ("input_scaler_", "mean"): "input.mean",
    ("input_scaler_", "std"): "input.std",
    ("target_scaler_", "location"): "target.location",
    ("target_scaler_", "scale"): "target.scale",
}


def _fit_scalings(est, X, y, train_idx, val_idx, input_shape, output_shape, codes):
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


def scalings_state(est):
    """JSON and tensors of ``est.input_scaler_`` and ``target_scaler_``."""
    info, tensors = {}, {}
    for attr in ("input_scaler_", "target_scaler_"):
        fitted = getattr(est, attr, None)
        if fitted is not None:
            info[attr] = {"method": fitted.method, "lo": fitted.lo, "hi": fitted.hi}
    for (attr, name), key in _SCALING_TENSORS.items():
        value = getattr(getattr(est, attr, None), name, None)
        if value is not None:
            tensors[key] = np.asarray(value, np.float32)
    return info, tensors


def restore_scalings(est, desc, tensors, version, source):
    """Set ``input_scaler_`` / ``target_scaler_`` from a file (any format version)."""
    from ..exceptions import ModelFileError

    if version < 2:
        fitted = desc.get("fitted") or {}
        if "eeg_min_" in fitted:
            est.input_scaler_ = scaling.InputScaling(
                "minmax", lo=fitted["eeg_min_"], hi=fitted["eeg_max_"]
            )
        est.target_scaler_ = scaling.TargetScaling(
            est.target_scaling, lo=fitted.get("target_min_"),
            hi=fitted.get("target_max_"),
        )
        return
    classes = {"input_scaler_": scaling.InputScaling,
               "target_scaler_": scaling.TargetScaling}
    for attr, klass in classes.items():
        info = (desc.get("scalings") or {}).get(attr)
        if info is None:
            continue
        arrays = {
            name: np.asarray(tensors[key])
            for (a, name), key in _SCALING_TENSORS.items()
            if a == attr and key in tensors
        }
        try:
            setattr(est, attr, klass(info["method"], lo=info.get("lo"),
                                     hi=info.get("hi"), **arrays))
        except (KeyError, TypeError) as exc:
            raise ModelFileError(
                f"Model file {source}: unreadable {attr} ({exc})."
            ) from exc


def _module_state(model):
    """Picklable description of a registry model: config + numpy state dict."""
    return {
        "config": model.get_config(),
        "state_dict": {
            k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()
        },
    }


def _module_from_state(state):
    """Rebuild a model from :func:`_module_state` output (eval mode, CPU)."""
    import torch

    from ..models import model_from_config

    model = model_from_config(state["config"])
    model.load_state_dict(
        {k: torch.from_numpy(np.array(v)) for k, v in state["state_dict"].items()}
    )
    return model.eval()


class Spec2VolEstimator(BaseVolumeRegressor):
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
    eeg2fmri.BandPowerRidge : The linear band-power baseline.
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

    _parameter_checks = {
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
    }

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

    def fit(self, X, y, groups=None, runs=None, *, eeg_spec=None, output_space=None):
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
        eeg_spec : EEGSpec, optional
            The channels, sampling rate and frequency bins of ``X`` (default: the
            ``eeg_spec`` of a :func:`~eeg2fmri.features.build_dataset` ``X``); it
            makes the model applicable to recordings with other caps.
        output_space : OutputSpace, optional
            The grid and space of ``y`` (default: the ``output_space`` of a
            ``build_dataset`` ``y``); it lets the model synthesize without a
            reference image.

        Returns
        -------
        self : Spec2VolEstimator
            The fitted estimator.
        """
        import torch

        from ..models import create_model, model_from_config
        from . import training as _training

        self._validate_params()
        if isinstance(self.model, str):
            check_model_name(self.model)
        if self.verbose:
            set_log_level(self.verbose)
        source_X, source_y = X, y
        X, y, input_shape, output_shape, y_ndim = self._validate_fit_data(X, y)
        n = len(X)
        rng = check_random_state(self.random_state)
        seed = int(rng.randint(0, 2**31 - 1))
        train_idx, val_idx, val_groups = validation_split(
            n, groups, self.validation_split, seed
        )
        codes, run_source = scaling.run_codes(runs, n, groups)
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
                overrides = dict(self.model_params or {})
                shapes = dict(
                    n_context=input_shape[0],
                    n_channels=input_shape[1],
                    n_freqs=input_shape[2],
                    out_shape=output_shape,
                )
                model = create_model(self.model, **shapes, **overrides)
                bounded = model.get_config().get("output_activation")
                if (
                    bounded is not None
                    and self.target_scaling == "zscore"
                    and "output_activation" not in overrides
                ):
                    # z-scored targets are unbounded: the same network, linear output
                    logger.info(
                        "%s: its %s output bounds predictions to [0, 1]; with "
                        "target_scaling='zscore' it gets a linear output instead "
                        "(keep the %s with target_scaling='volume', the official "
                        "recipe)", self.model, bounded, bounded,
                    )
                    torch.manual_seed(seed)
                    model = create_model(
                        self.model, **shapes, **overrides, output_activation=None
                    )
            check_model_output(model, input_shape, output_shape, self.model)
            check_target_range(model, self.target_scaling, self.model)
            target_mean = self._fit_target_mean(
                model, y, train_idx, output_shape, target, warm
            )
            if target_mean is not None and not warm:
                zeroed = zero_output(model, input_shape)
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
                "train": index_digest(train_idx),
                "val": index_digest(val_idx),
                "runs": index_digest(codes),
                "input": scaling_digest(input_scaling),
                "target": scaling_digest(target),
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
        self._fit_spaces(
            source_X, source_y, train_idx, eeg_spec=eeg_spec, output_space=output_space,
            channel_means=input_scaling.mean, reference=self.target_scaler_.location,
        )
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
        return target_mean(y, train_idx, output_shape, target)

    # --------------------------------------------------------------------- predict

    def _predict_config(self):
        from types import SimpleNamespace

        from .training import resolve_device

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
        from .training import predict_batches

        X = self._validate_predict_data(X)
        pred = predict_batches(self.model_, X, self._predict_config())
        pred = self.target_scaler_.to_prediction(pred)
        return self._format_prediction(pred, len(X))

    def __sklearn_is_fitted__(self):
        return hasattr(self, "model_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.regressor_tags.poor_score = True
        tags.non_deterministic = self.device not in ("cpu", "auto")
        return tags

    # ----------------------------------------------------------------- persistence

    def _state(self):
        import torch  # noqa: F401  (the weights are torch tensors)

        info, tensors = scalings_state(self)
        tensors.update(
            {
                f"model.{k}": v.detach().to("cpu").contiguous().numpy().copy()
                for k, v in self.model_.state_dict().items()
            }
        )
        if getattr(self, "target_mean_", None) is not None:
            tensors["target_mean"] = np.asarray(self.target_mean_, np.float32)
        fitted = {k: getattr(self, k, None) for k in _FITTED}
        return fitted, tensors, {"model_config": self.model_config_, "scalings": info}

    @classmethod
    def _migrate_params(cls, params, version):
        if version >= 2:
            return params
        params = dict(params)  # format 1: the recipe of those days
        params.setdefault("target_scaling", "volume")
        params.setdefault("target_offset", None)
        params.update(
            input_scaling="minmax",
            loss="hybrid",
            lr_schedule="cosine-restarts",
            warmup_steps=0,
            selection="ssim",
        )
        return params

    def _restore(self, desc, tensors, version, source):
        import torch

        from ..exceptions import ModelFileError
        from ..models import model_from_config

        fitted = desc.get("fitted") or {}
        for key in _FITTED:
            setattr(self, key, fitted.get(key))
        if self.history_ is None:
            self.history_ = []
        restore_scalings(self, desc, tensors, version, source)
        try:
            model = model_from_config(desc["model_config"])
            state = {
                k[len("model."):]: torch.from_numpy(np.array(v))
                for k, v in tensors.items()
                if k.startswith("model.")
            }
            model.load_state_dict(state, strict=True)
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise ModelFileError(
                f"Model file {source}: the weights do not fit the model "
                f"configuration ({str(exc).splitlines()[0]})."
            ) from exc
        offset = tensors.get("target_mean")
        expected = tuple(self.output_shape_ or ())
        if offset is not None and tuple(offset.shape) != expected:
            raise ModelFileError(
                f"Model file {source}: 'target_mean' has shape {tuple(offset.shape)} "
                f"but the volumes have shape {self.output_shape_}."
            )
        self.target_mean_ = None if offset is None else np.asarray(offset, np.float32)
        self.model_ = model.eval()
        self.model_config_ = desc["model_config"]

    def __getstate__(self):
        state = self.__dict__.copy()
        if "model_" in state:
            state["model_"] = _module_state(self.model_)
        return state

    def __setstate__(self, state):
        if isinstance(state.get("model_"), dict):
            state["model_"] = _module_from_state(state["model_"])
        self.__dict__.update(state)
