"""``upper`` (types 2, 8, 9): a lap fillet. The upper plate's top face, ``UPPER_PLATE_MM``
above the lower plate (1-3 mm on other lines), lies north of the bead's centreline; the
bead runs on a ramp from the lower plate's level at its south toe to the upper one's."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from point_cloud.kinds.base import F32, register
from point_cloud.kinds.line import LineKind
from point_cloud.layout import ALL, Layout
from point_cloud.plate_plane import lowest, ransac_plate

if TYPE_CHECKING:
    from point_cloud.config import Geometry, WeldTypeProfile
    from point_cloud.level import Plane

UPPER_PLATE_MM = 1.5
"""Top face of the upper plate above the lower (reference) plate, by default."""


class UpperKind(LineKind):
    name = "upper"
    nominal_step_mm = UPPER_PLATE_MM
    default_keep_mm = (0.0, ALL)       # the lower plate is not scanned
    axes = ("step",)

    def random_layout(self, g: Geometry, rng: np.random.Generator, step_mm: float) -> Layout:
        """The lower plate absent, partly or wholly in the scan; the upper one partly or
        wholly cropped while the lower is there; the step ``step_mm``."""
        lower = self.kept(g, rng, "none", "part", "all")
        upper = self.kept(g, rng, "all", "part") if lower == 0.0 else \
            self.kept(g, rng, "all", "part", "none")
        return Layout(step_mm=step_mm, keep_mm=(lower, upper))

    def vary_plates(self, g: Geometry, settings: dict[str, str],
                    rng: np.random.Generator) -> tuple[float | None, float | None]:
        """``step``: ``low`` the lower half of ``plate_step_mm``, ``high`` the upper."""
        lo, hi = g.plate_step_mm
        mid = 0.5 * (lo + hi)
        low = settings["step"] == "low"
        return float(rng.uniform(lo, mid) if low else rng.uniform(mid, hi)), None

    def reference_plane(self, pts: F32, profile: WeldTypeProfile, max_tilt_deg: float,
                        where: str, rng: np.random.Generator) -> tuple[Plane, float]:
        """The largest plane: the upper plate's top face, at ``UPPER_PLATE_MM``; or the
        lower plate (0) where hardly anything lies below it."""
        plane = ransac_plate(pts, max_tilt_deg, where, rng)
        return plane, 0.0 if lowest(pts, plane) else UPPER_PLATE_MM


UPPER = register(UpperKind())
