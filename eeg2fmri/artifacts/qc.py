"""Quality control of a correction: artifact measures and spectra before and after."""

import numpy as np
from scipy import signal

__all__ = ["correction_qc"]


def _median_psd(data, sfreq, nperseg):
    freqs, psd = signal.welch(data, fs=sfreq, nperseg=nperseg, axis=-1)
    return freqs, np.median(psd, axis=0)


def correction_qc(before, after, *, tr, onsets=None, max_channels=8, max_seconds=60.0):
    """Numbers and spectra that show what a correction did.

    Parameters
    ----------
    before : mne.io.BaseRaw
        The raw in-scanner recording.
    after : mne.io.BaseRaw
        Its corrected version (any sampling rate).
    tr : float
        Repetition time (s).
    onsets : ndarray of shape (n_volumes,), optional
        Volume onsets (s); the spectra start at the first.
    max_channels : int, default=8
        EEG channels measured (evenly spread).
    max_seconds : float, default=60.0
        Seconds used for the spectra.

    Returns
    -------
    qc : dict
        JSON-serialisable: ``gradient_excess_db`` (``before``/``after``, see
        :func:`~eeg2fmri.artifacts.detect_gradient_artifact`),
        ``pulse_locked_db_after``, ``channels``, ``frequencies`` (Hz) and the median
        over channels of the power spectral densities ``psd_before`` and
        ``psd_after`` (V²/Hz, the raw recording down-sampled to the corrected rate
        first), 0.5 Hz apart.
    """
    from .detect import _analysis_picks, detect_gradient_artifact, detect_pulse_artifact

    names = [before.ch_names[i] for i in _analysis_picks(before, max_channels)]
    names = [n for n in names if n in after.ch_names]
    g_before = detect_gradient_artifact(before, tr=tr, onsets=onsets)
    g_after = detect_gradient_artifact(after, tr=tr, onsets=onsets)
    pulse = detect_pulse_artifact(after)
    sf_in, sf_out = float(before.info["sfreq"]), float(after.info["sfreq"])
    t0 = 0.0 if onsets is None or len(onsets) == 0 else float(onsets[0])
    t1 = min(t0 + max_seconds, before.times[-1], after.times[-1])
    raw_seg = before.get_data(
        picks=names, start=int(t0 * sf_in), stop=max(int(t1 * sf_in), 1)
    )
    down = max(1, int(round(sf_in / sf_out)))
    raw_seg = signal.resample_poly(raw_seg, 1, down, axis=-1)
    cor_seg = after.get_data(
        picks=names, start=int(t0 * sf_out), stop=max(int(t1 * sf_out), 1)
    )
    nperseg = int(min(2 * sf_out, raw_seg.shape[-1], cor_seg.shape[-1]))
    freqs, psd_before = _median_psd(raw_seg, sf_in / down, nperseg)
    _, psd_after = _median_psd(cor_seg, sf_out, nperseg)
    return {
        "gradient_excess_db": {
            "before": round(g_before.excess_db, 2),
            "after": round(g_after.excess_db, 2),
        },
        "pulse_locked_db_after": None
        if pulse.detected is None
        else round(pulse.excess_db, 2),
        "channels": names,
        "frequencies": np.round(freqs, 4).tolist(),
        "psd_before": [float(f"{v:.4g}") for v in psd_before],
        "psd_after": [float(f"{v:.4g}") for v in psd_after],
    }
