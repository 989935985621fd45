"""Siamese member: a shared encoder trained with a pairwise contrastive loss.

Every pair in a batch is a training pair: same group (all good welds form one group, each
defect class its own) pulls together, different groups push apart beyond a margin. The
exported graph outputs the L2-normalised ``embedding``; the inspector compares it with the
bundle's gallery of good references (mean distance to the k nearest).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as nnf
from torch import nn

from inspector.decision.committee import siamese_distance
from inspector.decision.model_input import InputSpec
from training.accel import Accel
from training.config import AugmentCfg, SiameseCfg
from training.coreset import greedy_coreset
from training.data import MapSet
from training.loop import batched_scores, device_of, fit
from training.nets import Preprocess, make_encoder


class SiameseNet(nn.Module):
    def __init__(self, spec: InputSpec, cfg: SiameseCfg) -> None:
        super().__init__()
        self.pre = Preprocess(spec)
        self.encoder = make_encoder(cfg.backbone, cfg.embedding_dim, cfg.width)

    def forward(self, z: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        return nnf.normalize(self.encoder(self.pre(z, valid)).float(), dim=1)


def contrastive_loss(emb: torch.Tensor, group: torch.Tensor, margin: float) -> torch.Tensor:
    """Mean squared distance of same-group pairs + mean squared hinge of different-group pairs."""
    d = torch.cdist(emb, emb)
    same = group[:, None] == group[None, :]
    eye = torch.eye(len(group), dtype=torch.bool, device=emb.device)
    pos = (same & ~eye).float()
    neg = (~same).float()
    # Masked means (0 where a batch has no such pair), with no host sync: no boolean indexing.
    lp = (d ** 2 * pos).sum() / pos.sum().clamp(min=1.0)
    ln = (nnf.relu(margin - d) ** 2 * neg).sum() / neg.sum().clamp(min=1.0)
    return lp + ln


def embed(model: nn.Module, ms: MapSet) -> np.ndarray:
    return batched_scores(lambda z, v: model(z, v), ms, device=device_of(model))


def train_siamese(spec: InputSpec, cfg: SiameseCfg, aug: AugmentCfg, train: MapSet, val: MapSet,
                  seed: int, accel: Accel
                  ) -> tuple[SiameseNet, np.ndarray, dict[str, float]]:
    """Train the encoder; return it (on ``accel``'s device), the gallery (G, D) of good
    references, and val figures."""
    device = accel.device
    torch.manual_seed(seed)
    model = SiameseNet(spec, cfg).to(device)
    group = torch.from_numpy(np.where(train.bad == 1, train.cls, -1)).to(device)
    goods = train.subset(np.flatnonzero(train.bad == 0))

    def loss_fn(m: nn.Module, z: torch.Tensor, v: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        return contrastive_loss(m(z, v), group[idx.to(device)], cfg.margin)

    def score_fn(m: nn.Module, ms: MapSet) -> np.ndarray:
        g = make_gallery(embed(m, goods), cfg.gallery_size, seed)
        return siamese_distance(embed(m, ms), g, cfg.k)

    info = fit(model, train, val, loss_fn, score_fn, cfg.optim, aug, seed, "siamese", accel)
    gallery = make_gallery(embed(model, goods), cfg.gallery_size, seed)
    return model, gallery, info


def make_gallery(good_emb: np.ndarray, size: int, seed: int) -> np.ndarray:
    """A diverse subset (greedy k-centre) of good embeddings, at most ``size`` rows."""
    idx = greedy_coreset(torch.from_numpy(np.ascontiguousarray(good_emb)), size, seed)
    return good_emb[idx.numpy()].astype(np.float32)
