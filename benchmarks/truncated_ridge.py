"""What the network adds to the default's ridge: the truncated ridge alone, per fold.

The default ``Spec2VolEstimator()`` averages its network with a band-power ridge
truncated to :data:`eeg2fmri.estimators.BACKING_RANK` components (``ridge_backing``).
Truncation alone regularizes the ridge, so the fair question is whether the network
adds anything to that truncated ridge. This script fits the study's
:class:`~eeg2fmri.BandPowerRidge` on every fold of the given study datasets, keeps
the same 64 components (:class:`~eeg2fmri.estimators.RidgeBacking`), scores the held-out
participants as the study does, and compares per participant with the study's
``spec2vol-bridge (default)`` and ``ridge (band power)`` rows
(``docs/study/per_subject.tsv``): Wilcoxon signed-rank and a bootstrap 95 % interval.

Run after the study (it reuses the study's data in ``--work``): ``python
benchmarks/truncated_ridge.py realistic noddi --work /tmp/eeg2fmri-study``.
"""

import argparse
import sys
import warnings
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
from benchmarks.study.baselines import FoldData
from benchmarks.study.data import folds, load_pairs, take_rows
from benchmarks.study.stats import compare

NAME = "truncated_ridge"
DEFAULT_ROW = "spec2vol-bridge (default)"
RIDGE_ROW = "ridge (band power)"


def truncated_ridge_scores(name, work):
    """Held-out r in the network voxels of the truncated ridge, per participant."""
    from eeg2fmri.estimators import BandPowerRidge, RidgeBacking

    spec = _spec(name)
    ds = load_pairs(spec, work)
    scores = {}
    for _, test_subjects in folds(spec, set(ds.groups)):
        data = FoldData.load(spec, work, test_subjects)
        train, test = data.train_idx, data.test_idx
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            ridge = BandPowerRidge(frequencies=ds.frequencies).fit(
                take_rows(ds.X, train), np.asarray(ds.y[train]),
                groups=ds.groups[train], runs=data.runs[train],
            )
        backing = RidgeBacking.from_ridge(ridge, np.zeros(ridge.output_shape_, bool))
        units = backing.model_units(take_rows(ds.X, test))
        pred = ridge.target_scaler_.to_prediction(
            units.reshape(len(test), *ridge.output_shape_)
        )
        for subject, s in data.score(ridge, pred).items():
            scores[str(subject)] = s["r_network"]
    return scores


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datasets", nargs="+", help="study datasets or variants")
    parser.add_argument("--work", type=Path, default=Path("/tmp/eeg2fmri-study"))
    parser.add_argument("--study", type=Path, default=REPO / "docs" / "study",
                        help="the study's results (per_subject.tsv)")
    add_output_arguments(parser)
    args = parser.parse_args(argv)

    per_subject = pd.read_csv(args.study / "per_subject.tsv", sep="\t",
                              dtype={"subject": str})
    rows, doc = [], {"command": command_line(__file__, argv),
                     "datasets": {}}
    for name in args.datasets:
        truncated = truncated_ridge_scores(name, args.work)
        study = per_subject[per_subject["dataset"] == name]
        subjects = sorted(truncated)
        t = np.array([truncated[s] for s in subjects])
        default, ridge = (
            study[study["row"] == row].set_index("subject")["r_network"]
            .reindex(subjects).to_numpy(dtype=float)
            for row in (DEFAULT_ROW, RIDGE_ROW)
        )
        vs_default, vs_ridge = compare(default, t), compare(t, ridge)
        doc["datasets"][name] = {
            "truncated_ridge": truncated, "default_minus_truncated": vs_default,
            "truncated_minus_ridge": vs_ridge,
        }
        rows.append([
            name, str(len(t)), f"{np.nanmean(default):.3f}", f"{t.mean():.3f}",
            f"{np.nanmean(ridge):.3f}",
            f"{vs_default['mean_difference']:+.3f} "
            f"[{vs_default['bootstrap_ci95_low']:+.3f}, "
            f"{vs_default['bootstrap_ci95_high']:+.3f}]",
            f"{vs_default['wilcoxon_p']:.3g}",
            f"{vs_ridge['mean_difference']:+.3f} ({vs_ridge['wilcoxon_p']:.3g})",
        ])
    table = markdown_table(
        ["dataset", "n", "default", "ridge, 64 components", "ridge",
         "default - truncated [bootstrap 95 % CI]", "Wilcoxon p",
         "truncated - ridge (p)"],
        rows,
    )
    out_dir, stem = output_target(args, NAME)
    publish(stem, doc, table, out_dir=out_dir, write=not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
