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
realistic noddi --work /tmp/eeg2fmri-study`` (about a minute a dataset; a dataset
missing from ``--work`` is simulated first, as the study does).
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
    simulate,
    split,
    subject_order,
)
from benchmarks.study.population_ceiling import (
    DEFAULT_LAGS,
    VARIANTS,
    PopulationCeiling,
    drive_tables,
)

NAME = "ceiling_gap"
#: the study's rows shown beside the truth rows
STUDY_ROWS = {
    "ceiling, per participant (study)": "ceiling (EEG-visible drive, true HRF)",
    "default (study)": "spec2vol-bridge (default)",
    "band-power ridge (study)": "ridge (band power)",
}
ROW_LABELS = {
    "sign known": "population haemodynamics",
    "sign unknown": "population haemodynamics, sign unknown",
    "sign and state unknown":
        "population haemodynamics, sign and vigilance state unknown",
}


def gap_scores(name, work, n_lags, seed=0):
    """``{row: {subject: r_network}}`` of the truth rows on every fold."""
    from eeg2fmri.metrics import mean_temporal_correlation

    spec = _spec(name)
    simulate(spec, work, seed)  # skipped when the study simulated it
    ds = load_pairs(spec, work)
    bids = bids_root(work, spec)
    runs = ds.provenance["run_label"].to_numpy()
    index = ds.provenance["volume_index"].to_numpy()
    tables = drive_tables(bids, runs)
    has_state = "vigilance_weight" in tables[runs[0]]
    variants = VARIANTS if has_state else ["sign known"]
    y = np.asarray(ds.y, dtype=np.float64)
    scores = {}
    for variant in variants:
        label = ROW_LABELS[variant]
        scores[label] = {}
        ceiling = PopulationCeiling(variant, n_lags)
        features = ceiling.features(tables, runs, index)
        for _, test_subjects in folds(spec, set(ds.groups)):
            train, test = split(ds, test_subjects)
            net = network_mask(bids, runs[test[0]], spec.target_shape)
            ceiling.fit(features[train], y[train], runs[train])
            pred = ceiling.predict(features[test])
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
    parser.add_argument("--seed", type=int, default=0,
                        help="the study's --seed (datasets missing from --work are "
                        "simulated with it)")
    parser.add_argument("--lags", type=int, default=DEFAULT_LAGS,
                        help="FIR length in volumes (default 12: 26 s at TR 2.16 s)")
    add_output_arguments(parser)
    args = parser.parse_args(argv)

    per_subject = pd.read_csv(args.study / "per_subject.tsv", sep="\t",
                              dtype={"subject": str})
    rows, doc = [], {"command": command_line(__file__, argv), "lags": args.lags,
                     "datasets": {}}
    for name in args.datasets:
        truth = gap_scores(name, args.work, args.lags, args.seed)
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
