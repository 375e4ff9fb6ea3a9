"""The grid a model synthesizes on: :class:`OutputSpace`.

A model trained on BOLD volumes predicts voxels of one grid. The model file records
that grid exactly (shape and affine), what it is (a BIDS ``space`` label: a template
name such as ``MNI152NLin2009cAsym`` when the training BOLD came from fMRIPrep in a
template space, else the native grid of a training participant), a brain mask, a
reference mean volume from the training participants (so that synthesized BOLD has
units without any measured BOLD), the intensity units and the TR. Nothing is fetched:
templateflow downloads templates on first use, so the model carries its own mask and
reference.
"""

import math
from dataclasses import dataclass, replace

import numpy as np

__all__ = ["OutputSpace", "TEMPLATE_SPACES", "brain_mask", "space_label_of"]

#: BIDS standard template identifiers (volumetric) a ``space-`` label may name
#: without a SpatialReference (BIDS appendix "Coordinate systems", image-based
#: standard templates).
TEMPLATE_SPACES = (
    "ICBM452AirSpace",
    "ICBM452Warp5Space",
    "IXI549Space",
    "fsaverage",
    "fsaverageSym",
    "fsLR",
    "MNIColin27",
    "MNI152Lin",
    "MNI152NLin2009aAsym",
    "MNI152NLin2009aSym",
    "MNI152NLin2009bAsym",
    "MNI152NLin2009bSym",
    "MNI152NLin2009cAsym",
    "MNI152NLin2009cSym",
    "MNI152NLin6Sym",
    "MNI152NLin6ASym",
    "MNI305",
    "NIHPD",
    "OASIS30AntsOASISAnts",
    "OASIS30Atropos",
    "Talairach",
    "UNCInfant",
)


def space_label_of(path):
    """The ``space-<label>`` entity of a BIDS file name, or None.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    label : str or None

    Examples
    --------
    >>> space_label_of("sub-01_task-rest_space-MNI152NLin2009cAsym_bold.nii.gz")
    'MNI152NLin2009cAsym'
    """
    name = str(path).replace("\\", "/").rsplit("/", 1)[-1]
    for part in name.split("_"):
        if part.startswith("space-"):
            return part[len("space-"):] or None
    return None


def brain_mask(mean_volume):
    """A brain mask of a mean BOLD volume: voxels above 20 % of its robust range.

    Parameters
    ----------
    mean_volume : array-like of shape (D, H, W)

    Returns
    -------
    mask : ndarray of bool, shape (D, H, W)
        ``mean > p2 + 0.2 * (p98 - p2)`` (percentiles of the finite values); all True
        when the volume is constant or the threshold keeps nothing.
    """
    mean_volume = np.asarray(mean_volume, dtype=np.float64)
    finite = mean_volume[np.isfinite(mean_volume)]
    if finite.size == 0 or np.ptp(finite) == 0:
        return np.ones(mean_volume.shape, dtype=bool)
    lo, hi = np.percentile(finite, (2, 98))
    mask = mean_volume > lo + 0.2 * (hi - lo)
    return mask if mask.any() else np.ones(mean_volume.shape, dtype=bool)


def _shape3(shape):
    try:
        out = tuple(int(s) for s in shape)
    except (TypeError, ValueError):
        out = ()
    if len(out) != 3 or min(out) < 1:
        raise ValueError(
            f"OutputSpace.shape: expected (D, H, W), three positive ints, found "
            f"{shape!r}"
        )
    return out


def _volume(value, shape, name, dtype):
    if value is None:
        return None
    arr = np.asarray(value, dtype=dtype)
    if arr.shape != shape:
        raise ValueError(
            f"OutputSpace.{name}: expected shape {shape} (the grid), found {arr.shape}"
        )
    arr = np.ascontiguousarray(arr)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class OutputSpace:
    """The voxel grid, space, mask, reference volume, units and TR of a model's output.

    Parameters
    ----------
    shape : tuple of 3 ints
        ``(D, H, W)`` of the volumes (D slices along the NIfTI 3rd axis).
    affine : array-like of shape (4, 4)
        Voxel-to-world (mm) affine of the grid in NIfTI ``(i, j, k)`` order.
    label : str
        BIDS ``space-`` label of the synthesized images: a template name
        (:data:`TEMPLATE_SPACES`) or, for a native grid, ``"sub<label>"`` of the
        participant whose grid it is.
    description : str
        What the grid is, in words (which participant's native grid, how far the
        training runs' grids were from it).
    tr : float, optional
        Repetition time (s) of the training runs.
    mask : array-like of bool, shape (D, H, W), optional
        Brain mask (of the reference volume).
    reference : array-like of float32, shape (D, H, W), optional
        Mean volume of the training participants' BOLD, in their units.
    units : str, optional
        What the intensities of synthesized volumes mean.

    Attributes
    ----------
    is_template : bool
        Whether ``label`` names a standard template.
    """

    shape: tuple
    affine: np.ndarray
    label: str
    description: str = ""
    tr: float | None = None
    mask: np.ndarray | None = None
    reference: np.ndarray | None = None
    units: str | None = None

    def __post_init__(self):
        shape = _shape3(self.shape)
        affine = np.asarray(self.affine, dtype=np.float64)
        if affine.shape != (4, 4) or not np.isfinite(affine).all():
            raise ValueError(
                f"OutputSpace.affine: expected a finite (4, 4) array, found shape "
                f"{affine.shape}"
            )
        label = str(self.label)
        if not label.isalnum():
            raise ValueError(
                f"OutputSpace.label: expected an alphanumeric BIDS label, found "
                f"{label!r}"
            )
        tr = self.tr
        if tr is not None and not (math.isfinite(float(tr)) and float(tr) > 0):
            raise ValueError(
                f"OutputSpace.tr: expected a positive TR in s, found {tr!r}"
            )
        affine.setflags(write=False)
        object.__setattr__(self, "shape", shape)
        object.__setattr__(self, "affine", affine)
        object.__setattr__(self, "label", label)
        object.__setattr__(self, "tr", None if tr is None else float(tr))
        object.__setattr__(self, "mask", _volume(self.mask, shape, "mask", bool))
        object.__setattr__(
            self, "reference", _volume(self.reference, shape, "reference", np.float32)
        )

    @property
    def is_template(self):
        """Whether the label names a standard template (bool)."""
        return self.label in TEMPLATE_SPACES

    @property
    def nifti_shape(self):
        """``(x, y, z)`` = ``(H, W, D)``: the shape of a NIfTI volume on this grid."""
        d, h, w = self.shape
        return (h, w, d)

    def replace(self, **changes):
        """A copy with some fields changed (checked like the constructor)."""
        return replace(self, **changes)

    def same_grid(self, other, atol=1e-3):
        """Whether ``other`` (an OutputSpace) has this shape and affine (bool)."""
        return self.shape == tuple(other.shape) and np.allclose(
            self.affine, other.affine, atol=atol
        )

    def to_dict(self):
        """JSON-serialisable description, without the mask and reference arrays."""
        return {
            "shape": list(self.shape),
            "affine": self.affine.tolist(),
            "label": self.label,
            "description": self.description,
            "tr": self.tr,
            "units": self.units,
            "is_template": self.is_template,
        }

    @classmethod
    def from_dict(cls, d, *, mask=None, reference=None):
        """Rebuild from :meth:`to_dict` output and the two arrays.

        Parameters
        ----------
        d : dict
        mask, reference : array-like of shape (D, H, W), optional

        Returns
        -------
        space : OutputSpace
        """
        return cls(
            tuple(d["shape"]),
            np.asarray(d["affine"], dtype=np.float64),
            d["label"],
            d.get("description", ""),
            d.get("tr"),
            mask,
            reference,
            d.get("units"),
        )

    def __eq__(self, other):
        if not isinstance(other, OutputSpace):
            return NotImplemented
        arrays_equal = all(
            (a is None and b is None)
            or (a is not None and b is not None and np.array_equal(a, b))
            for a, b in ((self.mask, other.mask), (self.reference, other.reference))
        )
        return (
            self.same_grid(other, atol=0)
            and (self.label, self.description, self.tr, self.units)
            == (other.label, other.description, other.tr, other.units)
            and arrays_equal
        )

    __hash__ = None

    def __repr__(self):
        return (
            f"<OutputSpace space-{self.label} {self.shape} "
            f"{'template' if self.is_template else 'native'}, "
            f"mask={'yes' if self.mask is not None else 'no'}, "
            f"reference={'yes' if self.reference is not None else 'no'}>"
        )
