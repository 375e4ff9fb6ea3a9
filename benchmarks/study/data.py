"""The study's data: simulated datasets, pairs, folds, masks and the EEG-shift null."""

import math
from pathlib import Path

import numpy as np


def bids_root(work, spec):
    """Where a dataset is simulated: ``<work>/bids-<name>``."""
    return Path(work) / f"bids-{spec.name}"


def simulate(spec, work, seed):
    """Simulate one dataset into :func:`bids_root` (skipped when present)."""
    from eeg2fmri.simulate import simulate_dataset

    bids = bids_root(work, spec)
    if not (bids / "dataset_description.json").is_file():
        simulate_dataset(bids, **spec.simulate_kwargs(seed))
    return bids


def load_pairs(spec, work, features="default"):
    """The dataset's pairs, default or ``'official'`` features (cached in ``work``).

    Returns
    -------
    ds : eeg2fmri.features.PairedDataset
    """
    from eeg2fmri.features import FeatureParams, build_dataset

    params = FeatureParams.official() if features == "official" else FeatureParams()
    return build_dataset(
        bids_root(work, spec),
        params,
        target_shape=spec.target_shape,
        work_dir=Path(work) / "features",
    )


def folds(spec, subjects):
    """``[(fold name, test subjects)]`` of a dataset.

    One fold per participant (``sub-<label>``) by default; with ``spec.n_test`` one
    fold ``test`` of the last ``n_test`` participants; with ``spec.n_folds`` that many
    folds (``fold-<k>``) of consecutive participants, as equal in size as possible.
    """
    subjects = sorted(subjects)
    if spec.n_test is not None:
        return [("test", subjects[-spec.n_test :])]
    if spec.n_folds is not None:
        if not 2 <= spec.n_folds <= len(subjects):
            raise ValueError(
                f"n_folds of dataset {spec.name!r}: expected 2 to {len(subjects)} "
                f"(the number of participants), got {spec.n_folds}"
            )
        parts = np.array_split(np.arange(len(subjects)), spec.n_folds)
        return [
            (f"fold-{k}", [subjects[i] for i in part])
            for k, part in enumerate(parts, start=1)
        ]
    return [(f"sub-{s}", [s]) for s in subjects]


def truth_path(bids, run_label, desc):
    """``derivatives/simulation/sub-*/func/<run>_desc-<desc>.nii.gz`` of a run."""
    sub = run_label.split("_")[0]
    name = f"{run_label}_desc-{desc}.nii.gz"
    return Path(bids) / "derivatives" / "simulation" / sub / "func" / name


def truth_volumes(bids, run_label, volume_indices, target_shape=None,
                  desc="noiseless_bold"):
    """Volumes the simulator wrote for a run (default: the noise-free BOLD).

    Returns
    -------
    volumes : ndarray of shape (n, D, H, W)
        The given volumes, DCT-resampled to ``target_shape`` when given.
    """
    from eeg2fmri.bids import load_bold
    from eeg2fmri.features import resample_volumes

    bold = load_bold(truth_path(bids, run_label, desc))
    vols = np.asarray(bold.volumes)[np.asarray(volume_indices)]
    if target_shape is not None:
        vols, _ = resample_volumes(vols, bold.affine, target_shape, "dct")
    return vols


def network_mask(bids, run_label, target_shape=None):
    """Voxels where a simulated network map exceeds 0.5, (D, H, W) bool."""
    import nibabel as nib

    from eeg2fmri.bids import nifti_to_volumes
    from eeg2fmri.features import resample_volumes

    img = nib.load(truth_path(bids, run_label, "networks_mask"))
    maps = nifti_to_volumes(np.asarray(img.dataobj, dtype=np.float32))
    if target_shape is not None:
        maps, _ = resample_volumes(maps, img.affine, target_shape, "linear")
    return (maps > 0.5).any(axis=0)


def brain_mask(y_scaled):
    """Voxels whose mean scaled intensity exceeds 0.2 (the brain on these images)."""
    return y_scaled.mean(axis=0) > 0.2


def power_spheres(affine, net_mask, brain):
    """Power et al. (2011) spheres (8 mm) on the study grid, as (masks, in_network).

    ``in_network`` marks the spheres that overlap the simulated networks; spheres
    without a brain voxel are dropped.
    """
    from nilearn.datasets import fetch_coords_power_2011

    from eeg2fmri.metrics import sphere_masks

    rois = fetch_coords_power_2011().rois  # a CSV shipped with nilearn: no download
    coords = rois[["x", "y", "z"]].to_numpy(dtype=float)
    masks = sphere_masks(net_mask.shape, affine, coords, radius=8.0) & brain
    masks = masks[masks.reshape(len(masks), -1).any(axis=1)]
    in_network = (masks & net_mask).reshape(len(masks), -1).any(axis=1)
    return masks, in_network


def scale_volumes(v, reference=None):
    """Per-volume min-max scaling to [0, 1] (the official target units).

    With ``reference`` (same shape), volume ``i`` of ``v`` is scaled with the min and
    max of ``reference[i]``: the noise-free BOLD in the measured volume's units.
    """
    v = np.asarray(v, dtype=np.float64)
    ref = v if reference is None else np.asarray(reference, dtype=np.float64)
    flat = ref.reshape(len(ref), -1)
    lo = flat.min(axis=1)[:, None]
    span = np.maximum(flat.max(axis=1)[:, None] - lo, np.finfo(np.float64).tiny)
    return ((v.reshape(len(v), -1) - lo) / span).reshape(v.shape)


def shift_permutation(provenance, tr, seconds):
    """Row order that circularly shifts the EEG by at least ``seconds`` within runs.

    Row ``i`` of ``X[perm]`` is the EEG context of the pair ``k`` rows later in the
    same run (wrapping around), with ``k = ceil(seconds / TR)`` (at most the run's
    length - 1); the targets stay in place.
    """
    perm = np.arange(len(provenance))
    k = int(math.ceil(seconds / tr))
    for _, rows in provenance.groupby("run_label", sort=False).groups.items():
        rows = np.asarray(rows)
        order = rows[np.argsort(provenance["onset"].to_numpy()[rows], kind="stable")]
        perm[order] = np.roll(order, -min(k, len(order) - 1))
    return perm


def take_rows(X, rows):
    """``X[rows]`` as an array, read in increasing order (memory-map friendly)."""
    rows = np.asarray(rows)
    order = np.argsort(rows, kind="stable")
    out = np.asarray(X[rows[order]])
    return out[np.argsort(order, kind="stable")]


def subject_order(ds, test_idx):
    """``{subject: positions in test_idx}``, each in time order (runs, then onset)."""
    prov = ds.provenance.iloc[test_idx]
    groups = np.asarray(ds.groups)[test_idx]
    out = {}
    for s in sorted(set(groups)):
        sel = np.flatnonzero(groups == s)
        keys = np.lexsort(
            (prov["onset"].to_numpy()[sel], prov["run_label"].to_numpy()[sel])
        )
        out[s] = sel[keys]
    return out


def split(ds, test_subjects):
    """``(train rows, test rows)`` of a fold (indices into ``ds``)."""
    test = np.isin(ds.groups, list(test_subjects))
    return np.flatnonzero(~test), np.flatnonzero(test)


def standardize_runs(y, runs):
    """Each run's voxels standardized over time, and the units to map back.

    Parameters
    ----------
    y : ndarray of shape (n, D, H, W)
    runs : ndarray of shape (n,)
        Run label of each row.

    Returns
    -------
    z : ndarray of shape (n, D, H, W) float64
    location, scale : ndarray of shape (D, H, W)
        The runs' mean voxel-wise mean and root-mean-square temporal standard
        deviation (1 where it is 0).
    """
    y = np.asarray(y, dtype=np.float64)
    runs = np.asarray(runs).astype(str)
    z = np.empty_like(y)
    means, variances = [], []
    for run in np.unique(runs):
        sel = runs == run
        mean, std = y[sel].mean(axis=0), y[sel].std(axis=0)
        z[sel] = (y[sel] - mean) / np.where(std > 0, std, 1.0)
        means.append(mean)
        variances.append(std**2)
    scale = np.sqrt(np.mean(variances, axis=0))
    return z, np.mean(means, axis=0), np.where(scale > 0, scale, 1.0)
