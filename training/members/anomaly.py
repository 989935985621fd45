"""Anomaly member: PatchCore-style nearest-neighbour distance over patch features.

Fitted on good welds only. No pretrained weights can be downloaded, so the patch encoder is
a fixed, seeded random convolution stack (random features keep local shape information;
the heights are already physical) whose channels are standardised on good patches, plus the
downsampled input and the patch position in mm (so a bead in the wrong place is an anomaly).
The memory bank is a greedy k-centre coreset of good patches, stored as a constant in the
ONNX graph. Outputs: ``anomaly_map`` (B, H, W) = distance of each
patch to its nearest good patch (in units of the median good-map score), upsampled to the
native map size, and ``score`` (B,) = its maximum.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as nnf
from torch import nn
from tqdm import tqdm

from inspector.decision.model_input import InputSpec
from training.config import AnomalyCfg
from training.coreset import greedy_coreset
from training.data import MapSet
from training.loop import batched_scores
from training.nets import IN_CHANS, Preprocess


class PatchFeatures(nn.Module):
    """Random conv features of the height at stride 4, the input pooled per 4x4 patch and the
    patch position, standardised."""

    pos: torch.Tensor
    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, spec: InputSpec, cfg: AnomalyCfg, seed: int) -> None:
        super().__init__()
        torch.manual_seed(seed)
        w = cfg.width
        self.convs = nn.Sequential(
            nn.Conv2d(1, w, 3, 1, 1), nn.ReLU(),
            nn.Conv2d(w, w, 3, 2, 1), nn.ReLU(),
            nn.Conv2d(w, w, 3, 2, 1), nn.ReLU())
        for p in self.convs.parameters():
            p.requires_grad_(False)
        fr, fc = (spec.net_rows + 3) // 4, (spec.net_cols + 3) // 4
        self.fsize = (fr, fc)
        # Patch centres in mm relative to the map centre (y up), times the position weight.
        net_mm = spec.mm_per_px * spec.rows / spec.net_rows
        ys = (fr / 2.0 - 0.5 - torch.arange(fr, dtype=torch.float32)) * 4 * net_mm
        xs = (torch.arange(fc, dtype=torch.float32) - fc / 2.0 + 0.5) * 4 * net_mm
        pos = torch.stack([ys[:, None].expand(fr, fc), xs[None, :].expand(fr, fc)])
        self.register_buffer("pos", pos[None] * cfg.position_weight)
        n_feat = w + IN_CHANS
        self.register_buffer("mean", torch.zeros(1, n_feat, 1, 1))
        self.register_buffer("std", torch.ones(1, n_feat, 1, 1))

    def raw(self, x: torch.Tensor) -> torch.Tensor:
        # Convolutions see the (dropout-filled) height only; validity enters pooled per patch.
        f = nnf.avg_pool2d(self.convs(x[:, :1]), 3, 1, 1, count_include_pad=False)
        small = nnf.avg_pool2d(x, 4, 4, ceil_mode=True)
        return torch.cat([f, small], 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = (self.raw(x) - self.mean) / self.std
        return torch.cat([f, self.pos.expand(x.shape[0], -1, -1, -1)], 1)


class AnomalyNet(nn.Module):
    bank: torch.Tensor
    scale: torch.Tensor

    def __init__(self, spec: InputSpec, cfg: AnomalyCfg, seed: int) -> None:
        super().__init__()
        self.spec = spec
        self.pre = Preprocess(spec)
        self.features = PatchFeatures(spec, cfg, seed)
        d = cfg.width + IN_CHANS + 2
        self.register_buffer("bank", torch.zeros(1, d))
        self.register_buffer("scale", torch.ones(()))   # typical good-map score (fitted)

    def patch_distance(self, z: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """(B, fr, fc) distance of every patch to its nearest bank entry (unit: ``scale``)."""
        f = self.features(self.pre(z, valid))                   # (B, D, fr, fc)
        b, d, fr, fc = f.shape
        # float64 for the expanded distance: keeps torch and onnxruntime within 1e-6.
        flat = f.permute(0, 2, 3, 1).reshape(b, fr * fc, d).double()
        bank = self.bank.double()
        d2 = (flat * flat).sum(-1, keepdim=True) - 2.0 * flat @ bank.T + (bank * bank).sum(-1)
        dist = torch.sqrt(torch.clamp(d2.min(-1).values, min=0.0)).float() / self.scale
        return dist.reshape(b, fr, fc)

    def forward(self, z: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pd = self.patch_distance(z, valid)
        score = pd.flatten(1).max(1).values
        amap = nnf.interpolate(pd[:, None], size=self.spec.shape, mode="bilinear",
                             align_corners=False)[:, 0]
        return score, amap


def fit_anomaly(spec: InputSpec, cfg: AnomalyCfg, goods: MapSet, seed: int) -> AnomalyNet:
    """Standardise the features and build the memory bank from good maps only."""
    if int(goods.bad.sum()) != 0:
        raise ValueError("fit_anomaly: expected good maps only")
    model = AnomalyNet(spec, cfg, seed).eval()
    z, v = goods.tensors()
    raws = []
    with torch.inference_mode():
        for i in tqdm(range(0, len(goods), 128), desc="anomaly features", leave=False):
            raws.append(model.features.raw(model.pre(z[i:i + 128], v[i:i + 128])))
        raw = torch.cat(raws)                                   # (N, D0, fr, fc)
        model.features.mean.copy_(raw.mean((0, 2, 3), keepdim=True))
        model.features.std.copy_(raw.std((0, 2, 3), keepdim=True).clamp_min(1e-2))
        feats = []
        for i in range(0, len(goods), 128):
            feats.append(model.features(model.pre(z[i:i + 128], v[i:i + 128])))
        f = torch.cat(feats)
        flat = f.permute(0, 2, 3, 1).reshape(-1, f.shape[1])
        gen = torch.Generator().manual_seed(seed)
        if flat.shape[0] > cfg.max_patches:
            flat = flat[torch.randperm(flat.shape[0], generator=gen)[:cfg.max_patches]]
        idx = greedy_coreset(flat, cfg.bank_size, seed)
        model.bank = flat[idx].clone()
        # Unit scale: the median score of the good maps themselves (values of order 1).
        scores = torch.cat([model(z[i:i + 128], v[i:i + 128])[0]
                            for i in range(0, len(goods), 128)])
        model.scale.copy_(scores.median().clamp_min(1e-6))
    return model


def anomaly_scores(model: AnomalyNet, ms: MapSet) -> np.ndarray:
    return batched_scores(lambda z, v: model(z, v)[0], ms)
