"""Where derivative files go and how they cite other files, without local paths.

:class:`DerivativePath` builds BIDS-Derivatives file names from a run's entities;
:func:`bids_uri` and :func:`model_provenance` cite inputs and models as BIDS URIs and
checksums, never as absolute paths of this machine.
"""

import hashlib
import os
from dataclasses import dataclass, fields, replace
from pathlib import Path

from .._utils.logging import logger
from .interop import as_bids_root

__all__ = ["DESC", "DerivativePath", "bids_uri", "file_sha256", "model_provenance"]

#: ``desc`` label of every eeg2fmri output.
DESC = "eeg2fmri"

# BIDS entity order (the ones a synthesized run can carry), then derivative entities.
_ENTITY_KEYS = (
    ("subject", "sub"),
    ("session", "ses"),
    ("task", "task"),
    ("acquisition", "acq"),
    ("run", "run"),
    ("space", "space"),
    ("desc", "desc"),
    ("stat", "stat"),
)



def _label(value):
    """Entity label as a string: ints keep their value, ``sub-``-style prefixes go."""
    if value is None:
        return None
    value = str(value)
    return value.split("-", 1)[1] if "-" in value else value


@dataclass(frozen=True)
class DerivativePath:
    """Where one derivative file goes, built from BIDS entities.

    Parameters
    ----------
    root : str or Path
        The derivative dataset root (the BIDS-App ``output_dir``).
    subject, session, task, acquisition, run : str or int or None
        Entities of the source run (labels without their ``sub-``/``ses-`` prefix).
    space, desc, stat : str or None
        Derivative entities (``desc`` defaults to ``"eeg2fmri"``).
    suffix : str, default="bold"
    extension : str, default=".nii.gz"
    datatype : str, default="func"

    Examples
    --------
    >>> p = DerivativePath("out", subject="01", task="rest", run=1)
    >>> p.basename
    'sub-01_task-rest_run-1_desc-eeg2fmri_bold.nii.gz'
    >>> p.update(suffix="metrics", extension=".tsv").relpath.as_posix()
    'sub-01/func/sub-01_task-rest_run-1_desc-eeg2fmri_metrics.tsv'
    """

    root: Path
    subject: str
    session: str = None
    task: str = None
    acquisition: str = None
    run: str = None
    space: str = None
    desc: str = DESC
    stat: str = None
    suffix: str = "bold"
    extension: str = ".nii.gz"
    datatype: str = "func"

    def __post_init__(self):
        object.__setattr__(self, "root", Path(self.root))
        if self.subject is None:
            raise ValueError("DerivativePath needs a subject label, got None.")
        for name, _ in _ENTITY_KEYS:
            label = _label(getattr(self, name))
            if label is not None and (not label or not label.isalnum()):
                raise ValueError(
                    f"BIDS {name!r} label must be alphanumeric, got {label!r}."
                )
            object.__setattr__(self, name, label)
        if self.extension and not self.extension.startswith("."):
            object.__setattr__(self, "extension", "." + self.extension)

    @classmethod
    def from_run(cls, root, run, **kwargs):
        """Build from a :class:`~eeg2fmri.bids.PairedRun`-like object (its entities)."""
        ents = {
            name: getattr(run, name, None)
            for name in ("subject", "session", "task", "acquisition", "run")
        }
        ents.update(kwargs)
        return cls(root, **ents)

    def update(self, **kwargs):
        """Return a copy with some entities / suffix / extension replaced."""
        unknown = set(kwargs) - {f.name for f in fields(self)}
        if unknown:
            raise ValueError(f"Unknown DerivativePath field(s): {sorted(unknown)}.")
        return replace(self, **kwargs)

    @property
    def entities(self):
        """dict of the entities that are set, in BIDS order (full names)."""
        return {
            name: getattr(self, name)
            for name, _ in _ENTITY_KEYS
            if getattr(self, name) is not None
        }

    @property
    def stem(self):
        """Basename without suffix and extension, e.g. ``sub-01_task-rest_desc-x``."""
        return "_".join(
            f"{key}-{getattr(self, name)}"
            for name, key in _ENTITY_KEYS
            if getattr(self, name) is not None
        )

    @property
    def basename(self):
        """File name, e.g. ``sub-01_task-rest_desc-eeg2fmri_bold.nii.gz``."""
        return f"{self.stem}_{self.suffix}{self.extension}"

    @property
    def directory(self):
        """Folder of the file: ``root/sub-X[/ses-Y]/<datatype>``."""
        parts = [f"sub-{self.subject}"]
        if self.session is not None:
            parts.append(f"ses-{self.session}")
        if self.datatype:
            parts.append(self.datatype)
        return self.root.joinpath(*parts)

    @property
    def fpath(self):
        """Full path of the file."""
        return self.directory / self.basename

    @property
    def relpath(self):
        """Path relative to the dataset root."""
        return self.fpath.relative_to(self.root)

    def __fspath__(self):
        return os.fspath(self.fpath)

    def __str__(self):
        return str(self.fpath)


def file_sha256(path, chunk_size=1 << 20):
    """SHA-256 hex digest of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as fid:
        for chunk in iter(lambda: fid.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _dataset_uri(target, out_dir):
    """Location of dataset ``target`` as seen from dataset ``out_dir``.

    Always a relative POSIX path (``../..`` when the derivative sits inside the source
    dataset, ``../bids`` next to it): an absolute path of this machine would mean
    nothing elsewhere, and the relative one survives moving both folders together.
    """
    target = Path(target).resolve()
    out_dir = Path(out_dir).resolve()
    return Path(os.path.relpath(target, out_dir)).as_posix()


def bids_uri(path, dataset_links):
    """BIDS URI (``bids:<name>:<relpath>``) of a file inside a linked dataset.

    Parameters
    ----------
    path : str or Path
        A file inside one of the linked datasets.
    dataset_links : dict of str to Path
        Dataset name (``"raw"``, ...; ``""`` for the derivative dataset itself) to its
        root folder (or a ``BIDSLayout``/``BIDSPath``); the first root that contains
        ``path`` wins.

    Returns
    -------
    uri : str
        ``bids:raw:sub-01/eeg/sub-01_task-rest_eeg.vhdr``; the bare file name (with a
        warning) when no linked dataset contains the file: a derivative never records
        an absolute path of this machine.
    """
    path = Path(path).resolve()
    for name, root in dataset_links.items():
        try:
            rel = path.relative_to(as_bids_root(root, "dataset_links").resolve())
        except ValueError:
            continue
        return f"bids:{name}:{rel.as_posix()}"
    logger.warning(
        "%s is in none of the linked datasets (%s); recorded by file name only",
        path.name, ", ".join(dataset_links) or "none",
    )
    return path.name


def model_provenance(path, out_dir=None):
    """How a derivative names the model file it was made with, without local paths.

    Parameters
    ----------
    path : str or Path
        The model's weights file (``.safetensors``).
    out_dir : str or Path, optional
        The derivative dataset; a model inside it also gets a BIDS URI.

    Returns
    -------
    info : dict
        ``File`` (file name), ``SHA256`` (of the file) and, for a model inside
        ``out_dir``, ``URI`` (``bids::models/<name>.safetensors``).
    """
    path = Path(path)
    info = {"File": path.name, "SHA256": file_sha256(path)}
    if out_dir is not None:
        try:
            rel = path.resolve().relative_to(Path(out_dir).resolve())
        except ValueError:
            pass
        else:
            info["URI"] = f"bids::{rel.as_posix()}"
    return info
