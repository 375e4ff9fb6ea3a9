"""Benchmark: applying a trained model to a 10-minute 64-channel EEG-only recording.

What a user pays to synthesize BOLD from EEG recorded without fMRI
(:func:`eeg2fmri.synthesize_image` on the BrainVision file, then the NIfTI written):
reading the file, putting it into the model's channels (here: channels shuffled, 3
missing and 1 bad, so 4 interpolated, and a sampling rate to resample when the case
says so), the spectra, the prediction of every frame on the model's grid (noddi's
30 x 64 x 64), the image. Each case runs in a fresh worker process; its peak memory
is that process's resident-set high-water mark (the interpreter, torch and the model
included), and the time the best of ``--repeat`` calls after one warm-up.

Models: the default :class:`~eeg2fmri.Spec2VolEstimator` (``spec2vol-bridge``) and
:class:`~eeg2fmri.BandPowerRidge`, trained briefly on a small simulated dataset with
the same cap (training quality does not change what applying costs). Target: under
10 s and 2 GB on our 2-core machine.

Run: ``python benchmarks/bench_apply.py`` (writes ``benchmarks/results/apply.json``
and ``apply.md``; ``--out-dir`` elsewhere).
"""

import argparse
import json
import sys
from pathlib import Path

if not __package__:  # run as a file: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import harness

#: The recording: 10 minutes at the noddi TR (2.16 s), 63 EEG channels + ECG.
N_VOLUMES = 278
#: the default model of Spec2VolEstimator
DEFAULT_MODEL = "spec2vol-bridge"
CASES = [
    dict(model=DEFAULT_MODEL, sfreq=250.0),
    dict(model=DEFAULT_MODEL, sfreq=1000.0),
    dict(model="ridge", sfreq=250.0),
    dict(model="ridge", sfreq=1000.0),
]
SIM = dict(preset="noddi", n_channels=64, bold_shape=(30, 64, 64), random_state=0)


def _cached(path, estimator):
    """Whether ``path`` holds a model saved with ``estimator``'s parameters."""
    if not path.exists():
        return False
    saved = json.loads(path.read_text()).get("params") or {}
    wanted = json.loads(json.dumps(estimator.get_params(deep=False), default=str))
    return all(saved.get(k) == v for k, v in wanted.items())


def _prepare(work):
    """Models (cached) and the EEG-only recordings of each sampling rate."""
    from eeg2fmri import (
        BandPowerRidge,
        FeatureParams,
        Spec2VolEstimator,
        build_dataset,
        simulate_dataset,
    )
    from eeg2fmri.simulate import simulate_eeg_only_dataset

    work = Path(work)
    models = work / "models"
    estimators = {
        "ridge": BandPowerRidge,
        DEFAULT_MODEL: lambda: Spec2VolEstimator(
            epochs=1, validation_split=0, random_state=0
        ),
    }
    missing = [n for n in estimators
               if not _cached(models / f"{n}.json", estimators[n]())]
    if missing:
        bids = work / "train"
        if not bids.exists():
            simulate_dataset(bids, n_subjects=3, n_volumes=60, **SIM)
        data = build_dataset(bids, FeatureParams(n_context=20))
        kw = dict(groups=data.groups, runs=data.provenance["run_label"].to_numpy())
        for name in missing:
            estimators[name]().fit(data.X, data.y, **kw).save(models / f"{name}.json")
    for sfreq in sorted({c["sfreq"] for c in CASES}):
        root = work / f"eeg_{int(sfreq)}hz"
        if not root.exists():
            simulate_eeg_only_dataset(
                root, subjects=("04",), n_volumes=N_VOLUMES, drop_channels=3,
                bad_channels=1, shuffle_channels=True, sfreq=sfreq, **SIM,
            )
    return models


def apply_once(model, sfreq, work, repeat):
    """Worker: load the model, synthesize and write the image; time and peak RSS."""
    import nibabel as nib

    from eeg2fmri import load_model, synthesize_image

    work = Path(work)
    est = load_model(work / "models" / f"{model}.json")
    eeg = next((work / f"eeg_{int(sfreq)}hz" / "sub-04" / "eeg").glob("*.vhdr"))
    out = work / f"out_{model}_{int(sfreq)}.nii.gz"
    rss_loaded = harness.current_rss_bytes()

    def call():
        img, run = synthesize_image(est, eeg, return_run=True)
        nib.save(img, out)
        return run

    timing = harness.time_calls(call, repeats=repeat, warmup=1)
    run = timing.value
    return {
        "model": model,
        "sfreq": sfreq,
        "n_channels_file": len(run.conformed.raw.ch_names),
        "n_frames": run.n_frames,
        "interpolated": run.conformed.interpolated,
        "resampled": run.conformed.resampled,
        "seconds_best": timing.best,
        "seconds_median": timing.median,
        "peak_rss_mb": harness.peak_rss_bytes() / 2**20,
        "rss_after_loading_mb": rss_loaded / 2**20,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/eeg2fmri-bench-apply"))
    parser.add_argument("--repeat", type=int, default=3)
    harness.add_output_arguments(parser)
    harness.add_worker_argument(parser)
    args = parser.parse_args(argv)
    if args.worker:
        harness.print_json_line(apply_once(**json.loads(args.worker)))
        return 0
    _prepare(args.work)
    rows = []
    for case in CASES:
        payload = {**case, "work": str(args.work), "repeat": args.repeat}
        rows.append(harness.run_worker(__file__, payload, check=True))
    header = ["model", "file Hz", "frames", "interpolated", "time (s, best)",
              "time (s, median)", "peak RSS (MB)", "RSS after loading (MB)"]
    table = harness.markdown_table(header, [
        [r["model"], f"{r['sfreq']:g}", r["n_frames"], len(r["interpolated"]),
         f"{r['seconds_best']:.2f}", f"{r['seconds_median']:.2f}",
         f"{r['peak_rss_mb']:.0f}", f"{r['rss_after_loading_mb']:.0f}"]
        for r in rows
    ])
    env = harness.environment()
    markdown = (
        "# Applying a model to a 10-minute 64-channel EEG-only recording\n\n"
        f"`{harness.command_line('benchmarks/bench_apply.py', argv)}`\n\n"
        f"{harness.environment_line(env)}\n\n{table}\n"
    )
    out_dir, name = harness.output_target(args, "apply")
    harness.publish(name, {"rows": rows, "environment": env}, table,
                    out_dir=out_dir, write=not args.no_write, markdown=markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
