"""eeg2fmri: synthesize fMRI volumes from simultaneously recorded EEG.

Subpackages, by what you do with them:

- ``eeg2fmri.simulate``: simulate EEG-fMRI BIDS datasets with known ground truth.
- ``eeg2fmri.bids``: find paired EEG/BOLD runs, load them, align EEG to volumes,
  write BIDS derivatives.
- ``eeg2fmri.features``: TR-window EEG spectra and lazy (context, volume) pairs.
- ``eeg2fmri.models``: Spec2VolCAMU-Net, its ablations and baselines (registry).
- ``eeg2fmri.ops``: the selective scan used by the VM-UNet decoder.
- ``eeg2fmri.losses`` / ``eeg2fmri.metrics``: SSIM, PSNR, temporal correlation.
- ``eeg2fmri.estimator``: :class:`Spec2VolEstimator`, a scikit-learn estimator.
- ``eeg2fmri.reports``: figures and HTML reports.

Public names are imported lazily so that ``import eeg2fmri`` stays fast and has no
side effects (torch is only imported when a model-related name is used).
"""

import importlib

from ._version import __version__

# public name -> submodule that defines it
_LAZY = {
    # simulation
    "simulate_dataset": "eeg2fmri.simulate",
    "SIMULATION_PRESETS": "eeg2fmri.simulate",
    # BIDS input/output
    "find_paired_runs": "eeg2fmri.bids",
    "PairedRun": "eeg2fmri.bids",
    "load_eeg": "eeg2fmri.bids",
    "load_bold": "eeg2fmri.bids",
    "find_volume_onsets": "eeg2fmri.bids",
    # features
    "FeatureParams": "eeg2fmri.features",
    "compute_window_spectra": "eeg2fmri.features",
    "ContextPairs": "eeg2fmri.features",
    "PairedDataset": "eeg2fmri.features",
    "build_dataset": "eeg2fmri.features",
    # models and ops
    "create_model": "eeg2fmri.models",
    "list_models": "eeg2fmri.models",
    "selective_scan": "eeg2fmri.ops",
    # estimator
    "Spec2VolEstimator": "eeg2fmri.estimator",
    "MeanVolumeRegressor": "eeg2fmri.estimator",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'eeg2fmri' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
