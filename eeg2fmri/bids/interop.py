"""pybids and mne-bids objects as inputs (and mne-bids paths as outputs).

Every function of :mod:`eeg2fmri.bids` that takes a BIDS root also takes a pybids
:class:`bids.BIDSLayout` or an mne-bids :class:`mne_bids.BIDSPath`, and every function
that takes a file also takes a ``BIDSPath`` or a pybids ``BIDSFile``. The objects are
recognised by their type's module, so neither library is imported unless such an
object is given (``import eeg2fmri`` stays fast).

Filters follow pybids' semantics (``BIDSLayout.get``) and fMRIPrep's
``--bids-filter-file`` conventions: one query per input kind (``"eeg"``, ``"bold"``);
a list means "any of"; ``None`` (JSON ``null``) means "entity absent"; ``"*"`` (or
pybids' ``Query.ANY``) means "entity present, any value"; ``Query.OPTIONAL`` means "no
constraint".
"""

import os
from pathlib import Path

from ._entities import ENTITIES

__all__ = [
    "ANY",
    "OPTIONAL",
    "PYBIDS_ENTITIES",
    "is_bids_layout",
    "is_bids_path",
    "as_file_path",
    "as_bids_root",
    "bids_path_selection",
    "pybids_query",
    "to_bids_path",
]


class _QueryToken:
    """A filter value that is not a label: "present with any value" or "no filter"."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return self.name


#: Filter value: the entity must be present, with any value (pybids ``Query.ANY``,
#: fMRIPrep ``"*"``).
ANY = _QueryToken("ANY")
#: Filter value: no constraint on the entity (pybids ``Query.OPTIONAL``).
OPTIONAL = _QueryToken("OPTIONAL")

#: Short keys of file names -> entity names of pybids' ``bids`` and ``derivatives``
#: configurations (what ``BIDSLayout.get`` takes).
PYBIDS_ENTITIES = {key: pybids for key, _, pybids in ENTITIES}

# mne-bids BIDSPath entity names -> short keys
_MNE_BIDS_KEYS = {
    "subject": "sub",
    "session": "ses",
    "task": "task",
    "acquisition": "acq",
    "run": "run",
    "processing": "proc",
    "recording": "recording",
    "space": "space",
    "split": "split",
    "description": "desc",
    "tracking_system": "tracksys",
}


def _module(obj):
    return type(obj).__module__ or ""


def is_bids_layout(obj):
    """Whether ``obj`` is a pybids ``BIDSLayout`` (without importing pybids)."""
    return _module(obj).startswith("bids.") and hasattr(type(obj), "get") and hasattr(
        obj, "root"
    )


def is_bids_path(obj):
    """Whether ``obj`` is an mne-bids ``BIDSPath`` (without importing mne-bids).

    Class attributes only: ``BIDSPath.fpath`` is a property that searches the disk.
    """
    return _module(obj).startswith("mne_bids") and hasattr(type(obj), "fpath")


def _is_bids_file(obj):
    return _module(obj).startswith("bids.") and hasattr(type(obj), "get_entities")


def as_file_path(obj, name="path"):
    """A file path from a path-like, an mne-bids ``BIDSPath`` or a pybids ``BIDSFile``.

    Parameters
    ----------
    obj : str, path-like, BIDSPath or BIDSFile
    name : str
        Parameter name for the error message.

    Returns
    -------
    path : Path
    """
    if is_bids_path(obj):
        if obj.root is None:
            raise ValueError(
                f"{name}: the BIDSPath {obj.basename!r} has no root; give "
                "BIDSPath(root=...)"
            )
        return Path(obj.fpath)
    if _is_bids_file(obj):
        return Path(obj.path)
    return _plain_path(obj, name, "an mne-bids BIDSPath or a pybids BIDSFile")


def as_bids_root(obj, name="bids_dir"):
    """The dataset root of a path-like, a pybids ``BIDSLayout`` or an mne-bids
    ``BIDSPath`` (its ``root``).

    Returns
    -------
    root : Path
    """
    if is_bids_layout(obj):
        return Path(obj.root)
    if is_bids_path(obj):
        if obj.root is None:
            raise ValueError(
                f"{name}: the BIDSPath has no root; give BIDSPath(root=...)"
            )
        return Path(obj.root)
    return _plain_path(obj, name, "a pybids BIDSLayout or an mne-bids BIDSPath")


def _plain_path(obj, name, also_accepted):
    """``obj`` as a Path when it is path-like; else a TypeError naming ``name``."""
    if isinstance(obj, str | os.PathLike):
        return Path(obj).expanduser()
    raise TypeError(
        f"{name} must be a path, {also_accepted}, got {type(obj).__name__}"
    )


def bids_path_selection(bids_path):
    """What an mne-bids ``BIDSPath`` selects, as :func:`find_paired_runs` arguments.

    ``subject``, ``session`` and ``task`` become ``participant_label``,
    ``session_label`` and ``task``; ``acquisition`` and ``run`` (entities shared by the
    EEG and the BOLD of a run) filter both modalities; the other entities, ``suffix``
    and ``extension`` filter the modality named by ``datatype`` (``"eeg"`` or
    ``"func"``) or ``suffix`` (``"eeg"`` or ``"bold"``).

    Returns
    -------
    root : Path
    kwargs : dict
        ``participant_label``, ``session_label``, ``task`` (those set).
    filters : dict
        ``{"eeg": {...}, "bold": {...}}`` with short entity keys.
    """
    root = as_bids_root(bids_path)
    kwargs, filters = {}, {"eeg": {}, "bold": {}}
    modality = None
    datatype = getattr(bids_path, "datatype", None)
    suffix = getattr(bids_path, "suffix", None)
    if datatype == "eeg" or suffix == "eeg":
        modality = "eeg"
    elif datatype == "func" or suffix == "bold":
        modality = "bold"
    elif datatype is not None or suffix is not None:
        raise ValueError(
            f"bids_dir: BIDSPath datatype={datatype!r}, suffix={suffix!r} selects "
            "neither EEG nor BOLD; expected datatype 'eeg' or 'func'"
        )
    for long, value in bids_path.entities.items():
        if value is None:
            continue
        if long == "subject":
            kwargs["participant_label"] = value
        elif long == "session":
            kwargs["session_label"] = value
        elif long == "task":
            kwargs["task"] = value
        elif long in ("acquisition", "run"):
            for query in filters.values():
                query[_MNE_BIDS_KEYS[long]] = value
        else:
            if modality is None:
                raise ValueError(
                    f"bids_dir: BIDSPath {long}={value!r} applies to one modality; "
                    "set its datatype to 'eeg' or 'func'"
                )
            filters[modality][_MNE_BIDS_KEYS.get(long, long)] = value
    if modality is not None:
        extension = getattr(bids_path, "extension", None)
        if extension is not None:
            filters[modality]["extension"] = extension
    return root, kwargs, filters


def pybids_query(query):
    """A normalized filter (short keys) as keyword arguments of ``BIDSLayout.get``.

    ``None`` -> ``Query.NONE``, :data:`ANY` -> ``Query.ANY``, :data:`OPTIONAL` ->
    ``Query.OPTIONAL``, in lists too; short entity keys -> pybids names.
    """
    from bids.layout import Query

    tokens = {id(ANY): Query.ANY, id(OPTIONAL): Query.OPTIONAL}

    def convert(value):
        if value is None:
            return Query.NONE
        return tokens.get(id(value), value)

    out = {}
    for key, value in query.items():
        key = PYBIDS_ENTITIES.get(key, key)
        if isinstance(value, list | tuple | set):
            value = [convert(v) for v in value]
        else:
            value = convert(value)
        out[key] = value
    return out


def to_bids_path(path):
    """The mne-bids ``BIDSPath`` of a file of a BIDS dataset (root and datatype set).

    Parameters
    ----------
    path : path-like
        A file named and placed by BIDS (``root/sub-X/[ses-Y/]<datatype>/<name>``).

    Returns
    -------
    bids_path : mne_bids.BIDSPath
        Usable with :func:`mne_bids.read_raw_bids` for EEG files.
    """
    from mne_bids import get_bids_path_from_fname

    return get_bids_path_from_fname(Path(path), check=False, verbose=False)
