"""The training loop behind :class:`eeg2fmri.Spec2VolEstimator`.

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

The learning rate follows :func:`lr_factor` (linear warm-up, then constant, one cosine
decay or cosine with warm restarts), stepped per batch. After each epoch the model is
scored on the validation rows (loss, voxel-wise temporal r, SSIM and PSNR in the
paper's per-volume [0, 1] units); the epoch with the best ``TrainConfig.selection``
score is kept. The first steps give an estimate of the training time, which is logged.
"""

# SPDX-License-Identifier: BSD-3-Clause

import math
import sys
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from .._utils.logging import logger
from ..losses import make_loss, ssim
from ._checkpoints import CheckpointStore, fingerprint_digest, state_to_tensors
from ._distributed import all_reduce_sum, barrier, setup_distributed
from ._network_params import LR_SCHEDULES, SELECTIONS
from .scaling import InputScaling, TargetScaling, per_volume_minmax

__all__ = [
    "resolve_device",
    "TrainConfig",
    "train_model",
    "predict_batches",
    "lr_factor",
    "LR_SCHEDULES",
    "SELECTIONS",
]


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


def gather(X, y, idx, cfg, raw=False):
    """Read rows ``idx`` of X (and y) and scale them to float32 model units.

    Rows are read in increasing order (memory-map friendly); X and y stay aligned.
    With ``raw=True`` the unscaled targets are returned too: ``(xb, yb, y_raw)``.
    """
    idx = np.sort(np.asarray(idx))
    xb = cfg.input_scaling(np.asarray(X[idx]).reshape(len(idx), *cfg.input_shape))
    if y is None:
        return xb, None
    y_raw = np.asarray(y[idx], dtype=np.float32).reshape(len(idx), *cfg.output_shape)
    yb = cfg.target.to_model(y_raw, rows=idx)
    return (xb, yb, y_raw) if raw else (xb, yb)


def lr_factor(step, *, schedule, total_steps, steps_per_epoch, warmup_steps=0,
              restart_epochs=10):
    """Multiplier of the peak learning rate at optimisation step ``step`` (0-based).

    Parameters
    ----------
    step : int
        Steps taken so far.
    schedule : {'cosine', 'cosine-restarts', 'constant'}
        ``'cosine'``: one cosine decay from 1 to 0 over ``total_steps``;
        ``'cosine-restarts'``: cosine decay restarted every ``restart_epochs`` epochs
        (the official schedule); ``'constant'``: 1.
    total_steps, steps_per_epoch : int
    warmup_steps : int, default=0
        Linear warm-up from ``1 / w`` to 1 over the first ``w`` steps, multiplied with
        the schedule, where ``w = min(warmup_steps, total_steps // 10)`` (a warm-up
        never takes more than a tenth of a fit).
    restart_epochs : int, default=10

    Returns
    -------
    factor : float
    """
    warmup = min(warmup_steps, total_steps // 10)
    warm = min(1.0, (step + 1) / warmup) if warmup > 0 else 1.0
    if schedule == "constant":
        return warm
    if schedule == "cosine":
        progress = min(step, total_steps) / max(total_steps, 1)
    else:
        period = max(restart_epochs * steps_per_epoch, 1)
        progress = (step % period) / period
    return warm * 0.5 * (1.0 + math.cos(math.pi * progress))


@dataclass
class TrainConfig:
    """Everything the loop needs besides the data and the model."""

    input_shape: tuple
    output_shape: tuple
    input_scaling: InputScaling
    target: TargetScaling
    epochs: int
    batch_size: int
    lr: float
    weight_decay: float
    loss: str
    lambda_ssim: float
    lr_schedule: str
    warmup_steps: int
    restart_epochs: int
    grad_clip: float | None
    selection: str
    early_stopping: bool
    n_iter_no_change: int
    seed: int
    device: torch.device
    verbose: int = 0
    checkpoint_dir: str | None = None
    fingerprint: dict = field(default_factory=dict)
    target_offset: np.ndarray | None = None  # (D, H, W) float32, model units
    output_mask: np.ndarray | None = None  # (D, H, W) bool: the voxels learned


def _offset_tensor(cfg, device):
    """``cfg.target_offset`` as a float32 tensor on ``device`` (or None)."""
    offset = getattr(cfg, "target_offset", None)
    if offset is None:
        return None
    return torch.as_tensor(np.asarray(offset, dtype=np.float32), device=device)


def _mask_tensor(cfg, device):
    """``cfg.output_mask`` as a bool tensor on ``device`` (or None)."""
    mask = getattr(cfg, "output_mask", None)
    if mask is None:
        return None
    return torch.as_tensor(np.asarray(mask, dtype=bool), device=device)


def _forward(model, xb, offset, mask=None):
    """Model outputs (0 outside ``mask``) plus the target offset (the residual)."""
    out = model(xb)
    if mask is not None:
        out = out * mask
    return out if offset is None else out + offset


def _loss_inputs(pred, target, mask, offset, loss):
    """What the loss compares: with a mask, the voxels it keeps.

    ``'mse'`` and ``'correlation'`` see the kept voxels alone, ``(batch, n_kept)``
    (so the loss is a mean over them); ``'hybrid'`` (SSIM needs volumes) sees whole
    volumes with the targets outside the mask replaced by the offset, where the
    prediction is the offset too.
    """
    if mask is None:
        return pred, target
    if loss == "hybrid":
        fill = torch.zeros_like(target) if offset is None else offset.expand_as(target)
        return pred, torch.where(mask, target, fill)
    return pred[:, mask], target[:, mask]


def _epoch_end_hook(epoch):
    """Called after each epoch's checkpoint is written (tests patch it to interrupt)."""


# ------------------------------------------------------------------------------- loop


class _CorrelationSums:
    """Running sums for the voxel-wise correlation of predictions with targets."""

    def __init__(self):
        self.n = 0
        self.sums = None  # (5, V): p, t, p*p, t*t, p*t

    def add(self, pred, target):
        p = pred.reshape(len(pred), -1).double()
        t = target.reshape(len(target), -1).double()
        batch = torch.stack(
            [p.sum(0), t.sum(0), (p * p).sum(0), (t * t).sum(0), (p * t).sum(0)]
        )
        self.sums = batch if self.sums is None else self.sums + batch
        self.n += len(pred)

    def mean_r(self):
        """Mean r over the voxels where both sides vary (nan when none do)."""
        if self.sums is None or self.n < 2:
            return math.nan
        sp, st, spp, stt, spt = self.sums
        n = self.n
        cov = spt - sp * st / n
        vp = spp - sp * sp / n
        vt = stt - st * st / n
        tiny = 1e-12 * (1.0 + vt.abs().max())
        ok = (vp > tiny) & (vt > tiny)
        if not bool(ok.any()):
            return 0.0 if bool((vt > tiny).any()) else math.nan
        scale = torch.sqrt(vp.clamp_min(1e-300) * vt.clamp_min(1e-300))
        r = torch.where(ok, cov / scale, torch.zeros_like(cov))
        # voxels with varying targets count; a constant prediction scores 0 there
        return float(r[vt > tiny].mean())


def _paper_units(pred_model, y_raw, cfg):
    """(prediction, target) in the paper's units: each volume min-max to [0, 1].

    With ``target_scaling='volume'`` the model already predicts in these units; other
    scalings are mapped back to intensities first, then scaled per volume.
    """
    target = per_volume_minmax(y_raw)
    if cfg.target.method == "volume":
        return pred_model, target
    return per_volume_minmax(cfg.target.to_prediction(pred_model)), target


def _validate(model, X, y, val_idx, cfg, dist_ctx, loss_fn, offset=None, mask=None):
    """Validation loss, temporal r, SSIM and PSNR, sharded across ranks."""
    model.eval()
    local = val_idx[dist_ctx.rank :: dist_ctx.world_size]
    sums = [0.0, 0.0, 0.0, 0.0]  # loss * n, ssim, psnr, n
    corr = _CorrelationSums()
    with torch.no_grad():
        for start in range(0, len(local), cfg.batch_size):
            xb, yb, y_raw = gather(
                X, y, local[start : start + cfg.batch_size], cfg, raw=True
            )
            pred = _forward(model, torch.from_numpy(xb).to(cfg.device), offset, mask)
            target = torch.from_numpy(yb).to(cfg.device)
            sums[0] += float(
                loss_fn(*_loss_inputs(pred, target, mask, offset, cfg.loss))
            ) * len(pred)
            if mask is None:
                corr.add(pred, target)
            else:  # the temporal r of the voxels learned
                corr.add(pred[:, mask], target[:, mask])
            p_paper, t_paper = _paper_units(pred.cpu().float().numpy(), y_raw, cfg)
            p_paper = torch.from_numpy(np.ascontiguousarray(p_paper, np.float32))
            t_paper = torch.from_numpy(t_paper)
            s = ssim(p_paper, t_paper, reduction="none")
            mse = ((p_paper - t_paper) ** 2).reshape(len(pred), -1).mean(1).double()
            psnr = 10 * torch.log10(1.0 / mse.clamp_min(1e-12))
            sums[1] += float(s.sum())
            sums[2] += float(psnr.sum())
            sums[3] += len(pred)
    sums = all_reduce_sum(sums, dist_ctx, cfg.device)
    if dist_ctx.active:
        n_sums = all_reduce_sum([float(corr.n)], dist_ctx, cfg.device)
        import torch.distributed as dist

        if corr.sums is not None:
            dist.all_reduce(corr.sums)
        corr.n = int(n_sums[0])
    model.train()
    n = max(sums[3], 1)
    return {
        "val_loss": sums[0] / n,
        "val_temporal_r": corr.mean_r(),
        "val_ssim": sums[1] / n,
        "val_psnr": sums[2] / n,
    }


def _selection_score(record, selection):
    """Score of an epoch for model selection (higher is better).

    ``selection='last'`` scores an epoch by its number: the last epoch is kept.
    """
    if selection == "last":
        return float(record["epoch"])
    value = record[f"val_{selection}"]
    if value is None or not math.isfinite(value):
        return -math.inf
    return -value if selection == "loss" else value


def _log_time_estimate(seconds, steps_done, steps_total, epochs_left):
    per_step = seconds / max(steps_done, 1)
    remaining = per_step * steps_total
    logger.info(
        "training time estimate: %.2f s per step x %d steps (%d epochs) = %s "
        "(validation not included)",
        per_step,
        steps_total,
        epochs_left,
        _human_duration(remaining),
    )


def _human_duration(seconds):
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


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
    dist_ctx, device = setup_distributed(cfg.device)
    cfg.device = device
    model.to(device)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay
    )
    steps_per_epoch = _steps_per_epoch(len(train_idx), cfg.batch_size, dist_ctx)
    schedule = dict(
        schedule=cfg.lr_schedule,
        total_steps=steps_per_epoch * cfg.epochs,
        steps_per_epoch=steps_per_epoch,
        warmup_steps=cfg.warmup_steps,
        restart_epochs=cfg.restart_epochs,
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_factor(step, **schedule)
    )
    loss_fn = make_loss(cfg.loss, cfg.lambda_ssim)
    offset = _offset_tensor(cfg, device)
    mask = _mask_tensor(cfg, device)
    history, best_epoch, best_score, best_state = [], 0, -math.inf, None
    start_epoch = 0

    store = CheckpointStore(cfg.checkpoint_dir) if cfg.checkpoint_dir else None
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
    estimate_at = min(5, max(steps_per_epoch * (cfg.epochs - start_epoch) - 1, 1))
    steps_done, t_first = 0, None
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
            pred = _forward(train_model_, xb, offset, mask)
            loss = loss_fn(*_loss_inputs(pred, yb, mask, offset, cfg.loss))
            if not torch.isfinite(loss):
                raise FloatingPointError(
                    f"training diverged: the {cfg.loss} loss is {float(loss)} at "
                    f"epoch {epoch + 1}, step {i + 1}; lower 'lr' (now {cfg.lr:g}) "
                    "or check the inputs"
                )
            loss.backward()
            if cfg.grad_clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            optimizer.step()
            scheduler.step()
            loss_sum += float(loss.detach()) * len(local)
            n_seen += len(local)
            steps_done += 1
            if steps_done == 1:
                t_first = time.perf_counter()  # the first step pays for warm-up
            elif steps_done == 1 + estimate_at and dist_ctx.is_main:
                left = steps_per_epoch * (cfg.epochs - epoch) - (i + 1)
                _log_time_estimate(
                    time.perf_counter() - t_first, estimate_at,
                    steps_done + left, cfg.epochs - start_epoch,
                )
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{float(loss):.4f}")
        if bar is not None:
            bar.close()
        loss_sum, n_seen = all_reduce_sum([loss_sum, n_seen], dist_ctx, device)
        record = {
            "epoch": epoch + 1,
            "train_loss": loss_sum / max(n_seen, 1),
            "val_loss": None,
            "val_temporal_r": None,
            "val_ssim": None,
            "val_psnr": None,
            "lr": float(optimizer.param_groups[0]["lr"]),
        }
        if has_val:
            record.update(
                _validate(model, X, y, val_idx, cfg, dist_ctx, loss_fn, offset, mask)
            )
            score = _selection_score(record, cfg.selection)
            if score > best_score or best_state is None:
                best_score, best_epoch = score, epoch + 1
                best_state = state_to_tensors(model.state_dict())
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
            else f" val_loss={record['val_loss']:.5f}"
            f" val_temporal_r={record['val_temporal_r']:.4f}"
            f" val_ssim={record['val_ssim']:.5f}"
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
        barrier(dist_ctx)
        _epoch_end_hook(epoch + 1)

    if has_val and best_state is not None:
        model.load_state_dict(best_state)
        logger.info(
            "restored the weights of epoch %d (best validation %s)",
            best_epoch,
            cfg.selection,
        )
    model.eval()
    return model, history, best_epoch


def _steps_per_epoch(n_train, batch_size, dist_ctx):
    """Optimisation steps per epoch (batches that are not empty on every rank)."""
    n_batches = math.ceil(n_train / batch_size) if n_train else 0
    if dist_ctx.active:
        full, rest = divmod(n_train, batch_size)
        n_batches = full + (1 if rest >= dist_ctx.world_size else 0)
    return max(n_batches, 1)


def _progress(total, desc, show):
    if not show:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, leave=False, file=sys.stderr)


def predict_batches(model, X, cfg, out_dtype=np.float32):
    """Model outputs (model units) for all rows of X, shape (n, *output_shape).

    Zero outside ``cfg.output_mask`` and adds ``cfg.target_offset`` (when the
    config has them and they are not None).
    """
    model.eval()
    offset = _offset_tensor(cfg, cfg.device)
    mask = _mask_tensor(cfg, cfg.device)
    n = len(X)
    out = np.empty((n, *cfg.output_shape), dtype=out_dtype)
    with torch.no_grad():
        for start in range(0, n, cfg.batch_size):
            idx = np.arange(start, min(start + cfg.batch_size, n))
            xb, _ = gather(X, None, idx, cfg)
            pred = _forward(model, torch.from_numpy(xb).to(cfg.device), offset, mask)
            out[start : start + len(idx)] = pred.to("cpu", torch.float32).numpy()
    return out
