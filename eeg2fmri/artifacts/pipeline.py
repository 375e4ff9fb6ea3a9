"""One call to correct a recording, and the check the feature extraction runs."""

import numpy as np

from .._utils.logging import logger
from ..exceptions import DataError

__all__ = ["ARTIFACT_CORRECTIONS", "correct_artifacts", "check_in_scanner_eeg"]

#: What to do with EEG recorded in the scanner: detect and refuse raw data (default),
#: trust it ("none"), or correct it.
ARTIFACT_CORRECTIONS = ("detect", "none", "gradient", "gradient+pulse")


def _check_choice(correction, allowed):
    if correction not in allowed:
        raise ValueError(
            f"artifact correction must be one of {allowed}, got {correction!r}"
        )


def correct_artifacts(
    raw,
    correction="gradient+pulse",
    *,
    tr=None,
    n_slices=None,
    volume_marker="auto",
    slice_marker="auto",
    sfreq_out=250.0,
    gradient_options=None,
    pulse_options=None,
    force=False,
    run_label=None,
):
    """Correct the MR artifacts of an in-scanner EEG recording.

    Parameters
    ----------
    raw : mne.io.BaseRaw
        Preloaded; never modified.
    correction : {"gradient", "gradient+pulse"}, default="gradient+pulse"
    tr : float, optional
        Repetition time (s); default: the volume-marker spacing.
    n_slices : int, optional
        Slices per volume when the file has no slice markers (e.g.
        ``len(SliceTiming)``); without either, volume epochs are used.
    volume_marker, slice_marker : str
        See :func:`~eeg2fmri.artifacts.find_artifact_epochs`.
    sfreq_out : float, default=250.0
        Output sampling frequency.
    gradient_options, pulse_options : dict, optional
        Extra keyword arguments of :func:`~eeg2fmri.artifacts.correct_gradient`
        (``window``, ``obs_components``, ``lowpass``, ``chunk_channels``) and
        :func:`~eeg2fmri.artifacts.correct_pulse` (``method``, ``n_components``,
        ``window``, ``ecg_channel``).
    force : bool, default=False
        Correct even what looks corrected already.
    run_label : str, optional

    Returns
    -------
    corrected : mne.io.BaseRaw
        A new recording; see :func:`~eeg2fmri.artifacts.correction_provenance`.

    Raises
    ------
    AlignmentError
        Missing or irregular volume markers.
    DataError
        Too few markers or heartbeats, or no ECG channel for ``"gradient+pulse"``.
    """
    from .gradient import correct_gradient
    from .pulse import correct_pulse, find_ecg_channel

    _check_choice(correction, ("gradient", "gradient+pulse"))
    pulse_options = dict(pulse_options or {})
    if correction == "gradient+pulse":
        ecg = find_ecg_channel(raw, pulse_options.get("ecg_channel", "auto"))
        if ecg is None:  # fail before the long gradient step
            from ..bids.markers import _describe

            raise DataError(
                f"{_describe(raw, run_label)}: pulse artifact correction needs an ECG "
                "channel and the recording has none; pass correction='gradient', or "
                "name the channel with pulse_options={'ecg_channel': ...}"
            )
    out = correct_gradient(
        raw,
        tr=tr,
        n_slices=n_slices,
        volume_marker=volume_marker,
        slice_marker=slice_marker,
        sfreq_out=sfreq_out,
        force=force,
        run_label=run_label,
        **(gradient_options or {}),
    )
    if correction == "gradient+pulse":
        out = correct_pulse(out, force=force, run_label=run_label, **pulse_options)
    return out


def check_in_scanner_eeg(
    raw,
    *,
    tr,
    correction="detect",
    onsets=None,
    n_slices=None,
    run_label=None,
    **options,
):
    """Make sure no raw in-scanner EEG reaches the features.

    Parameters
    ----------
    raw : mne.io.BaseRaw
        Preloaded EEG of one run.
    tr : float
        Repetition time (s).
    correction : {"detect", "none", "gradient", "gradient+pulse"}, default="detect"
        ``"detect"``: measure the gradient artifact and raise when it is there (a
        pulse artifact left in gradient-free EEG is logged as a warning);
        ``"none"``: the user says the data are clean, nothing is checked;
        ``"gradient"``/``"gradient+pulse"``: correct (what looks corrected already
        is left alone).
    onsets : ndarray of shape (n_volumes,), optional
        Volume onsets (s): the detection looks at the scan.
    n_slices : int, optional
        Slices per volume for the correction (when the file has no slice markers).
    run_label : str, optional
        Name of the run in messages.
    **options
        Passed to :func:`correct_artifacts`.

    Returns
    -------
    raw : mne.io.BaseRaw
        ``raw`` itself when nothing was corrected, else the corrected copy.

    Raises
    ------
    DataError
        ``"detect"`` found a gradient artifact (message names the run and the fix).
    """
    from ..bids.markers import _describe
    from .detect import detect_gradient_artifact, detect_pulse_artifact
    from .provenance import correction_provenance

    _check_choice(correction, ARTIFACT_CORRECTIONS)
    if correction == "none":
        return raw
    label = _describe(raw, run_label)
    if correction != "detect":
        return correct_artifacts(
            raw, correction, tr=tr, n_slices=n_slices, run_label=label, **options
        )
    if "gradient" in correction_provenance(raw):
        return raw
    onsets = None if onsets is None else np.asarray(onsets, dtype=np.float64)
    found = detect_gradient_artifact(raw, tr=tr, onsets=onsets)
    if found.detected:
        raise DataError(
            f"{label}: the EEG carries the MR gradient artifact ({found.summary()}); "
            "features of raw in-scanner EEG would describe the scanner, not the "
            "brain. Correct it (eeg_correction='gradient+pulse' or 'gradient'; "
            "BIDS-App --eeg-correction), use corrected EEG from a derivatives folder "
            "(eeg_derivatives=...), or, if it is clean, say so with "
            "eeg_correction='none'"
        )
    pulse = detect_pulse_artifact(raw)
    if pulse.detected:
        logger.warning(
            "%s: the EEG seems to carry a pulse artifact (%s); consider "
            "eeg_correction='gradient+pulse'",
            label,
            pulse.summary(),
        )
    return raw
