"""Deprecated: use :mod:`eeg2fmri.estimators` (or ``from eeg2fmri import ...``).

``eeg2fmri.estimator`` was the module of :class:`Spec2VolEstimator` and
:class:`MeanVolumeRegressor` before the estimators became one package; it stays for
one release as an alias that warns.
"""

import warnings

_MOVED = ("Spec2VolEstimator", "MeanVolumeRegressor")
__all__ = list(_MOVED)


def __getattr__(name):
    if name in _MOVED:
        warnings.warn(
            f"eeg2fmri.estimator.{name} moved to eeg2fmri.estimators.{name} (also "
            f"eeg2fmri.{name}); the old module goes away in the next release.",
            DeprecationWarning,
            stacklevel=2,
        )
        from . import estimators

        return getattr(estimators, name)
    raise AttributeError(f"module 'eeg2fmri.estimator' has no attribute {name!r}")
