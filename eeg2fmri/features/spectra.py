"""TR-window EEG spectra aligned to the BOLD volume onsets.

A run's EEG is cut into windows of ``round(TR * sfreq)`` samples, one per BOLD volume:
window ``v`` starts at the onset of volume ``v`` (minus ``FeatureParams.lag``) and spans
one TR, so with regular onsets the windows do not overlap and window ``v`` covers the
acquisition of volume ``v``. The magnitude of each window's FFT is kept for
``n_freqs`` bins (bin ``k`` at ``k / TR`` Hz), and the result is normalized.
This is the official preprocessing, except that the official code starts its windows at
EEG sample 0 instead of at the scanner's volume triggers.
"""

import warnings
from dataclasses import dataclass

import numpy as np
import scipy.fft
import scipy.signal

from ..exceptions import DataError
from .params import FeatureParams

__all__ = [
    "WindowGrid",
    "make_window_grid",
    "compute_window_spectra",
    "compute_run_spectra",
    "spectrum_frequencies",
]

#: Size in bytes of the float32 block of windows transformed at once.
_BLOCK_BYTES = 16 * 2**20


@dataclass(frozen=True)
class WindowGrid:
    """The TR windows of one run, indexed by the volume they belong to.

    Attributes
    ----------
    starts : np.ndarray of int64, shape (n_windows,)
        First EEG sample of each window.
    first_window : int
        Volume index of ``starts[0]``; negative for windows recorded before the first
        volume (``use_pre_scan_eeg``). Window ``i`` belongs to volume
        ``first_window + i``.
    window_length : int
        Samples per window, ``round(tr * sfreq)``.
    sfreq : float
        EEG sampling frequency in Hz.
    tr : float
        Repetition time in seconds.
    n_volumes : int
        Number of BOLD volumes of the run.
    lag : float
        Seconds by which the windows are shifted back from the volume onsets.
    """

    starts: np.ndarray
    first_window: int
    window_length: int
    sfreq: float
    tr: float
    n_volumes: int
    lag: float = 0.0

    @property
    def n_windows(self):
        """Number of windows."""
        return int(self.starts.shape[0])

    @property
    def window_volumes(self):
        """Volume index of each window, shape (n_windows,)."""
        return np.arange(self.first_window, self.first_window + self.n_windows)

    @property
    def times(self):
        """Start of each window in seconds from the first EEG sample, (n_windows,)."""
        return self.starts / self.sfreq

    def pairs(self, n_context, discard_volumes=6, use_pre_scan_eeg=False):
        """Target volumes that have a complete context, and where it ends.

        Target ``v`` (``discard_volumes <= v < n_volumes``) uses windows
        ``v - n_context .. v - 1``. Without ``use_pre_scan_eeg`` these windows must
        also belong to volumes ``>= discard_volumes``.

        Parameters
        ----------
        n_context : int
            Windows per context.
        discard_volumes : int, default=6
            First volumes that are never targets.
        use_pre_scan_eeg : bool, default=False
            Allow context windows of discarded volumes and before the first volume.

        Returns
        -------
        targets : np.ndarray of int64, shape (n_pairs,)
            Volume index of each target.
        last_window : np.ndarray of int64, shape (n_pairs,)
            Row of ``spectra`` (index into this grid) of each context's last window.
        n_missing : dict
            ``{"start": k, "end": m}``: volumes that would be targets if the EEG had
            started earlier / lasted longer.
        """
        lo = self.first_window
        hi = self.first_window + self.n_windows  # windows lo .. hi-1 exist
        # ideal targets: those an EEG covering the whole run would give
        ideal_first = discard_volumes + (0 if use_pre_scan_eeg else n_context)
        ideal = np.arange(ideal_first, self.n_volumes)
        first_ok = max(ideal_first, lo + n_context)
        ok = (ideal >= first_ok) & (ideal - 1 < hi)
        targets = ideal[ok].astype(np.int64)
        n_missing = {
            "start": int(np.sum(ideal < first_ok)),
            "end": int(np.sum((ideal >= first_ok) & (ideal - 1 >= hi))),
        }
        return targets, targets - 1 - lo, n_missing


def make_window_grid(onsets, sfreq, tr, n_samples, params=None):
    """Place one TR window per volume on the EEG, starting at each volume's onset.

    Parameters
    ----------
    onsets : array-like of float, shape (n_volumes,)
        Volume onsets in seconds from the first EEG sample
        (``eeg2fmri.bids.find_volume_onsets(...).onsets``).
    sfreq : float
        EEG sampling frequency in Hz.
    tr : float
        Repetition time in seconds.
    n_samples : int
        Number of EEG samples of the run.
    params : FeatureParams, optional
        Uses ``lag``, ``discard_volumes`` and ``use_pre_scan_eeg``.

    Returns
    -------
    grid : WindowGrid
        Window ``v`` starts at sample ``round((onset_v - lag) * sfreq)``. Windows of
        volumes ``< discard_volumes`` are left out unless ``use_pre_scan_eeg``; with it,
        windows before the first volume are added every TR backwards while they fit in
        the EEG. Windows that do not fit in the EEG are left out, so the grid is a
        contiguous range of volume indices.
    """
    params = FeatureParams() if params is None else params
    onsets = np.asarray(onsets, dtype=np.float64).ravel()
    sfreq, tr, n_samples = float(sfreq), float(tr), int(n_samples)
    if sfreq <= 0 or tr <= 0:
        raise ValueError(f"sfreq and tr must be > 0, got sfreq={sfreq}, tr={tr}")
    if onsets.size == 0:
        raise ValueError("onsets is empty: expected one onset per BOLD volume")
    if np.any(np.diff(onsets) <= 0):
        raise ValueError("onsets must be strictly increasing (seconds, one per volume)")
    length = int(round(tr * sfreq))
    if length < 2:
        raise ValueError(
            f"a TR of {tr} s at {sfreq} Hz gives {length} sample(s) per window"
        )
    starts = np.round((onsets - params.lag) * sfreq).astype(np.int64)
    first = 0
    if params.use_pre_scan_eeg:
        # extend backwards by TR steps while the window starts inside the EEG
        t0 = onsets[0] - params.lag
        n_pre = int(np.floor(t0 / tr + 1e-9))
        if n_pre > 0:
            pre = np.round((t0 - tr * np.arange(n_pre, 0, -1)) * sfreq).astype(np.int64)
            starts = np.concatenate([pre, starts])
            first = -n_pre
    else:
        starts = starts[params.discard_volumes :]
        first = params.discard_volumes
    fits = (starts >= 0) & (starts + length <= n_samples)
    if not fits.any():
        return WindowGrid(
            np.zeros(0, np.int64), first, length, sfreq, tr, onsets.size, params.lag
        )
    i0 = int(np.argmax(fits))
    i1 = i0 + int(np.argmin(fits[i0:])) if not fits[i0:].all() else fits.size
    return WindowGrid(
        starts[i0:i1], first + i0, length, sfreq, tr, onsets.size, params.lag
    )


def spectrum_frequencies(window_length, sfreq, params=None):
    """Frequency in Hz of each kept bin.

    Parameters
    ----------
    window_length : int
        Samples per window.
    sfreq : float
        Sampling frequency in Hz.
    params : FeatureParams, optional

    Returns
    -------
    freqs : np.ndarray of float64, shape (n_freqs,)
        ``k * sfreq / window_length``; bins past Nyquist (always zero in the spectra)
        are NaN.
    """
    params = FeatureParams() if params is None else params
    k = np.arange(params.n_freqs) + (1 if params.drop_dc else 0)
    freqs = k * float(sfreq) / int(window_length)
    freqs[k > window_length // 2] = np.nan
    return freqs


def _zscore(x, axis):
    """In-place z-score of float32 ``x`` along ``axis`` (ddof 0); zero std gives 0."""
    mean = x.mean(axis=axis, dtype=np.float64, keepdims=True)
    x -= mean.astype(np.float32)
    std = np.sqrt(np.mean(np.square(x, dtype=np.float64), axis=axis, keepdims=True))
    scale = np.zeros_like(std, dtype=np.float32)
    np.divide(1.0, std, out=scale, where=std > 0, casting="unsafe")
    x *= scale
    return x


def compute_window_spectra(data, sfreq, window_starts, window_length, params=None):
    """FFT magnitude of TR windows of a multichannel signal, normalized.

    Parameters
    ----------
    data : array-like, shape (n_channels, n_samples)
        EEG signal (any float dtype; converted to float32 one block of windows at a
        time, so the whole signal is never copied).
    sfreq : float
        Sampling frequency in Hz (used in messages only: bins are at
        ``k * sfreq / window_length`` Hz).
    window_starts : array-like of int, shape (n_windows,)
        First sample of each window; ``0 <= start <= n_samples - window_length``.
    window_length : int
        Samples per window (``round(TR * sfreq)``); also the FFT length.
    params : FeatureParams, optional
        ``n_freqs``, ``drop_dc``, ``window``, ``log_magnitude``, ``normalization``.

    Returns
    -------
    spectra : np.ndarray of float32, shape (n_windows, n_channels, n_freqs)
        ``|rfft(taper * window)|`` for bins ``1..n_freqs`` (or ``0..n_freqs-1``),
        optionally log-transformed, then normalized; computed in float32 on blocks of
        windows (``scipy.fft.rfft(..., workers=-1)``). Bins above the window's Nyquist
        frequency (``k > window_length // 2``) are zero before normalization; the
        official code zero-pads likewise when a window has too few bins (it would also
        have kept mirrored negative-frequency bins, which this function never does).

    Warns
    -----
    UserWarning
        When some of the ``n_freqs`` bins lie above Nyquist.
    """
    params = FeatureParams() if params is None else params
    data = np.asarray(data) if not hasattr(data, "shape") else data
    if data.ndim != 2:
        raise ValueError(
            f"data must be 2-D (n_channels, n_samples), got shape {data.shape}"
        )
    n_channels, n_samples = data.shape
    length = int(window_length)
    starts = np.asarray(window_starts, dtype=np.int64).ravel()
    if length < 2:
        raise ValueError(f"window_length must be >= 2 samples, got {window_length}")
    if starts.size and (starts.min() < 0 or starts.max() + length > n_samples):
        raise ValueError(
            f"window_starts must lie in [0, {n_samples - length}] for {n_samples} "
            f"samples and windows of {length}; found [{starts.min()}, {starts.max()}]"
        )
    k0 = 1 if params.drop_dc else 0
    n_bins = length // 2 + 1  # rfft bins 0 .. length // 2
    n_valid = max(0, min(params.n_freqs, n_bins - k0))
    if n_valid < params.n_freqs:
        warnings.warn(
            f"n_freqs={params.n_freqs} asks for bins up to "
            f"{(params.n_freqs - 1 + k0) * float(sfreq) / length:.1f} Hz but "
            f"windows of {length} samples at {float(sfreq):g} Hz stop at Nyquist "
            f"({float(sfreq) / 2:g} Hz, bin {length // 2}); the "
            f"{params.n_freqs - n_valid} bins above it are zero",
            UserWarning,
            stacklevel=2,
        )
    n_windows = starts.size
    out = np.zeros((n_windows, n_channels, params.n_freqs), dtype=np.float32)
    taper = None
    if params.window not in ("boxcar", "rect", "rectangular", "ones"):
        taper = scipy.signal.get_window(params.window, length, fftbins=True).astype(
            np.float32
        )
    # blocks of at most _BLOCK_BYTES and a quarter of the run: peak memory stays well
    # below the raw signal's size (buffer + complex FFT of one block + the output)
    per_window = 4 * n_channels * length
    block = max(1, min(-(-n_windows // 4), _BLOCK_BYTES // max(1, per_window)))
    buf = np.empty((block, n_channels, length), dtype=np.float32)
    for b0 in range(0, n_windows, block):
        nb = min(block, n_windows - b0)
        for j in range(nb):
            s = starts[b0 + j]
            buf[j] = data[:, s : s + length]
        if taper is not None:
            buf[:nb] *= taper
        spec = scipy.fft.rfft(buf[:nb], axis=-1, workers=-1)
        mag = np.abs(spec[..., k0 : k0 + n_valid])
        del spec
        if params.log_magnitude:
            np.log(np.maximum(mag, np.finfo(np.float32).tiny), out=mag)
        out[b0 : b0 + nb, :, :n_valid] = mag
        if params.normalization == "zscore_electrodes":
            _zscore(out[b0 : b0 + nb], axis=1)
    del buf
    if params.normalization == "zscore_channels" and n_windows:
        for c in range(n_channels):
            _zscore(out[:, c, :], axis=0)
    if n_windows and not np.isfinite(out).all():
        raise DataError(
            "EEG spectra contain NaN or infinite values: the signal has NaN/inf "
            "samples inside the TR windows"
        )
    return out


def compute_run_spectra(data, sfreq, onsets, tr, params=None):
    """Window grid and spectra of one run.

    Parameters
    ----------
    data : array-like, shape (n_channels, n_samples)
        EEG signal.
    sfreq : float
        Sampling frequency in Hz.
    onsets : array-like of float, shape (n_volumes,)
        Volume onsets in seconds from the first EEG sample.
    tr : float
        Repetition time in seconds.
    params : FeatureParams, optional

    Returns
    -------
    spectra : np.ndarray of float32, shape (n_windows, n_channels, n_freqs)
    grid : WindowGrid
        Row ``i`` of ``spectra`` is window ``grid.first_window + i``.
    """
    params = FeatureParams() if params is None else params
    grid = make_window_grid(onsets, sfreq, tr, np.shape(data)[-1], params)
    spectra = compute_window_spectra(
        data, sfreq, grid.starts, grid.window_length, params
    )
    return spectra, grid
