"""The ECG of an EEG recording: which channel it is, and its R peaks."""

import numpy as np
from scipy import signal

__all__ = ["find_r_peaks", "find_ecg_channel"]


def find_r_peaks(ecg, sfreq, *, min_rr=0.33):
    """R-peak samples of an ECG trace.

    Parameters
    ----------
    ecg : ndarray of shape (n_samples,)
    sfreq : float
    min_rr : float, default=0.33
        Shortest accepted interval between beats in seconds (180 bpm).

    Returns
    -------
    peaks : ndarray of shape (n_beats,) int64
        Sorted sample indices.
    """
    ecg = np.asarray(ecg, dtype=np.float64)
    if ecg.size < int(2 * sfreq):
        return np.zeros(0, dtype=np.int64)
    high = min(25.0, 0.45 * sfreq)
    sos = signal.butter(3, [5.0, high], btype="bandpass", fs=sfreq, output="sos")
    x = signal.sosfiltfilt(sos, ecg - np.median(ecg))
    energy = np.convolve(
        np.gradient(x) ** 2, np.ones(max(1, int(0.1 * sfreq))), mode="same"
    )
    threshold = 0.3 * np.percentile(energy, 99)
    found, _ = signal.find_peaks(
        energy, height=threshold, distance=max(1, int(min_rr * sfreq))
    )
    if found.size == 0:
        return found.astype(np.int64)
    half = max(1, int(0.06 * sfreq))
    lo = np.clip(found - half, 0, x.size - 1)
    hi = np.clip(found + half, 1, x.size)
    pos = np.array([x[a:b].max() for a, b in zip(lo, hi, strict=True)])
    neg = np.array([-x[a:b].min() for a, b in zip(lo, hi, strict=True)])
    sign = 1.0 if np.median(pos) >= np.median(neg) else -1.0
    peaks = np.array(
        [a + int(np.argmax(sign * x[a:b])) for a, b in zip(lo, hi, strict=True)]
    )
    peaks = np.unique(peaks)
    keep = np.r_[True, np.diff(peaks) >= int(min_rr * sfreq)]
    return peaks[keep].astype(np.int64)


def find_ecg_channel(raw, ecg_channel="auto"):
    """Name of the ECG channel, or None.

    Parameters
    ----------
    raw : mne.io.BaseRaw
    ecg_channel : str, default="auto"
        A channel name, or ``"auto"``: the first channel of type ``ecg``, else the
        first named ECG/EKG.
    """
    if ecg_channel != "auto":
        return ecg_channel if ecg_channel in raw.ch_names else None
    types = raw.get_channel_types()
    for name, kind in zip(raw.ch_names, types, strict=True):
        if kind == "ecg":
            return name
    for name in raw.ch_names:
        if name.upper().startswith(("ECG", "EKG")):
            return name
    return None
