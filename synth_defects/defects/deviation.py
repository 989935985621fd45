"""Bead deviation: the robot drifted, so the bead path bends at its start, middle or end.

The bead's material is carried across the path by the bend's offset (plates stay put; a lap
fillet's bead moves with the ramp it stands on and leaves its toe's plate bare); the offset
reaches its full value at the bend and fades out smoothly over the bend's length."""

from __future__ import annotations

import numpy as np

from synth_defects.frame import BeadFrame, Edited, apply_surface, moved_bead, smooth_window
from synth_defects.params import DefectRanges

WHERE = ("start", "middle", "end")
END_HOLD_MM = 5.0  # a bend at an end keeps its full offset over this much bead


def apply(frame: BeadFrame, offset_mm: float, where: str, bend_mm: float) -> Edited:
    """Bend the bead by ``offset_mm`` (signed, + = north/outward) at ``where``."""
    lo, hi = frame.bead_span()
    centre = 0.5 * (lo + hi) if not frame.closed else frame.path_length_mm / 8
    if frame.closed or where == "middle":
        d = frame.ds(centre)
        shift = offset_mm * smooth_window(d, 0.25 * bend_mm, 0.75 * bend_mm)
    elif where == "start":
        shift = offset_mm * smooth_window(np.maximum(frame.s - lo, 0.0), END_HOLD_MM, bend_mm)
    else:
        shift = offset_mm * smooth_window(np.maximum(hi - frame.s, 0.0), END_HOLD_MM, bend_mm)
    z_new, valid = moved_bead(frame, shift)
    # a closed path's bend is in the middle of its first side
    s_at = centre if frame.closed else {"start": lo, "end": hi}.get(where, centre)
    x, y = frame.xy_at(s_at, offset_mm)
    return apply_surface(frame, z_new, {
        "offset_mm": offset_mm, "where": "middle" if frame.closed else where, "bend_mm": bend_mm,
        "x_mm": x, "y_mm": y,
    }, valid_new=valid)


def make(frame: BeadFrame, rng: np.random.Generator, ranges: DefectRanges) -> Edited:
    lo, hi = frame.bead_span()
    D = ranges.deviation_mm.draw(rng) * float(rng.choice([-1.0, 1.0]))
    bend = ranges.deviation_bend_frac.draw(rng) * (hi - lo)
    if frame.closed:  # keep the bend on one side of the square, clear of the corners
        bend = min(bend, 0.45 * frame.path_length_mm / 4)
    return apply(frame, D, str(rng.choice(WHERE)), bend)


def make_ok(frame: BeadFrame, rng: np.random.Generator, ranges: DefectRanges) -> Edited:
    """An acceptable bend: the bead off its path by less than the norm's limit."""
    return make(frame, rng, ranges.within_limits(rng))
