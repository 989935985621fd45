"""Excess material: the bead's material piles up on its north (or south) side.

Material is moved across the bead: the height rises by half the imbalance at a quarter width
on one side and sinks by the same on the other, vanishing at the centre and at the toes, so
the north-minus-south height difference is the requested imbalance (whole bead or a section).
"""

from __future__ import annotations

import numpy as np

from synth_defects.frame import BeadFrame, Edited, apply_surface, smooth_window
from synth_defects.params import DefectRanges

RAMP_MM = 1.5
FULL_EFFECT_MM = 0.3  # bead at least this high takes the full imbalance


def apply(frame: BeadFrame, imbalance_mm: float, s_centre: float | None,
          length_mm: float) -> Edited:
    """Imbalance ``imbalance_mm`` (+ = north/outward higher) over ``length_mm`` of bead around
    ``s_centre`` (None: the whole bead)."""
    g = frame.geom
    hw = np.maximum(frame.half_width, 1e-3)
    inside = np.abs(frame.t) < hw
    wave = np.where(inside, np.sin(np.pi * frame.t / hw), 0.0)
    if s_centre is None:
        env = np.ones_like(frame.s)
    else:
        env = smooth_window(frame.ds(s_centre), 0.5 * length_mm, RAMP_MM)
    on_bead = np.clip(g.excess / FULL_EFFECT_MM, 0.0, 1.0)  # fades out on bare plate
    delta = 0.5 * imbalance_mm * wave * env * on_bead
    z_new = g.base + np.maximum(g.excess + delta, 0.0)
    s_mid = s_centre if s_centre is not None else 0.5 * sum(frame.bead_span())
    x, y = frame.xy_at(s_mid, 0.0)
    return apply_surface(frame, z_new.astype(np.float32), {
        "imbalance_mm": imbalance_mm, "side": "north" if imbalance_mm > 0 else "south",
        "length_mm": length_mm, "whole": int(s_centre is None), "x_mm": x, "y_mm": y,
    })


def make(frame: BeadFrame, rng: np.random.Generator, ranges: DefectRanges) -> Edited:
    A = ranges.excess_imbalance_mm.draw(rng) * float(rng.choice([-1.0, 1.0]))
    lo, hi = frame.bead_span(margin_mm=1.0)
    if rng.random() < 0.3 and not frame.closed:
        return apply(frame, A, None, hi - lo)
    cap = 0.5 * frame.path_length_mm / 4 if frame.closed else hi - lo
    L = min(ranges.excess_section_mm.draw(rng), cap)
    sc = frame.draw_s(rng, L, margin_mm=0.0)
    return apply(frame, A, sc, L)


def make_ok(frame: BeadFrame, rng: np.random.Generator, ranges: DefectRanges) -> Edited:
    """An acceptable imbalance: north/south heights apart by less than the norm's limit."""
    return make(frame, rng, ranges.within_limits(rng))
