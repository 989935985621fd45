"""Good-class augmentation: dropout on the weld, gain/offset within tolerance, noise, jitter."""

from __future__ import annotations

import numpy as np
import pytest

from point_cloud.bead_geometry import BEAD_THRESHOLD_MM
from point_cloud.config import weld_type_profile
from synth_defects.augment import AugmentRanges, augment
from synth_defects.frame import bead_frame
from synth_defects.generate import make_sample


@pytest.mark.parametrize("weld_type", [3, 4, 7])
def test_augmented_goods_stay_within_scanner_tolerance(sim_good, weld_type):
    prof = weld_type_profile(weld_type)
    good = sim_good(weld_type)
    weld = bead_frame(good, prof).geom.excess > BEAD_THRESHOLD_MM
    still = AugmentRanges(shift_mm=0.0, rotation_deg=0.0)
    for seed in range(5):
        out, mask, p = augment(good, np.zeros(good.shape, bool), weld, np.random.default_rng(seed),
                               still)
        lost = (good.valid & ~out.valid & weld).sum() / (good.valid & weld).sum()
        assert 0.005 <= lost <= 0.04  # ~2 % of the weld's cells drop out
        assert not (out.valid & ~good.valid).any()
        both = good.valid & out.valid
        dz = out.z[both] - good.z[both]
        expected = good.z[both] * (p["aug_gain"] - 1) + p["aug_offset_mm"]
        assert np.abs(np.median(dz - expected)) < 0.01
        assert np.std(dz - expected) <= p["aug_noise_mm"] * 1.1 + 0.002
        assert abs(p["aug_offset_mm"]) <= 0.05
        assert abs(p["aug_gain"] - 1) <= 0.03
        assert not mask.any()


def test_pose_jitter_moves_map_and_mask_together(sim_good):
    prof = weld_type_profile(3)
    fr = bead_frame(sim_good(3), prof)
    e = make_sample(fr, "hole", np.random.default_rng(4), False, augmented=True)
    assert e.params["aug_shift_x_mm"] != 0
    # the hole (mask) still sits where the map is lowest relative to the bead around it
    inside = e.hm.z[e.mask & e.hm.valid]
    ring = e.hm.z[(fr.geom.excess > 1.0) & ~e.mask & e.hm.valid]
    assert inside.size == 0 or np.median(inside) < np.median(ring) - 0.3


def test_the_recorded_seed_recreates_the_sample(sim_good):
    fr = bead_frame(sim_good(4), weld_type_profile(4))
    a = make_sample(fr, "ball", np.random.default_rng(123), False, True)
    b = make_sample(fr, "ball", np.random.default_rng(123), False, True)
    c = make_sample(fr, "ball", np.random.default_rng(124), False, True)
    assert a.params == b.params
    np.testing.assert_array_equal(a.hm.z, b.hm.z)
    np.testing.assert_array_equal(a.mask, b.mask)
    assert a.params != c.params
