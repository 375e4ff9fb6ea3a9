"""Saving and loading fitted estimators: safetensors weights + one JSON description.

Nothing is unpickled: the JSON holds the parameters, the model configuration, the
scalar scaling statistics, the training history and a format marker; the safetensors
file holds the tensors (and the same marker in its metadata): the network weights as
``model.<name>``, the target offset of ``Spec2VolEstimator(target_offset='mean')`` as
``target_mean`` (absent when no offset is applied), and the array statistics of the
scalings as ``input.mean``/``input.std`` and ``target.location``/``target.scale``.
Files without the marker are refused with
:class:`~eeg2fmri.exceptions.ModelFileError`.

Format version 1 (before the input and target scalings became parameters) loads with
the scalings it was trained with: global min-max inputs, and per-volume or run
min-max targets.
"""

# SPDX-License-Identifier: BSD-3-Clause

import json
import math
from pathlib import Path

import numpy as np

from ._utils.io import atomic_path, write_json_atomic
from ._utils.logging import logger
from ._version import __version__
from .exceptions import ModelFileError

__all__ = [
    "save_estimator",
    "load_estimator",
    "load_model",
    "module_state",
    "module_from_state",
]

FORMAT = "eeg2fmri-estimator"
FORMAT_VERSION = 2
WEIGHTS_NAME = "weights.safetensors"
JSON_NAME = "estimator.json"

# fitted attributes stored in the JSON, per class
_FITTED = {
    "Spec2VolEstimator": [
        "input_shape_",
        "output_shape_",
        "n_features_in_",
        "run_source_",
        "history_",
        "best_epoch_",
        "validation_groups_",
        "device_",
        "_y_ndim",
    ],
    "MeanVolumeRegressor": [
        "input_shape_",
        "output_shape_",
        "n_features_in_",
        "run_source_",
        "_y_ndim",
    ],
}
#: array statistics of the scalings: (attribute, field) -> safetensors key
_SCALING_TENSORS = {
    ("input_scaler_", "mean"): "input.mean",
    ("input_scaler_", "std"): "input.std",
    ("target_scaler_", "location"): "target.location",
    ("target_scaler_", "scale"): "target.scale",
}
_TUPLES = ("input_shape_", "output_shape_", "input_shape", "output_shape")


def module_state(model):
    """Picklable description of a registry model: config + numpy state dict."""
    return {
        "config": model.get_config(),
        "state_dict": {
            k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()
        },
    }


def module_from_state(state):
    """Rebuild a model from :func:`module_state` output (eval mode, CPU)."""
    import torch

    from .models import model_from_config

    model = model_from_config(state["config"])
    model.load_state_dict(
        {k: torch.from_numpy(np.array(v)) for k, v in state["state_dict"].items()}
    )
    return model.eval()


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return _jsonable(obj.item())
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if obj is None or isinstance(obj, bool | int | float | str):
        return obj
    if hasattr(obj, "__fspath__"):
        return str(obj)
    if hasattr(obj, "to_dict"):
        return _jsonable(obj.to_dict())
    return None  # e.g. a RandomState instance: not representable


def _paths(path):
    """(weights, json) paths for a directory, a .safetensors or a .json path."""
    path = Path(path)
    if path.suffix == ".safetensors":
        return path, path.with_suffix(".json")
    if path.suffix == ".json":
        return path.with_suffix(".safetensors"), path
    return path / WEIGHTS_NAME, path / JSON_NAME


def save_estimator(est, path):
    """Write ``est`` (fitted) to ``path``; returns the JSON path."""
    import torch
    from safetensors.torch import save_file

    weights_path, json_path = _paths(path)
    cls = type(est).__name__
    if cls not in _FITTED:
        raise TypeError(f"Cannot save a {cls}; expected one of {sorted(_FITTED)}.")
    params = est.get_params(deep=False)
    if not isinstance(params.get("random_state"), int | type(None)):
        logger.info(
            "random_state %r is not JSON-serialisable; saved as None",
            params["random_state"],
        )
    scalings = {}
    for attr in ("input_scaler_", "target_scaler_"):
        scaling = getattr(est, attr, None)
        if scaling is not None:
            scalings[attr] = {
                "method": scaling.method, "lo": scaling.lo, "hi": scaling.hi
            }
    if cls == "Spec2VolEstimator":
        tensors = {
            f"model.{k}": v.detach().to("cpu").contiguous().clone()
            for k, v in est.model_.state_dict().items()
        }
        target_mean = getattr(est, "target_mean_", None)
        if target_mean is not None:
            tensors["target_mean"] = torch.from_numpy(
                np.ascontiguousarray(target_mean, dtype=np.float32)
            )
        model_config = est.model_config_
    else:
        tensors = {
            "mean_volume": torch.from_numpy(np.ascontiguousarray(est.mean_volume_))
        }
        model_config = None
    for (attr, name), key in _SCALING_TENSORS.items():
        value = getattr(getattr(est, attr, None), name, None)
        if value is not None:
            tensors[key] = torch.from_numpy(np.ascontiguousarray(value, np.float32))
    description = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "eeg2fmri_version": __version__,
        "class": cls,
        "params": _jsonable(params),
        "model_config": _jsonable(model_config),
        "fitted": {k: _jsonable(getattr(est, k, None)) for k in _FITTED[cls]},
        "scalings": _jsonable(scalings),
        "feature_names_in": _jsonable(getattr(est, "feature_names_in_", None)),
        "feature_params": _jsonable(getattr(est, "feature_params_", None)),
        "weights_file": weights_path.name,
    }
    json_path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(weights_path) as tmp:
        save_file(
            tensors,
            tmp,
            metadata={"format": FORMAT, "format_version": str(FORMAT_VERSION)},
        )
    write_json_atomic(json_path, description)
    logger.info("saved %s to %s", cls, json_path)
    return json_path


def _read_description(json_path):
    if not json_path.is_file():
        raise ModelFileError(
            f"Model file {json_path} not found; expected the JSON written by an "
            "estimator's save() next to its .safetensors weights."
        )
    try:
        desc = json.loads(json_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ModelFileError(
            f"Model file {json_path} is not valid JSON ({exc}); it was not written by "
            "eeg2fmri."
        ) from exc
    if not isinstance(desc, dict) or desc.get("format") != FORMAT:
        raise ModelFileError(
            f"Model file {json_path} was not written by eeg2fmri: expected "
            f"format '{FORMAT}', found "
            f"{desc.get('format') if isinstance(desc, dict) else None!r}."
        )
    if desc.get("format_version", 0) > FORMAT_VERSION:
        raise ModelFileError(
            f"Model file {json_path} has format version {desc['format_version']}; this "
            f"eeg2fmri ({__version__}) reads up to {FORMAT_VERSION}. Upgrade eeg2fmri."
        )
    return desc


def _read_tensors(weights_path):
    from safetensors import SafetensorError, safe_open

    if not weights_path.is_file():
        raise ModelFileError(f"Weights file {weights_path} not found.")
    try:
        with safe_open(weights_path, framework="pt") as f:
            meta = f.metadata() or {}
            if meta.get("format") != FORMAT:
                raise ModelFileError(
                    f"Weights file {weights_path} was not written by eeg2fmri: no "
                    f"'{FORMAT}' marker in its safetensors metadata."
                )
            return {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError, ValueError) as exc:
        if isinstance(exc, ModelFileError):
            raise
        raise ModelFileError(
            f"Weights file {weights_path} is not a valid safetensors file ({exc})."
        ) from exc


def _params_v1(cls_name, params):
    """Parameters of a format-1 file, completed with the recipe it was trained with."""
    params = dict(params)
    params.setdefault("target_scaling", "volume")
    if cls_name == "Spec2VolEstimator":
        params.setdefault("target_offset", None)  # files from before the parameter
        params.update(
            input_scaling="minmax",
            loss="hybrid",
            lr_schedule="cosine-restarts",
            warmup_steps=0,
            selection="ssim",
        )
    return params


def _restore_scalings(est, desc, tensors, version, weights_path):
    from ._scaling import InputScaling, TargetScaling

    if version < 2:
        fitted = desc.get("fitted") or {}
        if "eeg_min_" in fitted:
            est.input_scaler_ = InputScaling(
                "minmax", lo=fitted["eeg_min_"], hi=fitted["eeg_max_"]
            )
        est.target_scaler_ = TargetScaling(
            est.target_scaling, lo=fitted.get("target_min_"),
            hi=fitted.get("target_max_"),
        )
        return
    for attr, cls in (("input_scaler_", InputScaling), ("target_scaler_",
                                                        TargetScaling)):
        info = (desc.get("scalings") or {}).get(attr)
        if info is None:
            continue
        arrays = {
            name: tensors[key].numpy()
            for (a, name), key in _SCALING_TENSORS.items()
            if a == attr and key in tensors
        }
        try:
            setattr(est, attr, cls(info["method"], lo=info.get("lo"),
                                   hi=info.get("hi"), **arrays))
        except (KeyError, TypeError) as exc:
            raise ModelFileError(
                f"Weights file {weights_path}: unreadable {attr} ({exc})."
            ) from exc


def load_estimator(path, expected=None):
    """Load an estimator written by :func:`save_estimator`."""
    from . import estimator as estimator_module

    weights_path, json_path = _paths(path)
    desc = _read_description(json_path)
    weights_path = json_path.parent / desc.get("weights_file", weights_path.name)
    cls_name = desc.get("class")
    if cls_name not in _FITTED:
        raise ModelFileError(
            f"Model file {json_path} describes a {cls_name!r}; expected one of "
            f"{sorted(_FITTED)}."
        )
    cls = getattr(estimator_module, cls_name)
    if expected is not None and not issubclass(cls, expected):
        raise ModelFileError(
            f"Model file {json_path} holds a {cls_name}, not a {expected.__name__}; "
            f"load it with {cls_name}.load."
        )
    tensors = _read_tensors(weights_path)
    params = dict(desc.get("params") or {})
    for k in _TUPLES:
        if params.get(k) is not None:
            params[k] = tuple(params[k])
    version = desc.get("format_version", 1)
    if version < 2:
        params = _params_v1(cls_name, params)
    try:
        est = cls(**params)
    except TypeError as exc:
        raise ModelFileError(
            f"Model file {json_path} has unknown parameters: {exc}"
        ) from exc
    fitted = desc.get("fitted") or {}
    for k in _FITTED[cls_name]:
        value = fitted.get(k)
        if k in _TUPLES and value is not None:
            value = tuple(value)
        setattr(est, k, value)
    if desc.get("feature_names_in") is not None:
        est.feature_names_in_ = np.asarray(desc["feature_names_in"], dtype=object)
    if desc.get("feature_params") is not None:
        est.feature_params_ = desc["feature_params"]
    _restore_scalings(est, desc, tensors, version, weights_path)
    if cls_name == "Spec2VolEstimator":
        from .models import model_from_config

        try:
            model = model_from_config(desc["model_config"])
            state = {
                k[len("model.") :]: v
                for k, v in tensors.items()
                if k.startswith("model.")
            }
            model.load_state_dict(state, strict=True)
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise ModelFileError(
                f"Model file {json_path}: the weights do not fit the model "
                f"configuration ({str(exc).splitlines()[0]})."
            ) from exc
        target_mean = tensors.get("target_mean")
        if target_mean is not None and tuple(target_mean.shape) != tuple(
            est.output_shape_ or ()
        ):
            raise ModelFileError(
                f"Weights file {weights_path}: 'target_mean' has shape "
                f"{tuple(target_mean.shape)} but the volumes have shape "
                f"{est.output_shape_}."
            )
        est.target_mean_ = None if target_mean is None else target_mean.numpy()
        est.model_ = model.eval()
        est.model_config_ = desc["model_config"]
        if est.history_ is None:
            est.history_ = []
    else:
        if "mean_volume" not in tensors:
            raise ModelFileError(f"Weights file {weights_path} has no 'mean_volume'.")
        est.mean_volume_ = tensors["mean_volume"].numpy()
    return est


#: class name in a model file -> (module, class)
_LOADERS = {
    "Spec2VolEstimator": ("eeg2fmri.estimator", "Spec2VolEstimator"),
    "MeanVolumeRegressor": ("eeg2fmri.estimator", "MeanVolumeRegressor"),
    "BandPowerRidge": ("eeg2fmri.linear", "BandPowerRidge"),
    "ReducedRankRidge": ("eeg2fmri.linear", "ReducedRankRidge"),
}


def load_model(path):
    """Load any model file written by eeg2fmri (``.save`` of an estimator).

    Reads the class named in the JSON description and loads the file with that
    class's ``load``; nothing is unpickled.

    Parameters
    ----------
    path : str or path-like
        The directory, the ``.safetensors`` file or the JSON file.

    Returns
    -------
    estimator : Spec2VolEstimator, MeanVolumeRegressor, BandPowerRidge or \
ReducedRankRidge

    Raises
    ------
    eeg2fmri.exceptions.ModelFileError
        If the files are missing, were not written by eeg2fmri or are corrupt.
    """
    import importlib

    _, json_path = _paths(path)
    desc = _read_description(json_path)
    name = desc.get("class")
    if name not in _LOADERS:
        raise ModelFileError(
            f"Model file {json_path} describes a {name!r}; expected one of "
            f"{sorted(_LOADERS)}."
        )
    module, attr = _LOADERS[name]
    cls = getattr(importlib.import_module(module), attr)
    if name in _FITTED:
        return load_estimator(path, expected=cls)
    return cls.load(path)
