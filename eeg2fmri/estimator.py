"""Deprecated: use :mod:`eeg2fmri.estimators` (or ``from eeg2fmri import ...``).

``eeg2fmri.estimator`` was the module of :class:`Spec2VolEstimator` and
:class:`MeanVolumeRegressor` before the estimators became one package; it stays for
one release as an alias that warns.
"""

from ._utils.deprecation import moved_names

_MOVED = ("Spec2VolEstimator", "MeanVolumeRegressor")
__all__ = list(_MOVED)


def _estimators():
    from . import estimators

    return estimators


__getattr__ = moved_names("eeg2fmri.estimator", _MOVED, _estimators)
