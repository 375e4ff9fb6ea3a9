"""The study's report: ``results.md`` and ``results.rst`` (tables and figures)."""

import numpy as np

from benchmarks.harness import markdown_table

from .config import NULL_SHIFT_SECONDS, POPULATION_CEILING_ROW, REFERENCE_ROW
from .scoring import METRIC_LABELS

SUMMARY_HEADER = [
    "row",
    "temporal r, networks",
    "r, EEG shifted",
    "temporal r, brain",
    "parcel r, networks",
    "parcel r, all",
    "SSIM",
    "PSNR (dB)",
    "parameters",
    "training s/fit",
    "inference ms/volume",
]
#: (column, metric, digits) of the summary's score cells, after ``row``.
SUMMARY_SCORES = (
    ("r_network", 3),
    ("r_null", 3),
    ("r_brain", 3),
    ("r_parcels", 3),
    ("r_parcels_all", 3),
    ("ssim", 4),
    ("psnr", 2),
)
TESTS_HEADER = [
    "comparison",
    "metric",
    "n",
    "mean difference [95 % t CI]",
    "bootstrap 95 % CI",
    "t-test p",
    "Holm p",
    "Wilcoxon p",
]


def _fmt(mean, std, digits):
    if not np.isfinite(mean):
        return "n/a"
    if not np.isfinite(std):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def _fmt_num(v, fmt):
    return "n/a" if v is None or not np.isfinite(v) else format(v, fmt)


def _interval(low, high):
    if not (np.isfinite(low) and np.isfinite(high)):
        return "n/a"
    return f"[{low:+.3g}, {high:+.3g}]"


def summary_cells(summary, dataset):
    """Formatted cells of the summary table of one dataset (rows of strings)."""
    rows = []
    for _, r in summary[summary["dataset"] == dataset].iterrows():
        rows.append(
            [r["row"]]
            + [_fmt(r[f"{m}_mean"], r[f"{m}_std"], d) for m, d in SUMMARY_SCORES]
            + [
                _fmt_num(r["n_params"], ",.0f"),
                _fmt_num(r["train_seconds"], ".1f"),
                _fmt_num(r["inference_ms_per_volume"], ".2f"),
            ]
        )
    return rows


def tests_cells(tests, dataset):
    """Formatted cells of the paired-test table of one dataset."""
    rows = []
    for _, r in tests[tests["dataset"] == dataset].iterrows():
        mean = _fmt_num(r["mean_difference"], "+.3g")
        t_ci = _interval(r["ci95_low"], r["ci95_high"])
        rows.append(
            [
                r["comparison"],
                METRIC_LABELS[r["metric"]],
                str(r["n_subjects"]),
                mean if t_ci == "n/a" else f"{mean} {t_ci}",
                _interval(r["bootstrap_ci95_low"], r["bootstrap_ci95_high"]),
                _fmt_num(r["t_test_p"], ".3g"),
                _fmt_num(r["holm_p"], ".3g"),
                _fmt_num(r["wilcoxon_p"], ".3g"),
            ]
        )
    return rows


#: rows of the overview: the baseline the default must beat, and the ceiling
OVERVIEW_BASELINE = "ridge (band power)"
OVERVIEW_CEILING = "ceiling (EEG-visible drive, true HRF)"
OVERVIEW_HEADER = [
    "dataset",
    "n",
    "default",
    "band-power ridge",
    "default - ridge [bootstrap 95 % CI]",
    "Wilcoxon p",
    "ceiling",
    "default / ceiling",
    "population ceiling",
    "default / population ceiling",
]


def overview_cells(summary, tests, datasets):
    """One line per dataset: the default's and the ridge's temporal r in the network
    voxels, their paired difference, and the default's share of the ceiling."""
    rows = []
    comparison = f"{REFERENCE_ROW} - {OVERVIEW_BASELINE}"
    for name in datasets:
        scores = summary[summary["dataset"] == name].set_index("row")
        if REFERENCE_ROW not in scores.index:
            continue

        def mean(row, scores=scores):
            return (scores.loc[row, "r_network_mean"] if row in scores.index
                    else np.nan)

        test = tests[(tests["dataset"] == name) & (tests["metric"] == "r_network")
                     & (tests["comparison"] == comparison)]
        diff, interval, p = "n/a", "n/a", np.nan
        if len(test):
            t = test.iloc[0]
            diff = _fmt_num(t["mean_difference"], "+.3f")
            interval = _interval(t["bootstrap_ci95_low"], t["bootstrap_ci95_high"])
            p = t["wilcoxon_p"]
        default, ceiling = mean(REFERENCE_ROW), mean(OVERVIEW_CEILING)
        population = mean(POPULATION_CEILING_ROW)
        rows.append([
            name,
            str(int(scores.loc[REFERENCE_ROW, "n_subjects"])),
            _fmt_num(default, ".3f"),
            _fmt_num(mean(OVERVIEW_BASELINE), ".3f"),
            diff if interval == "n/a" else f"{diff} {interval}",
            _fmt_num(p, ".3g"),
            _fmt_num(ceiling, ".3f"),
            _fmt_num(default / ceiling if ceiling else np.nan, ".2f"),
            _fmt_num(population, ".3f"),
            _fmt_num(default / population if population else np.nan, ".2f"),
        ])
    return rows


def _overview(summary, tests, datasets, table):
    """The overview's introduction and table (lines)."""
    return [
        "Temporal r in the network voxels of the held-out participants: "
        f"{REFERENCE_ROW}"
        f" against {OVERVIEW_BASELINE}, on every dataset of this run.",
        "",
        table(OVERVIEW_HEADER, overview_cells(summary, tests, datasets)),
        "",
    ]


def rst_table(header, rows):
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for row in [header, *rows]:
        lines.append("   * - " + row[0])
        lines += [f"     - {cell}" for cell in row[1:]]
    return "\n".join(lines)


def header_lines(meta):
    """Provenance bullets: the training run, this run, seeds, training, versions."""
    env, run = meta["environment"], meta["training_run"]
    v = env["versions"]
    return [
        f"- Command: `{run['command']}` (commit `{run['git_commit']}`, "
        f"{run['date']}): {run.get('fits_trained', 'all')} fits trained, "
        f"{run['timings_seconds']['total'] / 60:.1f} min wall time; "
        f"{meta['sum_train_seconds'] / 3600:.2f} h of training summed over fits.",
        f"- Tables regenerated by `{meta['command']}` (commit `{meta['git_commit']}`, "
        f"{meta['date']}).",
        f"- Seeds: study {meta['seed']}, datasets {meta['dataset_seeds']}; every fit "
        f"uses `random_state={meta['seed']}`; bootstrap intervals use seed "
        f"{meta['seed']}.",
        f"- Training: default recipe {meta['epochs']['default']} epochs on all "
        "training participants; paper recipe "
        f"{meta['epochs']['paper recipe']} epochs with a validation participant (best "
        "SSIM epoch kept); batch 16, one thread per fit, "
        f"{meta['jobs']} fits in parallel.",
        f"- Versions: Python {env['python']}, eeg2fmri {v['eeg2fmri']}, torch "
        f"{v['torch']}, numpy {v['numpy']}, scikit-learn {v['scikit-learn']}; "
        f"{env['cpu_count']} CPUs ({env['processor']}).",
    ]


UNITS_NOTE = (
    "Scores are per held-out participant (mean ± std across participants). Temporal "
    "r: voxel-wise correlation over the participant's test volumes between the "
    "prediction and the measured BOLD (in intensity; per-volume units for the paper "
    "recipe's per-volume targets), averaged over the simulated networks' voxels or "
    "the brain; a prediction that is constant over time scores 0. r, EEG shifted: "
    "the same model on the test EEG circularly shifted by at least "
    f"{NULL_SHIFT_SECONDS:.0f} s within each run (its null). Parcel r: correlation of "
    "the mean time courses in the 8 mm spheres of the Power et al. (2011) atlas that "
    "overlap the simulated networks, or all spheres in the brain. SSIM and PSNR in "
    "the paper's units (each volume min-max scaled to [0, 1]). Differences are "
    f"`{REFERENCE_ROW}` minus the row: positive means `{REFERENCE_ROW}` scores higher; "
    "95 % intervals of the mean difference from the t distribution and from a "
    "percentile bootstrap over participants. Holm p: the t-test p-values adjusted "
    "for all comparisons and metrics of the dataset (Holm-Bonferroni)."
)


def dataset_line(spec):
    """One sentence describing a dataset (``asdict`` of a StudyDataset)."""
    if spec.get("n_test") is not None:
        split = f"fixed split, last {spec['n_test']} participants held out"
    elif spec.get("n_folds") is not None:
        split = f"{spec['n_folds']} folds of consecutive participants"
    else:
        split = "leave-one-subject-out"
    grid = tuple(spec["bold_shape"])
    if spec["target_shape"] is not None:
        grid = f"{grid} DCT-resampled to {tuple(spec['target_shape'])}"
    runs = spec.get("n_runs", 1)
    return (
        f"{spec['n_subjects']} participants x {runs} run(s) x {spec['n_volumes']} "
        f"volumes, {spec['n_channels']} channels, BOLD grid {grid}; {split}."
        + (f" Simulation overrides: {spec['simulation']}." if spec.get("simulation")
           else "")
    )


def _dataset_body(meta, summary, tests, name, table):
    """A dataset's description, summary table and paired-test table (lines)."""
    return [
        dataset_line(meta["datasets"][name]),
        "",
        table(SUMMARY_HEADER, summary_cells(summary, name)),
        "",
        f"Paired tests across held-out participants ({REFERENCE_ROW} minus row):",
        "",
        table(TESTS_HEADER, tests_cells(tests, name)),
        "",
    ]


def results_markdown(meta, summary, tests, datasets):
    """``results.md``: provenance, units, and per dataset the two tables and the
    figure."""
    parts = [
        "# Benchmark study: results",
        "",
        "Generated by `python -m benchmarks.study`; do not edit by hand. Discussion: "
        "`docs/study.rst`.",
        "",
        *header_lines(meta),
        "",
        UNITS_NOTE,
        "",
        "## Overview",
        "",
        *_overview(summary, tests, datasets, markdown_table),
    ]
    for name in datasets:
        parts += ["", f"## {name}", ""]
        parts += _dataset_body(meta, summary, tests, name, markdown_table)
        parts.append(f"![{name}](figures/study_{name}.png)")
    return "\n".join(parts) + "\n"


def results_rst(meta, summary, tests, datasets):
    """The tables and figures for ``docs/study.rst`` (``.. include::``)."""
    parts = [".. Generated by python -m benchmarks.study; do not edit by hand.", ""]
    parts += [*(line.replace("`", "``") for line in header_lines(meta)), ""]
    parts += [UNITS_NOTE.replace("`", "``"), ""]
    parts += ["Overview", "--------", ""]
    parts += _overview(summary, tests, datasets, rst_table)
    for name in datasets:
        title = f"{name}: scores of the held-out participants"
        parts += [title, "-" * len(title), ""]
        parts += _dataset_body(meta, summary, tests, name, rst_table)
        parts += [
            f".. image:: /study/figures/study_{name}.png",
            f"   :alt: violin plots of SSIM, PSNR and temporal r on {name}",
            "",
        ]
    return "\n".join(parts)
