"""Corrected EEG as a BIDS-Derivatives dataset (BrainVision), reused as a cache.

Layout, under ``root`` (e.g. ``<work_dir>/eeg_corrected``)::

    dataset_description.json          DatasetType "derivative", GeneratedBy eeg2fmri
    sub-01/eeg/sub-01_task-rest_desc-gradientpulse_eeg.vhdr / .vmrk / .eeg
    sub-01/eeg/sub-01_task-rest_desc-gradientpulse_eeg.json

The sidecar holds ``SamplingFrequency``, ``Sources`` (the raw file), the corrections'
provenance, and the identity of the raw files (path, size, modification time) and of
the options: a later call with the same raw files and options reads the corrected
file instead of correcting again. The sidecar is written last, so an interrupted
write is never mistaken for a complete one. Such a folder can also be given to the
BIDS-App as ``--eeg-derivatives``.
"""

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np

from .._utils.io import write_json_atomic
from .._utils.logging import logger
from .._version import __version__
from ..bids.brainvision import write_brainvision

__all__ = [
    "corrected_eeg_path",
    "write_corrected_eeg",
    "cached_correction",
    "read_correction_sidecar",
]


def _desc(correction):
    return "".join(ch for ch in correction if ch.isalnum())


def corrected_eeg_path(root, eeg_path, correction):
    """Path of the corrected recording of ``eeg_path`` under ``root``.

    Parameters
    ----------
    root : str or Path
        Derivative dataset root.
    eeg_path : str or Path
        Raw EEG file inside a BIDS dataset (``.../sub-XX/[ses-YY/]eeg/*_eeg.ext``).
    correction : str
        ``"gradient"`` or ``"gradient+pulse"``; becomes the ``desc-`` label
        (``gradient``, ``gradientpulse``).

    Returns
    -------
    path : pathlib.Path
        ``root/sub-XX/[ses-YY/]eeg/<entities>_desc-<label>_eeg.vhdr``.
    """
    eeg_path = Path(eeg_path)
    parts = eeg_path.parts
    start = next(
        (i for i in range(len(parts) - 2, -1, -1) if parts[i].startswith("sub-")),
        None,
    )
    rel = Path(*parts[start:-1]) if start is not None else Path()
    stem = eeg_path.name.rsplit("_eeg.", 1)[0]
    return Path(root) / rel / f"{stem}_desc-{_desc(correction)}_eeg.vhdr"


def _identity(eeg_path):
    from ..bids.files import eeg_recording_files, file_identity

    return [file_identity(p) for p in eeg_recording_files(eeg_path)]


def _markers(raw):
    """``(type, description, 0-based sample)`` of the annotations of ``raw``."""
    sfreq = raw.info["sfreq"]
    onsets = np.asarray(raw.annotations.onset) - raw.first_time
    markers = []
    for onset, desc in zip(onsets, raw.annotations.description, strict=True):
        kind, _, text = str(desc).rpartition("/")
        markers.append((kind or "Comment", text, int(round(onset * sfreq))))
    return markers


def _write_description(root):
    desc = Path(root) / "dataset_description.json"
    if desc.is_file():
        return
    write_json_atomic(
        desc,
        {
            "Name": "eeg2fmri: EEG corrected for MR gradient and pulse artifacts",
            "BIDSVersion": "1.10.0",
            "DatasetType": "derivative",
            "GeneratedBy": [
                {
                    "Name": "eeg2fmri",
                    "Version": __version__,
                    "Description": "eeg2fmri.artifacts: average artifact subtraction "
                    "of the gradient artifact, R-peak-locked pulse artifact "
                    "subtraction",
                }
            ],
        },
    )


def write_corrected_eeg(
    raw, path, *, source, provenance, identity=None, options=None, qc=None
):
    """Write a corrected recording as BrainVision with its sidecar (atomically).

    Parameters
    ----------
    raw : mne.io.BaseRaw
        The corrected recording (float32 µV on disk).
    path : str or Path
        ``.vhdr`` path (see :func:`corrected_eeg_path`).
    source : str
        The raw file, as written in ``Sources`` (e.g. a ``bids:raw:`` URI or path).
    provenance : dict
        :func:`~eeg2fmri.artifacts.correction_provenance` of ``raw``.
    identity : list, optional
        Identity of the raw files, for the cache.
    options : dict, optional
        Options of the correction, for the cache.
    qc : dict, optional
        :func:`~eeg2fmri.artifacts.qc.correction_qc` numbers and spectra.

    Returns
    -------
    path : pathlib.Path
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    stem = path.name[: -len(".vhdr")]
    with tempfile.TemporaryDirectory(prefix=".eeg2fmri-", dir=path.parent) as tmp:
        write_brainvision(
            tmp,
            stem,
            raw.get_data(),
            sfreq=raw.info["sfreq"],
            ch_names=raw.ch_names,
            markers=_markers(raw),
        )
        for ext in (".eeg", ".vmrk", ".vhdr"):
            shutil.move(str(Path(tmp) / f"{stem}{ext}"), path.with_suffix(ext))
    write_json_atomic(
        path.with_suffix(".json"),
        {
            "Description": "EEG corrected for the MR scanner artifacts by eeg2fmri",
            "SamplingFrequency": raw.info["sfreq"],
            "RecordingDuration": round(raw.n_times / raw.info["sfreq"], 6),
            "Sources": [source],
            "SoftwareFilters": {
                step: dict(values) for step, values in provenance.items()
            },
            "eeg2fmri": {
                "version": __version__,
                "source_identity": identity,
                "options": options,
                "qc": qc,
            },
        },
    )
    return path


def cached_correction(
    eeg_path, root, correction, correct, *, options=None, raw=None, tr=None, onsets=None
):
    """The corrected recording of ``eeg_path``: read from ``root`` or made and written.

    Parameters
    ----------
    eeg_path : str or Path
        Raw EEG file.
    root : str or Path
        Derivative dataset root used as the cache.
    correction : str
        ``"gradient"`` or ``"gradient+pulse"``.
    correct : callable
        ``correct() -> mne.io.BaseRaw``: the correction, called on a cache miss.
    options : dict, optional
        JSON-serialisable options; part of the cache identity.
    raw : mne.io.BaseRaw, optional
        The raw recording: with ``tr``, quality-control numbers and spectra
        (:func:`~eeg2fmri.artifacts.qc.correction_qc`) go into the sidecar.
    tr : float, optional
    onsets : ndarray of shape (n_volumes,), optional
        Volume onsets (s) for the quality control.

    Returns
    -------
    raw : mne.io.BaseRaw
    """
    from ..bids import load_eeg
    from .provenance import _with_provenance, correction_provenance

    path = corrected_eeg_path(root, eeg_path, correction)
    sidecar = path.with_suffix(".json")
    identity = _identity(eeg_path)
    options = json.loads(json.dumps({"correction": correction, **(options or {})}))
    if sidecar.is_file():
        try:
            meta = json.loads(sidecar.read_text(encoding="utf-8"))
            mine = meta.get("eeg2fmri", {})
            if (
                mine.get("source_identity") == identity
                and mine.get("options") == options
            ):
                raw = load_eeg(path, picks="all", channels_tsv=None)
                _with_provenance(raw, meta.get("SoftwareFilters", {}))
                logger.info("%s: corrected EEG read from %s", Path(eeg_path).name, path)
                return raw
        except (OSError, ValueError) as err:
            logger.warning("ignoring the corrected-EEG cache %s (%s)", path, err)
    source_raw = raw
    raw = correct()
    if correction_provenance(raw):  # corrected (not returned as clean)
        qc = None
        if source_raw is not None and tr is not None:
            from .qc import correction_qc

            qc = correction_qc(source_raw, raw, tr=tr, onsets=onsets)
        _write_description(root)
        write_corrected_eeg(
            raw,
            path,
            source=str(Path(eeg_path).resolve()),
            provenance=correction_provenance(raw),
            identity=identity,
            options=options,
            qc=qc,
        )
        logger.info("%s: corrected EEG written to %s", Path(eeg_path).name, path)
    return raw


def read_correction_sidecar(root, eeg_path, correction):
    """The sidecar of the corrected recording of ``eeg_path`` under ``root``, or None.

    Returns
    -------
    sidecar : dict or None
        With ``SoftwareFilters`` (the steps' parameters) and ``eeg2fmri.qc``.
    """
    path = corrected_eeg_path(root, eeg_path, correction).with_suffix(".json")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
