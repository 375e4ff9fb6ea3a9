"""Why the official Spec2VolCAMU-Net does not learn the EEG-driven BOLD, measured.

Three measurements behind ``docs/why_models_fail.rst``:

1. **Overfitting check** (:func:`eeg2fmri.diagnostics.overfit_check`) of every
   registered model and of the bridge ablations, at the test suite's budget: 32 pairs
   of the suite's simulated dataset (4 windows, 16 electrodes, 32 bins -> 8 x 16 x 16),
   a noise-free input-dependent target, 300 steps of 16, AdamW 1e-3 with a cosine
   decay. ``--full`` adds the full-size ``spec2vol`` and ``e2fnet`` (about 10 min
   each).
2. **Where the band power is lost**: a ridge probe (per-voxel penalty, three
   participants of the study's noddi preset held out in turn) that predicts the held-out
   participant's BOLD from (a) the band power of the input spectra, (b) the
   projection's output and (c) the encoder's output (after the MD-TF-CAE blocks) of
   an untrained ``spec2vol-small``, each pooled into bands like the bridge does.
3. **Gradient flow per block** of ``spec2vol-small`` on the study's noddi data with the
   paper's recipe (per-volume [0, 1] targets, SSIM + MSE, no bridge), the default
   recipe without the bridge, and the default recipe: the norm of the loss gradient
   of each block relative to the norm of its weights, on a fixed batch, at several
   steps of training; and the training loss relative to predicting the mean.

Usage::

    python benchmarks/diagnosis.py            # about 15 min on 2 cores
    python benchmarks/diagnosis.py --full     # + the full-size networks (~20 min)

Writes ``benchmarks/results/diagnosis.json``, ``diagnosis.md`` and one Markdown file
per table (``diagnosis_<part>.md``, included by the docs); ``--out-dir`` changes the
folder.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

if not __package__:  # run as a file: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import harness
from benchmarks.study import data as study_data
from benchmarks.study.config import DATASETS, StudyDataset
from benchmarks.study.scoring import score_predictions

OUT_SHAPE = (8, 16, 16)
#: The test suite's session dataset (tests/conftest.py SIM_KWARGS), seed 0.
SUITE = StudyDataset("suite", "noddi", 3, 40, 16, OUT_SHAPE)
#: label -> (registered name, overrides)
CHECKS = {
    "spec2vol-tiny": ("spec2vol-tiny", {}),
    "spec2vol-tiny, no bridge": ("spec2vol-tiny", {"bridge_latents": 0}),
    "spec2vol-small": ("spec2vol-small", {}),
    "spec2vol-small, no bridge (official topology)": (
        "spec2vol-small",
        {"bridge_latents": 0},
    ),
    "spec2vol-small, bridge on the encoder output": (
        "spec2vol-small",
        {"bridge_source": "encoder"},
    ),
    "spec2vol-small, bridge only": ("spec2vol-small", {"decoder": "none"}),
    "e2fnet-tiny": ("e2fnet-tiny", {}),
    "e2fnet-small": ("e2fnet-small", {}),
}
FULL_CHECKS = {"spec2vol": ("spec2vol", {}), "e2fnet": ("e2fnet", {})}
#: Held-out participants of the probes (noddi preset): three of six, as in issue 10.
PROBE_TEST_SUBJECTS = ("01", "03", "05")
GRADIENT_RUNS = ("paper recipe, no bridge", "default recipe, no bridge",
                 "default recipe")
GRADIENT_STEPS = (0, 25, 100, 300)


def overfit_table(work, labels, n_steps=300):
    """Run the overfitting check of each labelled model; rows of results."""
    from eeg2fmri.diagnostics import overfit_check
    from eeg2fmri.features import FeatureParams, build_dataset
    from eeg2fmri.models import model_info

    bids = study_data.simulate(SUITE, work, seed=0)
    ds = build_dataset(bids, FeatureParams(n_context=4, n_freqs=32),
                       work_dir=work / "features")
    pairs = np.asarray(ds.X[:32])
    rows = []
    for label in labels:
        name, overrides = {**CHECKS, **FULL_CHECKS}[label]
        result = overfit_check(name, pairs, out_shape=OUT_SHAPE, n_steps=n_steps,
                               model_params=overrides)
        rows.append(
            {
                "model": label,
                "registered_passes": (
                    model_info(name).passes_overfit_check if not overrides else None
                ),
                "n_params": result.n_params,
                "relative_loss": result.relative_loss,
                "passed": result.passed,
                "seconds": result.seconds,
                "curve": result.curve,
            }
        )
        print(f"overfit {label}: {result.relative_loss:.3f} "
              f"({result.seconds:.0f} s)", flush=True)
    return rows


def _pooled(features, n_bands):
    """Average the last axis of (n, N, C, F) features into contiguous bands."""
    from eeg2fmri.models.bridge import band_average_matrix

    pool = band_average_matrix(features.shape[-1], n_bands).numpy()
    return (features @ pool).reshape(len(features), -1)


def probe_table(work, seed=0):
    """Held-out r of ridge probes on band power, projection and encoder features."""
    import torch

    from eeg2fmri.estimators import BandPowerRidge
    from eeg2fmri.models import create_model

    spec = DATASETS["noddi"]
    bids = study_data.simulate(spec, work, seed)
    ds = study_data.load_pairs(spec, work)
    X = np.asarray(ds.X, dtype=np.float32)
    y = np.asarray(ds.y)
    runs = ds.provenance["run_label"].to_numpy()
    model = create_model("spec2vol-small", *X.shape[1:], y.shape[1:],
                         random_state=seed).eval()
    mean = X.mean(axis=(0, 1))
    std = X.std(axis=(0, 1))
    proj, enc = [], []
    with torch.no_grad():
        for start in range(0, len(X), 64):
            xb = torch.from_numpy((X[start : start + 64] - mean) / std)
            p = model.encoder.project(xb)
            proj.append(_pooled(p.numpy(), 32))
            enc.append(_pooled(model.encoder.blocks(p).numpy(), 16))
    sources = {
        "band power of the input spectra (7 EEG bands)": None,
        "projection output, untrained (16 channels x 32 bands)": np.concatenate(proj),
        "encoder output after the MD-TF-CAE blocks, untrained (16 x 16 bands)": (
            np.concatenate(enc)
        ),
    }
    rows = []
    for label, feats in sources.items():
        scores = []
        for test_subject in PROBE_TEST_SUBJECTS:
            test = ds.groups == test_subject
            if feats is None:
                est = BandPowerRidge(frequencies=ds.frequencies)
                Xtr, Xte = X[~test], X[test]
            else:
                est = BandPowerRidge(bands=None, input_shape=(1, 1, feats.shape[1]))
                Xtr, Xte = feats[~test], feats[test]
            est.fit(Xtr, y[~test], groups=ds.groups[~test], runs=runs[~test])
            sc = score_predictions(
                ds, np.flatnonzero(test), est, est.predict(Xte), bids=bids,
                target_shape=spec.target_shape,
            )
            scores.append(sc[test_subject]["r_network"])
        rows.append({"features": label, "r_network": scores,
                     "mean": float(np.mean(scores))})
        print(f"probe {label}: {np.mean(scores):.3f}", flush=True)
    return rows


def gradient_table(work, seed=0, n_steps=300, batch_size=16):
    """Gradient norm / weight norm per block while training spec2vol-small."""
    import torch

    from eeg2fmri import Spec2VolEstimator
    from eeg2fmri.estimators.scaling import (
        fit_input_scaling,
        fit_target_scaling,
        run_codes,
    )
    from eeg2fmri.losses import make_loss
    from eeg2fmri.models import create_model

    spec = DATASETS["noddi"]
    study_data.simulate(spec, work, seed)  # skipped when the study simulated it
    out = {}
    for label in GRADIENT_RUNS:
        paper = label.startswith("paper")
        ds = study_data.load_pairs(spec, work, "official" if paper else "default")
        train = np.flatnonzero(ds.groups != "01")
        est = Spec2VolEstimator.official() if paper else Spec2VolEstimator()
        X = np.asarray(ds.X[train], dtype=np.float32)
        y = np.asarray(ds.y[train], dtype=np.float32)
        codes, _ = run_codes(ds.provenance["run_label"].to_numpy()[train], len(y))
        rows = np.arange(len(y))
        xs = fit_input_scaling(X, rows, est.input_scaling, X.shape[1:])(X)
        target = fit_target_scaling(y, rows, est.target_scaling, y.shape[1:],
                                    codes=codes)
        ys = target.to_model(y, rows=rows)
        params = {} if "no bridge" not in label else {"bridge_latents": 0}
        model = create_model("spec2vol-small", *X.shape[1:], y.shape[1:],
                             random_state=seed, **params)
        offset = 0.0
        if not paper:  # the estimator's target_offset='mean' + zero output
            model.zero_output_()
            offset = torch.from_numpy(ys.mean(axis=0))
        loss_fn = make_loss(est.loss)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-2)
        rng = np.random.default_rng(seed)
        probe = np.sort(rng.choice(len(xs), batch_size, replace=False))
        xb, yb = torch.from_numpy(xs[probe]), torch.from_numpy(ys[probe])
        baseline = float(((ys - ys.mean(axis=0)) ** 2).mean())
        t0 = time.perf_counter()
        records = [_record(model, xb, yb, loss_fn, offset, baseline, 0)]
        model.train()
        for step in range(1, n_steps + 1):
            idx = np.sort(rng.choice(len(xs), batch_size, replace=False))
            pred = model(torch.from_numpy(xs[idx])) + offset
            value = loss_fn(pred, torch.from_numpy(ys[idx]))
            opt.zero_grad(set_to_none=True)
            value.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            if step in GRADIENT_STEPS:
                records.append(
                    _record(model, xb, yb, loss_fn, offset, baseline, step)
                )
        out[label] = {"records": records, "seconds": time.perf_counter() - t0}
        print(f"gradients {label}: done in {out[label]['seconds']:.0f} s", flush=True)
    return out


def _record(model, xb, yb, loss_fn, offset, baseline, step):
    """Gradient and weight norms per block, and the relative MSE, on one batch.

    The model's output plus ``offset`` (the target offset of the recipe) is what
    ``loss_fn`` and the MSE compare with ``yb``.
    """
    import torch

    from eeg2fmri.diagnostics import gradient_norms

    model.train()
    norms = gradient_norms(model, xb, yb, loss=lambda p, t: loss_fn(p + offset, t))
    weights = {}
    for name, p in model.named_parameters():
        key = ".".join(name.split(".")[:2])
        weights[key] = weights.get(key, 0.0) + float(p.detach().pow(2).sum())
    model.eval()
    with torch.no_grad():
        mse = float(((model(xb) + offset - yb) ** 2).mean())
    model.train()
    return {
        "step": step,
        "relative_mse": mse / baseline,
        "gradient_over_weight": {
            k: norms[k] / max(np.sqrt(weights[k]), 1e-12) for k in norms
        },
        "gradient": norms,
    }


def _block_groups(norms):
    """Sum gradient norms (in quadrature) over coarse blocks for the table."""
    groups = {
        "projection": ("encoder.proj",),
        "MD-TF-CAE blocks": ("encoder.blocks",),
        "VM-UNet encoder": ("decoder.patch_embed", "decoder.layers"),
        "VM-UNet decoder": ("decoder.layers_up", "decoder.final_up"),
        "output conv": ("decoder.final_conv",),
        "bridge readout": ("bridge.band_pool", "bridge.readout"),
        "bridge maps": ("bridge.maps",),
    }
    out = {}
    for label, keys in groups.items():
        values = [norms[k] for k in norms if k in keys]
        if values:
            out[label] = float(np.sqrt(np.sum(np.square(values))))
    return out


def _ratio_cell(ratio):
    """A gradient/weight ratio; a zero weight norm (zero-initialised layer) is shown
    as such (its ratio is the gradient over the 1e-12 floor)."""
    return "w = 0" if ratio > 1e6 else f"{ratio:.2e}"


def markdown_sections(results):
    """The three tables, as markdown: ``{"overfit": ..., "probe": ..., ...}``."""
    sections = {}
    lines = [
        "## 1. Overfitting check (32 pairs, noise-free input-dependent target, "
        f"{(results.get('steps') or {}).get('overfit', 300)} steps)",
        "",
        "Relative loss: training MSE / MSE of predicting each voxel's mean "
        "(pass < 0.1).",
        "",
        "| model | parameters | relative loss | passes | seconds |",
        "|---|---:|---:|---|---:|",
    ]
    for r in results["overfit"]:
        lines.append(
            f"| {r['model']} | {r['n_params']:,} | {r['relative_loss']:.3f} | "
            f"{'yes' if r['passed'] else 'no'} | {r['seconds']:.0f} |"
        )
    sections["overfit"] = lines
    lines = [
        "## 2. Where the band power is lost (ridge probes, noddi, one held-out "
        "participant at a time)",
        "",
        "| features the ridge reads | temporal r, network voxels (mean over "
        f"held-out participants {', '.join(PROBE_TEST_SUBJECTS)}) |",
        "|---|---:|",
    ]
    for r in results["probe"]:
        lines.append(f"| {r['features']} | {r['mean']:.3f} |")
    sections["probe"] = lines
    lines = [
        "## 3. Gradient flow in spec2vol-small (noddi, 5 training participants)",
        "",
        "Gradient norm / weight norm of each block on a fixed batch of 16 training "
        "pairs, and the MSE on that batch relative to predicting each voxel's mean "
        "(model units); 'w = 0': the layer starts at zero (the output layers of the "
        "default recipe), so no gradient reaches the blocks before it at step 0.",
        "",
    ]
    for label, run in results["gradients"].items():
        blocks = list(_block_groups(run["records"][0]["gradient_over_weight"]))
        lines += [
            f"### {label}",
            "",
            "| step | relative MSE | " + " | ".join(blocks) + " |",
            "|---:|---:|" + "---:|" * len(blocks),
        ]
        for rec in run["records"]:
            g = _block_groups(rec["gradient_over_weight"])
            lines.append(
                f"| {rec['step']} | {rec['relative_mse']:.4f} | "
                + " | ".join(_ratio_cell(g.get(b, 0.0)) for b in blocks)
                + " |"
            )
        lines.append("")
    sections["gradients"] = lines[:-1]
    return {k: "\n".join(v) + "\n" for k, v in sections.items()}


def markdown(results, command):
    """The whole report: a header and the three tables."""
    header = (
        "# Diagnosis: why the official topology does not learn, and what does\n\n"
        f"`{command}`; torch threads 1. See `docs/why_models_fail.rst`.\n\n"
    )
    if results.get("commands"):
        header += "".join(
            f"- {part}: `{cmd}`\n" for part, cmd in results["commands"].items()
        ) + "\n"
    return header + "\n".join(markdown_sections(results).values())


def write_markdown(results, out_dir):
    """Write ``diagnosis.md`` and one file per table (included by the docs)."""
    text = markdown(results, results["command"])
    harness.write_text_atomic(out_dir / "diagnosis.md", text)
    for name, text in markdown_sections(results).items():
        harness.write_text_atomic(out_dir / f"diagnosis_{name}.md", text)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--full", action="store_true",
                   help="also check the full-size spec2vol and e2fnet (~20 min)")
    p.add_argument("--work", type=Path, default=Path("/tmp/eeg2fmri-study"),
                   help="work folder (shared with python -m benchmarks.study)")
    p.add_argument("--parts", nargs="+", default=["overfit", "probe", "gradients"],
                   choices=["overfit", "probe", "gradients"])
    p.add_argument("--steps", type=int, default=300,
                   help="training steps of the overfitting checks and of the "
                   "gradient runs (default 300; fewer for a smoke run)")
    p.add_argument("--render", action="store_true",
                   help="only rewrite the markdown tables from diagnosis.json")
    harness.add_output_arguments(p)
    args = p.parse_args(argv)
    json_path = args.out_dir / "diagnosis.json"
    if args.render:
        write_markdown(json.loads(json_path.read_text()), args.out_dir)
        return
    os.environ.setdefault("EEG2FMRI_SCAN_THREADS", "1")
    import torch

    torch.set_num_threads(1)
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    command = harness.command_line(__file__, argv)
    previous = json.loads(json_path.read_text()) if json_path.is_file() else {}
    results = {k: previous.get(k) for k in ("overfit", "probe", "gradients")}
    results["command"] = command
    results["commands"] = {
        **(previous.get("commands") or {}), **dict.fromkeys(args.parts, command)
    }
    environments = dict(previous.get("environments") or {})
    results["steps"] = {
        **(previous.get("steps") or {}),
        **dict.fromkeys(set(args.parts) - {"probe"}, args.steps),
    }

    def save(part):  # after each part, so an interrupted run keeps what it measured
        environments[part] = harness.environment()
        results["environments"] = environments
        if not args.no_write:
            harness.write_json_atomic(json_path, results)

    if "gradients" in args.parts:
        results["gradients"] = gradient_table(work, n_steps=args.steps)
        save("gradients")
    if "overfit" in args.parts:
        labels = list(CHECKS) + (list(FULL_CHECKS) if args.full else [])
        rows = overfit_table(work, labels, args.steps)
        if not args.full and previous.get("overfit"):  # keep earlier full-size rows
            rows += [r for r in previous["overfit"] if r["model"] in FULL_CHECKS]
        results["overfit"] = rows
        save("overfit")
    if "probe" in args.parts:
        results["probe"] = probe_table(work)
        save("probe")
    if all(results.get(k) for k in ("overfit", "probe", "gradients")):
        print(markdown(results, command))
        if not args.no_write:
            write_markdown(results, args.out_dir)


if __name__ == "__main__":
    main()
