"""``lower`` (types 4, 5): a straight bead on one plate, seen on both sides of it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from point_cloud.kinds.base import register
from point_cloud.kinds.line import LineKind
from point_cloud.layout import ALL, Layout

if TYPE_CHECKING:
    from point_cloud.config import Geometry


class LowerKind(LineKind):
    name = "lower"
    ends_by_toe = True

    def random_layout(self, g: Geometry, rng: np.random.Generator, step_mm: float) -> Layout:
        """One side's plate whole, partly cropped or removed; the other whole."""
        keep = [ALL, ALL]
        keep[int(rng.integers(2))] = self.kept(g, rng, "all", "part", "none")
        return Layout(keep_mm=(keep[0], keep[1]))


LOWER = register(LowerKind())
