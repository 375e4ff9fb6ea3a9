"""The README's main job on an embedded default, end to end, in minutes on a CPU.

``python -m eeg2fmri.demo OUT_DIR`` (what ``make demo`` runs):

1. simulates a small noddi-like EEG-fMRI BIDS dataset with known ground truth
   (``OUT_DIR/bids``, real-like BOLD noise);
2. finds its paired EEG/BOLD runs and extracts the training pairs (TR-window EEG
   spectra in n-window contexts, and the BOLD volume each context predicts), printing
   their shapes and how much memory the lazy pairing saves;
3. runs the BIDS-App on it (``participant group``: leave-one-subject-out training of
   the default model, whose training loss is logged per epoch, beside the band-power
   ridge of the same participants; synthesized BOLD as BIDS derivatives, metrics
   against the measured BOLD, HTML reports);
4. prints the temporal correlation with the measured BOLD of the model, the ridge
   and the mean-volume baseline in the model's signal voxels (what the reports lead
   with), and of the model in the simulated networks (the ground truth).

The defaults are sized to finish in a few minutes on 2 CPU cores: four participants
of 120 volumes, 16 electrodes, an 8 x 16 x 16 grid, the default model
(``spec2vol-bridge``) for 15 epochs; each held-out participant's model learns from
the other three.
"""

import sys
import time
from pathlib import Path

from ._utils.cli import ArgumentParser, parse_arguments, print_error

__all__ = ["main"]


def _build_parser():
    parser = ArgumentParser(
        prog="python -m eeg2fmri.demo",
        description="Simulate a small EEG-fMRI BIDS dataset, extract its training "
        "pairs and run the eeg2fmri BIDS-App on it.",
    )
    parser.add_argument("out_dir", type=Path, help="folder for the demo's outputs")
    parser.add_argument("--n-subjects", type=int, default=4)
    parser.add_argument("--n-volumes", type=int, default=120)
    parser.add_argument(
        "--model-name", default=None, help="default: the BIDS-App's default model"
    )
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--random-seed", type=int, default=0)
    return parser


def main(argv=None):
    """Run the demo; returns a process exit code."""
    from bids_app.run import main as bids_app_main
    from eeg2fmri.exceptions import Eeg2fmriError
    from eeg2fmri.features import FeatureParams, build_dataset
    from eeg2fmri.simulate import simulate_dataset

    args, code = parse_arguments(_build_parser(), argv)
    if args is None:
        return code
    bids_dir = args.out_dir / "bids"
    n_context = 4
    try:
        start = time.perf_counter()
        if not (bids_dir / "dataset_description.json").exists():
            simulate_dataset(
                bids_dir,
                preset="noddi",
                n_subjects=args.n_subjects,
                n_volumes=args.n_volumes,
                n_channels=16,
                bold_shape=(8, 16, 16),
                random_state=args.random_seed,
            )
        print(
            f"[1/3] simulated dataset: {bids_dir} ({time.perf_counter() - start:.1f} s)"
        )

        start = time.perf_counter()
        params = FeatureParams(n_context=n_context)
        dataset = build_dataset(bids_dir, params, work_dir=args.out_dir / "work")
        seconds = time.perf_counter() - start
    except Eeg2fmriError as error:
        print_error("eeg2fmri-demo", error)
        return error.exit_code

    n_pairs, _, n_channels, n_freqs = dataset.X.shape
    copied_mb = n_pairs * n_context * n_channels * n_freqs * 4 / 1e6
    print(
        f"[2/3] paired runs: {len(dataset.runs)}; training pairs: {n_pairs} "
        f"({seconds:.1f} s)"
    )
    print(
        f"      X (EEG contexts) {dataset.X.shape} float32, lazy: each spectrum is "
        f"stored once ({copied_mb:.1f} MB if every context were copied)"
    )
    print(f"      y (BOLD volumes) {dataset.y.shape}")
    labels = sorted(set(dataset.groups))
    counts = [int((dataset.groups == label).sum()) for label in labels]
    per_subject = ", ".join(
        f"sub-{s}: {n}" for s, n in zip(labels, counts, strict=True)
    )
    print(f"      pairs per participant: {per_subject}")

    out = args.out_dir / "derivatives"
    print("[3/3] BIDS-App: eeg2fmri bids derivatives participant group ...")
    model = [] if args.model_name is None else ["--model-name", args.model_name]
    code = bids_app_main(
        [
            str(bids_dir),
            str(out),
            "participant",
            "group",
            *model,
            "--epochs",
            str(args.epochs),
            "--batch-size",
            str(args.batch_size),
            "--n-context",
            str(n_context),
            "-w",
            str(args.out_dir / "work"),
            "--random-seed",
            str(args.random_seed),
            # a small model trains fastest single-threaded (no OpenMP sync per op)
            "--omp-nthreads",
            "1",
        ]
    )
    if code == 0:
        print(f"reports: {out / 'group_report.html'} and {out}/sub-*.html")
        print(f"group metrics: {out / 'group_metrics.tsv'}")
        _print_summary(out / "group_metrics.tsv", network_r(bids_dir, out))
    return code


def network_r(bids_dir, out_dir):
    """Mean temporal r of the synthesized BOLD in the simulated networks.

    Per run: the scored volumes of ``*_desc-eeg2fmri_bold.nii.gz`` against the
    measured BOLD, in the voxels of ``derivatives/simulation``'s network maps (> 0.5),
    the ground truth a real dataset does not have.

    Returns
    -------
    r : float
        Mean over the runs (NaN when none could be scored).
    """
    import nibabel as nib
    import numpy as np
    import pandas as pd

    from eeg2fmri.metrics import mean_temporal_correlation

    scores = []
    for bold in sorted(Path(out_dir).glob("sub-*/func/*_desc-eeg2fmri_bold.nii.gz")):
        run = bold.name.replace("_desc-eeg2fmri_bold.nii.gz", "")
        sub = run.split("_")[0]
        measured = bids_dir / sub / "func" / f"{run}_bold.nii.gz"
        truth = (bids_dir / "derivatives" / "simulation" / sub / "func"
                 / f"{run}_desc-networks_mask.nii.gz")
        metrics = bold.with_name(f"{run}_desc-eeg2fmri_metrics.tsv")
        if not (measured.is_file() and truth.is_file() and metrics.is_file()):
            continue
        scored = pd.read_csv(metrics, sep="\t")["scored"].to_numpy(bool)
        y = np.moveaxis(np.asarray(nib.load(measured).dataobj, np.float32), -1, 0)
        pred = np.moveaxis(np.asarray(nib.load(bold).dataobj, np.float32), -1, 0)
        maps = np.asarray(nib.load(truth).dataobj, np.float32)
        mask = (maps > 0.5).any(axis=-1) if maps.ndim == 4 else maps > 0.5
        scores.append(mean_temporal_correlation(y[scored], pred[scored], mask))
    return float(np.nanmean(scores)) if scores else float("nan")


def _print_summary(tsv, r_network):
    """The group means the reports lead with: temporal r of the model, the
    band-power ridge and the mean-volume baseline, then SSIM."""
    import pandas as pd

    table = pd.read_csv(tsv, sep="\t", na_values="n/a").set_index("participant_id")
    mean = table.loc["mean"]
    print(
        "temporal r with the measured BOLD, mean over held-out participants:\n"
        f"  in the model's signal voxels: model {mean['temporal_r_signal']:.3f}, "
        f"band-power ridge {mean['temporal_r_signal_ridge']:.3f}, mean-volume "
        f"baseline {mean['temporal_r_signal_baseline']:.3f}\n"
        f"  in the simulated networks (ground truth): model {r_network:.3f}\n"
        f"  whole brain: model {mean['temporal_r']:.3f}, ridge "
        f"{mean['temporal_r_ridge']:.3f}, mean volume "
        f"{mean['temporal_r_baseline']:.3f}\n"
        f"SSIM {mean['ssim']:.4f} (mean-volume baseline {mean['ssim_baseline']:.4f}: "
        "anatomy alone scores as high, so r leads)"
    )


if __name__ == "__main__":
    sys.exit(main())
