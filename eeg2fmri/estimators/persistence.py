"""Model files: safetensors tensors + one JSON description, never a pickle.

The JSON holds a format marker and version, the class name, its parameters, the
fitted state that fits in JSON (shapes, scalings' scalars, training history...), the
feature parameters and, from format 3 on, what applying the model needs: ``"eeg"``
(:class:`~eeg2fmri.spaces.EEGSpec`: channels, sampling rate, frequency bins) and
``"output_space"`` (:class:`~eeg2fmri.spaces.OutputSpace`: grid, affine, space label,
units, TR). The safetensors file holds the arrays (network weights, ridge
coefficients, scaling statistics, the output space's mask and reference volume, the
channels' mean training spectra) and the same marker in its metadata. Files without
the marker are refused with :class:`~eeg2fmri.exceptions.ModelFileError`.

Versions: 1 (before the input and target scalings were parameters), 2 (scalings as
parameters), 3 (portable: channels, output space). Older files load; what they lack
is said in one warning (see :meth:`eeg2fmri.estimators.BaseVolumeRegressor.load`).

This module knows files, not classes: the estimators write and read their own state
(``_state`` / ``_restore``) through it.
"""

# SPDX-License-Identifier: BSD-3-Clause

import json
import math
from pathlib import Path

import numpy as np

from .._utils.io import atomic_path, write_json_atomic
from .._utils.logging import logger
from .._version import __version__
from ..exceptions import ModelFileError

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "model_paths",
    "write_model",
    "read_model",
    "read_description",
    "jsonable",
    "restore_tuples",
]

FORMAT = "eeg2fmri-estimator"
FORMAT_VERSION = 3
WEIGHTS_NAME = "weights.safetensors"
JSON_NAME = "estimator.json"

#: parameters and fitted attributes that are tuples (JSON has lists)
_TUPLES = ("input_shape_", "output_shape_", "input_shape", "output_shape",
           "feature_shape_")


def jsonable(obj):
    """``obj`` with numpy values, tuples, paths and dataclasses made JSON-able.

    Non-finite floats become None; objects JSON cannot hold (a RandomState, a CV
    splitter) become None too.
    """
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return jsonable(obj.item())
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if obj is None or isinstance(obj, bool | int | float | str):
        return obj
    if hasattr(obj, "__fspath__"):
        return str(obj)
    if hasattr(obj, "to_dict"):
        return jsonable(obj.to_dict())
    return None


def restore_tuples(values):
    """``values`` (a dict) with the shape entries turned back into tuples."""
    return {
        k: tuple(v) if k in _TUPLES and isinstance(v, list) else v
        for k, v in values.items()
    }


def model_paths(path):
    """``(weights, json)`` paths for a directory, a .safetensors or a .json path."""
    path = Path(path)
    if path.suffix == ".safetensors":
        return path, path.with_suffix(".json")
    if path.suffix == ".json":
        return path.with_suffix(".safetensors"), path
    return path / WEIGHTS_NAME, path / JSON_NAME


def write_model(path, description, tensors):
    """Write a model: the tensors, then the JSON (both atomic); returns the JSON path.

    Parameters
    ----------
    path : str or path-like
        Directory, ``.safetensors`` or ``.json`` path (see :func:`model_paths`).
    description : dict
        JSON-able (after :func:`jsonable`) description; the format keys are added.
    tensors : dict of str to ndarray
        Arrays to store (made contiguous; float64 kept).

    Returns
    -------
    json_path : pathlib.Path
    """
    from safetensors.numpy import save_file

    weights_path, json_path = model_paths(path)
    params = description.get("params") or {}
    if not isinstance(params.get("random_state"), int | type(None)):
        logger.info(
            "random_state %r is not JSON-serialisable; saved as None",
            params["random_state"],
        )
    full = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "eeg2fmri_version": __version__,
        **description,
        "weights_file": weights_path.name,
    }
    json_path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(weights_path) as tmp:
        save_file(
            {k: np.ascontiguousarray(v) for k, v in tensors.items()},
            str(tmp),
            metadata={"format": FORMAT, "format_version": str(FORMAT_VERSION)},
        )
    write_json_atomic(json_path, jsonable(full))
    logger.info("saved %s to %s", description.get("class"), json_path)
    return json_path


def read_description(json_path):
    """The checked JSON description of a model file (dict)."""
    json_path = Path(json_path)
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
        with safe_open(weights_path, framework="numpy") as f:
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


def read_model(path):
    """Read a model file: ``(description, tensors, json_path)``.

    Parameters
    ----------
    path : str or path-like
        Directory, ``.safetensors`` or ``.json`` path.

    Returns
    -------
    description : dict
    tensors : dict of str to ndarray
    json_path : pathlib.Path
    """
    weights_path, json_path = model_paths(path)
    desc = read_description(json_path)
    weights_path = json_path.parent / desc.get("weights_file", weights_path.name)
    return desc, _read_tensors(weights_path), json_path
