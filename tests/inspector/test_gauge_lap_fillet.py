"""The norm gauge on lap fillets (types 2, 8 and 9: the bead on the ramp from the lower plate
to an upper one 1-3 mm higher) drawn from the contract's variation space: good welds pass,
whether or not the map says what plate step prepare measured, and an imbalance is measured
against the ramp between the two plates' levels."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from inspector.decision.gauge import BEAD_END_SLACK_MM, EDGE_RISE_MM, gauge_weld
from point_cloud.align import nominal_step_mm
from point_cloud.bead_geometry import analyse_bead, plate_step_mm
from point_cloud.config import weld_type_profile
from point_cloud.measure import off_end_caps, without_specks
from point_cloud.pipeline import scan_to_heightmap
from point_cloud.plates import lap_plate_levels
from point_cloud.simulator import simulate_weld
from point_cloud.types import HeightMap
from point_cloud.variation import VariationRule
from synth_defects.defects import MAKERS, ball, deviation, lack
from synth_defects.frame import bead_frame
from synth_defects.params import ranges_for
from synth_defects.sources import simulate_map

PROFILE = weld_type_profile(9)
SEEDS = range(20)
"""Varied type-9 goods with a cropped upper plate 2-3 mm up (the settings the gauge failed
most: before, 5 of these 20 failed it once the map lost prepare's step, as the test sets'
samples had: excess 0.81-1.47 mm, holes 1.65-2.72 mm)."""
MAX_GOOD_IMBALANCE_MM = 0.3
"""A good lap fillet's imbalance measured on its ramp (the norm's limit: 0.6 mm)."""


def _strip(hm: HeightMap) -> HeightMap:
    """``hm`` as a dataset sample made before samples kept prepare's plate step."""
    return replace(hm, meta={k: v for k, v in hm.meta.items() if k != "plate_step_mm"})


@pytest.fixture(scope="module")
def goods() -> list[tuple[HeightMap, float]]:
    """(map through the pipeline, the simulator's plate step) per seed."""
    rule = VariationRule.parse(only=("plates=part", "step=high"))
    out = []
    for seed in SEEDS:
        sim = simulate_weld(9, seed, variation=rule)
        assert sim.shape is not None
        out.append((scan_to_heightmap(sim.cloud, PROFILE), sim.shape.step_mm))
    return out


def test_varied_lap_fillet_goods_pass_the_gauge(goods: list[tuple[HeightMap, float]]) -> None:
    for hm, _ in goods:
        for seen_as in (hm, _strip(hm)):
            report = gauge_weld(seen_as, PROFILE)
            assert report.exceeding == [], [(f.defect, round(f.value_mm, 2))
                                            for f in report.exceeding]
            assert report.findings["excess"].value_mm < MAX_GOOD_IMBALANCE_MM


def test_the_plate_step_is_read_on_the_map(goods: list[tuple[HeightMap, float]]) -> None:
    """A map without prepare's step gets it read on its own cells: within 0.1 mm of
    prepare's reading on the cloud and 0.15 mm of the simulator's."""
    for hm, true_step in goods:
        step = plate_step_mm(_strip(hm), PROFILE)
        assert step != nominal_step_mm(PROFILE)          # 2-3 mm: not the nominal 1.5
        assert step == pytest.approx(hm.meta["plate_step_mm"], abs=0.1)
        assert step == pytest.approx(true_step, abs=0.15)
        assert plate_step_mm(hm, PROFILE) == hm.meta["plate_step_mm"]  # prepare's is kept
        assert all(lap_plate_levels(hm, PROFILE).seen)  # both plates beyond the bead


@pytest.mark.parametrize("seed", [1, 2, 6, 7, 9])
def test_an_imbalance_on_a_lap_fillet_is_measured_on_its_ramp(seed: int) -> None:
    """Excess material made on a varied type-9 good (upper plate 2-3 mm up) is measured
    within 0.2 mm of the imbalance drawn, beyond the limit."""
    good = simulate_map(9, seed, 300_000, PROFILE,
                        vary=VariationRule.parse(only=("plates=whole", "step=high")))
    made = MAKERS["excess"](bead_frame(good, PROFILE), np.random.default_rng(seed),
                            ranges_for(PROFILE))
    f = gauge_weld(_strip(made.hm), PROFILE).findings["excess"]
    assert f.value_mm == pytest.approx(abs(float(made.params["imbalance_mm"])), abs=0.2)
    assert f.exceeds
    assert gauge_weld(_strip(good), PROFILE).findings["excess"].value_mm < MAX_GOOD_IMBALANCE_MM


@pytest.mark.parametrize("seed", [1, 4, 6])
def test_a_removed_upper_plate_is_read_at_the_beads_edge(seed: int) -> None:
    """No upper plate in the scan and no step from prepare: its level is read where the
    bead's cells end beside it, a quarter of that band uncertain on the imbalance (the
    ramp's rise is halved between the quarter points); the good weld passes."""
    sim = simulate_weld(9, seed, variation=VariationRule.parse(only=("plates=none",)))
    assert sim.shape is not None
    assert sim.shape.keep_mm[1] == 0.0                  # the upper plate removed
    hm = _strip(scan_to_heightmap(sim.cloud, PROFILE))
    assert not lap_plate_levels(hm, PROFILE).seen[1]
    report = gauge_weld(hm, PROFILE)
    assert report.exceeding == []
    excess = report.findings["excess"]
    assert excess.uncertainty_mm == pytest.approx(0.25 * EDGE_RISE_MM, abs=1e-9)
    assert excess.value_mm < MAX_GOOD_IMBALANCE_MM


def test_specks_beyond_the_beads_end_are_no_bead(goods: list[tuple[HeightMap, float]]) -> None:
    """A stretch of "bead" wholly beyond the bead's nominal end (a high plate's edge) is
    dropped: the bead's end, and its end caps, are its own again."""
    hm, _ = goods[0]
    g = analyse_bead(hm, PROFILE)
    half = 0.5 * PROFILE.geometry.bead_length_mm + BEAD_END_SLACK_MM
    assert without_specks(g, half) is g                  # nothing to drop
    last = int(np.flatnonzero(g.present)[-1])
    speck = slice(last + 12, last + 17)                  # 1 mm of "bead" 2.4 mm past its end
    present = g.present.copy()
    present[speck] = True
    specked = replace(g, present=present, end_s_mm=float(g.s_mm[speck.stop - 1]))
    assert off_end_caps(specked)[last - 5]               # its real end cap taken for a section
    trimmed = without_specks(specked, half)
    assert not trimmed.present[speck].any()
    assert (trimmed.start_s_mm, trimmed.end_s_mm) == (g.start_s_mm, g.end_s_mm)
    assert not off_end_caps(trimmed)[last - 5]


@pytest.mark.parametrize(("weld_type", "seed"), [(2, 0), (2, 1), (8, 0), (8, 2)])
def test_a_long_lack_at_the_lower_plate_is_measured_whole(weld_type: int, seed: int) -> None:
    # a lap's toe at its upper plate's edge is never seen beside the step: the lack gauge
    # gave up (no lack read), and 12 mm of bead 1.6 mm short of the lower plate passed it
    # on these four welds; where the retreat flickers about the threshold it read 2.2 mm
    prof = weld_type_profile(weld_type)
    frame = bead_frame(simulate_map(weld_type, seed, 300_000, prof), prof)
    lo, hi = frame.bead_span()
    made = lack.apply(frame, -1, 0.5 * (lo + hi), 12.0, 1.6)
    found = gauge_weld(made.hm, prof).findings["lack"]
    assert found.exceeds, found
    assert found.value_mm == pytest.approx(12.0, abs=1.5)


@pytest.mark.parametrize(("weld_type", "seed"), [(2, 1), (2, 2), (8, 1), (8, 2)])
def test_a_bead_bent_off_the_upper_plate_is_no_imbalance(weld_type: int, seed: int) -> None:
    # bent 0.9 mm south (the norm allows 1.5), the bead bares a strip in front of the upper
    # plate's edge: the section comes down into a valley and rises to the plate. The toe
    # was read at the plate, 1-2 mm out, and the middle with it: these four read an
    # imbalance of 0.86-1.33 mm (limit 0.6) and failed the good weld
    prof = weld_type_profile(weld_type)
    good = simulate_map(weld_type, seed, 300_000, prof,
                        vary=VariationRule.parse(only=("plates=whole",)))
    frame = bead_frame(good, prof)
    lo, hi = frame.bead_span()
    bent = deviation.apply(frame, -0.9, "middle", 0.3 * (hi - lo))
    report = gauge_weld(bent.hm, prof)
    assert report.findings["excess"].value_mm < MAX_GOOD_IMBALANCE_MM
    assert "excess" not in {f.defect for f in report.exceeding}


@pytest.mark.parametrize(("weld_type", "seed", "where", "offset_mm"), [
    (2, 0, "start", -0.9), (2, 1, "start", 0.9), (2, 2, "middle", -0.9), (8, 0, "middle", -0.9),
    (8, 3, "start", -0.9), (8, 3, "start", 0.9), (9, 0, "middle", -0.9)])
def test_an_acceptable_bend_of_a_lap_as_the_line_scans_it_is_no_imbalance(
        weld_type: int, seed: int, where: str, offset_mm: float) -> None:
    # the line's own layout (the lower plate not scanned), bent 0.9 mm (the norm allows
    # 1.5): the bead moves whole, ramp and all. Drawn by generator 1.10, which moved the
    # bead's material over the ramp it had stood on, these read 0.68-0.97 mm (limit 0.6)
    prof = weld_type_profile(weld_type)
    frame = bead_frame(simulate_map(weld_type, seed, 300_000, prof), prof)
    lo, hi = frame.bead_span()
    bent = deviation.apply(frame, offset_mm, where, 0.3 * (hi - lo))
    assert gauge_weld(bent.hm, prof).findings["excess"].value_mm < 0.45


@pytest.mark.parametrize(("weld_type", "seed", "beyond_mm"), [(2, 2, 0.9), (2, 3, 1.3),
                                                               (8, 7, 1.3)])
def test_a_ball_beside_a_lap_bead_is_not_taken_for_the_bead(weld_type: int, seed: int,
                                                          beyond_mm: float) -> None:
    # an acceptable ball (2.4 mm across, its apex 0.4 mm over the bead) beyond the toe on
    # the upper plate: over that plate it holds more material than the bead over its ramp,
    # and where the sections took it for the bead the centreline jumped 4 mm (deviation
    # read 3.9-4.3 mm on these three, limit 1.5). The bead is the run its sections agree on
    prof = weld_type_profile(weld_type)
    frame = bead_frame(simulate_map(weld_type, seed, 300_000, prof), prof)
    lo, hi = frame.bead_span()
    made = ball.apply(frame, 0.5 * (lo + hi), 0.5 * prof.geometry.bead_width_mm + beyond_mm,
                      2.4, 0.4)
    report = gauge_weld(made.hm, prof)
    assert report.findings["deviation"].value_mm < prof.limits.deviation_reject_mm
    assert report.exceeding == []
