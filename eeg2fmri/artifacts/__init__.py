"""In-scanner EEG: detection and correction of the MR gradient and pulse artifacts.

- :func:`correct_artifacts`: ``"gradient"`` or ``"gradient+pulse"`` on an mne Raw;
  returns a new, down-sampled Raw (the input is never modified) with the steps'
  parameters in :func:`correction_provenance`.
- :func:`correct_gradient` / :func:`remove_gradient_artifact`: average artifact
  subtraction on slice or volume epochs with sub-sample alignment and a moving
  template, optional optimal-basis-set residual removal, low-pass and down-sampling
  (as FASTR, Niazy et al. 2005; Allen et al. 2000).
- :func:`correct_pulse` / :func:`remove_pulse_artifact` / :func:`find_r_peaks`:
  R peaks on the ECG channel, moving-average or optimal-basis-set subtraction.
- :func:`detect_gradient_artifact` / :func:`detect_pulse_artifact`: is there an
  artifact left? (power on the 1/TR harmonics, heartbeat-locked power).
- :func:`check_in_scanner_eeg`: what the feature extraction runs on every EEG run.
- :func:`write_corrected_eeg` / :func:`cached_correction`: corrected EEG as BIDS
  derivatives (BrainVision, ``desc-gradient``/``desc-gradientpulse``, provenance in
  the sidecar), reused as a cache.
"""

from .derivatives import cached_correction, corrected_eeg_path, write_corrected_eeg
from .detect import (
    GRADIENT_THRESHOLD_DB,
    PULSE_THRESHOLD_DB,
    GradientDetection,
    PulseDetection,
    detect_gradient_artifact,
    detect_pulse_artifact,
    gradient_harmonic_power,
    pulse_locked_power,
)
from .gradient import correct_gradient, remove_gradient_artifact
from .pipeline import (
    ARTIFACT_CORRECTIONS,
    check_in_scanner_eeg,
    correct_artifacts,
)
from .provenance import correction_provenance
from .pulse import PULSE_METHODS, correct_pulse, find_r_peaks, remove_pulse_artifact
from .triggers import ArtifactEpochs, find_artifact_epochs

__all__ = [
    "ARTIFACT_CORRECTIONS",
    "ArtifactEpochs",
    "GRADIENT_THRESHOLD_DB",
    "GradientDetection",
    "PULSE_METHODS",
    "PULSE_THRESHOLD_DB",
    "PulseDetection",
    "cached_correction",
    "check_in_scanner_eeg",
    "corrected_eeg_path",
    "correct_artifacts",
    "correct_gradient",
    "correct_pulse",
    "correction_provenance",
    "detect_gradient_artifact",
    "detect_pulse_artifact",
    "find_artifact_epochs",
    "find_r_peaks",
    "gradient_harmonic_power",
    "pulse_locked_power",
    "remove_gradient_artifact",
    "remove_pulse_artifact",
    "write_corrected_eeg",
]
