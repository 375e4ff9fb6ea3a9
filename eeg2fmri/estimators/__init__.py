"""Scikit-learn estimators that synthesize fMRI volumes from EEG spectra.

All share one protocol (:class:`BaseVolumeRegressor`: parameter and data checks,
``score``, tags, save/load as safetensors + JSON, and what applying a model needs:
``eeg_spec_``, ``output_space_``, ``feature_params_``):

- :class:`Spec2VolEstimator`: a deep network of the :mod:`eeg2fmri.models` registry
  (default ``spec2vol-bridge``, its predictions combined with a truncated band-power
  ridge, :class:`RidgeBacking`; :meth:`Spec2VolEstimator.official` is the paper's
  recipe);
- :class:`BandPowerRidge` and :class:`ReducedRankRidge`: the linear band-power
  encoding baselines; :class:`InteractionRidge`: the same ridge with pairwise band
  interactions, a fair non-linear baseline;
- :class:`MeanVolumeRegressor`: the mean training volume (temporal r = 0).

:func:`load_model` reads any model file; :func:`signal_voxels_of` gives the voxels
where a fitted model found EEG-related signal.
"""

from ._ridge_backing import BACKING_RANK, RidgeBacking
from ._signal_voxels import signal_voxels_of
from .base import BaseVolumeRegressor, load_model, prediction_units, registered
from .baseline import MeanVolumeRegressor
from .interaction import InteractionRidge
from .network import Spec2VolEstimator
from .reduced_rank import ReducedRankRidge
from .ridge import DEFAULT_ALPHAS, DEFAULT_BANDS, DEFAULT_RANKS, BandPowerRidge

__all__ = [
    "BaseVolumeRegressor",
    "Spec2VolEstimator",
    "MeanVolumeRegressor",
    "BandPowerRidge",
    "ReducedRankRidge",
    "InteractionRidge",
    "DEFAULT_BANDS",
    "DEFAULT_ALPHAS",
    "DEFAULT_RANKS",
    "BACKING_RANK",
    "RidgeBacking",
    "load_model",
    "prediction_units",
    "registered",
    "signal_voxels_of",
]
