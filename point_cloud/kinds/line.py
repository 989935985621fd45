"""The straight bead's path, and what every straight-bead kind shares (isolated, lower,
upper)."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np

from point_cloud.kinds.base import F32, F64, GeometryKind, Mask, PathShape
from point_cloud.plate_plane import ransac_plate

if TYPE_CHECKING:
    from point_cloud.config import Geometry, WeldTypeProfile
    from point_cloud.level import Plane
    from point_cloud.simulator import WeldShape


class LinePath(PathShape):
    """A straight bead along X from ``-L/2`` to ``+L/2`` (``L`` = ``bead_length_mm``)."""

    name = "line"
    closed = False

    def length_mm(self, g: Geometry) -> float:
        return g.bead_length_mm

    def crest_length_mm(self, g: Geometry) -> float:
        return g.bead_length_mm

    def expected_region(self, x: F64, y: F64, g: Geometry) -> Mask:
        return np.asarray((np.abs(x) <= g.bead_length_mm / 2) & (np.abs(y) <= g.bead_width_mm / 2))

    def map_sections(self, z: F32, x: F64, y: F64, g: Geometry) -> list[tuple[F32, F64]]:
        """The columns of the bead's middle 60 %."""
        return [(z[:, np.abs(x) <= 0.3 * g.bead_length_mm].T, y)]

    def offset(self, shape: WeldShape, x: F64, y: F64) -> F64:
        return y

    def plates(self, shape: WeldShape, d: F64) -> F64:
        """The stepped plate north of the centreline at ``step_mm``, the other at 0."""
        return np.where(d >= 0.0, shape.step_mm, 0.0)

    def cap(self, shape: WeldShape, x: F64, y: F64, d: F64) -> tuple[F64, F64, F64, float]:
        """Semicircular ends (radius ``w/2``), a crater ``0.9 * w/2`` inside each tip."""
        r = shape.width_mm / 2
        half = shape.bead_length_mm / 2
        across = y - shape.wander(x)
        beyond = np.clip(np.abs(x) - (half - r), 0.0, None)
        rho2 = (across / r) ** 2 + (beyond / r) ** 2
        cap = shape.rippled_cap(across, x, rho2)
        for end in (-1.0, 1.0):
            cap = cap - shape.crater(x - end * (half - 0.9 * r), across, rho2)
        return cap, rho2, across, 1.0

    def cross_section_points(self, shape: WeldShape, t: F64) -> tuple[F64, F64]:
        """25 sections over the middle 60 % of the bead."""
        x = np.broadcast_to(np.linspace(-0.3, 0.3, 25)[:, None] * shape.bead_length_mm,
                            (25, t.size))
        return x, shape.wander(x[:, :1]) + t


LINE = LinePath()


class LineKind(GeometryKind):
    """A straight bead with plates north and south of it (or neither)."""

    path: ClassVar[PathShape] = LINE

    def reference_plane(self, pts: F32, profile: WeldTypeProfile, max_tilt_deg: float,
                        where: str, rng: np.random.Generator) -> tuple[Plane, float]:
        """The largest plate plane, at 0."""
        return ransac_plate(pts, max_tilt_deg, where, rng), 0.0
