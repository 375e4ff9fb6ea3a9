"""Saving and loading the band-power ridges: penalties, scaler and weights.

:class:`_RidgePersistence` gives :class:`~eeg2fmri.BandPowerRidge` (and so
:class:`~eeg2fmri.ReducedRankRidge` and :class:`~eeg2fmri.InteractionRidge`) the
hooks of the shared protocol (:meth:`~eeg2fmri.estimators.BaseVolumeRegressor.save` /
``load``): ``_state``, ``_migrate_params`` and ``_restore``, the tensors checked
against the fitted shapes.
"""

# SPDX-License-Identifier: BSD-3-Clause

import numbers

import numpy as np
from sklearn.preprocessing import StandardScaler

from .._utils.logging import logger
from ..exceptions import ModelFileError
from . import scaling as _scaling


class _RidgePersistence:
    """State of a fitted ridge (a mixin of BandPowerRidge)."""

    def _state(self):
        scaler, ridge = self.pipeline_[0], self.pipeline_[-1]
        tensors = {
            "scaler.mean": scaler.mean_,
            "scaler.scale": scaler.scale_,
            "scaler.var": scaler.var_,
            "ridge.coef": ridge.coef_,
            "intercept": self.intercept_,
        }
        if self.components_ is not None:
            tensors["components"] = self.components_
        if self.band_weights_ is not None:
            tensors["band_weights"] = self.band_weights_
        if getattr(self, "cv_voxel_scores_", None) is not None:
            tensors["cv_voxel_scores"] = self.cv_voxel_scores_
        target = self.target_scaler_
        for name in ("location", "scale"):
            if getattr(target, name, None) is not None:
                value = np.asarray(getattr(target, name), np.float32)
                tensors[f"target.{name}"] = value
        cv = self.get_params(deep=False).get("cv")
        if cv is not None and not isinstance(cv, numbers.Integral):
            logger.info("%s: cv=%r is not saved (None in the file)", type(self), cv)
        fitted = {
            "alpha_": self.alpha_,
            "best_score_": self.best_score_,
            "n_splits_": self.n_splits_,
            "feature_shape_": self.feature_shape_,
            "rank_": getattr(self, "rank_", None),
            "bands_": self.bands_,
            "scaler_n_samples_seen": scaler.n_samples_seen_,
            "cv_scores_": [
                [*(k if isinstance(k, tuple) else (k,)), v]
                for k, v in self.cv_scores_.items()
            ],
        }
        scalings = {
            "target_scaler_": {
                "method": target.method,
                "lo": target.lo,
                "hi": target.hi,
            }
        }
        return fitted, tensors, {"scalings": scalings}

    @classmethod
    def _migrate_params(cls, params, version):
        params = {k: _as_tuple(v) for k, v in params.items()}
        if params.get("frequencies") is not None:
            params["frequencies"] = np.asarray(params["frequencies"], dtype=np.float64)
        return params

    def _restore(self, desc, tensors, version, source):
        try:
            self._restore_fitted(desc, tensors)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            detail = (str(exc).splitlines() or [""])[0]
            raise ModelFileError(
                f"Model file {source}: unreadable {type(self).__name__} description "
                f"or tensors ({type(exc).__name__}: {detail})."
            ) from exc
        self._check_tensor_shapes(tensors, source)
        self._set_model(
            self._scaler,
            tensors["ridge.coef"],
            tensors.get("components"),
            tensors["intercept"],
        )
        del self._scaler

    def _restore_fitted(self, desc, tensors):
        fitted = desc["fitted"]
        self.alpha_ = _float_or_array(fitted["alpha_"])
        self.best_score_ = _float_or_array(fitted["best_score_"])
        self.n_splits_ = fitted["n_splits_"]
        self.feature_shape_ = tuple(fitted["feature_shape_"])
        if fitted.get("rank_") is not None:
            self.rank_ = int(fitted["rank_"])
        scores = {}
        for *key, value in fitted["cv_scores_"]:
            key = (float(key[0]), int(key[1])) if len(key) == 2 else float(key[0])
            scores[key] = float("nan") if value is None else float(value)
        self.cv_scores_ = scores
        self.bands_ = (
            None if fitted["bands_"] is None else np.asarray(fitted["bands_"], float)
        )
        self.band_weights_ = tensors.get("band_weights")
        self.cv_voxel_scores_ = tensors.get("cv_voxel_scores")
        scaling = desc["scalings"]["target_scaler_"]
        self.target_scaler_ = _scaling.TargetScaling(
            scaling["method"],
            lo=scaling.get("lo"),
            hi=scaling.get("hi"),
            location=tensors.get("target.location"),
            scale=tensors.get("target.scale"),
        )
        scaler = StandardScaler()
        scaler.mean_ = tensors["scaler.mean"]
        scaler.scale_ = tensors["scaler.scale"]
        scaler.var_ = tensors["scaler.var"]
        scaler.n_features_in_ = len(scaler.mean_)
        scaler.n_samples_seen_ = fitted["scaler_n_samples_seen"]
        self._scaler = scaler

    def _check_tensor_shapes(self, tensors, source):
        coef, components = tensors.get("ridge.coef"), tensors.get("components")
        n_vox = int(np.prod(self.output_shape_))
        n_feat = int(np.prod(self.feature_shape_))
        n_rows = n_vox if components is None or coef is None else len(coef)
        expected = {
            "ridge.coef": (n_rows, n_feat),
            "scaler.mean": (n_feat,),
            "intercept": (n_vox,),
        }
        if components is not None:
            expected["components"] = (n_rows, n_vox)
        if self.band_weights_ is not None:
            expected["band_weights"] = (self.input_shape_[2], len(self.bands_))
        if self.target_scaler_.location is not None:
            expected["target.location"] = tuple(self.output_shape_)
            expected["target.scale"] = tuple(self.output_shape_)
        for key, shape in expected.items():
            if key not in tensors:
                raise ModelFileError(
                    f"Model file {source}: expected a tensor '{key}' of shape "
                    f"{tuple(shape)}, found none."
                )
            if tuple(tensors[key].shape) != tuple(shape):
                raise ModelFileError(
                    f"Model file {source}: '{key}' has shape "
                    f"{tuple(tensors[key].shape)}, expected {tuple(shape)}."
                )


def _as_tuple(value):
    """JSON lists back to (nested) tuples, as the parameters were given."""
    if isinstance(value, list):
        return tuple(_as_tuple(v) for v in value)
    return value


def _float_or_array(value):
    if value is None:
        return float("nan")
    if isinstance(value, list):
        return np.asarray(value, dtype=np.float64)
    return float(value)
