"""Model registry: register, list, create and rebuild models by name.

Every architecture variant ("preset") is a function registered under a name such as
``"spec2vol-bridge"``. The function takes the signal shapes
(``n_context, n_channels, n_freqs, out_shape``) plus keyword overrides and returns an
``nn.Module`` whose ``get_config()`` holds the preset name and every constructor
argument, so that :func:`model_from_config` rebuilds the same architecture.
"""

import copy
import difflib
import fnmatch
import json
from dataclasses import dataclass

import torch

__all__ = [
    "ModelInfo",
    "register_model",
    "create_model",
    "list_models",
    "model_info",
    "model_from_config",
]

#: registered name -> preset function
_MODELS = {}
#: registered name -> ModelInfo
_INFO = {}


@dataclass(frozen=True)
class ModelInfo:
    """What the registry knows about a model besides how to build it.

    Attributes
    ----------
    name : str
        Registered name.
    passes_overfit_check : bool
        Whether the model claims to fit a few dozen pairs of a noise-free target that
        depends on the EEG (:func:`eeg2fmri.diagnostics.overfit_check`) within the
        step budget of the test suite; the suite holds every model that claims it to
        it. Necessary, not sufficient, for learning the EEG-driven fluctuations of
        held-out participants.
    note : str
        Why a model does not pass (or what else to know), in one sentence.
    """

    name: str
    passes_overfit_check: bool = True
    note: str = ""


def _canonical(name):
    """Names are case-insensitive and ``_`` is accepted for ``-``."""
    return str(name).strip().lower().replace("_", "-")


def register_model(fn_or_name=None, *, passes_overfit_check=True, note=""):
    """Register a preset function under a model name (decorator).

    Use ``@register_model`` (the name is the function name with ``_`` turned into
    ``-``) or ``@register_model("my-name")``. The function must accept
    ``(n_context, n_channels, n_freqs, out_shape, **overrides)`` and return an
    ``nn.Module`` with a ``get_config()`` method.

    Parameters
    ----------
    fn_or_name : callable or str, optional
        The preset function, or the name to register it under.
    passes_overfit_check : bool, default=True
        Whether the model claims to pass the overfitting check (see
        :class:`ModelInfo`); the test suite holds every model that does to it.
    note : str, default=""
        Why it does not pass, or anything else to know (see :func:`model_info`).

    Returns
    -------
    callable
        The function itself (unchanged), or a decorator when given a name.
    """

    def _register(fn, name):
        key = _canonical(name)
        if key in _MODELS and _MODELS[key] is not fn:
            raise ValueError(
                f"model name {key!r} is already registered by "
                f"{_MODELS[key].__module__}.{_MODELS[key].__name__}; choose another."
            )
        _MODELS[key] = fn
        _INFO[key] = ModelInfo(key, bool(passes_overfit_check), str(note))
        return fn

    if callable(fn_or_name):
        return _register(fn_or_name, fn_or_name.__name__)

    def decorator(fn):
        return _register(fn, fn_or_name if fn_or_name is not None else fn.__name__)

    return decorator


def list_models(pattern=None):
    """Names of the registered models, sorted.

    Parameters
    ----------
    pattern : str, optional
        Shell-style wildcard (``"spec2vol*"``) to filter the names.

    Returns
    -------
    list of str
    """
    names = sorted(_MODELS)
    if pattern is not None:
        names = [n for n in names if fnmatch.fnmatchcase(n, _canonical(pattern))]
    return names


def model_info(name):
    """What the registry knows about a model (see :class:`ModelInfo`).

    Parameters
    ----------
    name : str
        Registered name (case-insensitive; ``_`` works for ``-``).

    Returns
    -------
    info : ModelInfo
    """
    key, _ = _lookup(name)
    return _INFO[key]


def _lookup(name):
    if not isinstance(name, str):
        raise TypeError(f"model name must be a str; got {type(name).__name__}.")
    key = _canonical(name)
    if key not in _MODELS:
        close = difflib.get_close_matches(key, list(_MODELS), n=3, cutoff=0.5)
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise ValueError(
            f"unknown model {name!r}; expected one of {list_models()}.{hint}"
        )
    return key, _MODELS[key]


def create_model(
    name,
    n_context=20,
    n_channels=64,
    n_freqs=249,
    out_shape=(30, 64, 64),
    *,
    random_state=None,
    **overrides,
):
    """Build a registered model for the given input and output shapes.

    Parameters
    ----------
    name : str
        Registered name (see :func:`list_models`), e.g. ``"spec2vol"``,
        ``"spec2vol-small"``, ``"spec2vol-bridge"``, ``"e2fnet"``. Case-insensitive;
        ``_`` works for ``-``.
    n_context : int, default=20
        Number of past TR windows per input (the convolution channels).
    n_channels : int, default=64
        Number of EEG electrodes (input height).
    n_freqs : int, default=249
        Number of frequency bins (input width).
    out_shape : tuple of int (D, H, W), default=(30, 64, 64)
        Shape of one output volume: slices, then the in-plane size.
    random_state : int, optional
        Seed for the weight initialisation. The global torch generator is left
        untouched when given (the build runs under ``torch.random.fork_rng``).
    **overrides
        Any constructor argument of the model class (for example
        ``hidden_dim=64``, ``attention=False``, ``decoder="unet"``,
        ``scan_backend="reference"``).

    Returns
    -------
    model : torch.nn.Module
        Maps ``(batch, n_context, n_channels, n_freqs)`` to ``(batch, D, H, W)``.

    Raises
    ------
    ValueError
        Unknown model name (with the closest registered names) or invalid argument.
    """
    key, fn = _lookup(name)
    kwargs = dict(
        n_context=n_context,
        n_channels=n_channels,
        n_freqs=n_freqs,
        out_shape=out_shape,
        **overrides,
    )
    if random_state is None:
        return fn(**kwargs)
    if isinstance(random_state, bool) or not isinstance(random_state, int):
        raise TypeError(
            f"random_state must be an int or None; got {type(random_state).__name__}."
        )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(random_state)
        return fn(**kwargs)


def model_from_config(config, *, random_state=None):
    """Rebuild a model (fresh weights) from ``model.get_config()``.

    Parameters
    ----------
    config : dict or str
        The dict returned by ``get_config()`` (or its JSON text): ``"name"`` plus the
        constructor arguments.
    random_state : int, optional
        Seed for the weight initialisation (see :func:`create_model`).

    Returns
    -------
    model : torch.nn.Module
        Same architecture as the model that produced ``config``. Load its weights
        with ``model.load_state_dict``.
    """
    if isinstance(config, str):
        try:
            config = json.loads(config)
        except json.JSONDecodeError as err:
            raise ValueError(f"model config is not valid JSON: {err}") from None
    if not isinstance(config, dict) or "name" not in config:
        raise ValueError(
            "model config must be a dict with a 'name' key (from model.get_config()); "
            f"got {type(config).__name__}"
            + (f" with keys {sorted(config)}" if isinstance(config, dict) else "")
            + "."
        )
    kwargs = copy.deepcopy(config)
    name = kwargs.pop("name")
    return create_model(name, random_state=random_state, **kwargs)
