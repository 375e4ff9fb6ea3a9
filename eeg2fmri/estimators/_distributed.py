"""Data-parallel training under ``torchrun``: the process group and its reductions.

Outside ``torchrun`` (``WORLD_SIZE`` unset or 1) every helper is a no-op, so the
training loop calls them unconditionally.
"""

# SPDX-License-Identifier: BSD-3-Clause

import os
from dataclasses import dataclass

import torch

from .._utils.logging import logger

__all__ = ["DistContext", "setup_distributed", "all_reduce_sum", "barrier"]


@dataclass
class DistContext:
    """World size and rank of this process (1 and 0 outside ``torchrun``)."""

    world_size: int = 1
    rank: int = 0

    @property
    def active(self):
        return self.world_size > 1

    @property
    def is_main(self):
        return self.rank == 0


def setup_distributed(device):
    """Join the torchrun process group if ``WORLD_SIZE > 1``; returns (dist, device)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistContext(), device
    import torch.distributed as dist

    if device.type == "cuda":
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend=backend)
        logger.info("joined process group (%s, world size %d)", backend, world)
    return DistContext(dist.get_world_size(), dist.get_rank()), device


def all_reduce_sum(values, dist_ctx, device):
    """Sum a list of floats over the ranks (the list itself outside ``torchrun``)."""
    if not dist_ctx.active:
        return values
    import torch.distributed as dist

    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.tolist()


def barrier(dist_ctx):
    """Wait for every rank (no-op outside ``torchrun``)."""
    if dist_ctx.active:
        import torch.distributed as dist

        dist.barrier()
