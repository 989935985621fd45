"""One good scan's geometry, measured with no knowledge of its weld type.

Two passes, both on the production pipeline's own parts so that what is learned is what
inspection will see:

1. **A rough look** (:func:`rough_shape`): the cloud levelled on its plate (or, with no
   plate, on the bead's toes), each point's height above the surface around it
   (:func:`point_cloud.align.relief`, a disc wider than any bead), and the crest (points
   standing out by more than ``CREST_SHARE`` of the highest). The crest's principal axes tell
   the path kind: a line is long and narrow, a square path is a ring as wide as it is long,
   hollow in its middle. Its extents give a first length (line) or side (square) and width.
2. **The measurement** (:func:`survey_scan`): the scan through
   :func:`point_cloud.pipeline.scan_to_heightmap` and
   :func:`point_cloud.bead_geometry.analyse_bead` with a provisional profile made from the
   rough look, then, on the map: the bead's length (its present extent plus the end caps'
   toes), width and height over its middle, the plate level at each toe (the base the
   analysis bridged under the bead), which plates are seen beside it, the square path's
   patch and outer plate (level and tilt), the share of the expected surface lost to
   shadow, and the point spacing (from the cloud's density).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from point_cloud.align import relief, to_frame
from point_cloud.bead_geometry import (
    BEAD_THRESHOLD_MM,
    BeadGeometry,
    analyse_bead,
    runs_around_peak,
    sample_across_each,
)
from point_cloud.config import Geometry, WeldTypeProfile, scanner_model
from point_cloud.errors import NoBeadFoundError, TooFewPointsError
from point_cloud.kinds.isolated import ISOLATED
from point_cloud.kinds.line import LINE
from point_cloud.kinds.square import SQUARE_PATH
from point_cloud.level import levelling_matrix, ransac_plane
from point_cloud.outliers import clean_points
from point_cloud.pipeline import scan_to_heightmap
from point_cloud.prepare import (
    TILT_MARGIN_DEG,
    fit_reference_plane,
    subsample,
    transform_points,
)
from point_cloud.types import Cloud, HeightMap

F64 = npt.NDArray[np.float64]
PathKind = str
"""A path shape's name (:data:`point_cloud.kinds.PATHS`)."""

SUBSAMPLE_POINTS = 100_000
MIN_POINTS = 1000
RELIEF_DISC_MM = 12.0
"""The opening disc of the rough look: wider than any bead the contract allows (5-7 mm)."""
PLATE_SHARE = 0.2
"""A plane within the scanner's tilt holding this share of the points, not standing out
of the surface around it (a flat bead top), is a plate."""
CREST_SHARE = 0.4
"""Crest: points standing out of the surface by more than this share of the highest."""
LINE_RATIO = 1.8
"""A crest whose principal spreads differ by more than this factor is a line's."""
RING_HOLLOW = 0.05
"""... else a ring: at most this share of its points near its middle (a square path)."""
CREST_WIDTH_SHARE = 0.9
"""A rounded cap is about this share of its width above ``CREST_SHARE`` of its height."""
ROI_MARGIN_MM = 5.0
"""The provisional region of interest reaches this far beyond the bead's ends and sides."""
MIDDLE_SHARE = 0.3
"""Width and height are read within this share of the length each side of the middle."""
PLATE_BAND_MM = (0.5, 3.0)
"""A plate is looked for this far beyond each toe ..."""
PLATE_SEEN_SHARE = 0.5
"""... and seen where at least this share of that band was measured."""
MERGE_GAP_MM = 1.0
DENSITY_CELL_MM = 0.5
"""Point spacing from the median count of points per cell this wide."""


class CommissionScanError(ValueError):
    """A scan could not be surveyed: the message names the file and what was expected."""


@dataclass(frozen=True)
class RoughShape:
    """The rough look: path kind, first size figures (mm) and whether a plate plane shows."""

    path: PathKind
    length_mm: float  # line: bead length; square: side of the centreline square
    width_mm: float
    height_mm: float
    plate_plane: bool


@dataclass(frozen=True)
class ScanSurvey:
    """What one scan shows. ``figures`` holds the keys of :data:`FIGURES` that apply to its
    path kind (mm, degrees, shares); ``plates_seen`` is (south, north) for a line and
    (patch, outer plate) for the square path."""

    file: str
    weld_type: int | None
    path: PathKind
    plates_seen: tuple[bool, bool]
    figures: dict[str, float] = field(default_factory=dict)


FIGURES: dict[str, str] = {
    "bead_length_mm": "bead length (line), mm",
    "square_side_mm": "side of the square path's centreline, mm",
    "bead_width_mm": "bead width toe to toe, mm",
    "bead_height_mm": "bead height above the line between its toes, mm",
    "plate_south_mm": "plate level at the south toe (line), mm",
    "plate_north_mm": "plate level at the north toe (line), mm",
    "plate_step_mm": "north toe above south toe (line) / patch above the outer plate "
                     "(square), mm",
    "outer_tilt_deg": "outer plate's fall away from the bead (square), degrees",
    "shadow_fraction": "share of the expected surface not measured",
    "point_spacing_mm": "point spacing, mm",
}
"""Every figure a survey may hold, with what it means (the report's table)."""


def rough_shape(cloud: Cloud, where: str = "") -> RoughShape:
    """The rough look (module doc, step 1); :class:`NoBeadFoundError` when no ridge shows."""
    sub = subsample(cloud.points, SUBSAMPLE_POINTS)
    clean, _ = clean_points(sub)
    if len(clean) < MIN_POINTS:
        raise TooFewPointsError(where or None, "points", f">= {MIN_POINTS} finite points",
                                str(len(clean)))
    probe = WeldTypeProfile(weld_type=3, geometry=Geometry(plate=ISOLATED.name))
    plane, _ = fit_reference_plane(clean, probe, where)
    pts = transform_points(clean, levelling_matrix(plane)).astype(np.float64)
    rel = relief(pts, RELIEF_DISC_MM)
    ok = np.isfinite(rel)
    top = float(np.percentile(rel[ok], 99.5)) if ok.any() else 0.0
    crest = pts[ok & (rel > CREST_SHARE * top), :2]
    if top < 0.3 or len(crest) < MIN_POINTS // 10:
        raise NoBeadFoundError(where or None, "bead", "a ridge standing out of the surface",
                               f"{top:.2f} mm at most")
    found = ransac_plane(clean, np.random.default_rng(0),
                         max_tilt_deg=scanner_model().max_tilt_deg + TILT_MARGIN_DEG)
    plate = (found is not None and float(found[1].mean()) >= PLATE_SHARE  # not the bead's top
             and float(np.median(np.where(ok, rel, 0.0)[found[1]])) < CREST_SHARE * top)
    centre = np.median(crest, axis=0)
    evals, evecs = np.linalg.eigh(np.cov((crest - centre).T))
    ratio = math.sqrt(max(evals[1], 1e-12) / max(evals[0], 1e-12))
    if ratio >= LINE_RATIO:
        axis = evecs[:, 1]
        along = (crest - centre) @ axis
        across = (crest - centre) @ np.array([-axis[1], axis[0]])
        lo, hi = np.percentile(along, [0.5, 99.5])
        a_lo, a_hi = np.percentile(across, [2, 98])
        return RoughShape(LINE.name, float(hi - lo) + 0.5,
                          float(a_hi - a_lo) / CREST_WIDTH_SHARE, 0.9 * top, plate)
    s = np.exp(4j * np.arctan2(crest[:, 1] - centre[1], crest[:, 0] - centre[0])).sum()
    uv = to_frame(crest, centre, math.degrees(float(np.angle(-s))) / 4.0)
    cheb = np.max(np.abs(uv), axis=1)
    side = 2.0 * float(np.median(cheb))
    if float(np.mean(cheb < side / 4)) > RING_HOLLOW:
        raise NoBeadFoundError(where or None, "bead", "a straight bead or a square ring",
                               f"a crest {ratio:.1f} times longer than wide, not hollow")
    c_lo, c_hi = np.percentile(cheb, [2, 98])
    return RoughShape(SQUARE_PATH.name, side, float(c_hi - c_lo) / CREST_WIDTH_SHARE, 0.9 * top,
                      plate)


def provisional_profile(rough: RoughShape, weld_type: int = 3) -> WeldTypeProfile:
    """The profile the measurement pass runs with: the rough figures, wide limits."""
    from training.commission.paths import SURVEYS  # the path strategies use this module

    w = float(np.clip(rough.width_mm, 2.0, 20.0))
    h = float(np.clip(rough.height_mm, 0.3, 10.0))
    geo, roi = SURVEYS[rough.path].provisional(rough, w, h)
    return WeldTypeProfile(weld_type=weld_type, geometry=geo, roi=roi)


def point_spacing_mm(cloud: Cloud) -> float:
    """Mean point spacing: ``DENSITY_CELL_MM`` over the square root of the median number of
    points per occupied cell (scanner XY; the plates' tilt is a few degrees at most)."""
    xy = cloud.points[:, :2].astype(np.float64)
    xy = xy[np.isfinite(xy).all(axis=1)]
    cells = np.floor((xy - xy.min(axis=0)) / DENSITY_CELL_MM).astype(np.int64)
    flat = cells[:, 0] * (int(cells[:, 1].max()) + 1) + cells[:, 1]
    counts = np.bincount(flat)
    counts = counts[counts > 0]
    return DENSITY_CELL_MM / math.sqrt(float(np.median(counts))) if counts.size else 0.0


def bead_run_mm(geom: BeadGeometry) -> float:
    """Length of the longest stretch of the path holding bead: gaps under ``MERGE_GAP_MM``
    and gaps the scanner did not see (a shadow across the bead) are bridged; a speck beyond
    the bead's end (e.g. on a high plate's edge) is no bead."""
    idx = np.flatnonzero(geom.present)
    if idx.size == 0:
        return 0.0
    s = geom.s_mm
    unseen = np.concatenate(([0], np.cumsum(~geom.measured)))   # unmeasured samples before i
    seen_between = (unseen[idx[1:]] - unseen[idx[:-1] + 1]) < (idx[1:] - idx[:-1] - 1)
    breaks = np.flatnonzero((np.diff(s[idx]) > MERGE_GAP_MM) & seen_between)
    starts = np.concatenate(([0], breaks + 1))
    ends = np.concatenate((breaks, [idx.size - 1]))
    return float((s[idx[ends]] - s[idx[starts]]).max())


def _middle(geom: BeadGeometry, path: PathKind) -> npt.NDArray[np.bool_]:
    """Path samples of the bead's straight middle (its path's, :mod:`.paths`: the central
    part of a line, the middle of each side of the square), where the bead is present."""
    from training.commission.paths import SURVEYS

    return SURVEYS[path].middle(geom) & geom.present & geom.measured


def sections_across(hm: HeightMap, geom: BeadGeometry, rows: npt.NDArray[np.bool_]
              ) -> tuple[F64, F64]:
    """(z across the path at the ``rows`` samples, NaN where not measured; offsets t)."""
    t = geom.profile_t_mm
    z, seen = sample_across_each(hm, [hm.z, hm.valid.astype(np.float32)], geom.path, t)
    zs = np.where(seen[rows] > 0.99, z[rows], np.nan).astype(np.float64)
    return _bridge_gaps(zs), t


def _bridge_gaps(zs: F64) -> F64:
    """Unmeasured cells between two measured ones of a row, interpolated linearly (a coarse
    scanner leaves empty cells in a fine map; a shadow across the bead is bridged too)."""
    ok = np.isfinite(zs)
    j = np.arange(zs.shape[1])
    prev = np.maximum.accumulate(np.where(ok, j, -1), axis=1)
    nxt = np.minimum.accumulate(np.where(ok, j, zs.shape[1])[:, ::-1], axis=1)[:, ::-1]
    inner = ~ok & (prev >= 0) & (nxt < zs.shape[1])
    if not inner.any():
        return zs
    rows = np.nonzero(inner)[0]
    p, n = prev[inner], nxt[inner]
    w = (j[np.nonzero(inner)[1]] - p) / (n - p)
    out = zs.copy()
    out[inner] = (1 - w) * zs[rows, p] + w * zs[rows, n]
    return out


def side_level(zs: F64, t: F64, toe: float, sign: float, unseen: float
                ) -> tuple[float, bool]:
    """(level at the toe on one side, a plate seen there): the median of the plate band
    beyond the toe where it was measured, else ``unseen``, the level the pipeline put that
    toe at from the cloud's points (a removed plate leaves only the bead's points standing
    above it, and the map's outermost cells sit high on a steep flank)."""
    off = sign * (t - toe)
    band = (off >= PLATE_BAND_MM[0]) & (off <= PLATE_BAND_MM[1])
    vals = zs[:, band]
    if band.any() and float(np.isfinite(vals).mean()) >= PLATE_SEEN_SHARE:
        return float(np.nanmedian(vals)), True
    return unseen, False


def relief_figures(zs: F64, t: F64, low_neg: float, low_pos: float) -> tuple[float, float]:
    """(width, height) in mm of the bead in cross-sections ``zs`` (rows over offsets ``t``,
    NaN unmeasured) standing between plate levels ``low_neg`` (negative side) and
    ``low_pos``: per row the run above the levels by ``BEAD_THRESHOLD_MM`` that holds the
    peak gives the toes; the height is the most the row stands above the straight line
    between them; medians over the rows."""
    level = np.where(t < 0, low_neg, low_pos)[None, :]
    above = np.nan_to_num(zs - level, nan=0.0)
    run, _ = runs_around_peak(above.astype(np.float32), BEAD_THRESHOLD_MM)
    ok = run.any(axis=1)
    if not ok.any():
        return 0.0, 0.0
    tt = np.broadcast_to(t, zs.shape)
    toe_neg = np.where(run, tt, np.inf).min(axis=1)[ok]
    toe_pos = np.where(run, tt, -np.inf).max(axis=1)[ok]
    frac = (t[None, :] - toe_neg[:, None]) / (toe_pos - toe_neg)[:, None]
    line = low_neg + np.clip(frac, 0.0, 1.0) * (low_pos - low_neg)
    rel = np.where(run[ok], zs[ok] - line, -np.inf)
    return float(np.median(toe_pos - toe_neg)), float(np.median(rel.max(axis=1)))


END_ALLOWANCE_MM = 0.3
"""A rounded end falls below the presence threshold (30 % of the top) this far inside its
toe: the present extent plus twice this is the bead's length (measured on simulated welds)."""


def _shadow_fraction(geom: BeadGeometry, width: float, sides: tuple[bool, bool]) -> float:
    """Share of the expected surface not measured: the bead's footprint along its present
    samples, and the plate bands beside it on the sides a plate is seen."""
    t = geom.profile_t_mm
    want = np.abs(t) <= width / 2
    for sign, seen in zip((-1.0, 1.0), sides, strict=True):
        if seen:
            want |= (sign * t > width / 2) & (sign * t <= width / 2 + PLATE_BAND_MM[1])
    rows = geom.present
    if not rows.any() or not want.any():
        return 0.0
    return float(1.0 - geom.seen_profiles[np.ix_(rows, want)].mean())


def survey_cloud(cloud: Cloud, file: str = "") -> ScanSurvey:
    """Measure one good weld's geometry (module doc). Raises the pipeline's
    :class:`~point_cloud.errors.ScanError` subclasses for a scan it cannot use."""
    rough = rough_shape(cloud, file)
    profile = provisional_profile(rough)
    hm = scan_to_heightmap(cloud, profile)
    geom = analyse_bead(hm, profile)
    middle = _middle(geom, rough.path)
    if middle.sum() < 5:
        raise NoBeadFoundError(file or None, "bead", "a measured straight middle",
                               f"{int(middle.sum())} samples")
    from training.commission.paths import SURVEYS

    figures, sides = SURVEYS[rough.path].figures(hm, geom, middle)
    figures.update({"shadow_fraction": _shadow_fraction(geom, figures["bead_width_mm"], sides),
                    "point_spacing_mm": point_spacing_mm(cloud)})
    wt = cloud.identity.weld_type if cloud.identity is not None else None
    return ScanSurvey(file, wt, rough.path, sides,
                      {k: round(float(v), 4) for k, v in figures.items()})


def survey_file(path: Path) -> ScanSurvey:
    """:func:`survey_cloud` of a scan file (any contract format)."""
    from point_cloud.read import read_scan

    return survey_cloud(read_scan(path), str(path))
