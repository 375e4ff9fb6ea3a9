"""Saving and loading a :class:`~eeg2fmri.Spec2VolEstimator`: weights, scalings.

:class:`_NetworkPersistence` gives the estimator the hooks of the shared protocol
(:meth:`~eeg2fmri.estimators.BaseVolumeRegressor.save` / ``load``): ``_state`` (the
JSON and safetensors parts), ``_restore`` (checked against the model configuration),
``_migrate_params`` (the recipe of format-1 files) and pickling of the module.
"""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np

from ._ridge_backing import RidgeBacking
from ._scaling_state import (
    module_from_state,
    module_state,
    restore_scalings,
    scalings_state,
)

#: fitted attributes of the JSON description (beyond the common ones)
_FITTED = (
    "history_",
    "best_epoch_",
    "validation_groups_",
    "device_",
    "validation_history_",
    "refitted_",
    "baseline_check_",
)


#: prefix of the ridge backing's arrays in the safetensors part
_BACKING = "ridge_backing."


class _NetworkPersistence:
    """State of a fitted network estimator (a mixin of Spec2VolEstimator)."""

    def _state(self):
        import torch  # noqa: F401  (the weights are torch tensors)

        info, tensors = scalings_state(self)
        tensors.update(
            {
                f"model.{k}": v.detach().to("cpu").contiguous().numpy().copy()
                for k, v in self.model_.state_dict().items()
            }
        )
        if getattr(self, "target_mean_", None) is not None:
            tensors["target_mean"] = np.asarray(self.target_mean_, np.float32)
        if getattr(self, "signal_mask_", None) is not None:
            tensors["signal_mask"] = np.asarray(self.signal_mask_, np.uint8)
        if getattr(self, "ridge_backing_", None) is not None:
            tensors.update(self.ridge_backing_.tensors(_BACKING))
        fitted = {k: getattr(self, k, None) for k in _FITTED}
        return fitted, tensors, {"model_config": self.model_config_, "scalings": info}

    @classmethod
    def _migrate_params(cls, params, version):
        params = dict(params)
        # files written before signal_voxels: the network learned every voxel
        params.setdefault("signal_voxels", None)
        # files written before ridge_backing: the network alone
        params.setdefault("ridge_backing", False)
        if version >= 2:
            return params
        # format 1: the recipe of those days
        params.setdefault("target_scaling", "volume")
        params.setdefault("target_offset", None)
        params.update(
            input_scaling="minmax",
            loss="hybrid",
            lr_schedule="cosine-restarts",
            warmup_steps=0,
            selection="ssim",
        )
        return params

    def _restore(self, desc, tensors, version, source):
        import torch

        from ..exceptions import ModelFileError
        from ..models import model_from_config

        fitted = desc.get("fitted") or {}
        for key in _FITTED:
            setattr(self, key, fitted.get(key))
        if self.history_ is None:
            self.history_ = []
        restore_scalings(self, desc, tensors, version, source)
        try:
            model = model_from_config(desc["model_config"])
            state = {
                k[len("model.") :]: torch.from_numpy(np.array(v))
                for k, v in tensors.items()
                if k.startswith("model.")
            }
            model.load_state_dict(state, strict=True)
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise ModelFileError(
                f"Model file {source}: the weights do not fit the model "
                f"configuration ({str(exc).splitlines()[0]})."
            ) from exc
        offset = tensors.get("target_mean")
        expected = tuple(self.output_shape_ or ())
        if offset is not None and tuple(offset.shape) != expected:
            raise ModelFileError(
                f"Model file {source}: 'target_mean' has shape {tuple(offset.shape)} "
                f"but the volumes have shape {self.output_shape_}."
            )
        self.target_mean_ = None if offset is None else np.asarray(offset, np.float32)
        mask = tensors.get("signal_mask")
        if mask is not None and tuple(mask.shape) != expected:
            raise ModelFileError(
                f"Model file {source}: 'signal_mask' has shape {tuple(mask.shape)} "
                f"but the volumes have shape {self.output_shape_}."
            )
        self.signal_mask_ = None if mask is None else np.asarray(mask, dtype=bool)
        self.ridge_backing_ = RidgeBacking.from_tensors(
            tensors, _BACKING, self.input_shape_, expected, source
        )
        self.model_ = model.eval()
        self.model_config_ = desc["model_config"]

    def __getstate__(self):
        state = self.__dict__.copy()
        if "model_" in state:
            state["model_"] = module_state(self.model_)
        return state

    def __setstate__(self, state):
        if isinstance(state.get("model_"), dict):
            state["model_"] = module_from_state(state["model_"])
        self.__dict__.update(state)
