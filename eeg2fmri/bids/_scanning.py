"""Listing the EEG and BOLD files of a BIDS dataset (our scanner, or a pybids layout).

Dotfiles and dot-folders are skipped; in a raw dataset only ``sub-*`` folders are
scanned and EEG must sit in ``eeg/``, BOLD in ``func/``; a file whose ``sub-``
entity disagrees with its folder is ignored with a warning.
"""

import difflib
import os
from dataclasses import dataclass, field
from pathlib import Path

from .._utils.logging import logger
from ..exceptions import InvalidDatasetError, MissingInputError, NoMatchingDataError
from ._entities import norm_value, parse_name
from .interop import pybids_query

#: EEG data files we read (BIDS EEG formats); companions (.vmrk, .eeg, .fdt) implied.
EEG_EXTENSIONS = (".vhdr", ".edf", ".bdf", ".set")
BOLD_EXTENSIONS = (".nii.gz", ".nii")
#: The entities that must agree for an EEG and a BOLD file to be one simultaneous run.
PAIR_ENTITIES = ("sub", "ses", "task", "acq", "run")


@dataclass(frozen=True)
class _File:
    path: Path
    entities: dict = field(compare=False)
    suffix: str
    extension: str
    datatype: str

    @property
    def key(self):
        return tuple(
            norm_value(k, self.entities[k]) if k in self.entities else None
            for k in PAIR_ENTITIES
        )



def _scan(root, raw):
    """EEG and BOLD files under ``root/sub-*`` (dotfiles and dot-folders skipped)."""
    eeg, bold = [], []
    for top in sorted(root.iterdir()):
        if not (top.name.startswith("sub-") and top.is_dir()):
            continue
        subject = top.name[4:]
        for folder, dirs, files in os.walk(top):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            datatype = os.path.basename(folder)
            for name in sorted(files):
                parsed = parse_name(name)
                if parsed is None:
                    continue
                entities, suffix, ext = parsed
                if suffix == "eeg" and ext.lower() in EEG_EXTENSIONS:
                    target, wanted = eeg, "eeg"
                elif suffix == "bold" and ext in BOLD_EXTENSIONS:
                    target, wanted = bold, "func"
                else:
                    continue
                path = Path(folder) / name
                if raw and datatype != wanted:
                    logger.debug("ignoring %s: not in a %s/ folder", path, wanted)
                    continue
                if entities.get("sub") != subject:
                    logger.warning(
                        "ignoring %s: its sub- entity does not match its folder %s",
                        path,
                        top.name,
                    )
                    continue
                if "task" not in entities:
                    logger.debug("ignoring %s: no task- entity", path)
                    continue
                target.append(_File(path, entities, suffix, ext.lower(), datatype))
    return eeg, bold


def _resolve_root(path, bids_dir, name):
    if path is None:
        return bids_dir
    path = Path(path).expanduser()
    if not path.exists() and not path.is_absolute():
        # "eeg_pp" -> bids_dir/derivatives/eeg_pp; "derivatives" -> bids_dir/derivatives
        for base in (bids_dir / "derivatives", bids_dir):
            if (base / path).exists():
                path = base / path
                break
    if not path.exists():
        raise MissingInputError(f"{name}: folder {path} does not exist")
    if not path.is_dir():
        raise InvalidDatasetError(f"{name}: {path} is not a folder")
    path = path.resolve()
    if not (path / "dataset_description.json").is_file():
        logger.info(
            "%s %s has no dataset_description.json; indexing it anyway", name, path
        )
    return path


def _as_labels(value, name, prefix=""):
    if value is None:
        return None
    if isinstance(value, (str, int)):
        value = [value]
    try:
        labels = [str(v) for v in value]
    except TypeError:
        raise TypeError(
            f"{name} must be a label or a list of labels, got {type(value).__name__}"
        ) from None
    out = []
    for label in labels:
        label = label.strip()
        if prefix and label.startswith(prefix):
            label = label[len(prefix) :]
        if not label:
            raise ValueError(f"{name}: empty label in {value!r}")
        out.append(label)
    return list(dict.fromkeys(out))


def _check_known(selected, available, what, dataset):
    unknown = [s for s in selected if s not in available]
    if not unknown:
        return
    hints = []
    for s in unknown:
        close = difflib.get_close_matches(s, sorted(available), n=1)
        if close:
            hints.append(f"{s!r} -> did you mean {close[0]!r}?")
    exists = ", ".join(sorted(available)) or "none"
    hint = f" ({'; '.join(hints)})" if hints else ""
    raise NoMatchingDataError(
        f"{what} {', '.join(unknown)} not found in {dataset}{hint}; available: {exists}"
    )



def _scan_layout(layout, filters):
    """EEG and BOLD files of a pybids layout's raw dataset, filtered by pybids."""
    queries = {
        "eeg": {"datatype": "eeg", "suffix": "eeg", "extension": list(EEG_EXTENSIONS)},
        "bold": {
            "datatype": "func",
            "suffix": "bold",
            "extension": list(BOLD_EXTENSIONS),
        },
    }
    found = {}
    for modality, base in queries.items():
        user = {k: v for k, v in filters[modality].items()
                if k not in ("suffix", "datatype")}  # validated to include ours
        query = {**base, **pybids_query(user)}
        files = []
        for bids_file in layout.get(scope="raw", return_type="object", **query):
            path = Path(bids_file.path)
            parsed = parse_name(path.name)
            if parsed is None:
                continue
            entities, suffix, ext = parsed
            if (
                "task" not in entities
                or "sub" not in entities
                or ext.lower() not in base["extension"]
            ):
                continue
            files.append(
                _File(path.resolve(), entities, suffix, ext.lower(),
                      path.parent.name)
            )
        found[modality] = sorted(files, key=lambda f: str(f.path))
    return found["eeg"], found["bold"]


def _group(files):
    groups = {}
    for f in files:
        groups.setdefault(f.key, []).append(f)
    return groups


def _sort_key(key):
    return tuple(
        "" if v is None else (f"{int(v):09d}" if v.isdigit() else v) for v in key
    )
