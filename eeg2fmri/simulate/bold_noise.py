"""Structured BOLD noise like real EPI, and its measurement.

Added to the thermal white noise (``bold_noise``), in intensity units, inside the
brain (baseline > 0), every part from the run's ``"bold"`` random stream:

- **AR(1) noise** ``x_t = phi_v x_{t-1} + sqrt(1 - phi_v**2) e_t``, per voxel ``v``,
  with SD ``bold_ar_noise * baseline_v`` (physiological noise scales with the signal,
  Krüger & Glover 2001) and coefficients ``phi_v ~ N(bold_ar_coef,
  bold_ar_coef_sd)`` (clipped to [0, 0.95]), a spatially smooth map. The
  innovations ``e_t`` are spatially smooth Gaussian fields (FWHM ``noise_fwhm`` mm;
  drawn on the whole grid, kept inside the brain).
- **Cardiac and respiratory fluctuations**: RETROICOR-like Fourier series (two
  harmonics) of the cardiac and respiratory phases (Glover et al. 2000), sampled at
  each slice's acquisition time and so aliased at the TR, weighted by ``CSF + 0.3
  GM``; the Fourier coefficients are spatially smooth maps.
- **Slow drift per voxel**: a discrete cosine basis ``cos(pi k t / T_run)``, ``k = 1
  .. max(1, floor(2 T_run / drift_period))`` (the periods longer than
  ``drift_period``, as SPM's high-pass filter models them), coefficients ``~ N(0, 1)
  / k`` in spatially smooth maps, scaled to an SD of ``voxel_drift * baseline``.

Spatial smoothness: a Gaussian of FWHM ``noise_fwhm`` mm (per axis in voxels from the
affine, cut at 3 SD), normalised so that the smoothed white field keeps unit variance.
"""

import numpy as np
from scipy import ndimage

from .streams import slow_noise

__all__ = [
    "physio_phases",
    "fwhm_to_sigma",
    "smooth_unit_field",
    "StructuredBoldNoise",
    "measure_bold_noise",
]

_FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))
#: The smoothing kernels are cut at 3 SD (they keep 99.7 % of their weight).
_TRUNCATE = 3.0


def physio_phases(rng, duration, heart_rate, dt=0.02):
    """Cardiac and respiratory phases on a regular grid.

    Parameters
    ----------
    rng : numpy.random.Generator
    duration : float
        Seconds to cover (from 0).
    heart_rate : float
        Mean heart rate in beats per minute.
    dt : float, default=0.02
        Grid step in seconds.

    Returns
    -------
    t : ndarray of shape (n,)
        Grid times in seconds.
    cardiac, respiratory : ndarray of shape (n,)
        Phases in radians (unwrapped). The cardiac rate varies by 3 % and the
        respiratory rate (drawn in 0.22-0.32 Hz) by 8 % over tens of seconds.
    """
    t = np.arange(0.0, duration + 2 * dt, dt)
    coarse = np.arange(0.0, t[-1] + 1.0, 0.5)  # rate changes over tens of seconds
    slow = slow_noise(rng, coarse.size, 0.5, 20.0)
    slow = np.stack([np.interp(t, coarse, row) for row in slow])
    f_card = heart_rate / 60.0 * (1 + 0.03 * slow[0])
    f_resp = rng.uniform(0.22, 0.32) * (1 + 0.08 * slow[1])
    cardiac = 2 * np.pi * np.cumsum(f_card) * dt + rng.uniform(0, 2 * np.pi)
    respiratory = 2 * np.pi * np.cumsum(f_resp) * dt + rng.uniform(0, 2 * np.pi)
    return t, cardiac, respiratory


def fwhm_to_sigma(fwhm, zooms):
    """Gaussian SD in voxels per axis for a FWHM in mm and voxel sizes ``zooms``."""
    return tuple(float(fwhm) / _FWHM_PER_SIGMA / float(z) for z in zooms)


def _kernel_norm(sigma):
    """sqrt(sum of squares) of the separable Gaussian kernel of ``sigma`` (voxels)."""
    norm = 1.0
    for s in sigma:
        if s <= 0:
            continue
        half = int(_TRUNCATE * s + 0.5)
        delta = np.zeros(2 * half + 1)
        delta[half] = 1.0
        k = ndimage.gaussian_filter1d(delta, s, mode="constant", truncate=_TRUNCATE)
        norm *= float(np.sqrt((k**2).sum()))
    return norm


def smooth_unit_field(x, sigma):
    """Smooth white noise over its last ``len(sigma)`` axes, keeping unit variance.

    Parameters
    ----------
    x : ndarray of shape (..., D, H, W)
        Independent standard normal values (float32 or float64).
    sigma : tuple of float
        Gaussian SD in voxels for the last axes (0 = no smoothing along one).

    Returns
    -------
    y : ndarray, same shape and dtype
        Spatially smooth, variance 1 away from the borders (reflected borders).
    """
    if max(sigma) < 0.2:  # narrower than a fifth of a voxel: nothing to smooth
        return x
    full = (0.0,) * (x.ndim - len(sigma)) + tuple(sigma)
    y = ndimage.gaussian_filter(
        x, full, mode="reflect", output=x.dtype, truncate=_TRUNCATE
    )
    y /= np.asarray(_kernel_norm(sigma), dtype=x.dtype)
    return y


class StructuredBoldNoise:
    """The structured noise of one run, drawn once, read slice by slice.

    Parameters
    ----------
    rng : numpy.random.Generator
        The run's ``"bold"`` stream.
    n_volumes : int
    baseline : ndarray of shape (D, H, W)
        Baseline intensity (0 outside the head).
    pulsatile : ndarray of shape (D, H, W)
        Weight of the physiological fluctuations (``CSF + 0.3 GM``).
    zooms : tuple of float
        Voxel size in mm along (D, H, W).
    run_duration : float
        ``n_volumes * TR`` in seconds (the drift basis spans it).
    phases : tuple of ndarray
        ``(t, cardiac, respiratory)`` from :func:`physio_phases`.
    preset : SimulationPreset
        ``bold_ar_noise``, ``bold_ar_coef``, ``bold_ar_coef_sd``, ``cardiac_noise``,
        ``respiratory_noise``, ``voxel_drift``, ``drift_period``, ``noise_fwhm``.
    """

    def __init__(
        self,
        rng,
        *,
        n_volumes,
        baseline,
        pulsatile,
        zooms,
        run_duration,
        phases,
        preset,
    ):
        p = preset
        self.preset = p
        self.phases = phases
        self.run_duration = float(run_duration)
        self.shape = baseline.shape
        self.inside = baseline > 0
        self.baseline = baseline.astype(np.float32)
        self.pulsatile = pulsatile.astype(np.float32)
        self.sigma = fwhm_to_sigma(p.noise_fwhm, zooms)
        counts = self.inside.reshape(self.shape[0], -1).sum(1)
        self.offsets = np.concatenate([[0], np.cumsum(counts)])
        shape = self.shape
        self.phi = None
        self.ar = None
        if p.bold_ar_noise > 0:
            phi = p.bold_ar_coef + p.bold_ar_coef_sd * smooth_unit_field(
                rng.standard_normal(shape), self.sigma
            )
            self.phi = np.clip(phi, 0.0, 0.95).astype(np.float32)
            self.ar = self._ar_field(rng, n_volumes)
        self.physio = {}
        for name, amp in (
            ("cardiac", p.cardiac_noise),
            ("respiratory", p.respiratory_noise),
        ):
            if amp > 0:
                coef = smooth_unit_field(rng.standard_normal((4, *shape)), self.sigma)
                coef[2:] *= 0.5  # second harmonic weaker
                coef /= np.sqrt((coef**2).sum(0, keepdims=True) / 2)  # unit SD
                self.physio[name] = (amp, coef.astype(np.float32))
        self.n_cosines = max(1, int(np.floor(2 * self.run_duration / p.drift_period)))
        self.drift = None
        if p.voxel_drift > 0:
            k = np.arange(1, self.n_cosines + 1)
            coef = smooth_unit_field(
                rng.standard_normal((self.n_cosines, *shape)), self.sigma
            )
            coef /= k[:, None, None, None]
            coef /= np.sqrt((0.5 / k**2).sum())  # expected drift SD 1
            self.drift = coef.astype(np.float32)

    def _ar_field(self, rng, n_volumes, chunk=32):
        """(T, n_inside) float32 unit-variance AR(1) noise, spatially smooth.

        Columns are the in-brain voxels in C order, so slice ``z`` is the column
        range ``self.offsets[z]:self.offsets[z + 1]``.
        """
        inside = self.inside.reshape(-1)
        out = np.empty((n_volumes, int(inside.sum())), dtype=np.float32)
        phi = self.phi.reshape(-1)[inside]
        innov = np.sqrt(1.0 - phi**2).astype(np.float32)
        for lo in range(0, n_volumes, chunk):
            hi = min(lo + chunk, n_volumes)
            e = smooth_unit_field(
                rng.standard_normal((hi - lo, *self.shape), dtype=np.float32),
                self.sigma,
            ).reshape(hi - lo, -1)[:, inside]
            e *= innov
            for t in range(lo, hi):
                if t == 0:
                    out[0] = e[0] / innov  # stationary start
                else:
                    np.multiply(phi, out[t - 1], out=out[t])
                    out[t] += e[t - lo]
        return out

    def slice(self, z, acq_times):
        """Noise of slice ``z`` in each volume, (T, H * W) float32 intensity units.

        Parameters
        ----------
        z : int
        acq_times : ndarray of shape (T,)
            Acquisition time (s from the first EEG sample) of slice ``z``.
        """
        p = self.preset
        base = self.baseline[z].reshape(-1)
        inside = self.inside[z].reshape(-1)
        out = np.zeros((acq_times.size, base.size), dtype=np.float32)
        if not inside.any():
            return out
        if self.ar is not None:
            cols = self.ar[:, self.offsets[z] : self.offsets[z + 1]]
            out[:, inside] += cols * (np.float32(p.bold_ar_noise) * base[inside])
        t_grid, card, resp = self.phases
        for name, phase in (("cardiac", card), ("respiratory", resp)):
            if name not in self.physio:
                continue
            amp, coef = self.physio[name]
            ph = np.interp(acq_times, t_grid, phase)
            basis = np.stack(
                [np.cos(ph), np.sin(ph), np.cos(2 * ph), np.sin(2 * ph)], axis=1
            ).astype(np.float32)  # (T, 4)
            w = np.float32(amp) * self.pulsatile[z].reshape(-1) * base
            out += (basis @ coef[:, z].reshape(4, -1)) * w
        if self.drift is not None:
            rel = (acq_times - acq_times[0]) / self.run_duration
            k = np.arange(1, self.n_cosines + 1)
            basis = np.cos(np.pi * k[None] * rel[:, None]).astype(np.float32)
            out += (basis @ self.drift[:, z].reshape(self.n_cosines, -1)) * (
                np.float32(p.voxel_drift) * base
            )
        out[:, ~inside] = 0.0
        return out

    def info(self, gm_mean):
        """JSON-serialisable summary for the truth file."""
        p = self.preset
        phi = self.phi[self.inside] if self.phi is not None else None
        return {
            "ar_sd_fraction_of_baseline": p.bold_ar_noise,
            "ar_sd_at_grey_matter_mean": float(p.bold_ar_noise * gm_mean),
            "ar_coef_mean": None if phi is None else round(float(phi.mean()), 4),
            "ar_coef_sd_across_voxels": None
            if phi is None
            else round(float(phi.std()), 4),
            "cardiac": p.cardiac_noise,
            "respiratory": p.respiratory_noise,
            "voxel_drift": p.voxel_drift,
            "drift_period_s": p.drift_period,
            "drift_n_cosines": self.n_cosines,
            "fwhm_mm": p.noise_fwhm,
            "smoothing_sigma_voxels_dhw": [round(s, 4) for s in self.sigma],
        }


def measure_bold_noise(volumes, mask, *, detrend_order=1):
    """Temporal SNR and lag-1 autocorrelation of BOLD voxels, after a detrend.

    Parameters
    ----------
    volumes : ndarray of shape (T, D, H, W)
    mask : ndarray of bool of shape (D, H, W)
        Voxels to measure (e.g. in-brain).
    detrend_order : int, default=1
        Order of the Legendre polynomial trend removed first (1 = linear, as the
        committed numbers; 2 = quadratic, as brainiak's ``calc_noise``).

    Returns
    -------
    stats : dict
        ``tsnr``: median over voxels of mean / SD of the detrended series;
        ``lag1_autocorrelation``: median over voxels of the lag-1 autocorrelation of
        the detrended series; ``n_voxels``.
    """
    x = np.asarray(volumes, dtype=np.float64)[:, np.asarray(mask, dtype=bool)]
    if x.shape[0] < 3 or x.shape[1] == 0:
        raise ValueError(
            f"measure_bold_noise: need >= 3 volumes and >= 1 voxel, got {x.shape}"
        )
    if int(detrend_order) != detrend_order or not 0 <= detrend_order < x.shape[0] - 1:
        raise ValueError(
            f"measure_bold_noise: detrend_order must be an integer from 0 to "
            f"{x.shape[0] - 2}, got {detrend_order!r}"
        )
    t = np.linspace(-1.0, 1.0, x.shape[0])
    design = np.polynomial.legendre.legvander(t, int(detrend_order))
    coef, *_ = np.linalg.lstsq(design, x, rcond=None)
    resid = x - design @ coef
    sd = resid.std(axis=0)
    ok = sd > 0
    tsnr = x.mean(axis=0)[ok] / sd[ok]
    r = resid[:, ok]
    lag1 = (r[1:] * r[:-1]).sum(0) / (r**2).sum(0)
    return {
        "tsnr": float(np.median(tsnr)),
        "lag1_autocorrelation": float(np.median(lag1)),
        "n_voxels": int(ok.sum()),
    }
