"""The public API only grows: every name ``eeg2fmri`` exported before the
restructuring into packages (issue 18) is still there and importable."""

import importlib

import pytest

#: ``eeg2fmri.__all__`` at commit fef664a (before the restructuring)
PUBLIC_BEFORE_RESTRUCTURING = (
    "BandPowerRidge", "BoldRun", "ConcatPairs", "ContextPairs", "CorrelationLoss",
    "DerivativePath", "FeatureParams", "HybridLoss", "MeanVolumeRegressor",
    "PairedDataset", "PairedRun", "PairingReport", "ParticipantReport",
    "ReducedRankRidge", "RunFeatures", "SCORERS", "SIMULATION_PRESETS", "SSIMLoss",
    "SimulationPreset", "Spec2VolEstimator", "UnpairedRun", "VolumeOnsets",
    "__version__", "build_dataset", "check_eeg_covers", "check_in_scanner_eeg",
    "compute_window_spectra", "correct_artifacts", "correct_gradient", "correct_pulse",
    "correction_provenance", "create_model", "detect_gradient_artifact",
    "detect_pulse_artifact", "find_paired_runs", "find_r_peaks", "find_volume_onsets",
    "gradient_norms", "list_models", "load_bold", "load_eeg", "load_model", "make_loss",
    "mean_temporal_correlation", "model_from_config", "model_info", "nifti_to_volumes",
    "overfit_check", "planted_target", "psnr_per_volume", "register_model",
    "remove_gradient_artifact", "remove_pulse_artifact", "resample_volumes",
    "selective_scan", "simulate_dataset", "ssim_per_volume", "synthesize_image",
    "temporal_correlation", "volumes_to_nifti", "write_correlation_map",
    "write_dataset_description", "write_group_report", "write_metrics_tsv",
    "write_synthesized_run",
)


def test_public_api_is_a_superset_of_the_one_before_restructuring():
    import eeg2fmri

    missing = sorted(set(PUBLIC_BEFORE_RESTRUCTURING) - set(eeg2fmri.__all__))
    assert not missing, f"no longer exported: {missing}"


@pytest.mark.parametrize("name", PUBLIC_BEFORE_RESTRUCTURING)
def test_every_name_of_the_public_api_resolves(name):
    module = importlib.import_module("eeg2fmri")
    assert getattr(module, name) is not None
