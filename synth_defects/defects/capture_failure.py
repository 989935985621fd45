"""Capture failure: the scanner delivered (almost) nothing usable.

Kinds: ``dropout`` (only a few blotches of the map stay measured, below the minimum valid
fraction), ``empty`` (nothing measured) and ``solid`` (one constant height everywhere)."""

from __future__ import annotations

import cv2
import numpy as np

from synth_defects.frame import BeadFrame, Edited, apply_surface
from synth_defects.params import DefectRanges

KINDS = ("dropout", "empty", "solid")


def blotches(shape: tuple[int, int], keep_frac: float, rng: np.random.Generator) -> np.ndarray:
    """A blotchy boolean field holding about ``keep_frac`` of the cells."""
    small = rng.random((max(2, shape[0] // 12), max(2, shape[1] // 12))).astype(np.float32)
    field = cv2.resize(small, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)
    return field < np.quantile(field, keep_frac) if keep_frac > 0 else np.zeros(shape, bool)


def apply(frame: BeadFrame, kind: str, keep_frac: float, level_mm: float,
          rng: np.random.Generator) -> Edited:
    hm = frame.hm
    if kind == "solid":
        z_new = np.full(hm.shape, level_mm, np.float32)
        valid = np.ones(hm.shape, bool)
    elif kind == "empty":
        z_new, valid = frame.z_fill, np.zeros(hm.shape, bool)
    else:
        z_new = frame.z_fill
        valid = hm.valid & blotches(hm.shape, keep_frac, rng)
    params: dict[str, float | int | str] = {
        "kind": kind, "valid_fraction": float(valid.mean()),
        "level_mm": level_mm if kind == "solid" else 0.0}
    if kind == "solid":  # the whole picture is wrong, not just the cells that moved
        return Edited(hm.with_z(z_new, valid), np.ones(hm.shape, bool), params)
    return apply_surface(frame, z_new, params, valid_new=valid)


def make(frame: BeadFrame, rng: np.random.Generator, ranges: DefectRanges) -> Edited:
    kind = str(rng.choice(KINDS, p=[0.6, 0.2, 0.2]))
    keep = ranges.capture_valid_frac.draw(rng)
    return apply(frame, kind, keep, float(rng.uniform(-1.0, 3.0)), rng)
