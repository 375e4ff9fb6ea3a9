"""Artifact epochs from the scanner markers: volume triggers, slice markers, or both.

Gradient artifacts repeat at every slice (and so at every volume). The epochs used by
the average artifact subtraction start at:

1. the slice markers, when the file has them (``slice_marker="auto"`` finds a marker
   whose spacing divides the TR into ``k >= 2`` regular parts, ``k`` per volume);
2. else ``n_slices`` evenly spaced onsets per volume trigger (slices back to back, as
   with the ``SliceTiming`` of the BOLD sidecar), when ``n_slices`` is given;
3. else the volume triggers themselves (one epoch per TR).

Missing, irregular or too few volume markers raise
:class:`~eeg2fmri.exceptions.AlignmentError` naming the run.
"""

from dataclasses import dataclass

import numpy as np

from ..bids.markers import (
    VOLUME_MARKER_NAMES,
    _describe,
    _norm_name,
    annotation_onsets,
    find_volume_onsets,
)
from ..exceptions import AlignmentError

__all__ = ["ArtifactEpochs", "find_artifact_epochs"]


@dataclass(frozen=True, eq=False)
class ArtifactEpochs:
    """Where the gradient artifact repeats.

    Attributes
    ----------
    onsets : ndarray of shape (n_epochs,) float64
        Epoch onsets in samples from the first EEG sample (fractional allowed).
    kind : {"slice", "volume"}
    volume_onsets : ndarray of shape (n_volumes,) float64
        Volume onsets in seconds.
    tr : float
    n_slices : int or None
        Epochs per volume in ``"slice"`` mode.
    volume_marker : str
    slice_marker : str or None
        The slice marker used, None when the onsets come from ``n_slices`` or the
        volumes.
    """

    onsets: np.ndarray
    kind: str
    volume_onsets: np.ndarray
    tr: float
    n_slices: int | None
    volume_marker: str
    slice_marker: str | None

    def __len__(self):
        return len(self.onsets)


def _pick_volume_marker(groups, label):
    named = {
        d: t
        for d, t in groups.items()
        if _norm_name(d) in VOLUME_MARKER_NAMES and t.size >= 2
    }
    if not named:
        listed = ", ".join(f"{d!r} x{t.size}" for d, t in groups.items()) or "none"
        raise AlignmentError(
            f"{label}: no volume markers (R128, S128, Scan Start, Volume...) in the "
            f"EEG file (annotations: {listed}); gradient correction needs them: pass "
            "volume_marker=<name> or tr"
        )
    # the most frequent name whose spacing is at least 0.2 s (slice markers are not)
    slow = {d: t for d, t in named.items() if np.median(np.diff(t)) >= 0.2}
    pool = slow or named
    return max(pool, key=lambda d: pool[d].size)


def _slice_marker(groups, volume_marker, vol, tr, sfreq, slice_marker, label):
    if slice_marker is None:
        return None, None
    if slice_marker != "auto":
        if slice_marker not in groups:
            raise AlignmentError(
                f"{label}: no annotation {slice_marker!r} in the EEG file (slice "
                f"marker); annotations: {', '.join(map(repr, groups))}"
            )
        cands = [slice_marker]
    else:
        cands = [d for d in groups if d != volume_marker and groups[d].size > vol.size]
    tol = max(2.0 / sfreq, 1e-3 * tr)
    for desc in cands:
        t = groups[desc]
        t = t[(t >= vol[0] - tol) & (t < vol[-1] + tr - tol)]
        if t.size < 2:
            continue
        med = float(np.median(np.diff(t)))
        k = int(round(tr / med)) if med > 0 else 0
        if k < 2 or abs(k * med - tr) > k * tol:
            if slice_marker != "auto":
                raise AlignmentError(
                    f"{label}: slice marker {desc!r} spacing {med:.5f} s does not "
                    f"divide the TR {tr:g} s"
                )
            continue
        per_volume = np.histogram(t, bins=np.r_[vol, vol[-1] + tr] - tol)[0]
        if np.any(per_volume != k):
            bad = int(np.flatnonzero(per_volume != k)[0])
            raise AlignmentError(
                f"{label}: irregular slice markers {desc!r}: volume {bad} holds "
                f"{per_volume[bad]} of them, expected {k}"
            )
        return desc, t
    return None, None


def find_artifact_epochs(
    raw,
    *,
    tr=None,
    volume_marker="auto",
    slice_marker="auto",
    n_slices=None,
    run_label=None,
):
    """Onsets of the gradient-artifact epochs of an in-scanner EEG recording.

    Parameters
    ----------
    raw : mne.io.BaseRaw
        With the file's markers in ``raw.annotations``.
    tr : float, optional
        Repetition time in seconds; default: the median spacing of the volume
        markers.
    volume_marker : str, default="auto"
        Annotation of the volume trigger; ``"auto"`` takes the most frequent
        annotation with a volume-trigger name (``R128``, ``Scan Start``...).
    slice_marker : str or None, default="auto"
        Annotation of the slice markers; ``"auto"`` detects them, None ignores them.
    n_slices : int, optional
        Slices per volume, acquired back to back, when there are no slice markers.
    run_label : str, optional
        Name of the run in messages.

    Returns
    -------
    epochs : ArtifactEpochs

    Raises
    ------
    AlignmentError
        No volume marker, irregular volume or slice markers, fewer than 2 volumes.
    """
    label = _describe(raw, run_label)
    sfreq = float(raw.info["sfreq"])
    groups = annotation_onsets(raw)
    if volume_marker == "auto":
        volume_marker = _pick_volume_marker(groups, label)
    elif volume_marker not in groups:
        raise AlignmentError(
            f"{label}: no volume marker {volume_marker!r} in the EEG file; "
            f"annotations: {', '.join(map(repr, groups)) or 'none'}"
        )
    if tr is None:
        t = groups[volume_marker]
        if t.size < 2:
            raise AlignmentError(
                f"{label}: only {t.size} volume marker {volume_marker!r}; gradient "
                "correction needs one per volume"
            )
        tr = float(np.median(np.diff(t)))
    found = find_volume_onsets(
        raw, tr=tr, marker=volume_marker, fallback=False, run_label=label
    )
    vol = np.asarray(found.onsets, dtype=np.float64)
    if vol.size < 2:
        raise AlignmentError(
            f"{label}: only {vol.size} volume marker {volume_marker!r}; gradient "
            "correction needs one per volume"
        )
    desc, t = _slice_marker(
        groups, found.marker, vol, float(tr), sfreq, slice_marker, label
    )
    if desc is not None:
        k = int(round(t.size / vol.size))
        return ArtifactEpochs(t * sfreq, "slice", vol, float(tr), k, found.marker, desc)
    if n_slices is not None:
        n_slices = int(n_slices)
        if n_slices < 1:
            raise ValueError(f"n_slices must be a positive integer, got {n_slices}")
        onsets = (vol[:, None] + np.arange(n_slices)[None] * tr / n_slices).ravel()
        kind = "slice" if n_slices > 1 else "volume"
        return ArtifactEpochs(
            onsets * sfreq, kind, vol, float(tr), n_slices, found.marker, None
        )
    return ArtifactEpochs(vol * sfreq, "volume", vol, float(tr), 1, found.marker, None)
