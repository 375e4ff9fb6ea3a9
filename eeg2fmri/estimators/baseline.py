"""The honest baseline: :class:`MeanVolumeRegressor`, the mean training volume."""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np

from ..exceptions import ModelFileError
from . import scaling
from ._docs import fill_doc
from ._params import store_parameters
from ._scaling_state import restore_scalings, scalings_state
from ._validation import target_mean
from .base import BaseVolumeRegressor

__all__ = ["MeanVolumeRegressor"]


class MeanVolumeRegressor(BaseVolumeRegressor):
    """Baseline that predicts the mean training volume for every input.

    SSIM of a constant mean volume is already high, because anatomy dominates the
    images, and its temporal correlation with the measured BOLD is 0 (it does not
    change over time); every score of :class:`~eeg2fmri.Spec2VolEstimator` should be
    read next to this one.

    Parameters
    ----------
    target_scaling : {'zscore', 'volume', 'run'}, default='zscore'
        Units of the mean, as in :class:`~eeg2fmri.Spec2VolEstimator`: for
        ``'zscore'`` the mean of the training runs' mean volumes in BOLD intensity,
        for ``'volume'`` the mean of the per-volume [0, 1] scaled volumes, for
        ``'run'`` the mean volume in the units of the targets.
    input_shape : tuple of 3 ints, optional
        Shape of one input sample for flattened 2-D ``X``.
    output_shape : tuple of 3 ints, optional
        ``(D, H, W)`` for flattened 2-D ``y``.

    Attributes
    ----------
    mean_volume_ : ndarray of shape (D, H, W)
        Mean training volume in model units (0 for ``'zscore'``).
    target_scaler_ : TargetScaling
        Target statistics (see :class:`~eeg2fmri.Spec2VolEstimator`).
    run_source_ : {'runs', 'groups', 'none'}
        What defined the runs of ``target_scaling='zscore'``.
    input_shape_, output_shape_ : tuple of int
        Sample shapes seen in ``fit``.
    n_features_in_ : int
        Number of input values per sample.
    eeg_spec_, output_space_, feature_params_, channel_means_
        What applying the model needs (see
        :class:`~eeg2fmri.estimators.BaseVolumeRegressor`).

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
        store_parameters(self, locals())

    @fill_doc
    def fit(self, X, y, groups=None, runs=None, *, eeg_spec=None, output_space=None):
        """Compute the mean training volume (streaming over y).

        Parameters
        ----------
        %(X_spectra)s
            Only its shape is used.
        y : array-like of shape (n_samples, D, H, W) or flattened
            Measured volumes.
        groups : array-like of shape (n_samples,), optional
            Participant of each sample (one run each, for ``'zscore'`` without
            ``runs``).
        %(runs)s
        %(spaces)s

        Returns
        -------
        self : MeanVolumeRegressor
        """
        self._validate_params()
        source_X, source_y = X, y
        X, y, input_shape, output_shape, y_ndim = self._validate_fit_data(X, y)
        n = len(X)
        idx = np.arange(n)
        codes, run_source = scaling.run_codes(runs, n, groups)
        target = scaling.fit_target_scaling(
            y, idx, self.target_scaling, output_shape, codes=codes
        )
        self.mean_volume_ = target_mean(y, idx, output_shape, target)
        self.target_scaler_ = target.release_fit_state()
        self.run_source_ = run_source
        self._record_shapes(input_shape, output_shape, y_ndim)
        self._fit_spaces(
            source_X, source_y, idx, eeg_spec=eeg_spec, output_space=output_space,
            reference=self.target_scaler_.location,
        )
        return self

    def _predict(self, X):
        mean = self.target_scaler_.to_prediction(self.mean_volume_)
        return np.array(np.broadcast_to(mean, (len(X), *mean.shape)), np.float32)

    def __sklearn_is_fitted__(self):
        return hasattr(self, "mean_volume_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.regressor_tags.poor_score = True
        return tags

    # ----------------------------------------------------------------- persistence

    def _state(self):
        info, tensors = scalings_state(self)
        tensors["mean_volume"] = np.asarray(self.mean_volume_, np.float32)
        return {}, tensors, {"model_config": None, "scalings": info}

    def _restore(self, desc, tensors, version, source):
        restore_scalings(self, desc, tensors, version, source)
        if "mean_volume" not in tensors:
            raise ModelFileError(f"Model file {source}: no 'mean_volume' tensor.")
        self.mean_volume_ = np.asarray(tensors["mean_volume"], np.float32)
