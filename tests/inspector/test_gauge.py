"""A FAIL's defect size, measured on the map alone, against what the generator made."""

from __future__ import annotations

import numpy as np
import pytest

from inspector.decision.defect_size import measure_defect
from point_cloud.config import weld_type_profile
from synth_defects.defects import MAKERS
from synth_defects.frame import bead_frame
from synth_defects.params import ranges_for
from synth_defects.sources import simulate_map

# defect class -> (parameter drawn by the generator, tolerance of the measurement in mm)
CASES = {"cut": ("length_mm", 0.3), "deviation": ("offset_mm", 0.3),
         "excess": ("imbalance_mm", 0.1), "lack": ("length_mm", 1.5)}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sizes_match_the_generated_defect_and_exceed_the_limit(seed: int) -> None:
    prof = weld_type_profile(4)
    good = simulate_map(4, seed, 300_000, prof)
    frame = bead_frame(good, prof)
    for defect, (key, tol) in CASES.items():
        made = MAKERS[defect](frame, np.random.default_rng(seed), ranges_for(prof))
        m = measure_defect(made.hm, prof, defect)
        assert m is not None, defect
        assert m.value_mm == pytest.approx(abs(made.params[key]), abs=tol), defect
        assert m.value_mm > m.limit_mm, defect          # a bad example is beyond the norm
        assert measure_defect(good, prof, defect).value_mm < m.limit_mm, defect  # type: ignore[union-attr]
