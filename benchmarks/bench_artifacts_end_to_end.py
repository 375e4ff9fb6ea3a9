"""Benchmark: models trained on corrected, clean and raw in-scanner EEG.

Usage::

    python benchmarks/bench_artifacts_end_to_end.py [--n-subjects 4] [--n-volumes 112]
        [--n-channels 16] [--bold-shape 32 20 20] [--seed 0] [--spec2vol EPOCHS]

Simulates a BIDS dataset with the ``inscanner`` preset (5 kHz EEG with the MR
gradient artifact of 32 back-to-back slices per TR of 2 s and the pulse artifact,
structured BOLD noise; the simulator also keeps the clean EEG in
``derivatives/simulation``), then builds the (EEG context, BOLD volume) pairs of the
same runs three ways, with the default :class:`~eeg2fmri.features.FeatureParams`:

clean
    the simulator's clean EEG (``eeg_derivatives="simulation"``, ``desc-clean``),
    trusted as it is (``eeg_correction="none"``);
corrected
    the raw EEG corrected by eeg2fmri (``eeg_correction="gradient+pulse"``, the
    slice count from the BOLD ``SliceTiming``);
uncorrected
    the raw EEG trusted as it is (``eeg_correction="none"``).

The same model is trained on each, leaving one participant out in turn:
:class:`~eeg2fmri.BandPowerRidge` with its defaults (penalty per voxel chosen
by cross-validation over the training participants) and, with ``--spec2vol``,
:class:`~eeg2fmri.Spec2VolEstimator` (``spec2vol-tiny``, default recipe,
that many epochs). Each held-out participant is scored by the mean voxel-wise
temporal correlation between predicted and measured volumes in the simulated
network voxels (a network map > 0.5) and in the brain (mean per-volume min-max
intensity > 0.2), as the study (``python -m benchmarks.study``) does. The mean-volume
baseline (:class:`~eeg2fmri.MeanVolumeRegressor`) is scored the same way (0 by
construction). Target: corrected >= 90 % of clean in the network voxels.

Writes ``benchmarks/results/artifacts_end_to_end.json`` and ``.md`` (atomically;
``--output`` or ``--out-dir`` elsewhere).
"""

import argparse
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

if not __package__:  # run as a file: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import harness
from benchmarks.study.data import brain_mask, network_mask, scale_volumes

SOURCES = ("clean", "corrected", "uncorrected")
#: Extra source: the same correction with the ``"spatial"`` pulse method.
SPATIAL = "corrected (pulse spatial)"


def simulate(out_dir, args):
    """Write the inscanner dataset; returns (root, seconds)."""
    from eeg2fmri.simulate import simulate_dataset

    with harness.Stopwatch() as clock:
        root = simulate_dataset(
            out_dir,
            preset="inscanner",
            n_subjects=args.n_subjects,
            n_volumes=args.n_volumes,
            n_channels=args.n_channels,
            bold_shape=tuple(args.bold_shape),
            random_state=args.seed,
        )
    return root, clock.seconds


def write_spatial_corrections(root, out_root):
    """Correct every raw run with pulse ``method="spatial"`` into ``out_root``."""
    from eeg2fmri.artifacts import correct_artifacts, correction_provenance
    from eeg2fmri.artifacts.derivatives import corrected_eeg_path, write_corrected_eeg
    from eeg2fmri.bids import find_paired_runs, load_eeg

    for run in find_paired_runs(root).runs:
        raw = load_eeg(run.eeg_path)
        timing = run.slice_timing  # acquisitions per TR: distinct slice times
        out = correct_artifacts(
            raw,
            "gradient+pulse",
            tr=float(run.tr),
            n_slices=None if timing is None else len(set(np.round(timing, 6))),
            pulse_options={"method": "spatial"},
            run_label=run.label,
        )
        write_corrected_eeg(
            out,
            corrected_eeg_path(out_root, run.eeg_path, "gradient+pulse+spatial"),
            source=str(run.eeg_path),
            provenance=correction_provenance(out),
        )


def build(root, source, work_dir):
    """Pairs from one EEG source; returns (PairedDataset, seconds, EEG files)."""
    from eeg2fmri.bids import find_paired_runs
    from eeg2fmri.features import build_dataset

    find, kwargs = {}, {"eeg_correction": "none"}
    if source == "clean":
        find = {
            "eeg_derivatives": "simulation",
            "bids_filters": {"eeg": {"desc": "clean"}},
        }
    elif source == "corrected":
        kwargs.update(eeg_correction="gradient+pulse", work_dir=work_dir)
    with harness.Stopwatch() as clock:
        if source == SPATIAL:
            out_root = Path(work_dir) / "eeg_corrected_spatial"
            write_spatial_corrections(root, out_root)
            find = {
                "eeg_derivatives": out_root,
                "bids_filters": {"eeg": {"desc": "gradientpulsespatial"}},
            }
            kwargs = {}  # detected as corrected (provenance): not corrected again
        runs = find_paired_runs(root, **find).runs
        with warnings.catch_warnings():
            # raw in-scanner EEG trusted on purpose: the pulse-artifact warning is
            # expected
            warnings.simplefilter("ignore")
            ds = build_dataset(runs, **kwargs)
    files = [
        str(Path(r.eeg_path).relative_to(Path(r.eeg_path).parents[2])) for r in runs
    ]
    return ds, clock.seconds, files


def subject_scores(est, ds, rows, pred, root):
    """{"r_network", "r_brain"} of one held-out participant's rows (time order)."""
    from eeg2fmri.metrics import comparable_volumes, mean_temporal_correlation

    y_raw = np.asarray(ds.y[rows], dtype=np.float64)
    y_corr, pred_corr = comparable_volumes(est, y_raw, pred)
    run_label = ds.provenance["run_label"].to_numpy()[rows[0]]
    net = network_mask(root, run_label)
    brain = brain_mask(scale_volumes(y_raw))
    return {
        "r_network": mean_temporal_correlation(y_corr, pred_corr, net),
        "r_brain": mean_temporal_correlation(y_corr, pred_corr, brain),
        "n_network_voxels": int(net.sum()),
        "n_brain_voxels": int(brain.sum()),
        "n_test_pairs": int(len(rows)),
    }


def make_model(name, ds, args):
    """A fresh, unfitted estimator."""
    if name == "BandPowerRidge":
        from eeg2fmri.estimators import BandPowerRidge

        return BandPowerRidge(frequencies=ds.frequencies)
    if name == "MeanVolume":
        from eeg2fmri.estimators import MeanVolumeRegressor

        return MeanVolumeRegressor()
    from eeg2fmri.estimators import Spec2VolEstimator

    return Spec2VolEstimator(
        model="spec2vol-tiny",
        epochs=args.spec2vol,
        device="cpu",
        random_state=args.seed,
    )


def leave_one_participant_out(name, ds, root, args):
    """Per-fold scores and seconds of one model on one set of pairs."""
    groups = np.asarray(ds.groups)
    prov = ds.provenance
    folds = {}
    for subject in sorted(set(groups))[: args.max_folds]:
        test = np.flatnonzero(groups == subject)
        test = test[np.argsort(prov["onset"].to_numpy()[test], kind="stable")]
        train = np.flatnonzero(groups != subject)
        est = make_model(name, ds, args)
        with harness.Stopwatch() as fit, warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            est.fit(ds.X[train], ds.y[train], groups=groups[train])
        pred = est.predict(ds.X[test])
        folds[str(subject)] = {
            **subject_scores(est, ds, test, pred, root),
            "fit_seconds": fit.seconds,
        }
        print(
            f"  {name} held-out {subject}: "
            + ", ".join(
                f"{k} {v:.3f}"
                for k, v in folds[str(subject)].items()
                if k.startswith("r_")
            ),
            flush=True,
        )
    return folds


def summarize(folds):
    """Means over folds of every r and the total fit time."""
    out = {}
    for key in ("r_network", "r_brain"):
        vals = np.array([f[key] for f in folds.values()], dtype=float)
        out[key] = float(np.mean(vals))
        out[key + "_sd"] = float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0
    out["fit_seconds"] = float(sum(f["fit_seconds"] for f in folds.values()))
    return out


def _fmt_table(results):
    header = ["model", "EEG", "r network (sd over folds)", "r brain (sd)",
              "corrected / clean (network)", "fit s"]
    cells = []
    for model, by_source in results.items():
        clean = by_source.get("clean", {}).get("mean", {}).get("r_network")
        for source, res in by_source.items():
            m = res["mean"]
            ratio = (
                f"{m['r_network'] / clean:.3f}"
                if clean and source != "clean" and model != "MeanVolume"
                else ""
            )
            cells.append([
                model,
                source,
                f"{m['r_network']:.3f} ({m['r_network_sd']:.3f})",
                f"{m['r_brain']:.3f} ({m['r_brain_sd']:.3f})",
                ratio,
                f"{m['fit_seconds']:.1f}",
            ])
    return harness.markdown_table(header, cells)


def _fold_table(results):
    """Held-out r in the network voxels, one row per participant left out."""
    cols = [(m, s) for m, by in results.items() if m != "MeanVolume" for s in by]
    first = results[cols[0][0]][cols[0][1]]["folds"]
    cells = [
        [f"sub-{fold}"]
        + [f"{results[m][s]['folds'][fold]['r_network']:.3f}" for m, s in cols]
        for fold in first
    ]
    return harness.markdown_table(
        ["left out", *(f"{m} {s}" for m, s in cols)], cells
    )


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-subjects", type=int, default=4)
    parser.add_argument("--n-volumes", type=int, default=112)
    parser.add_argument("--n-channels", type=int, default=16)
    parser.add_argument("--bold-shape", type=int, nargs=3, default=[32, 20, 20])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--spec2vol",
        type=int,
        default=0,
        metavar="EPOCHS",
        help="also train spec2vol-tiny for that many epochs (0: skip)",
    )
    parser.add_argument(
        "--models",
        nargs="+",
        default=["MeanVolume", "BandPowerRidge"],
        choices=["MeanVolume", "BandPowerRidge", "spec2vol-tiny"],
    )
    parser.add_argument(
        "--max-folds",
        type=int,
        default=None,
        help="hold out only the first N participants (default: each in turn)",
    )
    parser.add_argument(
        "--pulse-spatial",
        action="store_true",
        help="also train on EEG corrected with the spatial pulse method",
    )
    parser.add_argument(
        "--keep", type=Path, default=None, help="simulate into this folder and keep it"
    )
    harness.add_output_arguments(
        parser, json_option="--output", name="artifacts_end_to_end"
    )
    return parser.parse_args(argv)


def run(args, tmp):
    """Simulate, build the pairs of every EEG source, train and score every model.

    Returns
    -------
    results : dict
        ``{model: {source: {"folds": ..., "mean": ...}}}``.
    info : dict
        ``sizes``, ``eeg_files`` and the ``seconds`` of the simulation and of each
        source's pair building.
    """
    root, sim_seconds = simulate((args.keep or tmp) / "bids", args)
    print(f"simulated {args.n_subjects} participants in {sim_seconds:.1f} s",
          flush=True)
    datasets, build_seconds, eeg_files = {}, {}, {}
    sources = SOURCES + ((SPATIAL,) if args.pulse_spatial else ())
    for source in sources:
        datasets[source], build_seconds[source], eeg_files[source] = build(
            root, source, tmp / "work"
        )
        ds = datasets[source]
        print(
            f"{source}: X {tuple(ds.X.shape)}, y {tuple(ds.y.shape)}, "
            f"{build_seconds[source]:.1f} s",
            flush=True,
        )
    n_pairs = {s: int(len(ds.groups)) for s, ds in datasets.items()}
    if len(set(n_pairs.values())) != 1:
        raise RuntimeError(f"the EEG sources give different pairs: {n_pairs}")
    models = list(args.models)
    if args.spec2vol > 0 and "spec2vol-tiny" not in models:
        models.append("spec2vol-tiny")
    results = {}
    for model in models:
        results[model] = {}
        model_sources = sources[:1] if model == "MeanVolume" else sources
        for source in model_sources:
            folds = leave_one_participant_out(model, datasets[source], root, args)
            results[model][source] = {"folds": folds, "mean": summarize(folds)}
        if model != "MeanVolume":
            clean = results[model]["clean"]["mean"]
            for source in model_sources[1:]:
                m = results[model][source]["mean"]
                m["ratio_to_clean_network"] = m["r_network"] / clean["r_network"]
                m["ratio_to_clean_brain"] = m["r_brain"] / clean["r_brain"]
    sizes = {
        "n_subjects": args.n_subjects,
        "n_volumes": args.n_volumes,
        "n_channels": args.n_channels,
        "n_eeg_channels": args.n_channels - 1,
        "bold_shape": list(args.bold_shape),
        "pairs_per_subject": int(n_pairs["clean"] // args.n_subjects),
        "X_shape": list(datasets["clean"].X.shape),
        "sfreq_raw": 5000.0,
        "tr": 2.0,
        "n_slices": int(args.bold_shape[0]),
    }
    seconds = {"simulate": sim_seconds, "build": build_seconds}
    return results, {"sizes": sizes, "eeg_files": eeg_files, "seconds": seconds}


def main(argv=None):
    args = parse_args(argv)
    out_dir, name = harness.output_target(args, "artifacts_end_to_end")
    tmp = Path(tempfile.mkdtemp(prefix="e2f-artifacts-e2e-"))
    try:
        with harness.Stopwatch() as total:
            results, info = run(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    sizes, seconds = info["sizes"], {**info["seconds"], "total": total.seconds}
    table = _fmt_table(results)
    target_model = next(m for m in results if m != "MeanVolume")
    target = results[target_model]["corrected"]["mean"]["ratio_to_clean_network"]
    env = harness.environment()
    doc = {
        "benchmark": "bench_artifacts_end_to_end",
        "command": harness.command_line(__file__, argv),
        "sizes": sizes,
        "seed": args.seed,
        "eeg_files": info["eeg_files"],
        "eeg_correction": {
            "clean": "none (simulator's clean EEG)",
            "corrected": "gradient+pulse (defaults; n_slices from SliceTiming)",
            "uncorrected": "none (raw EEG)",
            SPATIAL: "correct_artifacts(raw, 'gradient+pulse', pulse_options="
            "{'method': 'spatial'}), written as derivatives",
        },
        "spec2vol_epochs": args.spec2vol,
        "max_folds": args.max_folds,
        "target": f"{target_model} corrected / clean r_network >= 0.9",
        "target_ratio": target,
        "target_met": bool(target >= 0.9),
        "seconds": seconds,
        "results": results,
        "environment": env,
    }
    markdown = (
        "# End to end: models trained on clean, corrected and uncorrected "
        "in-scanner EEG (simulated)\n\n"
        f"`{doc['command']}`: inscanner preset, {args.n_subjects} participants x "
        f"{args.n_volumes} volumes (TR 2 s, {sizes['pairs_per_subject']} pairs each), "
        f"{args.n_channels} channels ({args.n_channels - 1} EEG + ECG) at 5000 Hz, "
        f"{args.bold_shape[0]} slices, BOLD {tuple(args.bold_shape)}, seed "
        f"{args.seed}. Leave one participant out"
        + (f" (the first {args.max_folds} only)" if args.max_folds else "")
        + "; mean over the folds of the held-out voxel-wise temporal r. "
        "Pair building: "
        + ", ".join(f"{s} {v:.1f} s" for s, v in seconds["build"].items())
        + f"; simulation {seconds['simulate']:.1f} s; total {seconds['total']:.0f} s. "
        f"{harness.environment_line(env)}\n\n"
        + table
        + f"\n\nTarget ({target_model}, network voxels, corrected >= 0.9 x clean): "
        f"ratio {target:.3f}, {'met' if target >= 0.9 else 'NOT met'}.\n\n"
        "Held-out r in the network voxels per fold:\n\n" + _fold_table(results) + "\n"
    )
    harness.publish(
        name, doc, table, out_dir=out_dir, write=not args.no_write, markdown=markdown
    )


if __name__ == "__main__":
    main()
