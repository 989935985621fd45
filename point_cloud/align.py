"""Find the bead in a levelled (sub)sample and its pose: centre (x, y) and rotation about Z.

Both finders work on the bead's *crest band*: points whose height (de-ramped across the bead
where it spans a plate step, the lap fillet of the "upper" kind: by the step prepare measured,
else the nominal 1.5 mm) lies within ``CREST_DROP`` x the nominal bead height of the top.
The band is symmetric about the bead centreline, which makes it robust to plates, the fillet
ramp and shadows on one flank. Plates seen beside a stepped bead are kept out of it (a high
upper plate reaches its height along its edge); around the square path, so is anything that
does not stand out of the surface around it (an outer plate rising away from the ring).

* line welds: the band is split into 2 mm bins along X. Thin bins, and bins narrower or wider
  than the common band width (shadows, end caps; a ball or a lump) are left out; the
  mid-range Y of each remaining bin gives a centreline, fitted by least squares through the
  consensus of the bins (twice, dropping bins > 0.3 mm off, less on a short bead) within the
  scanner's rotation range; the centre X
  is the midpoint of the two rounded end caps' centres (:mod:`point_cloud.end_caps`). Where a
  cap lies in shadow, it is the midpoint of the band's extent along the fitted axis (robust
  percentiles), or half a bead length inside the visible end.
* the square path (type 7): orientation modulo 90 deg from the 4th angular harmonic of
  the band around its centre, then corrected by the four sides' centrelines (twice at
  most); the centre is the midpoint of the band's extents along the square's axes, of its
  points on the ring (within the bead's footprint of the current square) where some are
  off it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from point_cloud.config import WeldTypeProfile, scanner_model
from point_cloud.end_caps import cap_centre, on_flank
from point_cloud.errors import NoBeadFoundError
from point_cloud.kinds import kind_of
from point_cloud.outliers import bbox_grid
from point_cloud.project import cell_indices, nearest_fill, reduce_cells, to_pixels
from point_cloud.types import F32, Mask

F64 = npt.NDArray[np.float64]
RELIEF_CELL_MM = 0.4
OPENING_FACTOR = 1.7
"""The opening that finds the surface under a bead is this many nominal bead widths across."""
EDGE_MM = 1.5
RELIEF_FRACTION = 0.1
"""Square path: crest points stand this fraction of the nominal bead height out of the
surface around them (a bead across a step stands out of the higher plate by its height less
half the step)."""
CREST_DROP = 0.35
"""Crest band: within this fraction of the nominal bead height below the top."""
BIN_MM = 2.0
NARROW_BIN = 0.85
"""A bin whose band is narrower than this x the common width is partly shadowed (or an end
cap): its midpoint is off the centreline."""
WIDE_BIN = 1.15
"""A bin whose band is wider than this x the common width (:func:`_common_width`) holds
more than the bead: a ball or a lump beside it."""
WIDTH_AGREE = 0.05
"""Bins whose band widths differ by less than this fraction are alike."""
ROTATION_MARGIN_DEG = 3.0
"""A line bead's angle stays within the scanner's rotation tolerance plus this."""
LINE_TOL_MM = 0.3
"""A bin's centre further than this from the fitted centreline is not on the straight bead."""
LINE_TOL_LENGTH_MM = 22.5
"""Bins further than LINE_TOL_MM from the line of a bead this long or longer are off it; on
a shorter bead proportionally less (type 9, 15 mm: 0.2 mm), so that one bin spoilt at an end
cannot pull a line through its few others (1.4 deg off, seen on type 9)."""
EXTENT_Q = (0.2, 99.8)
SQUARE_FITS = 6
SQUARE_SETTLED_MM = 0.01
"""The square's centre is fitted 3 times; while band points off its ring are left out, on
until it moves less than this (SQUARE_FITS at most)."""
RING_MARGIN_MM = 1.5
"""Square path: crest-band points further than this outside the bead's nominal footprint
around the current centre are not on its ring."""
SIDE_FITS = 2
SIDE_SETTLED_DEG = 0.05
"""The square's sides are refitted in the corrected frame until they turn it less than this
(one correction from the four-fold moment's angle left 0.9 deg, type 7 at 2 M points)."""
HALF_BAND_GAP_MM = 0.3
"""Half-band ends further apart than this mean a shadow over one flank at that end."""
MIN_BAND_POINTS = 200
END_HALF_BAND_INSET_MM = 1.5
"""Crest band half length = bead_length / 2 - this (rounded end and crater), measured."""
TOE_END_FRACTION = 0.2
TOE_END_INSET_MM = 0.2
"""A rounded bead end falls to 20 % of its height about 0.2 mm inside its tip (measured)."""
PLATE_BAND_MM = 0.1
"""Points this close to the level of a plate seen beside a stepped bead are plate, not crest."""
PLATE_BAND_SIGMAS = 4.0
PLATE_BAND_MAX_MM = 0.25
"""4 sigma of the contract's noisiest scanner (0.05 mm) and a little more."""
NOISE_PROBE_MM = 0.4
"""Points within this of a plate's level measure its noise (:func:`plate_band_mm`)."""
CAP_PLATE_MARGIN_MM = 0.2
"""Lap fillet: cap points at least this far south of the centreline (the plate's edge)."""


@dataclass(frozen=True)
class BeadPose:
    """Where the bead is in the levelled frame, and rough size figures."""

    centre_xy: tuple[float, float]
    angle_deg: float
    length_mm: float
    top_mm: float
    band_points: int
    step_mm: float = 0.0
    """The plate step across the bead (north minus south toe level) the pose was fitted with."""
    flat_mm: tuple[float, ...] = ()
    """Levels of plates seen beside the bead, whose points were kept out of its crest band."""


def nominal_step_mm(profile: WeldTypeProfile) -> float:
    """The type's default plate step across a straight bead (its geometry kind's: the lap
    fillet's upper plate, else 0, one plate level on both sides)."""
    return kind_of(profile).nominal_step_mm


def _rot(deg: float) -> F64:
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[c, -s], [s, c]])


def to_frame(xy: F64, centre: F64, deg: float) -> F64:
    """``(xy - centre) @ _rot(deg)``: coordinates in the frame at ``centre`` turned by ``deg``.
    Column by column, because numpy's (N, 2) broadcasts and matmuls run a 2-element inner
    loop per row (10x slower on the crest band)."""
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    dx, dy = xy[:, 0] - centre[0], xy[:, 1] - centre[1]
    return np.stack([dx * c + dy * s, dy * c - dx * s], axis=1)


def plate_band_mm(offsets: F64) -> float:
    """How far from a plate's level its points reach: :data:`PLATE_BAND_MM`, or 4 sigma of
    the scanner's noise where it is higher (robust spread of ``offsets``, the |z - level|
    of the points near it; a noisy scanner's plate would otherwise leave a seam of points
    beyond the band that reads as a crest)."""
    if offsets.size < MIN_BAND_POINTS:
        return PLATE_BAND_MM
    # |N(0, s)| has its lower quartile at 0.3186 s; the low quantile keeps bead flanks that
    # pass through the level (spread evenly over the probe) from inflating the estimate
    sigma = float(np.percentile(offsets, 25)) / 0.3186
    return float(np.clip(PLATE_BAND_SIGMAS * sigma, PLATE_BAND_MM, PLATE_BAND_MAX_MM))


def crest_band(points: F32, profile: WeldTypeProfile, where: str = "",
               angle_deg: float = 0.0, top: float | None = None,
               step_mm: float = 0.0, flat_mm: tuple[float, ...] = ()) -> tuple[F64, float]:
    """XY of the crest-band points and the bead top height (mm, levelled frame; ``top``
    when given, e.g. from a first fit on a wider area).

    Across a plate step (a lap fillet: ``step_mm``, north minus south) the height is first
    de-ramped across the bead (whose axis is at ``angle_deg``) by the step over its width;
    points on the plates at levels ``flat_mm`` are left out (a high step's upper plate
    would reach the band along its edge, beyond the bead's ends). The square path's band
    keeps to points standing out of the surface around them (:func:`relief`): an outer
    plate rising away from the ring reaches the crest's height further out."""
    p = np.asarray(points, dtype=np.float64)
    x0 = float(p[:, 0].min()) if len(p) else 0.0  # the X-bins of all points (_ridge_top)
    for level in flat_mm:
        off = np.abs(p[:, 2] - level)
        p = p[off > plate_band_mm(off[off < NOISE_PROBE_MM])]
    g, path = profile.geometry, kind_of(profile).path
    base = float(np.percentile(p[:, 2], 5.0)) if len(p) else 0.0
    if path.closed:
        p = p[relief(p, OPENING_FACTOR * g.bead_width_mm) >= RELIEF_FRACTION * g.bead_height_mm]
    z = p[:, 2].copy()
    if step_mm:
        a = math.radians(angle_deg)
        across = p[:, 1] * math.cos(a) - p[:, 0] * math.sin(a)
        z -= step_mm / g.bead_width_mm * across
        base = float(np.percentile(z, 5.0)) if z.size else 0.0
    top = _ridge_top(p[:, 0], z, path.crest_length_mm(g), x0) if top is None else top
    drop = CREST_DROP * g.bead_height_mm
    band = (z >= top - drop) & (z <= top + drop)
    if band.sum() < MIN_BAND_POINTS or top - base < 0.4 * g.bead_height_mm:
        raise NoBeadFoundError(where or None, "bead",
                               f"a ridge about {g.bead_height_mm:g} mm high",
                               f"height span {top - base:.2f} mm, {int(band.sum())} crest points")
    return p[band, :2], top


def relief(points: F64, width_mm: float, cell_mm: float = RELIEF_CELL_MM) -> F64:
    """Each point's height above the surface around it: a grey-level opening (a disc
    ``width_mm`` across, wider than the bead) of the points' highest per cell removes the
    bead and keeps plates, steps and slopes, whichever way they run. Empty cells (beyond a
    turned scan's edges, crops, shadows) take the nearest seen cell's height. Within
    ``EDGE_MM`` of where nothing was seen no disc can be fitted beyond a point: no relief
    there (-inf)."""
    pts = points.astype(np.float32)
    grid = bbox_grid(pts, cell_mm)
    u, v, z = to_pixels(pts, grid.index_matrix())
    flat = cell_indices(u, v, grid)
    top, seen = reduce_cells(flat, z, grid.n_cells)
    seen = seen.reshape(grid.rows, grid.cols)
    img = nearest_fill(top.reshape(grid.rows, grid.cols), seen)
    size = max(3, round(width_mm / cell_mm)) | 1
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    pad = size // 2 + 1  # so that a disc can sit beyond an edge cell too (a slope up to it)
    wide = cv2.copyMakeBorder(img.astype(np.float32), pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    base = cv2.morphologyEx(wide, cv2.MORPH_OPEN, disc)[pad:-pad, pad:-pad]
    near = round(EDGE_MM / cell_mm) * 2 + 1  # the subsample's own gaps are no edge
    scanned = cv2.morphologyEx(np.pad(seen, 1).astype(np.uint8), cv2.MORPH_CLOSE,
                               np.ones((near, near), np.uint8))
    inner = cv2.distanceTransform(scanned, cv2.DIST_L2, 3)[1:-1, 1:-1]
    base = np.where(inner * cell_mm > EDGE_MM, base, np.inf).ravel()
    return np.asarray(z - np.append(base, np.float32(np.inf))[flat], dtype=np.float64)


def _ridge_top(x: F64, z: F64, bead_length: float, x0: float) -> float:
    """Bead top height: over 2 mm X-bins from ``x0``, the highest point of each; the bin
    ranked at half the bead's nominal bin count gives the top. A lump or a one-sided excess
    raises fewer bins than that and leaves the top where the bead is; plate-only bins rank
    below."""
    if z.size == 0:
        return 0.0
    bins = np.floor((x - x0) / BIN_MM).astype(np.intp)
    peak = np.full(int(bins.max()) + 1, -np.inf)
    np.maximum.at(peak, bins, z)
    peak = np.sort(peak[np.isfinite(peak)])[::-1]
    rank = min(peak.size - 1, max(0, round(0.5 * bead_length / BIN_MM)))
    return float(peak[rank])


def _line_fit(xy: F64, angles: tuple[float, float] = (-90.0, 90.0),
              tol: float = LINE_TOL_MM) -> tuple[float, float, float]:
    """(slope, intercept, angle) of the per-bin centreline y = a x + b, its angle (deg) within
    ``angles`` (:func:`_consensus_bins`)."""
    bins = np.floor((xy[:, 0] - xy[:, 0].min()) / BIN_MM).astype(np.intp)
    order = np.argsort(bins, kind="stable")
    b_sorted, y_sorted, x_sorted = bins[order], xy[order, 1], xy[order, 0]
    starts = np.flatnonzero(np.r_[True, np.diff(b_sorted) > 0])
    ends = np.r_[starts[1:], b_sorted.size]
    counts = ends - starts
    spread = np.maximum.reduceat(y_sorted, starts) - np.minimum.reduceat(y_sorted, starts)
    # Drop thin or narrow bins (end caps and partly shadowed stretches bias them) and wide
    # ones (a ball or a lump beside the bead adds to the band there).
    keep = ((counts >= max(10.0, 0.7 * float(np.median(counts))))
            & (spread >= NARROW_BIN * float(np.median(spread))))
    common = _common_width(spread)
    # where shadows narrow many bins their median is low: the common width rules then
    for rule in (spread >= NARROW_BIN * common, spread <= WIDE_BIN * common):
        if (keep & rule).sum() >= max(3.0, 0.5 * keep.sum()):  # else the width itself varies
            keep = keep & rule
    cx = np.array([np.median(x_sorted[s:e]) for s, e in zip(starts[keep], ends[keep], strict=True)])
    # Mid-range of the band's edges: far less noisy than the median for a uniform band.
    y_max, y_min = np.maximum.reduceat(y_sorted, starts), np.minimum.reduceat(y_sorted, starts)
    cy = (0.5 * (y_max + y_min))[keep]
    use = _consensus_bins(cx, cy, angles, tol)
    a, b = 0.0, float(np.median(cy)) if cy.size else 0.0
    lo, hi = (math.tan(math.radians(v)) for v in angles)
    for _ in range(2):
        if use.sum() < 2:
            break
        a = min(hi, max(lo, float(np.polyfit(cx[use], cy[use], 1)[0])))
        b = float(np.median(cy[use] - a * cx[use])) if a in (lo, hi) else float(
            np.mean(cy[use] - a * cx[use]))  # least squares, or the steepest line allowed
        use = np.abs(cy - (a * cx + b)) <= tol
    return a, b, math.degrees(math.atan(a))


def _common_width(spread: F64) -> float:
    """The band's width where it is the bead's alone: the median of the largest group of bins
    whose widths agree within ``WIDTH_AGREE`` (shadows narrow bins by differing amounts, a
    lump widens a few)."""
    close = np.abs(spread[:, None] - spread[None, :]) <= WIDTH_AGREE * spread[:, None]
    return float(np.median(spread[close[int(np.argmax(close.sum(axis=1)))]]))


def _consensus_bins(cx: F64, cy: F64, angles: tuple[float, float] = (-90.0, 90.0),
                    tol: float = LINE_TOL_MM) -> npt.NDArray[np.bool_]:
    """Bins within ``tol`` of the line through the most bins (exhaustive pair RANSAC, ties:
    least residual), among lines at ``angles`` (deg, low and high).

    The straight majority of the bead wins over a bent stretch (a deviation), a lump or a
    one-sided excess, which a least-squares start would follow. On a short bead (few bins)
    a line across a bend can tie with the bead's own; the pose's known range of rotation
    rules out the steep ones."""
    n = cx.size
    if n < 3:
        return np.ones(n, dtype=bool)
    i, j = np.triu_indices(n, k=1)
    far = np.abs(cx[j] - cx[i]) >= 2 * BIN_MM
    i, j = i[far], j[far]
    if i.size == 0:
        return np.ones(n, dtype=bool)
    slope = (cy[j] - cy[i]) / (cx[j] - cx[i])
    lo, hi = (math.tan(math.radians(v)) for v in angles)
    allowed = (slope >= lo) & (slope <= hi)
    if allowed.any():
        i, j, slope = i[allowed], j[allowed], slope[allowed]
    icpt = cy[i] - slope * cx[i]
    resid = np.abs(cy[None, :] - (slope[:, None] * cx[None, :] + icpt[:, None]))
    inl = resid <= tol
    score = inl.sum(axis=1) - np.where(inl, resid, 0.0).sum(axis=1) / (tol * n + 1.0)
    return np.asarray(inl[int(np.argmax(score))])


def _band_ends(along: F64, off: F64, on_line: Mask, split_halves: bool) -> tuple[float, float]:
    """Robust ends of the band along the axis (percentiles of the on-line points).

    With ``split_halves``: a shadow over one flank at a bead end shortens that half of the
    band only; its other half still reaches the tip. So where the two half-bands' ends differ
    by more than ``HALF_BAND_GAP_MM``, the outer one is the end; otherwise (no shadow: both
    halves end alike at the rounded tip) the whole band's percentile is, which is less
    noisy."""
    lo, hi = (float(v) for v in np.percentile(along[on_line], EXTENT_Q))
    if not split_halves:
        return lo, hi
    halves = [on_line & (off < 0), on_line & (off >= 0)]
    if min(int(h.sum()) for h in halves) < MIN_BAND_POINTS // 2:
        return lo, hi
    ends = np.array([np.percentile(along[h], EXTENT_Q) for h in halves])
    if abs(ends[0, 0] - ends[1, 0]) > HALF_BAND_GAP_MM:
        lo = float(ends[:, 0].min())
    if abs(ends[0, 1] - ends[1, 1]) > HALF_BAND_GAP_MM:
        hi = float(ends[:, 1].max())
    return lo, hi


def _line_pose(xy: F64, half_width: float, split_halves: bool, max_angle: float,
               tol: float, start: tuple[float, F64] = (0.0, np.zeros(2)),
               fits: int = 2) -> tuple[float, F64, float]:
    """(angle deg, centre xy, extent along the axis) of a crest band; fitted ``fits`` times,
    each in the frame of the one before, so oblique bins at the tips cannot bias it.
    The extent counts only band points within ``half_width`` of the fitted centreline, so
    a lump beside the bead cannot stretch it. The angle stays within +-``max_angle``.
    ``start``: the (angle, centre) whose frame the first fit runs in."""
    angle, centre = start[0], np.asarray(start[1], dtype=np.float64)
    lo = hi = 0.0
    for _ in range(fits):
        uv = to_frame(xy, centre, angle)  # into the current estimate's frame
        a, b, d_angle = _line_fit(uv, (-max_angle - angle, max_angle - angle), tol)
        angle += d_angle
        axis = np.array([math.cos(math.radians(d_angle)), math.sin(math.radians(d_angle))])
        off = uv[:, 1] - (a * uv[:, 0] + b)
        on_line = np.abs(off) <= half_width
        if on_line.sum() < MIN_BAND_POINTS:
            on_line[:] = True
        lo, hi = _band_ends(uv @ axis, off, on_line, split_halves)
        normal = np.array([-axis[1], axis[0]])
        local = 0.5 * (lo + hi) * axis + b * axis[0] * normal
        centre = centre + _rot(angle - d_angle) @ local
    return angle, centre, float(hi - lo)


def _toe_end(p: F64, uv: F64, sign: float, base: float, top: float) -> float | None:
    """Where the bead's centreline falls to ``TOE_END_FRACTION`` of its height at the
    ``sign`` end (bead-frame u), or None without enough points. The surface is steep and
    ripple-free there, so this end moves far less than the crest band's end."""
    tall = (np.abs(uv[:, 1]) < 0.5) & (p[:, 2] > base + TOE_END_FRACTION * (top - base))
    reach = np.sort(sign * uv[tall, 0])
    return sign * float(reach[-2]) if reach.size >= 10 else None  # 2nd: one stray point


def _shadowed_end_correction(points: F32, profile: WeldTypeProfile, angle: float,
                             centre: F64, length: float, top: float) -> F64:
    """Move the centre along the bead when the crest band is short because of a shadow.

    A real end has plate points beyond it (where a plate is emitted) and a full set of
    points just inside its toe; a shadowed end lacks one or the other (the second test on
    plates of a kind whose ends are found by their toes). When exactly one end is shadowed,
    the centre is put half a bead length inside the other end's toe (:func:`_toe_end`) or crest-band
    end (``END_HALF_BAND_INSET_MM``); otherwise the crest band's midpoint stands."""
    g, kind = profile.geometry, kind_of(profile)
    half_band = g.bead_length_mm / 2 - END_HALF_BAND_INSET_MM
    if not kind.plate_scanned or length > 2 * half_band - 0.5:
        return centre
    p = np.asarray(points, dtype=np.float64)
    uv = to_frame(p, centre, angle)
    near_axis = np.abs(uv[:, 1]) < 1.5
    ends = (-length / 2, length / 2)
    shadowed = []
    support = []
    for sign, end in zip((-1.0, 1.0), ends, strict=True):
        beyond = sign * (uv[:, 0] - end)
        shadowed.append(int(np.count_nonzero(near_axis & (beyond > 0.5) & (beyond < 2.5))) < 5)
        support.append(int(np.count_nonzero(near_axis & (beyond > -2.5) & (beyond <= 0.0))))
    if kind.ends_by_toe and not any(shadowed):          # a shadow across the end's toe
        shadowed = [s < 0.7 * max(support) for s in support]
    if shadowed[0] == shadowed[1]:
        return centre
    k = 1 if shadowed[0] else 0                           # the visible end
    sign = (-1.0, 1.0)[k]
    toe = None
    if kind.ends_by_toe:
        toe = _toe_end(p, uv, sign, float(np.percentile(p[:, 2], 5.0)), top)
    if toe is None:
        shift = ends[k] - sign * half_band
    else:
        shift = toe - sign * (g.bead_length_mm / 2 - TOE_END_INSET_MM)
    return centre + _rot(angle) @ np.array([shift, 0.0])


def _cap_heights(p: F64, uv: F64, profile: WeldTypeProfile,
                 step_mm: float) -> tuple[F64, Mask]:
    """Each point's height above the bead's base, and where that is the bead cap's alone.
    Across a plate step (a lap fillet, the lower plate at z = 0) the height is de-ramped
    across the bead, and only points south of the upper plate's edge (which runs under
    the centreline) count."""
    if not step_mm:
        return p[:, 2], np.ones(len(p), dtype=bool)
    ramp = step_mm / 2 + step_mm / profile.geometry.bead_width_mm * uv[:, 1]
    return p[:, 2] - ramp, uv[:, 1] < -CAP_PLATE_MARGIN_MM


def _cap_end_centre(points: F32, profile: WeldTypeProfile, angle: float, centre: F64,
                    length: float, step_mm: float) -> F64 | None:
    """Bead centre at the midpoint of its two end caps' centres (:mod:`point_cloud.end_caps`),
    or None when a cap has too few flank points (a shadow over it)."""
    g = profile.geometry
    p = np.asarray(points, dtype=np.float64)
    uv = to_frame(p, centre, angle)
    height, usable = _cap_heights(p, uv, profile, step_mm)
    flank = on_flank(height, usable, g.bead_height_mm)  # once for both caps
    uv, height = uv[flank], height[flank]
    caps = [cap_centre(uv, height, usable[flank], sign, sign * length / 2, g.bead_width_mm / 2,
                       g.bead_height_mm) for sign in (-1.0, 1.0)]
    if caps[0] is None or caps[1] is None:
        return None
    return centre + _rot(angle) @ np.array([0.5 * (caps[0] + caps[1]), 0.0])


def find_line_bead(points: F32, profile: WeldTypeProfile, where: str = "",
                   hint: BeadPose | None = None, coarse: bool = False,
                   step_mm: float | None = None, flat_mm: tuple[float, ...] = ()) -> BeadPose:
    """Pose of a straight bead along roughly +X; refined from ``hint`` (its frame, its top,
    its step) when given, as on a denser sample of the area around a first fit. ``coarse``:
    a first look only (the crest band's midpoint, no end caps), when such a refit follows.
    ``step_mm``: the plate step across the bead (north minus south toe level, the south
    one at z = 0); None: the hint's, else the type's nominal one. ``flat_mm``: levels of
    plates seen beside a stepped bead (:func:`crest_band`; with a hint, the hint's)."""
    step = (hint.step_mm if hint is not None else nominal_step_mm(profile)) \
        if step_mm is None else step_mm
    flat = hint.flat_mm if hint is not None else flat_mm
    upper = bool(step)
    half_width = 0.5 * profile.geometry.bead_width_mm
    split = not kind_of(profile).ends_by_toe  # shadowed ends by their toes, or split
    max_angle = scanner_model().max_rotation_deg + ROTATION_MARGIN_DEG
    tol = LINE_TOL_MM * min(1.0, profile.geometry.bead_length_mm / LINE_TOL_LENGTH_MM)
    if hint is not None:
        xy, top = crest_band(points, profile, where, hint.angle_deg if upper else 0.0,
                             hint.top_mm, step, flat)
        angle, centre, length = _line_pose(xy, half_width, split, max_angle, tol,
                                           (hint.angle_deg, np.asarray(hint.centre_xy)), 1)
    else:
        xy, top = crest_band(points, profile, where, step_mm=step, flat_mm=flat)
        # a first look's first pass only sets the axis to de-ramp across: one fit will do
        angle, centre, length = _line_pose(xy, half_width, split, max_angle, tol,
                                           fits=1 if coarse and upper else 2)
        if upper:  # de-ramped across the fitted axis, then fitted again
            xy, top = crest_band(points, profile, where, angle, step_mm=step, flat_mm=flat)
            angle, centre, length = _line_pose(xy, half_width, split, max_angle, tol)
        if coarse:
            return BeadPose((float(centre[0]), float(centre[1])), angle, length, top, len(xy),
                            step, flat)
    caps = _cap_end_centre(points, profile, angle, centre, length, step)
    if caps is None:  # a cap in shadow: the crest band and the other end's toe
        centre = _shadowed_end_correction(points, profile, angle, centre, length, top)
    else:
        centre = caps
    return BeadPose((float(centre[0]), float(centre[1])), angle, length, top, len(xy), step,
                    flat)


def _side_correction_deg(xy: F64, centre: F64, angle: float, side_mm: float) -> float:
    """Median angle error of the four sides' centrelines (corners excluded)."""
    errs = []
    for k in range(4):
        uv = to_frame(xy, centre, angle + 90.0 * k)
        sel = (uv[:, 1] > side_mm / 2 - 3.0) & (np.abs(uv[:, 0]) < side_mm / 2 - 4.0)
        if sel.sum() >= 50:
            errs.append(_line_fit(uv[sel])[2])
    return float(np.median(errs)) if errs else 0.0


def _box_centre(xy: F64) -> F64:
    """Midpoint of the band's robust XY extents: the centre of any centrally symmetric
    path (the square at any rotation), to within what a shadow takes off a corner."""
    lo, hi = np.percentile(xy, EXTENT_Q, axis=0)
    return np.asarray(0.5 * (lo + hi))


def square_centre(points: F32, profile: WeldTypeProfile, where: str = "") -> F64:
    """Rough centre of the square path (no rotation fit): enough to pick its inner patch."""
    return _box_centre(crest_band(points, profile, where)[0])


def find_square_bead(points: F32, profile: WeldTypeProfile, where: str = "") -> BeadPose:
    """Pose of the square path (rotation modulo 90 deg, in (-45, 45])."""
    g = profile.geometry
    band, top = crest_band(points, profile, where)
    centre = _box_centre(band)
    angle = 0.0
    for fit in range(SQUARE_FITS):
        xy = band
        s = np.exp(4j * np.arctan2(xy[:, 1] - centre[1], xy[:, 0] - centre[0])).sum()
        angle = math.degrees(float(np.angle(-s))) / 4.0
        uv = to_frame(xy, centre, angle)  # coordinates along the square's own axes
        ring = (np.abs(np.maximum(np.abs(uv[:, 0]), np.abs(uv[:, 1])) - g.square_side_mm / 2)
                <= g.bead_width_mm / 2 + RING_MARGIN_MM)  # not a plate's edge further out
        if MIN_BAND_POINTS <= ring.sum() < len(ring):
            xy, uv = xy[ring], uv[ring]
        lo, hi = np.percentile(uv, EXTENT_Q, axis=0)
        move = _rot(angle) @ (0.5 * (lo + hi))
        centre = centre + move
        if fit >= 2 and (ring.all() or float(np.hypot(*move)) < SQUARE_SETTLED_MM):
            break
    for _ in range(SIDE_FITS):  # until the sides agree with the frame they are fitted in
        correction = _side_correction_deg(xy, centre, angle, profile.geometry.square_side_mm)
        angle += correction
        if abs(correction) < SIDE_SETTLED_DEG:
            break
    side = float(np.mean(hi - lo))
    return BeadPose((float(centre[0]), float(centre[1])), angle, side, top, len(xy))


def find_bead(points: F32, profile: WeldTypeProfile, where: str = "",
              hint: BeadPose | None = None, coarse: bool = False,
              step_mm: float | None = None, flat_mm: tuple[float, ...] = ()) -> BeadPose:
    """Dispatch on the type's path (line or square); ``hint``, ``coarse``, ``step_mm``,
    ``flat_mm``: see :func:`find_line_bead` (the square path's crest band is symmetric
    across any step)."""
    if kind_of(profile).path.closed:
        return find_square_bead(points, profile, where)
    return find_line_bead(points, profile, where, hint, coarse, step_mm, flat_mm)
