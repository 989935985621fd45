"""``square`` (type 7): a bead on a square centreline around a patch, the outer plate
beyond it level or oblique (up to 15 deg); on other lines the patch is a plate raised or
recessed 1-3 mm on the outer one, and the outer plate may rise."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from point_cloud.arrays import select_rows
from point_cloud.errors import PrepareError
from point_cloud.kinds.base import F32, F64, GeometryKind, Mask, PathShape, register
from point_cloud.layout import ALL, Layout
from point_cloud.plate_plane import ransac_plate

if TYPE_CHECKING:
    from point_cloud.config import Geometry, WeldTypeProfile
    from point_cloud.level import Plane
    from point_cloud.simulator import WeldShape

CENTRE_DISC_MARGIN_MM = 0.5
"""Margin of the central fallback disc inside the patch (tilt shifts X, Y)."""
PATCH_DISC_MARGIN_MM = 1.0
"""The patch plane is refitted on a disc this far inside the bead's inner toe."""
MIN_PATCH_POINTS = 100


def disc_mask_xy(xy: F64, centre: F64, radius_mm: float) -> Mask:
    """Points within ``radius_mm`` of ``centre`` (the square's inner patch)."""
    c = np.asarray(centre)
    return np.asarray(((xy - c) ** 2).sum(axis=1) <= radius_mm**2)


class SquarePath(PathShape):
    """A closed square centreline of side ``square_side_mm`` around the origin; the outer
    corners rounded (Euclidean distance to the square outline)."""

    name = "square"
    closed = True

    def length_mm(self, g: Geometry) -> float:
        return 4 * g.square_side_mm

    def crest_length_mm(self, g: Geometry) -> float:
        return g.square_side_mm

    def expected_region(self, x: F64, y: F64, g: Geometry) -> Mask:
        ring = np.maximum(np.abs(x), np.abs(y)) - g.square_side_mm / 2
        return np.asarray(np.abs(ring) <= g.bead_width_mm / 2)

    def map_sections(self, z: F32, x: F64, y: F64, g: Geometry) -> list[tuple[F32, F64]]:
        """The middle halves of the east, north and south sides (the west holds the
        crater)."""
        half, reach = g.square_side_mm / 2, g.square_side_mm / 4
        cols, rows = np.abs(x) <= reach, np.abs(y) <= reach
        east = np.abs(x - half) <= g.bead_width_mm
        north = np.abs(y - half) <= g.bead_width_mm
        south = np.abs(y + half) <= g.bead_width_mm
        return [(z[np.ix_(rows, east)], x[east] - half),
                (z[np.ix_(north, cols)].T, y[north] - half),
                (z[np.ix_(south, cols)].T, y[south] + half)]

    def offset(self, shape: WeldShape, x: F64, y: F64) -> F64:
        """Signed distance outside the centreline square."""
        s2 = shape.square_side_mm / 2
        qx, qy = np.abs(x) - s2, np.abs(y) - s2
        return np.hypot(np.clip(qx, 0, None), np.clip(qy, 0, None)) + np.minimum(
            np.maximum(qx, qy), 0.0)

    def plates(self, shape: WeldShape, d: F64) -> F64:
        """The patch inside at ``step_mm``; the outer plate sloping by ``outer_tilt_deg``
        beyond the bead's outer toe."""
        slope = math.tan(math.radians(shape.outer_tilt_deg))
        outer = -slope * np.clip(d - shape.width_mm / 2, 0.0, None)
        return np.where(d < 0.0, shape.step_mm, outer) if shape.step_mm else outer

    def cap(self, shape: WeldShape, x: F64, y: F64, d: F64) -> tuple[F64, F64, F64, float]:
        """One crater on the west side ``(-S/2, 0)``, where the loop starts and ends."""
        r = shape.width_mm / 2
        along = np.where(np.abs(x) >= np.abs(y), y, x)
        across = d - shape.wander(along)
        rho2 = (across / r) ** 2
        cap = shape.rippled_cap(across, along, rho2) - shape.crater(
            x + shape.square_side_mm / 2, y, rho2)
        return cap, rho2, across, -1.0

    def cross_section_points(self, shape: WeldShape, t: F64) -> tuple[F64, F64]:
        """9 sections across each of the north and east sides' middle halves."""
        along = np.linspace(-shape.square_side_mm / 4, shape.square_side_mm / 4, 9)
        across = shape.square_side_mm / 2 + shape.wander(along)[:, None] + t
        along2 = np.broadcast_to(along[:, None], across.shape)
        return np.concatenate([across, along2]), np.concatenate([along2, across])


SQUARE_PATH = SquarePath()


class SquareKind(GeometryKind):
    name = "square"
    path = SQUARE_PATH
    outer_tilt = True
    axes = ("patch", "tilt")

    def random_layout(self, g: Geometry, rng: np.random.Generator, step_mm: float) -> Layout:
        """The patch level, raised or recessed by ``step_mm``; the outer plate level,
        falling or rising by up to ``outer_plate_tilt_deg`` (high end), partly or wholly
        cropped or not."""
        patch = step_mm * float(rng.choice([0.0, 1.0, -1.0]))
        tilt = float(rng.uniform(0.0, g.outer_plate_tilt_deg[1])) * float(
            rng.choice([0.0, 1.0, -1.0]))
        return Layout(step_mm=patch, outer_tilt_deg=tilt,
                      keep_mm=(ALL, self.kept(g, rng, "all", "part", "none")))

    def cropped_side(self, rng: np.random.Generator) -> int:
        """The outer plate: the patch is always there."""
        super().cropped_side(rng)             # drawn, to keep the random stream
        return 1

    def vary_plates(self, g: Geometry, settings: dict[str, str],
                    rng: np.random.Generator) -> tuple[float | None, float | None]:
        """``patch``: level, raised or recessed by ``plate_step_mm``; ``tilt``: the outer
        plate flat, falling or rising by the upper two thirds of ``outer_plate_tilt_deg``."""
        lo, hi = g.plate_step_mm
        step = {"level": 0.0, "raised": 1.0, "recessed": -1.0}[settings["patch"]] \
            * float(rng.uniform(lo, hi))
        top = g.outer_plate_tilt_deg[1]
        tilt = {"flat": 0.0, "falling": 1.0, "rising": -1.0}[settings["tilt"]] \
            * float(rng.uniform(top / 3, top))
        return step, tilt

    def reference_plane(self, pts: F32, profile: WeldTypeProfile, max_tilt_deg: float,
                        where: str, rng: np.random.Generator) -> tuple[Plane, float]:
        """The patch: a first levelling (:func:`_first_plane`), the ring's centre from its
        crest band, then the plane refitted on a disc inside the ring only, so an oblique
        outer plate never biases it."""
        from point_cloud.align import square_centre  # the pipeline sits above the kinds
        from point_cloud.level import levelling_matrix
        from point_cloud.prepare import transform_points

        g = profile.geometry
        plane = _first_plane(pts, profile, max_tilt_deg, where, rng)
        levelled = transform_points(pts, levelling_matrix(plane))
        centre = square_centre(levelled, profile, where)
        inner = disc_mask_xy(levelled[:, :2].astype(np.float64), centre,
                             g.square_side_mm / 2 - g.bead_width_mm / 2 - PATCH_DISC_MARGIN_MM)
        if inner.sum() < MIN_PATCH_POINTS:
            raise PrepareError(where or None, "inner patch", "points inside the square path",
                               f"{int(inner.sum())}")
        return ransac_plate(select_rows(pts, inner), max_tilt_deg, where, rng), 0.0


def _first_plane(pts: F32, profile: WeldTypeProfile, max_tilt: float, where: str,
                 rng: np.random.Generator) -> Plane:
    """First levelling: RANSAC over the whole cloud. When the outer plate is too oblique
    for the tilt window and the inner patch too small for random triplets to hit, RANSAC
    again on the disc around the scanner's origin that lies inside the inner patch at any
    pose within the scanner's tolerances (offset, rotation)."""
    from point_cloud.config import scanner_model  # config validates kinds by name

    try:
        return ransac_plate(pts, max_tilt, where, rng)
    except PrepareError:
        g, sc = profile.geometry, scanner_model()
        rot = math.radians(sc.max_rotation_deg)
        radius = (g.square_side_mm / 2 - g.bead_width_mm / 2 - CENTRE_DISC_MARGIN_MM
                  - sc.max_offset_mm * (math.cos(rot) + math.sin(rot)))
        near = disc_mask_xy(pts[:, :2].astype(np.float64), np.zeros(2), radius)
        if radius <= 0 or near.sum() < MIN_PATCH_POINTS:
            raise
        return ransac_plate(select_rows(pts, near), max_tilt, where, rng)


SQUARE = register(SquareKind())
