"""Spec2VolEstimator throughput and memory on this machine.

1. Per model preset (noddi-shaped inputs (20, 64, 249) -> (30, 64, 64), batch 16):
   training samples/s (an epoch of ``--train-steps`` steps after a warm-up epoch,
   through
   ``Spec2VolEstimator.fit``: gathering, scaling, hybrid loss, AdamW, clipping),
   inference volumes/s (``predict``) and peak memory of the process.
2. Fitting on a memory-mapped Oddball-sized dataset (102 runs x 144 pairs = 14,688
   pairs of (20, 43, 249) contexts built lazily from per-run spectra, (32, 64, 64)
   targets): peak anonymous memory (what the process allocates; file pages of the
   memory maps are reclaimable page cache) for the full and a quarter-sized dataset,
   with the scaling pass over all data and a capped number of training steps.

Each case runs in its own subprocess so that peak memory is per case. Usage::

    python benchmarks/bench_estimator.py            # everything
    python benchmarks/bench_estimator.py --quick    # spec2vol-small only + small memmap

Writes ``benchmarks/results/estimator.json`` and ``estimator.md`` (``--out-dir``
elsewhere).
"""

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

if not __package__:  # run as a file: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import harness


def _estimator(model, epochs, batch_size):
    """An unfitted Spec2VolEstimator on the CPU, no validation split, seed 0."""
    from eeg2fmri.estimators import Spec2VolEstimator

    return Spec2VolEstimator(
        model,
        epochs=epochs,
        batch_size=batch_size,
        validation_split=0,
        device="cpu",
        random_state=0,
    )


def _throughput_case(model, train_steps, batch_size, predict_batches):
    in_shape, out_shape = (20, 64, 249), (30, 64, 64)
    n = train_steps * batch_size
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, *in_shape), dtype=np.float32)
    y = rng.random((n, *out_shape), dtype=np.float32)
    with harness.MemorySampler() as mem:
        est = _estimator(model, epochs=2, batch_size=batch_size).fit(X, y)
        n_pred = predict_batches * batch_size
        X_pred = np.resize(X, (n_pred, *in_shape))
        est.predict(X[:batch_size])  # warm-up on one batch
        pred_s = harness.time_calls(lambda: est.predict(X_pred), 1, warmup=0).best
    n_params = sum(p.numel() for p in est.model_.parameters())
    return {
        "case": "throughput",
        "model": model,
        "parameters": n_params,
        "batch_size": batch_size,
        "input_shape": in_shape,
        "output_shape": out_shape,
        "train_steps_timed": train_steps,
        "train_samples_per_s": n / est.history_[1]["seconds"],
        "train_seconds_per_step": est.history_[1]["seconds"] / train_steps,
        "predict_volumes_per_s": n_pred / pred_s,
        "peak_rss_gb": mem.peak_rss / 1e9,
        "peak_anon_gb": mem.peak_anon / 1e9,
        "torch_threads": __import__("torch").get_num_threads(),
    }


def _make_oddball_memmaps(folder, n_runs, n_windows=170, n_context=20):
    """Per-run spectra and volumes in two memory-mapped .npy files."""
    spectra = np.lib.format.open_memmap(
        folder / "spectra.npy",
        mode="w+",
        dtype=np.float32,
        shape=(n_runs * n_windows, 43, 249),
    )
    vols = np.lib.format.open_memmap(
        folder / "volumes.npy",
        mode="w+",
        dtype=np.float32,
        shape=(n_runs * n_windows, 32, 64, 64),
    )
    rng = np.random.default_rng(0)
    base = rng.random((32, 64, 64), dtype=np.float32)
    for r in range(n_runs):
        sl = slice(r * n_windows, (r + 1) * n_windows)
        spectra[sl] = rng.standard_normal((n_windows, 43, 249), dtype=np.float32)
        drift = rng.random((n_windows, 1, 1, 1), dtype=np.float32)
        vols[sl] = base * (1 + 0.05 * drift)
    spectra.flush()
    vols.flush()
    del spectra, vols


def _memmap_case(n_runs, max_steps, model, batch_size):
    import torch

    from eeg2fmri.estimators import training as _training
    from eeg2fmri.features import ConcatPairs, ContextPairs, VolumeTargets

    n_windows, n_context, discard = 170, 20, 6
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
        tmp = Path(tmp)
        with harness.Stopwatch() as write:
            _make_oddball_memmaps(tmp, n_runs, n_windows, n_context)
        spectra = np.load(tmp / "spectra.npy", mmap_mode="r")
        vols = np.load(tmp / "volumes.npy", mmap_mode="r")
        xs, ys = [], []
        for r in range(n_runs):
            run_spec = spectra[r * n_windows : (r + 1) * n_windows]
            run_vols = vols[r * n_windows : (r + 1) * n_windows]
            last = np.arange(
                discard + n_context - 1, n_windows - 1
            )  # 144 pairs per run
            xs.append(ContextPairs(run_spec, last, n_context))
            ys.append(VolumeTargets(run_vols, last + 1))
        X, y = ConcatPairs(xs), ConcatPairs(ys)
        groups = np.repeat(np.arange(n_runs) // 6, len(last))
        real_batches = _training.epoch_batches
        _training.epoch_batches = lambda *a, **k: real_batches(*a, **k)[:max_steps]
        try:
            with harness.MemorySampler() as mem, harness.Stopwatch() as fit:
                _estimator(model, 1, batch_size).fit(X, y, groups=groups)
        finally:
            _training.epoch_batches = real_batches
        dataset_gb = (
            X.shape[0] * np.prod(X.shape[1:]) * 4
            + y.shape[0] * np.prod(y.shape[1:]) * 4
        ) / 1e9
        return {
            "case": "memmap_fit",
            "model": model,
            "n_runs": n_runs,
            "n_pairs": int(X.shape[0]),
            "x_shape": list(X.shape),
            "y_shape": list(y.shape),
            "materialised_pairs_gb_float32": float(dataset_gb),
            "memmap_files_gb": float(
                (
                    (tmp / "spectra.npy").stat().st_size
                    + (tmp / "volumes.npy").stat().st_size
                )
                / 1e9
            ),
            "train_steps": max_steps,
            "batch_size": batch_size,
            "validation_pairs": 0,
            "fit_seconds": fit.seconds,
            "write_seconds": write.seconds,
            "peak_anon_gb": mem.peak_anon / 1e9,
            "peak_rss_gb": mem.peak_rss / 1e9,
            "torch_threads": torch.get_num_threads(),
        }


def _inmemory_case(model, batch_size):
    """Same shapes, 32 in-memory pairs: the memory the model step itself needs."""
    import torch

    rng = np.random.default_rng(0)
    X = rng.standard_normal((32, 20, 43, 249), dtype=np.float32)
    y = rng.random((32, 32, 64, 64), dtype=np.float32)
    with harness.MemorySampler() as mem:
        _estimator(model, 1, batch_size).fit(X, y)
    return {
        "case": "inmemory_fit",
        "model": model,
        "n_pairs": 32,
        "batch_size": batch_size,
        "peak_anon_gb": mem.peak_anon / 1e9,
        "peak_rss_gb": mem.peak_rss / 1e9,
        "torch_threads": torch.get_num_threads(),
    }


def run_case(spec):
    """One case in this process (the worker side)."""
    if spec.get("threads"):
        import torch

        torch.set_num_threads(spec["threads"])
    if spec["case"] == "throughput":
        return _throughput_case(spec["model"], spec["train_steps"], 16, 2)
    if spec["case"] == "inmemory":
        return _inmemory_case(spec["model"], 16)
    return _memmap_case(spec["n_runs"], spec["max_steps"], spec["model"], 16)


def _tables(results):
    """The throughput and memory-map tables (Markdown)."""
    ok = [r for r in results if "error" not in r]
    throughput = harness.markdown_table(
        ["model", "params", "train samples/s", "s/step", "predict vol/s",
         "peak RSS GB"],
        [
            [r["model"], f"{r['parameters']:,}", f"{r['train_samples_per_s']:.2f}",
             f"{r['train_seconds_per_step']:.2f}",
             f"{r['predict_volumes_per_s']:.2f}", f"{r['peak_rss_gb']:.2f}"]
            for r in ok
            if r["case"] == "throughput"
        ],
        "lrrrrr",
    )
    memmap = harness.markdown_table(
        ["memmap fit: runs", "pairs", "pairs if materialised GB", "steps", "fit s",
         "peak anon GB", "peak RSS GB"],
        [
            [r["n_runs"], r["n_pairs"], f"{r['materialised_pairs_gb_float32']:.1f}",
             r["train_steps"], f"{r['fit_seconds']:.0f}", f"{r['peak_anon_gb']:.2f}",
             f"{r['peak_rss_gb']:.2f}"]
            for r in ok
            if r["case"] == "memmap_fit"
        ],
        "rrrrrrr",
    )
    return throughput + "\n\n" + memmap


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--models", nargs="+", default=["spec2vol-small", "e2fnet", "spec2vol"]
    )
    parser.add_argument("--train-steps", type=int, default=2)
    parser.add_argument("--memmap-steps", type=int, default=20)
    parser.add_argument(
        "--threads", type=int, help="torch threads (default: torch's choice)"
    )
    harness.add_output_arguments(parser)
    harness.add_worker_argument(parser)
    args = parser.parse_args(argv)
    if args.worker:
        harness.print_json_line(run_case(json.loads(args.worker)))
        return 0

    models = ["spec2vol-small"] if args.quick else args.models
    # the official-size model is slow on CPU: one timed step is enough
    cases = [
        {
            "case": "throughput",
            "model": m,
            "train_steps": 1 if m in ("spec2vol", "e2fnet") else args.train_steps,
        }
        for m in models
    ]
    cases.append({"case": "inmemory", "model": "spec2vol-tiny"})
    runs = [24] if args.quick else [102, 24]
    cases += [
        {
            "case": "memmap",
            "n_runs": r,
            "max_steps": args.memmap_steps,
            "model": "spec2vol-tiny",
        }
        for r in runs
    ]
    results = []
    for spec in cases:
        spec["threads"] = args.threads
        with harness.Stopwatch() as wall:
            res = harness.run_worker(__file__, spec)
        res["wall_seconds"] = wall.seconds
        results.append(res)
        print(json.dumps(res), flush=True)
    table = _tables(results)
    command = harness.command_line(__file__, argv)
    harness.publish(
        "estimator",
        {"command": command, "results": results},
        table,
        out_dir=args.out_dir,
        write=not args.no_write,
        markdown=f"# Spec2VolEstimator throughput and memory\n\n`{command}`; "
        "each case in its own process.\n\n" + table + "\n",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
