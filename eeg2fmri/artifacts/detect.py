"""Detection of scanner artifacts left in EEG: gradient harmonics, pulse-locked power.

Gradient artifact
    The artifact repeats at every slice, hence at every volume: its power sits on the
    harmonics of ``1 / TR`` (which include the slice-frequency harmonics
    ``k * n_slices / TR``). :func:`gradient_harmonic_power` measures it with the
    average of the volume epochs (a comb filter on those harmonics) against what
    averaging unlocked EEG leaves (``1 / n_epochs`` of its power): about 0 dB for
    clean EEG, ``10 log10(n_epochs)`` (over 15 dB) for raw in-scanner EEG. (Welch
    spectra are not used: the window leakage of harmonics 60 dB above the EEG fills
    the bins between them.)
Pulse artifact
    :func:`pulse_locked_power` compares the power of the heartbeat-locked average
    (0 to 0.8 s after the R peaks) with what averaging unlocked EEG leaves
    (``1 / n_beats`` of its power): about 0 dB for clean EEG.
"""

from dataclasses import dataclass

import numpy as np

from .._utils.logging import logger

__all__ = [
    "GradientDetection",
    "PulseDetection",
    "gradient_harmonic_power",
    "pulse_locked_power",
    "detect_gradient_artifact",
    "detect_pulse_artifact",
    "GRADIENT_THRESHOLD_DB",
    "PULSE_THRESHOLD_DB",
]

#: Median harmonic excess (dB) above which a recording carries a gradient artifact.
GRADIENT_THRESHOLD_DB = 6.0
#: Median heartbeat-locked excess (dB) above which it carries a pulse artifact.
PULSE_THRESHOLD_DB = 10.0


def gradient_harmonic_power(
    data, sfreq, period, *, starts=None, fmin=30.0, line_freqs=(50.0, 60.0)
):
    """Excess power on the harmonics of ``1 / period``, per channel.

    Epochs of one period are Fourier transformed (their bins are the harmonics of
    ``1 / period``: slice- and volume-frequency harmonics when the period is the
    TR). The power of the mean epoch is compared with what averaging ``n`` epochs
    of EEG that is not locked to the scanner leaves, ``1 / n`` of their power. The
    bins of the power-line harmonics (locked to the TR when ``TR * line_freq`` is
    an integer) and below ``fmin`` are left out: event-related potentials of
    stimuli locked to the volumes are locked to the TR too, but have little power
    above 30 Hz, where the gradient artifact has plenty.

    Parameters
    ----------
    data : ndarray of shape (n_channels, n_samples)
    sfreq : float
    period : float
        Repetition period in seconds (the TR).
    starts : ndarray of shape (n_epochs,) int, optional
        Epoch starts in samples (the volume triggers); default every period from
        sample 0.
    fmin : float, default=30.0
        Lowest frequency (Hz) considered.
    line_freqs : tuple of float, default=(50.0, 60.0)
        Power-line frequencies whose harmonics are left out.

    Returns
    -------
    excess_db : ndarray of shape (n_channels,)
        ``10 log10(n * P(mean epoch) / mean P(epochs))``: about 0 dB for clean
        EEG, up to ``10 log10(n)`` for a pure artifact; NaN with fewer than 4
        whole epochs.
    """
    n_ch, n = data.shape
    length = int(np.floor(period * sfreq))
    if starts is None:
        starts = np.round(np.arange(0, n / sfreq, period) * sfreq).astype(np.int64)
    starts = np.asarray(starts, dtype=np.int64)
    starts = starts[(starts >= 0) & (starts + length <= n)]
    out = np.full(n_ch, np.nan)
    if starts.size < 4 or length < 8:
        return out
    freqs = np.fft.rfftfreq(length, 1.0 / sfreq)
    keep = (freqs >= min(fmin, 0.2 * sfreq)) & (freqs <= 0.45 * sfreq)
    tol = 1.5 * sfreq / length
    for line in line_freqs:
        keep &= np.abs(freqs - line * np.round(freqs / line)) > tol
    if not keep.any():
        return out
    idx = starts[:, None] + np.arange(length)[None]
    for c in range(n_ch):
        spec = np.fft.rfft(np.asarray(data[c], dtype=np.float64)[idx], axis=1)
        spec = spec[:, keep]
        locked = np.sum(np.abs(spec.mean(0)) ** 2)
        total = np.mean(np.sum(np.abs(spec) ** 2, axis=1))
        out[c] = 10 * np.log10(starts.size * max(locked, 1e-300) / max(total, 1e-300))
    return out


def pulse_locked_power(data, sfreq, peaks, *, duration=0.8):
    """Excess power of the heartbeat-locked average, per channel.

    Parameters
    ----------
    data : ndarray of shape (n_channels, n_samples)
    sfreq : float
    peaks : ndarray of shape (n_beats,)
        R-peak samples.
    duration : float, default=0.8
        Seconds after each R peak.

    Returns
    -------
    excess_db : ndarray of shape (n_channels,)
        ``10 log10(n_beats * P(locked average) / mean P(epochs))``: about 0 dB when
        nothing is locked to the heartbeat; NaN with fewer than 5 beats.
    """
    length = int(round(duration * sfreq))
    peaks = np.asarray(peaks, dtype=np.int64)
    peaks = peaks[(peaks >= 0) & (peaks + length <= data.shape[1])]
    if peaks.size < 5:
        return np.full(data.shape[0], np.nan)
    idx = peaks[:, None] + np.arange(length)[None]
    out = np.empty(data.shape[0])
    for c in range(data.shape[0]):
        ep = np.asarray(data[c], dtype=np.float64)[idx]
        ep -= ep.mean(1, keepdims=True)
        locked = np.mean(ep.mean(0) ** 2)
        total = np.mean(ep**2)
        out[c] = 10 * np.log10(peaks.size * locked / max(total, 1e-300))
    return out


@dataclass(frozen=True)
class GradientDetection:
    """Outcome of :func:`detect_gradient_artifact`.

    Attributes
    ----------
    detected : bool
    excess_db : float
        Median over the analysed channels of the harmonic excess.
    tr : float
    threshold_db : float
    n_channels : int
    seconds : float
        Duration analysed.
    """

    detected: bool
    excess_db: float
    tr: float
    threshold_db: float
    n_channels: int
    seconds: float

    def summary(self):
        """One line: the measured excess against the threshold."""
        return (
            f"power on the 1/TR harmonics {self.excess_db:+.1f} dB over chance, "
            f"threshold {self.threshold_db:g} dB, {self.n_channels} channels, "
            f"{self.seconds:.0f} s"
        )


@dataclass(frozen=True)
class PulseDetection:
    """Outcome of :func:`detect_pulse_artifact`.

    Attributes
    ----------
    detected : bool or None
        None when it could not be measured (no ECG channel, too few beats).
    excess_db : float
    n_beats : int
    ecg_channel : str or None
    threshold_db : float
    """

    detected: bool | None
    excess_db: float
    n_beats: int
    ecg_channel: str | None
    threshold_db: float

    def summary(self):
        """One line: the measured excess against the threshold."""
        if self.detected is None:
            return "pulse artifact not measured (no ECG channel or too few beats)"
        return (
            f"heartbeat-locked power {self.excess_db:+.1f} dB over chance "
            f"({self.n_beats} beats on {self.ecg_channel}), threshold "
            f"{self.threshold_db:g} dB"
        )


def _analysis_picks(raw, max_channels):
    eeg = [i for i, k in enumerate(raw.get_channel_types()) if k == "eeg"]
    eeg = eeg or list(range(len(raw.ch_names)))
    step = max(1, len(eeg) // max_channels)
    return eeg[::step][:max_channels]


def detect_gradient_artifact(
    raw,
    *,
    tr,
    onsets=None,
    threshold_db=GRADIENT_THRESHOLD_DB,
    max_channels=8,
    max_seconds=120.0,
):
    """Does ``raw`` carry an MR gradient artifact?

    Parameters
    ----------
    raw : mne.io.BaseRaw
        Preloaded.
    tr : float
        Repetition time (s) of the scan.
    onsets : ndarray of shape (n_volumes,), optional
        Volume onsets (s from the first sample): the analysis starts at the first.
    threshold_db : float, default=6.0
    max_channels : int, default=8
        EEG channels analysed (evenly spread over the list).
    max_seconds : float, default=120.0
        Seconds analysed (from the first volume).

    Returns
    -------
    detection : GradientDetection
    """
    sfreq = float(raw.info["sfreq"])
    start = 0 if onsets is None or len(onsets) == 0 else int(onsets[0] * sfreq)
    stop = raw.n_times
    if onsets is not None and len(onsets):
        stop = min(stop, int(np.ceil((onsets[-1] + tr) * sfreq)))
    stop = min(stop, start + int(max_seconds * sfreq))
    picks = _analysis_picks(raw, max_channels)
    data = raw.get_data(picks=picks, start=start, stop=max(stop, start + 1))
    starts = None
    if onsets is not None and len(onsets):
        starts = np.round((np.asarray(onsets) - onsets[0]) * sfreq).astype(np.int64)
    excess = gradient_harmonic_power(data, sfreq, float(tr), starts=starts)
    value = float(np.nanmedian(excess)) if np.isfinite(excess).any() else float("nan")
    detected = bool(np.isfinite(value) and value > threshold_db)
    return GradientDetection(
        detected,
        value,
        float(tr),
        float(threshold_db),
        len(picks),
        data.shape[1] / sfreq,
    )


def detect_pulse_artifact(
    raw, *, ecg_channel="auto", threshold_db=PULSE_THRESHOLD_DB, max_channels=16
):
    """Does ``raw`` carry a pulse artifact locked to its ECG channel?

    Only meaningful on gradient-free EEG (corrected or recorded outside the
    scanner).

    Parameters
    ----------
    raw : mne.io.BaseRaw
    ecg_channel : str, default="auto"
    threshold_db : float, default=10.0
    max_channels : int, default=16

    Returns
    -------
    detection : PulseDetection
        ``detected`` is None without an ECG channel or with fewer than 5 beats.
    """
    from .ecg import find_ecg_channel, find_r_peaks

    ecg = find_ecg_channel(raw, ecg_channel)
    if ecg is None:
        return PulseDetection(None, float("nan"), 0, None, float(threshold_db))
    sfreq = float(raw.info["sfreq"])
    peaks = find_r_peaks(raw.get_data(picks=[ecg])[0], sfreq)
    picks = [p for p in _analysis_picks(raw, max_channels) if raw.ch_names[p] != ecg]
    excess = pulse_locked_power(raw.get_data(picks=picks), sfreq, peaks)
    if not np.isfinite(excess).any():
        return PulseDetection(None, float("nan"), int(peaks.size), ecg, threshold_db)
    value = float(np.nanmedian(excess))
    logger.debug("pulse-locked power %.1f dB (%d beats)", value, peaks.size)
    return PulseDetection(
        bool(value > threshold_db), value, int(peaks.size), ecg, float(threshold_db)
    )
