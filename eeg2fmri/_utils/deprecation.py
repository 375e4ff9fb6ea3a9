"""Modules kept for one release as aliases that warn (names moved elsewhere)."""

import warnings

__all__ = ["moved_names"]


def moved_names(old_module, names, load_new_module):
    """A module ``__getattr__`` that gives moved names from their new module, warning.

    Parameters
    ----------
    old_module : str
        Dotted name of the deprecated module, e.g. ``"eeg2fmri.linear"``.
    names : tuple of str
        The names that moved.
    load_new_module : callable
        ``load_new_module() -> module`` where the names live now; called on first
        use, so that importing the old module stays cheap.

    Returns
    -------
    __getattr__ : callable
        Assign it to the old module's ``__getattr__`` (PEP 562).
    """

    def __getattr__(name):
        if name in names:
            new_module = load_new_module()
            warnings.warn(
                f"{old_module}.{name} moved to {new_module.__name__}.{name} (also "
                f"eeg2fmri.{name}); the old module goes away in the next release.",
                DeprecationWarning,
                stacklevel=2,
            )
            return getattr(new_module, name)
        raise AttributeError(f"module {old_module!r} has no attribute {name!r}")

    return __getattr__
