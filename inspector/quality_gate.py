"""The quality gate: capture failures and missing beads are decided before any model runs.

- too little of the expected region is valid (``limits.min_valid_fraction``) -> ERROR
  "capture_failure" (the scan is unusable: rescan, never pass). The expected region is the
  whole map, except for isolated beads (types 3, 10, 11) whose plates were removed on purpose:
  there it is the nominal bead band (length x width around the weld centre);
- no bead in the map (nothing rises ``bead_min_height_fraction`` of the nominal bead height
  above the plate over ``bead_min_length_fraction`` of the nominal bead length) -> FAIL
  "no_weld".
"""

from __future__ import annotations

import numpy as np

from inspector.verdict import Verdict
from point_cloud.config import WeldTypeProfile
from point_cloud.types import HeightMap

BEAD_MIN_HEIGHT_FRACTION = 0.4
BEAD_MIN_LENGTH_FRACTION = 0.3


def capture_failure(reason: str) -> Verdict:
    """ERROR verdict for a scan that cannot be judged."""
    return Verdict(decision="ERROR", score=1.0, threshold=0.5, defect="capture_failure",
                   reason=reason)


def no_weld(reason: str) -> Verdict:
    """FAIL verdict for a scan that shows no bead."""
    return Verdict(decision="FAIL", score=1.0, threshold=0.5, defect="no_weld", reason=reason)


def bead_length_mm(hm: HeightMap, min_height_mm: float) -> float:
    """Extent along X (mm) of the columns holding a valid cell at least ``min_height_mm`` high."""
    high = hm.valid & (hm.z >= np.float32(min_height_mm))
    return float(high.any(axis=0).sum()) * hm.mm_per_px


def expected_region(hm: HeightMap, profile: WeldTypeProfile) -> np.ndarray:
    """Cells that should hold data: the bead band for isolated beads, else the whole map."""
    geo = profile.geometry
    if geo.plate != "isolated":
        return np.ones(hm.shape, bool)
    rows, cols = np.indices(hm.shape)
    x, y = hm.xy_of(rows, cols)
    return np.asarray((np.abs(x) <= geo.bead_length_mm / 2) & (np.abs(y) <= geo.bead_width_mm / 2))


def valid_fraction(hm: HeightMap, profile: WeldTypeProfile) -> float:
    """Fraction of the expected region that is valid."""
    region = expected_region(hm, profile)
    return float(hm.valid[region].mean()) if region.any() else 0.0


def check(hm: HeightMap, profile: WeldTypeProfile) -> Verdict | None:
    """A gate verdict, or None when the map may go on to the committee."""
    need = profile.limits.min_valid_fraction
    got = valid_fraction(hm, profile)
    if got < need:
        return capture_failure(f"capture_failure: valid fraction {got:.2f} < {need:.2f}")
    geo = profile.geometry
    nominal = geo.square_side_mm if geo.path == "square" else geo.bead_length_mm
    nominal = min(nominal, hm.shape[1] * hm.mm_per_px)
    found = bead_length_mm(hm, BEAD_MIN_HEIGHT_FRACTION * geo.bead_height_mm)
    if found < BEAD_MIN_LENGTH_FRACTION * nominal:
        return no_weld(f"no_bead: bead over {found:.1f} mm of the expected {nominal:.1f} mm")
    return None
