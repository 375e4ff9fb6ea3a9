"""Where the ceiling's r goes: what a model trained on other participants can reach.

The study's ceiling (``desc-ceiling_bold``) passes the EEG-visible drive through the
*held-out participant's own* haemodynamics, sign and vigilance-state weights: no model
trained on other participants knows those. This script asks how much of the
ceiling each piece of that knowledge is worth. On each fold of a study dataset it fits
a ridge FIR (lags 0 to ``--lags`` volumes) from simulated truth signals to the
measured BOLD of the training participants' network voxels (each run's voxels
standardized over time), predicts the held-out
participants' BOLD, and scores temporal r in the network voxels as the study does
(:func:`eeg2fmri.metrics.mean_temporal_correlation`). Each row removes one piece of
knowledge the per-participant ceiling has:

1. ``population haemodynamics``: the EEG-visible drive after the departures from
   linear coupling (``<network>_ceiling_drive``: state weights and sign included),
   through one linear haemodynamic response learned across participants;
2. ``... sign unknown``: the same drive with a flipped participant's sign undone
   (what a population model assumes: nothing in the EEG tells the sign);
3. ``... sign and vigilance state unknown``: the drive divided by its (signed)
   state weight (a model that can gate the coupling by neither);

and prints them beside the study's rows (the ceiling, the default, the band-power
ridge) from ``docs/study/per_subject.tsv``. Rows 1-3 use the simulator's noise-free
truth: they are what an EEG model could reach if it recovered the visible drive
exactly, so they bound what any model trained across participants can do.

Needs datasets simulated with the ``_ceiling_drive`` and ``vigilance_weight``
columns of ``desc-drives_timeseries.tsv`` (eeg2fmri 0.x, December 2026; re-simulate
an older study work folder). Run after the study: ``python benchmarks/ceiling_gap.py
realistic noddi --work /tmp/eeg2fmri-study`` (about a minute a dataset).
"""

import argparse
import sys
from pathlib import Path

if not __package__:  # run as a file: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import pandas as pd

from benchmarks.baseline_check_probe import _spec
from benchmarks.harness import (
    REPO,
    add_output_arguments,
    command_line,
    markdown_table,
    output_target,
    publish,
)
from benchmarks.study.data import (
    bids_root,
    folds,
    load_pairs,
    network_mask,
    split,
    subject_order,
)

NAME = "ceiling_gap"
#: the study's rows shown beside the truth rows
STUDY_ROWS = {
    "ceiling, per participant (study)": "ceiling (EEG-visible drive, true HRF)",
    "default (study)": "spec2vol-bridge (default)",
    "band-power ridge (study)": "ridge (band power)",
}
ALPHAS = np.logspace(-2, 4, 13)


def drive_tables(bids, run_labels):
    """``{run: desc-drives_timeseries table}`` of the simulated runs."""
    tables = {}
    for run in np.unique(run_labels):
        sub = run.split("_")[0]
        path = (Path(bids) / "derivatives" / "simulation" / sub / "func"
                / f"{run}_desc-drives_timeseries.tsv")
        table = pd.read_csv(path, sep="\t")
        if not any(c.endswith("_ceiling_drive") for c in table.columns):
            raise SystemExit(
                f"{path}: expected '<network>_ceiling_drive' columns (datasets "
                "simulated by a current eeg2fmri); re-simulate the study's datasets"
            )
        tables[run] = table
    return tables


def truth_signals(table):
    """``{row: (n_volumes, K) signals}`` of one run's truth table."""
    nets = [c[: -len("_ceiling_drive")] for c in table.columns
            if c.endswith("_ceiling_drive")]
    drive = table[[f"{k}_ceiling_drive" for k in nets]].to_numpy()
    weight = (table["vigilance_weight"].to_numpy()[:, None]
              if "vigilance_weight" in table else np.ones((len(table), 1)))
    sign = np.sign(np.median(weight)) or 1.0
    rows = {"population haemodynamics": drive}
    if "vigilance_weight" in table:
        rows["population haemodynamics, sign unknown"] = sign * drive
        rows["population haemodynamics, sign and vigilance state unknown"] = (
            drive / weight
        )
    return rows


def lagged(signal, volume_index, n_lags):
    """Rows ``[s(v), s(v-1), ..., s(v-n_lags)]``, zeros before the run start.

    Returns
    -------
    rows : ndarray of shape (n, K * (n_lags + 1))
    """
    out = np.zeros((len(volume_index), signal.shape[1] * (n_lags + 1)))
    k = signal.shape[1]
    for lag in range(n_lags + 1):
        src = volume_index - lag
        ok = src >= 0
        out[ok, lag * k:(lag + 1) * k] = signal[src[ok]]
    return out


def gap_scores(name, work, n_lags):
    """``{row: {subject: r_network}}`` of the truth rows on every fold."""
    from sklearn.linear_model import RidgeCV

    from eeg2fmri.metrics import mean_temporal_correlation

    spec = _spec(name)
    ds = load_pairs(spec, work)
    bids = bids_root(work, spec)
    runs = ds.provenance["run_label"].to_numpy()
    index = ds.provenance["volume_index"].to_numpy()
    tables = drive_tables(bids, runs)
    labels = list(truth_signals(tables[runs[0]]))
    features = {label: np.zeros((len(runs), 0)) for label in labels}
    for run, table in tables.items():
        rows = np.flatnonzero(runs == run)
        for label, signal in truth_signals(table).items():
            block = lagged(signal, index[rows], n_lags)
            if features[label].shape[1] == 0:
                features[label] = np.zeros((len(runs), block.shape[1]))
            features[label][rows] = block
    # each run's voxels standardized over time (as target_scaling='zscore' does):
    # the participants' baselines differ far more than their BOLD fluctuates
    y = np.asarray(ds.y, dtype=np.float64).copy()
    for run in tables:
        rows = runs == run
        y[rows] -= y[rows].mean(axis=0)
        y[rows] /= np.where(y[rows].std(axis=0) > 0, y[rows].std(axis=0), 1.0)
    scores = {label: {} for label in labels}
    for _, test_subjects in folds(spec, set(ds.groups)):
        train, test = split(ds, test_subjects)
        net = network_mask(bids, runs[test[0]], spec.target_shape)
        Y = y[train][:, net]
        for label, F in features.items():
            model = RidgeCV(alphas=ALPHAS).fit(F[train], Y)
            pred = np.zeros_like(y[test])
            pred[:, net] = model.predict(F[test])
            for subject, pos in subject_order(ds, test).items():
                scores[label][str(subject)] = mean_temporal_correlation(
                    y[test][pos], pred[pos], net
                )
    return scores


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datasets", nargs="+", help="study datasets or variants")
    parser.add_argument("--work", type=Path, default=Path("/tmp/eeg2fmri-study"))
    parser.add_argument("--study", type=Path, default=REPO / "docs" / "study",
                        help="the study's results (per_subject.tsv)")
    parser.add_argument("--lags", type=int, default=12,
                        help="FIR length in volumes (default 12: 26 s at TR 2.16 s)")
    add_output_arguments(parser)
    args = parser.parse_args(argv)

    per_subject = pd.read_csv(args.study / "per_subject.tsv", sep="\t",
                              dtype={"subject": str})
    rows, doc = [], {"command": command_line(__file__, argv), "lags": args.lags,
                     "datasets": {}}
    for name in args.datasets:
        truth = gap_scores(name, args.work, args.lags)
        subjects = sorted(next(iter(truth.values())))
        study = per_subject[per_subject["dataset"] == name]
        table = {
            label: study[study["row"] == row].set_index("subject")["r_network"]
            .reindex(subjects).to_dict()
            for label, row in STUDY_ROWS.items()
        }
        ordered = {"ceiling, per participant (study)":
                   table.pop("ceiling, per participant (study)"), **truth, **table}
        ceiling = np.nanmean(list(ordered["ceiling, per participant (study)"].values()))
        doc["datasets"][name] = ordered
        for label, per in ordered.items():
            r = np.array([per[s] for s in subjects], dtype=float)
            rows.append([name, label, str(np.isfinite(r).sum()), f"{np.nanmean(r):.3f}",
                         f"{np.nanmedian(r):.3f}", f"{np.nanmean(r) / ceiling:.2f}"])
    out = markdown_table(
        ["dataset", "row", "n", "mean r", "median r", "/ ceiling"], rows
    )
    out_dir, stem = output_target(args, NAME)
    publish(stem, doc, out, out_dir=out_dir, write=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
