"""Load an EEG recording (BrainVision, EDF, BDF or EEGLAB) with its BIDS channel
information.

The file is read with mne's native readers, not ``mne_bids.read_raw_bids``: the latter
replaces the file's own markers with ``events.tsv`` when one exists, and the scanner
volume triggers usually live only in the file's markers (``.vmrk``, EDF+ annotations,
EEGLAB events). The native annotations are kept on ``raw.annotations``.

Real-world quirks and how they are handled:

- missing data file, 0-byte file, 0 samples -> :class:`MissingInputError` (file named);
- truncated file (fewer bytes than whole samples, markers after the end of the data, EDF
  header announcing more records than the file holds, EEGLAB sample count mismatch) ->
  :class:`DataError`, unless ``allow_truncated=True`` (then a warning);
- BrainVision header whose ``DataFile``/``MarkerFile`` names are stale (file renamed to
  its BIDS name without editing the header) -> the BIDS-named sibling, logged;
- ``channels.tsv`` next to the file (tab- or space-separated) sets channel types and bad
  channels; without it, channels named ECG/EKG and EOG get those types;
- NaN or infinite samples in a good picked channel -> :class:`DataError` naming the
  channels; in a channel marked bad they are set to 0 with a warning.
"""

import inspect
import re
import warnings
from pathlib import Path

import numpy as np

from .._utils.logging import logger
from ..exceptions import DataError, MissingInputError
from ._entities import entities_subset, parse_name, read_tsv
from .interop import as_file_path

__all__ = ["load_eeg", "BIDS_TO_MNE_TYPES"]

#: BIDS channels.tsv ``type`` -> mne channel type.
BIDS_TO_MNE_TYPES = {
    "EEG": "eeg",
    "ECG": "ecg",
    "EKG": "ecg",
    "EOG": "eog",
    "HEOG": "eog",
    "VEOG": "eog",
    "EMG": "emg",
    "TRIG": "stim",
    "MISC": "misc",
    "RESP": "resp",
    "GSR": "gsr",
    "TEMP": "temperature",
    "PPG": "bio",
    "REF": "eeg",
    "SYSCLOCK": "syst",
    "AUDIO": "misc",
    "EYEGAZE": "eyegaze",
    "PUPIL": "pupil",
}
_BV_BYTES = {
    "INT_16": 2,
    "UINT_16": 2,
    "INT_32": 4,
    "IEEE_FLOAT_32": 4,
    "IEEE_FLOAT_64": 8,
}
_ECG_NAME = re.compile(r"^(ECG|EKG)[ _-]?\d*$", re.IGNORECASE)
_EOG_NAME = re.compile(r"^(EOG|HEOG|VEOG)[ _-]?\w{0,3}$", re.IGNORECASE)
_TRUNCATION_HINTS = ("does not match the file size",)
_MARKER_POS = re.compile(r"^Mk\d+=[^,]*,[^,]*,\s*(\d+)", re.MULTILINE)


def _bv_header(vhdr):
    """Read the BrainVision header keys we check (DataFile, MarkerFile, layout).

    A light line parser: real headers carry free text after ``[Comment]`` that
    configparser rejects.
    """
    section, values = None, {}
    for line in vhdr.read_bytes().decode("latin-1").splitlines():
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
            if section.lower() == "comment":
                break
            continue
        if section and "=" in line and not line.startswith(";"):
            key, _, value = line.partition("=")
            values[(section, key.strip())] = value.strip()
    get = lambda sec, key: values.get((sec, key)) or None  # noqa: E731
    return {
        "data": get("Common Infos", "DataFile"),
        "marker": get("Common Infos", "MarkerFile"),
        "n_channels": get("Common Infos", "NumberOfChannels"),
        "format": get("Common Infos", "DataFormat"),
        "binary": get("Binary Infos", "BinaryFormat"),
    }


def _bv_overrides(vhdr):
    """Check a BrainVision triplet; return reader overrides for stale file names."""
    info = _bv_header(vhdr)
    overrides = {}
    stem = vhdr.with_suffix("")
    for key, option, default_ext in (
        ("data_fname", "data", ".eeg"),
        ("marker_fname", "marker", ".vmrk"),
    ):
        named = info[option]
        if named and (vhdr.parent / named).is_file():
            continue
        ext = Path(named).suffix if named else default_ext
        candidates = [
            stem.with_suffix(ext or default_ext),
            stem.with_suffix(default_ext),
        ]
        sibling = next((c for c in candidates if c.is_file()), None)
        if sibling is None:
            if option == "data":
                raise MissingInputError(
                    f"BrainVision data file of {vhdr} not found: header says "
                    f"DataFile={named!r} and no {stem.name}{default_ext} exists"
                )
            logger.warning(
                "%s: marker file %r not found; reading without markers", vhdr, named
            )
            overrides[key] = False
            continue
        logger.warning(
            "%s: header names %s=%r, which does not exist; using %s",
            vhdr,
            option,
            named,
            sibling.name,
        )
        overrides[key] = sibling.name
    data_file = vhdr.parent / overrides.get("data_fname", info["data"] or "")
    size = data_file.stat().st_size
    if size == 0:
        raise MissingInputError(f"EEG data file {data_file} is empty (0 bytes)")
    try:
        frame = int(info["n_channels"]) * _BV_BYTES[(info["binary"] or "").upper()]
    except (TypeError, ValueError, KeyError):
        frame = None
    truncated = None
    if frame and (info["format"] or "BINARY").upper() == "BINARY" and size % frame:
        truncated = f"{size} bytes is not a whole number of {frame}-byte samples"
    marker_file = (
        None
        if overrides.get("marker_fname") is False
        else vhdr.parent / overrides.get("marker_fname", info["marker"] or "")
    )
    return overrides, truncated, marker_file


def _last_marker_sample(vmrk):
    """Largest marker position (1-based samples) in a .vmrk file, or 0."""
    try:
        text = vmrk.read_bytes().decode("latin-1")
    except OSError:
        return 0
    return max((int(m) for m in _MARKER_POS.findall(text)), default=0)


def _read_with_overrides(vhdr, overrides, mne):
    if not overrides:
        return mne.io.read_raw_brainvision(vhdr, preload=True, verbose=False)
    if "overrides" in inspect.signature(mne.io.read_raw_brainvision).parameters:
        return mne.io.read_raw_brainvision(
            vhdr, overrides=overrides, preload=True, verbose=False
        )
    # older mne: rewrite the header in a temporary folder with absolute file names
    import tempfile

    text = vhdr.read_bytes().decode("latin-1")
    for key, option in (("data_fname", "DataFile"), ("marker_fname", "MarkerFile")):
        if key in overrides:
            value = "" if overrides[key] is False else str(vhdr.parent / overrides[key])
            text = re.sub(
                rf"(?m)^{option}=.*$", lambda _m, o=option, v=value: f"{o}={v}", text
            )
    with tempfile.TemporaryDirectory() as tmp:
        fixed = Path(tmp) / vhdr.name
        fixed.write_bytes(text.encode("latin-1"))
        return mne.io.read_raw_brainvision(fixed, preload=True, verbose=False)


def _is_matlab_v73(path):
    """Whether ``path`` is a MATLAB v7.3 file (HDF5 inside; scipy cannot read it)."""
    try:
        with open(path, "rb") as fid:
            header = fid.read(520)
    except OSError:
        return False
    return b"MATLAB 7.3" in header[:128] or header[512:516] == b"\x89HDF"


def _check_eeglab_reader(path):
    """MATLAB v7.3 ``.set`` files need pymatreader (the ``eeglab`` extra)."""
    if not _is_matlab_v73(path):
        return  # mne reads older MAT files with scipy
    import importlib.util

    if importlib.util.find_spec("pymatreader") is None:
        raise DataError(
            f"EEG file {path} is a MATLAB v7.3 (HDF5) EEGLAB file: reading it needs "
            "pymatreader, found none (pip install 'eeg2fmri[eeglab]')"
        )


def _read_raw(path):
    """Read ``path`` with the right mne reader; returns (raw, list of truncation
    notes)."""
    import mne

    ext = path.suffix.lower()
    notes = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if ext == ".vhdr":
                overrides, truncated, marker_file = _bv_overrides(path)
                if truncated:
                    notes.append(truncated)
                raw = _read_with_overrides(path, overrides, mne)
                last = (
                    _last_marker_sample(marker_file)
                    if marker_file is not None and marker_file.is_file()
                    else 0
                )
                if raw.n_times and last > raw.n_times + raw.info["sfreq"]:
                    notes.append(
                        f"markers up to sample {last} but the data end at sample "
                        f"{raw.n_times}"
                    )
            elif ext == ".edf":
                raw = mne.io.read_raw_edf(path, preload=True, verbose=False)
            elif ext == ".bdf":
                raw = mne.io.read_raw_bdf(path, preload=True, verbose=False)
            elif ext == ".set":
                _check_eeglab_reader(path)
                raw = mne.io.read_raw_eeglab(path, preload=True, verbose=False)
            else:
                raise DataError(
                    f"EEG file {path}: unsupported format {ext!r}; expected .vhdr, "
                    ".edf, .bdf or .set"
                )
        except (DataError, MissingInputError):
            raise
        except FileNotFoundError as err:
            raise MissingInputError(
                f"EEG file {path}: a file it needs is missing ({err})"
            ) from None
        except RuntimeError as err:
            if "number of samples" in str(err).lower():
                raise DataError(f"EEG file {path} looks truncated: {err}") from None
            raise DataError(
                f"cannot read EEG file {path}: {type(err).__name__}: {err}"
            ) from None
        except Exception as err:
            raise DataError(
                f"cannot read EEG file {path}: {type(err).__name__}: {err}"
            ) from None
    for w in caught:
        msg = str(w.message)
        if any(h in msg for h in _TRUNCATION_HINTS):
            notes.append(msg.strip())
        else:
            logger.debug("%s: reader warning: %s", path, msg)
    return raw, notes


def _find_channels_tsv(path):
    parsed = parse_name(path.name)
    if parsed is None:
        return None
    entities = parsed[0]
    best = None
    for cand in sorted(path.parent.glob("*_channels.tsv")):
        p = parse_name(cand.name)
        if p is None or not entities_subset(p[0], entities):
            continue
        if best is None or len(p[0]) > best[0]:
            best = (len(p[0]), cand)
    return None if best is None else best[1]


def _apply_channels_tsv(raw, tsv):
    rows = read_tsv(tsv)
    if rows and "name" not in rows[0]:
        raise DataError(
            f"{tsv}: expected a 'name' column, found columns {list(rows[0])}"
        )
    known = set(raw.ch_names)
    types, bads, unknown = {}, [], []
    for row in rows:
        name = row["name"]
        if name not in known:
            unknown.append(name)
            continue
        btype = row.get("type", "n/a").upper()
        if btype in BIDS_TO_MNE_TYPES:
            types[name] = BIDS_TO_MNE_TYPES[btype]
        elif btype not in ("N/A", ""):
            types[name] = "misc"
        if row.get("status", "").lower() == "bad":
            bads.append(name)
    if unknown:
        logger.warning(
            "%s names %d channel(s) absent from the EEG file (ignored): %s",
            tsv,
            len(unknown),
            ", ".join(unknown[:8]),
        )
    changed = {n: t for n, t in types.items() if raw.get_channel_types([n])[0] != t}
    if changed:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            raw.set_channel_types(changed, verbose=False)
    raw.info["bads"] = sorted(set(raw.info["bads"]) | set(bads), key=raw.ch_names.index)
    logger.info(
        "%s: %d channel type(s) set, %d bad channel(s)",
        tsv.name,
        len(changed),
        len(bads),
    )


def _guess_types_from_names(raw):
    guess = {}
    for name, kind in zip(raw.ch_names, raw.get_channel_types(), strict=False):
        if kind == "eeg" and _ECG_NAME.match(name):
            guess[name] = "ecg"
        elif kind == "eeg" and _EOG_NAME.match(name):
            guess[name] = "eog"
    if guess:
        logger.info(
            "no channels.tsv: channel types from names: %s",
            ", ".join(f"{n}={t}" for n, t in guess.items()),
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            raw.set_channel_types(guess, verbose=False)


def load_eeg(path, *, picks="data", channels_tsv="auto", allow_truncated=False):
    """Read an EEG recording, preloaded, with channel types and bad channels from BIDS.

    Parameters
    ----------
    path : path-like, mne_bids.BIDSPath or bids.layout.BIDSFile
        ``.vhdr`` (BrainVision), ``.edf``, ``.bdf`` or ``.set`` (EEGLAB) file.
    picks : str or list, default "data"
        Channels to keep. ``"data"``: EEG and ECG channels, as in the official
        Spec2VolCAMU-Net code whose 64-channel input includes the ECG (EOG, EMG, stim,
        misc are dropped); ``"eeg"``: EEG only; ``"all"``: everything; anything else is
        passed to :meth:`mne.io.Raw.pick`. Bad channels are kept (listed in
        ``raw.info["bads"]``) so that every recording keeps the same channel count.
    channels_tsv : "auto", path-like or None, default "auto"
        ``"auto"`` uses the most specific ``*_channels.tsv`` next to the file whose
        entities fit; None ignores it.
    allow_truncated : bool, default False
        Load a file that looks truncated (with a warning) instead of raising DataError.

    Returns
    -------
    raw : mne.io.BaseRaw
        Preloaded; ``raw.annotations`` holds the file's own markers (e.g.
        ``"Response/R128"``), with onsets in seconds.

    Raises
    ------
    MissingInputError
        The file or its data file is missing or empty, or holds 0 samples.
    DataError
        Unsupported format, unreadable or truncated file, no channel left after
        ``picks``, or NaN/infinite samples in good channels.
    """
    path = as_file_path(path, "path")
    if not path.is_file():
        raise MissingInputError(f"EEG file {path} does not exist")
    if path.stat().st_size == 0:
        raise MissingInputError(f"EEG file {path} is empty (0 bytes)")
    raw, notes = _read_raw(path)
    if raw.n_times == 0:
        raise MissingInputError(f"EEG file {path} holds 0 samples (empty data file)")
    if notes:
        held = raw.n_times / raw.info["sfreq"]
        msg = f"EEG file {path} looks truncated ({notes[0]}); it holds {held:.2f} s"
        if not allow_truncated:
            raise DataError(msg + "; pass allow_truncated=True to use what is there")
        logger.warning(msg)

    if channels_tsv == "auto":
        channels_tsv = _find_channels_tsv(path)
    if channels_tsv is not None:
        _apply_channels_tsv(raw, Path(channels_tsv))
    else:
        _guess_types_from_names(raw)

    if isinstance(picks, str) and picks == "data":
        picks = ["eeg", "ecg"]
    elif isinstance(picks, str) and picks == "all":
        picks = None
    if picks is not None:
        types = set(raw.get_channel_types())
        if (
            isinstance(picks, list)
            and all(p in ("eeg", "ecg") for p in picks)
            and not types & set(picks)
        ):
            raise DataError(
                f"EEG file {path} has no {'/'.join(picks).upper()} channel (types "
                f"found: {sorted(types)})"
            )
        try:
            raw.pick(picks, verbose=False)
        except ValueError as err:
            raise DataError(
                f"EEG file {path}: picks={picks!r} selects no channel ({err})"
            ) from None

    data = raw._data
    bad_rows = ~np.isfinite(data).all(axis=1)
    if bad_rows.any():
        names = [n for n, b in zip(raw.ch_names, bad_rows, strict=False) if b]
        good = [n for n in names if n not in raw.info["bads"]]
        if good:
            raise DataError(
                f"EEG file {path}: NaN or infinite samples in {len(good)} of "
                f"{len(raw.ch_names)} channels "
                f"({', '.join(good[:5])}{', ...' if len(good) > 5 else ''}); clean the "
                "recording or mark them bad in channels.tsv"
            )
        logger.warning(
            "%s: non-finite samples in bad channel(s) %s set to 0",
            path,
            ", ".join(names),
        )
        for i in np.flatnonzero(bad_rows):
            row = data[i]
            row[~np.isfinite(row)] = 0.0
    return raw
