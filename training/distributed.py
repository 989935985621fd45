"""Data-parallel training under ``torchrun`` (DistributedDataParallel).

``torchrun --nproc_per_node=N -m training.cli train ...`` starts N processes; each trains on
its share of every batch (global batch = the configured ``batch_size``), DDP averages the
gradients, and only rank 0 fits the anomaly bank, exports and writes the bundle. Backend:
NCCL with one GPU per process (``LOCAL_RANK``), gloo on the CPU (used by the tests). A
plain ``weld-train`` run is a world of one and nothing here changes it.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel


def world() -> tuple[int, int]:
    """(rank, world size) from torchrun's environment; (0, 1) outside torchrun."""
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))


def is_main() -> bool:
    return world()[0] == 0


def local_device() -> torch.device:
    """This process's device: ``cuda:LOCAL_RANK`` when GPUs are present, else the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return torch.device("cpu")


def init() -> None:
    """Join the process group when started by torchrun with more than one process."""
    if world()[1] > 1 and not dist.is_initialized():
        dev = local_device()
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")


def shutdown() -> None:
    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def wrap(module: nn.Module) -> nn.Module:
    """``module`` under DDP in a multi-process run, else ``module`` itself."""
    if not dist.is_initialized() or dist.get_world_size() == 1:
        return module
    dev = next(module.parameters()).device
    return DistributedDataParallel(module, device_ids=[dev] if dev.type == "cuda" else None)


def shard(idx: torch.Tensor) -> torch.Tensor:
    """This rank's share of a global batch of indices (every rank sees the same batch)."""
    rank, size = world()
    return idx[rank::size] if size > 1 else idx
