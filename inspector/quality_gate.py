"""The quality gate: capture failures and missing beads are decided before any model runs.

- too little of the expected region is valid (``limits.min_valid_fraction``) -> ERROR
  "capture_failure" (the scan is unusable: rescan, never pass). The expected region is the
  nominal bead band (the bead's nominal footprint around the weld centre: length x width
  for a line, the ring around type 7's square): the plates beside it may be removed or
  cropped on purpose (shared SCANS.md, "What varies"), the weld itself must be seen;
- no bead in the map -> FAIL "no_weld": :func:`point_cloud.bead_geometry.analyse_bead`
  finds none, or its bead stands ``BEAD_MIN_HEIGHT_FRACTION`` of the nominal bead height
  above the plates under it (its local reference: the line from toe to toe, whatever plate
  each toe is on) and ``BEAD_MIN_WIDTH_FRACTION`` of its nominal width wide over less than
  ``BEAD_MIN_LENGTH_FRACTION`` of the nominal path length; around type 7's patch only
  where its crest lies in the middle of that cross-section (``BeadGeometry.crest_centred``):
  a plate's bare edge, bridged toe to toe, stands over that line as a cliff, its top at one
  end (a raised patch's 1.5 mm edge: 1 mm high, 1.3 mm wide).
"""

from __future__ import annotations

from types import EllipsisType

import numpy as np

from inspector.verdict import Verdict
from point_cloud.bead_geometry import BeadGeometry, find_bead
from point_cloud.config import WeldTypeProfile
from point_cloud.kinds import kind_of
from point_cloud.types import HeightMap

BEAD_MIN_HEIGHT_FRACTION = 0.4
BEAD_MIN_LENGTH_FRACTION = 0.3
BEAD_MIN_WIDTH_FRACTION = 0.4


def capture_failure(reason: str) -> Verdict:
    """ERROR verdict for a scan that cannot be judged."""
    return Verdict(decision="ERROR", score=1.0, threshold=0.5, defect="capture_failure",
                   reason=reason)


def no_weld(reason: str) -> Verdict:
    """FAIL verdict for a scan that shows no bead."""
    return Verdict(decision="FAIL", score=1.0, threshold=0.5, defect="no_weld", reason=reason)


def nominal_path_mm(hm: HeightMap, profile: WeldTypeProfile) -> float:
    """Length of the nominal bead path: the square's perimeter, or the line's length (at
    most the map's)."""
    path = kind_of(profile).path
    length = path.length_mm(profile.geometry)
    return length if path.closed else min(length, hm.shape[1] * hm.mm_per_px)


def bead_length_mm(geom: BeadGeometry | None, profile: WeldTypeProfile) -> float:
    """Length (mm along the bead's path) over which the bead stands at least
    ``BEAD_MIN_HEIGHT_FRACTION`` of the nominal height above its local plates, at least
    ``BEAD_MIN_WIDTH_FRACTION`` of the nominal width wide (around the square path, with its
    crest centred: ``BeadGeometry.crest_centred``)."""
    if geom is None:
        return 0.0
    g = profile.geometry
    high = (geom.present & (geom.top_mm >= BEAD_MIN_HEIGHT_FRACTION * g.bead_height_mm)
            & (np.nan_to_num(geom.width_mm) >= BEAD_MIN_WIDTH_FRACTION * g.bead_width_mm))
    if geom.path.closed:
        high &= geom.crest_centred
    return float(high.sum()) * geom.path.step_mm


def expected_region(hm: HeightMap, profile: WeldTypeProfile) -> np.ndarray:
    """Cells that should hold data: the nominal bead band around the weld centre."""
    x, y = hm.xy_of(*np.indices(hm.shape))
    return kind_of(profile).path.expected_region(x, y, profile.geometry)


def valid_fraction(hm: HeightMap, profile: WeldTypeProfile) -> float:
    """Fraction of the expected region that is valid."""
    region = expected_region(hm, profile)
    return float(hm.valid[region].mean()) if region.any() else 0.0


def check(hm: HeightMap, profile: WeldTypeProfile,
          bead: BeadGeometry | EllipsisType | None = ...) -> Verdict | None:
    """A gate verdict, or None when the map may go on to the committee. ``bead``: the map's
    :func:`~point_cloud.bead_geometry.find_bead` when the caller has it already."""
    need = profile.limits.min_valid_fraction
    got = valid_fraction(hm, profile)
    if got < need:
        return capture_failure(f"capture_failure: valid fraction {got:.2f} < {need:.2f}")
    nominal = nominal_path_mm(hm, profile)
    found = bead_length_mm(find_bead(hm, profile) if bead is ... else bead, profile)
    if found < BEAD_MIN_LENGTH_FRACTION * nominal:
        return no_weld(f"no_bead: bead over {found:.1f} mm of the expected {nominal:.1f} mm")
    return None
