"""Pulse (ballistocardiogram) artifact: R peaks on the ECG channel, then subtraction.

- :func:`find_r_peaks`: band-pass 5-25 Hz, squared slope integrated over 0.1 s
  (Pan-Tompkins), peaks above 30 % of the 99th percentile at least ``min_rr`` apart,
  each refined to the extremum of the band-passed ECG (its polarity found from the
  data: in the scanner the R wave is often inverted).
- :func:`remove_pulse_artifact`: heartbeat epochs from ``0.15 RR`` before to ``1.0 RR``
  after each R peak (``RR`` = median interval). Each epoch's template is the mean of
  the ``window`` nearest beats (itself excluded); ``method="spatial"`` adds the fit
  of the mean artifact's leading spatio-temporal patterns to each beat,
  ``method="obs"`` the principal components of each channel's residual epochs (the
  optimal basis set of Niazy et al. 2005). Each sample is corrected by the epoch of
  the last R peak at most ``0.15 RR`` after it.
"""

import numpy as np

from .._utils.logging import logger
from ..exceptions import DataError
from .ecg import find_ecg_channel, find_r_peaks

__all__ = [
    "find_r_peaks",
    "remove_pulse_artifact",
    "correct_pulse",
    "find_ecg_channel",
    "PULSE_METHODS",
]

PULSE_METHODS = ("average", "spatial", "obs")


def remove_pulse_artifact(
    data, sfreq, peaks, *, rows=None, method="average", n_components=3, window=21
):
    """Subtract the pulse artifact locked to ``peaks`` (returns a new array).

    Parameters
    ----------
    data : ndarray of shape (n_channels, n_samples)
        Not modified.
    sfreq : float
    peaks : ndarray of shape (n_beats,)
        R-peak samples.
    rows : sequence of int, optional
        Channels to correct (default: all).
    method : {"average", "spatial", "obs"}, default="average"
        ``"average"``: the moving average template of each channel.
        ``"spatial"``: the ``n_components`` leading spatio-temporal patterns
        (channels x time, SVD) of the mean artifact over all beats, fitted to each
        beat over all channels at once (the template holds almost no EEG, which
        spreads over many patterns); it assumes an artifact of few sources whose
        shapes do not change (only their amplitudes). ``"obs"``: the moving
        average plus, per channel, the principal components of the residual
        epochs (Niazy et al. 2005); when the artifact varies little between beats
        these components fit EEG. Measured on the ``inscanner`` simulation
        (``benchmarks/bench_artifacts.py``).
    n_components : int, default=3
        Patterns or principal components.
    window : int, default=21
        Beats averaged into each template (the beat itself excluded).

    Returns
    -------
    corrected : ndarray of shape (n_channels, n_samples) float32

    Raises
    ------
    ValueError
        Unknown method, or fewer than ``window + 1`` beats.
    """
    if method not in PULSE_METHODS:
        raise ValueError(f"method must be one of {PULSE_METHODS}, got {method!r}")
    peaks = np.asarray(peaks, dtype=np.int64)
    window = int(window)
    if peaks.size < window + 1:
        raise ValueError(
            f"{peaks.size} heartbeats are too few for a template of {window} beats "
            f"(need at least {window + 1})"
        )
    out = np.array(data, dtype=np.float32)
    rows = np.arange(out.shape[0]) if rows is None else np.asarray(rows, dtype=int)
    n_samples = out.shape[1]
    rr = float(np.median(np.diff(peaks)))
    pre = int(round(0.15 * rr))
    length = pre + int(round(1.0 * rr))
    starts = peaks - pre
    idx = np.clip(starts[:, None] + np.arange(length)[None], 0, n_samples - 1)
    # samples owned by each beat: up to the next beat's epoch start
    ends = np.minimum(np.r_[starts[1:], starts[-1] + length], starts + length)
    lens = np.maximum(ends - starts, 0)
    pos = np.concatenate([s + np.arange(n) for s, n in zip(starts, lens, strict=True)])
    ep = np.repeat(np.arange(peaks.size), lens)
    jj = pos - starts[ep]
    ok = (pos >= 0) & (pos < n_samples)
    pos, ep, jj = pos[ok], ep[ok], jj[ok]
    half = window // 2
    n = peaks.size
    lo = np.clip(np.arange(n) - half, 0, n - window - 1)
    hi = lo + window + 1
    epochs = out[rows][:, idx].astype(np.float64)  # (C, n_beats, length)
    if method == "spatial":
        # leading spatio-temporal patterns (channels x time) of the mean artifact
        # over all beats, fitted to each beat over all channels at once
        u, _, vt = np.linalg.svd(epochs.mean(1), full_matrices=False)
        k = max(1, min(int(n_components), u.shape[1]))
        u, vt = u[:, :k], vt[:k]
        beta = np.einsum("cnl,cj,jl->nj", epochs, u, vt, optimize=True)
        template = np.einsum("nj,cj,jl->cnl", beta, u, vt, optimize=True)
        del epochs
    else:
        csum = np.zeros((rows.size, n + 1, length))
        np.cumsum(epochs, axis=1, out=csum[:, 1:])
        template = (csum[:, hi] - csum[:, lo] - epochs) / window
        del csum
        if method == "obs" and n_components > 0:
            from .provenance import one_blas_thread as _one_blas_thread

            with _one_blas_thread():  # small products: threads only contend
                for c in range(rows.size):
                    r = epochs[c] - template[c]
                    r -= r.mean(1, keepdims=True)
                    _, vecs = np.linalg.eigh(r.T @ r)
                    basis = vecs[:, -int(n_components) :]
                    template[c] += (r @ basis) @ basis.T
        del epochs
    for i, r in enumerate(rows):
        out[r, pos] -= template[i, ep, jj].astype(np.float32)
    return out


def correct_pulse(
    raw,
    *,
    ecg_channel="auto",
    method="average",
    n_components=3,
    window=21,
    force=False,
    run_label=None,
):
    """Remove the pulse artifact from a (gradient-corrected) EEG recording.

    Parameters
    ----------
    raw : mne.io.BaseRaw
        Preloaded; not modified. Gradient-corrected first if recorded in the
        scanner.
    ecg_channel : str, default="auto"
        See :func:`find_ecg_channel`.
    method, n_components, window
        See :func:`remove_pulse_artifact`.
    force : bool, default=False
        Correct even a recording whose eeg2fmri provenance says it was corrected,
        or whose heartbeat-locked power is below the detection threshold.
    run_label : str, optional
        Name of the run in messages.

    Returns
    -------
    corrected : mne.io.BaseRaw
        A copy with the EEG channels corrected (the ECG channel kept),
        ``Pulse Artifact/R`` annotations at the R peaks if the recording had none,
        and the provenance (``correction_provenance(corrected)["pulse"]``).

    Raises
    ------
    DataError
        No ECG channel, or too few heartbeats for a template.
    """
    from ..bids.markers import _describe
    from .provenance import _with_provenance, correction_provenance

    label = _describe(raw, run_label)
    provenance = correction_provenance(raw)
    if "pulse" in provenance and not force:
        logger.info("%s: pulse artifact already corrected by eeg2fmri; skipped", label)
        return raw.copy()
    ecg = find_ecg_channel(raw, ecg_channel)
    if ecg is None:
        raise DataError(
            f"{label}: pulse artifact correction needs an ECG channel and the "
            f"recording has none (channel types: "
            f"{sorted(set(raw.get_channel_types()))}); name it with ecg_channel=, "
            "or correct the gradient artifact only"
        )
    if not force:
        from .detect import detect_pulse_artifact

        found = detect_pulse_artifact(raw, ecg_channel=ecg)
        if found.detected is False:
            logger.info(
                "%s: no pulse artifact detected (%s); returned unchanged "
                "(force=True corrects it anyway)",
                label,
                found.summary(),
            )
            return raw.copy()
    sfreq = float(raw.info["sfreq"])
    peaks = find_r_peaks(raw.get_data(picks=[ecg])[0], sfreq)
    rows = [
        i
        for i, kind in enumerate(raw.get_channel_types())
        if kind == "eeg" and raw.ch_names[i] != ecg
    ]
    try:
        corrected = remove_pulse_artifact(
            raw.get_data(),
            sfreq,
            peaks,
            rows=rows,
            method=method,
            n_components=n_components,
            window=window,
        )
    except ValueError as err:
        raise DataError(
            f"{label}: pulse correction on ECG channel {ecg!r}: {err}"
        ) from None
    out = raw.copy()
    out._data[:] = corrected
    if not any(str(d).endswith("/R") or d == "R" for d in raw.annotations.description):
        out.annotations.append(
            peaks / sfreq + out.first_time, 0.0, ["Pulse Artifact/R"] * peaks.size
        )
    provenance["pulse"] = {
        "method": {
            "average": "moving average",
            "spatial": "spatio-temporal patterns of the mean artifact",
            "obs": "moving average + optimal basis set",
        }[method],
        "ecg_channel": ecg,
        "n_beats": int(peaks.size),
        "mean_heart_rate_bpm": round(60.0 * sfreq / float(np.median(np.diff(peaks))), 2)
        if peaks.size > 1
        else None,
        "n_components": int(n_components) if method != "average" else 0,
        "window": int(window),
    }
    _with_provenance(out, provenance)
    logger.info("%s: pulse artifact removed (%d beats on %s)", label, peaks.size, ecg)
    return out
