"""The training loop behind :class:`eeg2fmri.estimator.Spec2VolEstimator`.

Batches are gathered on the fly from (possibly lazy or memory-mapped) arrays with a
numpy generator, so the full pair arrays are never materialised and a fixed seed gives
the same batches on every run. Each epoch reseeds torch from ``(seed, epoch)``, which
makes an interrupted and resumed fit identical to an uninterrupted one. Under
``torchrun`` (``WORLD_SIZE > 1``) every global batch is split across the ranks and the
model is wrapped in :class:`~torch.nn.parallel.DistributedDataParallel`.

With ``TrainConfig.target_offset`` (the mean training volume in model units), the
network learns the residual: its outputs plus the offset are compared with the targets
in the loss and the validation, and :func:`predict_batches` adds the offset too. The
offset is a fixed array outside the network, so the model, its state dict, DDP and the
checkpoints are unchanged.
"""

# SPDX-License-Identifier: BSD-3-Clause

import contextlib
import hashlib
import json
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ._scaling import scale_inputs, scale_targets
from ._utils.io import atomic_path, write_json_atomic
from ._utils.logging import logger
from .exceptions import ModelFileError
from .losses import HybridLoss, ssim

__all__ = ["resolve_device", "TrainConfig", "train_model", "predict_batches"]

CHECKPOINT_FORMAT = "eeg2fmri-checkpoint"


def resolve_device(device):
    """Turn ``'auto' | 'cpu' | 'cuda' | 'cuda:N'`` into a :class:`torch.device`."""
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"The 'device' parameter is {device!r} but CUDA is not available on this "
            "machine; use device='auto' or 'cpu'."
        )
    return dev


def _derived_seed(seed, *keys):
    """A 63-bit seed derived from ``seed`` and integer keys (stable across runs)."""
    state = np.random.SeedSequence([int(seed), *map(int, keys)]).generate_state(2)
    return int((int(state[0]) << 31) ^ int(state[1])) & ((1 << 63) - 1)


def epoch_batches(indices, batch_size, seed, epoch, shuffle=True):
    """Split ``indices`` into batches shuffled by a generator seeded (seed, epoch)."""
    indices = np.asarray(indices)
    if shuffle:
        indices = np.random.default_rng([int(seed), int(epoch)]).permutation(indices)
    return [indices[i : i + batch_size] for i in range(0, len(indices), batch_size)]


def gather(X, y, idx, cfg):
    """Read rows ``idx`` of X (and y) and scale them to float32 model units.

    Rows are read in increasing order (memory-map friendly); X and y stay aligned.
    """
    idx = np.sort(np.asarray(idx))
    xb = scale_inputs(
        np.asarray(X[idx]).reshape(len(idx), *cfg.input_shape), cfg.eeg_min, cfg.eeg_max
    )
    if y is None:
        return xb, None
    yb = np.asarray(y[idx]).reshape(len(idx), *cfg.output_shape)
    yb = scale_targets(yb, cfg.target_scaling, cfg.target_min, cfg.target_max)
    return xb, yb


@dataclass
class TrainConfig:
    """Everything the loop needs besides the data and the model."""

    input_shape: tuple
    output_shape: tuple
    eeg_min: float
    eeg_max: float
    target_scaling: str
    target_min: float | None
    target_max: float | None
    epochs: int
    batch_size: int
    lr: float
    weight_decay: float
    lambda_ssim: float
    restart_epochs: int
    grad_clip: float | None
    early_stopping: bool
    n_iter_no_change: int
    seed: int
    device: torch.device
    verbose: int = 0
    checkpoint_dir: str | None = None
    fingerprint: dict = field(default_factory=dict)
    target_offset: np.ndarray | None = None  # (D, H, W) float32, model units


def _offset_tensor(cfg, device):
    """``cfg.target_offset`` as a float32 tensor on ``device`` (or None)."""
    offset = getattr(cfg, "target_offset", None)
    if offset is None:
        return None
    return torch.as_tensor(np.asarray(offset, dtype=np.float32), device=device)


def _forward(model, xb, offset):
    """Model outputs plus the target offset (the residual formulation)."""
    out = model(xb)
    return out if offset is None else out + offset


# ----------------------------------------------------------------- distributed helpers


@dataclass
class _Dist:
    world_size: int = 1
    rank: int = 0

    @property
    def active(self):
        return self.world_size > 1

    @property
    def is_main(self):
        return self.rank == 0


def _setup_distributed(device):
    """Join the torchrun process group if ``WORLD_SIZE > 1``; returns (dist, device)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return _Dist(), device
    import torch.distributed as dist

    if device.type == "cuda":
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend=backend)
        logger.info("joined process group (%s, world size %d)", backend, world)
    return _Dist(dist.get_world_size(), dist.get_rank()), device


def _all_reduce_sum(values, dist_ctx, device):
    if not dist_ctx.active:
        return values
    import torch.distributed as dist

    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.tolist()


def _barrier(dist_ctx):
    if dist_ctx.active:
        import torch.distributed as dist

        dist.barrier()


# ------------------------------------------------------------------------ checkpoints


def _epoch_end_hook(epoch):
    """Called after each epoch's checkpoint is written (tests patch it to interrupt)."""


def fingerprint_digest(fingerprint):
    """Short hash of a JSON-able dict identifying a training problem."""
    blob = json.dumps(fingerprint, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def _state_to_tensors(state_dict):
    return {k: v.detach().to("cpu").contiguous().clone() for k, v in state_dict.items()}


class _CheckpointStore:
    """Per-epoch checkpoints: weights (safetensors), optimizer state, one JSON pointer.

    ``checkpoint.json`` is written last and atomically, and names the files of its
    epoch; an interruption at any point leaves the previous complete checkpoint.
    """

    def __init__(self, directory):
        self.dir = Path(directory)

    @property
    def pointer(self):
        return self.dir / "checkpoint.json"

    def load(self, digest):
        if not self.pointer.is_file():
            return None
        try:
            state = json.loads(self.pointer.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ModelFileError(
                f"Checkpoint {self.pointer} is unreadable ({exc}); delete it to "
                "start over."
            ) from exc
        if state.get("format") != CHECKPOINT_FORMAT:
            raise ModelFileError(
                f"{self.pointer} was not written by eeg2fmri (no '{CHECKPOINT_FORMAT}' "
                "marker); choose another checkpoint_dir."
            )
        if state.get("fingerprint") != digest:
            logger.warning(
                "Checkpoint in %s belongs to another training problem (parameters or "
                "data differ); starting from scratch and overwriting it.",
                self.dir,
            )
            return None
        return state

    def read_weights(self, name):
        from safetensors.torch import load_file

        return load_file(self.dir / name)

    def read_optimizer(self, name):
        return torch.load(self.dir / name, map_location="cpu", weights_only=True)

    def save(self, epoch, model, optimizer, scheduler, best_state, state):
        from safetensors.torch import save_file

        self.dir.mkdir(parents=True, exist_ok=True)
        old = self._files_of(self.load_raw())
        files = {
            "weights": f"last-epoch{epoch:04d}.safetensors",
            "optimizer": f"last-epoch{epoch:04d}.optim.pt",
        }
        meta = {"format": CHECKPOINT_FORMAT}
        with atomic_path(self.dir / files["weights"]) as tmp:
            save_file(_state_to_tensors(model.state_dict()), tmp, metadata=meta)
        with atomic_path(self.dir / files["optimizer"]) as tmp:
            torch.save(
                {
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                },
                tmp,
            )
        if best_state is not None:
            files["best"] = f"best-epoch{state['best_epoch']:04d}.safetensors"
            if not (self.dir / files["best"]).is_file():
                with atomic_path(self.dir / files["best"]) as tmp:
                    save_file(best_state, tmp, metadata=meta)
        write_json_atomic(
            self.pointer,
            {**state, "format": CHECKPOINT_FORMAT, "epoch": epoch, "files": files},
        )
        for name in old - set(files.values()):
            with contextlib.suppress(FileNotFoundError):
                (self.dir / name).unlink()

    def load_raw(self):
        try:
            return json.loads(self.pointer.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    @staticmethod
    def _files_of(state):
        return set((state or {}).get("files", {}).values())


# ------------------------------------------------------------------------------- loop


def _validate(model, X, y, val_idx, cfg, dist_ctx, offset=None):
    """Mean validation SSIM and PSNR (model units), sharded across ranks."""
    model.eval()
    local = val_idx[dist_ctx.rank :: dist_ctx.world_size]
    sums = [0.0, 0.0, 0.0]
    with torch.no_grad():
        for start in range(0, len(local), cfg.batch_size):
            xb, yb = gather(X, y, local[start : start + cfg.batch_size], cfg)
            pred = _forward(model, torch.from_numpy(xb).to(cfg.device), offset)
            target = torch.from_numpy(yb).to(cfg.device)
            s = ssim(pred, target, reduction="none")
            mse = ((pred - target) ** 2).reshape(len(pred), -1).mean(1).double()
            psnr = 10 * torch.log10(1.0 / mse.clamp_min(1e-12))
            sums[0] += float(s.sum())
            sums[1] += float(psnr.sum())
            sums[2] += len(pred)
    sums = _all_reduce_sum(sums, dist_ctx, cfg.device)
    model.train()
    return sums[0] / sums[2], sums[1] / sums[2]


def train_model(model, X, y, train_idx, val_idx, cfg):
    """Train ``model`` in place; returns ``(model, history, best_epoch)``.

    Parameters
    ----------
    model : torch.nn.Module
        Freshly built (or warm-started) model on CPU.
    X, y : array-like of shape (n_samples, ...)
        Inputs and targets (numpy, memmap or lazy array-likes), in input units.
    train_idx, val_idx : ndarray of int
        Rows used for training and for model selection (may be empty).
    cfg : TrainConfig
        Hyper-parameters, scaling statistics and device.
    """
    dist_ctx, device = _setup_distributed(cfg.device)
    cfg.device = device
    model.to(device)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay
    )
    scheduler = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(
        optimizer, T_0=cfg.restart_epochs
    )
    loss_fn = HybridLoss(cfg.lambda_ssim)
    offset = _offset_tensor(cfg, device)
    history, best_epoch, best_score, best_state = [], 0, -math.inf, None
    start_epoch = 0

    store = _CheckpointStore(cfg.checkpoint_dir) if cfg.checkpoint_dir else None
    digest = fingerprint_digest(cfg.fingerprint)
    if store is not None:
        state = store.load(digest)
        if state is not None:
            files = state["files"]
            model.load_state_dict(store.read_weights(files["weights"]))
            opt_state = store.read_optimizer(files["optimizer"])
            optimizer.load_state_dict(opt_state["optimizer"])
            scheduler.load_state_dict(opt_state["scheduler"])
            history = state["history"]
            start_epoch = state["epoch"]
            best_epoch, best_score = state["best_epoch"], state["best_score"]
            if "best" in files:
                best_state = store.read_weights(files["best"])
            logger.info("resuming from %s after epoch %d", store.dir, start_epoch)

    train_model_ = model
    if dist_ctx.active:
        from torch.nn.parallel import DistributedDataParallel

        train_model_ = DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
    has_val = len(val_idx) > 0
    show_bar = cfg.verbose > 0 and dist_ctx.is_main and sys.stderr.isatty()
    model.train()
    for epoch in range(start_epoch, cfg.epochs):
        if (
            cfg.early_stopping
            and has_val
            and epoch - best_epoch >= cfg.n_iter_no_change
        ):
            logger.info(
                "early stopping after epoch %d (best epoch %d)", epoch, best_epoch
            )
            break
        t0 = time.perf_counter()
        torch.manual_seed(_derived_seed(cfg.seed, epoch, 1))
        batches = epoch_batches(train_idx, cfg.batch_size, cfg.seed, epoch)
        if dist_ctx.active:  # equal shards on every rank
            w = dist_ctx.world_size
            batches = [b[: len(b) - len(b) % w] for b in batches]
            batches = [b for b in batches if len(b)]
        loss_sum, n_seen = 0.0, 0
        bar = _progress(len(batches), f"epoch {epoch + 1}/{cfg.epochs}", show_bar)
        for i, batch in enumerate(batches):
            local = batch[dist_ctx.rank :: dist_ctx.world_size]
            xb, yb = gather(X, y, local, cfg)
            xb = torch.from_numpy(xb).to(device)
            yb = torch.from_numpy(yb).to(device)
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(_forward(train_model_, xb, offset), yb)
            loss.backward()
            if cfg.grad_clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            optimizer.step()
            scheduler.step(epoch + (i + 1) / len(batches))
            loss_sum += float(loss.detach()) * len(local)
            n_seen += len(local)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{float(loss):.4f}")
        if bar is not None:
            bar.close()
        loss_sum, n_seen = _all_reduce_sum([loss_sum, n_seen], dist_ctx, device)
        record = {
            "epoch": epoch + 1,
            "train_loss": loss_sum / max(n_seen, 1),
            "val_ssim": None,
            "val_psnr": None,
            "lr": float(optimizer.param_groups[0]["lr"]),
        }
        if has_val:
            record["val_ssim"], record["val_psnr"] = _validate(
                model, X, y, val_idx, cfg, dist_ctx, offset
            )
            if record["val_ssim"] > best_score:
                best_score, best_epoch = record["val_ssim"], epoch + 1
                best_state = _state_to_tensors(model.state_dict())
        else:
            best_epoch = epoch + 1
        record["seconds"] = time.perf_counter() - t0
        history.append(record)
        logger.info(
            "epoch %d/%d train_loss=%.5f%s lr=%.3g (%.1fs)",
            epoch + 1,
            cfg.epochs,
            record["train_loss"],
            ""
            if not has_val
            else f" val_ssim={record['val_ssim']:.5f}"
            f" val_psnr={record['val_psnr']:.3f}",
            record["lr"],
            record["seconds"],
        )
        if store is not None and dist_ctx.is_main:
            store.save(
                epoch + 1,
                model,
                optimizer,
                scheduler,
                best_state if has_val else None,
                {
                    "fingerprint": digest,
                    "history": history,
                    "best_epoch": best_epoch,
                    "best_score": best_score,
                    "complete": epoch + 1 == cfg.epochs,
                },
            )
        _barrier(dist_ctx)
        _epoch_end_hook(epoch + 1)

    if has_val and best_state is not None:
        model.load_state_dict(best_state)
        logger.info(
            "restored the weights of epoch %d (best validation SSIM %.5f)",
            best_epoch,
            best_score,
        )
    model.eval()
    return model, history, best_epoch


def _progress(total, desc, show):
    if not show:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, leave=False, file=sys.stderr)


def predict_batches(model, X, cfg, out_dtype=np.float32):
    """Model outputs (model units) for all rows of X, shape (n, *output_shape).

    Adds ``cfg.target_offset`` (when the config has one and it is not None).
    """
    model.eval()
    offset = _offset_tensor(cfg, cfg.device)
    n = len(X)
    out = np.empty((n, *cfg.output_shape), dtype=out_dtype)
    with torch.no_grad():
        for start in range(0, n, cfg.batch_size):
            idx = np.arange(start, min(start + cfg.batch_size, n))
            xb, _ = gather(X, None, idx, cfg)
            pred = _forward(model, torch.from_numpy(xb).to(cfg.device), offset)
            out[start : start + len(idx)] = pred.to("cpu", torch.float32).numpy()
    return out
