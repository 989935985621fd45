"""The training loop of the supervised members: AdamW + one-cycle, augmentation, best epoch."""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from training import distributed
from training.accel import Accel
from training.config import AugmentCfg, OptimCfg
from training.data import MapSet, augment
from training.metrics import auroc, far_at_frr

log = logging.getLogger(__name__)

# (model, z batch, valid batch, indices into the training set) -> loss
LossFn = Callable[[nn.Module, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
# (model, MapSet) -> raw scores (N,), higher = bad
ScoreFn = Callable[[nn.Module, MapSet], np.ndarray]


def device_of(model: nn.Module) -> torch.device:
    """Where ``model``'s parameters live (the CPU for a model without any)."""
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


def batched_scores(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], ms: MapSet,
                   batch: int = 256, device: torch.device | None = None) -> np.ndarray:
    """Evaluate ``fn(z, valid)`` over a MapSet without gradients, each batch moved to
    ``device`` (the model's: the maps stay in host memory) and the scores back to the host."""
    z, v = ms.tensors()
    dev = device or torch.device("cpu")
    outs = []
    with torch.inference_mode():
        for i in range(0, len(ms), batch):
            zb = z[i:i + batch].to(dev, non_blocking=True)
            vb = v[i:i + batch].to(dev, non_blocking=True)
            outs.append(fn(zb, vb).float())
    return torch.cat(outs).cpu().numpy() if outs else np.zeros(0, np.float32)


class _Objective(nn.Module):
    """One step's loss as a module, so that DDP can wrap it (and sync the gradients)."""

    def __init__(self, model: nn.Module, loss_fn: LossFn) -> None:
        super().__init__()
        self.model = model
        self.loss_fn = loss_fn

    def forward(self, z: torch.Tensor, v: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        return self.loss_fn(self.model, z, v, idx)


def fit(model: nn.Module, train: MapSet, val: MapSet, loss_fn: LossFn, score_fn: ScoreFn,
        optim: OptimCfg, aug: AugmentCfg, seed: int, name: str,
        accel: Accel | None = None) -> dict[str, float]:
    """Train ``model`` in place; keep the epoch with the lowest validation false-accept.

    Selection metric: false-accept rate at 1 % false-reject on the validation split (ties:
    higher AUROC, then the later, more converged epoch). Returns the chosen epoch's figures.
    ``accel`` (default: the CPU path on the model's device) sets the batch, the learning
    rate, autocast and where the maps are augmented; a step never waits on the host.
    Under torchrun every rank takes its share of each batch and DDP averages the gradients;
    rank 0 alone validates and picks the epoch (its model is the one exported).
    """
    dev = device_of(model)
    accel = accel or Accel(dev)
    optim = accel.optim(optim)
    accel.prepare(model)
    rank, size = distributed.world()
    objective = distributed.wrap(_Objective(model, loss_fn))
    gen = torch.Generator().manual_seed(seed)  # batch order: the same on every rank
    aug_gen = (gen if size == 1 and not accel.data_on_device
               else accel.generator(seed + 1 + rank))
    z_all, v_all = train.tensors()
    good_all = torch.from_numpy(train.bad == 0)
    if accel.data_on_device:
        z_all, v_all, good_all = z_all.to(dev), v_all.to(dev), good_all.to(dev)
    n = len(train)
    steps = max(1, n // optim.batch_size)
    opt = torch.optim.AdamW(model.parameters(), lr=optim.lr, weight_decay=optim.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=optim.lr,
                                                total_steps=steps * optim.epochs)
    scaler = torch.amp.GradScaler(dev.type, enabled=accel.grad_scaler)
    best: tuple[float, float] = (np.inf, -np.inf)
    best_state = copy.deepcopy(model.state_dict())
    best_info: dict[str, float] = {}
    bar = tqdm(range(optim.epochs), desc=f"{name}", leave=False, disable=rank != 0)
    for epoch in bar:
        model.train()
        perm = torch.randperm(n, generator=gen).to(z_all.device)
        total = torch.zeros((), device=dev)
        for s in range(steps):
            idx = distributed.shard(perm[s * optim.batch_size:(s + 1) * optim.batch_size])
            z, v = augment(z_all[idx].to(dev), v_all[idx].to(dev), aug, aug_gen,
                           good=good_all[idx], host_gen=gen)
            with accel.autocast():
                loss = objective(z, v, idx)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            sched.step()
            total += loss.detach().float()
        model.eval()
        if rank != 0:
            continue
        mean_loss = float(total) / steps
        scores = score_fn(model, val)
        far1, auc = far_at_frr(scores, val.bad, 0.01), auroc(scores, val.bad)
        bar.set_postfix(loss=mean_loss, far1=far1, auroc=auc)
        log.debug("%s epoch %d loss %.4f val FAR@1%%FRR %.4f AUROC %.4f", name, epoch,
                  mean_loss, far1, auc)
        if (far1, -auc) <= (best[0], -best[1]):
            best = (far1, auc)
            best_state = copy.deepcopy(model.state_dict())
            best_info = {"epoch": float(epoch), "val_far_at_frr_1pct": far1, "val_auroc": auc,
                         "train_loss": mean_loss}
    if rank == 0:
        model.load_state_dict(best_state)
    model.eval()
    return best_info
