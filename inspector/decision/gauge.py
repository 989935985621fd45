"""The norm gauge: every defect class measured in mm on the height map alone, with its
uncertainty, against the weld norm of the type, and a vote.

No learning: a 1.5 mm hole is a 1.5 mm hole on any scanner. The bead is analysed once
(:func:`point_cloud.bead_geometry.analyse_bead`), then each registered :class:`Gauge`
measures its defect class. A finding *exceeds* when its value minus its uncertainty is
beyond the limit (a ball: its diameter and its height above the bead's crest); the committee then
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
from typing import Any, NamedTuple

import cv2
import numpy as np
import numpy.typing as npt

from inspector.decision.end_caps import CAP_EDGE_MM, cap_cells, closing_depth
from inspector.decision.unrolled import (
    Notch,
    Patch,
    Unrolled,
    labels_holding,
    largest_unrolled_blob,
    notches,
    open_onto_plate,
    plate_height,
    rung_outward,
    steep_walled,
    unroll,
)
from inspector.verdict import Measurement, Verdict
from point_cloud.align import nominal_step_mm
from point_cloud.bead_geometry import (
    BEAD_THRESHOLD_MM,
    CREST_SHARE,
    REFERENCE_WINDOW_MM,
    BeadGeometry,
    fill_invalid,
    find_bead,
    plate_step_mm,
    sample_across_each,
)
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
    window_nanmedian,
    without_specks,
)
from point_cloud.plates import PlateLevels, lap_plate_levels
from point_cloud.types import HeightMap
from synth_defects.classes import GAUGED, DefectSpec

F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]

BLOB_CORE_MM = 0.2        # a lump or pit must stand out this far somewhere ...
# a bead's start/stop crater dips up to ~0.4 mm: a pit there must go deeper (anywhere on a
# closed bead, whose start may lie anywhere; next to a line bead's end caps)
CRATER_PIT_CORE_MM = 0.5
CRATER_BAND_MM = 1.5      # a line bead's crater reaches this far in beyond END_MARGIN_MM
UNSEEN_PIT_CORE_MM = 0.4  # a pit partly unseen: its seen wall drops this far somewhere
UNSEEN_PORE_MIN_MM = 0.8
"""An empty round patch this wide or wider, wholly on a line bead's upper half, is a pore
whose bottom was not seen (:func:`_unseen_pores`; synthetic good welds leave none over
0.8 mm there, analytic ones none at all)."""
UNSEEN_PORE_ROUNDNESS = 0.3   # ... filling this share of the disc of its longest side
PORE_CREST_SHARE = 0.7        # ... within this share of the half width of the centre
PORE_ON_CREST = 0.8           # ... this share of it at least (a large pore's rim may not be)
BLOB_EDGE_MM = 0.06       # ... and reaches out to where it stands out this far (its rim)
PIT_RIM_REACH_MM = 0.6    # ... a pit's rim at most this far out from where it stands out
NOTCH_SHARE = 0.3         # ... and none with this share of it where a lack's toe was
NOTCH_REACH_MM = 0.4      # ... reaching this close to the toe's line
PIT_RING_SHARE = 0.75     # ... unless bead at its level rings this share of it toe-side
LUMP_RIM_REACH_MM = 1.0   # ... a lump's, where its skirt joins ripple into a long patch
UNSEEN_EDGE_SHARE = 0.25  # ... one with this share of its rim unseen runs into a shadow
PIT_DEEP_SHARE = 0.5      # ... (when joined to ripple) standing out over this share of it
MIN_UNCERTAINTY_MM = 0.05
RIM_CELLS = 1.5           # a pit's or lump's diameter is uncertain by this many cells ...
STRAY_RIM_CELLS = 2.0     # ... or this many on a map with stray points over ...
STRAY_SHARE = 0.01        # ... this share of the bead's cells
BALL_HEIGHT_UNCERTAINTY_MM = 0.15
"""A ball's height over the bead's crest: analytic balls (``bench/gauge_accuracy.py``, 193
shapes, nine types) read at most 0.11 mm over their height above the bead's top, and the
varied test sets' generated balls 0.12 mm over it or less for 95 % of them. 0.2 mm kept bad
balls 1.0-1.15 mm high that read 0.99 in the committee's band, where the networks could not
tell them from acceptable ones (line false reject 11.4 % on type 7 for its last bad ball)."""
WIDTH_TOL = 0.15          # a section not seen whole: as wide as the bead within this share
AGREE_MM = 0.3            # ... and its centre this close to its neighbours' median ...
AGREE_WINDOW_MM = 2.0     # ... over this much bead
BRIDGE_MM = 2.0           # sections not measured inside a bend, up to this long, do not end it
BEND_MIN_MM = 5.0         # the bead-following reference follows bends longer than this
BEND_FOOT_MM = 2.0        # ... from this far before and after, where it starts turning
BEND_SMOOTH_MM = 1.0      # ... along the centreline smoothed over this
SHORT_BEND_MIN_MM = 2.0   # ... or, around a square, this long where its toes move with it
MAX_UNSEEN_PIT_MM2 = 30.0 # an empty patch larger than this is no pit (a 6 mm disc)
END_MARGIN_MM = 1.0       # the self-reference holds this far in from the end caps (end_caps.py)
LUMP_CLEARANCE_MM = 0.6
"""A lump's crest is bridged from this far beyond the columns it was found in: its flank
reaches past them where it stood under the hysteresis' edge (three cells)."""
CREST_FOOT_CELLS = 3       # ... from the median crest of this many columns each side
CUT_WALL_MM = 1.0
"""A cut's ends come down to it over up to this much of the bead (rounded ends, 0.3-0.8 mm
drawn): no pit is looked for there."""
BEAD_END_SLACK_MM = 1.0   # a line's bead reaches at most this far past its nominal ends
MAX_LINE_SLOPE = math.tan(math.radians(3.0))   # a straight stretch's tilt on the aligned map
FLAT_LINE_SLOPE = math.tan(math.radians(1.5))  # ... its usual tilt (99 % of good maps) ...
FLAT_SHARE = 0.8          # ... preferred when it holds this share of the best line's samples
GROOVE_ASPECT = 1.5       # a pit near an end this many times longer across than along is a cut
GROOVE_SPAN = 0.5         # ... and spanning this share of the bead's width
MIN_ROUNDNESS = 0.3       # a pit or lump fills this share of the disc of its longest side
STEADY_WIDTH_MM = 0.3     # a section this close to the bead's width: its toes moved together
STEADY_SHIFT_MM = 0.1     # ... off the line its middle follows by more than this: a bend
STEADY_REACH_MM = 6.0     # ... and that middle holds this far beyond the first and last such
EXCESS_SEEN_SHARE = 0.6   # an imbalance is averaged over windows this share seen, or more
MID_WINDOW_MM = 1.0       # the imbalance's middle: the toes' midpoints smoothed over this
RING_MID_WINDOW_MM = 10.0
"""Where a plate beside type 7's loop was not seen, the toes' midpoints are smoothed over this
much of the loop before the quarter points are placed (good welds of the synthetic
calibration set: largest imbalance read 0.33 mm with it, 0.87 mm without)."""
RING_STEADY_WIDTH_MM = 0.15  # a ring's middle: its toes' where its section is this near its width
RING_BEND_MM = 0.5        # ... unless they stand this far off it (a bend)
SYMMETRIC_SHARE = 0.15
"""A stretch whose imbalance, read about the bead's centroid instead, falls to this share of
it or less, where that centroid stands off the middle it was read about and elsewhere does
not, is a stretch of bead moved whole (a bend that middle did not follow), no excess: excess
material moves the centroid by about a third of its imbalance, and read about the centroid
half of bad excesses keep 0.59 of it or more."""
LACK_RETREAT_MM = 1.0     # a toe this far short of its line: the bead misses the plate
LACK_NOTCH_END_MM = 1.0   # ... its notch's sloping ends reach this far beyond
SECTION_SEEN_SHARE = 0.9  # ... read where the middle half of its section was measured
LACK_CLIFF_MM = 0.3       # a bead cut off standing this high where no plate is beside it
LACK_DEEP_SHARE = 0.8     # ... its length: where it stays this share of its deepest back
LACK_BREAK_MM = 1.0       # ... and breaks this short in it, half as far back, the same
LACK_TOE_SEEN_MM = 0.4
"""A toe is read where the map was measured this far either side of it (two cells; only
inside it where the plate was removed): next to an empty cell a shadow or a dropout may
have cut the section short."""
LACK_PLATE_SEEN_SHARE = 0.25
"""A side of a loop whose toe is seen with plate beyond it along less than this share of the
bead has no plate in the scan (its toe is read where the bead's cloud ends): a shadow falls
on one side of the map, not around a loop (along a line bead it may take a whole side)."""
LACK_OTHER_SEEN_SHARE = 0.5
"""... while the other side's toe is seen along this share of it at least (a good weld's loop
whose patch side lay in shadows over 72 % of it read a 9 mm lack without this)."""
LACK_BRIDGE_MM = 3.0
"""A stretch of bead where a toe was not seen (a shadow, sparse sampling) up to this long
carries its nearest seen one: a retreat runs on across it; a longer one is not judged (a
few toes seen would otherwise be stretched over millimetres)."""
LAP_TOE_MM = BEAD_THRESHOLD_MM
"""A lap fillet's section reaches its toe where it comes down to this little above the
plate's level beside it (what the bead analysis counts as bead above its base)."""
DROPOUT_MM = 0.6
"""Unmeasured stretches of a section shorter than this are sparse sampling's dropouts
(three cells), not a shadow: a lap fillet's toe and quarter points are read across them."""
PLATE_RUN_MM = 0.6
"""A lap fillet's section has reached a plate where it stays within LAP_TOE_MM of the
plate's level this far (three cells)."""
LAP_ODD_WIDTH = 0.3       # a lap's section this share off the bead's width: a toe astray
VALLEY_RISE_MM = 0.1
"""Going out from a lap fillet's crest, a section that comes down this much lower than its
plate and rises again this much before settling on it ends in a valley: the bead bent
away from the upper plate bared what lies in front of its edge (the ramp it stood on, or
the lower plate), and its toe is where it comes down to the valley's floor."""
VALLEY_NARROWING_MM = 0.5
"""... where the section, toe to toe, is as wide as the bead within this (lacks stop one toe
1 mm or more short) ..."""
VALLEY_SHIFT_MM = 0.3
"""... and its toe lies this much or more inside the line that toe keeps along the bead."""
EDGE_PERCENTILE = 10.0
"""An upper plate not seen (removed) and not measured by prepare: its level is read from
this percentile of the heights where the bead's measured cells end beside it (its lowest
edges; not the lowest cells on that side, which may be a cut's or a crater's bottom) ..."""
EDGE_RISE_MM = 0.9
"""... which stand 0 to this much above the plate: the scanner keeps the bead down to a
few hundredths above a removed plate, but the map keeps each cell's highest point, and a
steep (flat-topped bead's) flank's last cell stands up to 0.85 mm higher (simulated types 8
and 9, every variation). Half of it is the step's uncertainty there."""
EDGE_TOL_MM = 1.0
"""A section whose measured cells end more than this above the plate beside it ends in a
shadow, not at the bead's edge."""

MAX_MARGIN = 2.0
"""A finding's margin counts up to three times its limit: beyond, the gauge votes anyway,
and a huge reading (a cut through the whole bead) would only stretch the member's scale."""
NO_MARGIN = 0.0
"""The gauge member's score where no bead was analysed: at the limit, neither way."""


class Condition(NamedTuple):
    """A further figure the norm limits for a class (a ball's height beside its diameter)."""

    value_mm: float
    limit_mm: float
    uncertainty_mm: float


@dataclass(frozen=True)
class Finding:
    """One defect class measured on a map: its largest instance against the norm's limit."""

    defect: str
    quantity: str
    value_mm: float
    uncertainty_mm: float
    limit_mm: float
    location_mm: tuple[float, float] | None = None
    # further conditions of the norm, all of which must be exceeded too
    also: dict[str, Condition] = field(default_factory=dict)
    # how much more a stretch not measured may hide: the band widens upwards only (what was
    # seen to exceed stands, what was seen within the limit may not be all)
    hidden_mm: float = 0.0

    @property
    def exceeds(self) -> bool:
        """Beyond the limit by more than the uncertainty (on every condition)."""
        u = self.uncertainty_mm
        return self.value_mm - u > self.limit_mm and all(c.value_mm - c.uncertainty_mm
                                                         > c.limit_mm
                                                         for c in self.also.values())

    @property
    def within(self) -> bool:
        """Clearly inside the limit (on some condition)."""
        u = self.uncertainty_mm + self.hidden_mm
        return self.value_mm + u < self.limit_mm or any(c.value_mm + c.uncertainty_mm
                                                        < c.limit_mm
                                                        for c in self.also.values())

    @property
    def margin(self) -> float:
        """(value - limit) / limit: how far beyond (> 0) or inside (< 0) the limit."""
        return _beyond(self.value_mm, self.limit_mm)

    @property
    def norm_margin(self) -> float:
        """The margin the norm's limits leave: :attr:`margin`, or less where a further
        condition is further inside its limit (a wide ball that is low)."""
        return min([self.margin, *(_beyond(c.value_mm, c.limit_mm)
                                   for c in self.also.values() if c.limit_mm)])


def _beyond(value_mm: float, limit_mm: float) -> float:
    """(value - limit) / limit; 0 for a zero limit."""
    return (value_mm - limit_mm) / limit_mm if limit_mm else 0.0


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
    def margin(self) -> float:
        """The committee's gauge member (:mod:`inspector.decision.members`): the largest
        :attr:`Finding.norm_margin`, at most :data:`MAX_MARGIN`; :data:`NO_MARGIN` when
        nothing was measured (no bead analysed: the gauge cannot say)."""
        if not self.findings:
            return NO_MARGIN
        return min(MAX_MARGIN, max(f.norm_margin for f in self.findings.values()))

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
    bridged: F64                      # residuals[0] across short unmeasured runs, _bridged
    bends: B                          # see _long_bends

    @cached_property
    def unrolled(self) -> Unrolled | None:
        """The bead in its own frame (square paths' pits and lumps), following its long
        bends (:func:`_long_bends`), made once."""
        bend = np.where(self.bends, np.nan_to_num(self.residuals[0]), 0.0)
        return unroll(self.geom, self.hm, REFERENCE_WINDOW_MM, bend, self.beyond)

    @cached_property
    def lump(self) -> Patch | None:
        """The largest lump (:func:`_patch`), found once: the ball gauge's, and a stretch the
        imbalance leaves to it."""
        return _patch(self, +1)

    @cached_property
    def enclosed(self) -> B:
        """Empty cells ringed by measured ones (:func:`_enclosed_gaps`)."""
        return _enclosed_gaps(self.hm.valid, self.px)

    @cached_property
    def beyond(self) -> B:
        """Empty cells not ringed by measured ones, one-cell lines of them left out (a toe's
        last row): nothing measured there (a removed plate, a shadow reaching the map's
        edge)."""
        dot = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
        solid = cv2.morphologyEx(self.hm.valid.astype(np.uint8), cv2.MORPH_OPEN, dot) > 0
        return np.asarray(~self.hm.valid & ~_enclosed_gaps(solid, self.px))

    @cached_property
    def lap(self) -> LapSections | None:
        """A lap fillet's sections against its plates (None: one plate level, a square)."""
        if not nominal_step_mm(self.profile) or self.geom.path.closed:
            return None
        return lap_sections(self.hm, self.profile, self.geom)

    @cached_property
    def retreats(self) -> Retreats | None:
        """Where a toe stops short of its line (:func:`toe_retreats`), found once."""
        return toe_retreats(self)

    @cached_property
    def bare_retreats(self) -> Retreats | None:
        """Beside a removed plate, the retreats read where the bead was measured
        (:func:`toe_retreats` with ``bare``): the lack gauge reads them too. None where a
        plate is in the scan."""
        return None if self.geom.plate_visible else toe_retreats(self, bare=True)

    @cached_property
    def gaps(self) -> list[Gap]:
        """Gaps in the bead (``geom`` is without the specks beyond a line's ends,
        :func:`gauge_weld`, so no gap runs to them)."""
        return gaps(self.geom)

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
    also: dict[str, Condition] = field(default_factory=dict)
    hidden_mm: float = 0.0            # see Finding.hidden_mm


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
                       float(getattr(ctx.limits, self.spec.limit)), r.location_mm, r.also,
                       r.hidden_mm)


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
    inner_cols, gap_cols = _inner_columns(ctx), _gap_columns(ctx)
    inner = (inner_cols if sign < 0 else _lump_columns(ctx)) & ~gap_cols
    ref_z, ref_ok = ref.z, ref.valid
    if sign > 0 and not ctx.geom.plate_visible:
        # the plate was removed: beyond the bead's toes only a lump is measured, and it
        # stands on the plate's level (the along-X median there has too few cells); on the
        # bead's crest, where a shadow leaves its median too few cells, the crest is no lump
        ref_ok = ref.valid | (hm.valid & ~_crest_band(ctx))
        ref_z = np.where(ref.valid, ref.z, ctx.geom.base)
    both = ref_ok & hm.valid & inner
    delta = np.where(both, (hm.z - ref_z) * sign, 0.0)
    # on a steep flank a cell's height is uncertain by its slope times a pixel (sampling)
    gy, gx = np.gradient(np.where(ref.valid, ref.z, 0.0).astype(np.float32))
    slack = np.hypot(gx, gy).astype(np.float64)
    unseen = np.zeros_like(both)
    pores = np.zeros_like(both)
    caps = np.zeros_like(both)
    if sign < 0:
        # the end caps, which the self-reference leaves out: depth below the map's closing
        caps = cap_cells(hm, ctx.geom, ~inner_cols & ~gap_cols)
        lumps = ref.valid & hm.valid & (hm.z - ref.z > BLOB_CORE_MM)
        depth, cap_slack, upper = closing_depth(hm, ctx.geom, np.asarray(caps.any(axis=0)),
                                                lumps)
        caps &= upper
        delta = np.where(caps, depth, delta)
        slack = np.where(caps, cap_slack, slack)
        # a pit seen without its bottom; sparse sampling's lone empty cells are not
        # on the bead's upper half: an empty patch on a flank is as likely a shadow
        g = ctx.geom
        on_bead = ((ref.z - g.base) > 0.5 * g.median_top_mm) if g.present.any() else ref.valid
        upper = (ref.valid & inner & on_bead) | caps
        rows = _crest_rows(ctx, PORE_CREST_SHARE)
        unseen, pores = _unseen_cells(ctx, upper, upper & (rows[:, None] if rows is not None
                                                          else False))
    # a patch counts when some of it is seen to stand out (an empty patch alone may be a
    # dropout on a shiny bead: it extends a pit whose wall was seen, it is none by itself)
    core = delta > BLOB_CORE_MM + slack
    ends = (caps | _crater_columns(ctx)) if sign < 0 else caps   # where a crater may dip
    dug = np.zeros_like(core)
    if sign < 0:
        # an end crater is a gentle dip: there a pit stands out CRATER_PIT_CORE_MM, or
        # BLOB_CORE_MM where a wall of it is steep (dug, not settled; unrolled.steep_walled)
        dug = core & ends & ~caps
        core &= ~ends | (delta > CRATER_PIT_CORE_MM + slack)
    edge = np.where(caps, delta > CAP_EDGE_MM + 0.25 * slack,
                    delta > BLOB_EDGE_MM + 0.25 * slack) | unseen
    # a line of empty cells across a lump (sparse sampling's aliasing with the grid) would
    # cut it in two, each half read alone: it joins them, and is not counted in the area
    bridge = _dropout_lines(edge, hm.valid) if sign > 0 else np.zeros_like(edge)
    edge |= bridge
    whole = edge
    if sign < 0:
        # a pit's rim lies within PIT_RIM_REACH_MM of where it stands out; beyond, the edge
        # level meets the ripple of sparse sampling, a strip that, joined to a pit, makes
        # it look long, not round, and wider than it is
        edge = edge & _near(core | unseen | dug, PIT_RIM_REACH_MM, ctx.px)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(edge.astype(np.uint8),
                                                           connectivity=8)
    if n <= 1:
        return None
    stats[:, cv2.CC_STAT_AREA] -= np.bincount(labels[bridge], minlength=n)
    has_core = labels_holding(labels, n, core)
    if dug.any():
        has_core |= labels_holding(labels, n, dug) & steep_walled(
            np.where(both | caps, delta, np.nan), labels, n, ctx.px, ctx.px)
    if sign < 0 and unseen.any():
        # an empty patch ringed by ripple troughs is no pit: one whose bottom was not seen
        # shows its wall dropping deeper than any ripple (a steep wall is no sign: a
        # shadow's edge on a flank drops as steeply)
        walled = labels_holding(labels, n, delta > UNSEEN_PIT_CORE_MM + slack)
        walled |= labels_holding(labels, n, pores)
        has_core &= ~labels_holding(labels, n, unseen) | walled
        has_core |= labels_holding(labels, n, pores)
    if sign < 0:
        # a groove across an end cap or crater band is a cut too short to leave a gap (the
        # closing and the median along the bead bridge it): it crosses the bead. A pore
        # there, drawn out across by the cap's slope or a ripple at its rim, does not
        tall = stats[:, cv2.CC_STAT_HEIGHT]
        groove = ((tall >= GROOVE_ASPECT * stats[:, cv2.CC_STAT_WIDTH])
                  & (tall * ctx.px >= GROOVE_SPAN * ctx.geom.median_width_mm))
        has_core &= ~(labels_holding(labels, n, ends) & groove)
    has_core[0] = False
    if not has_core.any():
        return None
    round_ = _round(stats)
    if sign < 0:
        # a pit cut from a long strip counts when it stands out over most of it (a strip
        # along a toe that stands out here and there is none)
        deep = np.bincount(labels[(core | unseen) & edge], minlength=n)
        round_ &= _round_parents(whole, labels, n) | (deep >= PIT_DEEP_SHARE
                                                     * stats[:, cv2.CC_STAT_AREA])
        # the bead's surface at its reference level (where a pit, not a notch, ends)
        level = both & ~whole & (ref.z - ctx.geom.base > BEAD_THRESHOLD_MM)
        has_core &= ~_lack_notches(ctx, labels, stats, edge, has_core & round_, level)
    areas = np.where(has_core & round_, stats[:, cv2.CC_STAT_AREA], 0)
    if not areas.any() and sign > 0:
        # a lump whose skirt joins the ripple or noise across the bead makes one long
        # patch, not a round one: the lump is its cells near where it stands out
        n, labels, stats, _ = cv2.connectedComponentsWithStats(
            (edge & _near(core, LUMP_RIM_REACH_MM, ctx.px)).astype(np.uint8), connectivity=8)
        has_core = labels_holding(labels, n, core)
        has_core[0] = False
        areas = np.where(has_core & _round(stats), stats[:, cv2.CC_STAT_AREA], 0)
    if not areas.any():
        return None
    k = int(np.argmax(areas))
    comp = labels == k
    r, c = np.nonzero(comp)
    x, y = hm.xy_of(r.mean(), c.mean())
    peak = float(delta[comp].max())
    if sign > 0:
        # the norm limits a ball's height above the bead's local top, not above the surface
        # under it: a lump on a toe stands higher over its plate than over the crest
        above = hm.z - _crest_level(ctx, ref, comp)[None, :]
        seen = comp & hm.valid & np.isfinite(above)
        if seen.any():
            peak = min(peak, float(above[seen].max()))
    # a rounded lump thins out towards its rim: the area above the edge level and above
    # twice it, extrapolated linearly to level 0 (pits have walls: their rim is sharp)
    a1 = a0 = float(areas[k])
    if sign > 0:
        a2 = float((comp & (delta > 2 * BLOB_EDGE_MM + 0.25 * slack)).sum())
        a0 = min(max(2 * a1 - a2, a1), 1.5 * a1)
    d = 2 * np.sqrt(a0 / np.pi) * ctx.px
    if sign > 0 and _runs_into_unseen(comp, both | ~inner, delta):
        # a lump running into a shadow, or beyond where the bead's reference reaches (a
        # removed plate's edge), shows part of itself: at least its longest chord (up to
        # twice what its area says)
        chord = float(max(stats[k, cv2.CC_STAT_WIDTH], stats[k, cv2.CC_STAT_HEIGHT])) * ctx.px
        d = min(max(d, chord), 2 * d)
    # each cell holds the highest point that fell in it: a pit's rim cells read as rim,
    # so a pit looks one cell narrower than it is
    stray = float((core & both & ~comp).sum() / max(int(both.sum()), 1))
    return Patch(float(d + ctx.px if sign < 0 else d), peak, (float(x), float(y)), stray,
                 float(stats[k, cv2.CC_STAT_WIDTH]) * ctx.px)


def _dropout_lines(cells: B, valid: B) -> B:
    """Cells of a line of unmeasured cells (three or more in a row or column, one cell
    wide) with ``cells`` on both sides of them."""
    c, e = np.pad(cells, 1), np.pad(~valid, 1, constant_values=True)
    row_line = e[1:-1, :-2] & e[1:-1, 2:] & c[:-2, 1:-1] & c[2:, 1:-1]
    col_line = e[:-2, 1:-1] & e[2:, 1:-1] & c[1:-1, :-2] & c[1:-1, 2:]
    return np.asarray(~valid & (row_line | col_line), bool)


def _lack_notches(ctx: _Context, labels: npt.NDArray[np.int32], stats: npt.NDArray[Any],
                  edge: B, candidates: B, level: B) -> B:
    """Per label (of the ``candidates``): whether the dip is where the bead misses its
    plate at a toe (a lack, the lack gauge's), not a pit. It opens onto the plate level
    beside the bead (:func:`unrolled.open_onto_plate`), or, where that level is not the
    plate's beside it (a lap's ramp), it lies mostly where a toe stops short of its line,
    out to the line (:func:`_beside_retreats`; a pit inside the bead may pull a toe in
    beside it, and one at the toe that does is read as the notch: 1 of 224 analytic
    holes)."""
    opened = open_onto_plate(plate_height(ctx.geom.excess, ctx.hm.valid, ctx.beyond),
                             labels, stats, candidates)
    band, line = _beside_retreats(ctx)

    def off(rows: npt.NDArray[np.intp], cols: npt.NDArray[np.intp]) -> F64:
        return _off_centreline(ctx, rows, cols)

    beside = notches(labels, stats, edge, candidates, band, line, NOTCH_SHARE,
                     lambda comp: rung_outward(comp, off, level, PIT_RING_SHARE))
    return np.asarray(opened | beside)


def _off_centreline(ctx: _Context, rows: npt.NDArray[np.intp], cols: npt.NDArray[np.intp]
                    ) -> F64:
    """Per cell, how far it lies off the bead's centreline (mm)."""
    x, y = ctx.hm.xy_of(rows.astype(np.float64), cols.astype(np.float64))
    return np.abs(_across_centreline(ctx, x, y)[1])


def _across_centreline(ctx: _Context, x: F64, y: F64) -> tuple[F64, F64]:
    """Per point (mm): its position along the path and its signed offset from the bead's
    centreline at the nearest path sample (+ north/outward)."""
    g = ctx.geom
    s, t, _, _ = g.path.frame_of(x, y)
    i = np.clip(np.searchsorted(g.s_mm, s), 1, len(g.s_mm) - 1)
    i = np.where(np.abs(g.s_mm[i - 1] - s) <= np.abs(g.s_mm[i] - s), i - 1, i)
    return s, np.asarray(t - np.nan_to_num(g.offset_mm[i]), np.float64)


def _runs_into_unseen(comp: B, valid: B, delta: F64) -> bool:
    """Whether ``comp`` goes on where it could not be read (a shadow's edge cuts it):
    :data:`UNSEEN_EDGE_SHARE` of the cells just around it are not ``valid`` (not measured,
    or with no reference to read them against), and its highest cell is one of theirs'
    neighbours (it rises into the shadow; a lump whose top was seen, beside a removed
    plate's empty space, is whole)."""
    around = cv2.dilate(comp.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_CROSS,
                                                                          (3, 3)))
    ring = (around > 0) & ~comp
    if not ring.any() or float((~valid[ring]).mean()) < UNSEEN_EDGE_SHARE:
        return False
    r, c = np.unravel_index(int(np.argmax(np.where(comp, delta, -np.inf))), comp.shape)
    return bool((~valid[max(r - 1, 0):r + 2, max(c - 1, 0):c + 2]).any())


def _beside_retreats(ctx: _Context) -> tuple[B, B]:
    """Where a line bead's toe stops short of its line (:func:`toe_retreats`), along the
    stretch where it does and :data:`PIT_RIM_REACH_MM` beyond: the cells of the outer
    :data:`LACK_RETREAT_MM` of that side, out to :data:`PIT_RIM_REACH_MM` beyond the toe's
    line, and those within :data:`NOTCH_REACH_MM` of the line. A dip lying there is the
    bead missing at that toe (the lack gauge's), not a pit."""
    g, hm = ctx.geom, ctx.hm
    found = ctx.retreats
    band, line = np.zeros(hm.shape, bool), np.zeros(hm.shape, bool)
    if found is None or g.path.closed or not (found.north.any() or found.south.any()):
        return band, line
    x, _ = hm.xy_of(0, np.arange(hm.shape[1]))
    _, y = hm.xy_of(np.arange(hm.shape[0]), 0)
    s, across, _, _ = g.path.frame_of(*np.broadcast_arrays(x[None, :], y[:, None]))
    i = np.clip(np.searchsorted(g.s_mm, s[0]), 0, len(g.s_mm) - 1)   # per column
    return _toe_line_cells(found, g.path.step_mm, across, i[None, :])


def _toe_line_cells(found: Retreats, step_mm: float, across: F64,
                    sample: npt.NDArray[np.intp]) -> tuple[B, B]:
    """:func:`_beside_retreats`' two masks for cells ``across`` the path (mm, + north) at
    path samples ``sample`` (broadcast to ``across``)."""
    band, line = np.zeros(across.shape, bool), np.zeros(across.shape, bool)
    for stretch, sign, level in zip(_retreat_stretches(found, step_mm, PIT_RIM_REACH_MM),
                                   (1, -1), (found.north_line_mm, found.south_line_mm),
                                   strict=True):
        out_by = (across - level) * sign          # > 0: beyond the toe's line
        here = stretch[sample] & (out_by <= PIT_RIM_REACH_MM)
        band |= here & (out_by >= -LACK_RETREAT_MM)
        line |= here & (out_by >= -NOTCH_REACH_MM)
    return band, line


def _retreat_stretches(found: Retreats, step_mm: float, reach_mm: float) -> tuple[B, B]:
    """The path samples where the north and the south toe stop short of their lines,
    each stretch widened by ``reach_mm`` both ways (the notch's sloping ends)."""
    k = 2 * round(reach_mm / step_mm) + 1
    box = np.ones((1, k), np.uint8)
    north, south = (cv2.dilate(f.astype(np.uint8)[None, :], box)[0] > 0
                    for f in (found.north, found.south))
    return north, south


def _near(cells: B, reach_mm: float, px: float) -> B:
    """Cells within ``reach_mm`` of ``cells`` (a disc's dilation)."""
    k = 2 * math.ceil(reach_mm / px) + 1
    return np.asarray(cv2.dilate(cells.astype(np.uint8),
                                 cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))) > 0)


def _round_parents(whole: B, labels: npt.NDArray[np.int32], n: int) -> B:
    """Per label of ``labels`` (parts of ``whole``'s components): whether the component of
    ``whole`` it was cut from is round (:data:`MIN_ROUNDNESS`)."""
    _, parents, stats, _ = cv2.connectedComponentsWithStats(whole.astype(np.uint8),
                                                            connectivity=8)
    parent = np.zeros(n, np.int64)
    parent[labels] = parents         # every cell of a part lies in one component of whole
    return np.asarray(_round(stats)[parent])


def _round(stats: npt.NDArray[Any], share: float = MIN_ROUNDNESS) -> B:
    """Per component: round enough, filling ``share`` of the disc inscribed in its bounding
    square (a strip along a toe, left by sparse sampling on a steep flank, is no pit)."""
    side = np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT])
    return np.asarray(stats[:, cv2.CC_STAT_AREA] >= share * np.pi / 4 * side ** 2)


def _unseen_cells(ctx: _Context, upper: B, crest: B) -> tuple[B, B]:
    """Empty cells ringed by measured ones (``ctx.enclosed``) on the bead's ``upper`` part
    (without sparse sampling's lone ones), and those of them that are pores whose bottom
    the scanner did not see (:func:`_unseen_pores` on the ``crest``)."""
    enclosed = ctx.enclosed
    dot = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
    unseen = cv2.morphologyEx((enclosed & upper).astype(np.uint8), cv2.MORPH_OPEN, dot) > 0
    # a pore is judged without the one-cell chains of sparse sampling joined to it
    bulk = cv2.morphologyEx(enclosed.astype(np.uint8), cv2.MORPH_OPEN, dot) > 0
    return unseen, _unseen_pores(bulk, crest, ctx.px) & unseen


def _ring_pore(ctx: _Context) -> Patch | None:
    """The largest pore whose bottom the scanner did not see on a closed path's bead: an
    empty patch on its crest (within :data:`PORE_CREST_SHARE` of its half width of the
    centreline), where the band in the bead's frame, which leaves corners out, may not
    reach it."""
    g, hm = ctx.geom, ctx.hm
    if not g.present.any():
        return None
    centre = g.centre_xy[np.isfinite(g.offset_mm)]
    r, c = hm.rc_of(centre[:, 0], centre[:, 1])
    line = np.full(hm.shape, 255, np.uint8)
    pts = np.round(np.stack([c, r], 1)).astype(np.int32)
    cv2.polylines(line, [pts], True, 0)
    dist = cv2.distanceTransform(line, cv2.DIST_L2, 3) * hm.mm_per_px
    upper = (g.excess > 0.5 * g.median_top_mm) & (dist <= 0.5 * g.median_width_mm)
    _, pores = _unseen_cells(ctx, upper, dist <= PORE_CREST_SHARE * 0.5 * g.median_width_mm)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(pores.astype(np.uint8),
                                                           connectivity=8)
    if n <= 1:
        return None
    k = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    rr, cc = np.nonzero(labels == k)
    x, y = hm.xy_of(rr.mean(), cc.mean())
    d = 2 * np.sqrt(stats[k, cv2.CC_STAT_AREA] / np.pi) * hm.mm_per_px
    return Patch(float(d + hm.mm_per_px), 0.0, (float(x), float(y)))


def _unseen_pores(enclosed: B, crest: B, px: float) -> B:
    """Cells of the ``enclosed`` empty patches that are pores whose bottom the scanner did
    not see: on a line bead's crest (``crest``: its upper half, near its centre; at least
    :data:`PORE_ON_CREST` of its cells), round
    (:data:`UNSEEN_PORE_ROUNDNESS`) and :data:`UNSEEN_PORE_MIN_MM` across or more. A camera
    over the bead sees its convex top, so no shadow empties it there; sparse sampling leaves
    smaller gaps. (Not around type 7's loop: a raised patch may hide its crest.)"""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(enclosed.astype(np.uint8),
                                                           connectivity=8)
    if n <= 1:
        return np.zeros_like(enclosed)
    area = stats[:, cv2.CC_STAT_AREA] * px * px
    on_crest = np.bincount(labels[crest & enclosed], minlength=n)
    keep = ((area >= np.pi / 4 * UNSEEN_PORE_MIN_MM ** 2) & _round(stats, UNSEEN_PORE_ROUNDNESS)
            & (on_crest >= PORE_ON_CREST * stats[:, cv2.CC_STAT_AREA]))
    keep[0] = False
    return np.asarray(keep[labels])


def _crest_rows(ctx: _Context, share: float = CREST_SHARE) -> B | None:
    """Map rows of a line bead's crest (:meth:`BeadGeometry.crest_band`); None where no
    section shows both toes."""
    g = ctx.geom
    band = g.crest_band(share)
    if band is None:
        return None
    y = ctx.hm.xy_of(np.arange(ctx.hm.shape[0]), 0)[1]
    return np.asarray(np.abs(y - g.path.xy[0, 1] - band[0]) <= band[1])


def _crest_level(ctx: _Context, ref: HeightMap, lump: B | None = None) -> F64:
    """Per map column, the bead's top in the self-reference: its highest cell on the crest
    rows (not a higher plate beside the bead); NaN where they hold no cell.

    With a ``lump``, no higher than the map's own crest bridged across the lump
    (:func:`_crest_across`): near an end the self-reference holds the nearest full section,
    which stands higher than the end cap's falling crest the lump sits on."""
    rows = _crest_rows(ctx)
    if rows is None:
        return np.full(ctx.hm.shape[1], np.nan)
    top = np.where(ref.valid & rows[:, None], ref.z, -np.inf).max(axis=0)
    top = np.where(np.isfinite(top), top, np.nan)
    if lump is None:
        return top
    bridged = _crest_across(ctx, rows, lump)
    return np.where(np.isfinite(bridged), np.fmin(top, bridged), top)


def _crest_across(ctx: _Context, rows: B, lump: B) -> F64:
    """The map's crest (highest measured cell of the crest rows per column) bridged linearly
    across the columns of ``lump`` and :data:`LUMP_CLEARANCE_MM` either side, from the median
    of :data:`CREST_FOOT_CELLS` columns beyond each; NaN elsewhere, and where a foot is
    not on the found bead (a lump over the bead's end has no crest beyond it) or holds no
    measured crest."""
    hm, g = ctx.hm, ctx.geom
    out = np.full(hm.shape[1], np.nan)
    cols = np.flatnonzero(lump.any(axis=0))
    if cols.size == 0:
        return out
    raw = np.where(hm.valid & rows[:, None], hm.z, -np.inf).max(axis=0)
    raw = np.where(np.isfinite(raw), raw, np.nan)
    s = hm.xy_of(0, np.arange(hm.shape[1]))[0] - g.path.xy[0, 0]
    on_bead = (s >= g.start_s_mm) & (s <= g.end_s_mm)
    clear = math.ceil(LUMP_CLEARANCE_MM / hm.mm_per_px)
    lo, hi = int(cols[0]) - clear, int(cols[-1]) + clear
    left = np.arange(lo - CREST_FOOT_CELLS, lo)
    right = np.arange(hi + 1, hi + 1 + CREST_FOOT_CELLS)
    if left[0] < 0 or right[-1] >= hm.shape[1] or not (on_bead[left].all()
                                                        and on_bead[right].all()):
        return out
    zl, zr = raw[left], raw[right]
    if np.isnan(zl).any() or np.isnan(zr).any():
        return out
    span = np.arange(lo, hi + 1)
    out[span] = np.interp(span, [float(left.mean()), float(right.mean())],
                          [float(np.median(zl)), float(np.median(zr))])
    return out


def _crest_band(ctx: _Context) -> B:
    """Cells of a line bead's crest rows in the columns where it was found: clear of the
    toes, where lumps sit."""
    g = ctx.geom
    rows = _crest_rows(ctx)
    if rows is None:
        return np.zeros(ctx.hm.shape, bool)
    on = g.both_toes
    x = ctx.hm.xy_of(0, np.arange(ctx.hm.shape[1]))[0]
    cols = np.interp(x, g.path.xy[:, 0], on.astype(np.float64)) > 0.5
    return np.asarray(rows[:, None] & cols[None, :])


def _in_from_ends(ctx: _Context) -> F64:
    """Per map column, how far it lies inside the end margins of a line bead (half a bead
    width and :data:`END_MARGIN_MM` in from its found start and end; negative beyond)."""
    g = ctx.geom
    margin = 0.5 * g.median_width_mm + END_MARGIN_MM
    s = ctx.hm.xy_of(0, np.arange(ctx.hm.shape[1]))[0] - g.path.xy[0, 0]
    return np.asarray(np.minimum(s - (g.start_s_mm + margin), (g.end_s_mm - margin) - s))


def _inner_columns(ctx: _Context) -> B:
    """Columns clear of the bead's rounded ends and end craters (the contract allows
    craters; the self-reference does not hold there)."""
    return np.broadcast_to((_in_from_ends(ctx) >= 0)[None, :], ctx.hm.shape)


def _lump_columns(ctx: _Context) -> B:
    """Columns where lumps are looked for: the whole bead, its end caps and
    :data:`END_MARGIN_MM` beyond them. Over a cap the self-reference holds the nearest
    full section, which stands as high as the cap or higher at every cell: a lump there
    reads no larger than it is, and a good cap none."""
    g = ctx.geom
    reach = 0.5 * g.median_width_mm + 2 * END_MARGIN_MM
    return np.broadcast_to((_in_from_ends(ctx) >= -reach)[None, :], ctx.hm.shape)


def _crater_columns(ctx: _Context) -> B:
    """Columns of the band just inside :func:`_inner_columns` at each end where an end
    crater may still dip (:data:`CRATER_BAND_MM`)."""
    d = _in_from_ends(ctx)
    return np.broadcast_to(((d >= 0) & (d < CRATER_BAND_MM))[None, :], ctx.hm.shape)


def _enclosed_gaps(valid: B, px: float) -> B:
    """Empty cells (not ``valid``) in patches ringed by measured ones: a shadow or a removed
    plate reaches the map's edge or a large empty area, a pit whose bottom was not seen does
    not (``px``: mm per cell)."""
    _, labels, stats, _ = cv2.connectedComponentsWithStats((~valid).astype(np.uint8),
                                                           connectivity=4)
    h, w = valid.shape
    x, y = stats[:, cv2.CC_STAT_LEFT], stats[:, cv2.CC_STAT_TOP]
    bw, bh = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]
    inside = (x > 0) & (y > 0) & (x + bw < w) & (y + bh < h)
    small = stats[:, cv2.CC_STAT_AREA] * px ** 2 <= MAX_UNSEEN_PIT_MM2
    keep = inside & small
    keep[0] = False                              # label 0: the measured cells
    return keep[labels]


def _gap_samples(ctx: _Context) -> B:
    """Path samples of a cut and its walls (:data:`CUT_WALL_MM`), around a closed path too:
    the running median along the path bridges the cut, so its walls would read as a pit's."""
    g = ctx.geom
    s, length = g.s_mm, len(g.s_mm) * g.path.step_mm
    near = np.zeros(len(s), bool)
    reach = ctx.px + CUT_WALL_MM
    for gap in ctx.gaps:
        span = (gap.s_end_mm - gap.s_start_mm) % length
        near |= (s - (gap.s_start_mm - reach)) % length <= span + 2 * reach
    return near


def _gap_columns(ctx: _Context) -> B:
    """Columns of a cut and its walls (:data:`CUT_WALL_MM`): the self-reference's median
    bridges the cut, so its walls would read as a pit's."""
    g = ctx.geom
    x = ctx.hm.xy_of(0, np.arange(ctx.hm.shape[1]))[0] - g.path.xy[0, 0]
    near = np.zeros(len(x), bool)
    reach = ctx.px + CUT_WALL_MM
    for gap in ctx.gaps:
        near |= (x >= gap.s_start_mm - reach) & (x <= gap.s_end_mm + reach)
    return np.broadcast_to(near[None, :], ctx.hm.shape)


def _blob_uncertainty(ctx: _Context, patch: Patch | None = None) -> float:
    """A pit's or lump's diameter is uncertain by :data:`RIM_CELLS` cells (its rim falls
    anywhere in the cells around it); by :data:`STRAY_RIM_CELLS` on a map whose stray points
    stand out as it does from over :data:`STRAY_SHARE` of the bead (one beside its rim joins
    it), or where they were not counted."""
    clean = patch is not None and patch.stray is not None and patch.stray <= STRAY_SHARE
    return max(MIN_UNCERTAINTY_MM, (RIM_CELLS if clean else STRAY_RIM_CELLS) * ctx.px)


def _patch(ctx: _Context, sign: int) -> Patch | None:
    """The largest pit (``sign`` -1) or lump (+1): on the map for line beads, in the bead's
    own frame for a square path (whose sides a median along X would cross)."""
    if ctx.reference is not None:
        return _largest_blob(ctx, sign)
    if ctx.unrolled is None:
        return None
    if sign > 0:
        return largest_unrolled_blob(ctx.unrolled, +1, BLOB_CORE_MM, BLOB_EDGE_MM,
                                     MIN_ROUNDNESS)
    # the loop's crater may lie anywhere along it: a pit dips CRATER_PIT_CORE_MM, or
    # BLOB_CORE_MM where a wall of it is steep (dug, not settled)
    pit = largest_unrolled_blob(ctx.unrolled, -1, CRATER_PIT_CORE_MM, BLOB_EDGE_MM,
                                MIN_ROUNDNESS, _gap_samples(ctx), walled_core_mm=BLOB_CORE_MM,
                                notch=_unrolled_notch(ctx, ctx.unrolled))
    pore = _ring_pore(ctx)
    return max((p for p in (pit, pore) if p is not None), key=lambda p: p.diameter_mm,
               default=None)


def _unrolled_notch(ctx: _Context, u: Unrolled) -> Notch | None:
    """Where a closed path's toe stops short of its line (:func:`toe_retreats`), in the
    band's frame (:class:`unrolled.Notch`): as :func:`_beside_retreats` does on the map for
    line beads. (Acceptable lacks around type 7's loop, 1-2 mm long, read as 2.9-3.1 mm
    pits on the varied test set, generator 1.11.)"""
    found = ctx.retreats
    if found is None or not (found.north.any() or found.south.any()):
        return None
    g = ctx.geom
    # the band's offsets are across its own path, moved along the normals where it bends
    shift = np.einsum("ij,ij->i", u.path.xy - g.path.xy, g.path.normal)
    across = u.t_mm[None, :] + shift[:, None]
    band, line = _toe_line_cells(found, g.path.step_mm, across, np.arange(len(shift))[:, None])
    return Notch(band, line, NOTCH_SHARE, PIT_RING_SHARE, BEAD_THRESHOLD_MM)


def _hole(ctx: _Context) -> Reading | None:
    if ctx.reference is None and not ctx.geom.path.closed:
        return None
    b = _patch(ctx, -1)
    return Reading(b.diameter_mm if b else 0.0, _blob_uncertainty(ctx, b),
                   b.centre if b else None)


def _ball(ctx: _Context) -> Reading | None:
    if ctx.reference is None and not ctx.geom.path.closed:
        return None
    b = ctx.lump
    return Reading(b.diameter_mm if b else 0.0, _blob_uncertainty(ctx), b.centre if b else None,
                   {"height_mm": Condition(b.peak_mm if b else 0.0,
                                           ctx.limits.ball_reject_height_mm,
                                           BALL_HEIGHT_UNCERTAINTY_MM)})


# --------------------------------------------------------------------------- deviation
def _straight_line(s: F64, off: F64, tol_mm: float = 0.15, candidates: int = 32
                   ) -> tuple[F64, B]:
    """Residuals of ``off`` from the line that most samples follow within ``tol_mm``
    (lines through pairs of a coarse subsample, the best refitted on its inliers; one
    within :data:`FLAT_LINE_SLOPE` preferred, see there): a bend of any part of the bead
    leaves the straight rest's line. Also the inlier mask."""
    pick = np.unique(np.linspace(0, len(s) - 1, min(candidates, len(s))).astype(int))
    i, j = np.triu_indices(len(pick), 1)
    s1, s2, o1, o2 = s[pick[i]], s[pick[j]], off[pick[i]], off[pick[j]]
    slope = (o2 - o1) / np.where(s2 != s1, s2 - s1, 1.0)
    res = off[None, :] - (o1[:, None] + slope[:, None] * (s[None, :] - s1[:, None]))
    # the map is aligned on the bead: its straight stretch runs along the path within the
    # alignment's tolerance (two close samples of a shadowed bead can make a steep line)
    inliers = (np.abs(res) < tol_mm) & (np.abs(slope) <= MAX_LINE_SLOPE)[:, None]
    count = inliers.sum(1)
    # a line within the map's usual tilt is preferred when it holds nearly as many samples
    # (a bend's ramp can line up with a steeper one)
    flat = np.where(np.abs(slope) <= FLAT_LINE_SLOPE, count, -1)
    line = int(np.argmax(flat)) if flat.max() >= FLAT_SHARE * count.max() else int(
        np.argmax(count))
    best = inliers[line]
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
    if not g.path.closed:
        return np.zeros(len(g.s_mm))
    return np.floor(g.s_mm / (2 * g.path.half_side_mm)).clip(0, 3)


def centreline_residuals(geom: BeadGeometry) -> tuple[F64, B]:
    """Per path sample, the centreline's offset from its straight stretch's line (NaN where
    not usable) and the samples that follow that line. Used: cross-sections seen whole (a
    shadow cutting one toe shifts a section's centre) and a line bead's end caps (a bend at
    its start or end peaks at its very tip), not a square's corners."""
    g = geom
    off_caps = off_end_caps(g)
    caps_ok = off_caps if g.path.closed else g.present
    pos, neg = _toe_seen(g, g.toe_pos_mm, 1), _toe_seen(g, g.toe_neg_mm, -1)
    # end caps narrow to a point, so their sections are never whole; a wide one is a mess
    # and seen (a shadow beside one is bridged into "bead" that pulls its centre), and one
    # with a toe not seen is centred on what was seen of it
    cap = (~off_caps & (np.nan_to_num(g.width_mm) <= 1.15 * g.median_width_mm)
           & g.measured & pos & neg)
    # a section seen whole but narrower than the bead has a toe found inside it (a patch's
    # edge under the bead): its centre is off; a bend's oblique section is wider
    narrow = np.nan_to_num(g.width_mm) < (1.0 - WIDTH_TOL) * g.median_width_mm
    trusted = (whole_sections(g, width_tol=1.0) & ~(narrow & off_caps)) | cap
    unwhole = np.where(off_caps, _offset_unwhole(g, pos, neg), np.nan)
    offset = _consistent(np.where(trusted, g.offset_mm, unwhole), trusted, g.path.step_mm)
    usable = np.isfinite(offset) & caps_ok
    side = _sides(g)
    res = np.full(len(g.s_mm), np.nan)
    inlier = np.zeros(len(g.s_mm), bool)
    for k in np.unique(side):
        on = usable & (side == k)
        if on.sum() >= 8:
            res[on], inlier[on] = _straight_line(g.s_mm[on], offset[on])
    return res, inlier


def _offset_unwhole(g: BeadGeometry, pos_seen: B, neg_seen: B) -> F64:
    """Per path sample, the centreline's offset where its section was not seen whole (a
    shadow over a flank, dropouts): midway between its toes where both were seen
    (``pos_seen``, ``neg_seen``) and the section is no narrower than the bead (a bend's
    oblique section is wider, one cut short narrower), else the section's own centre where
    it is as wide as the bead (the shadow bridged); NaN elsewhere."""
    width, w = g.median_width_mm, np.nan_to_num(g.width_mm)
    both = pos_seen & neg_seen & (w >= (1.0 - WIDTH_TOL) * width)
    alike = np.abs(w - width) <= WIDTH_TOL * width
    return np.where(both, 0.5 * (g.toe_pos_mm + g.toe_neg_mm),
                    np.where(alike, g.offset_mm, np.nan))


def _consistent(offset: F64, trusted: B, step_mm: float) -> F64:
    """``offset`` where trusted, or where it agrees within :data:`AGREE_MM` with the median
    of its neighbours over :data:`AGREE_WINDOW_MM` (a bend is smooth; a section centred on
    a fragment of the bead is not), else NaN."""
    k = max(3, round(AGREE_WINDOW_MM / step_mm) | 1)
    near = window_nanmedian(offset, k)
    return np.where(trusted | (np.abs(offset - near) <= AGREE_MM), offset, np.nan)


def _deviation(ctx: _Context) -> Reading:
    """The largest centreline residual (1 mm running mean), see :func:`centreline_residuals`."""
    g = ctx.geom
    lim = ctx.limits.deviation_reject_mm
    res, inlier = ctx.residuals
    caps_ok = off_end_caps(g) if g.path.closed else g.present
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
    # (a bend seen beyond the limit is one)
    hidden = max((e - a for a, e in runs(g.present & caps_ok & ~ok)), default=0)
    unseen = lim if hidden * g.path.step_mm > BEND_MIN_MM else 0.0
    return Reading(float(abs(smooth[i])), float(u), ctx.xy_at(int(idx[i])), hidden_mm=unseen)


# --------------------------------------------------------------------------- excess
@dataclass(frozen=True)
class LapSections:
    """A lap fillet's cross-sections read against its two plates: the bead stands on the
    ramp from the lower plate's level at its south toe to the upper plate's at its north
    toe, so its own shape (what an imbalance tilts) is its height above that ramp.

    ``heights``: (M, J) the map's heights across path sample i at ``geom.profile_t_mm``
    (unmeasured cells bridged along the section); ``seen``: (M, J) measured, or inside a
    dropout shorter than :data:`DROPOUT_MM` (sparse sampling, not a shadow);
    ``south_mm``, ``north_mm``: per sample, the toes (NaN where not found); ``levels``:
    the plates' levels, ``step_uncertainty_mm`` that of the upper one above the lower."""

    heights: F64
    seen: B
    south_mm: F64
    north_mm: F64
    levels: PlateLevels
    step_uncertainty_mm: float
    core: B
    """Samples clear of the bead's rounded ends by half its width (toe to toe, here)."""
    width_mm: float
    """The median width toe to toe there."""
    north_floor_mm: F64
    """Per sample, the level the north toe stands on: the upper plate's, or the floor of a
    valley in front of it (:func:`_valley_toes`)."""
    south_floor_mm: F64
    """The same for the south toe."""
    moved: B
    """Per sample, a toe in a valley: the bead moved off the joint there (a bend)."""

    def _index(self, geom: BeadGeometry, t: F64) -> tuple[npt.NDArray[np.intp], F64]:
        t0, dt = geom.profile_t_mm[0], geom.profile_t_mm[1] - geom.profile_t_mm[0]
        u = np.clip((np.nan_to_num(t) - t0) / dt, 0, len(geom.profile_t_mm) - 1.001)
        j = np.floor(u).astype(np.intp)
        return j, u - j

    def seen_at(self, geom: BeadGeometry, t: F64) -> B:
        """Per sample, whether offset ``t[i]`` was seen (both neighbouring samples)."""
        j, _ = self._index(geom, t)
        rows = np.arange(len(t))
        return self.seen[rows, j] & self.seen[rows, j + 1] & np.isfinite(t)

    def height_at(self, geom: BeadGeometry, t: F64) -> F64:
        """Per sample, the height at offset ``t[i]`` (linear between samples)."""
        j, f = self._index(geom, t)
        rows = np.arange(len(t))
        return (1 - f) * self.heights[rows, j] + f * self.heights[rows, j + 1]


def _first_stop(stop: B, sign: int) -> tuple[npt.NDArray[np.intp], B]:
    """Per row, the first True of ``stop`` going up the columns (``sign`` +1) or down
    (-1), and whether there is one."""
    n = stop.shape[1]
    j = np.argmax(stop, axis=1) if sign > 0 else n - 1 - np.argmax(stop[:, ::-1], axis=1)
    return np.asarray(j, np.intp), np.asarray(stop.any(axis=1), bool)


def _run_starts(flags: B, n: int, sign: int, unseen: B) -> B:
    """Per row, where a run of at least ``n`` True ``flags`` starts going up the columns
    (``sign`` +1) or down (-1); a run cut short by ``unseen`` cells or the row's end
    counts (a plate cropped just beyond the toe)."""
    f = flags if sign > 0 else flags[:, ::-1]
    u = unseen if sign > 0 else unseen[:, ::-1]
    c = np.concatenate([np.zeros((len(f), 1), np.int64), np.cumsum(f | u, axis=1)], axis=1)
    end = np.minimum(np.arange(f.shape[1]) + n, f.shape[1])
    out = f & ((c[:, end] - c[:, :-1]) == (end - np.arange(f.shape[1]))[None, :])
    return out if sign > 0 else out[:, ::-1]


def lap_sections(hm: HeightMap, profile: WeldTypeProfile, g: BeadGeometry) -> LapSections:
    """:class:`LapSections` of a straight bead.

    Levels: a plate seen, its level (:func:`lap_plate_levels`); the lower plate not seen,
    0 (the map is levelled on it: prepare put it at the bead's lowest points, or the
    contract's least step below the upper plate where those stand closer to it); the upper
    plate not seen, the step prepare measured on the cloud (``hm.meta["plate_step_mm"]``)
    above the lower one, else read on the map where the bead's measured cells end beside
    it (:data:`EDGE_PERCENTILE`, :data:`EDGE_RISE_MM`).

    Toes: followed from the bead's crest outwards, where the section settles on that
    side's plate (within :data:`LAP_TOE_MM` of its level for :data:`PLATE_RUN_MM`, so a
    flank dipping through the level is no toe; between two samples, interpolated) or,
    beside a plate not seen, where its measured cells end (the bead's edge: the scanner
    keeps it down to a few hundredths above the removed plate) unless that edge stands
    more than :data:`EDGE_TOL_MM` above the plate (a shadow's edge); a flank running into a
    shadow beside a seen plate has no toe."""
    levels = lap_plate_levels(hm, profile)
    south = levels.south if levels.seen[0] else 0.0
    north, step_u = levels.north, 0.0
    measured_step = hm.meta.get("plate_step_mm")
    if not levels.seen[1] and measured_step is not None:
        north = south + float(measured_step)
    t = g.profile_t_mm
    dt = float(t[1] - t[0])
    z, valid = sample_across_each(hm, [fill_invalid(hm, plate_step_mm(hm, profile)),
                                       hm.valid.astype(np.float32)], g.path, t)
    k = max(3, round(DROPOUT_MM / dt) | 1)
    seen = cv2.morphologyEx((valid >= 0.99).astype(np.uint8), cv2.MORPH_CLOSE,
                            np.ones((1, k), np.uint8)) > 0
    jj = np.arange(len(t))[None, :]
    crest = np.argmax(g.profiles, axis=1)
    rows = np.arange(len(z))
    core = g.present & off_end_caps(g)
    run = max(2, round(PLATE_RUN_MM / dt))
    toes, valleys = [], []
    for sign, plate_seen in ((1, levels.seen[1]), (-1, levels.seen[0])):
        level = north if sign > 0 else south
        ahead = (jj - crest[:, None]) * sign > 0
        on_plate = seen & (np.abs(z - level) <= LAP_TOE_MM)
        j, found = _first_stop(ahead & (_run_starts(on_plate, run, sign, ~seen) | ~seen), sign)
        j = np.where(found, j, crest)
        inner = np.clip(j - sign, 0, len(t) - 1)
        z_in, z_out = z[rows, inner], z[rows, j]
        inside = found & seen[rows, inner] & (np.abs(z_in - level) > LAP_TOE_MM)
        at_plate = inside & seen[rows, j]
        edge = inside & ~seen[rows, j] & (not plate_seen)
        if sign > 0 and not plate_seen and measured_step is None and (edge & core).any():
            # the upper plate's level from the bead's lowest edges, which stand 0 to
            # EDGE_RISE_MM above it: the middle of that band, half of it uncertain
            north = level = (float(np.percentile(z_in[edge & core], EDGE_PERCENTILE))
                             - 0.5 * EDGE_RISE_MM)
            step_u = 0.5 * EDGE_RISE_MM
            at_plate[:] = False
        edge &= z_in <= level + EDGE_TOL_MM
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = np.clip((z_in - level - LAP_TOE_MM) / (z_in - z_out), 0.0, 1.0)
        toe = np.where(at_plate, t[inner] + sign * frac * dt, np.where(edge, t[inner], np.nan))
        toes.append(np.where(g.present, toe, np.nan))
        valleys.append((*_valley_toes(z, seen, crest, np.where(found, j, -1), sign, level,
                                      t, run), level))
    north_mm, south_mm = toes
    # the ends (where the bead analysis's own width may be a plate's strip's)
    width, lap_core = 0.0, g.present
    for _ in range(2):
        median = _finite_median(north_mm - south_mm, lap_core)
        if math.isnan(median):
            break
        width = median
        lap_core = (g.present & (g.s_mm >= g.start_s_mm + 0.5 * width)
                    & (g.s_mm <= g.end_s_mm - 0.5 * width))
    # a valley is the toe where the bead moved away whole: the section keeps the bead's
    # width (where one toe alone stops short, a lack, its notch is a valley too) and the
    # toe leaves the line it keeps elsewhere (an excess's lowered flank may dip in front of
    # the upper plate, where the toe stays put). Width and lines are read where no section
    # has a valley: a long bend's plate toes, at the ramp's top, would widen them
    (n_floor, n_valley, n_level), (s_floor, s_valley, s_level) = valleys
    plain = lap_core & np.isnan(n_valley) & np.isnan(s_valley)
    plain = plain if plain.sum() >= 8 else lap_core
    bead_width = _finite_median(north_mm - south_mm, plain, width)
    n_line, s_line = _finite_median(north_mm, plain), _finite_median(south_mm, plain)
    with np.errstate(invalid="ignore"):
        n_ok = ((n_valley - south_mm >= bead_width - VALLEY_NARROWING_MM)
                & (n_line - n_valley >= VALLEY_SHIFT_MM))
        s_ok = ((north_mm - s_valley >= bead_width - VALLEY_NARROWING_MM)
                & (s_valley - s_line >= VALLEY_SHIFT_MM))
    north_mm = np.where(n_ok, n_valley, north_mm)
    south_mm = np.where(s_ok, s_valley, south_mm)
    return LapSections(np.asarray(z, np.float64), seen, south_mm, north_mm,
                       PlateLevels(south, north, levels.seen), step_u, lap_core, width,
                       np.where(n_ok, n_floor, n_level), np.where(s_ok, s_floor, s_level),
                       n_ok | s_ok)


def _finite_median(a: F64, where: B, default: float = math.nan) -> float:
    """The median of ``a``'s finite values where ``where``; ``default`` when there are
    none."""
    v = a[where & np.isfinite(a)]
    return float(np.median(v)) if v.size else default


def _valley_toes(z: npt.NDArray[np.floating[Any]], seen: B, crest: npt.NDArray[np.intp],
                 stop: npt.NDArray[np.intp], sign: int, level: float, t: F64,
                 run: int) -> tuple[F64, F64]:
    """Per section, a valley between its crest and where it settles on its plate (``stop``,
    over ``run`` samples; -1: the section's end): the valley's floor (its lowest seen
    height before the section rises :data:`VALLEY_RISE_MM` from it, at least that much
    under the plate's ``level``) and the toe where the section comes down to LAP_TOE_MM
    over that floor (interpolated); NaN for both where there is none."""
    n = z.shape[1]
    zz, ok = (z, seen) if sign > 0 else (z[:, ::-1], seen[:, ::-1])
    c = crest if sign > 0 else n - 1 - crest
    e = np.where(stop < 0, n - 1, (stop if sign > 0 else n - 1 - stop) + run)
    k = np.arange(n)[None, :]
    span = (k > c[:, None]) & (k <= e[:, None]) & ok
    low = np.fmin.accumulate(np.where(span, zz, np.nan), axis=1)
    rises = span & (zz - low > VALLEY_RISE_MM) & (low < level - VALLEY_RISE_MM)
    has = rises.any(axis=1)
    rows = np.arange(len(zz))
    floor = np.where(has, low[rows, np.argmax(rises, axis=1)], np.nan)
    down = span & (zz <= floor[:, None] + LAP_TOE_MM)
    kd = np.argmax(down, axis=1)
    above = np.clip(kd - 1, 0, n - 1)
    z_hi, z_lo = zz[rows, above], zz[rows, kd]
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.clip((z_hi - floor - LAP_TOE_MM) / (z_hi - z_lo), 0.0, 1.0)
    dt = float(t[1] - t[0])
    pos = t[above] + frac * dt if sign > 0 else t[n - 1 - above] - frac * dt
    return floor, np.where(has & down.any(axis=1) & (kd > c), pos, np.nan)


def _imbalance(g: BeadGeometry, residuals: F64, bridged: F64, bends: B,
               lap: LapSections | None = None, mid_window_mm: float = MID_WINDOW_MM
               ) -> tuple[F64, F64]:
    """Per path sample: height a quarter of the bead's width north of its middle minus a
    quarter width south; NaN unless both points were measured (a shadow or a removed plate
    beyond the toes does not matter), end caps left out. The middle of a line bead is where
    its toes move together (:func:`_steady_middle`: a bend carries both, excess material
    moves one); else (a lap fillet, or too few such sections) the straight line the toes'
    midpoints follow, except where the bead really bends; a closed bead's, each side's
    (:func:`_ring_middle`). A lap fillet (``lap``): toes and
    heights against its two plates' levels (:class:`LapSections`), not against the bead
    analysis's base. The toes' midpoints are smoothed over ``mid_window_mm``. ``residuals``,
    ``bridged``, ``bends``: the centreline's (:func:`centreline_residuals`, :func:`_bridged`,
    :func:`_long_bends`). Also that middle, per sample."""
    k = max(3, round(mid_window_mm / g.path.step_mm) | 1)
    toe_n, toe_s = (g.toe_pos_mm, g.toe_neg_mm) if lap is None else (lap.north_mm,
                                                                      lap.south_mm)
    local = running_median(0.5 * (toe_n + toe_s), k)
    core = _imbalance_core(g, lap)
    ok = np.isfinite(local) & core
    mid = local
    # a lap fillet's toes stand on two plates (its excess moved them apart on the generator's
    # lap maps: reading its middle so missed 6 of 44 type-8 excesses); a ring's middle is
    # each side's (_ring_middle)
    steady = _steady_middle(g, core, k) if lap is None and not g.path.closed else None
    if steady is not None:     # the middle the toes carry together, where they do
        # excess material shifts both toes a little its way (a raised flank crosses the toe
        # level further out, a lowered one further in), which would take a tenth off a
        # large imbalance: within STEADY_SHIFT_MM of its straight line the middle keeps to it
        line = _line_of(g.s_mm, steady, core & np.isfinite(steady))
        if line is not None:
            mid = np.where(np.abs(steady - line) > STEADY_SHIFT_MM, steady, line)
        else:
            mid = steady
        if not np.isfinite(steady).all():
            # beyond the steady sections' reach (shadows on a toe) the toes' own line holds
            mid = np.where(np.isfinite(steady), mid,
                           _toe_line_middle(g, local, ok, bridged, bends))
    elif lap is None and not g.path.closed:
        mid = _toe_line_middle(g, local, ok, bridged, bends)
    elif lap is None:
        mid = _ring_middle(g, local, ok)
    else:
        # a lap's toes in a valley moved with the bead: off the line, and the middle there
        line = _line_of(g.s_mm, local, ok & ~lap.moved)
        if line is not None:
            # a lap's toes keep to the joint under excess material, which moves the bead's
            # centroid as a bend would: a lap bends where its toes show it (where one toe
            # was not seen, the other)
            bent = _toes_bent(g.s_mm, local, line, (lap.north_mm, lap.south_mm), ok)
            # where a toe stands where the bead's width puts no toe (the upper plate's edge
            # bared by a bend away from it), the other may stay put: a long bend the
            # centreline shows carries the middle there. (Not where a toe was lost: excess
            # material moves the centreline as a bend would, and a lap's 1.5 mm excess
            # whose toe was lost then read 0)
            with np.errstate(invalid="ignore"):
                odd = (np.abs(lap.north_mm - lap.south_mm - lap.width_mm)
                       > LAP_ODD_WIDTH * lap.width_mm)
            astray = odd & bends & np.isfinite(residuals)
            # a section narrower or wider than that shows no bend (a toe found on its
            # flank, where the bead rises through the upper plate's level, halves it)
            bent &= ~odd
            mid = np.select([lap.moved, astray, bent], [local, line + residuals, local], line)
    return _imbalance_about(g, mid, core, lap), np.asarray(mid, np.float64)


def _ring_middle(g: BeadGeometry, local: F64, ok: B) -> F64:
    """A closed bead's middle: on each straight side the median of its toes' midpoints
    ``local`` (``ok``) where its section is as wide as the bead (within
    :data:`RING_STEADY_WIDTH_MM`); those midpoints where they stand :data:`RING_BEND_MM`
    or more off it with both toes seen (a bend), and no middle where they stand as far off
    with a toe not seen (a toe bridged into a shadow beside it moved 1.4 mm out on good
    welds; its section's flank is not to be trusted either). Excess material moves both
    toes its way (a raised flank crosses the toe level further out, a lowered one further
    in) and widens the section: a middle that followed the toes took a fifth off a large
    imbalance."""
    mid = local.copy()
    side = _sides(g)
    steady = ok & (np.abs(np.nan_to_num(g.width_mm) - g.median_width_mm)
                   <= RING_STEADY_WIDTH_MM)
    seen = _toe_seen(g, g.toe_pos_mm, 1) & _toe_seen(g, g.toe_neg_mm, -1)
    for k in np.unique(side):
        on = side == k
        if (steady & on).sum() < 8:
            continue
        level = float(np.median(local[steady & on]))
        off = np.abs(np.nan_to_num(local[on] - level)) >= RING_BEND_MM
        mid[on] = np.where(off, np.where(seen[on], local[on], np.nan), level)
    return mid


def _imbalance_core(g: BeadGeometry, lap: LapSections | None) -> B:
    """The path samples an imbalance is read on: the bead's, off its end caps (a lap's:
    clear of its rounded ends, :attr:`LapSections.core`)."""
    return g.present & off_end_caps(g) if lap is None else lap.core


def _moved_whole(g: BeadGeometry, mid: F64, lap: LapSections | None, ok: B, mean: F64,
                 n: int) -> B:
    """Per window of ``n`` path samples, whether its imbalance ``mean`` (read about ``mid``
    where ``ok``) is a stretch of bead moved whole off that middle (a bend it did not
    follow): read about the bead's centroid (smoothed over :data:`MID_WINDOW_MM`) instead,
    it falls to :data:`SYMMETRIC_SHARE` of itself or less, and there the centroid stands off
    ``mid`` by twice its median offset along the bead or more (a shadow biting one flank, or
    excess material along the whole bead, moves it everywhere alike)."""
    k = max(3, round(MID_WINDOW_MM / g.path.step_mm) | 1)
    centroid = running_median(g.offset_mm, k)
    about, _ = _window_means(np.where(ok, _imbalance_about(g, centroid,
                                                           _imbalance_core(g, lap), lap),
                                      np.nan), n)
    off, _ = _window_means(np.where(ok, centroid - mid, np.nan), n)
    usual = _finite_median(centroid - mid, ok, 0.0)
    with np.errstate(invalid="ignore"):
        return np.asarray((np.abs(about) <= SYMMETRIC_SHARE * np.abs(mean))
                          & (np.abs(off - usual) >= 0.5 * np.abs(off)))


def _imbalance_about(g: BeadGeometry, mid: F64, core: B, lap: LapSections | None) -> F64:
    """Per path sample, the height a quarter of the bead's width north of ``mid`` minus a
    quarter width south (a lap's: above its ramp, :class:`LapSections`); NaN outside ``core``
    or unless both points were measured."""
    q = 0.25 * (g.median_width_mm if lap is None else lap.width_mm)
    north, south = mid + q, mid - q
    if lap is None:
        seen = ((profile_at(g, north, "seen_profiles") >= 0.99)
                & (profile_at(g, south, "seen_profiles") >= 0.99))
    else:
        seen = lap.seen_at(g, north) & lap.seen_at(g, south)
    ok = seen & np.isfinite(mid) & core
    if lap is None:
        d = profile_at(g, north) - profile_at(g, south)
    else:
        # the quarter points lie half the ramp's rise apart on it
        d = (lap.height_at(g, north) - lap.height_at(g, south)
             - 0.5 * (lap.north_floor_mm - lap.south_floor_mm))
    return np.asarray(np.where(ok, d, np.nan))


def _toes_bent(s: F64, local: F64, line: F64, toes: tuple[F64, F64], ok: B) -> B:
    """Per path sample, whether the toes show a bend of 0.5 mm or more: their midpoint
    ``local`` off its ``line``, or, where one toe was not seen, the other off its own line."""
    bent = np.abs(np.nan_to_num(local - line)) >= 0.5
    one_seen = ~np.isfinite(local)
    for toe in toes:
        own = _line_of(s, toe, ok & np.isfinite(toe))
        if own is not None:
            bent |= one_seen & (np.abs(np.nan_to_num(toe - own)) >= 0.5)
    return np.asarray(bent)


def _steady_middle(g: BeadGeometry, core: B, k: int) -> F64 | None:
    """Per path sample, the bead's middle where both toes move together: the toes' midpoint
    where the section is as wide as the bead (within :data:`STEADY_WIDTH_MM`) and both toes
    were seen (:func:`_toe_seen`), smoothed over ``k`` such samples and interpolated along
    the path between them (``core``: the samples to read). A bend carries both toes, at the
    bead's width; excess material that moves one toe out widens the section there, and its
    middle is the one around it. None when fewer than 8 samples qualify."""
    toe_n, toe_s = g.toe_pos_mm, g.toe_neg_mm
    steady = (core & _toe_seen(g, toe_n, 1) & _toe_seen(g, toe_s, -1)
              & (np.abs(np.nan_to_num(toe_n - toe_s) - g.median_width_mm) <= STEADY_WIDTH_MM))
    if steady.sum() < 8:
        return None
    mid = running_median(0.5 * (toe_n + toe_s)[steady], k)
    s = g.s_mm[steady]
    reach = (g.s_mm >= s[0] - STEADY_REACH_MM) & (g.s_mm <= s[-1] + STEADY_REACH_MM)
    return np.where(reach, np.interp(g.s_mm, s, mid), np.nan)


def _toe_line_middle(g: BeadGeometry, local: F64, ok: B, bridged: F64, bends: B) -> F64:
    """A line bead's middle without steady sections: the straight line its toes'
    midpoints ``local`` follow where both toes were seen over half the bead (else
    :func:`_seen_toe_line`), and those midpoints where the bead really bends (or where
    they follow no line)."""
    seen = (ok & _toe_seen(g, g.toe_pos_mm, 1), ok & _toe_seen(g, g.toe_neg_mm, -1))
    both = seen[0] & seen[1]
    line = _line_of(g.s_mm, local, both) if _spans(g.s_mm, both, ok) else None
    if line is None:
        line = _seen_toe_line(g, local, ok, seen)
    if line is None:
        return local
    bent = bends & (np.abs(bridged) >= 0.5)
    return np.asarray(np.where(bent, local, line))


def _spans(s: F64, on: B, ok: B, share: float = 0.5) -> bool:
    """Whether the samples ``on`` reach over ``share`` of the length ``ok`` covers, or more
    (a line fitted on a short stretch tilts with its noise)."""
    if on.sum() < 2 or ok.sum() < 2:
        return False
    return bool(np.ptp(s[on]) >= share * np.ptp(s[ok]))


def _seen_toe_line(g: BeadGeometry, local: F64, ok: B, seen: tuple[B, B]) -> F64 | None:
    """A line bead's middle where its two toes were too seldom seen together (a shadow
    along one flank, whose edge stands in for that toe and wanders): the line of the toe
    seen more often, moved to the median of the toes' midpoints ``local`` (``ok``), or,
    with neither toe's line, the line those midpoints follow. (The midpoints' own line,
    between a shadow edge's two levels, tilted 1.6 degrees on a good weld and read a
    0.98 mm imbalance at its end.)"""
    for toe, on in sorted(((g.toe_pos_mm, seen[0]), (g.toe_neg_mm, seen[1])),
                          key=lambda ts: -int(ts[1].sum())):
        own = _line_of(g.s_mm, toe, on) if _spans(g.s_mm, on, ok) else None
        if own is not None:
            return np.asarray(own + _finite_median(local - own, ok, 0.0))
    return _line_of(g.s_mm, local, ok)


def _line_of(s: F64, values: F64, ok: B) -> F64 | None:
    """At every ``s``, the straight line most of ``values`` follow where ``ok``
    (:func:`_straight_line`, refitted on its inliers); None with fewer than 8 samples or 2
    inliers."""
    if ok.sum() < 8:
        return None
    _, on_line = _straight_line(s[ok], values[ok])
    if on_line.sum() < 2:
        return None
    a, b = np.polyfit(s[ok][on_line], values[ok][on_line], 1)
    return np.asarray(a * s + b)


def _excess(ctx: _Context) -> Reading:
    g = ctx.geom
    lim = ctx.limits
    guessed = bool(g.meta.get("plate_level_guessed"))
    if guessed and not g.path.closed:
        return Reading(0.0, lim.excess_reject_imbalance_mm)
    if guessed:
        # a plate beside the loop was not seen: its level, read from the bead's own flank,
        # tilts the base across the bead alike all around, so each section's imbalance is
        # read against the loop's median one (an excess is a stretch of the loop). The
        # toes, one of them the cloud's edge, are smoothed over RING_MID_WINDOW_MM; a cut's
        # walls, where the bead tapers, are left out. (The surface's own imbalance, without
        # the base, read 1.2 mm on a side of a good weld whose cropped plate fell away)
        d, _ = _imbalance(g, ctx.residuals[0], ctx.bridged, ctx.bends, None,
                          RING_MID_WINDOW_MM)
        d[_gap_samples(ctx)] = np.nan
        if np.isfinite(d).any():
            d = d - np.nanmedian(d)
        mid = None
    else:
        d, mid = _imbalance(g, ctx.residuals[0], ctx.bridged, ctx.bends, ctx.lap)
    if ctx.retreats is not None:
        # where a toe stops short of its plate the bead lacks material there: the lack
        # gauge's, no imbalance (its quarter point on that side falls where the bead is not)
        north, south = _retreat_stretches(ctx.retreats, g.path.step_mm, LACK_NOTCH_END_MM)
        d = np.where(north | south, np.nan, d)
    lump = ctx.lump
    if lump is not None and lump.extent_mm is not None and (
            lump.extent_mm < lim.excess_reject_length_mm):
        # a lump shorter than the norm's excess is the ball gauge's (a ball at a toe raises
        # the quarter point on its side), no imbalance that way
        s_l, t_l = _across_centreline(ctx, np.array([lump.centre[0]]), np.array([lump.centre[1]]))
        near = np.abs(g.s_mm - s_l[0]) <= 0.5 * lump.extent_mm + LUMP_CLEARANCE_MM
        d = np.where(near & (np.sign(d) == np.sign(t_l[0])), np.nan, d)
    ok = np.isfinite(d)
    n = max(1, round(lim.excess_reject_length_mm / g.path.step_mm))
    mean, cnt = _window_means(d, n)
    seen = np.isfinite(mean)
    if ok.sum() < 3 or not seen.any():
        # no stretch of the norm's length seen (shadows on the bead): nothing to say
        return Reading(0.0, lim.excess_reject_imbalance_mm)
    if mid is not None:     # a bead moved off the middle read about: no excess
        mean = np.where(_moved_whole(g, mid, ctx.lap, ok, mean, n), 0.0, mean)
    i = int(np.argmax(np.where(seen, np.abs(mean), -1.0)))
    steps = np.diff(d[ok])                    # sample-to-sample scatter: the noise
    spread = 1.4826 * float(np.median(np.abs(steps))) / np.sqrt(2) if steps.size else 0.0
    u = max(MIN_UNCERTAINTY_MM, 3 * spread / np.sqrt(cnt[i]))
    if ctx.lap is not None:      # half the ramp's rise is taken off: half the step's error
        u = max(u, 0.5 * ctx.lap.step_uncertainty_mm)
    return Reading(float(abs(mean[i])), u, ctx.xy_at(i))


def _window_means(d: F64, n: int) -> tuple[F64, F64]:
    """Per sample, the mean of ``d``'s finite values over the ``n`` samples around it (NaN
    where under :data:`EXCESS_SEEN_SHARE` of them are), and how many there are."""
    ok = np.isfinite(d)
    sums = np.convolve(np.where(ok, d, 0.0), np.ones(n), "same")
    cnt = np.convolve(ok.astype(float), np.ones(n), "same")
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(np.where(cnt >= EXCESS_SEEN_SHARE * n, sums / cnt, np.nan)), cnt


# --------------------------------------------------------------------------- lack
def _filled(a: F64, ok: B) -> F64:
    """``a`` with its not-``ok`` samples replaced by the previous ok one (the first ok one
    before any), so a short shadow neither ends nor starts a run."""
    idx = np.where(ok, np.arange(len(a)), 0)
    np.maximum.accumulate(idx, out=idx)
    first = int(np.argmax(ok))
    idx[: first] = first
    return a[idx]


def _toe_seen(g: BeadGeometry, toe: F64, sign: int, plate_beside: bool | None = None) -> B:
    """Per path sample, whether the map was measured all around the toe at offset ``toe``
    (within :data:`LACK_TOE_SEEN_MM`; ``sign``: the side, +1 north): a toe next to an
    unmeasured cell may be where a shadow or a dropout cut the section short, not the
    bead's. Beyond the toe of a bead whose plate was removed nothing is measured
    (``plate_beside``: whether that side's plate is in the scan; default: any plate)."""
    beside = g.plate_visible if plate_beside is None else plate_beside
    t = g.profile_t_mm[None, :]
    d = (t - np.nan_to_num(toe, nan=np.inf)[:, None]) * sign      # > 0: beyond the toe
    near = (d >= -LACK_TOE_SEEN_MM) & (d <= (LACK_TOE_SEEN_MM if beside else 0.0))
    return g.present & np.isfinite(toe) & ~(near & (g.seen_profiles < 0.99)).any(axis=1)


def _seen_toe(g: BeadGeometry, toe: F64, sign: int) -> F64:
    """Per path sample, the outermost measured cell of bead on one side (``sign`` +1:
    north) out to the toe at ``toe``. Where no plate is beside the bead, the map is filled
    across what was not measured (a shadow inside the bead is bridged), so a notch where
    the bead misses its plate is filled too: only the measured cells show it. NaN where
    none was measured."""
    t = g.profile_t_mm[None, :]
    mid = np.nan_to_num(g.offset_mm)[:, None]
    inside = ((t - np.nan_to_num(toe, nan=-np.inf * sign)[:, None]) * sign <= 0) & (
        (t - mid) * sign >= 0)
    on = inside & (g.seen_profiles >= 0.99) & (g.profiles > BEAD_THRESHOLD_MM)
    j = np.argmax(np.where(on, t * sign, -np.inf), axis=1)
    far = t[0, j]
    # where the measured bead ends high it was cut off (a notch, or a shadow); where it
    # comes down to the toe level the filled toe is its own (a lowered flank is no notch)
    cliff = on.any(axis=1) & (g.profiles[np.arange(len(j)), j] >= LACK_CLIFF_MM)
    # a section between sparse scan lines shows little of its bead anywhere: not judged
    core = np.abs(t - mid) <= 0.25 * g.median_width_mm
    whole = (np.where(core, g.seen_profiles, 0.0).sum(axis=1)
             >= SECTION_SEEN_SHARE * np.maximum(core.sum(axis=1), 1))
    out = np.where(whole, np.where(cliff & np.isfinite(toe), far, toe), np.nan) * sign
    # sparse scan lines leave a section or two cut short between measured ones: a notch
    # runs on, so each section takes the outermost toe of it and its two neighbours
    pad = np.pad(out, 1, constant_values=np.nan)
    outer = np.fmax(np.fmax(pad[:-2], pad[1:-1]), pad[2:])     # NaN only where all three are
    return np.asarray(outer * sign)


class Retreats(NamedTuple):
    """Per path sample: where the north and the south toe stop short of their lines (a lack
    of material, :func:`toe_retreats`), and where each toe was seen."""

    north: B
    south: B
    seen_north: B
    seen_south: B
    north_line_mm: float      # the offset each toe's line keeps
    south_line_mm: float


def toe_retreats(ctx: _Context, bare: bool = False) -> Retreats | None:
    """Where one toe stops short of its median line by more than :data:`LACK_RETREAT_MM`
    while the other does not, and the bead is narrower by most of that: a bend moves both
    toes (no width lost), an end cap pulls in both. Each toe is read where it was seen
    (:func:`_toe_seen`); across a stretch where it was not, up to :data:`LACK_BRIDGE_MM`
    long, it is its nearest seen one off the end caps. None: a toe seen too little.
    ``bare``: the toes where the measured bead stops (:func:`_seen_toe`), each stretch as
    long as the toe stays near its deepest retreat."""
    g = ctx.geom
    caps_off = off_end_caps(g)
    k = max(3, round(TOE_SMOOTH_MM / g.path.step_mm) | 1)
    longest = round(LACK_BRIDGE_MM / g.path.step_mm)
    toes = ((g.toe_pos_mm, 1), (g.toe_neg_mm, -1))
    if bare:
        toes = ((_seen_toe(g, g.toe_pos_mm, 1), 1), (_seen_toe(g, g.toe_neg_mm, -1), -1))
    # a bare toe is measured where it is read (where not, a neighbour's carried in is not)
    seens = [(g.present & np.isfinite(toe)) if bare else _toe_seen(g, toe, sign)
             for toe, sign in toes]
    share = [float((seen & caps_off).sum()) / max(1, int(caps_off.sum())) for seen in seens]
    sides = []
    for (toe, sign), seen, seen_here, seen_there in zip(toes, seens, share, share[::-1],
                                                          strict=True):
        if seen_here < LACK_PLATE_SEEN_SHARE and seen_there >= LACK_OTHER_SEEN_SHARE:
            # next to no plate measured beyond one toe while the other toe is mostly seen:
            # that side's plate was removed or shadowed all along (type 7's outer plate
            # cropped away, type 5's lower plate in the shadow), and its toe is where the
            # bead's cloud ends
            seen = _toe_seen(g, toe, sign, plate_beside=False)
        core = seen & caps_off
        found = np.isfinite(toe) & caps_off
        if core.sum() < 8:
            if found.sum() < 8:
                return None
            # a toe seen too little is not judged; where it was found it still tells
            # whether the other one's retreat narrows the bead (a lap's toe at its upper
            # plate's edge, in the step's shadow all along)
            sides.append((running_median(_filled(toe, found), k),
                          float(np.median(toe[found])), np.zeros_like(seen), seen))
            continue
        # an unseen stretch takes its nearest toe off the end caps (an end cap's is pulled
        # in: carried into a shadow it would read as a retreat); a long one is not judged
        judged = seen.copy()
        for a, e in runs(~seen):
            judged[a:e] = e - a <= longest
        # its line: where it was seen; when that is under half the bead (a shadow or a
        # crop beside most of it, where a notch may be what was seen), where it was found
        level = float(np.median(toe[core] if 2 * core.sum() >= caps_off.sum()
                                else toe[found]))
        sides.append((running_median(np.where(seen, toe, _filled(toe, core)), k), level,
                      judged, seen))
    (pos, pos_line, judged_n, seen_n), (neg, neg_line, judged_s, seen_s) = sides
    if not (judged_n.any() or judged_s.any()):
        return None
    north, south = pos_line - pos, neg - neg_line
    narrower = g.median_width_mm - (pos - neg)
    either = seen_n | seen_s
    span = np.zeros(len(g.s_mm), bool)
    span[np.argmax(either): len(either) - np.argmax(either[::-1])] = True
    flags = [np.nan_to_num((mine > LACK_RETREAT_MM) & (other < 0.5 * mine)
                           & (narrower > 0.7 * LACK_RETREAT_MM) & span & judged).astype(bool)
             for mine, other, judged in ((north, south, judged_n), (south, north, judged_s))]
    # a toe retreating near the threshold flickers across it: a break of up to
    # LACK_BREAK_MM where it stays over half of it back is the same lack (one 13 mm long
    # read 2.2 mm)
    for f, mine in zip(flags, (north, south), strict=True):
        for a, e in runs(~f):
            if (a > 0 and e < len(f) and (e - a) * g.path.step_mm <= LACK_BREAK_MM
                    and bool(np.all(np.nan_to_num(mine[a:e]) > 0.5 * LACK_RETREAT_MM))):
                f[a:e] = True
    if bare:       # a notch's sloping ends, where the toe comes back, are no bare plate
        for f, mine in zip(flags, (north, south), strict=True):
            f &= caps_off        # ragged where a cap narrows the bead and sampling thins
            _deepest_stretches(f, np.nan_to_num(mine))
    return Retreats(flags[0], flags[1], seen_n, seen_s, pos_line, neg_line)


def _deepest_stretches(flags: B, retreat: F64) -> None:
    """Each run of ``flags`` cut (in place) to where ``retreat`` stays
    :data:`LACK_DEEP_SHARE` of its deepest or more."""
    for a, e in runs(flags):
        deep = np.flatnonzero(retreat[a:e] >= LACK_DEEP_SHARE * float(retreat[a:e].max()))
        flags[a:e] = False
        flags[a + deep[0]: a + deep[-1] + 1] = True


def _lack(ctx: _Context) -> Reading:
    """The longest stretch over which a toe stops short of its line (:func:`toe_retreats`;
    beside a removed plate, the longer of the two readings)."""
    g = ctx.geom
    readings = [r for r in (ctx.retreats, ctx.bare_retreats) if r is not None]
    if not readings:
        return Reading(0.0, ctx.limits.lack_reject_length_mm)
    best = (0, 0, 0, 0)
    for i, found in enumerate(readings):
        for flags in (found.north, found.south):
            for a, e in runs(flags):
                best = max(best, (e - a, a, e, i))
    n, a, e, i = best
    found = readings[i]
    where = ctx.xy_at((a + e) // 2) if n else None
    coverage = min(found.seen_north.sum(), found.seen_south.sum()) / max(1, g.present.sum())
    u = (g.path.step_mm + ctx.px) / max(coverage, 0.25)
    return Reading(n * g.path.step_mm, float(u), where)


MEASURES: dict[str, Measure] = {
    "cut": _cut, "hole": _hole, "ball": _ball, "deviation": _deviation, "excess": _excess,
    "lack": _lack,
}
"""The measurement of every defect the norm limits (:data:`synth_defects.classes.GAUGED`)."""
GAUGES: tuple[Gauge, ...] = tuple(Gauge(spec, MEASURES[spec.name]) for spec in GAUGED)


def _bridged(residuals: F64, geom: BeadGeometry) -> F64:
    """``residuals`` with runs of samples not measured, up to :data:`BRIDGE_MM` long, between
    measured ones interpolated on a line bead (a few sections lost inside a bend to a
    shadow's edge or dropouts do not end it), else 0. Around a square they are read as
    measured: a lump pulls a few sections of a short side, and bridged they joined into
    bends the band then followed."""
    out = np.nan_to_num(residuals)
    known = np.flatnonzero(np.isfinite(residuals))
    if geom.path.closed or known.size < 2:
        return out
    filled = np.interp(np.arange(len(out)), known, residuals[known])
    short = round(BRIDGE_MM / geom.path.step_mm)
    for a, e in runs(~np.isfinite(residuals)):
        if a > known[0] and e <= known[-1] and e - a <= short:
            out[a:e] = filled[a:e]
    return out


def _long_bends(geom: BeadGeometry, dev: F64) -> B:
    """Path samples where the bead really bends off its straight line, reaching over half a
    mm: along a bend longer than :data:`BEND_MIN_MM` (a lump or a pit pulls the centreline
    over a short stretch only) followed over most of it by a toe that was seen (a shadow
    biting into one flank moves the centre of what was seen, while the other toe, seen,
    stays on its line); around a square path also along a shorter one, of
    :data:`SHORT_BEND_MIN_MM` or more, that every toe seen follows, at the bead's width (a
    lump on a toe moves that toe alone, out, and widens the section): a side is short, and
    its bends with it (on a line bead, a shadow or excess material can move both toes).
    ``dev``: the centreline's residuals, bridged (:func:`_bridged`)."""
    line = geom.offset_mm - dev                  # the straight line the centreline follows
    half = 0.5 * geom.median_width_mm
    followed = np.zeros(len(dev), bool)
    stayed = np.zeros(len(dev), bool)
    for toe, sign in ((geom.toe_pos_mm, 1), (geom.toe_neg_mm, -1)):
        moved = np.nan_to_num(toe - (line + sign * half)) * np.sign(dev) >= 0.5 * np.abs(dev)
        seen = _toe_seen(geom, toe, sign)
        followed |= seen & moved
        stayed |= seen & ~moved
    both = followed & ~stayed & (np.abs(np.nan_to_num(geom.width_mm) - 2 * half)
                                 <= WIDTH_TOL * 2 * half)
    long_run = round(BEND_MIN_MM / geom.path.step_mm)
    short_run = round(SHORT_BEND_MIN_MM / geom.path.step_mm) if geom.path.closed else long_run
    long_bend = np.zeros(len(dev), bool)
    for a, e in runs(np.abs(dev) > 0.15):
        if np.abs(dev[a:e]).max() <= 0.5:
            continue
        long_bend[a:e] = ((e - a >= long_run and followed[a:e].mean() >= 0.5)
                          or (e - a >= short_run and both[a:e].mean() >= 0.5))
    return long_bend


def _column_shift(hm: HeightMap, geom: BeadGeometry, dev: F64, long_bend: B) -> F64:
    """Per map column, how far (pixels, fractional) the bead bends off its straight line
    there: along ``long_bend`` (:func:`_long_bends`) and its feet, :data:`BEND_FOOT_MM`
    each side (it starts turning before its offset reaches the bend's threshold), the
    centreline's bridged residuals ``dev`` (:func:`_bridged`) smoothed over
    :data:`BEND_SMOOTH_MM` (one section's toe noise would shift a flank), else 0."""
    step = geom.path.step_mm
    smooth = window_nanmedian(dev, round(BEND_SMOOTH_MM / step) | 1)
    foot = round(BEND_FOOT_MM / step)
    near = np.convolve(long_bend.astype(np.float64), np.ones(2 * foot + 1), "same") > 0
    x = hm.xy_of(0, np.arange(hm.shape[1]))[0]
    per_col = np.interp(x - geom.path.xy[0, 0], geom.s_mm, np.where(near, smooth, 0.0))
    return np.asarray(per_col / hm.mm_per_px, np.float64)


def _shift_rows(hm: HeightMap, shift: F64) -> HeightMap:
    """``hm`` with each column's rows moved by ``shift`` (``out[r, c] = hm[r - shift[c], c]``):
    interpolated between the two rows for a fractional shift where both were measured,
    else the nearest row's; nothing measured where that falls off the map."""
    src = np.arange(hm.shape[0])[:, None] - shift[None, :]
    lo = np.floor(src).astype(np.intp)
    f = src - lo
    near = np.where(f < 0.5, lo, lo + 1)
    cols = np.arange(hm.shape[1])[None, :]
    last = hm.shape[0] - 1

    def at(rows: npt.NDArray[np.intp]) -> tuple[F64, B]:
        inside = (rows >= 0) & (rows <= last)
        r = np.clip(rows, 0, last)
        return np.asarray(hm.z[r, cols], np.float64), inside & hm.valid[r, cols]

    (z0, ok0), (z1, ok1) = at(lo), at(lo + 1)
    zn, okn = at(near)
    z = np.where(ok0 & ok1, (1 - f) * z0 + f * z1, zn)
    return hm.with_z(np.where(okn, z, 0.0).astype(hm.z.dtype), okn)


def bead_reference(hm: HeightMap, profile: WeldTypeProfile, geom: BeadGeometry,
                   dev: F64, bends: B) -> HeightMap | None:
    """:func:`self_reference` along the bead rather than along X: the map is straightened
    on the bead's centreline first (a bent bead's flanks stay flanks), then put back.
    ``dev``, ``bends``: the centreline's bridged residuals (:func:`_bridged`) and long bends
    (:func:`_long_bends`)."""
    if geom.path.closed:
        return None
    shift = _column_shift(hm, geom, dev, bends)
    straight = _shift_rows(hm, shift)
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
    return _shift_rows(ref, -shift)


def gauge_weld(hm: HeightMap, profile: WeldTypeProfile,
               bead: BeadGeometry | EllipsisType | None = ...) -> GaugeReport:
    """Measure every defect class on ``hm``; an empty report when no bead can be analysed.
    ``bead``: the map's :func:`~point_cloud.bead_geometry.find_bead` if made already."""
    geom = find_bead(hm, profile) if bead is ... else bead
    if geom is None:
        return GaugeReport({}, None)
    # a line bead is what reaches its nominal length (+ the end slack): specks beyond its
    # ends (a high plate's edge) are no bead, and its end caps are its own
    geom = without_specks(geom, 0.5 * profile.geometry.bead_length_mm + BEAD_END_SLACK_MM)
    residuals = centreline_residuals(geom)
    bridged = _bridged(residuals[0], geom)
    bends = _long_bends(geom, bridged)
    ctx = _Context(hm, profile, geom, bead_reference(hm, profile, geom, bridged, bends),
                   residuals, bridged, bends)
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
    class they named, as measured here. ``member_scores["gauge"]`` is the vote (1.0 fails
    the weld), in place of the gauge member's P(bad) where the committee has one.
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
