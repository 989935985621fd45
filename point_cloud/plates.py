"""The plates beside a straight bead, measured: their levels at the bead's two toes.

A scan need not show the plates the type's default layout has (shared SCANS.md, "What
varies"): the upper plate of a lap fillet may stand 1-3 mm above the lower one, either plate
may be cropped or removed. Levelling assumes the default first; once the bead is found,
each side's level is read here, in the bead's frame, on its straight part (clear of the end
caps): the median of a plate seen in a band just beyond the toe, or, where no plate is seen
there (cropped, removed, shadowed), the bead's own lowest points on that side (a removed
plate leaves the bead down to a few hundredths above it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from point_cloud.align import BeadPose, to_frame
from point_cloud.config import WeldTypeProfile
from point_cloud.types import F32

SIDE_BAND_MM = (0.5, 3.0)
"""A plate is looked for this far beyond the bead's nominal toe."""
FLAT_MM = 0.15
"""... where most of the band's points lie within this of their median."""
FLAT_SHARE = 0.8
MIN_PLATE_POINTS = 40
TOE_PERCENTILE = 0.2
"""Without a plate, a side's level is this percentile of its points up to the band's end."""


@dataclass(frozen=True)
class PlateLevels:
    """Levels (mm, the frame the points were in) at the bead's south and north toes, and
    whether each is a plate seen beside the bead (else the bead's own lowest points)."""

    south: float
    north: float
    seen: tuple[bool, bool]

    @property
    def step_mm(self) -> float:
        """North minus south: the lap fillet's step (0 on one plate)."""
        return self.north - self.south


def _side_level(z_band: np.ndarray, z_side: np.ndarray) -> tuple[float, bool]:
    if z_band.size >= MIN_PLATE_POINTS:
        level = float(np.median(z_band))
        flat = np.abs(z_band - level) <= FLAT_MM
        if flat.mean() >= FLAT_SHARE:
            return float(np.median(z_band[flat])), True
    return (float(np.percentile(z_side, TOE_PERCENTILE)) if z_side.size else 0.0), False


def plate_levels(points: F32, pose: BeadPose, profile: WeldTypeProfile) -> PlateLevels:
    """Each side's level beside the straight bead at ``pose`` (levelled points)."""
    g = profile.geometry
    p = np.asarray(points, dtype=np.float64)
    uv = to_frame(p[:, :2], np.asarray(pose.centre_xy), pose.angle_deg)
    half_w = g.bead_width_mm / 2
    straight = np.abs(uv[:, 0]) < max(g.bead_length_mm / 2 - g.bead_width_mm,
                                      g.bead_length_mm / 4)
    found = []
    for sign in (-1.0, 1.0):
        off = sign * uv[:, 1]
        side = straight & (off > 0.0) & (off < half_w + SIDE_BAND_MM[1])
        band = side & (off > half_w + SIDE_BAND_MM[0])
        found.append(_side_level(p[band, 2], p[side, 2]))
    (south, s_seen), (north, n_seen) = found
    return PlateLevels(south, north, (s_seen, n_seen))
