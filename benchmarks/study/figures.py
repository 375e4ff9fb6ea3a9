"""The study's figures: violins of the per-volume and per-subject scores."""

import numpy as np

from benchmarks.harness import atomic_path

from .scoring import METRIC_LABELS


def _violins(ax, data):
    """Violins of each array of ``data`` (an empty one is drawn as nothing)."""
    parts = ax.violinplot(
        [d if len(d) else [np.nan] for d in data], showmedians=True, showextrema=False
    )
    for body in parts["bodies"]:
        body.set_alpha(0.6)


def violin_figure(per_volume, per_subject, dataset, rows, path):
    """Figure-3-style violins: per-volume SSIM and PSNR, per-subject temporal r.

    Parameters
    ----------
    per_volume, per_subject : DataFrame
        :func:`benchmarks.study.tables.collect`.
    dataset : str
    rows : list of str
        Rows to draw, in order (those without results on ``dataset`` are skipped).
    path : Path
        PNG written atomically.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    present = set(per_subject["row"][per_subject["dataset"] == dataset])
    rows = [r for r in rows if r in present]
    fig, axes = plt.subplots(
        3, 1, figsize=(max(6.0, 1.5 + 0.75 * len(rows)), 10), sharex=True
    )
    for ax, metric in zip(axes[:2], ("ssim", "psnr"), strict=True):
        sel = per_volume[
            (per_volume["dataset"] == dataset) & (per_volume["metric"] == metric)
        ]
        _violins(ax, [sel["value"][sel["row"] == r].to_numpy() for r in rows])
        ax.set_title(f"{METRIC_LABELS[metric]} per test volume")
    ax = axes[2]
    sel = per_subject[per_subject["dataset"] == dataset]
    data = [sel["r_network"][sel["row"] == r].dropna().to_numpy() for r in rows]
    _violins(ax, data)
    for i, d in enumerate(data, start=1):
        ax.plot(np.full(len(d), i), d, "k.", ms=4)
    ax.axhline(0, color="0.6", lw=0.8)
    ax.set_title("temporal r (network voxels) per subject")
    axes[-1].set_xticks(range(1, len(rows) + 1), rows, rotation=35, ha="right")
    fig.suptitle(f"{dataset}: held-out participants")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
