"""The band-power ridge inside :class:`~eeg2fmri.Spec2VolEstimator`'s predictions.

With ``ridge_backing=True`` (the default) the estimator predicts, in model units,

- the average of the network and the band-power ridge in the voxels the network
  learned (``signal_mask_``; every voxel with ``signal_voxels=None``),
- the ridge alone everywhere else,

where the ridge is the :class:`~eeg2fmri.BandPowerRidge` the fit already trains for
the signal voxels (on the same rows as the final network), truncated to its
:data:`BACKING_RANK` leading spatial components.

Why: a network trained on a few hundred pairs is not reliable everywhere. On the
study's sweeps (``docs/robustness.rst``) the network alone fell far below the ridge
where the data are few: on 60 volumes per participant the ridge finds signal in a
few dozen voxels or none, the network learns only those, and the other network voxels
get the training mean (r = 0). The ridge predicts every voxel, and where both have
learned, their errors differ enough that the average beats either. Held-out r in the
simulated network voxels (12 participants, 4 folds; ``docs/study/results.md``):

==============================  ========  =============  =====
dataset                         default   network alone  ridge
==============================  ========  =============  =====
noddi (linear coupling)         0.495     0.486          0.418
realistic                       0.276     0.230          0.220
realistic, 60 volumes           0.219     0.042          0.211
realistic, 6 participants       0.210     0.087          0.214
realistic, 240 volumes          0.276     0.222          0.251
==============================  ========  =============  =====

The truncation keeps the file small (``rank * (n_features + n_voxels)`` numbers
instead of ``n_components * (n_features + n_voxels)``, ``n_components`` up to the
number of training rows) and regularizes: the ridge's weights for the noise voxels
sit mostly in its trailing components (``benchmarks/truncated_ridge.py``).
"""

# SPDX-License-Identifier: BSD-3-Clause

from dataclasses import dataclass

import numpy as np

from .._utils.logging import logger
from ._band_features import _band_power

__all__ = ["BACKING_RANK", "RidgeBacking"]

#: Spatial components of the band-power ridge kept in the predictions.
BACKING_RANK = 64

_ARRAYS = ("feature_mean", "feature_scale", "feature_maps", "voxel_maps",
           "intercept", "blend")


@dataclass
class RidgeBacking:
    """A band-power ridge truncated to a few spatial components, and where it blends.

    Parameters
    ----------
    input_shape : tuple of int
        ``(n_context, n_channels, n_freqs)`` of the inputs.
    band_weights : ndarray of shape (n_freqs, n_bands) or None
        Frequency bins to bands (``BandPowerRidge.band_weights_``); None: bins.
    feature_mean, feature_scale : ndarray of shape (n_features,)
        The standardization of the band-power features.
    feature_maps : ndarray of shape (n_features, rank)
        Standardized features to the ridge's leading components.
    voxel_maps : ndarray of shape (rank, n_voxels)
        The components' spatial maps.
    intercept : ndarray of shape (n_voxels,)
        The ridge's intercept (model units).
    blend : ndarray of bool of shape (D, H, W)
        Voxels where the prediction is the average of the network and the ridge;
        elsewhere it is the ridge's.
    """

    input_shape: tuple
    band_weights: np.ndarray | None
    feature_mean: np.ndarray
    feature_scale: np.ndarray
    feature_maps: np.ndarray
    voxel_maps: np.ndarray
    intercept: np.ndarray
    blend: np.ndarray

    @classmethod
    def from_ridge(cls, ridge, blend, rank=BACKING_RANK):
        """Truncate a fitted :class:`~eeg2fmri.BandPowerRidge` to ``rank`` components.

        Parameters
        ----------
        ridge : BandPowerRidge
            Fitted on the network's training rows with the network's
            ``target_scaling``.
        blend : ndarray of bool of shape (D, H, W)
        rank : int, default=BACKING_RANK

        Returns
        -------
        backing : RidgeBacking
        """
        scaler, linear = ridge.pipeline_[0], ridge.pipeline_[-1]
        if ridge.components_ is None:  # dense (n_voxels, n_features)
            left, right = None, np.asarray(linear.coef_).T
        else:  # orthonormal latent directions times per-voxel components
            left = np.asarray(linear.coef_, dtype=np.float64).T
            right = np.asarray(ridge.components_)
        # leading eigenvectors of right @ right.T: with orthonormal left, the
        # truncated SVD of the coefficient matrix left @ right (float64, in
        # blocks of voxels: right may be large)
        blocks = [slice(i, i + 8192) for i in range(0, right.shape[1], 8192)]
        gram = np.zeros((len(right), len(right)))
        for b in blocks:
            part = right[:, b].astype(np.float64)
            gram += part @ part.T
        eigval, eigvec = np.linalg.eigh(gram)
        keep = eigvec[:, np.argsort(eigval)[::-1][: min(rank, len(eigval))]]
        feature_maps = keep if left is None else left @ keep
        voxel_maps = np.empty((keep.shape[1], right.shape[1]), dtype=np.float32)
        for b in blocks:
            voxel_maps[:, b] = keep.T @ right[:, b].astype(np.float64)
        return cls(
            input_shape=tuple(int(s) for s in ridge.input_shape_),
            band_weights=ridge.band_weights_,
            feature_mean=np.asarray(scaler.mean_, dtype=np.float64),
            feature_scale=np.asarray(scaler.scale_, dtype=np.float64),
            feature_maps=feature_maps.astype(np.float32),
            voxel_maps=voxel_maps,
            intercept=np.asarray(ridge.intercept_, dtype=np.float32),
            blend=np.asarray(blend, dtype=bool),
        )

    @property
    def rank(self):
        """Components kept."""
        return int(self.voxel_maps.shape[0])

    def model_units(self, X):
        """The ridge's predictions of every row of ``X`` (model units).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_context, n_channels, n_freqs)

        Returns
        -------
        pred : ndarray of shape (n_samples, n_voxels) float32
        """
        features = _band_power(X, self.input_shape, self.band_weights)
        latent = (features - self.feature_mean) / self.feature_scale
        latent = (latent @ self.feature_maps.astype(np.float64)).astype(np.float32)
        return latent @ self.voxel_maps + self.intercept

    def combine(self, network, X):
        """The estimator's predictions from the network's (model units).

        Parameters
        ----------
        network : ndarray of shape (n_samples, D, H, W)
            The network's outputs for ``X`` (model units, offset added).
        X : array-like of shape (n_samples, n_context, n_channels, n_freqs)

        Returns
        -------
        pred : ndarray of shape (n_samples, D, H, W) float32
        """
        ridge = self.model_units(X).reshape(network.shape)
        blend = self.blend
        ridge[:, blend] = 0.5 * (ridge[:, blend] + network[:, blend])
        return ridge

    # ----------------------------------------------------------------- files

    def tensors(self, prefix):
        """The arrays to save, keyed ``prefix + name``."""
        out = {prefix + k: np.ascontiguousarray(getattr(self, k)) for k in _ARRAYS}
        out[prefix + "blend"] = out[prefix + "blend"].astype(np.uint8)
        if self.band_weights is not None:
            out[prefix + "band_weights"] = np.asarray(self.band_weights)
        return out

    @classmethod
    def from_tensors(cls, tensors, prefix, input_shape, output_shape, source):
        """The backing saved by :meth:`tensors`, or None when the file has none.

        Raises
        ------
        ModelFileError
            Arrays missing or of shapes that do not fit the model.
        """
        from ..exceptions import ModelFileError

        if prefix + "voxel_maps" not in tensors:
            return None
        missing = [k for k in _ARRAYS if prefix + k not in tensors]
        if missing:
            raise ModelFileError(
                f"Model file {source}: the ridge backing lacks {missing}."
            )
        arrays = {k: np.asarray(tensors[prefix + k]) for k in _ARRAYS}
        weights = tensors.get(prefix + "band_weights")
        backing = cls(
            input_shape=tuple(int(s) for s in input_shape),
            band_weights=None if weights is None else np.asarray(weights),
            **{**arrays, "blend": arrays["blend"].astype(bool)},
        )
        n_vox = int(np.prod(output_shape))
        n_bands = input_shape[2] if weights is None else np.shape(weights)[1]
        n_feat = int(input_shape[0] * input_shape[1] * n_bands)
        expected = {
            "feature_maps": (n_feat, backing.rank),
            "voxel_maps": (backing.rank, n_vox),
            "intercept": (n_vox,),
            "feature_mean": (n_feat,),
            "blend": tuple(output_shape),
        }
        for name, shape in expected.items():
            found = tuple(getattr(backing, name).shape)
            if found != shape:
                raise ModelFileError(
                    f"Model file {source}: the ridge backing's {name!r} has shape "
                    f"{found}, expected {shape}."
                )
        return backing


def backing_for(ridge, mask, signal_voxels, output_shape):
    """The backing of a fit: ``ridge`` truncated, blended where the network learned.

    Parameters
    ----------
    ridge : BandPowerRidge
        Fitted on the final network's training rows.
    mask : ndarray of bool of shape (D, H, W) or None
        The voxels the network learned (``signal_mask_``).
    signal_voxels : {'ridge'} or None
        The estimator's parameter: with ``'ridge'``, ``mask=None`` means the ridge
        found too few signal voxels, and the ridge alone predicts every voxel.
    output_shape : tuple of int

    Returns
    -------
    backing : RidgeBacking
    """
    if mask is not None:
        blend = np.asarray(mask, dtype=bool)
    else:
        blend = np.full(tuple(output_shape), signal_voxels is None, dtype=bool)
        if signal_voxels is not None:
            logger.warning(
                "the band-power ridge found too few signal voxels: the predictions "
                "are the ridge's (ridge_backing=False keeps the network's)"
            )
    backing = RidgeBacking.from_ridge(ridge, blend)
    logger.info(
        "ridge backing: %d components; network and ridge averaged in %d of %d "
        "voxels, the ridge alone elsewhere", backing.rank, int(blend.sum()),
        blend.size,
    )
    return backing
