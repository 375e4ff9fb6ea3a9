"""Paired comparisons over held-out participants (pure functions on tables).

For each dataset, the reference row minus every other row, per metric, paired by
participant: the mean difference, its 95 % t interval and a seeded percentile
bootstrap 95 % interval, the paired t-test p-value (and its Holm adjustment over all
the tests of the dataset) and the Wilcoxon signed-rank p-value.
"""

import numpy as np
import pandas as pd

from .config import BOOTSTRAP_RESAMPLES, REFERENCE_ROW

#: Metrics of the paired tests (the null column is a property of each row).
TEST_METRICS = ("ssim", "psnr", "r_network", "r_brain", "r_parcels")
#: The comparison of the reference row with its own shifted-EEG predictions.
SHIFTED_AT_TEST = "its EEG shifted at test"
#: Columns of :func:`paired_tests`.
TEST_COLUMNS = (
    "dataset", "comparison", "metric", "n_subjects", "mean_difference", "ci95_low",
    "ci95_high", "bootstrap_ci95_low", "bootstrap_ci95_high", "t_test_p",
    "wilcoxon_p", "holm_p",
)


def t_interval(d, confidence=0.95):
    """Student-t confidence interval of the mean of ``d``, ``(low, high)``."""
    from scipy import stats

    d = np.asarray(d, dtype=float)
    half = stats.t.ppf(0.5 + confidence / 2, len(d) - 1) * d.std(ddof=1)
    half /= np.sqrt(len(d))
    return d.mean() - half, d.mean() + half


def bootstrap_ci(d, n_resamples=BOOTSTRAP_RESAMPLES, confidence=0.95,
                 random_state=0):
    """Percentile bootstrap confidence interval of the mean of ``d``.

    Parameters
    ----------
    d : array-like of shape (n,)
        Paired differences (one per participant).
    n_resamples : int
        Resamples of ``n`` values drawn with replacement.
    confidence : float, default=0.95
    random_state : int or numpy Generator
        Seeds the resampling: the same seed gives the same interval.

    Returns
    -------
    low, high : float
        The ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` quantiles of the
        resampled means; NaN for fewer than 2 values.
    """
    d = np.asarray(d, dtype=float)
    if len(d) < 2:
        return np.nan, np.nan
    rng = np.random.default_rng(random_state)
    means = d[rng.integers(0, len(d), size=(n_resamples, len(d)))].mean(axis=1)
    tail = (1 - confidence) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return float(low), float(high)


def holm(p_values):
    """Holm-Bonferroni adjusted p-values (NaNs are left out and stay NaN)."""
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full_like(p, np.nan)
    finite = np.flatnonzero(np.isfinite(p))
    order = finite[np.argsort(p[finite], kind="stable")]
    m, running = len(order), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adjusted[i] = running
    return adjusted


def compare(a, b, random_state=0):
    """Paired statistics of ``a - b`` over the pairs where both are finite.

    Returns
    -------
    stats : dict
        ``n_subjects``, ``mean_difference``, ``ci95_low``/``ci95_high`` (t),
        ``bootstrap_ci95_low``/``bootstrap_ci95_high``, ``t_test_p``,
        ``wilcoxon_p`` (NaN where undefined: fewer than 2 pairs, or no spread).
    """
    from scipy import stats

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    keep = np.isfinite(a) & np.isfinite(b)
    d = (a - b)[keep]
    out = {
        "n_subjects": len(d),
        "mean_difference": d.mean() if len(d) else np.nan,
        "ci95_low": np.nan,
        "ci95_high": np.nan,
        "bootstrap_ci95_low": np.nan,
        "bootstrap_ci95_high": np.nan,
        "t_test_p": np.nan,
        "wilcoxon_p": np.nan,
    }
    if len(d) >= 2 and np.std(d) > 0:
        out["ci95_low"], out["ci95_high"] = t_interval(d)
        out["bootstrap_ci95_low"], out["bootstrap_ci95_high"] = bootstrap_ci(
            d, random_state=random_state
        )
        out["t_test_p"] = stats.ttest_rel(a[keep], b[keep]).pvalue
        out["wilcoxon_p"] = stats.wilcoxon(d).pvalue
    return out


def paired_tests(per_subject, reference=REFERENCE_ROW, metrics=TEST_METRICS,
                 random_state=0):
    """Reference row minus every other row, per dataset and metric.

    Parameters
    ----------
    per_subject : DataFrame
        One line per (``dataset``, ``row``, ``subject``) with the ``metrics``
        columns (and ``r_null``).
    reference : str
        The row compared with the others; also compared with its own EEG-shifted
        predictions (``r_network`` against ``r_null``, comparison ``... - its EEG
        shifted at test``).
    metrics : tuple of str
    random_state : int
        Seed of every bootstrap interval.

    Returns
    -------
    tests : DataFrame
        ``dataset``, ``comparison``, ``metric`` and the columns of :func:`compare`,
        plus ``holm_p`` (t-test p-values adjusted within each dataset).
    """
    out = []
    for dataset, g in per_subject.groupby("dataset", sort=False):
        ref = g[g["row"] == reference].set_index("subject")
        if ref.empty:
            continue
        pairs = [
            (row, m, g[g["row"] == row].set_index("subject")[m])
            for row in g["row"].unique()
            if row != reference
            for m in metrics
        ]
        if "r_null" in ref:
            pairs.append((SHIFTED_AT_TEST, "r_network", ref["r_null"]))
        for row, m, other in pairs:
            common = ref.index.intersection(other.index)
            out.append(
                {
                    "dataset": dataset,
                    "comparison": f"{reference} - {row}",
                    "metric": m,
                    **compare(
                        ref.loc[common, m], other.loc[common], random_state
                    ),
                }
            )
    if not out:  # no reference results yet: an empty table with the columns
        return pd.DataFrame(columns=TEST_COLUMNS)
    df = pd.DataFrame(out)
    df["holm_p"] = df.groupby("dataset")["t_test_p"].transform(holm)
    return df
