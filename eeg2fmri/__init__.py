"""eeg2fmri: synthesize fMRI volumes from simultaneously recorded EEG.

Subpackages, by what you do with them:

- ``eeg2fmri.simulate``: simulate EEG-fMRI BIDS datasets with known ground truth.
- ``eeg2fmri.bids``: find paired EEG/BOLD runs, load them, align EEG to volumes,
  write BIDS derivatives.
- ``eeg2fmri.artifacts``: detect and correct the MR gradient and pulse artifacts of
  EEG recorded in the scanner.
- ``eeg2fmri.features``: TR-window EEG spectra and lazy (context, volume) pairs.
- ``eeg2fmri.models``: Spec2VolCAMU-Net, its ablations and baselines (registry).
- ``eeg2fmri.ops``: the selective scan used by the VM-UNet decoder.
- ``eeg2fmri.losses`` / ``eeg2fmri.metrics``: SSIM, PSNR, temporal correlation.
- ``eeg2fmri.estimators``: :class:`Spec2VolEstimator`, a scikit-learn estimator, the
  linear encoding baselines :class:`BandPowerRidge` and :class:`ReducedRankRidge`, the
  :class:`MeanVolumeRegressor`, :func:`load_model`.
- ``eeg2fmri.spaces``: what a model's input (:class:`EEGSpec`) and output
  (:class:`OutputSpace`) are, and :func:`conform_raw` to put another cap's recording
  into a model's channels.
- ``eeg2fmri.diagnostics``: :func:`overfit_check` and gradient norms, to run before a
  long training.
- ``eeg2fmri.synthesis``: :func:`synthesize_image`, a synthesized run as a nilearn-ready
  NIfTI image, from its EEG.
- ``eeg2fmri.pipeline``: the steps of a BIDS-App job (run selection, model cache,
  outputs of a run, group tables) as library functions.
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
    "simulate_eeg_only_dataset": "eeg2fmri.simulate",
    "SIMULATION_PRESETS": "eeg2fmri.simulate",
    "SimulationPreset": "eeg2fmri.simulate",
    # BIDS input
    "find_paired_runs": "eeg2fmri.bids",
    "PairedRun": "eeg2fmri.bids",
    "UnpairedRun": "eeg2fmri.bids",
    "EEGRun": "eeg2fmri.bids",
    "PairingReport": "eeg2fmri.bids",
    "load_eeg": "eeg2fmri.bids",
    "load_bold": "eeg2fmri.bids",
    "BoldRun": "eeg2fmri.bids",
    "find_volume_onsets": "eeg2fmri.bids",
    "VolumeOnsets": "eeg2fmri.bids",
    "check_eeg_covers": "eeg2fmri.bids",
    "nifti_to_volumes": "eeg2fmri.bids",
    "volumes_to_nifti": "eeg2fmri.bids",
    # BIDS derivatives
    "DerivativePath": "eeg2fmri.bids",
    "write_dataset_description": "eeg2fmri.bids",
    "write_synthesized_run": "eeg2fmri.bids",
    "write_metrics_tsv": "eeg2fmri.bids",
    "write_correlation_map": "eeg2fmri.bids",
    # nilearn output
    "synthesize_image": "eeg2fmri.synthesis",
    "synthesize_run": "eeg2fmri.synthesis",
    "SynthesizedRun": "eeg2fmri.synthesis",
    # in-scanner EEG artifacts
    "correct_artifacts": "eeg2fmri.artifacts",
    "correct_gradient": "eeg2fmri.artifacts",
    "correct_pulse": "eeg2fmri.artifacts",
    "remove_gradient_artifact": "eeg2fmri.artifacts",
    "remove_pulse_artifact": "eeg2fmri.artifacts",
    "find_r_peaks": "eeg2fmri.artifacts",
    "detect_gradient_artifact": "eeg2fmri.artifacts",
    "detect_pulse_artifact": "eeg2fmri.artifacts",
    "check_in_scanner_eeg": "eeg2fmri.artifacts",
    "correction_provenance": "eeg2fmri.artifacts",
    # features
    "FeatureParams": "eeg2fmri.features",
    "compute_window_spectra": "eeg2fmri.features",
    "ContextPairs": "eeg2fmri.features",
    "ConcatPairs": "eeg2fmri.features",
    "RunFeatures": "eeg2fmri.features",
    "PairedDataset": "eeg2fmri.features",
    "build_dataset": "eeg2fmri.features",
    "resample_volumes": "eeg2fmri.features",
    # models and ops
    "create_model": "eeg2fmri.models",
    "list_models": "eeg2fmri.models",
    "model_from_config": "eeg2fmri.models",
    "register_model": "eeg2fmri.models",
    "model_info": "eeg2fmri.models",
    "selective_scan": "eeg2fmri.ops",
    # losses and metrics
    "HybridLoss": "eeg2fmri.losses",
    "SSIMLoss": "eeg2fmri.losses",
    "make_loss": "eeg2fmri.losses",
    "CorrelationLoss": "eeg2fmri.losses",
    "ssim_per_volume": "eeg2fmri.metrics",
    "mean_temporal_correlation": "eeg2fmri.metrics",
    "psnr_per_volume": "eeg2fmri.metrics",
    "temporal_correlation": "eeg2fmri.metrics",
    "SCORERS": "eeg2fmri.metrics",
    "comparable_volumes": "eeg2fmri.metrics",
    # estimator
    "Spec2VolEstimator": "eeg2fmri.estimators",
    "MeanVolumeRegressor": "eeg2fmri.estimators",
    "BandPowerRidge": "eeg2fmri.estimators",
    "ReducedRankRidge": "eeg2fmri.estimators",
    "InteractionRidge": "eeg2fmri.estimators",
    "BaseVolumeRegressor": "eeg2fmri.estimators",
    "load_model": "eeg2fmri.estimators",
    "signal_voxels_of": "eeg2fmri.estimators",
    # what a model's input and output are (portable models)
    "EEGSpec": "eeg2fmri.spaces",
    "OutputSpace": "eeg2fmri.spaces",
    "conform_raw": "eeg2fmri.spaces",
    # diagnostics
    "overfit_check": "eeg2fmri.diagnostics",
    "planted_target": "eeg2fmri.diagnostics",
    "gradient_norms": "eeg2fmri.diagnostics",
    # reports
    "ParticipantReport": "eeg2fmri.reports",
    "write_group_report": "eeg2fmri.reports",
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
