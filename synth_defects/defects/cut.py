"""Cut: a discontinuity of the bead. Bad cuts are at least the reject gap; acceptable
(``cut_ok``) ones at most the ok gap. The bead is removed down to the plate over the gap and
ends in rounded caps on both sides, as a weld pool does."""

from __future__ import annotations

import numpy as np

from point_cloud.bead_geometry import analyse_bead
from point_cloud.errors import NoBeadFoundError
from point_cloud.measure import longest_gap_mm
from synth_defects.frame import BeadFrame, Edited, apply_surface, plate_noise
from synth_defects.params import DefectRanges, Range

SIDE_MARGIN_MM = 0.6  # the gap spans the bead's width plus this on each side


def apply(frame: BeadFrame, s_start: float, length_mm: float, end_mm: float,
          rng: np.random.Generator) -> Edited:
    """Remove the bead over arc positions [s_start, s_start + length_mm]."""
    g = frame.geom
    d = frame.ds(s_start + 0.5 * length_mm)
    half = 0.5 * length_mm
    beyond = np.abs(d) - half  # < 0 inside the gap, distance past the gap's edge outside
    u = np.clip(1.0 - beyond / end_mm, 0.0, 1.0)  # 1 at the gap edge, 0 past the end cap
    cap = np.sqrt(np.clip(1.0 - u**2, 0.0, 1.0))  # rounded bead end: 0 at the edge
    across = np.abs(frame.t) <= frame.half_width + SIDE_MARGIN_MM
    factor = np.where(across & (beyond < 0), 0.0, np.where(across, cap, 1.0))
    exposed = across & (beyond < 0)
    z_new = g.base + g.excess * factor + np.where(exposed, plate_noise(frame, rng), 0.0)
    x, y = frame.xy_at(s_start + half, 0.0)
    return apply_surface(frame, z_new.astype(np.float32), {
        "length_mm": length_mm, "end_cap_mm": end_mm, "x_mm": x, "y_mm": y, "s_mm": s_start + half,
    })


def _make(frame: BeadFrame, rng: np.random.Generator, length: Range, end: Range) -> Edited:
    L = length.draw(rng)
    e = end.draw(rng)
    s_mid = frame.draw_s(rng, L + 2 * e, margin_mm=2.0)
    return apply(frame, s_mid - 0.5 * L, L, e, rng)


def make_bad(frame: BeadFrame, rng: np.random.Generator, ranges: DefectRanges) -> Edited:
    return _make(frame, rng, ranges.cut_mm, ranges.cut_end_mm)


def make_ok(frame: BeadFrame, rng: np.random.Generator, ranges: DefectRanges) -> Edited:
    return _make(frame, rng, ranges.cut_ok_mm, ranges.cut_end_mm)


def _seen_gap_mm(frame: BeadFrame, edited: Edited) -> float | None:
    """The longest gap the map shows (shadows can hide part of a cut); None: no bead."""
    try:
        geom = analyse_bead(edited.hm, frame.profile, path=frame.geom.path)
    except NoBeadFoundError:
        return None
    return longest_gap_mm(geom)


def shows_bad_gap(frame: BeadFrame, edited: Edited) -> bool:
    """Whether the map shows a gap reaching the reject limit."""
    gap = _seen_gap_mm(frame, edited)
    return gap is not None and gap >= frame.profile.limits.cut_reject_mm


def shows_ok_gap(frame: BeadFrame, edited: Edited) -> bool:
    """Whether the map shows a gap within the ok limit."""
    gap = _seen_gap_mm(frame, edited)
    return gap is not None and 0 < gap <= frame.profile.limits.cut_ok_mm
