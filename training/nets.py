"""Network building blocks: the in-graph preprocessing and the encoders (compact CNN or timm)."""

from __future__ import annotations

import timm
import torch
import torch.nn.functional as nnf
from torch import nn

from inspector.decision.model_input import BASE_POOL, N_CHANNELS, NEAR, UNSEEN, InputSpec

IN_CHANS = N_CHANNELS  # height / z_ref (dropouts filled), validity, pit depth


def _doubling_steps(k: int) -> list[int]:
    """Shifts whose running maxima widen a 1-px window to ``k`` px: 1, 2, 4, ... (+ rest)."""
    steps, rest, d = [], k - 1, 1
    while rest > 0:
        steps.append(min(d, rest))
        rest -= steps[-1]
        d *= 2
    return steps


def max_filter_square(x: torch.Tensor, k: int) -> torch.Tensor:
    """k x k max filter (odd k, stride 1, borders ignored) of a (B,C,H,W) tensor.

    Van Herk-style doubling: log2(k) shifted maxima per axis instead of a k-wide pooling
    window (25x faster than ``max_pool2d`` on the CPU for k = 15, and exact)."""
    h = (k - 1) // 2
    x = nnf.pad(x, (h, h, h, h), value=float("-inf"))
    for d in _doubling_steps(k):
        x = torch.maximum(x[..., d:, :], x[..., :-d, :])
    for d in _doubling_steps(k):
        x = torch.maximum(x[..., :, d:], x[..., :, :-d])
    return x


class Preprocess(nn.Module):
    """Torch twin of :func:`inspector.decision.model_input.normalise_reference` (exported)."""

    def __init__(self, spec: InputSpec) -> None:
        super().__init__()
        self.spec = spec
        g = torch.from_numpy(spec.base_taps)
        self.taps_x: torch.Tensor    # the base's Gaussian, for its two channels at once
        self.taps_y: torch.Tensor
        self.register_buffer("taps_x", g.view(1, 1, 1, -1).repeat(2, 1, 1, 1), persistent=False)
        self.register_buffer("taps_y", g.view(1, 1, -1, 1).repeat(2, 1, 1, 1), persistent=False)
        band = spec.band
        self.band: torch.Tensor | None   # the bead band's cells (1, 1, H, W), never plate
        self.band_kernel: torch.Tensor | None
        if band is None:
            self.band = self.band_kernel = None
        else:
            self.register_buffer("band", torch.from_numpy(band)[None, None], persistent=False)
            k = torch.from_numpy(spec.band_kernel)[None, None].repeat(2, 1, 1, 1)
            self.register_buffer("band_kernel", k, persistent=False)

    def forward(self, z: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        dev = z.device.type
        if torch.amp.is_autocast_available(dev) and torch.is_autocast_enabled(dev):
            with torch.autocast(dev, enabled=False):  # training under bf16: heights in fp32
                return self._maps(z.float(), valid.float())
        return self._maps(z, valid)

    def _maps(self, z: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        s = self.spec
        h = torch.clamp(z / s.z_ref_mm, s.z_clip_lo, s.z_clip_hi) * valid
        num = nnf.avg_pool2d(h, 3, 1, 1, count_include_pad=True) * 9.0
        den = nnf.avg_pool2d(valid, 3, 1, 1, count_include_pad=True) * 9.0
        h = torch.where(valid > 0, h, num / torch.clamp(den, min=1.0))
        if s.base_kernel_px:
            h = self._relief(h, valid, den)
        k = s.pit_kernel_px
        closed = -max_filter_square(-max_filter_square(h, k), k)
        pit = torch.clamp(closed - h, 0.0, s.pit_clip) * valid
        x = torch.cat([h, valid, pit], dim=1)
        return nnf.interpolate(x, size=(s.net_rows, s.net_cols), mode="bilinear",
                             align_corners=False, antialias=False)

    def _relief(self, h: torch.Tensor, valid: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
        """``h`` minus its base (model_input's ``_relief_reference``)."""
        s, k = self.spec, self.spec.base_kernel_px
        low = -max_filter_square(-torch.where(valid > 0, h, torch.full_like(h, UNSEEN)), k)
        low = torch.where(low < UNSEEN / 2, low, torch.full_like(h, -UNSEEN))
        opened = max_filter_square(low, k)
        has_open = opened > -UNSEEN / 2
        plate = (valid > 0) & has_open & (h - opened <= s.plate_tol)
        if self.band is not None:
            plate = plate & ~self.band
        m = plate.to(h.dtype)
        num, wsum = self._smooth(torch.cat([h * m, m], dim=1)).split(1, dim=1)
        carried = num / torch.clamp(wsum, min=NEAR)
        base = torch.where(plate, h, torch.where(wsum > NEAR, carried,
                                                 torch.where(has_open, opened, h)))
        return torch.clamp(h - base, s.z_clip_lo, s.z_clip_hi) * (den > 0).to(h.dtype)

    def _smooth(self, x: torch.Tensor) -> torch.Tensor:
        """Coarse weighted average (model_input's ``_coarse_carry``) of the 2 channels of
        ``x``."""
        rows, cols, f = self.spec.rows, self.spec.cols, BASE_POOL
        pr, pc = -(-rows // f) * f, -(-cols // f) * f
        x = nnf.avg_pool2d(nnf.pad(x, (0, pc - cols, 0, pr - rows)), f, f)
        if self.band_kernel is not None:
            x = nnf.conv2d(x, self.band_kernel, padding=self.band_kernel.shape[-1] // 2,
                           groups=2)
        else:
            r = self.taps_x.shape[-1] // 2
            x = nnf.conv2d(x, self.taps_x, padding=(0, r), groups=2)
            x = nnf.conv2d(x, self.taps_y, padding=(r, 0), groups=2)
        x = nnf.interpolate(x, size=(pr, pc), mode="bilinear", align_corners=False,
                            antialias=False)
        return x[..., :rows, :cols]


def _block(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU(inplace=True))


class CompactCNN(nn.Module):
    """A small from-scratch CNN: four stride-2 stages, global average pool, linear head."""

    def __init__(self, out_dim: int, width: int = 16) -> None:
        super().__init__()
        w = width
        self.features = nn.Sequential(_block(IN_CHANS, w, 1), _block(w, w, 2), _block(w, 2 * w, 2),
                                      _block(2 * w, 4 * w, 2), _block(4 * w, 4 * w, 2))
        self.head = nn.Linear(4 * w, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).mean(dim=(2, 3)))

    def stride4_8(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Feature maps at stride 4 and 8 (after the second and third stride-2 blocks)."""
        f4 = self.features[:3](x)
        return [f4, self.features[3](f4)]


def make_encoder(backbone: str, out_dim: int, width: int = 16) -> nn.Module:
    """``"compact"`` or any timm model name (``in_chans=3``, ``pretrained=False``)."""
    if backbone == "compact":
        return CompactCNN(out_dim, width)
    return timm.create_model(backbone, pretrained=False, in_chans=IN_CHANS, num_classes=out_dim)


def stride4_8_features(encoder: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """An encoder's intermediate feature maps at stride 4 and 8 (compact CNN or timm model)."""
    if isinstance(encoder, CompactCNN):
        return encoder.stride4_8(x)
    # timm feature_info: index 1 is the stride-4 stage, index 2 the stride-8 stage.
    out: list[torch.Tensor] = encoder.forward_intermediates(  # type: ignore[operator]
        x, indices=[1, 2], intermediates_only=True, stop_early=True)
    return out
