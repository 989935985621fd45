"""The plate planes a scan is levelled on: RANSAC within the tilt window, and the tests the
geometry kinds build their reference plane from (:meth:`point_cloud.kinds.GeometryKind.
reference_plane`)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from point_cloud.arrays import select_rows
from point_cloud.errors import PrepareError
from point_cloud.level import Plane, fit_plane_lsq, ransac_plane

F32 = npt.NDArray[np.float32]

BELOW_MM = 0.5
BELOW_SHARE = 0.01
"""A plane with this share of the points more than BELOW_MM below it is not the lowest."""
KEPT_PLATE_SHARE = 0.25
"""An isolated bead's plate was left in the scan when a plane holds this share of it."""
TOE_QUANTILE = 12.0
"""The bead's base plane is refitted on this lowest percent of its points (its toes)."""
TOE_ZERO_PERCENTILE = 0.1
"""... and put at this percentile of the bead's heights."""
MIN_PLATE_SHARE = 0.05
"""A plate plane holds at least this share of the points."""


def lowest(pts: F32, plane: Plane) -> bool:
    """Whether hardly any point lies well below ``plane``."""
    return float(np.mean(plane.heights(pts) < -BELOW_MM)) < BELOW_SHARE


def ransac_plate(pts: F32, max_tilt: float, where: str, rng: np.random.Generator) -> Plane:
    """The largest near-horizontal plane (within ``max_tilt`` deg); a :class:`PrepareError`
    when none holds ``MIN_PLATE_SHARE`` of the points."""
    found = ransac_plane(pts, rng, max_tilt_deg=max_tilt)
    if found is None or found[1].sum() < MIN_PLATE_SHARE * len(pts):
        raise PrepareError(where or None, "plate plane",
                           f"a plane within {max_tilt:g} deg of horizontal holding >= 5 % "
                           "of the points", "none")
    return found[0]


def kept_plate_or_toes(pts: F32, max_tilt: float, rng: np.random.Generator) -> Plane:
    """The plate where it was left in the scan, else the plane of the bead's toes: refit on
    the lowest points above the current plane, put at their 0.1st percentile."""
    found = ransac_plane(pts, rng, max_tilt_deg=max_tilt)
    if found is not None and found[1].mean() >= KEPT_PLATE_SHARE and lowest(pts, found[0]):
        return found[0]
    plane = fit_plane_lsq(pts)
    for _ in range(3):
        h = plane.heights(pts)
        plane = fit_plane_lsq(select_rows(pts, h <= np.percentile(h, TOE_QUANTILE)))
    return plane.shifted(float(np.percentile(plane.heights(pts), TOE_ZERO_PERCENTILE)))
