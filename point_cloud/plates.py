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
import numpy.typing as npt

from point_cloud.align import BeadPose, nominal_step_mm, to_frame
from point_cloud.config import WeldTypeProfile
from point_cloud.types import F32, HeightMap

SIDE_BAND_MM = (0.5, 3.0)
"""A plate is looked for this far beyond the bead's nominal toe."""
FLAT_MM = 0.15
"""... where most of the band's points lie within this of their median."""
FLAT_SHARE = 0.8
MIN_PLATE_POINTS = 40
TOE_PERCENTILE = 0.2
"""Without a plate, a side's level is this percentile of its points up to the band's end."""
END_CLEAR_MM = 1.5
"""A lap fillet's plates are read on its map's columns this far and more beyond the
bead's nominal tips (prepare aligns the bead's middle on the origin within a millimetre)
..."""
UPPER_SPLIT_MM = 0.5
"""... the upper plate's cells there standing above this (half the least step of the
contract, 1 mm), the lower plate's below."""
STEP_TOL_MM = 0.2
"""A lap fillet's plate step read on a map that lacks prepare's is used when it differs
from the nominal one by more than this (the tolerance prepare acts on,
``point_cloud.prepare.LEVEL_TOL_MM``)."""


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
    if n_seen and not s_seen:
        # the lower plate removed: the bead's lowest seen points stand over it by what a
        # sparse scan leaves unsampled on a steep toe (0.6 mm on analytic lap shapes:
        # the step then read 0.5 mm), and the upper plate stands the contract's least
        # step above it at least
        south = min(south, north - g.plate_step_mm[0])
    return PlateLevels(south, north, (s_seen, n_seen))


# --------------------------------------------------------------------------- on a map
def _flat_level(z: npt.NDArray[np.float64]) -> float | None:
    """The level of a plate's heights ``z``: their median where most lie within
    :data:`FLAT_MM` of it (the flat ones' median), else None."""
    if z.size < MIN_PLATE_POINTS:
        return None
    level = float(np.median(z))
    flat = np.abs(z - level) <= FLAT_MM
    return float(np.median(z[flat])) if flat.mean() >= FLAT_SHARE else None


def lap_plate_levels(hm: HeightMap, profile: WeldTypeProfile) -> PlateLevels:
    """A lap fillet's plate levels on its map: read beyond the bead's ends (columns
    :data:`END_CLEAR_MM` past its nominal tips, about the aligned map's origin), where the
    plates run on without the bead: the lower plate's cells under :data:`UPPER_SPLIT_MM`,
    the upper's above (the map is levelled on the lower plate; the upper stands 1-3 mm
    higher). Not beside the bead: where prepare's alignment is a millimetre off, a band
    at a fixed offset from the map's middle misses an upper plate cropped close to the toe
    or reads the bead's flank. A plate not seen there (removed) is not ``seen``: the lower
    at 0, the upper at the lower one's level. Maps too short to show the plates beyond
    the bead: :func:`plate_levels` beside it."""
    x = hm.xy_of(0, np.arange(hm.shape[1]))[0]
    beyond = np.abs(x) > 0.5 * profile.geometry.bead_length_mm + END_CLEAR_MM
    z = hm.z[:, beyond][hm.valid[:, beyond]].astype(np.float64)
    if z.size < 2 * MIN_PLATE_POINTS:
        return _plate_levels_beside(hm, profile)
    low, high = _flat_level(z[z < UPPER_SPLIT_MM]), _flat_level(z[z >= UPPER_SPLIT_MM])
    south = 0.0 if low is None else low
    return PlateLevels(south, south if high is None else high, (low is not None,
                                                                high is not None))


def _plate_levels_beside(hm: HeightMap, profile: WeldTypeProfile) -> PlateLevels:
    """:func:`plate_levels` on the map's measured cells (as points of the aligned frame:
    the bead along +X through the origin)."""
    r, c = np.nonzero(hm.valid)
    x, y = hm.xy_of(r, c)
    pts = np.column_stack([x, y, hm.z[r, c]]).astype(np.float32)
    pose = BeadPose((0.0, 0.0), 0.0, profile.geometry.bead_length_mm, 0.0, len(pts))
    return plate_levels(pts, pose, profile)


def map_plate_step_mm(hm: HeightMap, profile: WeldTypeProfile) -> float:
    """A lap fillet's step read on its map's own cells, for a map that does not say what
    prepare measured (a sample of a dataset made before samples kept it, a map from
    elsewhere): the upper plate's level above the lower one's (:func:`lap_plate_levels`).
    The type's nominal step when it has one plate level, the upper plate is not seen
    (removed: the bead analysis bridges to the bead's edge anyway) or the step read is the
    nominal one within :data:`STEP_TOL_MM`. Without it a step of 2-3 mm is taken for the
    nominal 1.5: a cropped upper plate's strip stands 1.5 mm above the assumed base all
    along the map and reads as bead, and a ramp too shallow tilts every section."""
    nominal = nominal_step_mm(profile)
    if not nominal or not hm.valid.any():
        return nominal
    levels = lap_plate_levels(hm, profile)
    if not levels.seen[1] or abs(levels.step_mm - nominal) <= STEP_TOL_MM:
        return nominal
    return round(levels.step_mm, 3)
