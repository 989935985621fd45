"""Defective *scans* (not maps): a defect class drawn on a simulated weld's surface.

The defect is made on the weld's true-pose height map by the class's maker, then carried
back onto the point cloud (:func:`~synth_defects.scan_edit.edit_from_maps`), so the scanner
simulator renders it with noise, shadows and pose like any other surface.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from point_cloud.config import WeldTypeProfile
from point_cloud.simulator import SurfaceEdit
from synth_defects.defects import MAKERS
from synth_defects.frame import bead_frame
from synth_defects.params import ranges_for
from synth_defects.scan_edit import edit_from_maps
from synth_defects.sources import simulate_map


class UnknownDefectError(ValueError):
    """A defect class name that no maker knows."""


def defect_edit(weld_type: int, seed: int, defect: str, points: int,
                profile: WeldTypeProfile) -> tuple[SurfaceEdit, dict[str, Any]]:
    """(surface edit for ``simulate_weld``, the defect's parameters in mm)."""
    if defect not in MAKERS:
        raise UnknownDefectError(f"defect: expected one of {sorted(MAKERS)}, found {defect!r}")
    good = simulate_map(weld_type, seed, points, profile, pipeline=False)
    edited = MAKERS[defect](bead_frame(good, profile), np.random.default_rng(seed),
                            ranges_for(profile))
    return edit_from_maps(good, edited.hm), dict(edited.params)
