"""No weld: the plate(s) only. The bead is removed down to the plate everywhere; where the
map's plate was removed (isolated types) the bare plate under the bead stays measured."""

from __future__ import annotations

import numpy as np

from synth_defects.frame import BeadFrame, Edited, apply_surface, bead_cells, plate_noise
from synth_defects.params import DefectRanges


def apply(frame: BeadFrame, rng: np.random.Generator) -> Edited:
    g = frame.geom
    footprint = bead_cells(frame, margin_mm=0.4)
    z_new = np.where(footprint, g.base + plate_noise(frame, rng), frame.z_fill)
    valid = None if g.plate_visible else (frame.hm.valid | footprint)
    return apply_surface(frame, z_new.astype(np.float32), {"removed_mm2": float(
        footprint.sum() * frame.hm.mm_per_px**2)}, valid_new=valid)


def make(frame: BeadFrame, rng: np.random.Generator, ranges: DefectRanges) -> Edited:
    return apply(frame, rng)
