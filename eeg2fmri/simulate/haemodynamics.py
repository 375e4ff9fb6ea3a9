"""From neural drives to BOLD signal: drives, HRF, Balloon model, slice timing.

The neural drives are slow random signals on a 0.1 s grid. The BOLD signal of a
network is its BOLD drive passed through the haemodynamics (:func:`network_signals`):
a convolution with a double-gamma HRF (canonical, or with a participant- and
region-specific time to peak), or the non-linear Balloon-Windkessel model (saturation
and refractoriness), then optionally advanced where the response is large
(amplitude-dependent latency); it is sampled at each slice's acquisition time.
"""

import functools
import math

import numpy as np
from scipy import fft as sp_fft
from scipy import stats

__all__ = [
    "DT",
    "WARMUP",
    "BALLOON",
    "canonical_hrf",
    "gamma_hrf",
    "slice_timing",
    "smooth_noise",
    "balloon_response",
    "balloon_gain",
    "latency_warp",
    "hrf_parameters",
    "network_signals",
]

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


def gamma_hrf(dt, peak=5.0, dispersion=1.0, duration=32.0):
    """Double-gamma HRF with a given time to peak and dispersion.

    ``h(t) = g(t; a1, d) - g(t; a2, d) / 6`` with ``g(t; a, d)`` the gamma density
    of shape ``a`` and scale ``d``, ``a1 = peak / d + 1`` (its mode is ``peak``) and
    ``a2 = (peak + 10) / d + 1`` (undershoot 10 s later); unit sum.
    ``peak=5, dispersion=1`` is :func:`canonical_hrf`.

    Returns
    -------
    hrf : ndarray of shape (round(duration / dt),)
    """
    t = np.arange(int(round(duration / dt))) * dt
    d = float(dispersion)
    h = (
        stats.gamma.pdf(t, peak / d + 1.0, scale=d)
        - stats.gamma.pdf(t, (peak + 10.0) / d + 1.0, scale=d) / 6.0
    )
    return h / h.sum()


#: Balloon-Windkessel parameters of Friston, Mechelli, Turner & Price (2000): signal
#: decay kappa (1/s), autoregulation gamma (1/s), transit time tau (s), Grubb's
#: exponent alpha, resting oxygen extraction E0, resting venous volume V0; and the
#: neural efficacy epsilon chosen here so that a drive of +1 SD raises the flow by
#: about 25 % (steady state ``f - 1 = epsilon u / gamma``).
BALLOON = {
    "kappa": 0.65,
    "gamma": 0.41,
    "tau": 0.98,
    "alpha": 0.32,
    "E0": 0.34,
    "V0": 0.02,
    "epsilon": 0.1,
}
#: Lowest normalised flow (the drive cannot stop the blood).
_MIN_FLOW = 0.2
#: Time scale that makes the Balloon response to a 1 s input peak near 5 s (with
#: Friston's time constants it peaks near 3.5 s).
BALLOON_TIME_SCALE = 1.4
#: Time to peak (s) of the Balloon response at ``BALLOON_TIME_SCALE``.
BALLOON_PEAK = 5.0


def balloon_response(u, dt, time_scale=1.0, substeps=2):
    """BOLD signal change of the Balloon-Windkessel model for neural inputs ``u``.

    ``ds/dt = epsilon u - kappa s - gamma (f - 1)``, ``df/dt = s``,
    ``tau dv/dt = f - v**(1/alpha)``,
    ``tau dq/dt = f E(f) / E0 - v**(1/alpha) q / v`` with
    ``E(f) = 1 - (1 - E0)**(1/f)``, and
    ``y = V0 (7 E0 (1 - q) + 2 (1 - q / v) + (2 E0 - 0.2) (1 - v))``
    (Friston et al. 2000; Buxton et al. 1998), integrated by Euler steps of
    ``dt / substeps``, the flow floored at 0.2. ``time_scale`` > 1 slows every time
    constant (a later, wider response); :data:`BALLOON_TIME_SCALE` makes the
    response to a 1 s input peak near 5 s like the canonical HRF.

    Parameters
    ----------
    u : ndarray of shape (K, n)
        Neural inputs on a grid of step ``dt`` (0 = rest).
    dt : float
    time_scale : float or ndarray of shape (K,)

    Returns
    -------
    y : ndarray of shape (K, n)
        Fractional BOLD change (e.g. 0.01 = 1 %), saturating for large inputs.
    """
    b = BALLOON
    u = np.atleast_2d(np.asarray(u, dtype=float))
    scales = np.broadcast_to(np.asarray(time_scale, dtype=float), (u.shape[0],))
    eps, kappa, gam, tau = b["epsilon"], b["kappa"], b["gamma"], b["tau"]
    e0, v0, inv_alpha = b["E0"], b["V0"], 1.0 / b["alpha"]
    k1, k2, k3 = 7 * e0, 2.0, 2 * e0 - 0.2
    log_keep = math.log(1.0 - e0)
    y = np.empty_like(u)
    for row in range(u.shape[0]):  # scalar Python floats: faster than tiny arrays
        h = dt / substeps / float(scales[row])
        s, f, v, q = 0.0, 1.0, 1.0, 1.0
        out_row = y[row]
        for i, ui in enumerate(u[row].tolist()):
            for _ in range(substeps):
                fe = f if f > _MIN_FLOW else _MIN_FLOW
                outflow = v**inv_alpha
                extraction = 1.0 - math.exp(log_keep / fe)
                ds = eps * ui - kappa * s - gam * (f - 1.0)
                dv = (fe - outflow) / tau
                dq = (fe * extraction / e0 - outflow * q / v) / tau
                s += h * ds
                f += h * s
                v = max(v + h * dv, 1e-3)
                q = max(q + h * dq, 1e-3)
            out_row[i] = v0 * (k1 * (1 - q) + k2 * (1 - q / v) + k3 * (1 - v))
    return y


@functools.lru_cache(maxsize=4)
def balloon_gain(dt):
    """Steady-state BOLD change per unit of a small constant input (linear regime)."""
    n = int(round(80.0 / dt))
    y = balloon_response(np.full((1, n), 0.01), dt, BALLOON_TIME_SCALE)
    return float(y[0, -1] / 0.01)


def latency_warp(y, dt, shift):
    """Advance large responses: ``y(t + shift * clip(y(t) / y95, 0, 1))``.

    ``y95`` is the 95th percentile of the positive part of each row: the largest
    responses peak up to ``shift`` seconds earlier (Huettel & McCarthy 2000: larger
    responses start earlier by 0.3-1 s).

    Parameters
    ----------
    y : ndarray of shape (K, n)
    dt : float
    shift : float
        Seconds (0 = no change).

    Returns
    -------
    warped : ndarray of shape (K, n)
    """
    if shift == 0:
        return y
    t = np.arange(y.shape[1]) * dt
    out = np.empty_like(y)
    for k, row in enumerate(y):
        pos = row[row > 0]
        ref = np.percentile(pos, 95) if pos.size else 1.0
        lead = shift * np.clip(row / max(ref, 1e-12), 0.0, 1.0)
        out[k] = np.interp(t + lead, t, row)
    return out


def hrf_parameters(preset, subject, n_networks):
    """Participant- and region-specific time to peak (s) and dispersion of the HRF.

    ``peak_k = 5 + hrf_peak_sd_subject * z_s + hrf_peak_sd_region * z_k`` (clipped to
    3-9 s) and ``dispersion = 1 + hrf_dispersion_sd * z_d`` (clipped to 0.6-1.4),
    with the standard normal draws ``z`` of the participant (``subject["hrf_z"]``...).

    Returns
    -------
    peaks : ndarray of shape (n_networks,)
    dispersion : float
    """
    p = preset
    z_regions = np.asarray(subject.get("hrf_region_z", [0.0] * 6))[:n_networks]
    peaks = (
        5.0
        + p.hrf_peak_sd_subject * subject.get("hrf_z", 0.0)
        + p.hrf_peak_sd_region * z_regions
    )
    dispersion = 1.0 + p.hrf_dispersion_sd * subject.get("dispersion_z", 0.0)
    return np.clip(peaks, 3.0, 9.0), float(np.clip(dispersion, 0.6, 1.4))


def network_signals(drive, *, preset, peaks, dispersion, default_hrf, dt):
    """BOLD signal of each network (fraction per unit drive) from its BOLD drive.

    ``"linear"``: convolution with a double-gamma HRF per network
    (:func:`gamma_hrf` with the network's time to peak; the canonical HRF when
    every HRF spread is 0). ``"balloon"``: :func:`balloon_response` with the time
    scale ``BALLOON_TIME_SCALE * peak_k / BALLOON_PEAK``, divided by its small-input
    gain (so that small drives give the linear model's amplitude). Then
    :func:`latency_warp` by ``latency_shift``.

    Parameters
    ----------
    drive : ndarray of shape (K, n)
    preset : SimulationPreset
    peaks : ndarray of shape (K,)
    dispersion : float
    default_hrf : ndarray
        The canonical HRF on the grid (used when the HRF does not vary).
    dt : float

    Returns
    -------
    signals : ndarray of shape (K, n)
    """
    from scipy import signal

    p = preset
    n = drive.shape[1]
    if p.haemodynamics == "balloon":
        scales = BALLOON_TIME_SCALE * np.asarray(peaks) / BALLOON_PEAK
        out = balloon_response(drive, dt, scales) / balloon_gain(dt)
    else:
        varies = p.hrf_peak_sd_subject or p.hrf_peak_sd_region or p.hrf_dispersion_sd
        out = np.stack(
            [
                signal.fftconvolve(
                    d, gamma_hrf(dt, pk, dispersion) if varies else default_hrf
                )[:n]
                for d, pk in zip(drive, peaks, strict=True)
            ]
        )
    return latency_warp(out, dt, p.latency_shift)
