"""Probe: can a network fit a target that is a planted linear function of its input?

The benchmark study found that no network learns the EEG-driven BOLD fluctuations at
CPU scale (``docs/study.rst``). This probe removes everything but the optimisation:
64 real EEG contexts from a simulated noddi dataset, and a noise-free residual target
``0.1 * a(x) * blob`` where ``a(x)`` is the standardized mean alpha-band (8-13 Hz)
value of the first 8 electrodes over the last 5 TR windows and ``blob`` a Gaussian in
the middle of a 16 x 32 x 32 volume. The model is trained directly with AdamW on the
MSE of this residual (batches of 16 drawn from the 64 samples, 150 steps), with its
output layer either as initialised by the model or set to zero (what
``Spec2VolEstimator(target_offset="mean")`` does). The score is the correlation,
across the 64 samples, between ``a(x)`` and the prediction projected on the blob.

Usage::

    python benchmarks/planted_probe.py            # 6 cases, about 6 min on 2 cores

Writes ``benchmarks/results/planted_probe.json`` and ``planted_probe.md``
(``--out-dir`` elsewhere).
"""

import argparse
import functools
import sys
import time
from pathlib import Path

import numpy as np

if not __package__:  # run as a file: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import harness

SHAPE = (16, 32, 32)

#: label -> (model, overrides, zero output layer, learning rate)
CASES = {
    "U-Net decoder, model init, lr 1e-3": (
        "spec2vol-small",
        {"decoder": "unet"},
        False,
        1e-3,
    ),
    "U-Net decoder, zero output, lr 1e-3": (
        "spec2vol-small",
        {"decoder": "unet"},
        True,
        1e-3,
    ),
    "U-Net decoder, zero output, lr 1e-4": (
        "spec2vol-small",
        {"decoder": "unet"},
        True,
        1e-4,
    ),
    "VM-UNet decoder, model init, lr 1e-3": ("spec2vol-small", {}, False, 1e-3),
    "VM-UNet decoder, zero output, lr 1e-3": ("spec2vol-small", {}, True, 1e-3),
    "VM-UNet decoder, zero output, lr 1e-4": ("spec2vol-small", {}, True, 1e-4),
}


def planted_problem(work, seed=0):
    """(inputs scaled to [0, 1], residual targets, a(x), blob) from a simulation."""
    from eeg2fmri.features import FeatureParams, build_dataset
    from eeg2fmri.simulate import simulate_dataset

    bids = work / "bids"
    if not (bids / "dataset_description.json").is_file():
        simulate_dataset(
            bids,
            preset="noddi",
            n_subjects=1,
            n_volumes=110,
            n_channels=32,
            bold_shape=SHAPE,
            random_state=seed,
        )
    ds = build_dataset(bids, FeatureParams(), work_dir=work / "features")
    X = np.asarray(ds.X[:64], dtype=np.float32)
    f = ds.frequencies
    a = X[:, -5:, :8, (f >= 8) & (f < 13)].mean(axis=(1, 2, 3))
    a = (a - a.mean()) / a.std()
    d, h, w = np.mgrid[: SHAPE[0], : SHAPE[1], : SHAPE[2]]
    blob = np.exp(
        -(
            ((d - SHAPE[0] / 2) / 5) ** 2
            + ((h - SHAPE[1] / 2) / 10) ** 2
            + ((w - SHAPE[2] / 2) / 10) ** 2
        )
    )
    R = (0.1 * a[:, None, None, None] * blob[None]).astype(np.float32)
    X = (X - X.min()) / (X.max() - X.min())
    return X, R, a, blob


def run_case(label, work, steps, seed):
    """Train one case (one thread, :func:`benchmarks.harness.run_parallel`)."""
    import torch

    from eeg2fmri.models import create_model

    X, R, a, blob = planted_problem(work, seed)
    name, overrides, zero, lr = CASES[label]
    model = create_model(
        name,
        n_context=X.shape[1],
        n_channels=X.shape[2],
        n_freqs=X.shape[3],
        out_shape=SHAPE,
        random_state=seed,
        **overrides,
    )
    if zero:
        last = getattr(model.decoder, "final_conv", None) or model.decoder.head
        torch.nn.init.zeros_(last.weight)
        torch.nn.init.zeros_(last.bias)
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    Xt, Rt = torch.from_numpy(X), torch.from_numpy(R)
    generator = torch.Generator().manual_seed(seed)
    power = float(Rt.pow(2).mean())
    curve, t0 = [], time.perf_counter()
    for step in range(1, steps + 1):
        model.train()
        idx = torch.randperm(len(Xt), generator=generator)[:16]
        loss = (model(Xt[idx]) - Rt[idx]).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 50 == 0:
            model.eval()
            with torch.no_grad():
                pred = model(Xt).numpy()
            projected = (pred * blob[None]).reshape(len(pred), -1).sum(axis=1)
            curve.append(
                {
                    "step": step,
                    "corr": float(np.corrcoef(projected, a)[0, 1]),
                    "relative_mse": float(((pred - R) ** 2).mean() / power),
                    "seconds": time.perf_counter() - t0,
                }
            )
    return label, curve


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=150)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--work", type=Path, default=Path("/tmp/eeg2fmri-planted"))
    harness.add_output_arguments(p)
    args = p.parse_args(argv)
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    planted_problem(work, args.seed)  # simulate and cache before the workers
    fit = functools.partial(run_case, work=work, steps=args.steps, seed=args.seed)
    curves = dict(harness.run_parallel(fit, CASES, args.jobs))
    steps = [c["step"] for c in next(iter(curves.values()))]
    header = ["case", *(f"corr / rel. MSE, step {s}" for s in steps)]
    cells = [
        [label, *(f"{c['corr']:.2f} / {c['relative_mse']:.2f}" for c in curves[label])]
        for label in CASES
    ]
    table = harness.markdown_table(header, cells, "l" + "r" * len(steps))
    command = harness.command_line(__file__, argv)
    harness.publish(
        "planted_probe",
        {"command": command, "seed": args.seed, "curves": curves},
        table,
        out_dir=args.out_dir,
        write=not args.no_write,
        markdown="# Planted linear target: does the network fit it?\n\n"
        f"`{command}`; corr = correlation of the blob-projected prediction "
        "with a(x) over the 64 samples; rel. MSE = MSE / mean target power "
        "(1 = predicting zero).\n\n" + table + "\n",
    )


if __name__ == "__main__":
    main()
