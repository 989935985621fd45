"""Hole / pore: a round cavity in the bead, down to the plate when deep enough."""

from __future__ import annotations

import numpy as np

from synth_defects.defects.ball import lump
from synth_defects.frame import BeadFrame, Edited, apply_surface
from synth_defects.params import DefectRanges


def apply(frame: BeadFrame, s_mm: float, t_mm: float, diameter_mm: float,
          depth_mm: float) -> Edited:
    """A bowl of ``diameter_mm`` and ``depth_mm`` (never below the plate) in the bead."""
    x, y = frame.xy_at(s_mm, t_mm)
    g = frame.geom
    bowl = lump(frame, x, y, diameter_mm, depth_mm)
    z_new = frame.z_fill - np.minimum(bowl, g.excess)
    return apply_surface(frame, z_new.astype(np.float32), {
        "diameter_mm": diameter_mm, "depth_mm": depth_mm, "x_mm": x, "y_mm": y, "t_mm": t_mm,
    })


def make(frame: BeadFrame, rng: np.random.Generator, ranges: DefectRanges) -> Edited:
    D = ranges.hole_diameter_mm.draw(rng)
    s = frame.draw_s(rng, D)
    hw, top = frame.local(s)
    t = float(rng.uniform(-1.0, 1.0)) * max(0.0, 0.5 * hw - 0.5 * D)
    return apply(frame, s, t, D, ranges.hole_depth_frac.draw(rng) * top)


def make_ok(frame: BeadFrame, rng: np.random.Generator, ranges: DefectRanges) -> Edited:
    """An acceptable pore: a hole under the norm's diameter limit."""
    return make(frame, rng, ranges.within_limits(rng))
