"""Prepare a scan for projection: drop outliers, level the plate, find and align the bead.

Everything that *decides* (plane, bead pose, local reference surface) runs on a fixed-size
random subsample, so its cost does not grow with the cloud; the full cloud is touched only
by the final single pass in :func:`prepare_and_project` (one affine transform straight to
pixel coordinates, flat cell indices, an outlier test against the local reference surface
and a per-cell max).

What ``z = 0`` means is each geometry kind's choice (its ``reference_plane``, one module
per kind in :mod:`point_cloud.kinds`): the plate the bead sits on, the lower plate of a lap
fillet, an isolated bead's kept plate or toe plane, or type 7's patch. Stepped plates (a lap
fillet's, ``nominal_step_mm`` != 0): once the bead is found, the plates' levels at its two
toes are measured (:mod:`point_cloud.plates`); where they differ from what was assumed (a step
of 1-3 mm, the upper plate cropped, the lower one in the scan) by more than ``LEVEL_TOL_MM``,
the frame is shifted to put the lower plate at 0 and the bead found again across the
measured step (``LAYOUT_FITS`` times at most).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from point_cloud.align import PLATE_BAND_MM, BeadPose, find_bead, nominal_step_mm
from point_cloud.arrays import select_rows
from point_cloud.config import WeldTypeProfile, scanner_model
from point_cloud.errors import NoFinitePointsError, TooFewPointsError
from point_cloud.kinds import kind_of
from point_cloud.level import Plane, levelling_matrix, ransac_plane
from point_cloud.outliers import (
    clean_points,
    finite_rows,
    inlier_indices,
    robust_surface,
    with_dump,
)
from point_cloud.plates import plate_levels
from point_cloud.project import CellReducer, Grid, Reduce, cell_indices, to_pixels
from point_cloud.threads import cores, pool
from point_cloud.types import F32, Cloud, HeightMap

F64 = npt.NDArray[np.float64]
SUBSAMPLE = 60_000
SAMPLE_RUN = 8
CHUNK = 1 << 17
"""Points per chunk of the full pass (temporaries of ~0.5 MB stay in cache)."""
PROJECT_THREADS = 2
"""Threads the full-cloud pass is split across (where the process has the cores)."""
TILT_MARGIN_DEG = 3.0
MIN_POINTS = 1000
SHORT_BEAD_MM = 18.0
"""Straight beads shorter than this get their pose refitted on a denser sample (type 9)."""
DENSE_FACTOR = 4
"""The refit draws on this many times the decision subsample's points."""
COARSE_STEP = 3
"""The first look before a refit uses every COARSE_STEP-th subsample point."""
REFIT_CELL_MM = 0.2
"""The refit's outlier test runs on cells this size (the dense sample fills them): on the
subsample's 0.4 mm cells the local mean over a steep flank varies enough that an outlier
1 mm off passes, and where it lands at crest height beside the band it tilted a 15 mm
bead's line by up to 0.65 deg."""
DENSE_END_MARGIN_MM = 3.5
"""The refit takes points this far beyond the crest band's ends (the caps, the plate beyond)."""
DENSE_SIDE_MARGIN_MM = 0.5
"""... and this far outside the bead's nominal toes."""
SECOND_PLATE_SHARE = 0.1
SECOND_PLATE_TILT_DEG = 1.0
"""A second plate: a plane parallel (within this) to the first, holding this share of it."""
LEVEL_TOL_MM = 0.2
"""Plate levels measured beside the bead this far from the assumed ones are acted on."""
LAYOUT_FITS = 2


@dataclass
class Preparation:
    """What prepare found: the scanner -> aligned transform and the figures behind it."""

    transform: F64
    plane: Plane
    bead: BeadPose
    subsample: F32
    timings_ms: dict[str, float] = field(default_factory=dict)

    def meta(self) -> dict[str, Any]:
        """JSON-ready figures for ``HeightMap.meta``."""
        return {
            "plane_normal": [round(float(v), 6) for v in self.plane.normal],
            "tilt_deg": round(self.plane.tilt_deg, 4),
            "offset_mm": [round(v, 4) for v in self.bead.centre_xy],
            "rotation_deg": round(self.bead.angle_deg, 4),
            "bead_extent_mm": round(self.bead.length_mm, 3),
            "bead_top_mm": round(self.bead.top_mm, 3),
            "plate_step_mm": round(self.bead.step_mm, 3),
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }


def _where(cloud: Cloud) -> str:
    return str(cloud.source) if cloud.source else ""


def _run_indices(total: int, n: int, seed: int) -> npt.NDArray[np.int64]:
    """Increasing indices of about ``n`` of ``total`` points: one random run of
    ``SAMPLE_RUN`` in each of ``n / SAMPLE_RUN`` equal strata that together span all
    ``total`` points (a scan is ordered profile by profile, so a stratum left out at the end
    would be a strip of the weld left out)."""
    runs = max(1, n // SAMPLE_RUN)
    bounds = np.linspace(0, total, runs + 1).astype(np.int64)  # strata of >= SAMPLE_RUN
    room = bounds[1:] - bounds[:-1] - SAMPLE_RUN + 1
    starts = bounds[:-1] + (np.random.default_rng(seed).random(runs) * room).astype(np.int64)
    return (starts[:, None] + np.arange(SAMPLE_RUN)).ravel()


def gather_runs(points: F32, n: int, seed: int = 0) -> F32:
    """Up to ``n`` points (non-finite ones included) by stratified random sampling of short
    runs: the array is cut into equal strata and a random run of ``SAMPLE_RUN`` consecutive
    points is taken from each. Indices increase and runs share cache lines, so the gather
    streams through memory instead of jumping at random (several times faster on a 2 M
    point cloud)."""
    total = points.shape[0]
    return points if total <= n else points.take(_run_indices(total, n, seed), axis=0)


def subsample(points: F32, n: int, seed: int = 0) -> F32:
    """Up to ``n`` finite points, spread over the whole scan (:func:`gather_runs`)."""
    pick = gather_runs(points, n, seed)
    return select_rows(pick, finite_rows(pick))


def transform_points(points: F32, m: F64) -> F32:
    """Apply the 4x4 rigid transform ``m`` to (N, 3) points (cv2: 10x numpy's small matmul)."""
    src = np.ascontiguousarray(points, dtype=np.float32).reshape(-1, 1, 3)
    return np.asarray(cv2.transform(src, m[:3]), dtype=np.float32).reshape(-1, 3)


def fit_reference_plane(pts: F32, profile: WeldTypeProfile, where: str = "",
                        seed: int = 0) -> tuple[Plane, float]:
    """(plane, height that plane gets in the levelled frame) for the type's geometry kind
    (:meth:`point_cloud.kinds.GeometryKind.reference_plane`)."""
    rng = np.random.default_rng(seed)
    max_tilt = scanner_model().max_tilt_deg + TILT_MARGIN_DEG
    return kind_of(profile).reference_plane(pts, profile, max_tilt, where, rng)


def alignment_matrix(pose: BeadPose) -> F64:
    """4x4: levelled frame -> aligned weld frame (bead centre at the origin, along +X)."""
    c, s = math.cos(math.radians(pose.angle_deg)), math.sin(math.radians(pose.angle_deg))
    rot = np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])
    m = np.eye(4)
    m[:3, :3] = rot
    m[:3, 3] = -rot @ np.array([pose.centre_xy[0], pose.centre_xy[1], 0.0])
    return m


def _samples(cloud: Cloud, profile: WeldTypeProfile, seed: int) -> tuple[F32, F32 | None]:
    """(decision subsample, dense sample or None). A straight bead too short for the
    subsample to give its angle (type 9) gets a dense sample, ``DENSE_FACTOR`` x the
    subsample's points, when the cloud has more points to draw on. From a cloud larger than
    that, the subsample is then drawn out of the dense sample (one of each stratum's
    ``DENSE_FACTOR`` runs, at random: still one random run per subsample stratum), which
    saves a second pass over the cloud's memory."""
    g = profile.geometry
    n = len(cloud)
    if kind_of(profile).path.closed or g.bead_length_mm >= SHORT_BEAD_MM or n <= SUBSAMPLE:
        return subsample(cloud.points, SUBSAMPLE, seed), None
    dense = gather_runs(cloud.points, DENSE_FACTOR * SUBSAMPLE, seed + 1)
    if n <= DENSE_FACTOR * SUBSAMPLE:  # the dense sample is the whole cloud
        return subsample(cloud.points, SUBSAMPLE, seed), dense
    groups = dense.reshape(-1, DENSE_FACTOR, SAMPLE_RUN, 3)
    which = np.random.default_rng(seed).integers(0, DENSE_FACTOR, len(groups))
    pick = groups[np.arange(len(groups)), which].reshape(-1, 3)
    return select_rows(pick, finite_rows(pick)), dense


def _refit_short_bead(dense: F32, level: F64, pose: BeadPose, profile: WeldTypeProfile,
                      where: str) -> BeadPose:
    """Refit a short straight bead's pose from a first look, on the points of the dense
    sample (:func:`_samples`) around the bead.

    A line's angle is only as good as its crest band's points and length allow: for a 15 mm
    bead (type 9) the decision subsample alone left it +-0.2 deg noisy (0.57 deg worst of
    20 welds at 1 M samples; under 0.5 with the refit, bench/alignment_sweep.py)."""
    g = profile.geometry
    local = transform_points(dense, alignment_matrix(pose) @ level)  # the first pose's bead frame
    near = ((np.abs(local[:, 0]) < pose.length_mm / 2 + DENSE_END_MARGIN_MM)  # NaN: False
            & (np.abs(local[:, 1]) < g.bead_width_mm / 2 + DENSE_SIDE_MARGIN_MM))
    levelled = transform_points(select_rows(dense, near), level)
    return find_bead(clean_points(levelled, REFIT_CELL_MM)[0], profile, where, pose)


def _locate(clean: F32, dense: F32 | None, level: F64, profile: WeldTypeProfile, where: str,
            step_mm: float | None = None, flat_mm: tuple[float, ...] = ()) -> BeadPose:
    """The bead's pose in the frame ``level`` makes (a short bead: a first look, then the
    refit on its dense sample), across a plate step of ``step_mm`` (None: the nominal) and
    beside plates at levels ``flat_mm`` (:func:`point_cloud.align.crest_band`)."""
    levelled = transform_points(clean, level)
    if dense is None:
        return find_bead(levelled, profile, where, step_mm=step_mm, flat_mm=flat_mm)
    # a first look on a third of the subsample, then the refit
    pose = find_bead(levelled[::COARSE_STEP], profile, where, coarse=True, step_mm=step_mm,
                     flat_mm=flat_mm)
    return _refit_short_bead(dense, level, pose, profile, where)


def _shifted(level: F64, dz: float) -> F64:
    """The levelling ``level`` followed by a shift of ``dz`` along Z."""
    shift = np.eye(4)
    shift[2, 3] = dz
    return shift @ level


def _first_layout(levelled: F32, z_plane: float,
                  seed: int) -> tuple[float, float | None, tuple[float, ...]]:
    """(Z shift, step, plate levels after the shift) to look for a stepped bead across first:
    where a second plate parallel to the fitted one shows, both plates, the lower one put at
    0; else the nominal step beside the fitted plate, kept out of the crest band unless it
    is the upper one (the default layout, whose first look is left as it was;
    :func:`_fit_layout` corrects it)."""
    rest = select_rows(levelled, np.abs(levelled[:, 2] - z_plane) > 3 * PLATE_BAND_MM)
    found = ransac_plane(rest, np.random.default_rng(seed), max_tilt_deg=SECOND_PLATE_TILT_DEG)
    if found is None or found[1].sum() < SECOND_PLATE_SHARE * len(levelled):
        return 0.0, None, () if z_plane else (z_plane,)
    other = float(np.median(rest[found[1], 2]))
    low, high = sorted((z_plane, other))
    return -low, high - low, (z_plane - low, other - low)


def _fit_layout(clean: F32, dense: F32 | None, level: F64, pose: BeadPose,
                profile: WeldTypeProfile, where: str) -> tuple[F64, BeadPose]:
    """Stepped plates (the lap fillet): the plates' levels at the bead's toes, measured;
    where they are not what the frame and the pose assumed, the frame shifted to put the
    lower (south) one at 0 and the bead found again across the measured step."""
    for _ in range(LAYOUT_FITS):
        levels = plate_levels(transform_points(clean, level), pose, profile)
        if abs(levels.south) < LEVEL_TOL_MM and abs(levels.step_mm - pose.step_mm) < LEVEL_TOL_MM:
            break
        level = _shifted(level, -levels.south)
        flat = tuple(v - levels.south for v, seen in
                     zip((levels.south, levels.north), levels.seen, strict=True) if seen)
        pose = _locate(clean, dense, level, profile, where, levels.step_mm, flat)
    return level, pose


def prepare(cloud: Cloud, profile: WeldTypeProfile, seed: int = 0) -> Preparation:
    """Level and align ``cloud`` (decisions on a subsample; the cloud itself is untouched)."""
    where = _where(cloud)
    t0 = time.perf_counter()
    sub, dense = _samples(cloud, profile, seed)
    if sub.shape[0] == 0:
        raise NoFinitePointsError(where or None, "points", "finite x, y, z values",
                                  f"{len(cloud)} points, none finite")
    if sub.shape[0] < MIN_POINTS:
        raise TooFewPointsError(where or None, "points", f">= {MIN_POINTS} finite points",
                                str(sub.shape[0]))
    clean, _ = clean_points(sub)
    t1 = time.perf_counter()
    plane, z_plane = fit_reference_plane(clean, profile, where, seed)
    level = levelling_matrix(plane, z_plane)
    t2 = time.perf_counter()
    if nominal_step_mm(profile):  # stepped plates: the lower one or both seen kept out
        shift, step, flat = _first_layout(transform_points(clean, level), z_plane, seed)
        level = _shifted(level, shift)
        pose = _locate(clean, dense, level, profile, where, step, flat)
        level, pose = _fit_layout(clean, dense, level, pose, profile, where)
    else:
        pose = _locate(clean, dense, level, profile, where)
    transform = alignment_matrix(pose) @ level
    t3 = time.perf_counter()
    return Preparation(transform, plane, pose, sub, {
        "subsample": (t1 - t0) * 1e3, "level": (t2 - t1) * 1e3, "align": (t3 - t2) * 1e3})


def _reduce_part(points: F32, to_px: npt.NDArray[np.float64], grid: Grid, surface: F32,
                 how: Reduce) -> tuple[CellReducer, int, int]:
    """(the cells' reduction, points in the ROI, points kept) of ``points``, a chunk of
    :data:`CHUNK` points at a time (the temporaries stay in cache)."""
    reducer = CellReducer(grid.n_cells, how)
    in_roi = kept = 0
    for start in range(0, len(points), CHUNK):
        u, v, z = to_pixels(points[start:start + CHUNK], to_px)
        flat = cell_indices(u, v, grid)
        in_roi += int(np.count_nonzero(flat != grid.n_cells))
        keep = inlier_indices(flat, z, surface)
        kept += len(keep)
        reducer.add(flat.take(keep), z.take(keep))
    return reducer, in_roi, kept


def _reduce_cloud(points: F32, to_px: npt.NDArray[np.float64], grid: Grid, surface: F32,
                  how: Reduce) -> tuple[CellReducer, int, int]:
    """:func:`_reduce_part` of the whole cloud, split in whole chunks across the cores
    (:data:`PROJECT_THREADS` at most): each part reduces into its own cells, merged after.
    A max and a sum do not depend on the order, so the map is the one a single pass makes;
    on 2 cores a 2 M-point pass takes 0.65 of the time (bench/bench_end_to_end.py)."""
    n_chunks = -(-len(points) // CHUNK)
    parts = min(PROJECT_THREADS, cores(), n_chunks)
    if parts < 2:
        return _reduce_part(points, to_px, grid, surface, how)
    per = -(-n_chunks // parts) * CHUNK
    done = list(pool("project", PROJECT_THREADS).map(
        lambda lo: _reduce_part(points[lo:lo + per], to_px, grid, surface, how),
        range(0, len(points), per)))
    reducer = done[0][0]
    for other, _, _ in done[1:]:
        reducer.merge(other)
    return reducer, sum(d[1] for d in done), sum(d[2] for d in done)


def project_prepared(cloud: Cloud, prep: Preparation, profile: WeldTypeProfile,
                     how: Reduce = "max", mm_per_px: float | None = None) -> HeightMap:
    """The single full-cloud pass: transform to pixels, drop outliers, reduce per cell."""
    t0 = time.perf_counter()
    grid = Grid.for_roi(profile.roi, mm_per_px)
    to_px = grid.index_matrix() @ prep.transform
    su, sv, sz = to_pixels(prep.subsample, to_px)
    surface = with_dump(robust_surface(cell_indices(su, sv, grid), sz, grid))
    reducer, in_roi, kept = _reduce_cloud(cloud.points, to_px, grid, surface, how)
    zc, valid = reducer.result()
    t1 = time.perf_counter()
    timings = {**prep.timings_ms, "project": (t1 - t0) * 1e3}
    meta = {**prep.meta(), "timings_ms": {k: round(v, 2) for k, v in timings.items()},
            "points": len(cloud), "points_in_roi": in_roi,
            "outliers_dropped": in_roi - kept, "reduce": how}
    return HeightMap(z=zc.reshape(grid.rows, grid.cols), valid=valid.reshape(grid.rows, grid.cols),
                     mm_per_px=grid.mm_per_px, origin_mm=grid.origin_mm,
                     identity=cloud.identity, meta=meta)
