"""Deprecated: use :mod:`eeg2fmri.estimators` (or ``from eeg2fmri import ...``).

``eeg2fmri.linear`` was the module of :class:`BandPowerRidge` and
:class:`ReducedRankRidge` before the estimators became one package; it stays for one
release as an alias that warns.
"""

import warnings

_MOVED = (
    "BandPowerRidge",
    "ReducedRankRidge",
    "DEFAULT_BANDS",
    "DEFAULT_ALPHAS",
    "DEFAULT_RANKS",
)
__all__ = list(_MOVED)


def __getattr__(name):
    if name in _MOVED:
        warnings.warn(
            f"eeg2fmri.linear.{name} moved to eeg2fmri.estimators.{name} (also "
            f"eeg2fmri.{name}); the old module goes away in the next release.",
            DeprecationWarning,
            stacklevel=2,
        )
        from . import estimators

        return getattr(estimators, name)
    raise AttributeError(f"module 'eeg2fmri.linear' has no attribute {name!r}")
