"""Hole / pore: a round cavity in the bead, down to the plate when deep enough; a third
of them with a bottom the scanner did not see (no points deeper than a few tenths)."""

from __future__ import annotations

import numpy as np

from synth_defects.defects.ball import lump
from synth_defects.frame import CHANGE_MM, BeadFrame, Edited, apply_surface
from synth_defects.params import DefectRanges

UNSEEN_SHARE = 1.0 / 3.0
"""This share of holes hides its bottom from the scanner (a narrow deep pore: the camera's
line of sight does not reach it): its cells deeper than ``UNSEEN_BELOW_MM`` give no points."""
UNSEEN_BELOW_MM = (0.05, 0.3)
MIN_ON_BEAD = 0.5
"""A hole digs this share of its disc at least: beyond a bead's end (or its toe) there is
no bead to dig, and a "2.5 mm" hole of which 1 mm shows is no 2.5 mm hole (the generator
draws such a sample again, :func:`lies_on_bead`)."""


def apply(frame: BeadFrame, s_mm: float, t_mm: float, diameter_mm: float,
          depth_mm: float, unseen_below_mm: float = 0.0) -> Edited:
    """A bowl of ``diameter_mm`` and ``depth_mm`` (never below the plate) in the bead; with
    ``unseen_below_mm`` > 0, its cells deeper than that are not measured."""
    x, y = frame.xy_at(s_mm, t_mm)
    g = frame.geom
    bowl = lump(frame, x, y, diameter_mm, depth_mm)
    dip = np.minimum(bowl, g.excess)
    dug = float((dip > CHANGE_MM).sum()) / max(float((bowl > CHANGE_MM).sum()), 1.0)
    z_new = frame.z_fill - dip
    valid = frame.hm.valid & ~(dip > unseen_below_mm) if unseen_below_mm > 0 else None
    return apply_surface(frame, z_new.astype(np.float32), {
        "diameter_mm": diameter_mm, "depth_mm": depth_mm, "x_mm": x, "y_mm": y, "t_mm": t_mm,
        "unseen_below_mm": unseen_below_mm, "on_bead_frac": round(dug, 4)}, valid_new=valid)


def lies_on_bead(frame: BeadFrame, edited: Edited) -> bool:
    """Whether the hole dug :data:`MIN_ON_BEAD` of its disc or more into the bead."""
    return float(edited.params["on_bead_frac"]) >= MIN_ON_BEAD


def make(frame: BeadFrame, rng: np.random.Generator, ranges: DefectRanges) -> Edited:
    D = ranges.hole_diameter_mm.draw(rng)
    s = frame.draw_s(rng, D)
    hw, top = frame.local(s)
    t = float(rng.uniform(-1.0, 1.0)) * max(0.0, 0.5 * hw - 0.5 * D)
    depth = ranges.hole_depth_frac.draw(rng) * top
    unseen = float(rng.uniform(*UNSEEN_BELOW_MM)) if rng.random() < UNSEEN_SHARE else 0.0
    return apply(frame, s, t, D, depth, unseen)


def make_ok(frame: BeadFrame, rng: np.random.Generator, ranges: DefectRanges) -> Edited:
    """An acceptable pore: a hole under the norm's diameter limit."""
    return make(frame, rng, ranges.within_limits(rng))
