"""BIDS file names: entities, sidecar inheritance, whitespace-tolerant TSV reading.

Small, dependency-free helpers shared by :mod:`eeg2fmri.bids.discovery` and
:mod:`eeg2fmri.bids.eeg`. A BIDS basename is ``key-value`` pairs joined by ``_``, then a
suffix, then an extension (``sub-01_ses-1_task-rest_run-1_bold.nii.gz``).
"""

import json
import re
from pathlib import Path

from .._utils.logging import logger
from ..exceptions import DataError, MissingInputError

#: Every BIDS entity as ``(key in file names, long name in the BIDS specification,
#: name in pybids' ``bids``/``derivatives`` configurations)``.
ENTITIES = (
    ("sub", "subject", "subject"),
    ("ses", "session", "session"),
    ("task", "task", "task"),
    ("acq", "acquisition", "acquisition"),
    ("ce", "ceagent", "ceagent"),
    ("trc", "tracer", "tracer"),
    ("stain", "stain", "staining"),
    ("rec", "reconstruction", "reconstruction"),
    ("dir", "direction", "direction"),
    ("run", "run", "run"),
    ("mod", "modality", "modality"),
    ("echo", "echo", "echo"),
    ("flip", "flip", "flip"),
    ("inv", "inversion", "inv"),
    ("mt", "mtransfer", "mt"),
    ("part", "part", "part"),
    ("proc", "processing", "proc"),
    ("hemi", "hemisphere", "hemi"),
    ("space", "space", "space"),
    ("split", "split", "split"),
    ("recording", "recording", "recording"),
    ("chunk", "chunk", "chunk"),
    ("tracksys", "tracksys", "tracksys"),
    ("atlas", "atlas", "atlas"),
    ("roi", "roi", "roi"),
    ("label", "label", "label"),
    ("from", "from", "from"),
    ("to", "to", "to"),
    ("res", "res", "res"),
    ("den", "den", "den"),
    ("model", "model", "model"),
    ("subset", "subset", "subset"),
    ("seg", "seg", "segmentation"),
    ("mode", "mode", "mode"),
    ("desc", "description", "desc"),
)
#: Long entity names (BIDS specification and pybids spellings) -> file-name keys.
ENTITY_KEYS = {
    **{long: key for key, long, _ in ENTITIES},
    **{pybids: key for key, _, pybids in ENTITIES},
}
#: Entities whose values are indices: "run-01" and "run-1" are the same run.
INDEX_ENTITIES = frozenset({"run", "echo", "flip", "inv", "split", "chunk"})

_KEY_VALUE = re.compile(r"^([a-zA-Z]+)-([a-zA-Z0-9+]+)$")
_SUFFIX = re.compile(r"^[a-zA-Z0-9]+$")


def split_extension(name):
    """Split ``"sub-01_bold.nii.gz"`` into ``("sub-01_bold", ".nii.gz")``."""
    stem, dot, ext = name.partition(".")
    return stem, (dot + ext) if dot else ""


def parse_name(name):
    """Parse a BIDS basename.

    Parameters
    ----------
    name : str
        File name without folders.

    Returns
    -------
    parsed : tuple (entities, suffix, extension) or None
        ``entities`` maps short keys (``"sub"``, ``"run"``, ...) to labels in file
        order. None when the name is not a BIDS name (dotfiles such as
        ``._sub-01_eeg.json``, no suffix, malformed ``key-value`` pairs, or a repeated
        key).
    """
    if name.startswith("."):
        return None
    stem, ext = split_extension(name)
    parts = stem.split("_")
    if len(parts) < 2 or not _SUFFIX.match(parts[-1]):
        return None
    entities = {}
    for part in parts[:-1]:
        match = _KEY_VALUE.match(part)
        if match is None or match.group(1) in entities:
            return None
        entities[match.group(1)] = match.group(2)
    return entities, parts[-1], ext


def norm_value(key, value):
    """Comparable form of an entity value (index entities compare as integers)."""
    value = str(value)
    if key in INDEX_ENTITIES and value.isdigit():
        return str(int(value))
    return value


def entities_subset(small, large):
    """Whether every entity of ``small`` appears in ``large`` with the same value."""
    return all(
        k in large and norm_value(k, large[k]) == norm_value(k, v)
        for k, v in small.items()
    )


class SidecarFinder:
    """Find and merge the sidecars that apply to a data file (BIDS inheritance
    principle).

    For a file ``root/sub-01/ses-1/func/sub-01_ses-1_task-rest_bold.nii.gz`` the folders
    ``root``, ``root/sub-01``, ``root/sub-01/ses-1`` and ``root/sub-01/ses-1/func`` are
    searched, in that order. A sidecar applies when its suffix and extension match and
    its entities are a subset of the file's; more specific sidecars (deeper folder, then
    more entities) override less specific ones key by key. Folder listings are cached,
    so one finder serves a whole dataset cheaply.

    Parameters
    ----------
    root : path-like
        Root of the dataset the files belong to (raw or derivatives).
    """

    def __init__(self, root):
        self.root = Path(root)
        self._listing = {}

    def _entries(self, folder):
        if folder not in self._listing:
            entries = []
            try:
                names = sorted(p.name for p in folder.iterdir() if p.is_file())
            except OSError:
                names = []
            for name in names:
                parsed = parse_name(name)
                if parsed is not None:
                    entities, suffix, ext = parsed
                    entries.append((folder / name, entities, suffix, ext))
            self._listing[folder] = entries
        return self._listing[folder]

    def _levels(self, path):
        path = Path(path)
        try:
            rel = path.parent.relative_to(self.root)
        except ValueError:
            return [path.parent]
        levels = [self.root]
        for part in rel.parts:
            levels.append(levels[-1] / part)
        return levels

    def find(self, path, entities, suffix, extension):
        """Applicable sidecar paths for ``path``, least specific first.

        Parameters
        ----------
        path : path-like
            The data file.
        entities : dict
            Its entities (short keys).
        suffix, extension : str
            Suffix and extension of the sidecars wanted (``"bold"``, ``".json"``).

        Returns
        -------
        paths : list of Path
        """
        found = []
        for depth, folder in enumerate(self._levels(path)):
            for candidate, ents, suf, ext in self._entries(folder):
                if (
                    suf == suffix
                    and ext == extension
                    and candidate != Path(path)
                    and entities_subset(ents, entities)
                ):
                    found.append((depth, len(ents), candidate))
        return [p for _, _, p in sorted(found)]

    def metadata(self, path, entities, suffix):
        """Merged JSON metadata of ``path`` (most specific sidecar wins, key by key)."""
        merged = {}
        for sidecar in self.find(path, entities, suffix, ".json"):
            merged.update(read_json(sidecar))
        return merged


def read_json(path):
    """Read a JSON sidecar; DataError naming the file when it is not valid JSON."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as err:
        raise MissingInputError(
            f"cannot read sidecar {path}: {err.strerror or err}"
        ) from None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as err:
        raise DataError(
            f"sidecar {path} is not valid JSON ({err.msg} at line {err.lineno})"
        ) from None
    if not isinstance(obj, dict):
        raise DataError(
            f"sidecar {path} should hold a JSON object, found {type(obj).__name__}"
        )
    return obj


def read_tsv(path):
    """Read a BIDS TSV file into a list of row dicts, tolerating space-separated files.

    BIDS TSV files are tab-separated, but files edited by hand or exported by some tools
    use runs of spaces instead. When the header line has no tab, columns are split on
    whitespace and an INFO message says so. Missing cells become ``"n/a"``.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    rows : list of dict
        One dict per non-empty line after the header, keyed by column name.
    """
    path = Path(path)
    try:
        lines = [
            ln.rstrip("\r\n")
            for ln in path.read_text(encoding="utf-8-sig").splitlines()
        ]
    except OSError as err:
        raise MissingInputError(f"cannot read {path}: {err.strerror or err}") from None
    lines = [ln for ln in lines if ln.strip()]
    if not lines:
        return []
    if "\t" in lines[0]:
        split = lambda line: [c.strip() for c in line.split("\t")]  # noqa: E731
    else:
        logger.info(
            "%s is not tab-separated; splitting its columns on whitespace", path
        )
        split = str.split
    header = split(lines[0])
    rows = []
    for line in lines[1:]:
        cells = split(line)
        cells += ["n/a"] * (len(header) - len(cells))
        rows.append(dict(zip(header, cells, strict=False)))
    return rows
