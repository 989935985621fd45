"""Pits and lumps on a bead measured in its own frame: the map's surface sampled across the
path (rows = arc position ``s``, columns = offset ``t``) compared with its running median
along ``s``. The surface itself, not its height above the plates read under the bead: where
a crater or a shadow upsets that reading over a sample or two, it would leave a narrow
dip that reads as a pit.

This serves paths that bend by design (type 7's square), where a median along the map's X
would cross the bead; corners are left out (their cross-sections fan out).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from point_cloud.bead_geometry import BeadGeometry, sample_across
from point_cloud.measure import off_end_caps, window_nanmedian
from point_cloud.types import HeightMap

F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]

PIT_UNSEEN_CELLS = 2
"""A pit grows over unseen cells this many cells deep (a hole's bottom the scanner did not
see; where the band's sampling falls between a seen and an unseen pixel, whole columns)."""


@dataclass(frozen=True)
class Patch:
    """A pit or lump found in the bead's frame: diameter, peak, centre (x, y) in mm."""

    diameter_mm: float
    peak_mm: float
    centre: tuple[float, float]


@dataclass(frozen=True)
class Unrolled:
    """The bead's band in its own frame (rows: path samples; columns: offsets ``t_mm``) and
    its running median along the path (the reference both pits and lumps are found from)."""

    geom: BeadGeometry
    t_mm: F64
    prof: F64
    ref: F64


def unroll(geom: BeadGeometry, hm: HeightMap, window_mm: float) -> Unrolled | None:
    """The band of ``hm`` (where ``geom`` was found) from toe to toe and a mm either side,
    a column per pixel, corners left out; None when the band is too narrow to look into."""
    t_all = geom.profile_t_mm
    lo = np.nanpercentile(geom.toe_neg_mm, 5) - 1.0
    hi = np.nanpercentile(geom.toe_pos_mm, 95) + 1.0
    cols = np.flatnonzero((t_all >= lo) & (t_all <= hi))[::2]
    if cols.size < 3:
        return None
    seen = geom.seen_profiles[:, cols] >= 0.99
    surface = sample_across(hm, hm.z, geom.path, t_all[cols])
    prof = np.where(seen, surface, np.nan).astype(np.float64)
    prof[~(off_end_caps(geom) & geom.present)] = np.nan
    k = max(3, round(window_mm / geom.path.step_mm) | 1)
    ref = np.asarray(window_nanmedian(prof, k, stride=2, wrap=True), np.float64)
    return Unrolled(geom, t_all[cols], prof, ref)


def largest_unrolled_blob(u: Unrolled, sign: int, core_mm: float, edge_mm: float,
                          min_roundness: float, skip: B | None = None) -> Patch | None:
    """The largest round patch standing out (``sign`` +1 up, -1 down) by ``core_mm`` from the
    running median along the path, grown to ``edge_mm`` (a pit also over unseen cells next
    to its own, :data:`PIT_UNSEEN_CELLS` deep); path samples where ``skip`` is
    set are left out."""
    geom, t_mm, prof, ref = u.geom, u.t_mm, u.prof, u.ref
    step = geom.path.step_mm
    dt = float(t_mm[1] - t_mm[0])
    delta = np.nan_to_num((prof - ref) * sign)
    if skip is not None:
        delta[skip] = 0.0
    slack = np.abs(np.gradient(np.nan_to_num(ref), axis=1))     # steep flanks: sampling
    core = delta > core_mm + slack
    edge = delta > edge_mm + 0.25 * slack
    if sign < 0:  # a pit's cells the scanner did not see, between ones it did, are the pit's
        unseen = np.isnan(prof)
        if skip is not None:
            unseen[skip] = False
        for _ in range(PIT_UNSEEN_CELLS):
            grown = edge | (unseen & (cv2.dilate(edge.astype(np.uint8), np.ones((3, 3),
                                                                        np.uint8)) > 0))
            if (grown == edge).all():
                break
            edge = grown
    n, labels, stats, _ = cv2.connectedComponentsWithStats(edge.astype(np.uint8), connectivity=8)
    if n <= 1:
        return None
    has_core = np.zeros(n, bool)
    has_core[np.unique(labels[core])] = True
    has_core[0] = False
    side = np.maximum(stats[:, cv2.CC_STAT_HEIGHT] * step, stats[:, cv2.CC_STAT_WIDTH] * dt)
    area = stats[:, cv2.CC_STAT_AREA] * step * dt
    round_ = area >= min_roundness * np.pi / 4 * side ** 2
    areas = np.where(has_core & round_, area, 0.0)
    if not areas.any():
        return None
    k = int(np.argmax(areas))
    rows, where_t = np.nonzero(labels == k)
    i, t = round(float(rows.mean())), float(t_mm[round(float(where_t.mean()))])
    xy = geom.path.xy[i] + t * geom.path.normal[i]
    return Patch(float(2 * np.sqrt(areas[k] / np.pi)), float(delta[labels == k].max()),
                        (float(xy[0]), float(xy[1])))
