"""``isolated`` (types 3, 10, 11): a straight bead whose plate plane the scanner's software
removed; only the bead's own points (some lines leave the plate in)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from point_cloud.kinds.base import F32, register
from point_cloud.kinds.line import LineKind
from point_cloud.layout import ALL, Layout
from point_cloud.plate_plane import kept_plate_or_toes

if TYPE_CHECKING:
    from point_cloud.config import Geometry, WeldTypeProfile
    from point_cloud.level import Plane


class IsolatedKind(LineKind):
    name = "isolated"
    plate_scanned = False
    default_keep_mm = (0.0, 0.0)

    def random_layout(self, g: Geometry, rng: np.random.Generator, step_mm: float) -> Layout:
        """The plate left in (both sides), or removed."""
        return Layout(keep_mm=(ALL, ALL) if rng.uniform() < 0.5 else (0.0, 0.0))

    def kept_plates(self, g: Geometry, plates: str,
                    rng: np.random.Generator) -> tuple[float, float]:
        """``whole``: the plate left in; otherwise removed (never one side alone)."""
        self.cropped_side(rng)                # drawn, to keep the random stream
        return (ALL, ALL) if plates == "whole" else (0.0, 0.0)

    def reference_plane(self, pts: F32, profile: WeldTypeProfile, max_tilt_deg: float,
                        where: str, rng: np.random.Generator) -> tuple[Plane, float]:
        """The plate where it was left in, else the plane of the bead's toes."""
        return kept_plate_or_toes(pts, max_tilt_deg, rng), 0.0


ISOLATED = register(IsolatedKind())
