"""Gradient artifact correction: average artifact subtraction (AAS) as in FASTR.

Steps, channel chunk by channel chunk (the input is never modified):

1. **Sub-sample alignment.** The epochs start at the slice (or volume) markers,
   which are rounded to a sample while the scanner clock is not the amplifier's. On
   the channel with the largest artifact, each epoch's delay against the average
   epoch is found to 1/50 sample (cross-spectrum, grid search then parabola), twice.
   Epochs are then evaluated at their true onsets with a Kaiser-windowed sinc
   fractional-delay filter (16 taps).
2. **Moving template.** The template of epoch ``k`` is the mean of the ``window``
   nearest aligned epochs, epoch ``k`` itself excluded (so that its own EEG is not
   subtracted), which follows slow changes of the artifact (head motion, drift).
3. **Optional residual removal** (``obs_components > 0``, after FASTR's optimal
   basis set): principal components of the aligned residuals above
   ``obs_highpass`` Hz, where the artifact dominates; their scores regressed on the
   full-band residuals give full-band shapes, so that an amplitude change of the
   artifact is removed at every frequency. The fit is added to the template.
4. The template is shifted back to the epoch's own sub-sample onset and subtracted.
5. **Low-pass and down-sampling** to ``sfreq_out`` with a polyphase filter
   (:func:`scipy.signal.resample_poly`), then an optional zero-phase FIR low-pass.

Memory: besides the input, one float32 chunk of ``chunk_channels`` channels at full
rate and its epoch matrices (about 8 times the chunk), plus the down-sampled output.
"""

import time
from fractions import Fraction

import numpy as np
from scipy import signal

from .._utils.logging import logger
from ..exceptions import DataError
from ._shift import HALF_TAPS, fractional_kernels, gather_epochs, shift_rows
from .provenance import PROVENANCE_TAG, _with_provenance, correction_provenance
from .provenance import one_blas_thread as _one_blas_thread

__all__ = [
    "remove_gradient_artifact",
    "correct_gradient",
    "correction_provenance",
    "PROVENANCE_TAG",
]


def _estimate_delays(epochs, max_freq=0.45, n_iter=2):
    """Delay (samples) of each epoch against the mean epoch, (n,) float64.

    ``epochs[k](t) ~ reference(t - delay[k])``; the result is centred on its median.
    """
    n, length = epochs.shape
    spec = np.fft.rfft(epochs - epochs.mean(1, keepdims=True), axis=1)
    m = np.arange(spec.shape[1])
    keep = m / length < max_freq
    spec, m = spec[:, keep], m[keep]
    grid = np.linspace(-1.5, 1.5, 151)
    phase = np.exp(2j * np.pi * np.outer(m, grid) / length)  # (F, G)
    delays = np.zeros(n)
    for _ in range(n_iter):
        aligned = spec * np.exp(2j * np.pi * m[None] * delays[:, None] / length)
        ref = aligned.mean(0)
        score = ((spec * np.conj(ref)[None]) @ phase).real  # (n, G)
        best = np.clip(score.argmax(1), 1, grid.size - 2)
        rows = np.arange(n)
        y0, y1, y2 = score[rows, best - 1], score[rows, best], score[rows, best + 1]
        denom = y0 - 2 * y1 + y2
        frac = np.where(
            np.abs(denom) > 0, 0.5 * (y0 - y2) / np.where(denom, denom, 1), 0
        )
        delays = grid[best] + np.clip(frac, -1, 1) * (grid[1] - grid[0])
        delays -= np.median(delays)
    return delays


def _moving_mean_excluding_self(aligned, window, stride=1, pool=False):
    """Mean of the ``window`` nearest rows of axis 1, the row itself excluded.

    With ``stride > 1`` (slices per volume) the neighbours of a row are the rows
    ``stride`` apart: the same slice in the adjacent volumes; with ``pool`` every
    slice of the ``window`` nearest volumes.
    """
    if stride > 1 and pool:
        c, n, length = aligned.shape
        n_vol = n // stride
        per_volume = aligned.reshape(c, n_vol, stride, length).sum(2, dtype=np.float64)
        half = window // 2
        lo = np.clip(np.arange(n_vol) - half, 0, max(n_vol - window, 0))
        hi = np.minimum(lo + window, n_vol)
        csum = np.zeros((c, n_vol + 1, length))
        np.cumsum(per_volume, axis=1, out=csum[:, 1:])
        total = (csum[:, hi] - csum[:, lo])[:, :, None]  # (c, n_vol, 1, L)
        count = ((hi - lo) * stride - 1).astype(np.float64)[None, :, None, None]
        out = (total - aligned.reshape(c, n_vol, stride, length)) / count
        return out.reshape(c, n, length).astype(np.float32)
    if stride > 1:
        c, n, length = aligned.shape
        per_slice = aligned.reshape(c, n // stride, stride, length)
        per_slice = per_slice.transpose(0, 2, 1, 3).reshape(
            c * stride, n // stride, length
        )
        mean = _moving_mean_excluding_self(per_slice, window)
        mean = mean.reshape(c, stride, n // stride, length).transpose(0, 2, 1, 3)
        return np.ascontiguousarray(mean.reshape(c, n, length))
    n = aligned.shape[1]
    half = window // 2
    lo = np.clip(np.arange(n) - half, 0, max(n - window - 1, 0))
    hi = np.minimum(lo + window + 1, n)
    csum = np.zeros((aligned.shape[0], n + 1, aligned.shape[2]), dtype=np.float64)
    np.cumsum(aligned, axis=1, dtype=np.float64, out=csum[:, 1:])
    total = csum[:, hi] - csum[:, lo]
    total -= aligned
    return (total / (hi - lo - 1)[None, :, None]).astype(np.float32)


def _obs_fit(residual, n_components, highpass_bins):
    """Optimal-basis-set fit of the residual epochs, (c, n, L) float32.

    The principal components are found on the residuals above the high-pass (where
    the artifact dominates the EEG); their scores are then regressed on the
    full-band residuals, which gives each component's full-band shape (EEG, not
    correlated with the scores, averages out over the epochs). Components that do
    not stand out (:data:`OBS_MIN_RATIO`) are not fitted.
    """
    length = residual.shape[-1]
    t = np.linspace(-1, 1, length)
    # a cubic per epoch first: the low-frequency EEG of a short epoch leaks into
    # every Fourier bin of it (its edges do not meet), the cubic takes most of it
    basis, _ = np.linalg.qr(np.stack([t**d for d in range(4)], axis=1))  # (L, 4)
    fit = np.empty_like(residual, dtype=np.float32)
    with _one_blas_thread():
        for c in range(residual.shape[0]):
            high = residual[c] - (residual[c] @ basis) @ basis.T
            spec = np.fft.rfft(high, axis=-1)
            spec[..., :highpass_bins] = 0
            high = np.fft.irfft(spec, length, axis=-1)
            fit[c] = _obs_channel(high, residual[c], n_components)
    return fit


#: A residual component is fitted only when its variance exceeds this many times the
#: mean variance per dimension: on a channel whose high-passed residual is EEG, the
#: components would fit (and remove) EEG.
OBS_MIN_RATIO = 10.0


def _obs_channel(high, residual, n_components):
    """Fit of one channel's residual epochs (n, L) on its leading components."""
    n, length = high.shape
    if n < length:  # few long epochs (volumes): eigen-decompose the Gram matrix
        vals, vecs = np.linalg.eigh(high @ high.T)
    else:
        vals, vecs = np.linalg.eigh(high.T @ high)
    mean = max(vals.sum(), 1e-300) / min(n, length)
    k = int(np.sum(vals[-n_components:] > OBS_MIN_RATIO * mean))
    if k == 0:
        return 0.0
    if n < length:
        scores = vecs[:, -k:] * np.sqrt(np.maximum(vals[-k:], 0))
    else:
        scores = high @ vecs[:, -k:]  # (n, k)
    shapes, *_ = np.linalg.lstsq(scores, residual, rcond=None)  # (k, L)
    return scores @ shapes


def remove_gradient_artifact(
    data,
    sfreq,
    onsets,
    *,
    window=21,
    sfreq_out=250.0,
    lowpass=None,
    obs_components=0,
    obs_highpass=70.0,
    epochs_per_volume=1,
    template="all-slices",
    chunk_channels=4,
):
    """Average artifact subtraction on an array, then low-pass and down-sampling.

    Parameters
    ----------
    data : array-like of shape (n_channels, n_samples)
        EEG at the scanner sampling rate (any float dtype, a memory map works);
        not modified.
    sfreq : float
        Sampling frequency of ``data`` in Hz.
    onsets : array-like of shape (n_epochs,)
        Onsets of the artifact epochs (slices or volumes) in samples, sorted.
    window : int, default=21
        Epochs averaged into each epoch's template (the epoch itself excluded).
    epochs_per_volume : int, default=1
        With slice epochs, the number of slices per volume: the template of a slice
        averages the same slice of the ``window`` nearest volumes, rather than the
        nearest slices (whose average holds the EEG below about
        ``1 / (window * slice period)`` Hz and notches it around every slice
        harmonic). Needs ``len(onsets)`` to be a multiple of it.
    template : {"all-slices", "same-slice"}, default="all-slices"
        With ``epochs_per_volume > 1``: the template of a slice averages every
        slice of the ``window`` nearest volumes (``window * epochs_per_volume - 1``
        epochs: less EEG in the template) or only the same slice in them (follows
        slice-specific waveforms).
    sfreq_out : float or None, default=250.0
        Output sampling frequency; None keeps ``sfreq`` (no low-pass).
    lowpass : float, optional
        Extra zero-phase FIR low-pass (Hz) at the output rate.
    obs_components : int, default=0
        Principal components of the residual removed per epoch (0 = off).
    obs_highpass : float, default=70.0
        Residual frequencies (Hz) above which the components are estimated.
    chunk_channels : int, default=4
        Channels processed together (memory vs speed).

    Returns
    -------
    corrected : ndarray of shape (n_channels, n_out) float32
        ``n_out = ceil(n_samples * sfreq_out / sfreq)``.
    info : dict
        ``delays`` (samples, per epoch), ``epoch_length``, ``reference_channel``,
        ``window``, ``obs_components``, ``sfreq_out``, ``seconds``.

    Raises
    ------
    ValueError
        Fewer than ``window + 1`` epochs, epochs closer than the median spacing
        allows, or invalid parameters.
    """
    start_time = time.perf_counter()
    n_ch, n_samples = data.shape
    onsets = np.asarray(onsets, dtype=np.float64)
    window = int(window)
    if window < 2:
        raise ValueError(f"window must be an integer >= 2, got {window}")
    template_kind = template
    if template_kind not in ("all-slices", "same-slice"):
        raise ValueError(
            f"template must be 'all-slices' or 'same-slice', got {template_kind!r}"
        )
    stride = int(epochs_per_volume)
    if stride < 1 or onsets.size % stride:
        raise ValueError(
            f"epochs_per_volume={epochs_per_volume!r} does not divide the "
            f"{onsets.size} epochs"
        )
    if onsets.size // stride < window + 1:
        raise ValueError(
            f"{onsets.size // stride} volume markers are too few for a template of "
            f"{window} volumes (need at least {window + 1}; lower window=)"
        )
    spacing = np.diff(onsets)
    med = float(np.median(spacing))
    if np.any(spacing < med - max(2.0, 0.01 * med)):
        bad = int(np.argmin(spacing))
        raise ValueError(
            f"irregular artifact markers: {spacing[bad]:.1f} samples between epochs "
            f"{bad} and {bad + 1}, median spacing {med:.1f}"
        )
    if sfreq_out is not None and not 0 < sfreq_out <= sfreq:
        raise ValueError(
            f"sfreq_out must be in (0, {sfreq:g}] Hz or None, got {sfreq_out!r}"
        )
    obs_components = int(obs_components)
    length = int(np.floor(min(spacing.min(), med))) + 1  # covers fractional spacing
    starts = np.floor(onsets).astype(np.int64)

    # 1. delays on the channel with the largest artifact
    stop = min(n_samples, int(starts[-1] + length))
    step = max(1, (stop - starts[0]) // 200_000)
    rms = np.sqrt(
        np.mean(np.square(np.asarray(data[:, starts[0] : stop : step], np.float64)), 1)
    )
    ref = int(np.argmax(rms))
    ref_epochs = gather_epochs(data[ref : ref + 1], starts, length)[0]
    delays = _estimate_delays(ref_epochs.astype(np.float64))
    shift_int = np.round(delays).astype(np.int64)
    frac = (delays - shift_int).astype(np.float64)
    k_align = fractional_kernels(frac)
    k_back = fractional_kernels(-frac)
    half = HALF_TAPS
    margin = half + 2
    ext = length + 2 * margin
    row_starts = starts + shift_int - margin - (half - 1)
    # back-shift: rows of the aligned frame starting at margin - shift_int - (half-1)
    back_idx = (margin - shift_int - (half - 1))[:, None] + np.arange(
        length + 2 * half - 1
    )[None]
    # which samples each epoch corrects
    lens = np.minimum(np.r_[np.diff(starts), int(round(med))], length)
    pos = np.concatenate([s + np.arange(n) for s, n in zip(starts, lens, strict=True)])
    ep = np.repeat(np.arange(starts.size), lens)
    jj = pos - starts[ep]
    inside = (pos >= 0) & (pos < n_samples)
    pos, ep, jj = pos[inside], ep[inside], jj[inside]
    highpass_bins = int(np.ceil(obs_highpass * ext / sfreq))

    if sfreq_out is None:
        up = down = 1
        n_out = n_samples
    else:
        ratio = Fraction(float(sfreq_out) / float(sfreq)).limit_denominator(1000)
        up, down = ratio.numerator, ratio.denominator
        n_out = int(np.ceil(n_samples * up / down))
    out = np.empty((n_ch, n_out), dtype=np.float32)
    for lo in range(0, n_ch, int(chunk_channels)):
        hi = min(lo + int(chunk_channels), n_ch)
        chunk = np.array(data[lo:hi], dtype=np.float32)
        rows = gather_epochs(chunk, row_starts, ext + 2 * half - 1)
        aligned = shift_rows(rows, k_align, ext)  # (c, n, ext)
        del rows
        template = _moving_mean_excluding_self(
            aligned, window, stride, pool=template_kind == "all-slices"
        )
        if obs_components > 0:
            template += _obs_fit(aligned - template, obs_components, highpass_bins)
        del aligned
        back_rows = np.take_along_axis(template, back_idx[None], axis=2)
        del template
        correction = shift_rows(back_rows, k_back, length)  # (c, n, length)
        del back_rows
        chunk[:, pos] -= correction[:, ep, jj]
        del correction
        if up == down == 1:
            out[lo:hi] = chunk
        else:
            res = signal.resample_poly(chunk, up, down, axis=-1)
            out[lo:hi] = res[:, :n_out]
        del chunk
    if lowpass is not None:
        fs_out = sfreq if sfreq_out is None else float(sfreq_out)
        if not 0 < lowpass < fs_out / 2:
            raise ValueError(
                f"lowpass must be in (0, {fs_out / 2:g}) Hz, got {lowpass}"
            )
        numtaps = int(3.3 * fs_out / max(min(lowpass * 0.25, 10.0), 1.0)) | 1
        taps = signal.firwin(numtaps, lowpass, fs=fs_out).astype(np.float32)
        for lo in range(0, n_ch, 8):
            out[lo : lo + 8] = signal.oaconvolve(
                out[lo : lo + 8], taps[None], mode="same", axes=-1
            )
    info = {
        "epoch_length": length,
        "n_epochs": int(onsets.size),
        "reference_channel": ref,
        "delays": delays,
        "window": window,
        "epochs_per_volume": stride,
        "template": template_kind,
        "obs_components": obs_components,
        "sfreq_out": float(sfreq if sfreq_out is None else sfreq_out),
        "seconds": time.perf_counter() - start_time,
    }
    return out, info


def correct_gradient(
    raw,
    *,
    tr=None,
    volume_marker="auto",
    slice_marker="auto",
    n_slices=None,
    window=21,
    sfreq_out=250.0,
    lowpass=None,
    obs_components=0,
    chunk_channels=4,
    force=False,
    run_label=None,
):
    """Remove the MR gradient artifact from an in-scanner EEG recording.

    Parameters
    ----------
    raw : mne.io.BaseRaw
        Preloaded recording at the scanner sampling rate, with its volume markers
        (and slice markers, if any) in ``raw.annotations``. Not modified.
    tr : float, optional
        Repetition time (s); default: the spacing of the volume markers.
    volume_marker, slice_marker, n_slices, run_label
        See :func:`~eeg2fmri.artifacts.find_artifact_epochs`.
    window, sfreq_out, lowpass, obs_components, chunk_channels
        See :func:`remove_gradient_artifact`.
    force : bool, default=False
        Correct even when the recording looks clean already (no gradient artifact
        detected, or eeg2fmri's provenance says it was corrected).

    Returns
    -------
    corrected : mne.io.RawArray
        New recording at ``sfreq_out`` with the same channels, types, bad channels
        and annotations; ``correction_provenance(corrected)["gradient"]`` holds the
        parameters. When the input looks clean and ``force`` is False, a copy of
        ``raw``, unchanged, is returned (and logged).

    Raises
    ------
    AlignmentError
        Missing or irregular volume/slice markers (naming the run).
    DataError
        Too few markers for a template.
    """
    import mne

    from ..bids.markers import _describe
    from .detect import detect_gradient_artifact
    from .triggers import find_artifact_epochs

    label = _describe(raw, run_label)
    if "gradient" in correction_provenance(raw) and not force:
        logger.info(
            "%s: gradient artifact already corrected by eeg2fmri; skipped", label
        )
        return raw.copy()
    epochs = find_artifact_epochs(
        raw,
        tr=tr,
        volume_marker=volume_marker,
        slice_marker=slice_marker,
        n_slices=n_slices,
        run_label=label,
    )
    if not force:
        found = detect_gradient_artifact(raw, tr=epochs.tr, onsets=epochs.volume_onsets)
        if not found.detected:
            logger.info(
                "%s: no gradient artifact detected (%s); the recording looks "
                "corrected already and is returned unchanged (force=True corrects "
                "it anyway)",
                label,
                found.summary(),
            )
            return raw.copy()
    sfreq = float(raw.info["sfreq"])
    data = raw._data if getattr(raw, "preload", False) else raw.get_data()
    try:
        corrected, info = remove_gradient_artifact(
            data,
            sfreq,
            epochs.onsets,
            window=window,
            sfreq_out=sfreq_out,
            lowpass=lowpass,
            obs_components=obs_components,
            epochs_per_volume=epochs.n_slices if epochs.kind == "slice" else 1,
            chunk_channels=chunk_channels,
        )
    except ValueError as err:
        raise DataError(f"{label}: gradient correction: {err}") from None
    new_info = raw.info.copy()
    with new_info._unlock():
        new_info["sfreq"] = info["sfreq_out"]
        if sfreq_out is not None:
            new_info["lowpass"] = min(new_info["lowpass"], info["sfreq_out"] / 2)
        if lowpass is not None:
            new_info["lowpass"] = min(new_info["lowpass"], float(lowpass))
    out = mne.io.RawArray(corrected, new_info, first_samp=0, verbose=False)
    onset = np.asarray(raw.annotations.onset) - raw.first_time
    out.set_annotations(
        mne.Annotations(
            onset=np.maximum(onset, 0.0),
            duration=raw.annotations.duration,
            description=raw.annotations.description,
        )
    )
    provenance = correction_provenance(raw)
    provenance["gradient"] = {
        "method": "average artifact subtraction (sub-sample aligned, moving template)",
        "epochs": epochs.kind,
        "n_epochs": int(len(epochs)),
        "volume_marker": epochs.volume_marker,
        "slice_marker": epochs.slice_marker,
        "n_slices": epochs.n_slices,
        "tr": epochs.tr,
        "window": int(window),
        "obs_components": int(obs_components),
        "sfreq_in": sfreq,
        "sfreq_out": info["sfreq_out"],
        "lowpass": lowpass,
        "max_abs_delay_samples": round(float(np.abs(info["delays"]).max()), 3),
    }
    _with_provenance(out, provenance)
    logger.info(
        "%s: gradient artifact removed (%d %s epochs, %.1f s)",
        label,
        len(epochs),
        epochs.kind,
        info["seconds"],
    )
    return out
