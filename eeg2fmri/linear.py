"""Deprecated: use :mod:`eeg2fmri.estimators` (or ``from eeg2fmri import ...``).

``eeg2fmri.linear`` was the module of :class:`BandPowerRidge` and
:class:`ReducedRankRidge` before the estimators became one package; it stays for one
release as an alias that warns.
"""

from ._utils.deprecation import moved_names

_MOVED = (
    "BandPowerRidge",
    "ReducedRankRidge",
    "DEFAULT_BANDS",
    "DEFAULT_ALPHAS",
    "DEFAULT_RANKS",
)
__all__ = list(_MOVED)


def _estimators():
    from . import estimators

    return estimators


__getattr__ = moved_names("eeg2fmri.linear", _MOVED, _estimators)
