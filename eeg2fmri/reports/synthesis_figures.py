"""Figures of a run synthesized from EEG alone, where no measured BOLD exists.

What can be shown without a measurement to compare with: where the synthesized BOLD
varies (mean and standard-deviation maps over the model's reference volume), how it
varies over time (a carpet plot, frames with an incomplete EEG context shaded), and
its strongest spatial patterns with their time courses (principal components).
"""

import numpy as np

from .._utils.docs import doc_filler
from .figures import MODEL_COLOR, _cut_coords, _img, _nilearn_plotting

__all__ = ["plot_variability_maps", "plot_synthesized_carpet", "plot_components"]

_fill_doc = doc_filler({
    "frames": """
        volumes : array-like of shape (n_frames, D, H, W)
        affine : array-like of shape (4, 4)
        mask : array-like of bool, shape (D, H, W)
        """,
})


def plot_variability_maps(volumes, reference, affine, mask, *, n_slices=5):
    """Temporal standard deviation of synthesized BOLD, in % of the reference volume.

    Parameters
    ----------
    volumes : array-like of shape (n_frames, D, H, W)
        Synthesized frames (BOLD units).
    reference : array-like of shape (D, H, W)
        The model's reference mean volume (background).
    affine : array-like of shape (4, 4)
    mask : array-like of bool, shape (D, H, W)
    n_slices : int, default=5

    Returns
    -------
    fig : matplotlib.figure.Figure
        ``n_slices`` axial slices of the standard-deviation map over the reference
        volume (black background, colour bar in %).
    """
    plt, plotting = _nilearn_plotting()

    volumes = np.asarray(volumes, dtype=np.float32)
    reference = np.asarray(reference, dtype=np.float32)
    mask = np.asarray(mask, dtype=bool)
    sd = volumes.std(axis=0)
    level = np.where(np.abs(reference) > 0, np.abs(reference), 1.0)
    rel = np.where(mask, 100.0 * sd / level, 0.0).astype(np.float32)
    vmax = float(np.percentile(rel[mask], 99)) if mask.any() else 1.0
    depth = volumes.shape[1]
    n_slices = int(min(n_slices, depth))
    fig = plt.figure(figsize=(2.0 * n_slices + 1.5, 2.4), facecolor="black")
    plotting.plot_stat_map(
        _img(rel, affine), bg_img=_img(reference, affine), display_mode="z",
        cut_coords=_cut_coords(affine, depth, n_slices), threshold=0.05 * vmax,
        vmax=vmax or 1.0, cmap="hot", figure=fig, annotate=False, draw_cross=False,
        colorbar=True, black_bg=True, resampling_interpolation="nearest",
    )
    return fig


@_fill_doc
def plot_synthesized_carpet(volumes, affine, mask, tr, context_complete):
    """Carpet plot of the synthesized frames (nilearn), incomplete contexts shaded.

    Parameters
    ----------
    %(frames)s
    tr : float
        Repetition time (s): the time axis of the carpet.
    context_complete : array-like of bool, shape (n_frames,)
        False for the frames whose EEG context was incomplete (shaded).

    Returns
    -------
    fig : matplotlib.figure.Figure
        nilearn's carpet plot (voxels by frames).
    """
    plt, plotting = _nilearn_plotting()

    from ..bids.derivatives import volumes_to_nifti_image

    volumes = np.asarray(volumes, dtype=np.float32)
    img = volumes_to_nifti_image(volumes, affine, tr)
    mask_img = _img(np.asarray(mask, dtype=np.float32), affine)
    fig = plt.figure(figsize=(7.5, 3.2))
    display = plotting.plot_carpet(img, mask_img=mask_img, t_r=tr, figure=fig,
                                   standardize="zscore_sample")
    incomplete = np.flatnonzero(~np.asarray(context_complete, dtype=bool))
    if incomplete.size:
        ax = display.axes[-1] if hasattr(display, "axes") else fig.axes[-1]
        ax.axvspan(-0.5, incomplete.max() + 0.5, color="white", alpha=0.35, lw=0)
    return fig


@_fill_doc
def plot_components(volumes, affine, mask, tr, reference, *, n_components=3):
    """The strongest spatial patterns of the synthesized BOLD and their time courses.

    Principal components of the in-mask voxel time series (standardized per voxel):
    each row a map (loadings over the reference volume) and its time course.

    Parameters
    ----------
    %(frames)s
    tr : float
        Repetition time (s) of the time courses.
    reference : array-like of shape (D, H, W)
        Background of the loading maps (the model's reference mean volume).
    n_components : int, default=3

    Returns
    -------
    fig : matplotlib.figure.Figure
        One row per component: its loading map and its time course (no rows when
        every voxel is constant).
    """
    plt, plotting = _nilearn_plotting()

    volumes = np.asarray(volumes, dtype=np.float64)
    mask = np.asarray(mask, dtype=bool)
    X = volumes[:, mask]
    X = X - X.mean(axis=0)
    sd = X.std(axis=0)
    X = X[:, sd > 0] / sd[sd > 0]
    k = int(min(n_components, *X.shape)) if X.size else 0
    fig = plt.figure(figsize=(9.5, 1.9 * max(k, 1)), facecolor="white")
    if k == 0:
        return fig
    U, s, Vt = np.linalg.svd(X, full_matrices=False)
    share = s**2 / np.sum(s**2)
    t = np.arange(len(volumes)) * float(tr)
    keep = np.flatnonzero(mask.ravel())[sd > 0]
    depth = volumes.shape[1]
    for i in range(k):
        loading = np.zeros(mask.size, dtype=np.float32)
        loading[keep] = Vt[i]
        loading = loading.reshape(mask.shape)
        ax_map = fig.add_axes([0.0, 1 - (i + 1) / k, 0.45, 1 / k])
        plotting.plot_stat_map(
            _img(loading, affine), bg_img=_img(reference, affine),
            display_mode="z", cut_coords=_cut_coords(affine, depth, 3), axes=ax_map,
            figure=fig, annotate=False, draw_cross=False, colorbar=False,
            black_bg=False, cmap="RdBu_r", resampling_interpolation="nearest",
            threshold=float(np.percentile(np.abs(Vt[i]), 80)),
        )
        ax = fig.add_axes([0.52, 1 - (i + 1) / k + 0.2 / k, 0.46, 0.65 / k])
        ax.plot(t, U[:, i] * s[i], color=MODEL_COLOR, lw=1.2)
        ax.set_ylabel(f"PC{i + 1}\n{100 * share[i]:.0f} %", fontsize=8)
        ax.spines[["top", "right"]].set_visible(False)
        if i < k - 1:
            ax.set_xticklabels([])
        else:
            ax.set_xlabel("Time from the first volume (s)")
    return fig
