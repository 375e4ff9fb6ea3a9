"""Figures of the eeg2fmri reports (nilearn plotting on matplotlib's Agg backend).

Every function returns a :class:`matplotlib.figure.Figure` and never calls
``plt.show``; :func:`save_figure` writes it (PNG or SVG) and closes it. Volumes use the
package layout ``(n_volumes, D, H, W)`` and are turned into NIfTI images with their
affine, so the views are in world coordinates like any nilearn figure.
"""

import io

import numpy as np

__all__ = [
    "plot_volume_comparison",
    "plot_correlation_map",
    "plot_metric_distributions",
    "plot_global_signal",
    "plot_training_curves",
    "plot_group_violins",
    "plot_eeg_correction",
    "save_figure",
    "figure_to_bytes",
]

MODEL_COLOR = "#1f77b4"
BASELINE_COLOR = "#9a9a9a"
MEASURED_COLOR = "#222222"


def _mpl():
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "svg", "pdf", "cairo"):
        try:
            matplotlib.use("Agg", force=True)
        except Exception:
            pass
    import matplotlib.pyplot as plt

    return plt


def _nilearn_plotting():
    """``(pyplot, nilearn.plotting)``, pyplot on a non-interactive backend."""
    plt = _mpl()
    from nilearn import plotting

    return plt, plotting


def _img(volume, affine):
    from eeg2fmri.bids.derivatives import volumes_to_nifti_image

    return volumes_to_nifti_image(np.asarray(volume, dtype=np.float32), affine)


def _cut_coords(affine, depth, n_slices):
    """World z of ``n_slices`` evenly spaced slices (axis k) of a volume."""
    k = np.linspace(0, depth - 1, n_slices + 2)[1:-1] if depth > n_slices else \
        np.arange(depth, dtype=float)
    ijk = np.stack([np.zeros_like(k), np.zeros_like(k), k, np.ones_like(k)])
    return list((np.asarray(affine) @ ijk)[2])


def plot_volume_comparison(measured, synthesized, affine, *, baseline=None,
                           n_slices=5, title=None):
    """Measured vs synthesized axial slices of one volume, with the error map.

    Rows: measured, synthesized, mean-volume baseline (if given), absolute error of
    the synthesized volume; columns: ``n_slices`` axial slices. Measured, synthesized
    and baseline share one grey scale (like the paper's Figures 4-6).

    Parameters
    ----------
    measured, synthesized : array-like of shape (D, H, W)
    affine : array-like of shape (4, 4)
    baseline : array-like of shape (D, H, W), optional
    n_slices : int, default=5
    title : str, optional

    Returns
    -------
    fig : matplotlib.figure.Figure
        One row per volume (measured, synthesized, baseline, error), one column per
        slice, on a black background.
    """
    plt, plotting = _nilearn_plotting()

    measured = np.asarray(measured, dtype=np.float32)
    synthesized = np.asarray(synthesized, dtype=np.float32)
    rows = [("Measured", measured, "gray"), ("Synthesized", synthesized, "gray")]
    if baseline is not None:
        rows.append(("Mean-volume baseline", np.asarray(baseline, np.float32), "gray"))
    error = np.abs(synthesized - measured)
    rows.append(("|Synthesized - measured|", error, "hot"))
    vmin = float(min(np.nanmin(r[1]) for r in rows[:-1]))
    vmax = float(max(np.nanmax(r[1]) for r in rows[:-1]))
    emax = float(np.nanpercentile(error, 99.5)) or 1.0
    n_slices = int(min(n_slices, measured.shape[0]))
    cuts = _cut_coords(affine, measured.shape[0], n_slices)
    fig = plt.figure(figsize=(2.0 * n_slices + 1.2, 2.1 * len(rows)), facecolor="black")
    for i, (name, vol, cmap) in enumerate(rows):
        ax = fig.add_axes([0.1, 1 - (i + 1) / len(rows), 0.9, 1 / len(rows)])
        kwargs = dict(
            display_mode="z", cut_coords=cuts, axes=ax, figure=fig, annotate=False,
            draw_cross=False, colorbar=False, black_bg=True,
        )
        if cmap == "hot":
            plotting.plot_img(_img(vol, affine), cmap="hot", vmin=0, vmax=emax,
                              **kwargs)
        else:
            plotting.plot_img(_img(vol, affine), cmap=cmap, vmin=vmin, vmax=vmax,
                              **kwargs)
        fig.text(0.05, 1 - (i + 0.5) / len(rows), name, color="white", rotation=90,
                 ha="center", va="center", fontsize=9)
    if title:
        fig.suptitle(title, color="white", fontsize=10, y=1.02)
    return fig


def plot_correlation_map(r_map, mean_measured, affine, *, n_slices=5, threshold=0.1,
                         title=None):
    """Voxel-wise temporal correlation over the mean measured EPI.

    Parameters
    ----------
    r_map : array-like of shape (D, H, W)
        Pearson r per voxel (0 outside the mask).
    mean_measured : array-like of shape (D, H, W)
        Background: the mean measured volume.
    affine : array-like of shape (4, 4)
    n_slices : int, default=5
    threshold : float, default=0.1
        ``|r|`` below this is not drawn.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    plt, plotting = _nilearn_plotting()

    r_map = np.nan_to_num(np.asarray(r_map, dtype=np.float32))
    depth = r_map.shape[0]
    n_slices = int(min(n_slices, depth))
    fig = plt.figure(figsize=(2.0 * n_slices + 1.5, 2.4), facecolor="black")
    plotting.plot_stat_map(
        _img(r_map, affine), bg_img=_img(mean_measured, affine),
        display_mode="z", cut_coords=_cut_coords(affine, depth, n_slices),
        threshold=threshold, vmax=1.0, cmap="RdBu_r", figure=fig, annotate=False,
        draw_cross=False, colorbar=True, black_bg=True, title=title,
        resampling_interpolation="nearest",
    )
    return fig


def _violin(ax, data, positions, colors, half=False):
    data = [np.asarray(d, dtype=float)[np.isfinite(d)] for d in data]
    keep = [i for i, d in enumerate(data) if d.size > 1 and np.ptp(d) > 0]
    if keep:
        parts = ax.violinplot([data[i] for i in keep],
                              positions=[positions[i] for i in keep],
                              showextrema=False, widths=0.7)
        for i, body in zip(keep, parts["bodies"], strict=True):
            body.set_facecolor(colors[i])
            body.set_edgecolor(colors[i])
            body.set_alpha(0.35)
            if half:  # keep the left half, points go right (the paper's Figure 3)
                verts = body.get_paths()[0].vertices
                verts[:, 0] = np.minimum(verts[:, 0], positions[i])
    rng = np.random.default_rng(0)
    for d, pos, color in zip(data, positions, colors, strict=True):
        if not d.size:
            continue
        offset = 0.08 + 0.18 * rng.random(d.size) if half else \
            rng.uniform(-0.12, 0.12, d.size)
        ax.scatter(pos + offset, d, s=10 if d.size > 30 else 22, color=color,
                   alpha=0.7, edgecolors="none", zorder=3)
        ax.hlines(np.median(d), pos - 0.3, pos + (0.3 if not half else 0.0),
                  color=color, lw=2, zorder=4)


def plot_metric_distributions(table, *, title=None):
    """Per-volume SSIM and PSNR: model vs mean-volume baseline (violins + points).

    Parameters
    ----------
    table : pandas.DataFrame
        Columns ``ssim``, ``psnr`` and optionally ``ssim_baseline``, ``psnr_baseline``.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    plt = _mpl()
    fig, axes = plt.subplots(1, 2, figsize=(7.5, 3.2), layout="constrained")
    for ax, (name, label) in zip(axes, (("ssim", "SSIM"), ("psnr", "PSNR (dB)")),
                                 strict=True):
        series = [table[name].to_numpy()]
        names, colors = ["Spec2Vol"], [MODEL_COLOR]
        if f"{name}_baseline" in table:
            series.append(table[f"{name}_baseline"].to_numpy())
            names.append("Mean volume")
            colors.append(BASELINE_COLOR)
        _violin(ax, series, list(range(len(series))), colors)
        ax.set_xticks(range(len(series)), names)
        ax.set_ylabel(label)
        ax.grid(axis="y", alpha=0.3)
        ax.spines[["top", "right"]].set_visible(False)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def plot_global_signal(measured, synthesized, mask, tr, volume_indices, *,
                       baseline=None, title=None):
    """Mean in-mask signal over time: measured vs synthesized (z-scored).

    Parameters
    ----------
    measured, synthesized : array-like of shape (n_volumes, D, H, W)
    mask : array-like of bool, shape (D, H, W)
    tr : float
    volume_indices : array-like of int, shape (n_volumes,)
    baseline : array-like of shape (n_volumes, D, H, W), optional

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    plt = _mpl()
    mask = np.asarray(mask, dtype=bool)
    t = np.asarray(volume_indices, dtype=float) * float(tr)

    def zs(v):
        s = np.asarray(v)[:, mask].mean(axis=1)
        sd = s.std()
        return (s - s.mean()) / sd if sd > 0 else s - s.mean()

    fig, ax = plt.subplots(figsize=(7.5, 2.4), layout="constrained")
    m, s = zs(measured), zs(synthesized)
    ax.plot(t, m, color=MEASURED_COLOR, lw=1.5, label="Measured")
    ax.plot(t, s, color=MODEL_COLOR, lw=1.5, label="Synthesized")
    if len(m) > 2 and m.std() > 0 and s.std() > 0:
        r = float(np.corrcoef(m, s)[0, 1])
        ax.text(0.01, 0.95, f"r = {r:.2f}", transform=ax.transAxes, va="top")
    ax.set_xlabel("Time from first source volume (s)")
    ax.set_ylabel("Mean in-mask signal (z)")
    ax.legend(loc="upper right", frameon=False, ncols=2)
    ax.spines[["top", "right"]].set_visible(False)
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def _history_frame(history):
    import pandas as pd

    if history is None:
        return None
    if isinstance(history, pd.DataFrame):
        df = history.copy()
    elif isinstance(history, dict):
        df = pd.DataFrame({k: pd.Series(v) for k, v in history.items()})
    else:
        try:
            df = pd.DataFrame(list(history))
        except (TypeError, ValueError):
            return None
    df = df.select_dtypes("number")
    return df if len(df) else None


def plot_training_curves(history, *, title=None):
    """Loss (and other per-epoch numbers) of the training run.

    Parameters
    ----------
    history : list of dict or dict of lists or DataFrame
        ``Spec2VolEstimator.history_``: one entry per epoch (``epoch``, ``train_loss``,
        ``valid_loss``, ...).

    Returns
    -------
    fig : matplotlib.figure.Figure or None
        None when there is nothing to plot.
    """
    df = _history_frame(history)
    if df is None:
        return None
    plt = _mpl()
    x = df["epoch"].to_numpy() if "epoch" in df else np.arange(1, len(df) + 1)
    cols = [c for c in df.columns if c != "epoch"]
    losses = [c for c in cols if "loss" in c]
    skip = ("lr", "seconds", "time", "duration")
    others = [c for c in cols if c not in losses and not any(k in c for k in skip)]
    panels = [losses or cols[:1]] + [[c] for c in others[:3]]
    fig, axes = plt.subplots(1, len(panels), figsize=(3.4 * len(panels), 2.8),
                             layout="constrained", squeeze=False)
    for ax, names in zip(axes[0], panels, strict=True):
        for c in names:
            ax.plot(x, df[c].to_numpy(), marker="o", ms=3, lw=1.5, label=c)
        ax.set_xlabel("Epoch")
        if len(names) > 1 or ax is axes[0][0]:
            ax.legend(frameon=False, fontsize=8)
        else:
            ax.set_ylabel(names[0])
        ax.grid(alpha=0.3)
        ax.spines[["top", "right"]].set_visible(False)
    axes[0][0].set_ylabel("Loss")
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def plot_group_violins(table, *, title=None):
    """Half violins with jittered points per participant (the paper's Figure 3).

    Parameters
    ----------
    table : pandas.DataFrame
        One row per participant with ``ssim``, ``psnr``, ``temporal_r`` and their
        ``*_baseline`` columns.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    plt = _mpl()
    metrics = [(m, lab) for m, lab in (("ssim", "SSIM"), ("psnr", "PSNR (dB)"),
                                       ("temporal_r", "Temporal r"))
               if m in table and np.isfinite(table[m].to_numpy(float)).any()]
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.3 * len(metrics), 3.4),
                             layout="constrained", squeeze=False)
    for ax, (name, label) in zip(axes[0], metrics, strict=True):
        series = [table[name].to_numpy(float)]
        names, colors = ["Spec2Vol"], [MODEL_COLOR]
        base = f"{name}_baseline"
        if base in table and np.isfinite(table[base].to_numpy(float)).any():
            series.append(table[base].to_numpy(float))
            names.append("Mean volume")
            colors.append(BASELINE_COLOR)
        _violin(ax, series, list(range(len(series))), colors, half=True)
        ax.set_xticks(range(len(series)), names)
        ax.set_title(label, fontsize=10)
        ax.grid(axis="y", alpha=0.3)
        ax.spines[["top", "right"]].set_visible(False)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def plot_eeg_correction(qc, *, title=None):
    """EEG spectra before and after the scanner-artifact correction.

    Parameters
    ----------
    qc : dict
        From :func:`eeg2fmri.artifacts.qc.correction_qc`: ``frequencies``,
        ``psd_before``, ``psd_after`` (median over channels, V²/Hz) and
        ``gradient_excess_db``.
    title : str, optional

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    plt = _mpl()
    f = np.asarray(qc["frequencies"], dtype=float)
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.semilogy(f, np.asarray(qc["psd_before"]) * 1e12, color=BASELINE_COLOR,
                lw=0.8, label="raw (down-sampled)")
    ax.semilogy(f, np.asarray(qc["psd_after"]) * 1e12, color=MODEL_COLOR, lw=1.2,
                label="corrected")
    g = qc.get("gradient_excess_db", {})
    ax.set(xlabel="frequency (Hz)", ylabel="µV²/Hz (median over channels)",
           title=title or f"1/TR harmonics: {g.get('before', float('nan')):+.1f} dB "
           f"before, {g.get('after', float('nan')):+.1f} dB after")
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig


def figure_to_bytes(fig, fmt="png", dpi=110):
    """Render ``fig`` to bytes (PNG or SVG)."""
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=dpi, bbox_inches="tight",
                facecolor=fig.get_facecolor())
    return buf.getvalue()


def save_figure(fig, path, dpi=110):
    """Write ``fig`` atomically (format from the extension), close it, return bytes."""
    from pathlib import Path

    from eeg2fmri._utils.io import atomic_path

    plt = _mpl()
    path = Path(path)
    data = figure_to_bytes(fig, fmt=path.suffix.lstrip(".") or "png", dpi=dpi)
    plt.close(fig)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return data
