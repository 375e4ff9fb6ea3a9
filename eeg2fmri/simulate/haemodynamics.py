"""From neural drives to BOLD signal: drives, HRF, slice timing.

The neural drives are slow random signals on a 0.1 s grid; the BOLD signal of a
network is its drive convolved with the haemodynamic response function (HRF),
sampled at each slice's acquisition time.
"""

import numpy as np
from scipy import fft as sp_fft
from scipy import stats

__all__ = ["DT", "WARMUP", "canonical_hrf", "slice_timing", "smooth_noise"]

#: Drive grid step (s) and HRF warm-up before the first EEG sample (s).
DT = 0.1
WARMUP = 40.0


def canonical_hrf(dt, duration=32.0):
    """Canonical double-gamma haemodynamic response function (SPM defaults).

    ``h(t) = g(t; 6) - g(t; 16) / 6`` with ``g(t; a)`` the gamma density of shape
    ``a`` and scale 1 s (peak near 5 s, undershoot near 15 s), normalized to unit sum
    so that a constant drive of 1 gives a response of 1.

    Parameters
    ----------
    dt : float
        Sampling step in seconds.
    duration : float, default=32.0
        Kernel length in seconds.

    Returns
    -------
    hrf : ndarray of shape (round(duration / dt),)
        Kernel sampled at ``0, dt, 2 dt, ...``.
    """
    t = np.arange(int(round(duration / dt))) * dt
    h = stats.gamma.pdf(t, 6.0) - stats.gamma.pdf(t, 16.0) / 6.0
    return h / h.sum()


def slice_timing(n_slices, tr, order="interleaved"):
    """Acquisition time (s from the volume onset) of each slice, (n_slices,) float64.

    ``"interleaved"`` acquires slices 0, 2, 4, ... then 1, 3, 5, ... (0-based),
    ``"ascending"`` 0, 1, 2, ...
    """
    if order == "interleaved":
        acq_order = np.r_[np.arange(0, n_slices, 2), np.arange(1, n_slices, 2)]
    else:
        acq_order = np.arange(n_slices)
    times = np.empty(n_slices)
    times[acq_order] = np.arange(n_slices) * tr / n_slices
    return times


def smooth_noise(rng, shape, dt, timescale):
    """Gaussian low-passed white noise along the last axis, z-scored, float64."""
    n = shape[-1]
    n_fft = sp_fft.next_fast_len(n, real=True)
    spec = sp_fft.rfft(rng.standard_normal((*shape[:-1], n_fft)), axis=-1)
    f = sp_fft.rfftfreq(n_fft, dt)
    spec *= np.exp(-0.5 * (f * timescale) ** 2)
    spec[..., 0] = 0
    x = sp_fft.irfft(spec, n_fft, axis=-1)[..., :n]
    return (x - x.mean(-1, keepdims=True)) / x.std(-1, keepdims=True)
