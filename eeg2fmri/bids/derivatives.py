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
    sub-05/func/sub-05_task-rest_space-sub01_desc-eeg2fmri_bold.nii.gz
                                synthesized from EEG recorded without fMRI (+ .json)
    sub-01.html, sub-01/figures/   participant report (eeg2fmri.reports)
    group_metrics.tsv, group_report.html, figures/, models/, logs/

**Which volumes a synthesized image holds.** Every volume the EEG covers: frame ``t``
is volume ``SourceVolumeIndices[t]`` (0-based; ``0 .. n - 1``) of the run, so the
image is a regular time series with the run's TR. Frames at the start of a run, whose
EEG context (``n_context`` TR windows before the volume) begins before the first EEG
sample, are synthesized with the recording's mean spectrum in place of the missing
windows and listed in ``FramesWithIncompleteContext`` (``ContextComplete`` per frame);
metrics against the measured BOLD leave them (and the first ``discard_volumes``
volumes, before the magnetisation is steady) out.

**EEG recorded without fMRI** gets ``space-<label>`` outputs on the model's grid, with
the model's reference mean volume (``*_space-<label>_boldref.nii.gz``, listed in
``.bidsignore`` as fMRIPrep does) as ``SpatialReference`` and its brain mask
(``*_space-<label>_desc-brain_mask.nii.gz``); their sidecars say
``"MeasuredBOLD": false``.

The NIfTI header and the sidecar agree (``REPETITION_TIME_MISMATCH`` is a validator
error otherwise): spatial units mm, time units s, ``zooms[3] = RepetitionTime``.
"""
import json
import os
from pathlib import Path

import numpy as np

from .._utils.io import atomic_path, write_json_atomic, write_text_atomic
from .._utils.logging import logger
from .._version import __version__
from .derivative_paths import (
    DESC,
    DerivativePath,
    _dataset_uri,
    bids_uri,
    file_sha256,
    model_provenance,
)
from .interop import as_bids_root

__all__ = [
    "BIDS_VERSION",
    "DESC",
    "DerivativePath",
    "bids_uri",
    "file_sha256",
    "model_provenance",
    "write_bidsignore",
    "write_dataset_description",
    "write_synthesized_run",
    "write_space_reference",
    "write_metrics_tsv",
    "write_correlation_map",
    "volumes_to_nifti_image",
]

BIDS_VERSION = "1.10.0"

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
    "*_boldref.nii.gz",
    "*_boldref.json",
)

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
    space=None,
    spatial_reference=None,
    extra=None,
    overwrite=False,
):
    """Write one synthesized 4-D BOLD run and its JSON sidecar.

    Parameters
    ----------
    out_dir : str or Path
        Derivative dataset root.
    run : PairedRun or EEGRun-like
        Provides ``subject``, ``session``, ``task``, ``acquisition``, ``run`` and, for
        ``Sources``, ``eeg_path`` (and ``bold_path`` when the run has BOLD).
    volumes : array-like of shape (n_frames, D, H, W)
        Synthesized volumes, one per entry of ``volume_indices``.
    affine : array-like of shape (4, 4)
        Grid of the volumes (the source BOLD's, or the model's for EEG-only runs).
    tr : float
        Repetition time (s).
    volume_indices : array-like of int, shape (n_frames,)
        0-based index of each frame's volume in the run.
    dataset_links : dict of str to Path, optional
        ``{"raw": bids_dir, ...}`` used to write ``Sources`` as BIDS URIs.
    model : dict, optional
        Model description: ``Name``, ``File`` (file name), ``SHA256``, ``URI`` (see
        :func:`model_provenance`), ``TrainingParticipants``...
    preprocessing : dict, optional
        Feature parameters (``FeatureParams.to_dict()``) and scaling.
    intensity_units : str
        What the voxel values mean (e.g. ``"per-volume min-max scaled, [0, 1]"``).
    space : str, optional
        ``space-`` entity of the file (EEG-only runs: the model's space label).
    spatial_reference : str, optional
        ``SpatialReference`` (a BIDS URI); default the source BOLD, else ``"orig"``.
    extra : dict, optional
        More sidecar keys (e.g. :meth:`eeg2fmri.synthesis.SynthesizedRun.sidecar`:
        volume timing, context completeness, EEG adaptations).
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
    path = DerivativePath.from_run(out_dir, run, space=space)
    sidecar_path = path.update(extension=".json")
    if not _skip(path.fpath, overwrite):
        img = volumes_to_nifti_image(volumes, affine, tr)
        _save_nifti(img, path.fpath)
        logger.info("Wrote %s", path.relpath)
    if not _skip(sidecar_path.fpath, overwrite):
        links = dict(dataset_links or {})
        bold_source = getattr(run, "bold_path", None)
        sources = [
            bids_uri(p, links)
            for p in (getattr(run, "eeg_path", None), bold_source)
            if p is not None
        ]
        contiguous = bool(
            len(volume_indices) and np.all(np.diff(volume_indices) == 1)
        )
        if spatial_reference is None:
            spatial_reference = next(
                (s for s in sources if "/func/" in s or s.endswith("_bold.nii.gz")),
                "orig",
            )
        sidecar = {
            "Description": (
                "BOLD volumes synthesized from EEG by eeg2fmri. Frame t is volume "
                "SourceVolumeIndices[t] (0-based) of the run; every volume the EEG "
                "covers is synthesized, and frames whose EEG context starts before "
                "the first EEG sample (FramesWithIncompleteContext) used the "
                "recording's mean spectrum for the missing windows."
            ),
            "RepetitionTime": tr,
            "TaskName": getattr(run, "task", None) or path.task,
            "SkullStripped": False,
            "Sources": sources,
            "SpatialReference": spatial_reference,
            "MeasuredBOLD": bold_source is not None,
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


def write_space_reference(out_dir, run, space, reference, mask, affine, *,
                          model=None, overwrite=False):
    """Write the model's reference volume and brain mask next to an EEG-only run.

    Parameters
    ----------
    out_dir : str or Path
        Derivative dataset root.
    run : EEGRun-like
        Entities of the run.
    space : str
        The model's space label.
    reference : array-like of shape (D, H, W)
        Mean training BOLD volume (the model's ``output_space_.reference``).
    mask : array-like of bool, shape (D, H, W)
        The model's brain mask.
    affine : array-like of shape (4, 4)
    model : dict, optional
        Model provenance (``File``, ``SHA256``, ``URI``...).
    overwrite : bool, default=False

    Returns
    -------
    boldref, mask : DerivativePath
        ``*_space-<label>_boldref.nii.gz`` (the image ``SpatialReference`` of the
        run's outputs points to; listed in ``.bidsignore``) and
        ``*_space-<label>_desc-brain_mask.nii.gz``.
    """
    ref_path = DerivativePath.from_run(out_dir, run, space=space, desc=None,
                                       suffix="boldref")
    mask_path = DerivativePath.from_run(out_dir, run, space=space, desc="brain",
                                        suffix="mask")
    ref_uri = f"bids::{ref_path.relpath.as_posix()}"
    where = {k: model[k] for k in ("File", "SHA256", "URI") if model and k in model}
    if not _skip(ref_path.fpath, overwrite):
        _save_nifti(volumes_to_nifti_image(np.asarray(reference, np.float32), affine),
                    ref_path.fpath)
    json_path = ref_path.update(extension=".json").fpath
    if not _skip(json_path, overwrite):
        write_json_atomic(json_path, _jsonable({
            "Description": (
                f"Reference of space-{space}: the mean BOLD volume of the model's "
                "training participants, in their units (the grid and baseline of "
                "the synthesized images)."
            ),
            "Model": where,
        }))
    if not _skip(mask_path.fpath, overwrite):
        _save_nifti(
            volumes_to_nifti_image(np.asarray(mask, dtype=np.uint8), affine,
                                   dtype=np.uint8),
            mask_path.fpath,
        )
    json_path = mask_path.update(extension=".json").fpath
    if not _skip(json_path, overwrite):
        write_json_atomic(json_path, _jsonable({
            "Description": "Brain mask of the model's reference volume.",
            "Type": "Brain",
            "SpatialReference": ref_uri,
            "Model": where,
        }))
    return ref_path, mask_path


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
