"""BOLD volumes from the network signals: noise-free, ceiling and measured images."""

import numpy as np

__all__ = ["synthesize_volumes"]


def synthesize_volumes(
    rng,
    *,
    per_slice,
    per_slice_ceiling,
    drift,
    baseline,
    gains,
    noise_sd,
    structured,
    acq,
):
    """Build the measured, noise-free and ceiling BOLD of a run, slice by slice.

    ``noiseless = baseline * (1 + drift(t)) + sum_k gain_k * signal_k(t_slice)``,
    ``ceiling = baseline + sum_k gain_k * ceiling_signal_k(t_slice)`` (no drift: the
    scanner's, which no EEG carries), ``measured = |noiseless + thermal +
    structured|`` rounded to int16.

    Parameters
    ----------
    rng : numpy.random.Generator
        The run's main stream (thermal noise, drawn slice by slice).
    per_slice, per_slice_ceiling : ndarray of shape (T, D, K) float32
        Network signals at each slice's acquisition times.
    drift : ndarray of shape (T,) float32
        Global drift (fraction of baseline).
    baseline : ndarray of shape (D, H, W) float32
    gains : ndarray of shape (K, D, H * W) float32
        ``bold_amplitude * map_k * baseline``.
    noise_sd : float32
        Thermal noise SD (intensity units).
    structured : StructuredBoldNoise or None
    acq : ndarray of shape (T, D)
        Acquisition times (s).

    Returns
    -------
    bold : ndarray of shape (T, D, H, W) int16
    noiseless, ceiling : ndarray of shape (T, D, H, W) float32
    """
    n_t, n_d, n_net = per_slice.shape
    n_h, n_w = baseline.shape[1:]
    noiseless = np.empty((n_t, n_d, n_h, n_w), dtype=np.float32)
    ceiling = np.empty((n_t, n_d, n_h, n_w), dtype=np.float32)
    bold = np.empty((n_t, n_d, n_h, n_w), dtype=np.int16)
    for z in range(n_d):
        base = baseline[z].reshape(1, -1)
        change = np.multiply(1.0 + drift[:, None], base)
        for k in range(n_net):  # K broadcasts beat a (T, K) @ (K, H*W) product
            nz = np.flatnonzero(gains[k, z])
            if nz.size:
                change[:, nz] += per_slice[:, z, k, None] * gains[k, z, nz][None]
        noiseless[:, z] = change.reshape(n_t, n_h, n_w)
        # ceiling: one product over the voxels of any map (no drift)
        best = np.repeat(base, n_t, axis=0)
        union = np.flatnonzero(gains[:, z].any(axis=0))
        if union.size:
            best[:, union] += per_slice_ceiling[:, z] @ gains[:, z, union]
        ceiling[:, z] = best.reshape(n_t, n_h, n_w)
        noisy = rng.standard_normal(change.shape, dtype=np.float32)
        noisy *= noise_sd
        noisy += change
        if structured is not None:
            noisy += structured.slice(z, acq[:, z])
        np.abs(noisy, out=noisy)
        np.clip(noisy, 0, 32767, out=noisy)
        bold[:, z] = np.rint(noisy).reshape(n_t, n_h, n_w)
    return bold, noiseless, ceiling
