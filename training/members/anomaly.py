"""Anomaly member: PatchCore-style nearest-neighbour distance over patch features.

Fitted on good welds only. No pretrained weights can be downloaded, so the patch features
come from a frozen copy of the committee's own *trained* classifier encoder: its stride-4
and stride-8 feature maps (the stride-8 map upsampled onto the stride-4 grid), averaged over
3x3 neighbouring patches and standardised on good patches, plus the input pooled per 4x4
patch and the patch position in mm (so a bead in the wrong place is an anomaly). The
memory bank is a greedy k-centre coreset of good patches, stored as a constant in the ONNX
graph. Outputs: ``anomaly_map`` (B, H, W) = distance of each patch to its nearest good
patch (in units of the median good-map score), upsampled to the native map size, and
``score`` (B,) = its maximum.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn.functional as nnf
from torch import nn
from tqdm import tqdm

from inspector.decision.model_input import InputSpec
from training.config import AnomalyCfg
from training.coreset import greedy_coreset
from training.data import MapSet
from training.loop import batched_scores, device_of
from training.nets import IN_CHANS, Preprocess, stride4_8_features

SCALE_MAPS = 512
"""Good maps whose median score sets the anomaly unit."""


class PatchFeatures(nn.Module):
    """Frozen encoder features on the stride-4 patch grid, the input pooled per 4x4 patch and
    the patch position, standardised."""

    pos: torch.Tensor
    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, spec: InputSpec, cfg: AnomalyCfg, encoder: nn.Module) -> None:
        super().__init__()
        self.encoder = copy.deepcopy(encoder).eval()
        for p in self.encoder.parameters():
            p.requires_grad_(False)
        with torch.inference_mode():
            probe = self.raw(torch.zeros(1, IN_CHANS, spec.net_rows, spec.net_cols,
                                         device=device_of(self.encoder)))
        n_feat, fr, fc = probe.shape[1:]
        self.fsize = (fr, fc)
        # Patch centres in mm relative to the map centre (y up), times the position weight.
        net_mm = spec.mm_per_px * spec.rows / spec.net_rows
        ys = (fr / 2.0 - 0.5 - torch.arange(fr, dtype=torch.float32)) * 4 * net_mm
        xs = (torch.arange(fc, dtype=torch.float32) - fc / 2.0 + 0.5) * 4 * net_mm
        pos = torch.stack([ys[:, None].expand(fr, fc), xs[None, :].expand(fr, fc)])
        self.register_buffer("pos", pos[None] * cfg.position_weight)
        self.register_buffer("mean", torch.zeros(1, n_feat, 1, 1))
        self.register_buffer("std", torch.ones(1, n_feat, 1, 1))

    def train(self, mode: bool = True) -> PatchFeatures:
        super().train(mode)
        self.encoder.eval()                       # frozen: batch-norm statistics stay fixed
        return self

    def raw(self, x: torch.Tensor) -> torch.Tensor:
        f4, f8 = stride4_8_features(self.encoder, x)
        small = nnf.avg_pool2d(x, 4, 4, ceil_mode=True)
        grid = small.shape[-2:]
        f = torch.cat([nnf.interpolate(f4, size=grid, mode="bilinear", align_corners=False),
                       nnf.interpolate(f8, size=grid, mode="bilinear", align_corners=False)], 1)
        f = nnf.avg_pool2d(f.float(), 3, 1, 1, count_include_pad=False)
        return torch.cat([f, small], 1)

    @property
    def dim(self) -> int:
        return int(self.mean.shape[1]) + 2

    def standardise(self, raw: torch.Tensor) -> torch.Tensor:
        """Standardised raw features with the patch positions appended."""
        f = (raw - self.mean) / self.std
        return torch.cat([f, self.pos.expand(raw.shape[0], -1, -1, -1)], 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.standardise(self.raw(x))


class AnomalyNet(nn.Module):
    bank_t: torch.Tensor
    bank_sq: torch.Tensor
    scale: torch.Tensor

    def __init__(self, spec: InputSpec, cfg: AnomalyCfg, encoder: nn.Module) -> None:
        super().__init__()
        self.spec = spec
        self.pre = Preprocess(spec)
        self.features = PatchFeatures(spec, cfg, encoder)
        # The bank is stored once, transposed and in float64 (the ONNX graph holds it as is).
        self.register_buffer("bank_t", torch.zeros(self.features.dim, 1, dtype=torch.float64))
        self.register_buffer("bank_sq", torch.zeros(1, dtype=torch.float64))
        self.register_buffer("scale", torch.ones(()))   # typical good-map score (fitted)

    @property
    def bank_size(self) -> int:
        return int(self.bank_t.shape[1])

    def set_bank(self, bank: torch.Tensor) -> None:
        """Memory bank (N, D) of good patch features."""
        b = bank.double()
        self.bank_t = b.T.contiguous()
        self.bank_sq = (b * b).sum(1)

    def patch_distance(self, z: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """(B, fr, fc) distance of every patch to its nearest bank entry (unit: ``scale``)."""
        f = self.features(self.pre(z, valid))                   # (B, D, fr, fc)
        b, d, fr, fc = f.shape
        # float64 for the expanded distance: keeps torch and onnxruntime within 1e-6.
        flat = f.permute(0, 2, 3, 1).reshape(b, fr * fc, d).double()
        d2 = (flat * flat).sum(-1, keepdim=True) - 2.0 * (flat @ self.bank_t) + self.bank_sq
        dist = torch.sqrt(torch.clamp(d2.min(-1).values, min=0.0)).float() / self.scale
        return dist.reshape(b, fr, fc)

    def forward(self, z: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pd = self.patch_distance(z, valid)
        score = pd.flatten(1).max(1).values
        amap = nnf.interpolate(pd[:, None], size=self.spec.shape, mode="bilinear",
                             align_corners=False)[:, 0]
        return score, amap


def fit_anomaly(spec: InputSpec, cfg: AnomalyCfg, goods: MapSet, seed: int,
                encoder: nn.Module) -> AnomalyNet:
    """Standardise the patch features of ``encoder`` (a trained member's encoder, copied and
    frozen) and build the memory bank from good maps only, on the encoder's device (where
    the model stays)."""
    if int(goods.bad.sum()) != 0:
        raise ValueError("fit_anomaly: expected good maps only")
    dev = device_of(encoder)
    model = AnomalyNet(spec, cfg, encoder).to(dev).eval()
    z, v = goods.tensors()
    raws = []
    with torch.inference_mode():
        for i in tqdm(range(0, len(goods), 128), desc="anomaly features", leave=False):
            zb, vb = z[i:i + 128].to(dev), v[i:i + 128].to(dev)
            raws.append(model.features.raw(model.pre(zb, vb)))
        raw = torch.cat(raws)                                   # (N, D0, fr, fc)
        model.features.mean.copy_(raw.mean((0, 2, 3), keepdim=True))
        model.features.std.copy_(raw.std((0, 2, 3), keepdim=True).clamp_min(1e-2))
        f = model.features.standardise(raw)
        del raw
        flat = f.permute(0, 2, 3, 1).reshape(-1, f.shape[1])
        gen = torch.Generator().manual_seed(seed)
        if flat.shape[0] > cfg.max_patches:
            flat = flat[torch.randperm(flat.shape[0], generator=gen)[:cfg.max_patches].to(dev)]
        idx = greedy_coreset(flat, cfg.bank_size, seed)
        model.set_bank(flat[idx])
        # Unit scale: the median score of the good maps themselves (values of order 1), over
        # at most SCALE_MAPS of them evenly spread (the nearest-neighbour search is the
        # costly part of fitting; the median of a few hundred maps is as good).
        pick = torch.linspace(0, len(goods) - 1, min(len(goods), SCALE_MAPS)).round().long()
        zs, vs = z[pick].to(dev), v[pick].to(dev)
        scores = torch.cat([model(zs[i:i + 128], vs[i:i + 128])[0]
                            for i in range(0, len(pick), 128)])
        model.scale.copy_(scores.median().clamp_min(1e-6))
    return model


def anomaly_scores(model: AnomalyNet, ms: MapSet) -> np.ndarray:
    return batched_scores(lambda z, v: model(z, v)[0], ms, device=device_of(model))
