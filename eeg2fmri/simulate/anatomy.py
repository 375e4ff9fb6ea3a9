"""Anatomy on the EPI grid: the MNI152 template resampled, and the network maps.

nilearn's bundled MNI152 (ICBM 2009a, 1 mm) T1 and grey/white-matter probability
maps, box-averaged to the EPI voxel size and resampled to a grid of ``(D, H, W)``
voxels whose affine is in MNI millimetres (RAS, voxel size chosen so that the whole
brain fits). EPI baseline = ``S0 * (0.8 GM + 0.6 WM + 1.0 CSF)``.
"""

import functools
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

__all__ = ["Anatomy", "load_anatomy", "network_maps"]


@dataclass(frozen=True)
class Anatomy:
    """Anatomy on the EPI grid, arrays of shape (D, H, W) float32.

    Attributes
    ----------
    affine : ndarray of shape (4, 4)
        Voxel (i, j, k) -> MNI mm; i along H, j along W, k along D.
    gm, wm, csf : ndarray of shape (D, H, W)
        Tissue fractions in [0, 1].
    mni : ndarray of shape (D, H, W, 3)
        MNI coordinates of each voxel centre.
    """

    affine: np.ndarray
    gm: np.ndarray
    wm: np.ndarray
    csf: np.ndarray
    mni: np.ndarray

    @property
    def contrast(self):
        """EPI (T2*) contrast per voxel, (D, H, W) float32, about 0.6 to 1."""
        return (0.8 * self.gm + 0.6 * self.wm + 1.0 * self.csf).astype(np.float32)


def _template_dir():
    spec = importlib.util.find_spec("nilearn")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the simulator needs nilearn (its bundled MNI152 templates)")
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data"


@functools.lru_cache(maxsize=1)
def _load_templates():
    """MNI152 2009a T1, GM, WM at 1 mm as (3, X, Y, Z) float32 in [0, 1] + affine."""
    import nibabel as nib

    folder = _template_dir()
    arrays, affine = [], None
    for kind in ("t1", "gm", "wm"):
        img = nib.load(folder / f"mni_icbm152_{kind}_tal_nlin_sym_09a_converted.nii.gz")
        arrays.append(np.asarray(img.dataobj, dtype=np.float32) / 255.0)
        affine = img.affine
    return np.stack(arrays), affine


@functools.lru_cache(maxsize=8)
def load_anatomy(bold_shape):
    """Resample the MNI152 template to an EPI grid of ``bold_shape`` voxels.

    Parameters
    ----------
    bold_shape : tuple of int
        ``(D, H, W)``: slices (NIfTI k, inferior to superior), then i (left to
        right) and j (posterior to anterior).

    Returns
    -------
    anatomy : Anatomy
        Cached per shape (treat its arrays as read-only).
    """
    n_k, n_i, n_j = (int(s) for s in bold_shape)
    tpl, tpl_affine = _load_templates()
    brain = tpl[0] > 0.2
    idx = np.argwhere(brain)
    lo_mm = tpl_affine[:3, :3] @ idx.min(0) + tpl_affine[:3, 3]
    hi_mm = tpl_affine[:3, :3] @ idx.max(0) + tpl_affine[:3, 3]
    extent, center = hi_mm - lo_mm, (hi_mm + lo_mm) / 2
    inplane = max(extent[0] * 1.08 / n_i, extent[1] * 1.08 / n_j)
    zooms = np.array([inplane, inplane, extent[2] * 1.06 / n_k])
    shape_ijk = np.array([n_i, n_j, n_k])
    affine = np.eye(4)
    affine[:3, :3] = np.diag(zooms)
    affine[:3, 3] = center - zooms * (shape_ijk - 1) / 2

    # partial-volume average over one EPI voxel, then trilinear interpolation
    box = tuple(max(1, int(round(z))) for z in zooms)
    smooth = ndimage.uniform_filter(
        np.concatenate([brain[None].astype(np.float32), tpl[1:]]), size=(1, *box)
    )
    ii, jj, kk = np.meshgrid(
        np.arange(n_i), np.arange(n_j), np.arange(n_k), indexing="ij"
    )
    vox = np.stack([ii, jj, kk, np.ones_like(ii)], axis=-1).reshape(-1, 4).T
    mni = (affine @ vox)[:3]
    tpl_idx = np.linalg.solve(tpl_affine, np.vstack([mni, np.ones(mni.shape[1])]))[:3]
    sampled = [
        ndimage.map_coordinates(vol, tpl_idx, order=1, mode="constant", cval=0.0)
        for vol in smooth
    ]

    def to_dhw(a):  # (i, j, k) flattened -> (k, i, j)
        return np.ascontiguousarray(
            a.reshape(n_i, n_j, n_k).transpose(2, 0, 1), dtype=np.float32
        )

    mask, gm, wm = (to_dhw(np.clip(a, 0, 1)) for a in sampled)
    csf = np.clip(mask - gm - wm, 0.0, 1.0)
    mni_dhw = mni.T.reshape(n_i, n_j, n_k, 3).transpose(2, 0, 1, 3).astype(np.float32)
    for a in (gm, wm, csf, mni_dhw):
        a.setflags(write=False)
    return Anatomy(affine=affine, gm=gm, wm=wm, csf=csf, mni=mni_dhw)


def network_maps(anatomy, networks):
    """Spatial BOLD maps of the networks.

    Parameters
    ----------
    anatomy : Anatomy
    networks : sequence of NetworkSpec

    Returns
    -------
    maps : ndarray of shape (K, D, H, W) float32
        Sum of Gaussian blobs (sd max(8 mm, 0.75 voxel)) times the grey-matter
        fraction, scaled to a maximum of 1; values below 0.01 set to 0.
    """
    zooms = np.sqrt((anatomy.affine[:3, :3] ** 2).sum(0))
    sd = max(8.0, 0.75 * zooms.max())
    maps = np.zeros((len(networks), *anatomy.gm.shape), dtype=np.float32)
    for k, net in enumerate(networks):
        for c in net.mni_centers:
            d2 = ((anatomy.mni - np.asarray(c, dtype=np.float32)) ** 2).sum(-1)
            maps[k] += np.exp(-d2 / (2 * sd**2))
        maps[k] *= anatomy.gm
        maps[k] /= max(maps[k].max(), 1e-6)
    maps[maps < 0.01] = 0.0  # cut the Gaussian tails: sparse maps, fast BOLD synthesis
    return maps
