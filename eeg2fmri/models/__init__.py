"""Spec2VolCAMU-Net, its ablations and baselines, behind one registry.

>>> from eeg2fmri.models import create_model, list_models
>>> model = create_model("spec2vol-bridge", n_context=20, n_channels=32, n_freqs=249,
...                      out_shape=(16, 32, 32))

Every model maps ``(batch, n_context, n_channels, n_freqs)`` EEG spectra to
``(batch, D, H, W)`` volumes, has ``get_config()`` (JSON-serialisable) and is
rebuilt by :func:`model_from_config`. Registered names: ``spec2vol`` (official
configuration, the paper's model), ``spec2vol-small`` (the whole network scaled down
for a CPU, with a :class:`GlobalBridge`), ``spec2vol-bridge`` (``spec2vol-small``'s
input projection and bridge alone; the default of
:class:`~eeg2fmri.Spec2VolEstimator`), ``spec2vol-tiny`` (tests, with a bridge),
``latent-drive`` (:class:`LatentDrive`), ``e2fnet`` (official sizes),
``e2fnet-small``, ``e2fnet-tiny``. :func:`model_info` says which of them learn
input-dependent targets (the overfitting check) and why the others do not.
"""

from . import e2fnet as _e2fnet  # noqa: F401  (registers the presets)
from . import latent as _latent  # noqa: F401
from . import spec2vol as _spec2vol  # noqa: F401
from ._registry import (
    ModelInfo,
    create_model,
    list_models,
    model_from_config,
    model_info,
    register_model,
)
from .bridge import GlobalBridge
from .e2fnet import E2fNet
from .latent import LatentDrive
from .spec2vol import Spec2Vol

__all__ = [
    "create_model",
    "list_models",
    "model_from_config",
    "register_model",
    "model_info",
    "ModelInfo",
    "GlobalBridge",
    "Spec2Vol",
    "E2fNet",
    "LatentDrive",
]
