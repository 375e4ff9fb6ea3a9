"""Volume onsets from the scanner triggers recorded in the EEG.

An MR-compatible EEG amplifier receives one trigger per volume from the scanner and
stores it as a marker: ``Response/R128`` or ``Stimulus/S128`` (BrainVision),
``Scanner/Scan Start`` (BrainVision Analyzer after gradient correction), ``Volume``,
``T``... The same file often also holds slice markers (spacing TR / n_slices) and
heart-beat markers (``Pulse Artifact/R``, irregular, about 1 s apart).
:func:`find_volume_onsets` reads the markers that are in the EEG file itself
(``raw.annotations``, never ``events.tsv``) and picks the volume trigger.

``marker="auto"`` keeps, among all annotation descriptions, those whose median spacing
is within ``tolerance`` of the TR and at least 75 % of whose intervals are (regular,
like a scanner; slice and heart-beat markers fail this). Exactly one such candidate is
used; several raise :class:`AlignmentError` listing them (pass ``marker=`` to choose).
When no description fits but one has a volume-trigger name (``R128``, ``S128``, ``Scan
Start``, ``Volume``, ``TR``, ``T``...) with a spacing of at least half a TR, the TR and
the triggers disagree: :class:`AlignmentError` naming the run, the measured spacing and
the TR.

Decisions:

- Onsets are annotation onsets in seconds from the first EEG sample, float64 (fractional
  sample positions are kept).
- Every interval between the kept triggers must be within ``tolerance`` of the TR; a
  missing trigger (a 2 TR gap) or a second scan recorded in the same EEG file is an
  error.
- More triggers than BOLD volumes (``n_volumes``): the first ``n_volumes`` are kept with
  a warning (``extra_triggers="first"``; the scanner started saving at the first trigger
  and the EEG recorded past the end of the run). Use ``"last"`` when dummy scans sent
  triggers but were not saved, or ``"error"``.
- Fewer triggers than volumes: :class:`AlignmentError` (no guessing of missing onsets).
- No trigger at all: onsets ``k * TR`` from EEG sample 0 with a WARNING and
  ``source="fallback"`` (``fallback=False`` makes it an error).
"""

import difflib
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._utils.logging import logger
from ..exceptions import AlignmentError

__all__ = [
    "VolumeOnsets",
    "find_volume_onsets",
    "check_eeg_covers",
    "annotation_onsets",
    "VOLUME_MARKER_NAMES",
]

#: Descriptions (after the last "/", case and spaces ignored) naming a volume trigger.
VOLUME_MARKER_NAMES = frozenset(
    {
        "r128",
        "s128",
        "t128",
        "scanstart",
        "volume",
        "vol",
        "volumestart",
        "tr",
        "t",
        "mri",
        "scanner",
        "scan",
    }
)
#: Fraction of intervals that must be within tolerance for "auto" to consider a marker.
_REGULAR_FRACTION = 0.75


@dataclass(frozen=True, eq=False)
class VolumeOnsets:
    """Onsets of the BOLD volumes on the EEG clock.

    Attributes
    ----------
    onsets : np.ndarray, shape (n_volumes,), float64
        Seconds from the first EEG sample.
    marker : str or None
        Annotation description used; None for the fallback.
    source : {"markers", "fallback"}
    tr : float
        Repetition time (s) the onsets were checked against.
    n_dropped : int
        Triggers found but not used (more triggers than volumes).
    """

    onsets: np.ndarray
    marker: str | None
    source: str
    tr: float
    n_dropped: int = 0

    def __len__(self):
        return len(self.onsets)


def _describe(raw, run_label):
    if run_label:
        return str(run_label)
    names = [f for f in getattr(raw, "filenames", ()) if f]
    return Path(names[0]).name if names else "the EEG recording"


def annotation_onsets(raw):
    """Onsets of each annotation description, in seconds from the first sample.

    Parameters
    ----------
    raw : mne.io.BaseRaw

    Returns
    -------
    onsets : dict of str -> np.ndarray
        Sorted float64 onsets per description (duplicates within half a sample removed).
    """
    ann = raw.annotations
    # mne keeps annotation onsets on the clock of the original first sample (or
    # meas_date), whether or not orig_time is set: subtract the current first time
    # (non-zero after raw.crop or for files whose first sample is not 0).
    onset = np.asarray(ann.onset, dtype=np.float64) - raw.first_time
    out = {}
    half = 0.5 / raw.info["sfreq"]
    for desc in dict.fromkeys(ann.description):
        t = np.sort(onset[ann.description == desc])
        if t.size > 1:
            t = t[np.concatenate([[True], np.diff(t) > half])]
        out[str(desc)] = t
    return out


def _norm_name(desc):
    return re.sub(r"\s+", "", desc.rsplit("/", 1)[-1]).lower()


def _stats(t):
    d = np.diff(t)
    return (
        (float(np.median(d)), float(d.min()), float(d.max()))
        if d.size
        else (float("nan"),) * 3
    )


def _fmt(desc, t):
    med, lo, hi = _stats(t)
    return (
        f"{desc!r} (n={t.size}, spacing median {med:.4f} s, range {lo:.4f}-{hi:.4f} s)"
    )


def _select_marker(groups, marker, tr, tol, label):
    """Return the description to use, or None when there is no volume trigger."""
    if marker != "auto":
        if marker in groups:
            return marker
        wanted = _norm_name(marker)
        hits = [
            d
            for d in groups
            if _norm_name(d) == wanted
            or re.sub(r"\s+", "", d).lower() == re.sub(r"\s+", "", marker).lower()
        ]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            raise AlignmentError(
                f"{label}: marker={marker!r} matches several annotations "
                f"({', '.join(map(repr, hits))}); give the full name"
            )
        short = {_norm_name(d): d for d in groups}
        close = difflib.get_close_matches(marker, list(groups), n=1, cutoff=0.5)
        close = close or [
            short[c]
            for c in difflib.get_close_matches(wanted, list(short), n=1, cutoff=0.5)
        ]
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        counts = ", ".join(f"{d!r} x{t.size}" for d, t in groups.items()) or "none"
        raise AlignmentError(
            f"{label}: no annotation {marker!r} in the EEG file{hint}; annotations: "
            f"{counts}"
        )

    candidates, misfits = [], []
    for desc, t in groups.items():
        if t.size < 2:
            continue
        d = np.diff(t)
        med = float(np.median(d))
        regular = np.mean(np.abs(d - tr) <= tol) >= _REGULAR_FRACTION
        if abs(med - tr) <= tol and regular:
            candidates.append(desc)
        elif _norm_name(desc) in VOLUME_MARKER_NAMES and med >= 0.5 * tr:
            misfits.append(desc)
    if len(candidates) == 1:
        logger.info(
            "%s: volume trigger auto-detected: %s",
            label,
            _fmt(candidates[0], groups[candidates[0]]),
        )
        return candidates[0]
    if len(candidates) > 1:
        listed = "; ".join(_fmt(c, groups[c]) for c in candidates)
        raise AlignmentError(
            f"{label}: several annotations could be the volume trigger at TR {tr:g} s: "
            f"{listed}; pass marker=<name>"
        )
    if misfits:
        listed = "; ".join(_fmt(c, groups[c]) for c in misfits)
        raise AlignmentError(
            f"{label}: volume trigger spacing does not match the TR {tr:g} s "
            f"(tolerance {tol:.3f} s): {listed}"
        )
    return None


def find_volume_onsets(
    raw,
    *,
    tr,
    marker="auto",
    n_volumes=None,
    tolerance=None,
    extra_triggers="first",
    fallback=True,
    run_label=None,
):
    """Find the onset of every BOLD volume on the EEG clock.

    Parameters
    ----------
    raw : mne.io.BaseRaw
        EEG with its own file markers in ``raw.annotations`` (see :func:`load_eeg`).
    tr : float
        Repetition time in seconds.
    marker : str, default "auto"
        Annotation description of the volume trigger. A short name matches the part
        after the type (``"R128"`` finds ``"Response/R128"``). ``"auto"``: detect
        (module doc).
    n_volumes : int, optional
        Number of BOLD volumes; checked against the trigger count. Also the number of
        fallback onsets (default: as many whole TRs as the EEG holds).
    tolerance : float, optional
        Allowed deviation of a trigger interval from the TR, in seconds. Default:
        ``max(0.02 * tr, 2 / sfreq)``.
    extra_triggers : {"first", "last", "error"}, default "first"
        What to keep when there are more triggers than ``n_volumes``.
    fallback : bool or "quiet", default True
        Without volume triggers, assume EEG sample 0 is the first volume (WARNING;
        ``"quiet"``: INFO, for EEG recorded without a scanner, where that is the
        expected timing); False raises AlignmentError instead.
    run_label : str, optional
        Name of the run for messages (default: the EEG file name).

    Returns
    -------
    onsets : VolumeOnsets
        ``.onsets`` (float64 s from the first sample), ``.marker``, ``.source``.

    Raises
    ------
    AlignmentError
        Unknown or ambiguous marker, trigger spacing that disagrees with the TR, fewer
        triggers than volumes, or no trigger with ``fallback=False``.
    """
    if not (isinstance(tr, (int, float, np.floating)) and np.isfinite(tr) and tr > 0):
        raise ValueError(f"tr must be a positive number of seconds, got {tr!r}")
    if extra_triggers not in ("first", "last", "error"):
        raise ValueError(
            f"extra_triggers must be 'first', 'last' or 'error', got {extra_triggers!r}"
        )
    if n_volumes is not None and (int(n_volumes) != n_volumes or n_volumes < 1):
        raise ValueError(f"n_volumes must be a positive integer, got {n_volumes!r}")
    if not isinstance(marker, str):
        raise TypeError(f"marker must be a string, got {type(marker).__name__}")
    tr = float(tr)
    sfreq = float(raw.info["sfreq"])
    tol = float(tolerance) if tolerance is not None else max(0.02 * tr, 2.0 / sfreq)
    label = _describe(raw, run_label)
    groups = annotation_onsets(raw)
    desc = _select_marker(groups, marker, tr, tol, label)

    if desc is None:
        duration = raw.n_times / sfreq
        n = (
            int(n_volumes)
            if n_volumes is not None
            else int(np.floor(duration / tr + 1e-9))
        )
        if not fallback:
            raise AlignmentError(
                f"{label}: no volume trigger among the EEG annotations "
                f"({', '.join(map(repr, groups)) or 'none'})"
            )
        log = logger.info if fallback == "quiet" else logger.warning
        log(
            "%s: no volume trigger among the EEG annotations (%s); assuming EEG sample "
            "0 is the first volume onset (TR %g s, %d volumes)",
            label,
            ", ".join(map(repr, groups)) or "none",
            tr,
            n,
        )
        return VolumeOnsets(np.arange(n, dtype=np.float64) * tr, None, "fallback", tr)

    t = groups[desc]
    n_dropped = 0
    if n_volumes is not None and t.size > n_volumes:
        n_dropped = t.size - int(n_volumes)
        if extra_triggers == "error":
            raise AlignmentError(
                f"{label}: {t.size} triggers {desc!r} but the BOLD run has {n_volumes} "
                "volumes"
            )
        logger.warning(
            "%s: %d triggers %r for %d BOLD volumes; using the %s %d",
            label,
            t.size,
            desc,
            n_volumes,
            extra_triggers,
            n_volumes,
        )
        t = t[: int(n_volumes)] if extra_triggers == "first" else t[-int(n_volumes) :]
    if n_volumes is not None and t.size < n_volumes:
        raise AlignmentError(
            f"{label}: only {t.size} triggers {desc!r} for a BOLD run of {n_volumes} "
            "volumes"
        )
    if t.size > 1:
        d = np.diff(t)
        worst = int(np.argmax(np.abs(d - tr)))
        if abs(d[worst] - tr) > tol:
            med, lo, hi = _stats(t)
            raise AlignmentError(
                f"{label}: trigger {desc!r} spacing (median {med:.4f} s, range "
                f"{lo:.4f}-{hi:.4f} s; "
                f"worst {d[worst]:.4f} s after trigger {worst}) does not match the TR "
                f"{tr:g} s (tolerance {tol:.3f} s)"
            )
    return VolumeOnsets(np.asarray(t, dtype=np.float64), desc, "markers", tr, n_dropped)


def check_eeg_covers(raw, onsets, tr, *, before=0.0, after=None, run_label=None):
    """Check that the EEG covers the BOLD run.

    Parameters
    ----------
    raw : mne.io.BaseRaw
    onsets : array-like or VolumeOnsets
        Volume onsets, seconds from the first EEG sample.
    tr : float
        Repetition time (s).
    before : float, default 0.0
        EEG needed before the first onset (s), e.g. the context length.
    after : float, optional
        EEG needed after the last onset (s); default one TR (the last volume's
        acquisition).
    run_label : str, optional
        Name of the run for messages.

    Raises
    ------
    AlignmentError
        The EEG starts too late or ends too early, naming the run and the times.
    """
    if isinstance(onsets, VolumeOnsets):
        onsets = onsets.onsets
    onsets = np.asarray(onsets, dtype=np.float64)
    if onsets.size == 0:
        raise AlignmentError(f"{_describe(raw, run_label)}: no volume onset to check")
    sfreq = float(raw.info["sfreq"])
    duration = raw.n_times / sfreq
    after = float(tr) if after is None else float(after)
    slack = 1.0 / sfreq
    label = _describe(raw, run_label)
    if onsets[0] - before < -slack:
        raise AlignmentError(
            f"{label}: EEG starts too late: first volume at {onsets[0]:.3f} s needs "
            f"{before:.3f} s of EEG before it"
        )
    end = onsets[-1] + after
    if end > duration + slack:
        covered = int(np.sum(onsets + after <= duration + slack))
        raise AlignmentError(
            f"{label}: EEG ({duration:.3f} s) is shorter than the BOLD run, which "
            f"needs EEG up to {end:.3f} s "
            f"({covered} of {onsets.size} volumes covered)"
        )
