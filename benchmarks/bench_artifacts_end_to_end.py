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
:class:`~eeg2fmri.linear.BandPowerRidge` with its defaults (penalty per voxel chosen
by cross-validation over the training participants) and, with ``--spec2vol``,
:class:`~eeg2fmri.estimator.Spec2VolEstimator` (``spec2vol-tiny``, default recipe,
that many epochs). Each held-out participant is scored by the mean voxel-wise
temporal correlation between predicted and measured volumes in the simulated
network voxels (a network map > 0.5) and in the brain (mean per-volume min-max
intensity > 0.2), as ``benchmarks/study.py`` does. The mean-volume baseline
(:class:`~eeg2fmri.estimator.MeanVolumeRegressor`) is scored the same way (0 by
construction). Target: corrected >= 90 % of clean in the network voxels.

Writes ``benchmarks/results/artifacts_end_to_end.json`` and ``.md`` (atomically).
"""

import argparse
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from eeg2fmri.metrics import comparable_volumes

RESULTS = Path(__file__).resolve().parent / "results"
SOURCES = ("clean", "corrected", "uncorrected")
#: Extra source: the same correction with the ``"spatial"`` pulse method.
SPATIAL = "corrected (pulse spatial)"


def simulate(out_dir, args):
    """Write the inscanner dataset; returns (root, seconds)."""
    from eeg2fmri.simulate import simulate_dataset

    start = time.perf_counter()
    root = simulate_dataset(
        out_dir,
        preset="inscanner",
        n_subjects=args.n_subjects,
        n_volumes=args.n_volumes,
        n_channels=args.n_channels,
        bold_shape=tuple(args.bold_shape),
        random_state=args.seed,
    )
    return root, time.perf_counter() - start


def write_spatial_corrections(root, out_root):
    """Correct every raw run with pulse ``method="spatial"`` into ``out_root``."""
    from eeg2fmri.artifacts import correct_artifacts, correction_provenance
    from eeg2fmri.artifacts.derivatives import corrected_eeg_path, write_corrected_eeg
    from eeg2fmri.bids import find_paired_runs, load_eeg
    from eeg2fmri.features.runs import _n_slices

    for run in find_paired_runs(root).runs:
        raw = load_eeg(run.eeg_path)
        out = correct_artifacts(
            raw,
            "gradient+pulse",
            tr=float(run.tr),
            n_slices=_n_slices(run),
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
    start = time.perf_counter()
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
        # raw in-scanner EEG trusted on purpose: the pulse-artifact warning is expected
        warnings.simplefilter("ignore")
        ds = build_dataset(runs, **kwargs)
    files = [
        str(Path(r.eeg_path).relative_to(Path(r.eeg_path).parents[2])) for r in runs
    ]
    return ds, time.perf_counter() - start, files


def network_mask(root, run_label):
    """Voxels where a simulated network map exceeds 0.5 (the BOLD grid)."""
    import nibabel as nib

    from eeg2fmri.bids.bold import nifti_to_volumes

    sub = run_label.split("_")[0]
    path = (
        root
        / "derivatives"
        / "simulation"
        / sub
        / "func"
        / f"{run_label}_desc-networks_mask.nii.gz"
    )
    maps = nifti_to_volumes(np.asarray(nib.load(path).dataobj, dtype=np.float32))
    return (maps > 0.5).any(axis=0)


def subject_scores(est, ds, rows, pred, root):
    """{"r_network", "r_brain"} of one held-out participant's rows (time order)."""
    from eeg2fmri.estimators.scaling import per_volume_minmax
    from eeg2fmri.metrics import mean_temporal_correlation

    y_raw = np.asarray(ds.y[rows], dtype=np.float64)
    y_corr, pred_corr = comparable_volumes(est, y_raw, pred)
    run_label = ds.provenance["run_label"].to_numpy()[rows[0]]
    net = network_mask(root, run_label)
    brain = per_volume_minmax(y_raw).mean(axis=0) > 0.2
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
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            est.fit(ds.X[train], ds.y[train], groups=groups[train])
        fit_seconds = time.perf_counter() - start
        pred = est.predict(ds.X[test])
        folds[str(subject)] = {
            **subject_scores(est, ds, test, pred, root),
            "fit_seconds": fit_seconds,
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
    lines = [
        "| model | EEG | r network (sd over folds) | r brain (sd) | corrected / clean "
        "(network) | fit s |",
        "|" + "---|" * 6,
    ]
    for model, by_source in results.items():
        clean = by_source.get("clean", {}).get("mean", {}).get("r_network")
        for source, res in by_source.items():
            m = res["mean"]
            ratio = (
                f"{m['r_network'] / clean:.3f}"
                if clean and source != "clean" and model != "MeanVolume"
                else ""
            )
            lines.append(
                f"| {model} | {source} | {m['r_network']:.3f} "
                f"({m['r_network_sd']:.3f}) | {m['r_brain']:.3f} "
                f"({m['r_brain_sd']:.3f}) | {ratio} | {m['fit_seconds']:.1f} |"
            )
    return "\n".join(lines)


def _fold_table(results):
    """Held-out r in the network voxels, one row per participant left out."""
    cols = [(m, s) for m, by in results.items() if m != "MeanVolume" for s in by]
    head = "| left out | " + " | ".join(f"{m} {s}" for m, s in cols) + " |"
    lines = [head, "|" + "---|" * (len(cols) + 1)]
    first = results[cols[0][0]][cols[0][1]]["folds"]
    for fold in first:
        cells = [f"{results[m][s]['folds'][fold]['r_network']:.3f}" for m, s in cols]
        lines.append(f"| sub-{fold} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
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
    parser.add_argument(
        "--output", type=Path, default=RESULTS / "artifacts_end_to_end.json"
    )
    args = parser.parse_args(argv)
    from eeg2fmri._utils.io import write_json_atomic, write_text_atomic

    t_total = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="e2f-artifacts-e2e-"))
    try:
        root, sim_seconds = simulate((args.keep or tmp) / "bids", args)
        print(
            f"simulated {args.n_subjects} participants in {sim_seconds:.1f} s",
            flush=True,
        )
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
        ds = datasets["clean"]
        sizes = {
            "n_subjects": args.n_subjects,
            "n_volumes": args.n_volumes,
            "n_channels": args.n_channels,
            "n_eeg_channels": args.n_channels - 1,
            "bold_shape": list(args.bold_shape),
            "pairs_per_subject": int(n_pairs["clean"] // args.n_subjects),
            "X_shape": list(ds.X.shape),
            "sfreq_raw": 5000.0,
            "tr": 2.0,
            "n_slices": int(args.bold_shape[0]),
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    table = _fmt_table(results)
    print(table)
    target_model = next(m for m in results if m != "MeanVolume")
    target = results[target_model]["corrected"]["mean"]["ratio_to_clean_network"]
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    command = "python benchmarks/bench_artifacts_end_to_end.py " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    doc = {
        "benchmark": "bench_artifacts_end_to_end",
        "command": command.strip(),
        "sizes": sizes,
        "seed": args.seed,
        "eeg_files": eeg_files,
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
        "seconds": {
            "simulate": sim_seconds,
            "build": build_seconds,
            "total": time.perf_counter() - t_total,
        },
        "results": results,
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_at_end": load,
            "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        },
    }
    write_json_atomic(args.output, doc)
    md = args.output.with_suffix(".md")
    write_text_atomic(
        md,
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
        + ", ".join(f"{s} {v:.1f} s" for s, v in build_seconds.items())
        + f"; simulation {sim_seconds:.1f} s; total {doc['seconds']['total']:.0f} s. "
        f"Load average at the end {load}.\n\n"
        + table
        + f"\n\nTarget ({target_model}, network voxels, corrected >= 0.9 x clean): "
        f"ratio {target:.3f}, {'met' if target >= 0.9 else 'NOT met'}.\n\n"
        "Held-out r in the network voxels per fold:\n\n" + _fold_table(results) + "\n",
    )
    print(f"wrote {args.output} and {md}")


if __name__ == "__main__":
    main()
