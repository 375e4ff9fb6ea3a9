"""What the MR scanner adds to the EEG: gradient and pulse artifacts.

Used only when ``gradient_artifact`` or ``pulse_artifact`` of a
:class:`~eeg2fmri.simulate.SimulationPreset` is non-zero; each draws from its own
random stream (:func:`~eeg2fmri.simulate.streams.realism_rng`), so that a preset with
them gives the same clean EEG and neural drives as without them. The structured BOLD
noise is in :mod:`eeg2fmri.simulate.bold_noise` (re-exported here).

Gradient artifact (EEG, µV)
    One waveform per slice and per gradient axis (slice select + spoiler on z, the
    echo-planar readout train on x, the phase-encoding blips on y), built as
    trapezoids, smoothed by a Gaussian that stands for the amplifier's anti-aliasing
    filter and differentiated (the induced voltage follows dG/dt). Each channel sees
    ``sum_axis gain[c, axis] * (1 + slow modulation_axis(t)) * dG_axis/dt``. Slices
    are acquired back to back (TR / n_slices apart); the true slice onsets differ from
    the rounded marker samples by a sub-sample offset per volume (the scanner and the
    amplifier clocks are not synchronized) plus a small jitter per slice.

Pulse (ballistocardiogram) artifact (EEG, µV)
    Three smooth temporal components starting 0.2 s after each ECG R peak, each with
    its own smooth scalp topography and a beat-to-beat amplitude variation of 10 %.
"""

import numpy as np
from scipy import ndimage, signal

from .bold_noise import measure_bold_noise, physio_phases
from .eeg_signals import montage_positions
from .streams import realism_rng, slow_noise

__all__ = [
    "realism_rng",
    "physio_phases",
    "measure_bold_noise",
    "gradient_waveforms",
    "add_gradient_artifact",
    "add_pulse_artifact",
]

#: Delay (s) from the ECG R peak to the pulse artifact onset, and its duration (s).
PULSE_DELAY = 0.2
PULSE_DURATION = 0.6


def _trapezoid(t, start, flat, ramp, amp):
    """Trapezoid gradient of amplitude ``amp`` starting at ``start``, on grid ``t``."""
    up = np.clip((t - start) / ramp, 0, 1)
    down = np.clip((start + 2 * ramp + flat - t) / ramp, 0, 1)
    return amp * np.minimum(up, down)


def gradient_waveforms(slice_period, step, smooth):
    """Induced voltage waveforms of one slice, per gradient axis.

    Parameters
    ----------
    slice_period : float
        Seconds from one slice onset to the next.
    step : float
        Grid step in seconds.
    smooth : float
        Standard deviation (s) of the Gaussian standing for the amplifier's
        anti-aliasing filter.

    Returns
    -------
    t : ndarray of shape (n,)
        Times from the slice onset, ``0 <= t < slice_period``.
    waves : ndarray of shape (3, n)
        dG/dt of the readout (x), phase-encoding (y) and slice-select (z) axes, each
        scaled to a peak absolute value of 1; periodic over the slice.
    """
    p = float(slice_period)
    t = np.arange(int(np.ceil(p / step))) * step
    grads = np.zeros((3, t.size))
    ramp = min(0.1e-3, 0.01 * p)
    # slice select (z): excitation, refocusing lobe, spoiler at the end
    grads[2] += _trapezoid(t, 0.02 * p, 0.06 * p, ramp, 1.0)
    grads[2] += _trapezoid(t, 0.08 * p + 2 * ramp, 0.03 * p, ramp, -0.9)
    grads[2] += _trapezoid(t, 0.93 * p, 0.04 * p, ramp, 1.4)
    # echo-planar readout (x): alternating lobes, echo spacing about 0.6 ms
    ro_start, ro_stop = 0.18 * p, 0.90 * p
    n_lobes = max(8, int((ro_stop - ro_start) / 0.6e-3))
    lobe = (ro_stop - ro_start) / n_lobes
    r_ramp = min(ramp, 0.2 * lobe)
    grads[0] += _trapezoid(t, 0.12 * p, 0.04 * p, ramp, -0.5)  # prephaser
    for i in range(n_lobes):
        grads[0] += _trapezoid(
            t, ro_start + i * lobe, lobe - 2 * r_ramp, r_ramp, 1.0 if i % 2 else -1.0
        )
    # phase encoding (y): prephaser then one blip between readout lobes
    grads[1] += _trapezoid(t, 0.12 * p, 0.04 * p, ramp, -0.6)
    blip = min(0.5 * r_ramp, 0.1 * lobe)
    for i in range(1, n_lobes):
        grads[1] += _trapezoid(t, ro_start + i * lobe - blip, 0.0, blip, 0.15)
    grads = ndimage.gaussian_filter1d(grads, smooth / step, axis=1, mode="wrap")
    waves = np.gradient(grads, step, axis=1)
    waves /= np.abs(waves).max(axis=1, keepdims=True)
    return t, waves


def _channel_positions(ch_names):
    pos = montage_positions()
    ref = pos.get("FCz", np.zeros(3))
    return np.array([pos.get(n, ref) for n in ch_names]) - ref


def add_gradient_artifact(
    eeg, rng, *, sfreq, ch_names, volume_onsets, tr, n_slices, amplitude, jitter
):
    """Add the gradient artifact of an echo-planar acquisition to ``eeg`` in place.

    Parameters
    ----------
    eeg : ndarray of shape (n_channels, n_samples) float32
        µV; modified in place.
    rng : numpy.random.Generator
    sfreq : float
    ch_names : list of str
        Channel names (positions from the easycap-M1 montage; ``ECG`` and unknown
        names get the reference position and a large gain).
    volume_onsets : ndarray of shape (n_volumes,)
        Volume onsets in seconds (the marker positions are their rounded samples).
    tr : float
    n_slices : int
        Slices per volume, acquired back to back over the TR.
    amplitude : float
        Typical peak amplitude in µV (gains scale with the distance from FCz).
    jitter : float
        Standard deviation of the per-slice timing jitter in samples.

    Returns
    -------
    info : dict
        JSON-serialisable: slice period, per-volume sub-sample offsets (samples),
        jitter, amplitude, per-channel gains (µV, 3 axes).
    """
    n_ch, n_samples = eeg.shape
    period = tr / n_slices
    offsets = rng.uniform(-0.5, 0.5, volume_onsets.size)  # clock phase per volume
    slice_jit = rng.normal(0.0, jitter, (volume_onsets.size, n_slices))
    onsets = (
        volume_onsets[:, None]
        + np.arange(n_slices)[None] * period
        + (offsets[:, None] + slice_jit) / sfreq
    ).ravel()
    step = 1.0 / (sfreq * 16)
    t_wave, waves = gradient_waveforms(period, step, max(0.15e-3, 0.75 / sfreq))

    xyz = _channel_positions(ch_names)
    dist = np.linalg.norm(xyz, axis=1)
    gains = rng.normal(0.0, 1.0, (n_ch, 3)) * (0.3 + dist / 0.12)[:, None]
    gains = np.clip(gains, -2.5, 2.5) * amplitude
    for i, name in enumerate(ch_names):
        if name.upper().startswith(("ECG", "EKG")):
            gains[i] = amplitude * rng.uniform(1.0, 2.0, 3) * rng.choice([-1, 1], 3)

    start = int(np.floor(onsets[0] * sfreq))
    stop = min(n_samples, int(np.ceil((onsets[-1] + period) * sfreq)))
    if stop <= start:
        return {}
    t = np.arange(start, stop) / sfreq
    k = np.searchsorted(onsets, t, side="right") - 1
    valid = k >= 0
    tau = t - onsets[np.maximum(k, 0)]
    valid &= tau < period
    # slow amplitude modulation per axis (head motion), 1-2 % over tens of seconds
    dt_mod = 0.5
    n_mod = int(np.ceil((stop - start) / sfreq / dt_mod)) + 2
    mod = 1 + 0.015 * slow_noise(rng, n_mod, dt_mod, 30.0, rows=3)
    t_mod = start / sfreq + np.arange(n_mod) * dt_mod
    axes = np.empty((3, t.size), dtype=np.float32)
    for a in range(3):
        w = np.interp(tau, t_wave, waves[a], period=period)
        w[~valid] = 0.0
        axes[a] = w * np.interp(t, t_mod, mod[a])
    for lo in range(0, n_ch, 8):
        hi = min(lo + 8, n_ch)
        eeg[lo:hi, start:stop] += (gains[lo:hi].astype(np.float32) @ axes).astype(
            np.float32
        )
    return {
        "amplitude_uv": amplitude,
        "n_slices": int(n_slices),
        "slice_period_s": period,
        "volume_offsets_samples": np.round(offsets, 4).tolist(),
        "slice_jitter_sd_samples": jitter,
        "channel_gains_uv": np.round(gains, 2).tolist(),
        "waveform": "dG/dt of EPI trapezoids (x readout, y blips, z slice select), "
        "Gaussian-smoothed",
    }


def add_pulse_artifact(eeg, rng, *, sfreq, eeg_rows, mixing, peak_samples, amplitude):
    """Add a pulse (ballistocardiogram) artifact locked to the R peaks, in place.

    Parameters
    ----------
    eeg : ndarray of shape (n_channels, n_samples) float32
    rng : numpy.random.Generator
    sfreq : float
    eeg_rows : list of int
        Rows of the EEG channels (the ECG channel is left alone).
    mixing : ndarray of shape (n_eeg, n_eeg)
        Spatial smoothing over electrodes (topographies are smooth).
    peak_samples : ndarray of shape (n_beats,)
        R-peak samples.
    amplitude : float
        Peak amplitude (µV) of the average beat on the strongest channel.

    Returns
    -------
    info : dict
        Delay, duration, number of beats, amplitude.
    """
    n_samples = eeg.shape[1]
    tau = np.arange(int(round(PULSE_DURATION * sfreq))) / sfreq
    env = np.sin(np.pi * tau / PULSE_DURATION) ** 2
    comps = np.stack(
        [
            env * np.sin(2 * np.pi * 2.5 * tau),
            env * np.sin(2 * np.pi * 5.0 * tau + 0.7),
            np.exp(-0.5 * ((tau - 0.18) / 0.07) ** 2),
        ]
    )
    topo = mixing @ rng.standard_normal((len(eeg_rows), 3)).astype(np.float32)
    topo /= np.abs(topo).max(0, keepdims=True)
    topo *= np.array([1.0, 0.6, 0.5], dtype=np.float32)
    delay = int(round(PULSE_DELAY * sfreq))
    series = np.zeros((3, n_samples), dtype=np.float32)
    for j in range(3):
        impulses = np.zeros(n_samples, dtype=np.float32)
        idx = peak_samples + delay
        ok = idx < n_samples
        impulses[idx[ok]] = 1.0 + 0.1 * rng.standard_normal(int(ok.sum()))
        series[j] = signal.oaconvolve(impulses, comps[j].astype(np.float32))[:n_samples]
    peak = float(np.abs(topo @ comps.astype(np.float32)).max())
    scale = np.float32(amplitude / max(peak, 1e-9))
    for lo in range(0, len(eeg_rows), 8):  # row chunks bound the temporary
        rows = eeg_rows[lo : lo + 8]
        eeg[rows] += (topo[lo : lo + 8] * scale) @ series
    return {
        "amplitude_uv": amplitude,
        "delay_s": PULSE_DELAY,
        "duration_s": PULSE_DURATION,
        "n_beats": int(peak_samples.size),
    }
