"""EEG building blocks: channel layout, scalp topographies, rhythms, 1/f, ECG, line.

Positions come from mne's easycap-M1 10-10 montage (no download). Every generator
takes a :class:`numpy.random.Generator` and returns float32 arrays in µV or unit
variance, as documented.
"""

import functools

import numpy as np
from scipy import fft as sp_fft

__all__ = [
    "EEG_CHANNELS",
    "channel_layout",
    "montage_positions",
    "topography",
    "spatial_mixing",
    "band_noise",
    "pink_noise",
    "ecg_waveform",
    "heartbeats",
    "line_noise",
]

#: 63 EEG electrodes in BrainCap-MR order (the ECG channel comes after the 31st).
EEG_CHANNELS = (
    "Fp1 Fp2 F3 F4 C3 C4 P3 P4 O1 O2 F7 F8 T7 T8 P7 P8 Fz Cz Pz Oz FC1 FC2 CP1 CP2 "
    "FC5 FC6 CP5 CP6 TP9 TP10 POz F1 F2 C1 C2 P1 P2 AF3 AF4 FC3 FC4 CP3 CP4 PO3 PO4 "
    "F5 F6 C5 C6 P5 P6 AF7 AF8 FT7 FT8 TP7 TP8 PO7 PO8 FT9 FT10 Fpz CPz"
).split()
_ECG_INDEX = 31


@functools.lru_cache(maxsize=1)
def montage_positions():
    import mne

    montage = mne.channels.make_standard_montage("easycap-M1")
    return {
        k: np.asarray(v, dtype=float)
        for k, v in montage.get_positions()["ch_pos"].items()
    }


def channel_layout(n_channels, has_ecg):
    """Channel names and types in file order.

    Parameters
    ----------
    n_channels : int
        Total number of channels, ECG included when ``has_ecg``.
    has_ecg : bool

    Returns
    -------
    names : list of str
    types : list of str
        ``"EEG"`` or ``"ECG"`` (BIDS channels.tsv types).
    """
    n_eeg = n_channels - int(has_ecg)
    names = list(EEG_CHANNELS[:n_eeg])
    types = ["EEG"] * n_eeg
    if has_ecg:
        pos = min(_ECG_INDEX, n_eeg)
        names.insert(pos, "ECG")
        types.insert(pos, "ECG")
    return names, types


def topography(eeg_names, centers, sd=0.035):
    """Sum of Gaussians (sd in m) around the center electrodes, max 1, (n_eeg,)."""
    pos = montage_positions()
    xyz = np.array([pos[n] for n in eeg_names])
    topo = np.zeros(len(eeg_names))
    for c in centers:
        topo += np.exp(-((xyz - pos[c]) ** 2).sum(1) / (2 * sd**2))
    return (topo / topo.max()).astype(np.float32)


def spatial_mixing(eeg_names, sd=0.03):
    """Row-normalised Gaussian mixing over electrode distance, (n_eeg, n_eeg)."""
    pos = montage_positions()
    xyz = np.array([pos[n] for n in eeg_names])
    m = np.exp(-((xyz[:, None] - xyz[None]) ** 2).sum(-1) / (2 * sd**2))
    return (m / np.sqrt((m**2).sum(1, keepdims=True))).astype(np.float32)


def band_noise(rng, n, sfreq, band, taper=1.0):
    """Unit-variance noise band-limited to ``band`` Hz (cosine edges), (n,) float32."""
    n_fft = sp_fft.next_fast_len(n, real=True)
    spec = sp_fft.rfft(rng.standard_normal(n_fft, dtype=np.float32))
    f = sp_fft.rfftfreq(n_fft, 1 / sfreq)
    lo, hi = band
    gain = np.clip(np.minimum((f - lo + taper) / taper, (hi + taper - f) / taper), 0, 1)
    spec *= (0.5 - 0.5 * np.cos(np.pi * gain)).astype(np.float32)
    x = sp_fft.irfft(spec, n_fft)[:n]
    return (x / x.std()).astype(np.float32)


def pink_noise(rng, n_rows, n, sfreq):
    """1/f (power) noise with unit variance per row, (n_rows, n) float32."""
    n_fft = sp_fft.next_fast_len(n, real=True)
    f = sp_fft.rfftfreq(n_fft, 1 / sfreq)
    gain = (1.0 / np.sqrt(np.maximum(f, 1.0)) + 0.03).astype(np.float32)
    gain[0] = 0
    out = np.empty((n_rows, n), dtype=np.float32)
    for start in range(0, n_rows, 16):  # chunks bound the complex temporary
        stop = min(start + 16, n_rows)
        spec = sp_fft.rfft(
            rng.standard_normal((stop - start, n_fft), dtype=np.float32), axis=-1
        )
        spec *= gain
        x = sp_fft.irfft(spec, n_fft, axis=-1)[:, :n]
        out[start:stop] = x / x.std(axis=1, keepdims=True)
    return out


def ecg_waveform(sfreq):
    """One heartbeat (P, Q, R, S, T Gaussians), R peak at index ``offset``; µV."""
    t = np.arange(-0.3, 0.5, 1 / sfreq)
    waves = (
        (0.15, -0.16, 0.025),
        (-0.12, -0.03, 0.008),
        (1.0, 0.0, 0.01),
        (-0.25, 0.03, 0.01),
        (0.3, 0.25, 0.05),
    )
    w = sum(a * np.exp(-0.5 * ((t - mu) / sd) ** 2) for a, mu, sd in waves)
    return (800.0 * w).astype(np.float32), int(round(0.3 * sfreq))


def heartbeats(rng, duration, heart_rate):
    """R-peak times in seconds with respiratory sinus arrhythmia and jitter."""
    rr_mean = 60.0 / heart_rate
    t = rng.uniform(0, rr_mean)
    peaks = []
    while t < duration:
        peaks.append(t)
        rr = rr_mean * (
            1 + 0.04 * np.sin(2 * np.pi * 0.25 * t) + 0.02 * rng.standard_normal()
        )
        t += max(rr, 0.3)
    return np.asarray(peaks)


def line_noise(rng, n_rows, t, *, amplitude, freq, sfreq):
    """Line-frequency sinusoid with random amplitude and phase per row, or None.

    Parameters
    ----------
    rng : numpy.random.Generator
    n_rows : int
    t : ndarray of shape (n,)
        Sample times in seconds.
    amplitude : float
        Mean amplitude in µV (each row draws 0.5-1.5 times it).
    freq, sfreq : float
        Line and sampling frequencies (None when ``freq >= sfreq / 2``).

    Returns
    -------
    line : ndarray of shape (n_rows, n) float32 or None
    """
    if amplitude == 0 or freq >= sfreq / 2:
        return None
    amp = amplitude * rng.uniform(0.5, 1.5, n_rows)
    phase = rng.uniform(0, 2 * np.pi, n_rows)
    s = np.sin(2 * np.pi * freq * t).astype(np.float32)
    c = np.cos(2 * np.pi * freq * t).astype(np.float32)
    a = (amp * np.cos(phase)).astype(np.float32)[:, None]
    b = (amp * np.sin(phase)).astype(np.float32)[:, None]
    return a * s[None] + b * c[None]
