"""Saving a network estimator's state: its scalings and (for pickling) its module.

The scalings' scalars go to the JSON, their arrays to safetensors; the format is
shared by :class:`~eeg2fmri.Spec2VolEstimator` and
:class:`~eeg2fmri.MeanVolumeRegressor` and reads every format version.
"""

import numpy as np

from . import scaling

__all__ = ["scalings_state", "restore_scalings", "module_state", "module_from_state"]

#: array statistics of the scalings: (attribute, field) -> safetensors key
_SCALING_TENSORS = {
    ("input_scaler_", "mean"): "input.mean",
    ("input_scaler_", "std"): "input.std",
    ("target_scaler_", "location"): "target.location",
    ("target_scaler_", "scale"): "target.scale",
}


def scalings_state(est):
    """JSON and tensors of ``est.input_scaler_`` and ``target_scaler_``."""
    info, tensors = {}, {}
    for attr in ("input_scaler_", "target_scaler_"):
        fitted = getattr(est, attr, None)
        if fitted is not None:
            info[attr] = {"method": fitted.method, "lo": fitted.lo, "hi": fitted.hi}
    for (attr, name), key in _SCALING_TENSORS.items():
        value = getattr(getattr(est, attr, None), name, None)
        if value is not None:
            tensors[key] = np.asarray(value, np.float32)
    return info, tensors


def restore_scalings(est, desc, tensors, version, source):
    """Set ``input_scaler_`` / ``target_scaler_`` from a file (any format version)."""
    from ..exceptions import ModelFileError

    if version < 2:
        fitted = desc.get("fitted") or {}
        if "eeg_min_" in fitted:
            est.input_scaler_ = scaling.InputScaling(
                "minmax", lo=fitted["eeg_min_"], hi=fitted["eeg_max_"]
            )
        est.target_scaler_ = scaling.TargetScaling(
            est.target_scaling, lo=fitted.get("target_min_"),
            hi=fitted.get("target_max_"),
        )
        return
    classes = {"input_scaler_": scaling.InputScaling,
               "target_scaler_": scaling.TargetScaling}
    for attr, klass in classes.items():
        info = (desc.get("scalings") or {}).get(attr)
        if info is None:
            continue
        arrays = {
            name: np.asarray(tensors[key])
            for (a, name), key in _SCALING_TENSORS.items()
            if a == attr and key in tensors
        }
        try:
            setattr(est, attr, klass(info["method"], lo=info.get("lo"),
                                     hi=info.get("hi"), **arrays))
        except (KeyError, TypeError) as exc:
            raise ModelFileError(
                f"Model file {source}: unreadable {attr} ({exc})."
            ) from exc


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

    from ..models import model_from_config

    model = model_from_config(state["config"])
    model.load_state_dict(
        {k: torch.from_numpy(np.array(v)) for k, v in state["state_dict"].items()}
    )
    return model.eval()
