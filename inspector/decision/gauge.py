"""The norm gauge: every defect class measured in mm on the height map alone, with its
uncertainty, against the weld norm of the type, and a vote.

No learning: a 1.5 mm hole is a 1.5 mm hole on any scanner. The bead is analysed once
(:func:`point_cloud.bead_geometry.analyse_bead`), then each registered :class:`Gauge`
measures its defect class. A finding *exceeds* when its value minus its uncertainty is
beyond the limit (a ball: its diameter and its height above the bead); the committee then
fails the weld whatever the learned members say. Inside the uncertainty band the learned
members decide. Adding a defect class's measurement means adding one :class:`Gauge` to
:data:`GAUGES`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from types import EllipsisType
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from inspector.decision.unrolled import Patch, Unrolled, largest_unrolled_blob, unroll
from inspector.verdict import Measurement, Verdict
from point_cloud.bead_geometry import BeadGeometry, find_bead
from point_cloud.config import Limits, WeldTypeProfile
from point_cloud.errors import NoBeadFoundError
from point_cloud.measure import (
    TOE_SMOOTH_MM,
    Gap,
    gaps,
    off_end_caps,
    profile_at,
    running_median,
    runs,
    self_reference,
    whole_sections,
)
from point_cloud.types import HeightMap
from synth_defects.classes import GAUGED, DefectSpec

F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]

BLOB_CORE_MM = 0.2        # a lump or pit must stand out this far somewhere ...
# a closed bead's start/stop crater dips up to ~0.4 mm: a pit there must go deeper
SQUARE_PIT_CORE_MM = 0.5
BLOB_EDGE_MM = 0.06       # ... and reaches out to where it stands out this far (its rim)
MIN_UNCERTAINTY_MM = 0.05
BEND_MIN_MM = 5.0         # the bead-following reference follows bends longer than this
REFERENCE_WINDOW_MM = 10.0  # the bead's own median along it: over twice the largest lump
MAX_UNSEEN_PIT_MM2 = 30.0 # an empty patch larger than this is no pit (a 6 mm disc)
END_MARGIN_MM = 1.0       # pits and lumps are looked for this far in from the end caps
BEAD_END_SLACK_MM = 1.0   # a line's bead reaches at most this far past its nominal ends
MAX_LINE_SLOPE = math.tan(math.radians(3.0))   # a straight stretch's tilt on the aligned map
MIN_ROUNDNESS = 0.3       # a pit or lump fills this share of the disc of its longest side
LACK_RETREAT_MM = 1.0     # a toe this far short of its line: the bead misses the plate


@dataclass(frozen=True)
class Finding:
    """One defect class measured on a map: its largest instance against the norm's limit."""

    defect: str
    quantity: str
    value_mm: float
    uncertainty_mm: float
    limit_mm: float
    location_mm: tuple[float, float] | None = None
    # further conditions of the norm, all of which must be exceeded too: name -> (value, limit)
    also: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def exceeds(self) -> bool:
        """Beyond the limit by more than the uncertainty (on every condition)."""
        u = self.uncertainty_mm
        return self.value_mm - u > self.limit_mm and all(v - u > lim
                                                         for v, lim in self.also.values())

    @property
    def within(self) -> bool:
        """Clearly inside the limit (on some condition)."""
        u = self.uncertainty_mm
        return self.value_mm + u < self.limit_mm or any(v + u < lim
                                                        for v, lim in self.also.values())

    @property
    def margin(self) -> float:
        """(value - limit) / limit: how far beyond (> 0) or inside (< 0) the limit."""
        return (self.value_mm - self.limit_mm) / self.limit_mm if self.limit_mm else 0.0


@dataclass(frozen=True)
class BeadSummary:
    """The bead's measured shape: median width and height, and the length it spans."""

    width_mm: float
    height_mm: float
    length_mm: float


@dataclass
class GaugeReport:
    """Every finding of one map, and the bead summary (None when no bead was analysed)."""

    findings: dict[str, Finding]
    bead: BeadSummary | None

    def values(self) -> dict[str, float]:
        """Flat figures to keep per inspection (SPC): the bead's width, height and length,
        and every finding's value, e.g. ``{"bead_width_mm": 6.1, "hole_diameter_mm": 0.0}``."""
        out: dict[str, float] = {}
        if self.bead is not None:
            out.update(bead_width_mm=self.bead.width_mm, bead_height_mm=self.bead.height_mm,
                       bead_length_mm=self.bead.length_mm)
        for f in self.findings.values():
            out[f"{f.quantity}_mm"] = f.value_mm
        return {k: round(float(v), 3) for k, v in out.items()}

    @property
    def exceeding(self) -> list[Finding]:
        """Findings beyond their limits, worst first."""
        return sorted((f for f in self.findings.values() if f.exceeds),
                      key=lambda f: -f.margin)


@dataclass
class _Context:
    """What the gauges share for one map (computed once)."""

    hm: HeightMap
    profile: WeldTypeProfile
    geom: BeadGeometry
    reference: HeightMap | None
    residuals: tuple[F64, B]          # see centreline_residuals

    @cached_property
    def unrolled(self) -> Unrolled | None:
        """The bead in its own frame (square paths' pits and lumps), made once."""
        return unroll(self.geom, REFERENCE_WINDOW_MM)

    @cached_property
    def gaps(self) -> list[Gap]:
        """Gaps in the bead; a line's bead is what reaches its nominal length (+ the end
        margin), so a speck beyond its end is no bead the gap would run to."""
        half = 0.5 * self.profile.geometry.bead_length_mm + BEAD_END_SLACK_MM
        return gaps(self.geom, half)

    @property
    def limits(self) -> Limits:
        return self.profile.limits

    @property
    def px(self) -> float:
        return self.hm.mm_per_px

    def xy_at(self, i: int) -> tuple[float, float]:
        """The centreline point of path sample ``i`` (the nominal path where no bead)."""
        xy = self.geom.path.xy[i]
        off = self.geom.offset_mm[i]
        if np.isfinite(off):
            xy = xy + off * self.geom.path.normal[i]
        return float(xy[0]), float(xy[1])


@dataclass(frozen=True)
class Reading:
    """What a measurement found: value and uncertainty (mm), where, further conditions."""

    value_mm: float
    uncertainty_mm: float
    location_mm: tuple[float, float] | None = None
    also: dict[str, tuple[float, float]] = field(default_factory=dict)


Measure = Callable[[_Context], Reading | None]


@dataclass(frozen=True)
class Gauge:
    """A defect class's measurement against its weld-norm limit (one entry of
    :data:`GAUGES`): the class's spec (the quantity the norm limits and the name of that
    limit in the weld type's ``limits`` config, :data:`synth_defects.classes.DEFECTS`) and
    the measurement."""

    spec: DefectSpec
    measure: Measure

    @property
    def defect(self) -> str:
        return self.spec.name

    def find(self, ctx: _Context) -> Finding | None:
        r = self.measure(ctx)
        if r is None or self.spec.quantity is None or self.spec.limit is None:
            return None
        return Finding(self.defect, self.spec.quantity, r.value_mm, r.uncertainty_mm,
                       float(getattr(ctx.limits, self.spec.limit)), r.location_mm, r.also)


# --------------------------------------------------------------------------- cuts
def _cut(ctx: _Context) -> Reading:
    step = ctx.geom.path.step_mm
    found = ctx.gaps
    g = max(found, key=lambda x: x.length_mm, default=None)
    where = None
    if g is not None:
        where = ctx.xy_at(min(len(ctx.geom.path.xy) - 1,
                              round(0.5 * (g.s_start_mm + g.s_end_mm) / step)))
    # the highest point per cell: a gap's wall cells read as bead, one cell in all
    length = g.length_mm + ctx.px if g else 0.0
    return Reading(length, step + ctx.px, where)


# --------------------------------------------------------------------------- blobs
def _largest_blob(ctx: _Context, sign: int) -> Patch | None:
    """The largest patch standing out from the self-reference (``sign`` +1: up, -1: down):
    seeded where it stands out by :data:`BLOB_CORE_MM`, grown to :data:`BLOB_EDGE_MM`
    (hysteresis, so a bowl's diameter is its rim's, not its deep centre's). Cells that lost
    their measurement inside the bead count as sunk (a pit whose bottom was not seen)."""
    ref, hm = ctx.reference, ctx.hm
    if ref is None:
        return None
    inner = _inner_columns(ctx) & ~_gap_columns(ctx)
    both = ref.valid & hm.valid & inner
    delta = np.where(both, (hm.z - ref.z) * sign, 0.0)
    unseen = np.zeros_like(both)
    if sign < 0:     # a pit seen without its bottom; sparse sampling's lone empty cells are not
        # on the bead's upper half: an empty patch on a flank is as likely a shadow
        top = ctx.geom.top_mm[ctx.geom.present]
        on_bead = (ref.z - ctx.geom.base) > 0.5 * float(np.median(top)) if top.size else ref.valid
        gone = ref.valid & _enclosed_gaps(hm) & inner & on_bead
        unseen = cv2.morphologyEx(gone.astype(np.uint8), cv2.MORPH_OPEN,
                                  cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))) > 0
    # on a steep flank a cell's height is uncertain by its slope times a pixel (sampling)
    gy, gx = np.gradient(np.where(ref.valid, ref.z, 0.0).astype(np.float32))
    slack = np.hypot(gx, gy)
    # a patch counts when some of it is seen to stand out (an empty patch alone may be a
    # dropout on a shiny bead: it extends a pit whose wall was seen, it is none by itself)
    core = delta > BLOB_CORE_MM + slack
    edge = (delta > BLOB_EDGE_MM + 0.25 * slack) | unseen
    n, labels, stats, _ = cv2.connectedComponentsWithStats(edge.astype(np.uint8),
                                                           connectivity=8)
    if n <= 1:
        return None
    has_core = np.zeros(n, bool)
    has_core[np.unique(labels[core])] = True
    has_core[0] = False
    if not has_core.any():
        return None
    # round enough: area over the bounding box's inscribed ellipse (a strip along a toe,
    # left by sparse sampling on a steep flank, is no pit)
    w, h = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]
    round_ = stats[:, cv2.CC_STAT_AREA] >= MIN_ROUNDNESS * np.pi / 4 * np.maximum(w, h) ** 2
    areas = np.where(has_core & round_, stats[:, cv2.CC_STAT_AREA], 0)
    if not areas.any():
        return None
    k = int(np.argmax(areas))
    comp = labels == k
    r, c = np.nonzero(comp)
    x, y = hm.xy_of(r.mean(), c.mean())
    peak = float(delta[comp].max())
    # a rounded lump thins out towards its rim: the area above the edge level and above
    # twice it, extrapolated linearly to level 0 (pits have walls: their rim is sharp)
    a1 = a0 = float(areas[k])
    if sign > 0:
        a2 = float((comp & (delta > 2 * BLOB_EDGE_MM + 0.25 * slack)).sum())
        a0 = min(max(2 * a1 - a2, a1), 1.5 * a1)
    d = 2 * np.sqrt(a0 / np.pi) * ctx.px
    # each cell holds the highest point that fell in it: a pit's rim cells read as rim,
    # so a pit looks one cell narrower than it is
    return Patch(float(d + ctx.px if sign < 0 else d), peak, (float(x), float(y)))


def _inner_columns(ctx: _Context) -> B:
    """Columns clear of the bead's rounded ends and end craters (the contract allows
    craters; the self-reference does not hold there)."""
    g = ctx.geom
    margin = 0.5 * g.median_width_mm + END_MARGIN_MM
    x0 = g.path.xy[0, 0]
    x = ctx.hm.xy_of(0, np.arange(ctx.hm.shape[1]))[0]
    inner = (x >= x0 + g.start_s_mm + margin) & (x <= x0 + g.end_s_mm - margin)
    return np.broadcast_to(inner[None, :], ctx.hm.shape)


def _enclosed_gaps(hm: HeightMap) -> B:
    """Empty cells in patches ringed by measured ones: a shadow or a removed plate reaches
    the map's edge or a large empty area, a pit whose bottom was not seen does not."""
    _, labels, stats, _ = cv2.connectedComponentsWithStats((~hm.valid).astype(np.uint8),
                                                           connectivity=4)
    h, w = hm.shape
    x, y = stats[:, cv2.CC_STAT_LEFT], stats[:, cv2.CC_STAT_TOP]
    bw, bh = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]
    inside = (x > 0) & (y > 0) & (x + bw < w) & (y + bh < h)
    small = stats[:, cv2.CC_STAT_AREA] * hm.mm_per_px ** 2 <= MAX_UNSEEN_PIT_MM2
    keep = inside & small
    keep[0] = False                              # label 0: the measured cells
    return keep[labels]


def _gap_columns(ctx: _Context) -> B:
    """Columns of a cut and a reference window around it (its median is no bead there)."""
    g = ctx.geom
    x = ctx.hm.xy_of(0, np.arange(ctx.hm.shape[1]))[0] - g.path.xy[0, 0]
    near = np.zeros(len(x), bool)
    for gap in ctx.gaps:
        near |= (x >= gap.s_start_mm - ctx.px) & (x <= gap.s_end_mm + ctx.px)
    return np.broadcast_to(near[None, :], ctx.hm.shape)


def _blob_uncertainty(ctx: _Context) -> float:
    """Two pixels on the diameter, plus the rim's uncertainty from the surface noise."""
    return max(MIN_UNCERTAINTY_MM, 2.0 * ctx.px)


def _patch(ctx: _Context, sign: int) -> Patch | None:
    """The largest pit (``sign`` -1) or lump (+1): on the map for line beads, in the bead's
    own frame for a square path (whose sides a median along X would cross)."""
    if ctx.reference is not None:
        return _largest_blob(ctx, sign)
    if ctx.unrolled is None:
        return None
    core = BLOB_CORE_MM if sign > 0 else SQUARE_PIT_CORE_MM
    return largest_unrolled_blob(ctx.unrolled, sign, core, BLOB_EDGE_MM, MIN_ROUNDNESS)


def _hole(ctx: _Context) -> Reading | None:
    if ctx.reference is None and ctx.geom.path.kind != "square":
        return None
    b = _patch(ctx, -1)
    return Reading(b.diameter_mm if b else 0.0, _blob_uncertainty(ctx), b.centre if b else None)


def _ball(ctx: _Context) -> Reading | None:
    if ctx.reference is None and ctx.geom.path.kind != "square":
        return None
    b = _patch(ctx, +1)
    return Reading(b.diameter_mm if b else 0.0, _blob_uncertainty(ctx), b.centre if b else None,
                   {"height_mm": (b.peak_mm if b else 0.0, ctx.limits.ball_reject_height_mm)})


# --------------------------------------------------------------------------- deviation
def _straight_line(s: F64, off: F64, tol_mm: float = 0.15, candidates: int = 32
                   ) -> tuple[F64, B]:
    """Residuals of ``off`` from the line that most samples follow within ``tol_mm``
    (lines through pairs of a coarse subsample, the best refitted on its inliers): a bend
    of any part of the bead leaves the straight rest's line. Also the inlier mask."""
    pick = np.unique(np.linspace(0, len(s) - 1, min(candidates, len(s))).astype(int))
    i, j = np.triu_indices(len(pick), 1)
    s1, s2, o1, o2 = s[pick[i]], s[pick[j]], off[pick[i]], off[pick[j]]
    slope = (o2 - o1) / np.where(s2 != s1, s2 - s1, 1.0)
    res = off[None, :] - (o1[:, None] + slope[:, None] * (s[None, :] - s1[:, None]))
    # the map is aligned on the bead: its straight stretch runs along the path within the
    # alignment's tolerance (two close samples of a shadowed bead can make a steep line)
    inliers = (np.abs(res) < tol_mm) & (np.abs(slope) <= MAX_LINE_SLOPE)[:, None]
    best = inliers[int(np.argmax(inliers.sum(1)))]
    fit = off - np.median(off)
    for _ in range(2):                       # refit, then take the refit's own inliers
        if best.sum() < 2:
            break
        a, b = np.polyfit(s[best], off[best], 1)
        if abs(a) > MAX_LINE_SLOPE:
            break
        fit = off - (a * s + b)
        best = np.abs(fit) < tol_mm
    return fit, best


def _sides(g: BeadGeometry) -> F64:
    """Per path sample, the straight stretch it belongs to (a line: one; a square: four)."""
    if g.path.kind != "square":
        return np.zeros(len(g.s_mm))
    return np.floor(g.s_mm / (2 * g.path.half_side_mm)).clip(0, 3)


def centreline_residuals(geom: BeadGeometry) -> tuple[F64, B]:
    """Per path sample, the centreline's offset from its straight stretch's line (NaN where
    not usable) and the samples that follow that line. Used: cross-sections seen whole (a
    shadow cutting one toe shifts a section's centre) and a line bead's end caps (a bend at
    its start or end peaks at its very tip), not a square's corners."""
    g = geom
    caps_ok = off_end_caps(g) if g.path.kind == "square" else g.present
    # end caps narrow to a point, so their sections are never whole; a wide one is a mess
    cap = ~off_end_caps(g) & (np.nan_to_num(g.width_mm) <= 1.15 * g.median_width_mm)
    usable = np.isfinite(g.offset_mm) & (whole_sections(g, width_tol=1.0) | cap) & caps_ok
    side = _sides(g)
    res = np.full(len(g.s_mm), np.nan)
    inlier = np.zeros(len(g.s_mm), bool)
    for k in np.unique(side):
        on = usable & (side == k)
        if on.sum() >= 8:
            res[on], inlier[on] = _straight_line(g.s_mm[on], g.offset_mm[on])
    return res, inlier


def _deviation(ctx: _Context) -> Reading:
    """The largest centreline residual (1 mm running mean), see :func:`centreline_residuals`."""
    g = ctx.geom
    lim = ctx.limits.deviation_reject_mm
    res, inlier = ctx.residuals
    caps_ok = off_end_caps(g) if g.path.kind == "square" else g.present
    ok = np.isfinite(res)
    if ok.sum() < 8:
        return Reading(0.0, lim)                                  # nothing to say
    idx = np.flatnonzero(ok)
    r = res[ok]
    k = max(3, round(1.0 / g.path.step_mm) | 1)           # 1 mm running mean: no speckle
    smooth = np.convolve(np.pad(r, k // 2, mode="edge"), np.ones(k) / k, "valid")
    i = int(np.argmax(np.abs(smooth)))
    fit = res[inlier]
    spread = 1.4826 * float(np.median(np.abs(fit - np.median(fit)))) if fit.size else lim
    # a stretch seen only in part measures its offset on fewer sections
    coverage = ok.sum() / max(1, (g.present & caps_ok).sum())
    u = max(MIN_UNCERTAINTY_MM, ctx.px, 2 * spread) / max(coverage, 0.25)
    # a stretch of bead the offset was not measured on (a shadow) may hide a whole bend:
    # the gauge then cannot say the bead is straight, only that it is not bent elsewhere
    hidden = max((e - a for a, e in runs(g.present & caps_ok & ~ok)), default=0)
    if hidden * g.path.step_mm > BEND_MIN_MM:
        u = max(u, lim)
    return Reading(float(abs(smooth[i])), float(u), ctx.xy_at(int(idx[i])))


# --------------------------------------------------------------------------- excess
def _imbalance(g: BeadGeometry, residuals: F64) -> F64:
    """Per path sample: height a quarter of the bead's width north of its middle minus a
    quarter width south; NaN unless both points were measured (a shadow or a removed plate
    beyond the toes does not matter), end caps left out. The middle is the straight line
    the toes' midpoints follow (excess material over a section moves a toe there), except
    where the bead really bends."""
    k = max(3, round(1.0 / g.path.step_mm) | 1)
    local = running_median(0.5 * (g.toe_pos_mm + g.toe_neg_mm), k)
    ok = np.isfinite(local) & g.present & off_end_caps(g)
    mid = local
    if ok.sum() >= 8 and g.path.kind == "line":
        _, on_line = _straight_line(g.s_mm[ok], local[ok])
        a, b = np.polyfit(g.s_mm[ok][on_line], local[ok][on_line], 1)
        bends = np.abs(np.nan_to_num(residuals)) >= 0.5
        mid = np.where(bends, local, a * g.s_mm + b)
    q = 0.25 * g.median_width_mm
    north, south = mid + q, mid - q
    seen = ((profile_at(g, north, "seen_profiles") >= 0.99)
            & (profile_at(g, south, "seen_profiles") >= 0.99))
    ok = seen & np.isfinite(mid) & g.present & off_end_caps(g)
    return np.where(ok, profile_at(g, north) - profile_at(g, south), np.nan)


def _excess(ctx: _Context) -> Reading:
    g = ctx.geom
    lim = ctx.limits
    if g.meta.get("plate_level_guessed"):
        # a plate beside the square path was not seen: its level, read from the bead's own
        # flank, tilts the base across the bead, so the imbalance is not measured (the
        # committee decides)
        return Reading(0.0, lim.excess_reject_imbalance_mm)
    d = _imbalance(g, ctx.residuals[0])
    ok = np.isfinite(d)
    if ok.sum() < 3:
        return Reading(0.0, MIN_UNCERTAINTY_MM)
    n = max(1, round(lim.excess_reject_length_mm / g.path.step_mm))
    dz = np.where(ok, d, 0.0)
    sums = np.convolve(dz, np.ones(n), "same")
    cnt = np.convolve(ok.astype(float), np.ones(n), "same")
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(cnt >= 0.8 * n, sums / cnt, 0.0)
    i = int(np.argmax(np.abs(mean)))
    steps = np.diff(d[ok])                    # sample-to-sample scatter: the noise
    spread = 1.4826 * float(np.median(np.abs(steps))) / np.sqrt(2) if steps.size else 0.0
    return Reading(float(abs(mean[i])), max(MIN_UNCERTAINTY_MM, 3 * spread / np.sqrt(n)),
                   ctx.xy_at(i))


# --------------------------------------------------------------------------- lack
def _filled(a: F64, ok: B) -> F64:
    """``a`` with its not-``ok`` samples replaced by the previous ok one (the first ok one
    before any), so a short shadow neither ends nor starts a run."""
    idx = np.where(ok, np.arange(len(a)), 0)
    np.maximum.accumulate(idx, out=idx)
    first = int(np.argmax(ok))
    idx[: first] = first
    return a[idx]


def _lack(ctx: _Context) -> Reading:
    """The longest stretch over which one toe stops short of its median line by more than
    :data:`LACK_RETREAT_MM` while the other does not, and the bead is narrower by most of
    that: a bend moves both toes (no width lost), an end cap pulls in both."""
    g = ctx.geom
    lim = ctx.limits.lack_reject_length_mm
    core = whole_sections(g, width_tol=1.0) & off_end_caps(g)
    seen = whole_sections(g, width_tol=1.0) & g.present
    if core.sum() < 8:
        return Reading(0.0, lim)
    k = max(3, round(TOE_SMOOTH_MM / g.path.step_mm) | 1)

    def smooth(a: F64) -> F64:
        return running_median(_filled(a, seen), k)

    north = float(np.median(g.toe_pos_mm[core])) - smooth(g.toe_pos_mm)
    south = smooth(g.toe_neg_mm) - float(np.median(g.toe_neg_mm[core]))
    narrower = g.median_width_mm - smooth(g.width_mm)
    span = np.zeros(len(g.s_mm), bool)
    span[np.argmax(seen): len(seen) - np.argmax(seen[::-1])] = True
    best = (0, 0, 0)
    for mine, other in ((north, south), (south, north)):
        flags = ((mine > LACK_RETREAT_MM) & (other < 0.5 * mine)
                 & (narrower > 0.7 * LACK_RETREAT_MM) & span)
        for a, e in runs(np.nan_to_num(flags).astype(bool)):
            best = max(best, (e - a, a, e))
    n, a, e = best
    where = ctx.xy_at((a + e) // 2) if n else None
    coverage = seen.sum() / max(1, g.present.sum())
    u = (g.path.step_mm + ctx.px) / max(coverage, 0.25)
    return Reading(n * g.path.step_mm, float(u), where)


MEASURES: dict[str, Measure] = {
    "cut": _cut, "hole": _hole, "ball": _ball, "deviation": _deviation, "excess": _excess,
    "lack": _lack,
}
"""The measurement of every defect the norm limits (:data:`synth_defects.classes.GAUGED`)."""
GAUGES: tuple[Gauge, ...] = tuple(Gauge(spec, MEASURES[spec.name]) for spec in GAUGED)


def _column_shift(hm: HeightMap, geom: BeadGeometry, residuals: F64) -> npt.NDArray[np.intp]:
    """Per map column, how far (whole pixels) the bead bends off its straight line there:
    only along a bend longer than :data:`BEND_MIN_MM` reaching over half a mm (a lump or a
    pit pulls the centreline over a short stretch only), else 0."""
    dev = np.nan_to_num(residuals)
    min_run = round(BEND_MIN_MM / geom.path.step_mm)
    long_bend = np.zeros(len(dev), bool)
    for a, e in runs(np.abs(dev) > 0.15):
        long_bend[a:e] = e - a >= min_run and np.abs(dev[a:e]).max() > 0.5
    x = hm.xy_of(0, np.arange(hm.shape[1]))[0]
    per_col = np.interp(x - geom.path.xy[0, 0], geom.s_mm, np.where(long_bend, dev, 0.0))
    return np.rint(per_col / hm.mm_per_px).astype(np.intp)


def _shift_rows(a: npt.NDArray[Any], shift: npt.NDArray[np.intp], fill: float | bool
                ) -> npt.NDArray[Any]:
    """``out[r, c] = a[r - shift[c], c]`` (``fill`` where that falls off the map)."""
    rows = np.arange(a.shape[0])[:, None] - shift[None, :]
    inside = (rows >= 0) & (rows < a.shape[0])
    out = a[np.clip(rows, 0, a.shape[0] - 1), np.arange(a.shape[1])[None, :]]
    return np.where(inside, out, fill)


def bead_reference(hm: HeightMap, profile: WeldTypeProfile, geom: BeadGeometry,
                   residuals: F64) -> HeightMap | None:
    """:func:`self_reference` along the bead rather than along X: the map is straightened
    on the bead's centreline first (a bent bead's flanks stay flanks), then put back."""
    if geom.path.kind != "line":
        return None
    shift = _column_shift(hm, geom, residuals)
    straight = hm.with_z(_shift_rows(hm.z, shift, 0.0), _shift_rows(hm.valid, shift, False))
    ref = self_reference(straight, profile, REFERENCE_WINDOW_MM, where_unseen=True)
    if ref is None:
        return None
    # near the bead's ends a window would reach past them: take the nearest full window's
    x = hm.xy_of(0, np.arange(hm.shape[1]))[0] - geom.path.xy[0, 0]
    half = 0.5 * REFERENCE_WINDOW_MM
    lo, hi = geom.start_s_mm + half, geom.end_s_mm - half
    if hi > lo:
        cols = np.abs(x[None, :] - np.clip(x, lo, hi)[:, None]).argmin(axis=1)
        ref = ref.with_z(ref.z[:, cols], ref.valid[:, cols])
    return ref.with_z(_shift_rows(ref.z, -shift, 0.0), _shift_rows(ref.valid, -shift, False))


def gauge_weld(hm: HeightMap, profile: WeldTypeProfile,
               bead: BeadGeometry | EllipsisType | None = ...) -> GaugeReport:
    """Measure every defect class on ``hm``; an empty report when no bead can be analysed.
    ``bead``: the map's :func:`~point_cloud.bead_geometry.find_bead` if made already."""
    geom = find_bead(hm, profile) if bead is ... else bead
    if geom is None:
        return GaugeReport({}, None)
    residuals = centreline_residuals(geom)
    ctx = _Context(hm, profile, geom, bead_reference(hm, profile, geom, residuals[0]),
                   residuals)
    findings: dict[str, Finding] = {}
    for g in GAUGES:
        try:
            found = g.find(ctx)
        except NoBeadFoundError:
            found = None
        if found is not None:
            findings[g.defect] = found
    present = geom.present
    top = geom.top_mm[present]
    summary = BeadSummary(float(geom.median_width_mm),
                          float(np.median(top)) if top.size else 0.0,
                          float(geom.end_s_mm - geom.start_s_mm))
    return GaugeReport(findings, summary)


def _measurement(f: Finding) -> Measurement:
    return Measurement(f.quantity, round(f.value_mm, 2), f.limit_mm, round(f.uncertainty_mm, 2))


def vote(verdict: Verdict, report: GaugeReport) -> Verdict:
    """The gauge's vote in the committee's verdict.

    A finding beyond its limit by more than its uncertainty fails the weld whatever the
    learned members said, naming that defect, its size and where it is. Otherwise the
    learned members' decision stands, and a FAIL gets the size and place of the defect
    class they named, as measured here.
    """
    worst = report.exceeding
    verdict.member_scores["gauge"] = 1.0 if worst else 0.0
    if verdict.decision == "ERROR":
        return verdict
    named = report.findings.get(verdict.defect or "")
    if worst and (verdict.decision != "FAIL" or named is None or not named.exceeds):
        named = worst[0]
        verdict.decision, verdict.defect = "FAIL", named.defect
    if verdict.decision == "FAIL" and named is not None:
        verdict.measurement = _measurement(named)
        if named.location_mm is not None:
            verdict.location_mm = named.location_mm
    return verdict
