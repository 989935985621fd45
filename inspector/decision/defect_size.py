"""The size of a rejected weld's defect, measured on its height map, against the norm.

The committee names the defect class; this measures the quantity the weld norm limits (a
cut's length, a ball's or a pore's diameter, a deviation's offset, an excess imbalance, a
lack of material's length) with :mod:`point_cloud.measure` on the map alone: no good
reference exists at inspection time. ``None`` where the class has no such measurement (no
weld, capture failure) or the bead cannot be analysed.
"""

from __future__ import annotations

import numpy as np

from inspector.verdict import Measurement
from point_cloud.bead_geometry import analyse_bead
from point_cloud.config import WeldTypeProfile
from point_cloud.errors import NoBeadFoundError
from point_cloud.measure import blob_on_map, imbalance, longest_gap_mm, toe_retreat_on_map
from point_cloud.types import HeightMap


def centreline_deviation_mm(hm: HeightMap, profile: WeldTypeProfile) -> float:
    """Largest offset of the bead centreline from its own median line (mm)."""
    off = analyse_bead(hm, profile).offset_mm
    off = off[np.isfinite(off)]
    return float(np.abs(off - np.median(off)).max()) if off.size else 0.0


def measure_defect(hm: HeightMap, profile: WeldTypeProfile, defect: str | None
                   ) -> Measurement | None:
    """The norm's quantity for ``defect`` on ``hm``, or ``None`` when it cannot be measured."""
    lim = profile.limits
    try:
        if defect == "cut":
            gap = longest_gap_mm(analyse_bead(hm, profile))
            return Measurement("cut_length", round(gap, 2), lim.cut_reject_mm)
        if defect in ("ball", "hole"):
            found = blob_on_map(hm, profile, 1 if defect == "ball" else -1)
            if found is None:
                return None
            limit = lim.ball_reject_diameter_mm if defect == "ball" else lim.hole_reject_diameter_mm
            return Measurement(f"{defect}_diameter", round(found.diameter_mm, 2), limit)
        if defect == "deviation":
            return Measurement("deviation_offset", round(centreline_deviation_mm(hm, profile), 2),
                               lim.deviation_reject_mm)
        if defect == "excess":
            found_imb = imbalance(hm, profile)
            return Measurement("excess_imbalance", round(abs(found_imb.imbalance_mm), 2),
                               lim.excess_reject_imbalance_mm)
        if defect == "lack":
            found_toe = toe_retreat_on_map(hm, profile)
            return Measurement("lack_length", round(found_toe.length_mm, 2),
                               lim.lack_reject_length_mm)
    except NoBeadFoundError:
        return None
    return None
