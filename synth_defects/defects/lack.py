"""Lack of material on one plate: over a section the bead stops short of one plate.

The bead's half cross-section on that side is squeezed towards the centre, so its toe retreats
by the requested distance and the plate edge there lies bare."""

from __future__ import annotations

import numpy as np

from synth_defects.frame import BeadFrame, Edited, apply_surface, displaced_excess, smooth_window
from synth_defects.params import DefectRanges

RAMP_MM = 1.0


def apply(frame: BeadFrame, side: int, s_centre: float, length_mm: float,
          retreat_mm: float) -> Edited:
    """Toe on ``side`` (+1 north/outward, -1 south/inward) retreats by ``retreat_mm``."""
    hw = np.maximum(frame.half_width, 1e-3)
    env = smooth_window(frame.ds(s_centre), 0.5 * length_mm, RAMP_MM)
    g_px = retreat_mm * env
    on_side = (side * frame.t > 0) & (np.abs(frame.t) <= hw)
    scale = hw / np.maximum(hw - g_px, 1e-3)
    # a cell at offset t shows the material from offset t * scale (side of the failed plate)
    shift = np.where(on_side, frame.t - frame.t * scale, 0.0)
    g = frame.geom
    moved = displaced_excess(frame, shift)
    z_new = g.base + np.where(on_side, moved, g.excess)
    x, y = frame.xy_at(s_centre, side * float(np.median(hw)))
    return apply_surface(frame, z_new.astype(np.float32), {
        "side": "north" if side > 0 else "south", "length_mm": length_mm,
        "retreat_mm": retreat_mm, "x_mm": x, "y_mm": y,
    })


def make(frame: BeadFrame, rng: np.random.Generator, ranges: DefectRanges) -> Edited:
    lo, hi = frame.bead_span(margin_mm=1.0)
    cap = 0.5 * frame.path_length_mm / 4 if frame.closed else hi - lo
    L = min(ranges.lack_length_mm.draw(rng), cap)
    sc = frame.draw_s(rng, L, margin_mm=0.0)
    side = int(rng.choice([-1, 1]))
    return apply(frame, side, sc, L, ranges.lack_retreat_mm.draw(rng))


def make_ok(frame: BeadFrame, rng: np.random.Generator, ranges: DefectRanges) -> Edited:
    """An acceptable lack: the toe short of its plate over less than the norm's length."""
    return make(frame, rng, ranges.within_limits(rng))
