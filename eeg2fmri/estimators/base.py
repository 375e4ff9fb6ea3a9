"""The protocol every eeg2fmri estimator shares: :class:`BaseVolumeRegressor`.

An estimator maps EEG spectra ``X`` of shape ``(n_samples, n_context, n_channels,
n_freqs)`` (or flattened) to volumes ``y`` of shape ``(n_samples, D, H, W)`` (or
flattened), with scikit-learn's ``fit`` / ``predict`` / ``score``. The base class
owns what is the same for all of them:

- parameter checks (``_parameter_checks`` of each class, merged along the hierarchy);
- data checks and the layout of predictions (:mod:`._validation`);
- what a portable model knows about its input and output: :attr:`eeg_spec_`
  (channels by name, sampling rate, frequency bins), :attr:`output_space_` (grid,
  space, mask, reference volume, units, TR), :attr:`feature_params_` and the mean
  training spectrum of each channel (:attr:`channel_means_`, to impute a channel a
  recording lacks and splines cannot rebuild). They are taken from the lazy
  ``X``/``y`` of :func:`eeg2fmri.features.build_dataset` (their ``eeg_spec``,
  ``feature_params`` and ``output_space`` attributes), or given to ``fit``;
- ``score`` (mean voxel-wise temporal correlation) and the units scores compare
  volumes in (:func:`eeg2fmri.metrics.comparable_volumes`);
- scikit-learn tags;
- ``save`` / ``load``: safetensors tensors + one JSON description
  (:mod:`.persistence`), the class-specific part written by ``_state`` and read by
  ``_restore``. Every subclass registers itself by name, so that
  :func:`load_model` finds the class a file names.

Subclasses implement ``fit``, ``predict``, ``_state`` and ``_restore`` and call
:meth:`_fit_spaces` at the end of ``fit``.
"""

# SPDX-License-Identifier: BSD-3-Clause

import warnings

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from .._utils.logging import logger
from ..exceptions import ModelFileError
from ..spaces import EEGSpec, OutputSpace, brain_mask
from . import persistence, scaling
from ._docs import fill_doc
from ._params import check_parameters, one_of
from ._validation import check_fit_data, check_predict_data, format_prediction

__all__ = ["BaseVolumeRegressor", "load_model", "prediction_units", "registered"]

#: class name -> class, filled by every subclass of BaseVolumeRegressor
_REGISTRY = {}


def registered():
    """The estimator classes :func:`load_model` can read, by name (dict)."""
    return dict(_REGISTRY)


def prediction_units(target_scaling):
    """What the voxel values of predictions mean, for each ``target_scaling`` (str)."""
    if target_scaling == "zscore":
        return (
            "measured BOLD units (the training participants' scanner units): their "
            "mean volume plus the predicted fluctuation, in units of each voxel's "
            "temporal standard deviation, times that standard deviation (the model "
            "learned voxel-wise standardized targets, target_scaling='zscore')"
        )
    if target_scaling == "run":
        return (
            "measured BOLD units (the training participants' scanner units; the "
            "model learned min-max scaled targets and its predictions are mapped back)"
        )
    return (
        "arbitrary: each volume min-max scaled to [0, 1], like the model's training "
        "targets (target_scaling='volume'); compare with measured volumes scaled the "
        "same way"
    )


def _chunked_mean(array, indices, shape, axes, chunk_size=256):
    """Mean over the rows and ``axes`` of ``array[indices]`` reshaped to ``shape``."""
    indices = np.sort(np.asarray(indices, dtype=np.int64))
    total, count = None, 0
    for start in range(0, len(indices), chunk_size):
        rows = indices[start : start + chunk_size]
        chunk = np.asarray(array[rows], dtype=np.float64).reshape(len(rows), *shape)
        part = chunk.sum(axis=(0, *axes))
        total = part if total is None else total + part
        count += chunk.shape[0] * int(np.prod([shape[a - 1] for a in axes]))
    return None if total is None else total / max(count, 1)


class BaseVolumeRegressor(RegressorMixin, BaseEstimator):
    """Shared protocol of the estimators that synthesize volumes from EEG spectra.

    Not used directly: see :class:`~eeg2fmri.Spec2VolEstimator`,
    :class:`~eeg2fmri.BandPowerRidge`, :class:`~eeg2fmri.ReducedRankRidge` and
    :class:`~eeg2fmri.MeanVolumeRegressor`.

    Attributes
    ----------
    eeg_spec_ : EEGSpec or None
        The training EEG: channels (names, types, positions) in the order of ``X``'s
        channel axis, sampling rate, TR, frequency of each bin, line frequency. None
        when ``fit`` got plain arrays (channels then count by position only).
    ch_names_ : tuple of str
        ``eeg_spec_.ch_names`` (only when ``eeg_spec_`` is known).
    output_space_ : OutputSpace or None
        Grid, BIDS space label, brain mask, reference mean volume (training rows),
        units and TR of the predictions; None when ``y`` carried no grid.
    feature_params_ : FeatureParams or None
        How the spectra were computed (from :func:`eeg2fmri.features.build_dataset`).
    channel_means_ : ndarray of shape (n_channels, n_freqs) or None
        Mean training spectrum of each channel (float32), to impute a channel a
        recording lacks (e.g. ECG) when applying the model.
    """

    _parameter_checks = {"target_scaling": one_of(scaling.TARGET_SCALINGS)}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _REGISTRY[cls.__name__] = cls

    # ---------------------------------------------------------------- parameters

    @classmethod
    def _all_parameter_checks(cls):
        checks = {}
        for klass in reversed(cls.__mro__):
            checks.update(klass.__dict__.get("_parameter_checks", {}))
        return checks

    def _validate_params(self):
        check_parameters(self, self._all_parameter_checks())

    # ---------------------------------------------------------------------- data

    def _validate_fit_data(self, X, y):
        """``(X, y, input_shape, output_shape, y_ndim)`` after the shape checks."""
        return check_fit_data(self, X, y)

    def _record_shapes(self, input_shape, output_shape, y_ndim):
        """Set ``input_shape_``, ``output_shape_``, ``n_features_in_`` (in ``fit``)."""
        self.input_shape_ = tuple(int(s) for s in input_shape)
        self.output_shape_ = tuple(int(s) for s in output_shape)
        self.n_features_in_ = int(np.prod(self.input_shape_))
        self._y_ndim = y_ndim

    def _bin_frequencies(self, X, eeg_spec):
        """The ``frequencies`` parameter, else those of ``eeg_spec`` or ``X.eeg_spec``.

        Returns None when none of them is known.
        """
        if getattr(self, "frequencies", None) is not None:
            return self.frequencies
        spec = eeg_spec if eeg_spec is not None else getattr(X, "eeg_spec", None)
        return None if spec is None else spec.frequencies

    def _validate_predict_data(self, X):
        return check_predict_data(self, X)

    def _format_prediction(self, pred, n):
        return format_prediction(pred, n, self._y_ndim, self.output_shape_)

    @fill_doc
    def predict(self, X):
        """Synthesize volumes from EEG spectra.

        Parameters
        ----------
        %(X_spectra)s
            EEG spectra (numpy arrays, memory maps or lazy array-likes, read in
            batches).

        Returns
        -------
        y_pred : ndarray of shape (n_samples, D, H, W), (n_samples, n_voxels) or \
(n_samples,)
            The layout of ``y`` in ``fit``: float32 volumes, or float64 for flattened
            targets. Units: BOLD intensity like the training targets for
            ``target_scaling='zscore'`` and ``'run'``; per-volume [0, 1] for
            ``'volume'``.
        """
        X = self._validate_predict_data(X)
        return self._format_prediction(self._predict(X), len(X))

    def _predict(self, X):
        """Predictions of validated ``X`` in prediction units, (n, D, H, W)."""
        raise NotImplementedError

    # -------------------------------------------------------------------- spaces

    def _fit_spaces(self, X, y, train_idx, *, eeg_spec=None, output_space=None,
                    channel_means=None, reference=None):
        """Record what applying the model needs (call at the end of ``fit``).

        Parameters
        ----------
        X, y : array-like
            The data given to ``fit`` (lazy arrays of ``build_dataset`` carry
            ``eeg_spec``, ``feature_params`` and ``output_space``).
        train_idx : ndarray of int
            The rows the model was trained on.
        eeg_spec, output_space : optional
            Override what ``X`` and ``y`` carry.
        channel_means : ndarray of shape (C, F), optional
            Mean training spectrum per channel when the estimator computed it.
        reference : ndarray of shape (D, H, W), optional
            Mean training volume (BOLD units) when the estimator computed it.
        """
        eeg_spec = eeg_spec if eeg_spec is not None else getattr(X, "eeg_spec", None)
        space = (
            output_space if output_space is not None
            else getattr(y, "output_space", None)
        )
        params = getattr(X, "feature_params", None)
        if params is not None:
            self.feature_params_ = params
        shape_in, shape_out = tuple(self.input_shape_), tuple(self.output_shape_)
        if eeg_spec is not None and (
            eeg_spec.n_channels != shape_in[1]
            or len(eeg_spec.frequencies) != shape_in[2]
        ):
            raise ValueError(
                f"eeg_spec describes {eeg_spec.n_channels} channels x "
                f"{len(eeg_spec.frequencies)} bins but X has samples of shape "
                f"{shape_in}"
            )
        if space is not None and tuple(space.shape) != shape_out:
            raise ValueError(
                f"output_space has the grid {tuple(space.shape)} but y has volumes of "
                f"shape {shape_out}"
            )
        self.eeg_spec_ = eeg_spec
        self.channel_means_ = None
        if eeg_spec is not None:
            if channel_means is None:
                channel_means = _chunked_mean(X, train_idx, shape_in, axes=(1,))
            self.channel_means_ = np.asarray(channel_means, dtype=np.float32)
        self.output_space_ = None
        if space is not None:
            if reference is None:
                reference = _chunked_mean(y, train_idx, shape_out, axes=())
            reference = np.asarray(reference, dtype=np.float32)
            self.output_space_ = space.replace(
                reference=reference,
                mask=brain_mask(reference),
                units=prediction_units(self.target_scaling),
            )

    @property
    def ch_names_(self):
        """Channel names in training order (tuple of str)."""
        spec = getattr(self, "eeg_spec_", None)
        if spec is None:
            raise AttributeError(
                f"{type(self).__name__} has no ch_names_: it was not fitted on "
                "build_dataset() output (or an eeg_spec), so it knows its channels "
                "only by position"
            )
        return spec.ch_names

    # ------------------------------------------------------------------- scoring

    @fill_doc
    def score(self, X, y, sample_weight=None):
        """Mean voxel-wise temporal correlation between ``predict(X)`` and ``y``.

        The samples are taken as one time series (correlation does not depend on
        their order); voxels where ``y`` is constant are left out, and a prediction
        that is constant over the samples scores 0 (the mean-volume baseline).

        Parameters
        ----------
        %(X_spectra)s
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
        from ..metrics import mean_temporal_correlation

        if sample_weight is not None:
            warnings.warn(
                "sample_weight is ignored by the temporal correlation score.",
                UserWarning,
                stacklevel=2,
            )
        y_true, y_pred = self._score_volumes(y, self.predict(X), "correlation")
        return mean_temporal_correlation(y_true, y_pred)

    def _score_volumes(self, y_true, y_pred, kind):
        """(y_true, y_pred) as (n, D, H, W) float64 arrays in the units of a score.

        ``kind='metric'`` (SSIM, PSNR): each measured volume min-max scaled to
        [0, 1], and so are predictions in intensity units; predictions of
        ``target_scaling='volume'`` are in these units already (the paper's way).
        ``kind='correlation'``: intensity predictions against the measured volumes as
        they are; per-volume predictions against measured volumes scaled the same.
        """
        n = len(y_true)
        y_true = np.asarray(y_true, dtype=np.float64).reshape(n, *self.output_shape_)
        y_pred = np.asarray(y_pred, dtype=np.float64).reshape(n, *self.output_shape_)
        per_volume = self.target_scaling == "volume"
        if kind == "metric" or per_volume:
            y_true = scaling.per_volume_minmax(y_true).astype(np.float64)
        if kind == "metric" and not per_volume:
            y_pred = scaling.per_volume_minmax(y_pred).astype(np.float64)
        return y_true, y_pred

    # ---------------------------------------------------------------------- tags

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        tags.input_tags.allow_nan = False
        return tags

    # --------------------------------------------------------------- persistence

    #: JSON-able fitted attributes written for every estimator (beyond ``_state``)
    _common_fitted = (
        "input_shape_", "output_shape_", "n_features_in_", "run_source_", "_y_ndim"
    )

    def _state(self):
        """Class-specific state: ``(fitted, tensors, extra)``.

        ``fitted`` (dict) goes to the JSON's ``"fitted"``, ``tensors`` (dict of
        arrays) to the safetensors file, ``extra`` (dict) to top-level JSON keys.
        """
        raise NotImplementedError

    def _restore(self, desc, tensors, version, source):
        """Set the class-specific fitted state from a file (inverse of ``_state``).

        Parameters
        ----------
        desc : dict
            The JSON description.
        tensors : dict of str to ndarray
        version : int
            Format version of the file.
        source : pathlib.Path
            The JSON file (for error messages).
        """
        raise NotImplementedError

    @classmethod
    def _migrate_params(cls, params, version):
        """Complete the parameters of an older file (default: unchanged)."""
        return params

    def save(self, path):
        """Write the fitted estimator: safetensors tensors + a JSON description.

        Nothing is pickled; both files are written atomically. The JSON records the
        class, its parameters, the fitted state, the feature parameters and what
        applying the model needs (channels, sampling rate, output grid and space;
        format version 3).

        Parameters
        ----------
        path : str or path-like
            A directory (``weights.safetensors`` and ``estimator.json`` inside), or a
            file name ending in ``.safetensors`` or ``.json`` (the other file is
            written next to it).

        Returns
        -------
        path : pathlib.Path
            The JSON file written.
        """
        check_is_fitted(self)
        fitted, tensors, extra = self._state()
        fitted = {**{k: getattr(self, k, None) for k in self._common_fitted}, **fitted}
        tensors = dict(tensors)
        spec = getattr(self, "eeg_spec_", None)
        space = getattr(self, "output_space_", None)
        means = getattr(self, "channel_means_", None)
        if means is not None:
            tensors["eeg.channel_means"] = np.asarray(means, np.float32)
        if space is not None:
            if space.mask is not None:
                tensors["space.mask"] = space.mask.astype(np.uint8)
            if space.reference is not None:
                tensors["space.reference"] = space.reference
        params_obj = getattr(self, "feature_params_", None)
        description = {
            "class": type(self).__name__,
            "params": self.get_params(deep=False),
            "fitted": fitted,
            **extra,
            "feature_names_in": getattr(self, "feature_names_in_", None),
            "feature_params": params_obj,
            "feature_params_class": type(params_obj).__name__
            if params_obj is not None and not isinstance(params_obj, dict)
            else None,
            "eeg": None if spec is None else spec.to_dict(),
            "output_space": None if space is None else space.to_dict(),
        }
        return persistence.write_model(path, description, tensors)

    @classmethod
    def load(cls, path):
        """Load an estimator written by :meth:`save` (nothing is unpickled).

        Files of older formats load too, with one warning saying what they lack.

        Parameters
        ----------
        path : str or path-like
            The directory, the ``.safetensors`` file or the JSON file.

        Returns
        -------
        estimator : BaseVolumeRegressor
            The class written in the file (this class or a subclass of it).

        Raises
        ------
        eeg2fmri.exceptions.ModelFileError
            If the files are missing, were not written by eeg2fmri, hold another
            class or are corrupt.
        """
        desc, tensors, json_path = persistence.read_model(path)
        name = desc.get("class")
        found = _REGISTRY.get(name)
        if found is None:
            raise ModelFileError(
                f"Model file {json_path} describes a {name!r}; expected one of "
                f"{sorted(_REGISTRY)}."
            )
        if cls is not BaseVolumeRegressor and not issubclass(found, cls):
            raise ModelFileError(
                f"Model file {json_path} holds a {name}, not a {cls.__name__}; load "
                f"it with {name}.load or eeg2fmri.load_model."
            )
        version = int(desc.get("format_version", 1))
        params = persistence.restore_tuples(dict(desc.get("params") or {}))
        params = found._migrate_params(params, version)
        try:
            est = found(**params)
        except TypeError as exc:
            raise ModelFileError(
                f"Model file {json_path} has unknown parameters: {exc}"
            ) from exc
        fitted = desc.get("fitted") or {}
        for key in found._common_fitted:
            value = fitted.get(key)
            setattr(est, key, persistence.restore_tuples({key: value})[key])
        est._restore(desc, tensors, version, json_path)
        est._restore_common(desc, tensors, version, json_path)
        return est

    def _restore_common(self, desc, tensors, version, json_path):
        if desc.get("feature_names_in") is not None:
            self.feature_names_in_ = np.asarray(desc["feature_names_in"], dtype=object)
        params = desc.get("feature_params")
        if params is not None:
            if desc.get("feature_params_class") == "FeatureParams":
                from ..features import FeatureParams

                try:
                    params = FeatureParams.from_dict(params)
                except (TypeError, ValueError) as exc:
                    raise ModelFileError(
                        f"Model file {json_path}: unreadable feature parameters "
                        f"({exc})."
                    ) from exc
            self.feature_params_ = params
        try:
            self.eeg_spec_ = (
                None if desc.get("eeg") is None else EEGSpec.from_dict(desc["eeg"])
            )
            space = desc.get("output_space")
            mask = tensors.get("space.mask")
            self.output_space_ = (
                None
                if space is None
                else OutputSpace.from_dict(
                    space,
                    mask=None if mask is None else mask.astype(bool),
                    reference=tensors.get("space.reference"),
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(
                f"Model file {json_path}: unreadable eeg or output_space description "
                f"({exc})."
            ) from exc
        means = tensors.get("eeg.channel_means")
        self.channel_means_ = None if means is None else np.asarray(means, np.float32)
        if version < persistence.FORMAT_VERSION:
            missing = []
            if self.eeg_spec_ is None:
                missing.append(
                    "no channel names or sampling rate (channels are taken by "
                    "position: a recording must have the training channels in the "
                    "training order, and cannot be interpolated or resampled)"
                )
            if self.output_space_ is None:
                missing.append(
                    "no output grid, space, mask or reference volume (synthesizing "
                    "needs a reference BOLD image, or an affine, and a TR)"
                )
            if missing:
                warnings.warn(
                    f"Model file {json_path} has format version {version} (this "
                    f"eeg2fmri writes {persistence.FORMAT_VERSION}): it records "
                    + "; and ".join(missing)
                    + ". Refit and save the model to make it portable.",
                    UserWarning,
                    stacklevel=3,
                )
        logger.debug("loaded %s from %s", type(self).__name__, json_path)


def load_model(path):
    """Load any model file written by eeg2fmri (``.save`` of an estimator).

    The class named in the file reads it (:meth:`BaseVolumeRegressor.load`, which
    says what older formats lack); nothing is unpickled.

    Parameters
    ----------
    path : str or path-like
        A model directory, or its ``.safetensors`` or ``.json`` file.

    Returns
    -------
    estimator : BaseVolumeRegressor
        A :class:`~eeg2fmri.Spec2VolEstimator`, :class:`~eeg2fmri.BandPowerRidge` or
        any other registered estimator.
    """
    return BaseVolumeRegressor.load(path)
