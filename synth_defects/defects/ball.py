"""Ball: a round lump of weld material on the bead or beside it (at a toe).

The lump is a half-ellipsoid of the requested diameter laid on the surface; its top stands the
requested height above the local bead top (the quantity the weld norm limits)."""

from __future__ import annotations

import numpy as np

from point_cloud.bead_geometry import CREST_SHARE, REFERENCE_WINDOW_MM
from synth_defects.frame import BeadFrame, Edited, apply_surface
from synth_defects.params import DefectRanges

PLACES = ("top", "north_toe", "south_toe")
MIN_RELIEF = 0.5
"""A ball shows when it adds at least this share of its height to the surface under it."""
CREST_STRIP_MM = 0.2
"""The bead's crest under a ball is read on its sections this far either side of the ball's
centre (three map cells), across the crest band the gauge reads
(:data:`~point_cloud.bead_geometry.CREST_SHARE`)."""


def lump(frame: BeadFrame, x_mm: float, y_mm: float, diameter_mm: float,
         peak_mm: float) -> np.ndarray:
    """Height added by a half-ellipsoid centred at (x, y) (mm)."""
    hm = frame.hm
    r, c = np.indices(hm.shape)
    x, y = hm.xy_of(r, c)
    rho = np.hypot(x - x_mm, y - y_mm) / (0.5 * diameter_mm)
    return peak_mm * np.sqrt(np.clip(1.0 - rho**2, 0.0, None))


def _cell(frame: BeadFrame, x: float, y: float) -> tuple[int, int]:
    """The map cell (row, column) holding (x, y), clipped to the map."""
    rc = frame.hm.rc_of(x, y)
    return (int(np.clip(round(float(rc[0])), 0, frame.hm.shape[0] - 1)),
            int(np.clip(round(float(rc[1])), 0, frame.hm.shape[1] - 1)))


def apply(frame: BeadFrame, s_mm: float, t_mm: float, diameter_mm: float,
          height_mm: float) -> Edited:
    """A ball centred at arc position ``s_mm``, offset ``t_mm``, its apex ``height_mm`` over
    the bead's local top (the norm's figure): over its crest, wherever the ball sits (on a
    lap joint the plate under a toe lies lower than under the crest)."""
    x, y = frame.xy_at(s_mm, t_mm)
    shape = lump(frame, x, y, diameter_mm, 1.0)
    crest = _crest(frame, s_mm)
    peak = _peak_over(frame.z_fill, shape, crest + height_mm)
    z_new = frame.z_fill + peak * shape
    return apply_surface(frame, z_new.astype(np.float32), {
        "diameter_mm": diameter_mm, "height_mm": height_mm, "peak_mm": peak,
        "x_mm": x, "y_mm": y, "t_mm": t_mm,
    })


def _crest(frame: BeadFrame, s_mm: float) -> float:
    """The bead's crest at arc position ``s_mm``: the highest point of its section there
    (within :data:`CREST_STRIP_MM` along it, :data:`CREST_SHARE` of its half width either
    side of its centre), as the gauge and the analytic shapes read it. The section's base
    plus the bead's top over it (generator 1.6) put a flat or lap bead's crest up to 0.4 mm
    under the section's highest point: balls 0.7-0.9 mm over the surface were labelled
    1.0-1.1 mm high (bad). Where a shadow cut the section short or hides half of that
    strip: its base under the centreline plus the local top (:meth:`BeadFrame.local`, which
    reads a shadowed section's top from its neighbours). On a line bead the gauge reads the
    crest on its self-reference: each crest row's median along the bead over
    :data:`~point_cloud.bead_geometry.REFERENCE_WINDOW_MM`, then the highest (a lap bead
    rising to its upper toe read 0.15 mm lower so than its section's highest cell, generator
    1.10)."""
    rows = _crest_rows(frame, s_mm)
    strip = (np.abs(frame.ds(s_mm)) <= CREST_STRIP_MM) & rows
    seen = strip & frame.hm.valid
    if not frame.is_short(s_mm) and seen.sum() >= 0.5 * strip.sum() > 0:
        if frame.closed:
            return float(frame.hm.z[seen].max())
        # as the gauge's self-reference: each row's median along the bead, then the highest
        near = (np.abs(frame.ds(s_mm)) <= 0.5 * REFERENCE_WINDOW_MM) & rows & frame.hm.valid
        held = near.any(axis=1)
        return float(np.nanmax(np.nanmedian(np.where(near, frame.hm.z, np.nan)[held], axis=1)))
    _, top = frame.local(s_mm)
    ri_c, ci_c = _cell(frame, *frame.xy_at(s_mm, 0.0))
    return float(frame.geom.base[ri_c, ci_c]) + top


def _crest_rows(frame: BeadFrame, s_mm: float) -> np.ndarray:
    """Cells of the bead's crest band across arc position ``s_mm``, as the gauge reads it
    on a line bead (:meth:`~point_cloud.bead_geometry.BeadGeometry.crest_band`); on a
    closed path, or without a band, :data:`CREST_SHARE` of the local half width either side
    of the centreline."""
    band = None if frame.closed else frame.geom.crest_band(CREST_SHARE)
    if band is None:
        return np.asarray(np.abs(frame.t) <= CREST_SHARE * frame.half_width)
    g = frame.geom
    off = float(g.at(np.array([s_mm]), g.offset_mm)[0])
    return np.asarray(np.abs(frame.t + off - band[0]) <= band[1])


def _peak_over(z: np.ndarray, shape: np.ndarray, apex_mm: float) -> float:
    """The peak of a lump of ``shape`` (1 at its centre) whose highest point on the surface
    ``z`` stands at ``apex_mm``: on a rising flank the lump drapes over the slope, and its
    highest point lies inward of its centre, higher than surface + peak there (a 0.3 mm ball
    on a flank stood 0.9 mm over the crest). Each footprint cell asks for the peak that puts
    it at ``apex_mm``; the smallest leaves every cell at or below."""
    foot = shape > 0.0
    need = (apex_mm - z[foot]) / shape[foot]
    need = need[need > 0.0]       # a cell already higher (a plate's edge) sets no peak
    return float(need.min()) if need.size else 0.0


def make(frame: BeadFrame, rng: np.random.Generator, ranges: DefectRanges) -> Edited:
    D = ranges.ball_diameter_mm.draw(rng)
    H = ranges.ball_height_mm.draw(rng)
    s = frame.draw_s(rng, D)
    hw, _ = frame.local(s)
    place = str(rng.choice(PLACES))
    if place == "top":
        t = float(rng.uniform(-0.3, 0.3)) * hw
    else:
        t = (1.0 if place == "north_toe" else -1.0) * (hw + float(rng.uniform(-0.2, 0.4)) * D)
    return apply(frame, s, t, D, H)


def stands_out(frame: BeadFrame, edited: Edited) -> bool:
    """Whether the ball shows on the map: its lump adds :data:`MIN_RELIEF` of its height or
    more. Where the surface under it stands nearly as high as its apex (a plate's edge
    beyond the bead's end) it left a smear, and a "bad" label on an unchanged weld (the
    generator draws such a sample again)."""
    return float(edited.params["peak_mm"]) >= MIN_RELIEF * float(edited.params["height_mm"])


def make_ok(frame: BeadFrame, rng: np.random.Generator, ranges: DefectRanges) -> Edited:
    """An acceptable lump (spatter): under the norm's diameter limit or its height limit."""
    return make(frame, rng, ranges.within_limits(rng))
