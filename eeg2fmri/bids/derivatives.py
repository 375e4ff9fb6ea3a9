"""Write eeg2fmri outputs as a BIDS-Derivatives dataset that nilearn reads as it is.

Layout of an output folder (``<out>``)::

    dataset_description.json    DatasetType "derivative", GeneratedBy, SourceDatasets
    .bidsignore                 hides the non-BIDS files listed below
    README.md
    sub-01/func/sub-01_task-rest_desc-eeg2fmri_bold.nii.gz   synthesized 4-D BOLD
    sub-01/func/sub-01_task-rest_desc-eeg2fmri_bold.json     its sidecar
    sub-01/func/sub-01_task-rest_desc-eeg2fmri_metrics.tsv   per-volume scores (+ .json)
    sub-01/func/sub-01_task-rest_desc-eeg2fmri_stat-r_statmap.nii.gz
                                voxel-wise temporal correlation (+ .json)
    sub-01.html, sub-01/figures/   participant report (eeg2fmri.reports)
    group_metrics.tsv, group_report.html, figures/, models/, logs/

**Which volumes a synthesized image holds.** A volume can only be synthesized when the
EEG covers its whole context (``n_context`` TR windows before it) and it is not among
the discarded first volumes. The synthesized 4-D image keeps *only* these frames, in
acquisition order: frame ``t`` of the output is source volume
``SourceVolumeIndices[t]`` (0-based, listed in the sidecar). Usually they are
contiguous (``SourceVolumeIndices = [k0, k0 + 1, ...]``), so the image is a regular
time series with the source TR, starting ``k0 * TR`` seconds after the first source
volume (sidecar ``StartTimeOffset``). We do not pad the missing frames with zeros or
NaNs: nilearn's maskers, GLMs and ``plot_carpet`` would then treat them as data.

The NIfTI header and the sidecar agree (``REPETITION_TIME_MISMATCH`` is a validator
error otherwise): spatial units mm, time units s, ``zooms[3] = RepetitionTime``.
"""

import hashlib
import json
import os
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np

from .._utils.io import atomic_path, write_json_atomic, write_text_atomic
from .._utils.logging import logger
from .._version import __version__
from .interop import as_bids_root

__all__ = [
    "BIDS_VERSION",
    "DerivativePath",
    "bids_uri",
    "file_sha256",
    "model_provenance",
    "write_bidsignore",
    "write_dataset_description",
    "write_synthesized_run",
    "write_metrics_tsv",
    "write_correlation_map",
    "volumes_to_nifti_image",
]

#: BIDS version the derivatives follow.
BIDS_VERSION = "1.10.0"

#: ``desc`` label of every eeg2fmri output.
DESC = "eeg2fmri"

CODE_URL = "https://github.com/eeg2fmri/eeg2fmri"

#: Patterns of files that are not BIDS (reports, logs, models, tables, stat maps).
#: (bids-validator-deno 3 matches "figures" but flags the folder itself for "figures/".)
BIDSIGNORE = (
    "figures",
    "*.html",
    "logs",
    "models",
    "group_*",
    "*_metrics.tsv",
    "*_metrics.json",
    "*_statmap.nii.gz",
    "*_statmap.json",
    "*_timeseries.tsv",
)

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


def write_bidsignore(out_dir, extra=()):
    """Write ``<out_dir>/.bidsignore`` listing the non-BIDS outputs.

    Existing lines are kept (participant jobs running in parallel may share the
    folder); missing patterns are appended.
    """
    path = Path(out_dir) / ".bidsignore"
    lines = path.read_text().splitlines() if path.exists() else []
    wanted = [p for p in (*BIDSIGNORE, *extra) if p not in lines]
    if wanted or not path.exists():
        write_text_atomic(path, "\n".join([*lines, *wanted]) + "\n")
    return path


def write_dataset_description(
    out_dir,
    source_dir,
    *,
    name="eeg2fmri: BOLD synthesized from EEG",
    dataset_links=None,
    container=None,
    overwrite=False,
):
    """Write ``dataset_description.json`` (and ``.bidsignore``) of the derivative.

    Parameters
    ----------
    out_dir : str or Path
        The derivative dataset root.
    source_dir : str, Path, bids.BIDSLayout or mne_bids.BIDSPath
        The raw BIDS dataset the derivatives come from; linked as ``"raw"`` so that
        sidecars can cite ``bids:raw:...`` sources.
    name : str
        ``Name`` of the dataset.
    dataset_links : dict of str to Path, optional
        More linked datasets (e.g. ``{"eeg": <EEG derivatives>}``).
    container : dict, optional
        ``GeneratedBy[0].Container`` (``Type``, ``Tag``); by default read from the
        ``EEG2FMRI_CONTAINER_TYPE`` / ``EEG2FMRI_CONTAINER_TAG`` environment variables
        that the Docker image sets.
    overwrite : bool, default=False
        Rewrite an existing description (otherwise it is kept: participant jobs running
        in parallel all call this).

    Returns
    -------
    path : Path
    """
    out_dir = Path(out_dir)
    path = out_dir / "dataset_description.json"
    write_bidsignore(out_dir)
    if path.exists() and not overwrite:
        return path
    source_dir = as_bids_root(source_dir, "source_dir")
    links = {"raw": _dataset_uri(source_dir, out_dir)}
    for key, root in (dataset_links or {}).items():
        links[key] = _dataset_uri(as_bids_root(root, f"dataset_links[{key!r}]"),
                                  out_dir)
    generated = {
        "Name": "eeg2fmri",
        "Version": __version__,
        "Description": "Spec2VolCAMU-Net synthesis of BOLD volumes from EEG spectra",
        "CodeURL": CODE_URL,
    }
    if container is None and os.environ.get("EEG2FMRI_CONTAINER_TYPE"):
        container = {
            "Type": os.environ["EEG2FMRI_CONTAINER_TYPE"],
            "Tag": os.environ.get("EEG2FMRI_CONTAINER_TAG", f"eeg2fmri:{__version__}"),
        }
    if container:
        generated["Container"] = dict(container)
    source = {"URL": "bids:raw:"}
    raw_desc = source_dir / "dataset_description.json"
    if raw_desc.is_file():
        try:
            raw = json.loads(raw_desc.read_text())
        except (ValueError, OSError):
            raw = {}
        if raw.get("DatasetDOI"):
            source["DOI"] = raw["DatasetDOI"]
        if raw.get("BIDSVersion"):
            source["Version"] = str(raw["BIDSVersion"])
        license_ = raw.get("License")
    else:
        license_ = None
    desc = {
        "Name": name,
        "BIDSVersion": BIDS_VERSION,
        "DatasetType": "derivative",
        "GeneratedBy": [generated],
        "SourceDatasets": [source],
        "DatasetLinks": links,
        "HowToAcknowledge": (
            "Cite eeg2fmri and the Spec2VolCAMU-Net paper (see the CodeURL)."
        ),
    }
    if license_:
        desc["License"] = license_
    write_json_atomic(path, desc)
    readme = out_dir / "README.md"
    if not readme.exists():
        write_text_atomic(readme, _README.format(version=__version__))
    logger.info("Wrote %s", path)
    return path


_README = """# eeg2fmri derivatives

BOLD volumes synthesized from simultaneously recorded EEG by eeg2fmri {version}.

- `sub-<label>/[ses-<label>/]func/*_desc-eeg2fmri_bold.nii.gz`: synthesized 4-D BOLD,
  one frame per synthesized source volume (sidecar `SourceVolumeIndices`, 0-based).
- `*_desc-eeg2fmri_metrics.tsv`: per-volume SSIM and PSNR against the measured BOLD, for
  the model and the mean-volume baseline.
- `*_desc-eeg2fmri_stat-r_statmap.nii.gz`: voxel-wise temporal correlation between
  synthesized and measured BOLD.
- `sub-<label>.html`: participant reports (figures in `sub-<label>/figures/`);
  `group_metrics.tsv` and `group_report.html`: group level; `logs/`: settings and
  logs.
"""


def _volumes_to_nifti_data(volumes):
    """(n, D, H, W) -> (H, W, D, n), i.e. vols[t, k, i, j] -> nifti[i, j, k, t]."""
    try:
        from .bold import volumes_to_nifti
    except ImportError:  # the bold module is written by another helper
        volumes_to_nifti = None
    volumes = np.asarray(volumes)
    if volumes_to_nifti is not None:
        return np.asarray(volumes_to_nifti(volumes))
    return np.moveaxis(volumes, (0, 1, 2, 3), (3, 2, 0, 1))


def volumes_to_nifti_image(volumes, affine, tr=None, dtype=np.float32):
    """Build a NIfTI-1 image from volumes in the package layout.

    Parameters
    ----------
    volumes : array-like of shape (n_volumes, D, H, W) or (D, H, W)
        ``vols[t, k, i, j]`` becomes voxel ``(i, j, k)`` of frame ``t``.
    affine : array-like of shape (4, 4)
        Voxel to world (mm) of the grid.
    tr : float, optional
        Repetition time in seconds; sets ``zooms[3]`` and the time unit. Required for
        4-D input.
    dtype : numpy dtype, default=np.float32

    Returns
    -------
    img : nibabel.Nifti1Image
        With units ``("mm", "sec")``, sform and qform set to ``affine``.
    """
    import nibabel as nib

    volumes = np.asarray(volumes, dtype=dtype)
    affine = np.asarray(affine, dtype=np.float64)
    if affine.shape != (4, 4):
        raise ValueError(f"affine must have shape (4, 4), got {affine.shape}.")
    if volumes.ndim == 3:
        data = _volumes_to_nifti_data(volumes[None])[..., 0]
    elif volumes.ndim == 4:
        if tr is None or not float(tr) > 0:
            raise ValueError(f"tr must be a positive number of seconds, got {tr!r}.")
        data = _volumes_to_nifti_data(volumes)
    else:
        raise ValueError(
            f"volumes must have shape (n_volumes, D, H, W) or (D, H, W), "
            f"got {volumes.shape}."
        )
    img = nib.Nifti1Image(np.ascontiguousarray(data, dtype=dtype), affine)
    img.set_sform(affine, code=1)
    img.set_qform(affine, code=1)
    header = img.header
    header.set_xyzt_units("mm", "sec")
    if volumes.ndim == 4:
        zooms = header.get_zooms()[:3]
        header.set_zooms((*zooms, float(tr)))
    return img


def _save_nifti(img, path):
    import nibabel as nib

    with atomic_path(path) as tmp:
        nib.save(img, tmp)
    return Path(path)


def _skip(path, overwrite):
    if Path(path).exists() and not overwrite:
        logger.debug("%s exists, kept", path)
        return True
    return False


def write_synthesized_run(
    out_dir,
    run,
    volumes,
    affine,
    tr,
    volume_indices,
    *,
    dataset_links=None,
    model=None,
    preprocessing=None,
    intensity_units="arbitrary",
    extra=None,
    overwrite=False,
):
    """Write one synthesized 4-D BOLD run and its JSON sidecar.

    Parameters
    ----------
    out_dir : str or Path
        Derivative dataset root.
    run : PairedRun-like
        Provides ``subject``, ``session``, ``task``, ``acquisition``, ``run`` and, for
        ``Sources``, ``eeg_path`` / ``bold_path``.
    volumes : array-like of shape (n_synthesized, D, H, W)
        Synthesized volumes, one per entry of ``volume_indices``.
    affine : array-like of shape (4, 4)
        Grid of the volumes (the source BOLD's unless the model resampled it).
    tr : float
        Repetition time (s).
    volume_indices : array-like of int, shape (n_synthesized,)
        0-based index, in the source BOLD run, of each synthesized volume.
    dataset_links : dict of str to Path, optional
        ``{"raw": bids_dir, ...}`` used to write ``Sources`` as BIDS URIs.
    model : dict, optional
        Model description: ``Name``, ``File`` (file name), ``SHA256``, ``URI`` (see
        :func:`model_provenance`), ``TrainingParticipants``...
    preprocessing : dict, optional
        Feature parameters (``FeatureParams.to_dict()``) and scaling.
    intensity_units : str
        What the voxel values mean (e.g. ``"per-volume min-max scaled, [0, 1]"``).
    extra : dict, optional
        More sidecar keys.
    overwrite : bool, default=False
        Rewrite files that exist; otherwise they are kept (resume after interruption:
        files are written atomically, so an existing file is complete).

    Returns
    -------
    bold_path : DerivativePath
        Path of the ``_desc-eeg2fmri_bold.nii.gz`` image (its sidecar has the same
        stem and ``.json``).
    """
    volumes = np.asarray(volumes)
    volume_indices = np.asarray(volume_indices, dtype=int).ravel()
    if volumes.ndim != 4:
        raise ValueError(
            f"volumes must have shape (n_synthesized, D, H, W), got {volumes.shape}."
        )
    if len(volume_indices) != len(volumes):
        raise ValueError(
            f"volume_indices has {len(volume_indices)} entries for "
            f"{len(volumes)} synthesized volumes."
        )
    tr = float(tr)
    path = DerivativePath.from_run(out_dir, run)
    sidecar_path = path.update(extension=".json")
    if not _skip(path.fpath, overwrite):
        img = volumes_to_nifti_image(volumes, affine, tr)
        _save_nifti(img, path.fpath)
        logger.info("Wrote %s", path.relpath)
    if not _skip(sidecar_path.fpath, overwrite):
        links = dict(dataset_links or {})
        sources = [
            bids_uri(p, links)
            for p in (getattr(run, "eeg_path", None), getattr(run, "bold_path", None))
            if p is not None
        ]
        contiguous = bool(
            len(volume_indices) and np.all(np.diff(volume_indices) == 1)
        )
        sidecar = {
            "Description": (
                "BOLD volumes synthesized from the simultaneously recorded EEG by "
                "eeg2fmri. Frame t is source volume SourceVolumeIndices[t] (0-based); "
                "volumes without a full EEG context are not included."
            ),
            "RepetitionTime": tr,
            "TaskName": getattr(run, "task", None) or path.task,
            "SkullStripped": False,
            "Sources": sources,
            "SpatialReference": next(
                (s for s in sources if "/func/" in s or s.endswith("_bold.nii.gz")),
                "orig",
            ),
            "IntensityUnits": intensity_units,
            "SourceVolumeIndices": volume_indices.tolist(),
            "NumberOfSourceVolumesSynthesized": int(len(volume_indices)),
            "SourceVolumesContiguous": contiguous,
            "StartTimeOffset": (
                float(volume_indices[0] * tr) if len(volume_indices) else 0.0
            ),
        }
        if model:
            sidecar["Model"] = model
        if preprocessing:
            sidecar["Preprocessing"] = preprocessing
        sidecar["GeneratedBy"] = {"Name": "eeg2fmri", "Version": __version__}
        if extra:
            sidecar.update(extra)
        write_json_atomic(sidecar_path.fpath, _jsonable(sidecar))
    return path


def _jsonable(obj):
    """Make numpy scalars/arrays, Paths and tuples JSON-serialisable."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


#: Descriptions of the metrics TSV columns (written to its JSON sidecar).
METRICS_COLUMNS = {
    "volume_index": {"Description": "0-based index of the volume in the source run"},
    "onset": {"Description": "Volume onset from the first source volume", "Units": "s"},
    "ssim": {"Description": "SSIM of the synthesized vs measured volume (2-D, slices "
             "as channels, Gaussian window 11, sigma 1.5, data range 1)"},
    "psnr": {"Description": "PSNR of the synthesized vs measured volume, "
             "10 log10(1 / MSE)", "Units": "dB"},
    "ssim_baseline": {"Description": "SSIM of the mean-volume baseline"},
    "psnr_baseline": {"Description": "PSNR of the mean-volume baseline", "Units": "dB"},
}


def write_metrics_tsv(path, table, *, summary=None, overwrite=False):
    """Write a per-volume metrics table (TSV, ``n/a`` for missing) and its JSON.

    Parameters
    ----------
    path : DerivativePath or str or Path
        Destination ``..._desc-eeg2fmri_metrics.tsv``.
    table : pandas.DataFrame
        One row per synthesized volume (columns as in ``METRICS_COLUMNS``).
    summary : dict, optional
        Run-level numbers (means, temporal correlation) stored in the JSON sidecar
        under ``"Summary"``; the group level reads them.
    overwrite : bool, default=False

    Returns
    -------
    path : Path
    """
    path = Path(path)
    if not _skip(path, overwrite):
        with atomic_path(path) as tmp:
            table.to_csv(tmp, sep="\t", index=False, na_rep="n/a", float_format="%.6g")
    json_path = path.with_name(path.name[: -len(".tsv")] + ".json")
    if not _skip(json_path, overwrite):
        meta = {c: METRICS_COLUMNS[c] for c in table.columns if c in METRICS_COLUMNS}
        if summary is not None:
            meta["Summary"] = summary
        write_json_atomic(json_path, _jsonable(meta))
    return path


def write_correlation_map(path, r_map, affine, *, mask=None, sidecar=None,
                          overwrite=False):
    """Write a voxel-wise temporal-correlation map (3-D NIfTI, 0 outside the mask).

    Parameters
    ----------
    path : DerivativePath or str or Path
        Destination ``..._desc-eeg2fmri_stat-r_statmap.nii.gz``.
    r_map : array-like of shape (D, H, W)
        Pearson r per voxel (NaN where undefined; written as 0).
    affine : array-like of shape (4, 4)
    mask : array-like of bool, shape (D, H, W), optional
        Voxels where r was computed.
    sidecar : dict, optional
        Extra keys of the JSON sidecar.
    overwrite : bool, default=False

    Returns
    -------
    path : Path
    """
    path = Path(path)
    r_map = np.nan_to_num(np.asarray(r_map, dtype=np.float32), nan=0.0)
    if mask is not None:
        r_map = np.where(np.asarray(mask, dtype=bool), r_map, 0.0).astype(np.float32)
    if not _skip(path, overwrite):
        _save_nifti(volumes_to_nifti_image(r_map, affine), path)
    json_path = path.with_name(path.name[: -len(".nii.gz")] + ".json")
    if not _skip(json_path, overwrite):
        meta = {
            "Description": (
                "Voxel-wise Pearson correlation over time between synthesized and "
                "measured BOLD (0 outside the brain mask)."
            ),
            "Statistic": "r",
        }
        meta.update(sidecar or {})
        write_json_atomic(json_path, _jsonable(meta))
    return path
