"""Long tables of the fits' results: per subject, per volume, and the summary."""

import numpy as np
import pandas as pd

from .scoring import METRICS

_NUMERIC = ("n_params", "train_seconds", "inference_ms_per_volume", *METRICS)


def collect(results):
    """Per-subject and per-volume tables of a list of fit results.

    Parameters
    ----------
    results : list of dict
        Each with ``preset`` (the dataset name), ``row``, ``fold``, ``n_params``,
        ``train_seconds``, ``inference_ms_per_volume`` and ``subjects``.

    Returns
    -------
    per_subject : DataFrame
        One line per (dataset, row, subject): :data:`METRICS` and the costs.
    per_volume : DataFrame
        One line per (dataset, row, subject, volume, metric) for SSIM and PSNR.
    """
    subject_rows, volume_rows = [], []
    for res in results:
        for subject, scores in res["subjects"].items():
            subject_rows.append(
                {
                    "dataset": res["preset"],
                    "row": res["row"],
                    "fold": res["fold"],
                    "subject": subject,
                    **{m: scores.get(m, np.nan) for m in METRICS},
                    "n_params": res["n_params"],
                    "train_seconds": res["train_seconds"],
                    "inference_ms_per_volume": res["inference_ms_per_volume"],
                }
            )
            for metric, values in scores["per_volume"].items():
                volume_rows += [
                    {
                        "dataset": res["preset"],
                        "row": res["row"],
                        "subject": subject,
                        "volume": i,
                        "metric": metric,
                        "value": value,
                    }
                    for i, value in enumerate(values)
                ]
    per_subject = pd.DataFrame(subject_rows)
    for col in _NUMERIC:
        per_subject[col] = pd.to_numeric(per_subject[col])
    return per_subject, pd.DataFrame(volume_rows)


def summarize(per_subject, row_order):
    """Mean and std across held-out subjects; training time is per fit.

    Returns
    -------
    summary : DataFrame
        One line per (dataset, row), rows in ``row_order``: ``<metric>_mean``,
        ``<metric>_std``, ``n_subjects``, ``n_params``, ``train_seconds`` and
        ``inference_ms_per_volume``.
    """
    out = []
    for (dataset, row), g in per_subject.groupby(["dataset", "row"], sort=False):
        fits = g.drop_duplicates("fold")
        rec = {"dataset": dataset, "row": row, "n_subjects": len(g)}
        for m in METRICS:
            rec[f"{m}_mean"] = g[m].mean()
            rec[f"{m}_std"] = g[m].std(ddof=1) if len(g) > 1 else np.nan
        rec["n_params"] = g["n_params"].iloc[0]
        rec["train_seconds"] = fits["train_seconds"].mean()
        rec["inference_ms_per_volume"] = fits["inference_ms_per_volume"].mean()
        out.append(rec)
    df = pd.DataFrame(out)
    df["_order"] = df["row"].map({r: i for i, r in enumerate(row_order)})
    return df.sort_values(["dataset", "_order"]).drop(columns="_order")
