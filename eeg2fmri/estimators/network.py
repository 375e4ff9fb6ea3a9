"""The deep-network estimator: :class:`Spec2VolEstimator`.

:class:`Spec2VolEstimator` trains a model of the :mod:`eeg2fmri.models` registry with
scikit-learn's ``fit`` / ``predict`` / ``score`` (the shared protocol:
:class:`~eeg2fmri.estimators.BaseVolumeRegressor`).

Defaults and the official recipe
--------------------------------
The defaults are those the benchmark study chose (``docs/study.rst``) because with
them the synthesized BOLD follows the measured BOLD over time on held-out
participants: ``spec2vol-bridge`` (Spec2VolCAMU-Net's input projection with a global
bridge; the whole scaled-down network, ``spec2vol-small``, does no better at seven
times the cost), inputs standardized per (channel, frequency), targets standardized
per voxel within each run, learned only in the voxels where a cross-validated
band-power ridge finds EEG-related signal, MSE, a cosine learning-rate decay with
warm-up and the last epoch kept; a check against the band-power ridge on validation
participants, then a refit on every participant (``docs/robustness.rst``).
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
from ._band_features import check_frequencies
from ._docs import fill_doc
from ._network_fit import train_network
from ._network_params import (
    LOSSES,
    LR_SCHEDULES,
    NETWORK_PARAMETER_CHECKS,
    SELECTIONS,
)
from ._network_setup import check_model_name, checkpoint_subdir, validation_split
from ._network_state import _NetworkPersistence
from ._params import store_parameters
from ._signal_voxels import fit_band_ridge, signal_voxels
from .base import BaseVolumeRegressor

__all__ = ["Spec2VolEstimator", "LOSSES", "LR_SCHEDULES", "SELECTIONS"]


@fill_doc
class Spec2VolEstimator(_NetworkPersistence, BaseVolumeRegressor):
    """Synthesize fMRI volumes from EEG spectra with a deep network (scikit-learn API).

    Trains a model from the :mod:`eeg2fmri.models` registry with AdamW, a learning-rate
    schedule with warm-up and gradient clipping; checks it on held-out training
    participants against a band-power ridge (``baseline_check``), then refits it on
    every participant (``refit``). The defaults learn the
    EEG-driven BOLD fluctuations (see the module documentation);
    :meth:`official` reproduces the paper's recipe.

    Parameters
    ----------
    model : str or dict, default='spec2vol-bridge'
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
        for validation, rounded to the nearest whole number of participants; with
        ``refit=True`` at least one is held out when there are three or more
        (they train the final model afterwards). Without groups, a random fraction
        of the samples, with a warning (neighbouring volumes are correlated, so that
        validation is optimistic). 0 or None disables validation (and the baseline
        check). The validation participants serve the baseline check, a
        score-based ``selection`` and early stopping; with none of these
        (``baseline_check=False``, ``selection='last'``), every participant trains.
    selection : {'last', 'temporal_r', 'ssim', 'psnr', 'loss'}, default='last'
        Which epoch is kept: the last one (the learning rate has decayed to 0 by
        then), or the best on the validation participants by the mean voxel-wise
        temporal correlation (model units), SSIM or PSNR (each volume min-max
        scaled to [0, 1], the paper's units), or the validation loss (lowest).
        Picking an epoch on one validation participant's mean r over all voxels
        kept epochs 2-3 of 15 and lost up to 0.4 r on held-out participants
        (``docs/robustness.rst``), hence ``'last'``.
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
    %(input_shape)s
    %(output_shape)s
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
        the same data with the same parameters resumes from the last checkpoint
        (the validation fit of a refit checkpoints in ``validation-fit`` inside).
    baseline_check : bool, default=True
        With validation participants, fit a :class:`~eeg2fmri.BandPowerRidge`
        on the same training participants as the network, compare both on the
        validation participants (temporal r in the voxels where the ridge finds
        EEG-related signal), store the comparison in ``baseline_check_`` and issue
        a :class:`~eeg2fmri.exceptions.BaselineWarning` naming the ridge when the
        network scores below it. Costs one ridge fit (seconds).
    refit : bool, default=True
        After the validation fit (baseline check, selection), train the final
        network on every participant, validation participants included, for the
        number of epochs kept (``best_epoch_``): the final model loses no data, at
        the cost of a second training. False keeps the network trained without the
        validation participants (one training). Not applied with ``warm_start``.
    frequencies : array-like of shape (n_freqs,), optional
        Frequency in Hz of each bin of ``X``'s last axis
        (:attr:`eeg2fmri.features.PairedDataset.frequencies`), for the ridge of the
        baseline check and of ``signal_voxels`` on the EEG bands of
        :data:`eeg2fmri.estimators.DEFAULT_BANDS`. Without it (and without an
        ``eeg_spec``), the ridge averages octave-wide groups of bins.
    signal_voxels : {'ridge'} or None, default='ridge'
        ``'ridge'``: the network learns only the voxels where a
        :class:`~eeg2fmri.BandPowerRidge` fitted on the same training rows (one
        penalty per voxel, chosen by cross-validation over the training
        participants) found EEG-related signal: a held-out correlation above a
        threshold at which an estimated 10 % at most of the kept voxels are noise
        (``cv_voxel_scores_``); elsewhere it predicts the training mean
        (``signal_mask_``). Under real-like BOLD noise a network fitting every
        voxel spends its shared time courses on spatially coherent noise
        (``docs/robustness.rst``). Costs one ridge fit per training (seconds).
        None: every voxel (the official recipe).
    ridge_backing : bool, default=True
        Predict, in model units, the average of the network and the band-power
        ridge of ``signal_voxels`` (refitted with the network, truncated to its
        :data:`~eeg2fmri.estimators.BACKING_RANK` leading spatial components) in
        the voxels the network learned, and the ridge alone elsewhere
        (``ridge_backing_``). The network alone falls below the ridge where the
        data are few; the combination held at or above it on every configuration
        of the study (``docs/robustness.rst``). False: the network alone (the
        training mean outside ``signal_mask_``).

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
        Epoch whose weights were kept (1-based) by the validation fit; the refit
        trains for that many epochs.
    validation_groups_ : list or None
        Participants held out for validation (baseline check, selection).
    validation_history_ : list of dict or None
        The validation fit's ``history_`` when the final model was refitted
        (``refitted_``); None otherwise (``history_`` then holds the validation
        scores).
    refitted_ : bool
        Whether the final model was trained on every participant after a
        validation fit.
    baseline_check_ : dict or None
        The comparison with the band-power ridge (see ``baseline_check``):
        ``ran``, ``network_r``, ``ridge_r``, ``better`` (``'network'`` or
        ``'ridge'``), ``network_r_all_voxels``, ``ridge_r_all_voxels``,
        ``n_signal_voxels``, ``validation_groups``, ``baseline`` and ``seconds``;
        ``{'ran': False, 'reason': ...}`` without validation participants; None
        with ``baseline_check=False``.
    signal_mask_ : ndarray of bool of shape (D, H, W) or None
        The voxels the network learned (``signal_voxels``); None: every voxel.
    ridge_backing_ : RidgeBacking or None
        The truncated band-power ridge in the predictions and the voxels where it
        is averaged with the network (``.blend``); None with
        ``ridge_backing=False``.
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

    _parameter_checks = NETWORK_PARAMETER_CHECKS

    def __init__(
        self,
        model="spec2vol-bridge",
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
        selection="last",
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
        baseline_check=True,
        refit=True,
        frequencies=None,
        signal_voxels="ridge",
        ridge_backing=True,
    ):
        store_parameters(self, locals())

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
        "refit": False,
        "signal_voxels": None,
        "ridge_backing": False,
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

        With validation participants (``validation_split`` and ``groups``), ``fit``
        trains the network without them first, compares it on them with a
        :class:`~eeg2fmri.BandPowerRidge` fitted on the same participants
        (``baseline_check``; a :class:`~eeg2fmri.exceptions.BaselineWarning` names
        the better choice when the network scores below it), and then, with
        ``refit=True``, trains the final network on every participant for the
        number of epochs the selection kept.

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
        from . import training as _training

        self._validate_params()
        if isinstance(self.model, str):
            check_model_name(self.model)
        if self.verbose:
            set_log_level(self.verbose)
        source_X, source_y = X, y
        X, y, input_shape, output_shape, y_ndim = self._validate_fit_data(X, y)
        frequencies = self._bin_frequencies(source_X, eeg_spec)
        if frequencies is not None:
            check_frequencies(self, input_shape[2], frequencies)
        n = len(X)
        rng = check_random_state(self.random_state)
        seed = int(rng.randint(0, 2**31 - 1))
        warm = (
            self.warm_start
            and hasattr(self, "model_")
            and tuple(self.input_shape_) == input_shape
            and tuple(self.output_shape_) == output_shape
        )
        # validation participants serve the baseline check, a score-based selection
        # of the epoch or early stopping; with none of them, every row trains
        uses_validation = (
            bool(self.baseline_check)
            or self.selection != "last"
            or bool(self.early_stopping)
        )
        # with a refit the validation participants train the final model too, so
        # one is held out even where validation_split rounds to none
        wants_refit = bool(self.refit) and not warm
        train_idx, val_idx, val_groups = validation_split(
            n,
            groups,
            self.validation_split if uses_validation else 0,
            seed,
            min_groups=1 if wants_refit else 0,
        )
        codes, run_source = scaling.run_codes(runs, n, groups)
        if self.target_scaling == "zscore" and run_source != "runs":
            logger.info(
                "target_scaling='zscore' without runs: each %s is standardized as "
                "one run",
                "participant (groups)" if run_source == "groups" else "fit",
            )
        # refit on every participant only when some were held out for validation
        # (and the fit does not continue a previous one: warm starts keep it)
        refit = wants_refit and len(val_idx) > 0
        shapes = dict(
            input_shape=input_shape,
            output_shape=output_shape,
            codes=codes,
            seed=seed,
            device=_training.resolve_device(self.device),
            warm=warm,
        )
        ridge_shapes = dict(
            groups=groups, codes=codes, input_shape=input_shape,
            output_shape=output_shape, frequencies=frequencies,
        )
        ridge = label = None
        if self.baseline_check and len(val_idx) or (
            (self.signal_voxels == "ridge" or self.ridge_backing) and not warm
        ):
            ridge, label = fit_band_ridge(self, X, y, train_idx, **ridge_shapes)
        # the voxels where the ridge found EEG-related signal: scored by the check,
        # learned by the network with signal_voxels='ridge' (_signal_voxels.py)
        signal = None if ridge is None else signal_voxels(ridge, output_shape)
        if warm:  # keep the voxels the weights were fitted on
            mask = getattr(self, "signal_mask_", None)
        else:
            mask = signal if self.signal_voxels == "ridge" else None
        fit = train_network(
            self, X, y, train_idx, val_idx, epochs=self.epochs,
            checkpoint_dir=checkpoint_subdir(self.checkpoint_dir, refit),
            output_mask=mask, **shapes,
        )
        check = None
        if self.baseline_check:
            from ._baseline_check import baseline_check

            check = baseline_check(
                self, X, y, train_idx, val_idx, fit, codes=codes,
                val_groups=val_groups, refit=refit, ridge=ridge, label=label,
                signal=signal, backing=self._backing(ridge, mask, output_shape),
            )
        validation_history, selected_epoch = None, int(fit.best_epoch)
        if refit:
            validation_history = fit.history
            logger.info(
                "refitting on all %d samples (validation participants included) for "
                "%d epochs", n, selected_epoch,
            )
            if self.signal_voxels == "ridge" or self.ridge_backing:
                ridge, _ = fit_band_ridge(self, X, y, np.arange(n), **ridge_shapes)
            if self.signal_voxels == "ridge":
                mask = signal_voxels(ridge, output_shape)
            fit = train_network(
                self, X, y, np.arange(n), np.arange(0), epochs=selected_epoch,
                checkpoint_dir=self.checkpoint_dir, output_mask=mask, **shapes,
            )

        self.model_ = fit.model
        self.model_config_ = fit.model.get_config()
        self._record_shapes(input_shape, output_shape, y_ndim)
        self.input_scaler_ = fit.input_scaling
        self.target_scaler_ = fit.target.release_fit_state()
        self.run_source_ = run_source
        self.target_mean_ = fit.target_mean
        self.history_ = fit.history
        self.validation_history_ = validation_history
        self.best_epoch_ = selected_epoch
        self.validation_groups_ = val_groups
        self.refitted_ = refit
        self.baseline_check_ = check
        self.signal_mask_ = mask
        if not warm:
            self.ridge_backing_ = self._backing(ridge, mask, output_shape)
        self.device_ = str(fit.cfg.device)
        self._fit_spaces(
            source_X,
            source_y,
            np.arange(n) if refit else train_idx,
            eeg_spec=eeg_spec,
            output_space=output_space,
            channel_means=fit.input_scaling.mean,
            reference=self.target_scaler_.location,
        )
        return self

    def _backing(self, ridge, mask, output_shape):
        """The ridge backing of ``ridge`` (``ridge_backing``), else None."""
        if not self.ridge_backing or ridge is None:
            return None
        from ._ridge_backing import backing_for

        return backing_for(ridge, mask, self.signal_voxels, output_shape)

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
            output_mask=getattr(self, "signal_mask_", None),
        )

    def _predict(self, X):
        from .training import predict_batches

        pred = predict_batches(self.model_, X, self._predict_config())
        backing = getattr(self, "ridge_backing_", None)
        if backing is not None:
            pred = backing.combine(pred, X)
        return self.target_scaler_.to_prediction(pred)

    def __sklearn_is_fitted__(self):
        return hasattr(self, "model_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.regressor_tags.poor_score = True
        tags.non_deterministic = self.device not in ("cpu", "auto")
        return tags
