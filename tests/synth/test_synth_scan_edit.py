"""A generated defect carried back onto a simulated scan shows up in the re-projected map."""

from __future__ import annotations

import numpy as np
import pytest

from point_cloud import measure
from point_cloud.config import weld_type_profile
from synth_defects.defects import ball, cut
from synth_defects.frame import bead_frame
from synth_defects.scan_edit import edit_from_maps
from synth_defects.sources import simulate_map


@pytest.mark.parametrize("weld_type", [3, 4])
def test_cut_and_ball_survive_the_round_trip_through_a_scan(weld_type):
    # projected with the simulator's true pose: this tests the edit, not the registration
    prof = weld_type_profile(weld_type)
    good = simulate_map(weld_type, 11, 300_000, prof, pipeline=False)
    fr = bead_frame(good, prof)
    lo, hi = fr.bead_span()
    mid = 0.5 * (lo + hi)
    bad = cut.apply(fr, mid - 8.0, 3.0, 0.5, np.random.default_rng(0)).hm
    bad = ball.apply(bead_frame(bad, prof), mid + 6.0, 0.0, 2.5, 1.2).hm
    edit = edit_from_maps(good, bad)
    rescanned = simulate_map(weld_type, 11, 300_000, prof, edit=edit, pipeline=False)
    gap = measure.longest_gap_mm(measure.compare(good, rescanned, prof)[1])
    assert gap == pytest.approx(3.0, abs=0.4)
    lump = measure.blob(good, rescanned, sign=+1, threshold_mm=0.3)
    assert lump is not None
    assert lump.peak_mm >= 0.8
    assert lump.diameter_mm == pytest.approx(2.5, abs=0.4)


def test_maps_on_different_grids_are_refused(sim_good):
    a = sim_good(3, 11)
    b = sim_good(10, 11)
    with pytest.raises(ValueError, match="one grid"):
        edit_from_maps(a, b)
