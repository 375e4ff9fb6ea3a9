"""End to end: train in the scanner, apply the model to EEG recorded elsewhere.

The issue's acceptance run, with the BIDS-App as a user runs it:

1. simulate a simultaneous EEG-fMRI dataset of 4 participants (noddi-like: 64
   channels with ECG, 250 Hz, TR 2.16 s) and train with ``eeg2fmri ... group
   --save-model`` (the default model, and ``--model-name ridge``);
2. simulate the EEG of participant 05 of the same simulation "recorded elsewhere":
   channels shuffled, 3 missing, 1 marked bad (and corrupted), old 10-20 names, an
   extra EOG, 500 Hz, no scanner markers, no ``func/``; the BOLD the scanner would
   have measured is kept in ``derivatives/simulation``;
3. run ``eeg2fmri <eeg-only> <out> participant --model <file>``: exit code, and
   bids-validator on the output;
4. the same model on participant 05's original paired recording (the same person,
   EEG and BOLD from the same seed);
5. score both against the same measured BOLD: voxel-wise temporal r in the
   simulated network voxels (and in the brain mask), on the frames whose EEG
   context is complete in both and past ``discard_volumes``.

Target: the EEG-only r within 0.02 of the paired one, for the default model and
the ridge.

Run: ``python benchmarks/portable_end_to_end.py`` (writes
``benchmarks/results/portable_end_to_end.{json,md}``; ``--out-dir`` elsewhere).
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path

if not __package__:  # run as a file: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from benchmarks import harness

SIM = dict(preset="noddi", n_channels=64, bold_shape=(16, 32, 32), n_volumes=150,
           random_state=7)
CAP = dict(drop_channels=3, bad_channels=1, shuffle_channels=True, rename="10-20-old",
           sfreq=500.0, extra_channels=("EOG",))
MODELS = {"default": [], "ridge": ["--model-name", "ridge"]}


def _app(*args, log=None):
    """Run the BIDS-App CLI; returns (exit code, seconds, stderr tail)."""
    with harness.Stopwatch() as clock:
        proc = subprocess.run([sys.executable, "-m", "bids_app", *map(str, args)],
                              capture_output=True, text=True, check=False)
    if log is not None:
        Path(log).write_text(proc.stderr)
    return proc.returncode, clock.seconds, proc.stderr.strip().splitlines()[-3:]


def _validate(root):
    exe = Path(sys.executable).parent / "bids-validator-deno"
    if not exe.exists():
        return None
    proc = subprocess.run([str(exe), str(root), "--format", "json"],
                          capture_output=True, text=True, check=False)
    issues = json.loads(proc.stdout)["issues"]["issues"]
    return sum(i["severity"] == "error" for i in issues)


def _frames(bold_json):
    meta = json.loads(Path(bold_json).read_text())
    return np.asarray(meta["ContextComplete"], dtype=bool)


def _r(synth, measured, mask):
    a, b = synth[mask], measured[mask]
    ok = (a.std(axis=1) > 0) & (b.std(axis=1) > 0)
    a = (a[ok] - a[ok].mean(1, keepdims=True)) / a[ok].std(1, keepdims=True)
    b = (b[ok] - b[ok].mean(1, keepdims=True)) / b[ok].std(1, keepdims=True)
    return float(np.mean((a * b).mean(axis=1))), int(ok.sum())


def run(work, out_dir, write):
    import nibabel as nib

    from eeg2fmri.simulate import simulate_dataset, simulate_eeg_only_dataset

    work = Path(work)
    train = work / "scanner4"
    full = work / "scanner5"
    elsewhere = work / "elsewhere"
    for path, make in (
        (train, lambda p: simulate_dataset(p, n_subjects=4, **SIM)),
        (full, lambda p: simulate_dataset(p, n_subjects=5, **SIM)),
        (elsewhere, lambda p: simulate_eeg_only_dataset(
            p, subjects=("05",), **CAP, **SIM)),
    ):
        if not path.exists():
            make(path)
    truth = elsewhere / "derivatives" / "simulation" / "sub-05" / "func"
    measured = np.asarray(nib.load(next(truth.glob("*_desc-measured_bold.nii.gz")))
                          .dataobj, dtype=np.float32)
    nets = np.asarray(nib.load(next(truth.glob("*_desc-networks_mask.nii.gz")))
                      .dataobj).max(axis=-1) > 0.5
    brain = measured.mean(axis=-1) > np.percentile(measured.mean(axis=-1), 60)
    rows = []
    for name, flags in MODELS.items():
        app_out = work / f"train_{name}"
        code_train, t_train, _ = _app(
            train, app_out, "group", "--save-model", "-w", work / f"w_{name}",
            "--skip-bids-validation", "--omp-nthreads", "2", *flags,
            log=work / f"train_{name}.log")
        model = next((app_out / "models").glob("*.safetensors"))
        eo_out = work / f"eeg_only_{name}"
        code_eo, t_eo, tail = _app(
            elsewhere, eo_out, "participant", "--model", model, "-w",
            work / f"w_eo_{name}", "--omp-nthreads", "2",
            log=work / f"eeg_only_{name}.log")
        pa_out = work / f"paired_{name}"
        code_pa, t_pa, _ = _app(
            full, pa_out, "participant", "--participant-label", "05", "--model",
            model, "-w", work / f"w_pa_{name}", "--skip-bids-validation",
            "--omp-nthreads", "2", log=work / f"paired_{name}.log")
        eo_img = next((eo_out / "sub-05" / "func").glob("*_desc-eeg2fmri_bold.nii.gz"))
        pa_img = next((pa_out / "sub-05" / "func").glob("*_desc-eeg2fmri_bold.nii.gz"))
        eo = np.asarray(nib.load(eo_img).dataobj, dtype=np.float32)
        pa = np.asarray(nib.load(pa_img).dataobj, dtype=np.float32)
        n = min(eo.shape[-1], pa.shape[-1], measured.shape[-1])
        keep = _frames(str(eo_img).replace(".nii.gz", ".json"))[:n] & _frames(
            str(pa_img).replace(".nii.gz", ".json"))[:n]
        keep[:6] = False  # discard_volumes
        eo_meta = json.loads(Path(str(eo_img).replace(".nii.gz", ".json")).read_text())
        row = {
            "model": name,
            "exit_train": code_train, "exit_eeg_only": code_eo, "exit_paired": code_pa,
            "seconds_train": t_train, "seconds_eeg_only": t_eo,
            "validator_errors_output": _validate(eo_out),
            "validator_errors_input": _validate(elsewhere),
            "frames_scored": int(keep.sum()),
            "adaptations": eo_meta["EEGAdaptations"],
            "tail": tail,
        }
        for region, mask in (("network", nets), ("brain", brain)):
            r_eo, n_vox = _r(eo[..., :n][..., keep], measured[..., :n][..., keep], mask)
            r_pa, _ = _r(pa[..., :n][..., keep], measured[..., :n][..., keep], mask)
            row.update({f"r_{region}_eeg_only": r_eo, f"r_{region}_paired": r_pa,
                        f"r_{region}_difference": r_eo - r_pa,
                        f"n_voxels_{region}": n_vox})
        rows.append(row)
        print(json.dumps({k: v for k, v in row.items() if k != "adaptations"}),
              flush=True)
    header = ["model", "exit (train / EEG-only / paired)", "validator errors (out)",
              "frames", "r network EEG-only", "r network paired", "difference",
              "r brain EEG-only", "r brain paired", "EEG-only run (s)"]
    table = harness.markdown_table(header, [
        [r["model"], f"{r['exit_train']} / {r['exit_eeg_only']} / {r['exit_paired']}",
         r["validator_errors_output"], r["frames_scored"],
         f"{r['r_network_eeg_only']:.3f}", f"{r['r_network_paired']:.3f}",
         f"{r['r_network_difference']:+.3f}", f"{r['r_brain_eeg_only']:.3f}",
         f"{r['r_brain_paired']:.3f}", f"{r['seconds_eeg_only']:.1f}"]
        for r in rows
    ])
    env = harness.environment()
    adapted = rows[0]["adaptations"]
    markdown = (
        "# Train in the scanner, apply to EEG recorded elsewhere (BIDS-App)\n\n"
        f"`{harness.command_line('benchmarks/portable_end_to_end.py')}`\n\n"
        f"{harness.environment_line(env)}\n\n"
        f"Simulation {SIM}; EEG-only cap {CAP}. Adaptations recorded for the "
        f"EEG-only run: interpolated {adapted['ChannelsInterpolated']}, dropped "
        f"{adapted['ChannelsDropped']}, resampled {adapted['Resampled']}.\n\n"
        f"{table}\n"
    )
    harness.publish("portable_end_to_end", {"rows": rows, "simulation": SIM,
                                            "cap": CAP, "environment": env},
                    table, out_dir=out_dir, write=write, markdown=markdown)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path,
                        default=Path("/tmp/eeg2fmri-portable-end-to-end"))
    harness.add_output_arguments(parser)
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    run(args.work, args.out_dir, not args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
