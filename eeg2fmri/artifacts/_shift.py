"""Sub-sample shifts of epoch matrices with a windowed-sinc FIR, and epoch gathering."""

import numpy as np

#: Half-width (taps each side) and Kaiser beta of the fractional-delay filter. Its
#: error is below 0.4 % of the amplitude up to 0.2 sfreq, 0.06 % at 0.01 sfreq.
HALF_TAPS = 8
KAISER_BETA = 6.0


def fractional_kernels(shifts, half=HALF_TAPS, beta=KAISER_BETA):
    """Kaiser-windowed sinc kernels that delay by fractional ``shifts``.

    Parameters
    ----------
    shifts : ndarray of shape (n,)
        Shifts in samples, each in [-1, 1].
    half : int
    beta : float

    Returns
    -------
    kernels : ndarray of shape (n, 2 * half) float32
        ``y[i] = sum_k x[i + k] kernels[k]`` evaluates ``x`` at
        ``i + half - 1 + shift``; each kernel sums to 1.
    """
    j = np.arange(-half + 1, half + 1, dtype=np.float64)
    x = j[None] - np.asarray(shifts, dtype=np.float64)[:, None]
    w = np.i0(beta * np.sqrt(np.clip(1 - (x / half) ** 2, 0, 1))) / np.i0(beta)
    h = np.sinc(x) * w
    return (h / h.sum(1, keepdims=True)).astype(np.float32)


def shift_rows(rows, kernels, out_len):
    """Evaluate each row at ``i + shift_row`` for ``i`` in ``range(out_len)``.

    Parameters
    ----------
    rows : ndarray of shape (..., n, out_len + 2 * half - 1)
        Rows padded by ``half - 1`` samples before and ``half`` after.
    kernels : ndarray of shape (n, 2 * half)
        From :func:`fractional_kernels`.
    out_len : int

    Returns
    -------
    shifted : ndarray of shape (..., n, out_len) float32
    """
    taps = kernels.shape[1]
    out = np.zeros((*rows.shape[:-1], out_len), dtype=np.float32)
    for k in range(taps):
        out += kernels[:, k, None] * rows[..., k : k + out_len]
    return out


def gather_epochs(data, starts, length):
    """Rows ``data[..., s : s + length]`` for each start, clipped at the edges.

    Parameters
    ----------
    data : ndarray of shape (C, N)
    starts : ndarray of shape (n,) int
    length : int

    Returns
    -------
    epochs : ndarray of shape (C, n, length) float32
    """
    idx = np.clip(starts[:, None] + np.arange(length)[None], 0, data.shape[-1] - 1)
    return np.asarray(data[:, idx], dtype=np.float32)
