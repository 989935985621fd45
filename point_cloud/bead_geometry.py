"""Find the weld bead in a height map: centreline, local width, top height, toes, start/end.

Nothing about the bead's position is assumed. A line bead (along +X): the plates under it
are estimated with a grey-level opening across the path (a flat element wider than the
bead removes the bead and keeps plate planes, steps and ramps), then, across every
column, bridged in a straight line from one toe to the other (a bead across a plate step,
e.g. a lap fillet, stands on that line, not on either plate); the bead is what stands
above that base, and the line is fitted through it. Type 7's square: the nominal ring is
laid over the surface's ridge (the crest, whatever the patch and the outer plate do), the
plates are read beside it and bridged from toe to toe across every path sample (a raised or
recessed patch), and the ring is refined on the bead standing above them. The bead is then
sampled across the path every pixel to give its local centreline offset, width, top
height and toe positions.

Conventions: arc position ``s`` along the path (mm, from the path's first sample), offset ``t``
across it (mm, positive towards the path normal: north for line types, outward for the
square). numpy/opencv only (runtime-safe).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from point_cloud.align import OPENING_FACTOR
from point_cloud.config import WeldTypeProfile
from point_cloud.errors import NoBeadFoundError
from point_cloud.kinds import PATHS, kind_of
from point_cloud.kinds.line import LINE
from point_cloud.kinds.square import SQUARE_PATH
from point_cloud.plates import map_plate_step_mm
from point_cloud.project import nearest_fill
from point_cloud.types import HeightMap

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]

BEAD_THRESHOLD_MM = 0.15  # above the plate base: bead material
PRESENT_FRACTION = 0.3  # a sample holds bead when its peak exceeds this share of the median top
OPENING_WIDTH_FACTOR = OPENING_FACTOR  # opening element across the path, in bead widths
BASE_SMOOTH_MM = 3.0  # line types: the plate base is a running median over this along X
EDGE_CONTINUE_MM = 2.0  # invalid runs this short at the map's edge continue the surface
MIN_BEAD_RUN_MM = 1.0  # shorter stretches of "bead" along the path are specks
MIN_GAP_MM = 0.6  # a line bead's base is not smoothed across gaps this long or longer
TOE_BRIDGE_PASSES = 3  # re-find the toes this often when bridging them
PLATE_GAP_MM = 1.0  # square path: plates are read from this far beyond the nominal toes
MIN_PLATE_SAMPLES = 50
PLATE_TRIM_MM = 0.15  # ... the outer plate's line refitted on samples this close to it
PLATE_SLOPE_SPAN_MM = 0.5  # ... its slope fitted where seen over this much offset, else level
TOE_PERCENTILE = 0.5  # a plate not seen: this percentile of the bead beside it
ISOLATED_VALID_FRACTION = 0.5  # maps less valid than this had their plate plane removed
BEAD_BAND_HALF_MM = 4.0  # ... unless this far and more from the map's middle row
PLATE_SEEN_FRACTION = 0.05  # ... this share is valid (a plate beside the bead)
RING_POOL = 2  # square path: its ring is matched on a grid this many times coarser
CREST_SHARE = 0.5  # a line bead's crest: this share of its half width either side of its middle
REFERENCE_WINDOW_MM = 10.0  # the gauge's self-reference: the bead's median along it over this
CREST_MIDDLE_FRACTION = 0.7  # a bead's crest lies in this middle share of its section


@dataclass(frozen=True)
class BeadPath:
    """The nominal path: samples every ``step_mm`` with unit tangents and normals (mm frame)."""

    kind: str  # the path shape's name (point_cloud.kinds.PATHS)
    xy: F64  # (M, 2) sample points
    tangent: F64  # (M, 2)
    normal: F64  # (M, 2)
    step_mm: float
    # square only: centre and half side; line only: y of the line at x = 0 and its slope
    centre: tuple[float, float] = (0.0, 0.0)
    half_side_mm: float = 0.0

    @property
    def closed(self) -> bool:
        """The path closes on itself (a ring; its arc position wraps)."""
        return PATHS[self.kind].closed

    @property
    def s_mm(self) -> F64:
        return np.arange(len(self.xy), dtype=np.float64) * self.step_mm

    def frame_of(self, x: F64, y: F64) -> tuple[F64, F64, F64, F64]:
        """Per point: arc position s, offset t, and the normal (nx, ny) of its nearest sample."""
        if not self.closed:
            x0, y0 = self.xy[0]
            s = x - x0
            t = y - y0
            return s, t, np.zeros_like(x), np.ones_like(x)
        cx, cy = self.centre
        a = self.half_side_mm
        dx, dy = x - cx, y - cy
        horiz = np.abs(dx) >= np.abs(dy)  # on the east/west sides
        nx = np.where(horiz, np.sign(dx), 0.0)
        ny = np.where(horiz, 0.0, np.sign(dy))
        nx = np.where((nx == 0) & (ny == 0), 1.0, nx)
        t = np.maximum(np.abs(dx), np.abs(dy)) - a
        # s runs counter-clockwise from the south-west corner: south, east, north, west sides
        s = np.select(
            [~horiz & (dy < 0), horiz & (dx > 0), ~horiz & (dy >= 0)],
            [np.clip(dx, -a, a) + a, 2 * a + np.clip(dy, -a, a) + a,
             4 * a + a - np.clip(dx, -a, a)],
            6 * a + a - np.clip(dy, -a, a),
        )
        return s, t, nx, ny


@dataclass
class BeadGeometry:
    """What :func:`analyse_bead` found. Per-sample arrays have one value per path sample."""

    path: BeadPath
    offset_mm: F64  # centreline offset from the nominal path along the normal (NaN: no bead)
    width_mm: F64  # toe-to-toe width (NaN: no bead)
    top_mm: F64  # highest point of the bead cross-section above the base (0: no bead)
    toe_pos_mm: F64  # offset of the toe on the +normal side (north / outward)
    toe_neg_mm: F64  # offset of the toe on the -normal side (south / inward)
    present: B  # the sample holds bead material
    measured: B  # the bead's cross-section was seen (not shadowed); removed plates count as seen
    start_s_mm: float
    end_s_mm: float
    base: F32  # (H, W) plate level under the bead, mm
    excess: F32  # (H, W) bead height above the base, mm (shadows bridged; removed plate 0)
    plate_visible: bool  # the plate around the bead is measured (not removed / shadowed)
    profile_t_mm: F64  # offsets across the path at which `profiles` are sampled
    profiles: F32  # (M, J) excess sampled across the path
    seen_profiles: F32  # (M, J) share of measured cells under each profile point (0..1)
    crest_centred: B  # the section's crest in its middle (:func:`crest_in_middle`)
    meta: dict[str, float] = field(default_factory=dict)

    @property
    def s_mm(self) -> F64:
        return self.path.s_mm

    @property
    def centre_xy(self) -> F64:
        """(M, 2) centreline points in mm (NaN where no bead)."""
        return self.path.xy + self.offset_mm[:, None] * self.path.normal

    @property
    def median_width_mm(self) -> float:
        return float(np.nanmedian(self.width_mm)) if self.present.any() else 0.0

    @property
    def median_top_mm(self) -> float:
        return float(np.median(self.top_mm[self.present])) if self.present.any() else 0.0

    @property
    def both_toes(self) -> B:
        """Path samples of bead whose two toes were found."""
        return np.asarray(self.present & np.isfinite(self.toe_neg_mm)
                          & np.isfinite(self.toe_pos_mm))

    def crest_band(self, share: float) -> tuple[float, float] | None:
        """(centre, half extent) across a line bead, as offsets from its path, of its crest:
        ``share`` of the median half width either side of the median middle between its
        toes (a lump on a toe moves that section's toe, not the medians; a lap bead's
        centroid lies off that middle). None where no section shows both toes."""
        on = self.both_toes
        if not on.any():
            return None
        mid = float(np.median(0.5 * (self.toe_neg_mm[on] + self.toe_pos_mm[on])))
        half = float(np.median(0.5 * (self.toe_pos_mm[on] - self.toe_neg_mm[on])))
        return mid, share * half

    def at(self, s: F64, values: F64) -> F64:
        """Per-sample ``values`` interpolated at arc positions ``s`` (NaNs bridged)."""
        ok = np.isfinite(values)
        if not ok.any():
            return np.zeros_like(s)
        return np.interp(s, self.s_mm[ok], values[ok])


# --------------------------------------------------------------------------- plate base
def plate_step_mm(hm: HeightMap, profile: WeldTypeProfile) -> float:
    """The upper plate's height above the lower one beside a straight bead: what prepare
    measured (``hm.meta["plate_step_mm"]``), else read on the map itself
    (:func:`point_cloud.plates.map_plate_step_mm`: the type's nominal step unless the map
    shows another)."""
    if "plate_step_mm" in hm.meta:
        return float(hm.meta["plate_step_mm"])
    return map_plate_step_mm(hm, profile)


def plate_is_measured(hm: HeightMap) -> bool:
    """False for isolated maps, where the plate plane was removed: most cells invalid, and
    hardly any beside the bead's band along the map's middle (a plate cropped on one side
    and heavy shadows leave less than half the map, but a plate seen beside the bead)."""
    if hm.valid_fraction >= ISOLATED_VALID_FRACTION:
        return True
    _, y = hm.xy_of(np.arange(hm.shape[0]), 0)
    beside = np.abs(y - float(np.mean(y))) > BEAD_BAND_HALF_MM
    return bool(beside.any()) and float(hm.valid[beside].mean()) >= PLATE_SEEN_FRACTION


def fill_invalid(hm: HeightMap, step_mm: float = 0.0) -> F32:
    """Heights with invalid cells filled for filtering (:func:`bridge_columns`, the upper
    plate ``step_mm`` above the lower one) where the plate is measured, else the plate
    level where it was removed (isolated maps): 0, and north of the middle the upper plate's
    step where prepare measured one (``hm.meta["plate_step_mm"]``)."""
    if hm.valid.all() or not hm.valid.any():
        return hm.z.copy()
    if not plate_is_measured(hm):
        _, y = hm.xy_of(np.arange(hm.shape[0]), 0)
        removed = np.where(y >= float(np.mean(y)), hm.meta.get("plate_step_mm", 0.0), 0.0)
        return np.where(hm.valid, hm.z, removed[:, None]).astype(np.float32)
    return bridge_columns(hm.z, hm.valid, round(EDGE_CONTINUE_MM / hm.mm_per_px), step_mm)


def bridge_columns(z: F32, valid: B, edge_px: int = 10, step_mm: float = 0.0) -> F32:
    """Fill invalid cells along each column: linearly between the valid cells above and below
    (a shadow inside the surface); at the map's edge, runs up to ``edge_px`` continue the
    nearest valid height, longer ones take the column's lowest valid height (at the north
    edge up to ``step_mm`` higher, a lap fillet's upper plate, but not above the run's
    valid end): a wide shadow or a missing plate reaching the edge is taken for plate, never
    for bead."""
    n = z.shape[0]
    rows = np.arange(n)[:, None]
    above = np.maximum.accumulate(np.where(valid, rows, -1), axis=0)
    below = np.minimum.accumulate(np.where(valid, rows, n)[::-1], axis=0)[::-1]
    cols = np.broadcast_to(np.arange(z.shape[1]), z.shape)
    za = z[np.clip(above, 0, n - 1), cols]
    zb = z[np.clip(below, 0, n - 1), cols]
    frac = (rows - above) / np.maximum(below - above, 1)
    low = np.where(valid, z, np.inf).min(axis=0)
    low = np.where(np.isfinite(low), low, 0.0)
    inside = (above >= 0) & (below < n)
    # short runs at the map's edge continue the surface next to them, long ones are plate
    top_short = (above < 0) & (below < n) & (np.minimum(below, n) <= edge_px)
    bottom_short = (below >= n) & (above >= 0) & (n - 1 - above <= edge_px)
    north = np.minimum(zb, low[None, :] + step_mm)  # the upper plate: at most the step up
    edge = np.where(top_short, zb, np.where(bottom_short, za,
                                            np.where(above < 0, north, low[None, :])))
    filled = np.where(inside, za + frac * (zb - za), edge)
    return np.where(valid, z, filled).astype(np.float32)


def plate_base(hm: HeightMap, width_px: int, step_mm: float = 0.0) -> F32:
    """Plate level under a straight bead: an opening across the path, bias-corrected for
    noise, bridged from toe to toe and smoothed along it (``step_mm``: see
    :func:`fill_invalid`)."""
    z = fill_invalid(hm, step_mm)
    base = np.asarray(cv2.morphologyEx(z, cv2.MORPH_OPEN, np.ones((width_px, 1), np.uint8),
                                       borderType=cv2.BORDER_REPLICATE), np.float32)
    resid = (z - base)[hm.valid]
    flat = resid[resid < BEAD_THRESHOLD_MM]
    if flat.size:
        base = base + np.float32(np.median(flat))  # an opening sits on the noise's minima
    bead = np.zeros(z.shape[1], bool)
    plate = base
    for _ in range(TOE_BRIDGE_PASSES):
        base, bead = _bridge_toes(z, base, width_px / OPENING_WIDTH_FACTOR, plate=plate)
    # not smoothed across a gap in the bead: in a cut across a lap fillet the plates show,
    # the upper one's edge too, and the ramp of the bead's columns beside it would stand
    # that edge up as bead a median's half window into the gap
    smooth = _median_along_rows(base, round(BASE_SMOOTH_MM / hm.mm_per_px) | 1)
    gap = _gap_columns(bead, hm.mm_per_px)
    return np.where(gap[None, :], base, smooth).astype(np.float32)


def _gap_columns(bead: B, mm_per_px: float) -> B:
    """Columns of a gap in the bead: between its stretches of :data:`MIN_BEAD_RUN_MM` or
    more, without bead over :data:`MIN_GAP_MM` or more (a column or two the toe bridge
    missed is none)."""
    body = drop_short_runs(bead, round(MIN_BEAD_RUN_MM / mm_per_px))
    cols = np.flatnonzero(body)
    gap = np.zeros_like(bead)
    if cols.size:
        gap[cols[0]: cols[-1] + 1] = ~body[cols[0]: cols[-1] + 1]
    return drop_short_runs(gap, round(MIN_GAP_MM / mm_per_px))


def _median_along_rows(img: F32, k: int) -> F32:
    """Running median along X: the plates run along the weld, so a few odd columns (a shadow
    reaching the edge) take their neighbours' plate level."""
    pad = np.pad(img, ((0, 0), (k // 2, k // 2)), mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(pad, k, axis=1)
    return np.median(windows, axis=2).astype(np.float32)


def _bridge_toes(z: F32, base: F32, bead_px: float, agree: bool = True,
                 plate: F32 | None = None) -> tuple[F32, B]:
    """Per column, the plate under the bead as a straight line between its two toes, and
    which columns hold bead.

    An opening keeps plate steps, but under a lap fillet (bead on a ramp from the lower to
    the upper plate) it takes the bead's lower flank for plate. Here the toes are placed at
    least half a nominal bead width (+10 %) either side of the bead's middle and the plate
    between them bridged; a no-op for a bead on one flat plate. ``agree``: the bead's run
    per column is the one the columns agree on (:func:`runs_around_peak`). ``plate``: the
    opened plate level; each toe then moves in over the plate as long as the surface stays
    on the level read there (:func:`_toes_onto_plate`): a line bridged below the upper
    plate of a lap makes that plate stand as bead, and the toe would creep onto it."""
    excess = (z - base).T
    run, _ = runs_around_peak(excess, BEAD_THRESHOLD_MM, agree)
    has = run.any(axis=1) & (excess.max(axis=1) > 2 * BEAD_THRESHOLD_MM)
    n_rows = z.shape[0]
    rows = np.arange(n_rows)
    top = np.where(run, rows, n_rows).min(axis=1)
    bottom = np.where(run, rows, -1).max(axis=1)
    mid, half = 0.5 * (top + bottom), np.maximum(0.5 * (bottom - top) + 2, 0.55 * bead_px)
    north = np.clip(np.floor(mid - half), 0, n_rows - 1).astype(int)
    south = np.clip(np.ceil(mid + half), 0, n_rows - 1).astype(int)
    cols = np.arange(z.shape[1])
    b_n, b_s = base[north, cols], base[south, cols]
    if plate is not None:
        north, south = _toes_onto_plate(z, plate, north, south, mid)
    frac = (rows[:, None] - north[None, :]) / np.maximum(south - north, 1)[None, :]
    line = b_n[None, :] + frac * (b_s - b_n)[None, :]
    inside = has[None, :] & (rows[:, None] > north[None, :]) & (rows[:, None] < south[None, :])
    return np.where(inside, np.minimum(line, z), base).astype(np.float32), has


def _toes_onto_plate(z: F32, plate: F32, north: npt.NDArray[np.intp],
                     south: npt.NDArray[np.intp], mid: F64
                     ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Each column's toe rows moved towards ``mid`` across the cells that stand no more
    than :data:`BEAD_THRESHOLD_MM` over ``plate`` at the toe: the last plate cell before the
    bead rises (the line keeps the plate's level read at the toe)."""
    n_rows = z.shape[0]
    rows = np.arange(n_rows)[:, None]
    cols = np.arange(z.shape[1])
    rises_n = z - plate[north, cols][None, :] > BEAD_THRESHOLD_MM
    rises_s = z - plate[south, cols][None, :] > BEAD_THRESHOLD_MM
    first = np.where(rises_n & (rows >= north[None, :]), rows, n_rows).min(axis=0)
    last = np.where(rises_s & (rows <= south[None, :]), rows, -1).max(axis=0)
    north = np.clip(np.minimum(first - 1, np.floor(mid)), north, None).astype(np.intp)
    south = np.clip(np.maximum(last + 1, np.ceil(mid)), None, south).astype(np.intp)
    return north, south


# --------------------------------------------------------------------------- nominal path
def _fit_line(hm: HeightMap, excess: F32, step_mm: float) -> BeadPath:
    w = np.where(excess > BEAD_THRESHOLD_MM, excess, 0.0)
    colw = w.sum(axis=0)
    if not (colw > 0).any():
        raise NoBeadFoundError(None, "bead", "a ridge above the plate", "none")
    rows = np.arange(hm.shape[0], dtype=np.float64)
    cent_r = (w * rows[:, None]).sum(axis=0)[colw > 0] / colw[colw > 0]
    y0 = float(hm.xy_of(np.median(cent_r), 0)[1])
    xs = hm.xy_of(0, np.arange(hm.shape[1]))[0].astype(np.float64)
    xy = np.stack([xs, np.full_like(xs, y0)], axis=1)
    tangent = np.tile([1.0, 0.0], (len(xs), 1))
    normal = np.tile([0.0, 1.0], (len(xs), 1))
    return BeadPath(LINE.name, xy, tangent, normal, step_mm)


def _ridge_strength(hm: HeightMap, width_mm: float) -> F32:
    """How sharply the surface bends down across a ridge (minus the Hessian's smaller
    eigenvalue of the heights smoothed over a quarter bead width, per mm; 0 on planes and
    in valleys, unseen cells 0): a bead's crest and shoulders, whatever the plates beside
    it do (a raised or recessed patch, an outer plate rising as high as the crest)."""
    px = hm.mm_per_px
    z = cv2.GaussianBlur(nearest_fill(hm.z, hm.valid).astype(np.float32), (0, 0),
                         width_mm / 4 / px)
    dxx, dyy, dxy = (cv2.Sobel(z, cv2.CV_32F, dx, dy, ksize=3)   # each 4x the derivative
                     for dx, dy in ((2, 0), (0, 2), (1, 1)))
    lam = 0.5 * (dxx + dyy) - np.sqrt((0.5 * (dxx - dyy)) ** 2 + dxy ** 2)
    return (np.clip(-lam, 0.0, None) * hm.valid / np.float32(4 * px * px)).astype(np.float32)


def _ring_centre(hm: HeightMap, ridge: F32, side_mm: float, width_mm: float) -> tuple[float, float]:
    """(x, y) in mm where a ring of the nominal side best overlays the ridge: the ridge
    correlated (on a grid twice coarser) with a band a quarter bead width wide around the
    ring, less one twice as wide (a plateau or a blob beside the ring draws nothing)."""
    step = RING_POOL * hm.mm_per_px
    a = side_mm / 2
    r = int(np.ceil((a + width_mm) / step))
    d = np.arange(-r, r + 1) * step
    ring = np.abs(np.maximum(np.abs(d)[:, None], np.abs(d)[None, :]) - a)
    narrow, wide = (np.exp(-0.5 * (ring / (width_mm * f)) ** 2) for f in (0.25, 0.5))
    kernel = (narrow / narrow.sum() - wide / wide.sum()).astype(np.float32)
    small = cv2.resize(ridge, (ridge.shape[1] // RING_POOL, ridge.shape[0] // RING_POOL),
                       interpolation=cv2.INTER_AREA)
    score = cv2.filter2D(small, cv2.CV_32F, kernel, borderType=cv2.BORDER_CONSTANT)
    row, col = np.unravel_index(int(np.argmax(score)), score.shape)
    x, y = hm.xy_of(RING_POOL * (row + 0.5) - 0.5, RING_POOL * (col + 0.5) - 0.5)
    return float(x), float(y)


def _ridge_square(hm: HeightMap, profile: WeldTypeProfile) -> BeadPath:
    """The square path's first guess, read on the surface's ridge
    (:func:`_ridge_strength`), not on a height above plates that are not known yet: the
    nominal ring laid where it fits the ridge best (:func:`_ring_centre`), its centre and
    half side refined on the ridge within half a bead width of it (corners excluded). The
    ring is refined on the bead later (:func:`_bead_square`): a patch's edge bends the
    ridge in from the centreline."""
    g = profile.geometry
    ridge = _ridge_strength(hm, g.bead_width_mm)
    x0, y0 = _ring_centre(hm, ridge, g.square_side_mm, g.bead_width_mm)
    x, y = hm.xy_of(*np.indices(hm.shape))
    near = np.abs(np.maximum(np.abs(x - x0), np.abs(y - y0)) - g.square_side_mm / 2)
    w = np.where(near <= g.bead_width_mm / 2, ridge, 0.0).astype(np.float64)
    tot = w.sum()
    if tot <= 0:
        raise NoBeadFoundError(None, "bead", "a square ridge", "none")
    slack = RING_POOL * hm.mm_per_px        # the ring was laid on a grid this coarse
    cx = float(np.clip((w * x).sum() / tot, x0 - slack, x0 + slack))
    cy = float(np.clip((w * y).sum() / tot, y0 - slack, y0 + slack))
    return _square_path((cx, cy), _side_mean(x - cx, y - cy, w, g.square_side_mm / 2),
                        hm.mm_per_px)


def _side_mean(dx: F64, dy: F64, w: F64, half_mm: float) -> float:
    """The ``w``-weighted mean Chebyshev distance from the centre (offsets ``dx``, ``dy``)
    off the corners; ``half_mm`` when nothing weighs there."""
    sides = w * (np.minimum(np.abs(dx), np.abs(dy)) < 0.6 * half_mm)
    cheb = np.maximum(np.abs(dx), np.abs(dy))
    return float((sides * cheb).sum() / sides.sum()) if sides.sum() > 0 else half_mm


def _bead_square(hm: HeightMap, path: BeadPath, excess: F32,
                 bead_mm: float) -> tuple[tuple[float, float], float]:
    """(centre, half side) through the middle of the bead found above its plates (cells
    over :data:`BEAD_THRESHOLD_MM`, toe to toe, within a bead width of ``path``): the ridge
    is bent aside where a shadow's filled edge or a patch's edge bends the surface, the
    bead's footprint is not. The centre moves by at most a quarter bead width."""
    x, y = hm.xy_of(*np.indices(hm.shape))
    dx, dy = x - path.centre[0], y - path.centre[1]
    near = np.abs(np.maximum(np.abs(dx), np.abs(dy)) - path.half_side_mm) <= bead_mm
    w = ((excess > BEAD_THRESHOLD_MM) & near).astype(np.float64)
    tot = w.sum()
    if tot <= 0:
        return path.centre, path.half_side_mm
    cx, cy = ((float(np.clip((w * v).sum() / tot, c - bead_mm / 4, c + bead_mm / 4)))
              for v, c in ((x, path.centre[0]), (y, path.centre[1])))
    return (cx, cy), _side_mean(x - cx, y - cy, w, path.half_side_mm)


def _square_path(centre: tuple[float, float], a: float, step_mm: float) -> BeadPath:
    """The square of half side ``a`` around ``centre``, sampled about every ``step_mm``
    counter-clockwise from its south-west corner."""
    cx, cy = centre
    n_side = max(2, round(2 * a / step_mm))
    u = np.arange(4 * n_side) * (2 * a / n_side)
    side, off = u // (2 * a), u % (2 * a) - a
    px = np.select([side == 0, side == 1, side == 2], [off, np.full_like(off, a), -off], -a)
    py = np.select([side == 0, side == 1, side == 2],
                   [np.full_like(off, -a), off, np.full_like(off, a)], -off)
    nx = np.select([side == 1, side == 3], [np.ones_like(off), -np.ones_like(off)], 0.0)
    ny = np.select([side == 0, side == 2], [-np.ones_like(off), np.ones_like(off)], 0.0)
    xy = np.stack([px + cx, py + cy], axis=1)
    normal = np.stack([nx, ny], axis=1)
    tangent = np.stack([-ny, nx], axis=1)
    return BeadPath(SQUARE_PATH.name, xy, tangent, normal, 2 * a / n_side, (cx, cy), a)


def square_plates(hm: HeightMap, path: BeadPath, bead_mm: float,
                   reach: float) -> tuple[float, float, float, bool]:
    """(patch level, outer plate level at the centreline, outer slope per mm of offset,
    whether a level was guessed because its plate was not seen) of
    the square path, read across the middle of its sides (clear of the corners) beyond the
    nominal toes: the patch's median, a line through the outer plate (level or oblique,
    falling or rising away from the bead). A plate not seen there (cropped) is level at the
    bead's lowest points beside it."""
    dt = hm.mm_per_px / 2
    t = np.arange(-reach, reach + 1e-9, dt)
    side_pos = (path.s_mm % (2 * path.half_side_mm)) - path.half_side_mm
    middle = np.abs(side_pos) < path.half_side_mm - bead_mm / 2 - PLATE_GAP_MM
    zs, seen_f = sample_across_each(hm, [hm.z, hm.valid.astype(np.float32)], path, t)
    zs, seen = zs[middle], seen_f[middle] > 0.99
    tt = np.broadcast_to(t, zs.shape)
    toe = bead_mm / 2 + PLATE_GAP_MM
    levels = []
    guessed = False
    for sign in (-1.0, 1.0):
        band = seen & (sign * tt > toe)
        if band.sum() < MIN_PLATE_SAMPLES:  # cropped: the bead's lowest points beside it
            guessed = True
            beside = seen & (sign * tt > 0.0) & (sign * tt <= toe)
            low = float(np.percentile(zs[beside], TOE_PERCENTILE)) if beside.any() else 0.0
            levels.append((low, 0.0))
        elif sign < 0 or np.ptp(tt[band]) < PLATE_SLOPE_SPAN_MM:
            levels.append((float(np.median(zs[band])), 0.0))
        else:
            slope, icpt = np.polyfit(tt[band], zs[band], 1)
            near = band & (np.abs(zs - (icpt + slope * tt)) < PLATE_TRIM_MM)
            if near.sum() >= MIN_PLATE_SAMPLES and np.ptp(tt[near]) >= PLATE_SLOPE_SPAN_MM:
                slope, icpt = np.polyfit(tt[near], zs[near], 1)
            levels.append((float(icpt), float(slope)))
    return levels[0][0], levels[1][0], levels[1][1], guessed


def _square_base(hm: HeightMap, path: BeadPath, bead_mm: float) -> tuple[F32, F32, bool]:
    """(base, excess, a plate level guessed) around the square path: its plates
    (:func:`square_plates`; where a plate was removed, its cells count as plate), bridged
    from toe to toe across the path."""
    patch, outer, slope, guessed = square_plates(hm, path, bead_mm,
                                                  OPENING_WIDTH_FACTOR * bead_mm)
    frame = _PathFrame.of(hm, path, OPENING_WIDTH_FACTOR * bead_mm)
    off = frame.t_cells
    # under the bead (up to its nominal outer toe) the outer plate is taken level at the toe
    base = np.where(off < 0.0, patch, outer + slope * np.maximum(off, bead_mm / 2))
    base = base.astype(np.float32)
    # a shadow (seen cells above and below it) is bridged; what no scan line saw beyond the
    # last seen cell (a cropped plate) is plate
    between = (np.logical_or.accumulate(hm.valid, axis=0)
               & np.logical_or.accumulate(hm.valid[::-1], axis=0)[::-1])
    z = np.where(hm.valid, hm.z, np.where(between, fill_invalid(hm), base)).astype(np.float32)
    zs = frame.band(z)                       # the surface across the path: sampled once
    for _ in range(TOE_BRIDGE_PASSES):
        base = _bridge_along_path(frame, z, zs, base)
    return base, np.maximum(z - base, 0.0).astype(np.float32), guessed


@dataclass(frozen=True)
class _PathFrame:
    """The remap tables between a map and its band across ``path`` (offsets ``t`` up to
    ``reach``), made once and used by every bridging pass."""

    across_c: F32          # (M, J) map column of path sample i, offset t_j
    across_r: F32
    back_s: F32            # (H, W) band row (path sample) of each map cell
    back_t: F32            # (H, W) band column (offset) of each map cell
    t_cells: F64           # (H, W) offset of each map cell from the path, mm
    inside: B              # (H, W) cells the band reaches
    reach: float
    dt: float

    @staticmethod
    def of(hm: HeightMap, path: BeadPath, reach: float) -> _PathFrame:
        dt = hm.mm_per_px / 2
        t = np.arange(-reach, reach + 1e-9, dt)
        pts = path.xy[:, None, :] + t[None, :, None] * path.normal[:, None, :]
        r, c = hm.rc_of(pts[..., 0], pts[..., 1])
        s, tt, _, _ = path.frame_of(*hm.xy_of(*np.indices(hm.shape)))
        return _PathFrame(c.astype(np.float32), r.astype(np.float32),
                          (s / path.step_mm).astype(np.float32),
                          ((tt + reach) / dt).astype(np.float32), tt,
                          np.abs(tt) < reach - dt, reach, dt)

    def band(self, img: F32) -> F32:
        """``img`` sampled across the path: rows are offsets t, columns path samples."""
        return np.asarray(cv2.remap(img, self.across_c, self.across_r, cv2.INTER_LINEAR,
                                    borderMode=cv2.BORDER_CONSTANT, borderValue=0.0).T,
                          np.float32)


def _bridge_along_path(frame: _PathFrame, z: F32, zs: F32, base: F32) -> F32:
    """:func:`_bridge_toes` across every sample of the path: the base is sampled across the
    path (``zs``: the surface, sampled so), bridged there and the change mapped back onto
    the map's cells."""
    bs = frame.band(base)
    change = (_bridge_toes(zs, bs, 0.0, agree=False)[0] - bs).astype(np.float32)  # run's ends
    back = cv2.remap(change, frame.back_s, frame.back_t, cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_WRAP)   # the path closes on itself along s
    return np.where(frame.inside, np.minimum(base + back, z), base).astype(np.float32)


# --------------------------------------------------------------------------- profiles
def sample_across(hm: HeightMap, image: F32, path: BeadPath, t_mm: F64) -> F32:
    """``image`` sampled (bilinear) at path sample i, offset t_j along its normal: (M, J);
    an (H, W, C) stack of up to 4 images is sampled in one pass: (M, J, C)."""
    pts = path.xy[:, None, :] + t_mm[None, :, None] * path.normal[:, None, :]
    r, c = hm.rc_of(pts[..., 0], pts[..., 1])
    out = cv2.remap(np.ascontiguousarray(image, np.float32), c.astype(np.float32),
                    r.astype(np.float32), cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
    return np.asarray(out, np.float32)


def sample_across_each(hm: HeightMap, images: list[F32], path: BeadPath,
                       t_mm: F64) -> list[F32]:
    """:func:`sample_across` of several same-shape images (one remap table for all)."""
    out = sample_across(hm, np.stack(images, axis=-1), path, t_mm)
    return [out[..., k] for k in range(len(images))]


def runs_around_peak(prof: F32, thr: float, agree: bool = True
                     ) -> tuple[B, npt.NDArray[np.intp]]:
    """Per row: the bead's contiguous run of ``prof > thr`` and the row's peak in it (the
    row's maximum where it has no run). The bead's run is the one nearest the middle its
    rows ``agree`` on (the median middle of each row's run with the most material): a ball
    or spatter beside a straight bead, which may stand higher and hold more material over
    a lap's plate than the bead over its ramp, does so in a few rows only. Else (around a
    square, whose patch's step may stand as high as the bead) the run holding the row's
    maximum."""
    above = prof > thr
    starts = above & ~np.pad(above, ((0, 0), (1, 0)))[:, :-1]
    seg = np.where(above, np.cumsum(starts, axis=1), 0)
    n_rows, n_seg = len(prof), int(seg.max()) + 1
    if not agree:
        peak = np.argmax(prof, axis=1)
        return above & (seg == seg[np.arange(n_rows), peak][:, None]), peak
    flat = (np.arange(n_rows)[:, None] * n_seg + seg).ravel()

    def per_run(w: npt.NDArray[Any]) -> F64:
        return np.asarray(np.bincount(flat, weights=np.asarray(w, np.float64).ravel(),
                                      minlength=n_rows * n_seg).reshape(n_rows, n_seg),
                          np.float64)

    count = per_run(above)
    mass = per_run(np.where(above, prof, 0.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        middle = per_run(np.where(above, np.arange(prof.shape[1])[None, :], 0)) / count
    count[:, 0] = mass[:, 0] = 0.0                      # segment 0: outside every run
    has = np.asarray((count > 0).any(axis=1), bool)
    heaviest = np.argmax(mass, axis=1)
    agreed = float(np.median(middle[has, heaviest[has]])) if has.any() else 0.0
    half = 0.5 * (count - 1)
    gap = np.maximum(np.abs(middle - agreed) - half, 0.0)
    score = np.where(count > 0, gap - 1e-9 * mass, np.inf)
    run = above & (seg == np.argmin(score, axis=1)[:, None]) & has[:, None]
    peak = np.where(has, np.argmax(np.where(run, prof, -np.inf), axis=1),
                    np.argmax(prof, axis=1))
    return run, np.asarray(peak, np.intp)


DROPOUT_NEIGHBOURS = 5
"""An unmeasured cell with this many of its 8 neighbours measured is a dropout of sparse
sampling (:func:`dropouts_filled`), not a shadow."""


def dropouts_filled(hm: HeightMap) -> HeightMap:
    """``hm`` with each isolated dropout (:data:`DROPOUT_NEIGHBOURS`) filled with the mean
    of its measured neighbours and counted as measured: bilinear sampling across a path
    needs the four cells around a point, and a coarse scan's scattered dropouts left few
    sections of a square's bead seen whole."""
    valid = hm.valid.astype(np.float32)
    box = np.ones((3, 3), np.float32)
    n = cv2.filter2D(valid, -1, box, borderType=cv2.BORDER_CONSTANT) - valid
    total = cv2.filter2D(np.where(hm.valid, hm.z, 0.0).astype(np.float32), -1, box,
                         borderType=cv2.BORDER_CONSTANT)
    fill = ~hm.valid & (n >= DROPOUT_NEIGHBOURS - 0.5)
    if not fill.any():
        return hm
    return hm.with_z(np.where(fill, total / np.maximum(n, 1.0), hm.z), hm.valid | fill)


def drop_short_runs(flags: B, min_len: int) -> B:
    """``flags`` without its True runs shorter than ``min_len`` (specks are not bead)."""
    d = np.diff(np.concatenate(([0], flags.astype(np.int8), [0])))
    out = flags.copy()
    for start, end in zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1), strict=True):
        if end - start < min_len:
            out[start:end] = False
    return out


def analyse_bead(hm: HeightMap, profile: WeldTypeProfile,
                 path: BeadPath | None = None) -> BeadGeometry:
    """Find the bead. ``path`` reuses another map's nominal path (to compare two maps)."""
    if not hm.valid.any():
        raise NoBeadFoundError(None, "valid", "measured cells in the height map", "none")
    geo = profile.geometry
    closed = kind_of(profile).path.closed if path is None else path.closed
    guessed = False
    if closed:  # the path on the surface's ridge, the plates read beside it, the side again
        hm = dropouts_filled(hm)
        fit = path is None
        path = _ridge_square(hm, profile) if path is None else path
        base, excess, guessed = _square_base(hm, path, geo.bead_width_mm)
        if fit:
            mid, a = _bead_square(hm, path, excess, geo.bead_width_mm)
            moved = max(abs(a - path.half_side_mm),
                        *(abs(c - p) for c, p in zip(mid, path.centre, strict=True)))
            if moved > RING_POOL * hm.mm_per_px:  # the ridge's grid: closer is as good
                path = _square_path(mid, a, hm.mm_per_px)
                base, excess, guessed = _square_base(hm, path, geo.bead_width_mm)
    else:  # the plates opened away and bridged under the bead, then the path through it
        width_px = max(3, round(OPENING_WIDTH_FACTOR * geo.bead_width_mm / hm.mm_per_px)) | 1
        step = plate_step_mm(hm, profile)
        base = plate_base(hm, width_px, step)
        # shadows inside the bead are bridged from their neighbours: a profile stays whole
        excess = np.maximum(fill_invalid(hm, step) - base, 0.0).astype(np.float32)
        path = _fit_line(hm, excess, hm.mm_per_px) if path is None else path
    if closed:
        half = min(0.5 * profile.roi.width_mm, 0.9 * path.half_side_mm)
    else:
        half = 0.5 * profile.roi.width_mm - hm.mm_per_px
    t = np.arange(-half, half + 1e-9, hm.mm_per_px / 2)
    # presence and top height from measured cells only (a shadow hides, it does not cut)
    prof, seen_excess, seen = sample_across_each(
        hm, [excess, np.where(hm.valid, excess, 0.0), hm.valid.astype(np.float32)], path, t)
    top = seen_excess.max(axis=1).astype(np.float64)
    ref_top = float(np.percentile(top, 75))
    if ref_top < 2 * BEAD_THRESHOLD_MM:
        raise NoBeadFoundError(None, "bead", f"a ridge over {2 * BEAD_THRESHOLD_MM} mm",
                               f"{ref_top:.2f} mm")
    present = drop_short_runs(top > max(PRESENT_FRACTION * ref_top, 2 * BEAD_THRESHOLD_MM),
                               round(MIN_BEAD_RUN_MM / path.step_mm))
    run, peak = runs_around_peak(prof, BEAD_THRESHOLD_MM, agree=not closed)
    w = np.where(run, prof, 0.0)
    wsum = w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        offset = (w * t).sum(axis=1) / wsum
    tt = np.broadcast_to(t, run.shape)
    toe_pos = np.where(run, tt, -np.inf).max(axis=1)
    toe_neg = np.where(run, tt, np.inf).min(axis=1)
    nan = np.full(len(top), np.nan)
    offset = np.where(present, offset, nan)
    toe_pos = np.where(present, toe_pos, nan)
    toe_neg = np.where(present, toe_neg, nan)
    s = path.s_mm
    plate_seen = plate_is_measured(hm)
    if plate_seen:
        centre = np.where(present, offset, np.nanmedian(offset) if present.any() else 0.0)
        band = np.abs(t[None, :] - centre[:, None]) <= 0.5 * geo.bead_width_mm
        measured = (seen * band).sum(axis=1) >= 0.5 * band.sum(axis=1)
    else:
        measured = np.ones(len(top), bool)
    return BeadGeometry(
        path=path, offset_mm=offset, width_mm=toe_pos - toe_neg, top_mm=np.where(present, top, 0.0),
        toe_pos_mm=toe_pos, toe_neg_mm=toe_neg, present=present, measured=measured,
        start_s_mm=float(s[present][0]) if present.any() else 0.0,
        end_s_mm=float(s[present][-1]) if present.any() else 0.0,
        base=base, excess=excess, plate_visible=plate_seen,
        profile_t_mm=t, profiles=prof, seen_profiles=seen,
        crest_centred=crest_in_middle(run, peak),
        meta={"plate_level_guessed": float(guessed)},
    )


def find_bead(hm: HeightMap, profile: WeldTypeProfile) -> BeadGeometry | None:
    """:func:`analyse_bead`, or None when the map holds no bead (made once per scan and
    shared by the quality gate and the gauge)."""
    try:
        return analyse_bead(hm, profile)
    except NoBeadFoundError:
        return None


def crest_in_middle(run: B, peak: npt.NDArray[np.intp]) -> B:
    """Per section (a row of :func:`runs_around_peak`'s ``run`` and ``peak``), whether its
    crest lies within the middle :data:`CREST_MIDDLE_FRACTION` of what stands above the
    line from toe to toe. Where the plates step under the bead (type 7's patch), a bare
    step's edge, bridged so, stands over that line too, but as a cliff with its top at one
    end: no weld, or a cut."""
    first = np.argmax(run, axis=1)
    last = run.shape[1] - 1 - np.argmax(run[:, ::-1], axis=1)
    where = (peak - first) / np.maximum(last - first, 1)
    return np.asarray(np.abs(where - 0.5) <= CREST_MIDDLE_FRACTION / 2)
