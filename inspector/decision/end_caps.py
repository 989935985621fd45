"""Pits in a line bead's end caps, where the gauge's self-reference does not hold.

The self-reference (each cell against the bead's median along it) stands for the bead's
straight middle; over the rounded ends the bead's section shrinks to nothing, so pits there
are measured against the map's own **closing** instead: the surface a disc of
:data:`CLOSING_MM` cannot reach below. A cap is convex, so the closing leaves it as it is,
and fills a bowl narrower than the disc: the depth below the closing is the pit's. A
crater, which the contract allows at each end, is a shallow dip: a pit in a cap must reach
deeper than the deepest crater (:data:`CAP_EDGE_MM`) to count, and its rim is read there.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from point_cloud.bead_geometry import BeadGeometry
from point_cloud.measure import runs
from point_cloud.types import HeightMap

B = npt.NDArray[np.bool_]
F64 = npt.NDArray[np.float64]

CLOSING_MM = 4.0
"""The closing disc's diameter: wider than the widest pit a cap holds (the generator draws
up to 0.6 of the bead's width) and than a crater's dip."""
CAP_EDGE_MM = 0.4
"""A cap's pit is read where it lies this far below the closing: as deep as the deepest
end crater the contract's beads show (0.25-0.4 mm), so a crater neither counts nor widens a
pit it holds."""
CAP_RIM_MM = 0.5
"""Cells this close to a cap's rim (its toe) are left out: the closing bridges the corner
where a cap meets a plate."""
_BIG = 1e6


def cap_cells(hm: HeightMap, geom: BeadGeometry, outside: B) -> B:
    """Cells of the two end caps of a line bead: in the columns of ``outside`` (those the
    self-reference leaves out, per column), within a bead width inside each found end, and
    within the cap's disc (half the median width, less :data:`CAP_RIM_MM`) around its
    centre half a width in from the end, or within that half width of the centreline
    nearer in."""
    out = np.zeros(hm.shape, bool)
    w = geom.median_width_mm
    centre = geom.centre_xy
    ok = np.isfinite(centre[:, 1])
    if not np.isfinite(w) or w <= 2 * CAP_RIM_MM or not ok.any():
        return out
    r = 0.5 * w
    s = hm.xy_of(0, np.arange(hm.shape[1]))[0] - geom.path.xy[0, 0]
    y = hm.xy_of(np.arange(hm.shape[0]), 0)[1]
    candidates = outside.any(axis=0)
    for end_s, sign in ((geom.start_s_mm, 1.0), (geom.end_s_mm, -1.0)):
        s_c = end_s + sign * r                         # the cap's centre along the path
        y_c = float(np.interp(s_c, geom.s_mm[ok], centre[ok, 1]))
        inside = sign * (s - end_s)
        cols = np.flatnonzero(candidates & (inside >= 0.0) & (inside <= w))
        beyond = np.clip(sign * (s_c - s[cols]), 0.0, None)   # past the centre to the tip
        rho = np.hypot(beyond[None, :], (y - y_c)[:, None])
        out[:, cols] |= rho <= r - CAP_RIM_MM
    return out & outside


def closing_depth(hm: HeightMap, geom: BeadGeometry, cols: B,
                  lumps: B | None = None) -> tuple[F64, F64, B]:
    """In the columns ``cols`` (zero elsewhere): per cell, how far the measured surface
    lies below its closing (:data:`CLOSING_MM`, empty cells neither raise nor lower it),
    the closing's slope per pixel (a cell's height on a steep flank is uncertain by as
    much), and whether the closing stands on the bead's upper half (a plate's edge or a
    groove beside the bead is no pit of it). Each run of columns is closed on a window a
    disc wider on either side, which gives what the whole map's closing gives there.
    ``lumps``: cells left out of the closing as if not measured (a ball on the cap's toe
    would bridge the saddle between it and the crest into a pit)."""
    k = max(3, round(CLOSING_MM / hm.mm_per_px) | 1)
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    depth = np.zeros(hm.shape)
    slope = np.zeros(hm.shape)
    upper = np.zeros(hm.shape, bool)
    if not geom.present.any():
        return depth, slope, upper
    half_top = 0.5 * geom.median_top_mm
    for a, e in runs(cols):
        lo, hi = max(0, a - k), min(hm.shape[1], e + k)
        z, valid = hm.z[:, lo:hi].astype(np.float32), hm.valid[:, lo:hi]
        if lumps is not None:
            valid = valid & ~lumps[:, lo:hi]
        up = cv2.dilate(np.where(valid, z, -_BIG).astype(np.float32), disc)
        closed = cv2.erode(np.where(up > -_BIG / 2, up, _BIG).astype(np.float32), disc)
        known = closed < _BIG / 2
        seen = valid & known
        gy, gx = np.gradient(np.where(seen, closed, 0.0).astype(np.float32))
        keep = slice(a - lo, e - lo)
        depth[:, a:e] = np.where(seen, closed - z, 0.0)[:, keep]
        slope[:, a:e] = np.hypot(gx, gy)[:, keep]
        upper[:, a:e] = (known & (closed - geom.base[:, lo:hi] > half_top))[:, keep]
    return depth, slope, upper
