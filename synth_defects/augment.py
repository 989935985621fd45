"""Nuisance variation applied to every generated sample (good and bad alike): valid-pixel
dropout on the weld (~2 %), height gain and offset within scanner tolerance, scanner noise
and a small pose jitter. None of it is a defect: labels and defect masks are unaffected
(the mask only follows the pose jitter)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from point_cloud.config import scanner_model
from point_cloud.types import HeightMap

B = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class AugmentRanges:
    """Ranges of the nuisance draws."""

    dropout_frac: tuple[float, float] = (0.01, 0.03)  # of the weld's (bead) cells
    gain: tuple[float, float] = (0.97, 1.03)
    offset_mm: tuple[float, float] = (-0.05, 0.05)
    noise_factor: tuple[float, float] = (0.0, 1.0)  # x the scanner's noise sigma
    shift_mm: float = 0.4
    rotation_deg: float = 1.0


def augment(hm: HeightMap, mask: B, weld: B, rng: np.random.Generator,
            ranges: AugmentRanges = AugmentRanges()) -> tuple[HeightMap, B, dict[str, float]]:
    """Apply one random draw of every nuisance to ``hm``; ``weld`` marks the weld's cells."""
    p = {
        "aug_dropout_frac": float(rng.uniform(*ranges.dropout_frac)),
        "aug_gain": float(rng.uniform(*ranges.gain)),
        "aug_offset_mm": float(rng.uniform(*ranges.offset_mm)),
        "aug_noise_mm": float(rng.uniform(*ranges.noise_factor)) * scanner_model().noise_mm,
        "aug_shift_x_mm": float(rng.uniform(-ranges.shift_mm, ranges.shift_mm)),
        "aug_shift_y_mm": float(rng.uniform(-ranges.shift_mm, ranges.shift_mm)),
        "aug_rotation_deg": float(rng.uniform(-ranges.rotation_deg, ranges.rotation_deg)),
    }
    z = hm.z * np.float32(p["aug_gain"]) + np.float32(p["aug_offset_mm"])
    z = z + rng.normal(0.0, p["aug_noise_mm"], hm.shape).astype(np.float32)
    valid = hm.valid & ~dropout(weld & hm.valid, p["aug_dropout_frac"], rng)
    z, valid, mask = jitter(z, valid, mask, hm.mm_per_px, p)
    return hm.with_z(z, valid), mask, {k: round(v, 4) for k, v in p.items()}


def dropout(cells: B, fraction: float, rng: np.random.Generator) -> B:
    """About ``fraction`` of ``cells`` as speckle and small clusters (scanner-like holes)."""
    n = int(cells.sum())
    if n == 0 or fraction <= 0:
        return np.zeros_like(cells)
    seeds = cells & (rng.random(cells.shape) < fraction / 3.6)  # a 2x2 cluster each
    grown = cv2.dilate(seeds.astype(np.uint8), np.ones((2, 2), np.uint8)) > 0
    return grown & cells


def jitter(z: np.ndarray, valid: B, mask: B, mm_per_px: float,
           p: dict[str, float]) -> tuple[np.ndarray, B, B]:
    """Rotate about the map centre and shift (mm); cells brought in from outside continue the
    edge (the plate goes on beyond the region of interest)."""
    rows, cols = z.shape
    m = cv2.getRotationMatrix2D(((cols - 1) / 2.0, (rows - 1) / 2.0), p["aug_rotation_deg"], 1.0)
    m[0, 2] += p["aug_shift_x_mm"] / mm_per_px
    m[1, 2] -= p["aug_shift_y_mm"] / mm_per_px
    size = (cols, rows)
    zf = z.astype(np.float32)
    zw = cv2.warpAffine(zf, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    # the part moved under the scanner: cells brought in at the edge show the surface there
    vw = cv2.warpAffine(valid.astype(np.uint8), m, size, flags=cv2.INTER_NEAREST,
                        borderMode=cv2.BORDER_REPLICATE) > 0
    # bilinear heights must not mix in invalid cells: take the nearest value there
    zn = cv2.warpAffine(zf, m, size, flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_REPLICATE)
    vall = cv2.warpAffine(valid.astype(np.float32), m, size, flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)
    zw = np.where(vall > 0.999, zw, zn)
    mw = cv2.warpAffine(mask.astype(np.uint8), m, size, flags=cv2.INTER_NEAREST,
                        borderMode=cv2.BORDER_CONSTANT, borderValue=0) > 0
    return zw.astype(np.float32), vw, mw
