"""Estimator parameters: stored by ``__init__``, checked at ``fit``.

:func:`store_parameters` is what every ``__init__`` does: keep each argument, unchanged,
under its own name (the scikit-learn convention that ``get_params`` relies on).

Each check is a predicate and the words for what it expects. An estimator class lists
its checks in ``_parameter_checks`` (``name -> (predicate, expected)``);
:meth:`BaseVolumeRegressor._validate_params <eeg2fmri.estimators.BaseVolumeRegressor>`
merges them along the class hierarchy and raises one line per bad value, at ``fit``
(never in ``__init__``, so that ``set_params`` behaves like the constructor).
"""

import numbers

import numpy as np

__all__ = [
    "store_parameters", "is_int", "is_real", "is_bool", "one_of", "check_parameters"
]


def store_parameters(est, arguments):
    """Set each constructor argument as an attribute of ``est``, unchanged.

    Parameters
    ----------
    est : estimator
    arguments : dict of str to object
        ``locals()`` at the start of ``__init__``: ``self`` (and the ``__class__``
        cell of a method that calls ``super()``) are left out.
    """
    for name, value in arguments.items():
        if name not in ("self", "__class__"):
            setattr(est, name, value)


def is_int(v, low, high=None):
    """Whether ``v`` is an int (not a bool) in ``[low, high]``."""
    return (
        isinstance(v, numbers.Integral)
        and not isinstance(v, bool)
        and v >= low
        and (high is None or v <= high)
    )


def is_real(v, low, high=None, low_open=False):
    """Whether ``v`` is a finite real (not a bool) in ``[low, high]`` (or ``(low,``)."""
    if not isinstance(v, numbers.Real) or isinstance(v, bool) or not np.isfinite(v):
        return False
    ok_low = v > low if low_open else v >= low
    return ok_low and (high is None or v <= high)


def is_bool(v):
    """Whether ``v`` is a bool (Python or numpy)."""
    return isinstance(v, bool | np.bool_)


def one_of(values):
    """A check that the value is one of ``values``: ``(predicate, expected)``."""
    values = tuple(values)
    return (lambda v: v in values, f"one of {values}")


def _describe(value):
    """One-line description of a parameter value for error messages."""
    text = repr(value)
    if "\n" in text or len(text) > 80:
        try:
            return f"{type(value).__name__} of shape {np.shape(value)}"
        except (ValueError, TypeError):
            return f"a {type(value).__name__}"
    return text


def check_parameters(est, checks):
    """Raise ValueError for the first parameter of ``est`` that fails its check.

    Parameters
    ----------
    est : estimator
    checks : dict of str to (callable, str)
        Parameter name -> (predicate, what is expected).
    """
    params = est.get_params(deep=False)
    for name, (check, expected) in checks.items():
        if name in params and not check(params[name]):
            raise ValueError(
                f"The '{name}' parameter of {type(est).__name__} must be {expected}. "
                f"Got {_describe(params[name])} instead."
            )
