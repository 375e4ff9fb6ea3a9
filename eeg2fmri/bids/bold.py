"""Load BOLD runs and convert between NIfTI (x, y, z, t) and model (t, D, H, W) arrays.

Array convention (see CONTRACTS): ``vols[t, k, i, j] = nifti[i, j, k, t]``; D is the
NIfTI 3rd voxel axis (slices), H the 1st, W the 2nd. The affine is never touched: what
we read is written back unchanged, oblique or not.

TR: the sidecar ``RepetitionTime`` (seconds, BIDS) wins. Without one, the NIfTI header's
``pixdim[4]`` is used with its ``xyzt_units``: ``msec``/``usec`` are converted, and a
value above 100 with units ``sec`` or unknown is taken as milliseconds (a common
scanner-converter bug; nibabel's ``example4d.nii.gz`` stores 2000 for a 2 s TR) with a
WARNING.
"""

import functools
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._utils.logging import logger
from ..exceptions import DataError, MissingInputError
from .interop import as_file_path

__all__ = [
    "BoldRun",
    "load_bold",
    "nifti_to_volumes",
    "volumes_to_nifti",
    "header_tr",
    "normalize_tr",
]

#: A TR above this many "seconds" is taken as milliseconds.
_MS_THRESHOLD = 100.0

#: Number of dimensions -> the NIfTI axis of each model axis: model axis ``n`` (t, D,
#: H, W, or D, H, W) is NIfTI axis ``_NIFTI_AXES[ndim][n]`` (i, j, k[, t]).
_NIFTI_AXES = {4: (3, 2, 0, 1), 3: (2, 0, 1)}


def _nifti_axes(array, caller):
    if array.ndim not in _NIFTI_AXES:
        raise ValueError(
            f"{caller}: expected a 3-D or 4-D array, got shape {array.shape}"
        )
    return _NIFTI_AXES[array.ndim]


def nifti_to_volumes(data):
    """NIfTI-ordered data -> model-ordered volumes.

    Parameters
    ----------
    data : array, shape (X, Y, Z, T) or (X, Y, Z)
        Voxel array as stored in the NIfTI file (i, j, k[, t]).

    Returns
    -------
    vols : np.ndarray, shape (T, Z, X, Y) or (Z, X, Y)
        ``vols[t, k, i, j] = data[i, j, k, t]`` (a view; same dtype).
    """
    data = np.asarray(data)
    return np.moveaxis(data, _nifti_axes(data, "nifti_to_volumes"), range(data.ndim))


def volumes_to_nifti(vols):
    """Model-ordered volumes -> NIfTI-ordered data (inverse of
    :func:`nifti_to_volumes`).

    Parameters
    ----------
    vols : array, shape (T, D, H, W) or (D, H, W)

    Returns
    -------
    data : np.ndarray, shape (H, W, D, T) or (H, W, D)
        ``data[i, j, k, t] = vols[t, k, i, j]`` (a view; same dtype).
    """
    vols = np.asarray(vols)
    return np.moveaxis(vols, range(vols.ndim), _nifti_axes(vols, "volumes_to_nifti"))


def normalize_tr(value, source):
    """Check a TR value and convert obvious milliseconds to seconds.

    Parameters
    ----------
    value : float
        The TR as found.
    source : str
        Where it came from, for messages.

    Returns
    -------
    tr : float
        Seconds.
    """
    try:
        tr = float(value)
    except (TypeError, ValueError):
        raise DataError(
            f"{source}: expected a number of seconds, found {value!r}"
        ) from None
    if not np.isfinite(tr) or tr <= 0:
        raise DataError(
            f"{source}: expected a positive number of seconds, found {value!r}"
        )
    if tr > _MS_THRESHOLD:
        logger.warning(
            "%s is %g: taken as milliseconds, TR = %g s", source, tr, tr / 1000
        )
        tr /= 1000.0
    return tr


def header_tr(header, path="NIfTI file"):
    """TR in seconds from a NIfTI header, or None when ``pixdim[4]`` is not set.

    Parameters
    ----------
    header : nibabel.Nifti1Header
    path : str or Path
        File name for messages.

    Returns
    -------
    tr : float or None
    """
    try:
        value = float(header["pixdim"][4])
        units = header.get_xyzt_units()[1]
    except (KeyError, ValueError, TypeError, AttributeError):
        return None
    if not np.isfinite(value) or value <= 0:
        return None
    if units == "msec":
        logger.info("%s: header TR %g ms -> %g s", path, value, value / 1000)
        return value / 1000.0
    if units == "usec":
        logger.info("%s: header TR %g us -> %g s", path, value, value / 1e6)
        return value / 1e6
    if value > _MS_THRESHOLD:
        logger.warning(
            "%s: header pixdim[4] = %g with time unit %r is implausible in seconds; "
            "taken as %g ms, TR = %g s",
            path,
            value,
            units,
            value,
            value / 1000,
        )
        return value / 1000.0
    return value


@dataclass(frozen=True, eq=False)
class BoldRun:
    """A loaded BOLD run.

    Attributes
    ----------
    path : Path
    image : nibabel.Nifti1Image
        The image (data read lazily by :attr:`volumes`).
    tr : float
        Repetition time in seconds.
    metadata : dict
        Sidecar metadata passed to :func:`load_bold` (may be empty).
    """

    path: Path
    image: object = field(repr=False)
    tr: float
    metadata: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def affine(self):
        """Voxel-to-world affine, shape (4, 4), as stored (oblique affines kept)."""
        return self.image.affine

    @property
    def header(self):
        """The NIfTI header."""
        return self.image.header

    @property
    def shape(self):
        """(n_volumes, D, H, W) without reading the data."""
        x, y, z, t = self.image.shape
        return (t, z, x, y)

    @property
    def n_volumes(self):
        """Number of volumes (int)."""
        return self.shape[0]

    @property
    def slice_timing(self):
        """``SliceTiming`` (s) from the metadata as an array, or None."""
        st = self.metadata.get("SliceTiming")
        return None if st is None else np.asarray(st, dtype=float)

    @functools.cached_property
    def volumes(self):
        """The data, shape (n_volumes, D, H, W), float32, C-contiguous; read once.

        NaNs (some pipelines write them outside the brain) are set to 0 with a warning.
        """
        try:
            data = np.asanyarray(self.image.dataobj)
        except (OSError, EOFError, ValueError) as err:
            raise DataError(
                f"cannot read the voxel data of {self.path}: the file looks truncated "
                f"or corrupt ({err})"
            ) from None
        vols = np.ascontiguousarray(
            nifti_to_volumes(data.reshape(self.image.shape)), dtype=np.float32
        )
        bad = ~np.isfinite(vols)
        if bad.any():
            logger.warning(
                "%s: %d non-finite voxel values set to 0", self.path, int(bad.sum())
            )
            vols[bad] = 0.0
        return vols


def load_bold(path, *, tr=None, metadata=None):
    """Open a 4-D BOLD NIfTI file.

    Parameters
    ----------
    path : path-like, mne_bids.BIDSPath or bids.layout.BIDSFile
        ``.nii`` or ``.nii.gz`` file.
    tr : float, optional
        Repetition time in seconds (e.g. :attr:`PairedRun.tr`, from the sidecars). When
        None, ``metadata["RepetitionTime"]``, then the NIfTI header are used.
    metadata : dict, optional
        Sidecar metadata, kept on the result (``SliceTiming``, ...).

    Returns
    -------
    run : BoldRun
        ``.volumes`` (n_volumes, D, H, W) float32 (read on first access), ``.affine``,
        ``.tr``, ``.header``, ``.path``.

    Raises
    ------
    MissingInputError
        The file is missing or empty.
    DataError
        It is not a readable NIfTI file, not 4-D, or has no TR anywhere.
    """
    import nibabel as nib

    path = as_file_path(path, "path")
    metadata = dict(metadata or {})
    if not path.is_file():
        raise MissingInputError(f"BOLD file {path} does not exist")
    if path.stat().st_size == 0:
        raise MissingInputError(f"BOLD file {path} is empty (0 bytes)")
    try:
        img = nib.load(path)
    except Exception as err:
        raise DataError(
            f"cannot read BOLD file {path} as NIfTI: {type(err).__name__}: {err}"
        ) from None
    shape = img.shape
    if len(shape) > 4 and all(s == 1 for s in shape[4:]):
        logger.info(
            "%s: dropping trailing singleton dimensions of shape %s", path, tuple(shape)
        )
        img = nib.Nifti1Image(
            np.asanyarray(img.dataobj).reshape(shape[:4]), img.affine, img.header
        )
        shape = img.shape
    if len(shape) != 4:
        raise DataError(
            f"BOLD file {path}: expected a 4-D BOLD series (x, y, z, t), found shape "
            f"{tuple(shape)}"
        )

    if tr is None and metadata.get("RepetitionTime") is not None:
        tr = metadata["RepetitionTime"]
    htr = header_tr(img.header, path)
    if tr is not None:
        tr = normalize_tr(tr, f"RepetitionTime for {path}")
        if htr is not None and abs(htr - tr) > 0.01 * tr:
            logger.warning(
                "%s: header TR %g s differs from the sidecar's %g s; using the sidecar",
                path,
                htr,
                tr,
            )
    elif htr is not None:
        tr = htr
    else:
        raise DataError(
            f"no RepetitionTime for {path}: none in the sidecars and the NIfTI "
            "header's pixdim[4] is not set"
        )
    return BoldRun(path=path, image=img, tr=float(tr), metadata=metadata)
