"""Pits and lumps on a bead measured in its own frame: the map's surface sampled across the
path (rows = arc position ``s``, columns = offset ``t``) compared with its running median
along ``s``. The surface itself, not its height above the plates read under the bead: where
a crater or a shadow upsets that reading over a sample or two, it would leave a narrow
dip that reads as a pit.

This serves paths that bend by design (type 7's square), where a median along the map's X
would cross the bead; corners are left out (their cross-sections fan out).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from point_cloud.bead_geometry import (
    BeadGeometry,
    BeadPath,
    dropouts_filled,
    sample_across_each,
)
from point_cloud.measure import off_end_caps, window_nanmedian
from point_cloud.types import HeightMap

F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]

PIT_WALL_SLOPE = 1.0
"""A pit's wall this steep (mm per mm, against the running median) marks it as dug, not sagged:
a crater where the loop starts and ends dips as gently as a weld pool settles."""
LUMP_MASK_MM = 0.2
"""Cells standing this far over the running median are left out of the reference."""
WALL_SPAN = 2
"""Cells a wall's slope is read across."""
PIT_UNSEEN_CELLS = 2
"""A pit grows over unseen cells this many cells deep (a hole's bottom the scanner did not
see; where the band's sampling falls between a seen and an unseen pixel, whole columns)."""
PIT_DEEP_LEVEL = 0.6
"""A pit's deep part: its cells this share of its deepest, or deeper (and those not seen)."""
PIT_RIM_REACH_MM = 0.4
"""A pit's rim lies within this of its deep part, or within 1.5 times that part's radius,
whichever is more (a cone's rim lies 0.6 of its radius out from that part)."""
OPEN_LEVEL_MM = 0.15
"""A pit reaching the plate level under the bead within this, with cells around it as low
..."""
OPEN_SHARE = 0.2
"""... at this share of them, is a toe stopped short of its plate (a lack of material), not
a pit, which bead rings."""
OPEN_RING_CELLS = 2
"""How far out the cells around a pit are taken."""
LUMP_OPEN_CELLS = 3
"""A lump's cells are opened by a box this many cells wide: a noisy bead's streaks a cell
or two wide, standing the skirt's few hundredths over the running median, joined a ball to
a stretch across the bead that was no longer round."""


@dataclass(frozen=True)
class Patch:
    """A pit or lump found in the bead's frame: diameter, peak, centre (x, y) in mm; the
    share of the bead's other cells that stand out as it does (stray points; None: not
    counted)."""

    diameter_mm: float
    peak_mm: float
    centre: tuple[float, float]
    stray: float | None = None
    extent_mm: float | None = None   # along a line bead (None: not counted)


@dataclass(frozen=True)
class Notch:
    """Where a toe stops short of its line, in the band's frame (a lack of material, which
    the lack gauge measures): ``band``, the cells from a little inside that line to a little
    beyond it along the stretch where it does, and ``line``, those near the line (the
    gauge's ``_beside_retreats``). A dip lying there is that notch, not a pit
    (:func:`notches`)."""

    band: B
    line: B
    share: float
    """A pit with this share of its cells in ``band`` that reaches ``line`` is a notch ..."""
    ring_share: float
    """... unless bead at its level rings this share of it on the toe's side (a pit by the
    toe that pulled the toe in beside it)."""
    bead_mm: float
    """The bead's height above its plate where it counts as bead (that level)."""

    def holds(self, u: Unrolled, labels: npt.NDArray[Any], stats: npt.NDArray[Any],
              edge: B, candidates: B) -> B:
        """Per label (of the ``candidates``): whether the pit is this notch."""
        level = np.isfinite(u.prof) & ~edge & (np.nan_to_num(u.excess) > self.bead_mm)
        across = np.abs(u.t_mm - float(np.nanmedian(u.geom.offset_mm)))

        def off(_rows: npt.NDArray[np.intp], cols: npt.NDArray[np.intp]) -> F64:
            return np.asarray(across[cols], np.float64)

        return notches(labels, stats, edge, candidates, self.band, self.line, self.share,
                       lambda comp: rung_outward(comp, off, level, self.ring_share))


def notches(labels: npt.NDArray[Any], stats: npt.NDArray[Any], edge: B, candidates: B,
            band: B, line: B, share: float, pit_beside: Callable[[B], bool]) -> B:
    """Per label (of the ``candidates``): whether the dip is a lack's notch: ``share`` of its
    cells or more in ``band``, reaching ``line`` (where a toe stops short of its line), and
    not a pit beside the toe (``pit_beside`` of its cells, e.g. :func:`rung_outward`)."""
    n = len(candidates)
    mostly = np.bincount(labels[edge & band], minlength=n) >= share * stats[
        :, cv2.CC_STAT_AREA]
    out = mostly & candidates & labels_holding(labels, n, edge & line)
    for k in np.flatnonzero(out):
        out[k] = not pit_beside(labels == k)
    return out


def rung_outward(comp: B, off: Callable[[npt.NDArray[np.intp], npt.NDArray[np.intp]], F64],
                 level: B, share: float) -> bool:
    """Whether cells at the bead's level (``level``) ring ``comp`` on its toe's side:
    ``share`` of the cells within two beyond it, or more, further ``off`` the centreline
    (per cell, from rows and columns) than ``comp`` is on average. A pit by the toe that
    pulled the toe in has bead at its level beyond it; a notch where the bead misses its
    plate has plate or a sloping end there."""
    ring = cv2.dilate(comp.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    rr, cc = np.nonzero(ring & ~comp)
    if rr.size == 0:
        return False
    outer = off(rr, cc) > float(np.mean(off(*np.nonzero(comp))))
    return bool(outer.any() and level[rr[outer], cc[outer]].mean() >= share)


@dataclass(frozen=True)
class Unrolled:
    """The bead's band in its own frame (rows: path samples; columns: offsets ``t_mm``) and
    its running median along the path (the reference both pits and lumps are found from)."""

    geom: BeadGeometry
    t_mm: F64
    prof: F64
    ref: F64
    lump_prof: F64
    """``prof`` with isolated dropouts filled (:func:`~point_cloud.bead_geometry.dropouts_filled`:
    a coarse scan's scattered dropouts left a ball too few cells to be found; pits keep the
    surface as measured, a hole's unseen bottom is the pit's), and its own
    running median ``lump_ref``: what lumps are found on."""
    lump_ref: F64
    excess: F64
    """The bead's height above the plate level under it (``geom.excess`` sampled alike; 0
    where nothing was measured beyond the bead, NaN where a cell was not seen)."""
    path: BeadPath
    """The path the band was sampled across: ``geom``'s, moved along its normals where the
    bead bends off it."""


def unroll(geom: BeadGeometry, hm: HeightMap, window_mm: float,
           bend_mm: F64 | None = None, beyond: B | None = None) -> Unrolled | None:
    """The band of ``hm`` (where ``geom`` was found) from toe to toe and a mm either side,
    a column per pixel, corners left out; None when the band is too narrow to look into.
    ``bend_mm``: per path sample, how far the bead bends off its path there (the band
    follows it, so a bent stretch's flanks stay flanks and read as neither pit nor lump).
    ``beyond``: the map's cells where nothing was measured beyond the bead (a removed
    plate), which count as the plate's level in ``excess``."""
    t_all = geom.profile_t_mm
    lo = np.nanpercentile(geom.toe_neg_mm, 5) - 1.0
    hi = np.nanpercentile(geom.toe_pos_mm, 95) + 1.0
    cols = np.flatnonzero((t_all >= lo) & (t_all <= hi))[::2]
    if cols.size < 3:
        return None
    path = geom.path
    if bend_mm is not None and np.any(bend_mm):
        path = replace(path, xy=path.xy + np.nan_to_num(bend_mm)[:, None] * path.normal)
    open_ = np.zeros(hm.shape, np.float32) if beyond is None else beyond.astype(np.float32)
    t_mm = t_all[cols]
    surface, valid, excess, away = sample_across_each(
        hm, [hm.z, hm.valid.astype(np.float32), geom.excess, open_], path, t_mm)
    judged = off_end_caps(geom) & geom.present
    k = max(3, round(window_mm / geom.path.step_mm) | 1)
    prof = _band(surface, valid, judged)
    ref = _bare_reference(prof, k)
    full = dropouts_filled(hm)
    filled, filled_valid = sample_across_each(
        hm, [full.z, full.valid.astype(np.float32)], path, t_mm)
    lump_prof = _band(filled, filled_valid, judged)
    level = plate_height(excess, np.isfinite(prof), away >= 0.99)
    level[~judged] = np.nan
    return Unrolled(geom, t_mm, prof, ref, lump_prof, _bare_reference(lump_prof, k), level,
                    path)


def _band(surface: npt.NDArray[np.float32], valid: npt.NDArray[np.float32], judged: B) -> F64:
    """The sampled surface where it was measured (every cell around the point) on the path
    samples ``judged``, else NaN."""
    prof = np.where(valid >= 0.99, surface, np.nan).astype(np.float64)
    prof[~judged] = np.nan
    return prof


def plate_height(excess: npt.NDArray[np.floating], seen: B, beyond: B) -> F64:
    """The height above the plate level under the bead (``excess``) where ``seen``; 0 where
    nothing was measured ``beyond`` the bead (a removed plate), NaN elsewhere unseen: what
    :func:`open_onto_plate` reads."""
    return np.where(seen, excess, np.where(beyond, 0.0, np.nan)).astype(np.float64)


def _bare_reference(prof: F64, k: int) -> F64:
    """The running median along the path (``k`` samples) of the band without its lumps:
    beside a corner, whose sections are left out, a lump can hold most of what a window
    knows, and the median it lifts would make the bead beside it a pit. Patches of cells
    standing :data:`LUMP_MASK_MM` over a first median (3 x 3 at least, and two cells
    around them) are left out; where too little is left, the nearest sample's lump-free
    median along the path stands in."""
    ref = np.asarray(window_nanmedian(prof, k, stride=2, wrap=True), np.float64)
    with np.errstate(invalid="ignore"):
        raw = ((prof - ref) > LUMP_MASK_MM).astype(np.uint8)
    box = np.ones((3, 3), np.uint8)
    high = cv2.morphologyEx(raw, cv2.MORPH_OPEN, box)      # a lump, not a noisy cell
    if not high.any():
        return ref
    lump = cv2.dilate(high, box, iterations=2) > 0          # with its skirt
    bare = np.asarray(window_nanmedian(np.where(lump, np.nan, prof), k, stride=2, wrap=True),
                      np.float64)
    filled = _interp_rows(bare)
    return np.where(np.isfinite(bare), bare, np.where(np.isfinite(ref), filled, ref))


def _interp_rows(a: F64) -> F64:
    """``a`` with each column's NaNs filled linearly between its nearest finite rows (held
    beyond the first and last); all-NaN columns stay NaN."""
    n = len(a)
    rows = np.arange(n)[:, None]
    ok = np.isfinite(a)
    prev = np.maximum.accumulate(np.where(ok, rows, -1), axis=0)
    nxt = np.minimum.accumulate(np.where(ok, rows, n)[::-1], axis=0)[::-1]
    has = np.asarray(ok.any(axis=0))[None, :]
    prev_c = np.where(prev >= 0, prev, nxt).clip(0, n - 1)
    nxt_c = np.where(nxt < n, nxt, prev).clip(0, n - 1)
    lo = np.take_along_axis(a, prev_c, axis=0)
    hi = np.take_along_axis(a, nxt_c, axis=0)
    frac = np.where(nxt_c > prev_c, (rows - prev_c) / np.maximum(nxt_c - prev_c, 1), 0.0)
    return np.where(has, lo + frac * (hi - lo), np.nan)


def largest_unrolled_blob(u: Unrolled, sign: int, core_mm: float, edge_mm: float,
                          min_roundness: float, skip: B | None = None,
                          walled_core_mm: float | None = None,
                          notch: Notch | None = None) -> Patch | None:
    """The largest round patch standing out (``sign`` +1 up, -1 down) by ``core_mm`` from the
    running median along the path (or by ``walled_core_mm`` where a wall of it is steeper
    than :data:`PIT_WALL_SLOPE`), grown to ``edge_mm`` (a pit also over unseen cells next
    to its own, :data:`PIT_UNSEEN_CELLS` deep, its rim near its deep part); path samples
    where ``skip`` is set are left out, and so is a pit that is a lack's ``notch``."""
    geom, t_mm = u.geom, u.t_mm
    prof, ref = (u.lump_prof, u.lump_ref) if sign > 0 else (u.prof, u.ref)
    step = geom.path.step_mm
    dt = float(t_mm[1] - t_mm[0])
    raw = (prof - ref) * sign
    delta = np.nan_to_num(raw)
    if skip is not None:
        delta[skip] = 0.0
        raw[skip] = np.nan
    slack = np.abs(np.gradient(np.nan_to_num(ref), axis=1))     # steep flanks: sampling
    core = delta > core_mm + slack
    edge = delta > edge_mm + 0.25 * slack
    if sign > 0:  # a lump's skirt: noise streaks thinner than LUMP_OPEN_CELLS are not its own
        box = np.ones((LUMP_OPEN_CELLS, LUMP_OPEN_CELLS), np.uint8)
        edge = cv2.morphologyEx(edge.astype(np.uint8), cv2.MORPH_OPEN, box) > 0
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
        edge = _within_rim_reach(edge, delta, unseen, step, dt)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(edge.astype(np.uint8), connectivity=8)
    if n <= 1:
        return None
    has_core = labels_holding(labels, n, core)
    if walled_core_mm is not None:
        has_core |= steep_walled(raw, labels, n, step, dt) & labels_holding(
            labels, n, delta > walled_core_mm + slack)
    has_core[0] = False
    side = np.maximum(stats[:, cv2.CC_STAT_HEIGHT] * step, stats[:, cv2.CC_STAT_WIDTH] * dt)
    area = stats[:, cv2.CC_STAT_AREA] * step * dt
    round_ = area >= min_roundness * np.pi / 4 * side ** 2
    if sign < 0:
        has_core &= ~open_onto_plate(u.excess, labels, stats, has_core & round_)
        if notch is not None:
            has_core &= ~notch.holds(u, labels, stats, edge, has_core & round_)
    areas = np.where(has_core & round_, area, 0.0)
    if not areas.any():
        return None
    k = int(np.argmax(areas))
    rows, where_t = np.nonzero(labels == k)
    i, t = round(float(rows.mean())), float(t_mm[round(float(where_t.mean()))])
    xy = u.path.xy[i] + t * u.path.normal[i]
    comp = labels == k
    peak = float(delta[comp].max())
    if sign > 0:
        # the norm limits a lump's height above the bead's local top, not above the surface
        # under it: a lump on a flank stands higher over the flank than over the crest
        across = np.abs(t_mm - np.nanmedian(geom.offset_mm))
        on_bead = across <= max(0.5 * geom.median_width_mm, float(across.min()))  # >= 1 column
        with np.errstate(all="ignore"):     # the plates beside it may stand as high
            crest = np.nanmax(np.where(np.isnan(ref[:, on_bead]), -np.inf, ref[:, on_bead]),
                              axis=1)
            above = prof - crest[:, None]
        seen = comp & np.isfinite(above)
        if seen.any():
            peak = min(peak, float(above[seen].max()))
    return Patch(float(2 * np.sqrt(areas[k] / np.pi)), peak, (float(xy[0]), float(xy[1])))


def _within_rim_reach(edge: B, depth: F64, unseen: B, step_mm: float, dt_mm: float) -> B:
    """The cells of each pit (``edge``'s components) within reach of its deep part
    (:data:`PIT_DEEP_LEVEL`, :data:`PIT_RIM_REACH_MM`): a shallow sag the pit's edge level
    runs on into (a noisy bead's swell and dip beside it) is no part of its rim."""
    n, found = cv2.connectedComponents(edge.astype(np.uint8), connectivity=8)
    if n <= 1:
        return edge
    labels = np.asarray(found, np.intp)
    peak = np.zeros(n)
    np.maximum.at(peak, labels[edge], depth[edge])
    deep = edge & ~unseen & (depth >= PIT_DEEP_LEVEL * peak[labels])
    box = np.ones((3, 3), np.uint8)
    for _ in range(PIT_UNSEEN_CELLS):    # a hole's unseen bottom, ringed by its deep wall
        deep |= edge & unseen & (cv2.dilate(deep.astype(np.uint8), box) > 0)
    count = np.bincount(labels[deep], minlength=n).astype(np.float64)
    radius = np.sqrt(count * step_mm * dt_mm / np.pi)
    reach = np.maximum(PIT_RIM_REACH_MM, 1.5 * radius)
    scale = np.float32(min(step_mm, dt_mm))
    dist, near = cv2.distanceTransformWithLabels((~deep).astype(np.uint8), cv2.DIST_L2, 5,
                                                 labelType=cv2.DIST_LABEL_PIXEL)
    # the label of the deep cell nearest each cell: its pit's reach
    rows, cols = np.nonzero(deep)
    owner = np.zeros(int(near.max()) + 1, np.int64)
    owner[near[rows, cols]] = labels[rows, cols]
    return np.asarray(edge & (dist * scale <= reach[owner[near]]))


def open_onto_plate(excess: F64, labels: npt.NDArray[Any], stats: npt.NDArray[Any],
                    candidates: B) -> B:
    """Per label (of the ``candidates``): whether the pit opens onto the plate level under
    the bead (``excess``, the height above it: 0 at or below it and where nothing was
    measured beyond the bead, NaN where a cell was not seen). :data:`OPEN_SHARE` of the
    cells around it (:data:`OPEN_RING_CELLS` out) lie within :data:`OPEN_LEVEL_MM` of that
    level, and the pit reaches it (its lowest cell within :data:`OPEN_LEVEL_MM`, or a cell
    around it at the level): the bead is missing down to its plate at a toe (a lack of
    material; the lack gauge measures it), not pitted."""
    out = np.zeros(len(candidates), bool)
    r = OPEN_RING_CELLS
    box = np.ones((2 * r + 1, 2 * r + 1), np.uint8)
    h, w = labels.shape
    for k in np.flatnonzero(candidates):
        x0, y0 = stats[k, cv2.CC_STAT_LEFT] - r, stats[k, cv2.CC_STAT_TOP] - r
        x1 = x0 + stats[k, cv2.CC_STAT_WIDTH] + 2 * r
        y1 = y0 + stats[k, cv2.CC_STAT_HEIGHT] + 2 * r
        win = (slice(max(y0, 0), min(y1, h)), slice(max(x0, 0), min(x1, w)))
        comp = labels[win] == k
        e = excess[win]
        ring = (cv2.dilate(comp.astype(np.uint8), box) > 0) & ~comp & np.isfinite(e)
        inside = comp & np.isfinite(e)
        if not ring.any():
            continue
        low = e[ring] <= OPEN_LEVEL_MM
        bottom = e[inside].min() if inside.any() else np.inf
        reaches = bottom <= OPEN_LEVEL_MM or bool((e[ring] == 0.0).any())
        out[k] = reaches and float(np.mean(low)) >= OPEN_SHARE
    return out


def labels_holding(labels: npt.NDArray[Any], n: int, cells: B) -> B:
    """Per label of a connected-components map with ``n`` labels, whether it holds any of
    ``cells``."""
    out = np.zeros(n, bool)
    out[np.unique(labels[cells])] = True
    return out


def steep_walled(raw: F64, labels: npt.NDArray[Any], n: int, step_mm: float,
            dt_mm: float) -> B:
    """Per component label, whether a wall steeper than :data:`PIT_WALL_SLOPE` bounds it:
    the rise between two seen cells :data:`WALL_SPAN` apart (the surface noise's slope
    between neighbours is no wall), one of them in it, along the path or across it."""
    out = np.zeros(n, bool)
    for axis, pitch in ((0, step_mm), (1, dt_mm)):
        m = labels.shape[axis] - WALL_SPAN
        if m <= 0:
            continue
        lo, hi = np.arange(m), np.arange(WALL_SPAN, labels.shape[axis])
        d = np.abs(np.take(raw, hi, axis=axis) - np.take(raw, lo, axis=axis))
        with np.errstate(invalid="ignore"):                  # NaN: an unseen cell
            steep = np.nan_to_num(d) > PIT_WALL_SLOPE * WALL_SPAN * pitch
        for end in (lo, hi):
            out |= labels_holding(np.take(labels, end, axis=axis), n, steep)
    return out
