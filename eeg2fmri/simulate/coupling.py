"""Departures from linear EEG-BOLD coupling: vigilance states, spectral-profile drive.

On the 0.1 s drive grid, for networks ``k = 1..K`` with latent drives ``d_k`` (what
the linear presets convolve with the HRF) and EEG latents ``c_k = rho d_k +
sqrt(1 - rho**2) xi_k`` (what modulates the EEG rhythms, envelope ``A_k =
exp(m sigma_k c_k - m**2 / 2)``), the BOLD drive is

    b_k(t) = w(t) * [(1 - a) d_k(t) + a s_k(t)]

- **Spectral profile** (``spectral_drive = a``; Kilner et al. 2005, Rosa et al.
  2010): ``s_k`` is the z-scored relative high- vs low-frequency power of the rhythms
  seen near network ``k``: ``r_k = log(H_k + B_k) - log(L_k + B_k)`` with ``H_k =
  sum_{j: f_j >= 13 Hz} W_kj a_j**2 A_j**2``, ``L_k`` the same over ``f_j < 13 Hz``,
  ``B_k = 0.25 sum_j W_kj a_j**2`` a broadband floor, ``W_kj`` the (non-negative)
  cosine similarity of the scalp topographies of ``k`` and ``j`` (``W_kk = 1``),
  ``a_j`` the rhythm amplitudes and ``f_j`` the band centres; ``s_k = o_k z(r_k)``
  with ``o_k = sigma_k`` for a high band and ``-sigma_k`` for a low one, so that a
  network's own activation raises it. A log-ratio of sums of exponentials of several
  ``c_j``: no linear function of log band power equals it.
- **Vigilance state** (``vigilance_dwell``; Goncalves et al. 2005, Omata et al.
  2013, Olbrich et al. 2009): a two-state (alert 0 / drowsy 1) semi-Markov chain with
  dwell times uniform in ``vigilance_dwell`` seconds; ``w = 1`` when alert and
  ``state_weight`` when drowsy, smoothed over 2 s at the switches; ``w`` is negated
  for the participants whose sign is flipped (probability ``state_flip_fraction``).
  The state is visible in the EEG: posterior alpha drops and frontal theta rises when
  drowsy (:func:`vigilance_eeg`).

The EEG-visible part of the drive (for the ceiling) replaces ``d_k`` by its
conditional mean given the EEG latent: ``E[d_k | c_k, events] = rho c_k + (1 -
rho**2) e_k`` (``e_k`` the stimulus-locked part of the drive, which the ERPs reveal).
"""

import numpy as np
from scipy import ndimage

from .eeg_signals import band_noise, topography

__all__ = [
    "HIGH_BAND_HZ",
    "VIGILANCE_EEG",
    "vigilance_states",
    "state_weights",
    "spectral_profile_drive",
    "visible_drive",
    "vigilance_eeg",
    "Departures",
    "draw_departures",
]

#: Band centres at or above this frequency (Hz) count as "high" (beta, gamma).
HIGH_BAND_HZ = 13.0
#: EEG signature of the vigilance states: band (Hz), electrodes, µV alert, µV drowsy.
VIGILANCE_EEG = (
    ((8.5, 11.5), ("O1", "Oz", "O2", "POz", "Pz"), 15.0, 4.0),  # posterior alpha
    ((4.0, 7.0), ("Fz", "FCz", "Cz"), 2.0, 7.0),  # frontocentral theta
)
#: Smoothing (s, Gaussian SD) of the state switches.
SWITCH_SD = 2.0


def vigilance_states(rng, n_grid, dt, dwell):
    """Two-state alternating sequence with uniform dwell times.

    Parameters
    ----------
    rng : numpy.random.Generator
    n_grid : int
        Grid length.
    dt : float
        Grid step (s).
    dwell : (float, float)
        Minimum and maximum dwell time (s).

    Returns
    -------
    state : ndarray of shape (n_grid,) int8
        0 alert, 1 drowsy.
    segments : list of [start_index, stop_index, state]
    """
    state = np.empty(n_grid, dtype=np.int8)
    current = int(rng.integers(0, 2))
    # the first segment starts somewhere inside a dwell period
    remaining = rng.uniform(0, rng.uniform(*dwell))
    start, segments = 0, []
    while start < n_grid:
        stop = min(n_grid, start + max(1, int(round(remaining / dt))))
        state[start:stop] = current
        segments.append([start, stop, current])
        start, current = stop, 1 - current
        remaining = rng.uniform(*dwell)
    return state, segments


def state_weights(state, dt, drowsy_weight, flipped):
    """BOLD-drive weight per grid point: 1 alert, ``drowsy_weight`` drowsy, smoothed."""
    w = np.where(state == 1, float(drowsy_weight), 1.0)
    w = ndimage.gaussian_filter1d(w, SWITCH_SD / dt, mode="nearest")
    return -w if flipped else w


def _overlap(topographies):
    t = np.asarray(topographies, dtype=float)  # (n_eeg, K)
    norm = np.linalg.norm(t, axis=0)
    w = (t.T @ t) / np.maximum(np.outer(norm, norm), 1e-12)
    w = np.clip(w, 0.0, 1.0)
    np.fill_diagonal(w, 1.0)
    return w


def spectral_profile_drive(c, networks, topographies, depth):
    """Z-scored relative high- vs low-frequency power near each network.

    Parameters
    ----------
    c : ndarray of shape (K, n)
        EEG latents on the drive grid.
    networks : sequence of NetworkSpec
    topographies : ndarray of shape (n_eeg, K)
    depth : float
        ``modulation_depth`` (envelope ``exp(depth * sign * c - depth**2 / 2)``).

    Returns
    -------
    s : ndarray of shape (K, n)
    info : dict
        Overlap matrix, high-band flags, orientations (JSON-serialisable).
    """
    w = _overlap(topographies)
    amp = np.array([net.amplitude for net in networks], dtype=float)
    centre = np.array([np.mean(net.band) for net in networks])
    sign = np.array([net.sign for net in networks], dtype=float)
    high = centre >= HIGH_BAND_HZ
    power = (amp**2)[:, None] * np.exp(
        2 * (depth * sign[:, None] * c - 0.5 * depth**2)
    )  # (K, n) a_j**2 A_j**2
    floor = 0.25 * (w @ amp**2)
    h = w[:, high] @ power[high] if high.any() else np.zeros_like(power)
    low = w[:, ~high] @ power[~high] if (~high).any() else np.zeros_like(power)
    r = np.log(h + floor[:, None]) - np.log(low + floor[:, None])
    sd = r.std(axis=1, keepdims=True)
    z = (r - r.mean(axis=1, keepdims=True)) / np.where(sd > 0, sd, 1.0)
    orient = np.where(high, sign, -sign)
    info = {
        "overlap": np.round(w, 4).tolist(),
        "high_band": high.tolist(),
        "orientation": orient.astype(int).tolist(),
        "high_band_threshold_hz": HIGH_BAND_HZ,
        "floor_fraction": 0.25,
    }
    return orient[:, None] * z, info


def visible_drive(c, event_drive, coupling):
    """EEG-visible part of the drives: ``rho c + (1 - rho**2) e``, (K, n)."""
    return coupling * c + (1.0 - coupling**2) * event_drive


def vigilance_eeg(rng, state_samples, eeg_names, sfreq, gain):
    """EEG of the vigilance states: posterior alpha and frontocentral theta (µV).

    Parameters
    ----------
    rng : numpy.random.Generator
    state_samples : ndarray of shape (n_samples,)
        Smoothed drowsiness (0 alert .. 1 drowsy) at each EEG sample.
    eeg_names : list of str
    sfreq : float
    gain : float
        The participant's EEG gain.

    Returns
    -------
    eeg : ndarray of shape (n_eeg, n_samples) float32
    """
    n = state_samples.size
    out = np.zeros((len(eeg_names), n), dtype=np.float32)
    drowsy = state_samples.astype(np.float32)
    for band, centres, alert_uv, drowsy_uv in VIGILANCE_EEG:
        if band[1] >= sfreq / 2:
            continue
        amp = (alert_uv + (drowsy_uv - alert_uv) * drowsy) * np.float32(gain)
        src = band_noise(rng, n, sfreq, band) * amp
        out += topography(eeg_names, centres)[:, None] * src[None]
    return out


class Departures:
    """The departures from linear coupling drawn for one run (all None when off).

    Attributes
    ----------
    state : ndarray of shape (n_grid,) int8 or None
        Vigilance state on the drive grid (0 alert, 1 drowsy).
    drowsiness : ndarray of shape (n_grid,) or None
        The state smoothed over the switches (0..1): scales the EEG signature.
    weights : ndarray of shape (n_grid,) or None
        BOLD-drive weight ``w(t)``.
    spectral : ndarray of shape (K, n_grid) or None
        Spectral-profile drive ``s_k``.
    rng : numpy.random.Generator
        The run's ``"state"`` stream (the EEG signature draws from it next).
    info : dict
        JSON-serialisable record for the truth file.
    """

    def __init__(self, preset, rng):
        self.preset = preset
        self.rng = rng
        self.state = self.drowsiness = self.weights = self.spectral = None
        self.info = {}

    def bold_drive(self, latent):
        """``w(t) * ((1 - a) latent + a s)``: the drive the haemodynamics sees."""
        b = latent
        if self.spectral is not None:
            a = self.preset.spectral_drive
            b = (1.0 - a) * latent + a * self.spectral
        if self.weights is not None:
            b = self.weights[None] * b
        return b


def draw_departures(preset, networks, topographies, subject, rng, t_grid, c):
    """Draw the run's vigilance states and spectral-profile drive.

    Parameters
    ----------
    preset : SimulationPreset
    networks : sequence of NetworkSpec
    topographies : ndarray of shape (n_eeg, K)
    subject : dict
        ``flip_u`` (uniform draw of the participant) decides the sign flip.
    rng : numpy.random.Generator
        The run's ``"state"`` stream.
    t_grid : ndarray of shape (n_grid,)
        Drive grid times (s from the first EEG sample).
    c : ndarray of shape (K, n_grid)
        EEG latents.

    Returns
    -------
    departures : Departures
    """
    p = preset
    dep = Departures(p, rng)
    dt = float(t_grid[1] - t_grid[0])
    if p.vigilance_dwell is not None:
        dep.state, segments = vigilance_states(rng, t_grid.size, dt, p.vigilance_dwell)
        flipped = bool(subject.get("flip_u", 1.0) < p.state_flip_fraction)
        dep.weights = state_weights(dep.state, dt, p.state_weight, flipped)
        dep.drowsiness = ndimage.gaussian_filter1d(
            dep.state.astype(float), SWITCH_SD / dt, mode="nearest"
        )
        dep.info["vigilance"] = {
            "segments_s": [
                [round(float(t_grid[a]), 3), round(float(t_grid[b - 1] + dt), 3), s]
                for a, b, s in segments
            ],
            "segments_description": "[start, stop, state] in seconds from the first "
            "EEG sample; state 0 alert, 1 drowsy",
            "sign_flipped": flipped,
            "weight_alert": -1.0 if flipped else 1.0,
            "weight_drowsy": -p.state_weight if flipped else p.state_weight,
            "dwell_s": list(p.vigilance_dwell),
            "switch_smoothing_sd_s": SWITCH_SD,
            "fraction_drowsy": round(float(dep.state.mean()), 4),
            "eeg_signature": [
                {
                    "band_hz": list(b),
                    "electrodes": list(e),
                    "alert_uv": a,
                    "drowsy_uv": d,
                }
                for b, e, a, d in VIGILANCE_EEG
            ],
        }
    if p.spectral_drive > 0:
        dep.spectral, info = spectral_profile_drive(
            c, networks, topographies, p.modulation_depth
        )
        dep.info["spectral_drive"] = dict(info, weight=p.spectral_drive)
    return dep
