"""The norm gauge: sizes measured on the map alone against what the generator made, and
its vote in the committee's verdict."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

from inspector.decision.gauge import (
    BALL_HEIGHT_UNCERTAINTY_MM,
    END_MARGIN_MM,
    GAUGES,
    Condition,
    Finding,
    GaugeReport,
    gauge_weld,
    vote,
)
from inspector.verdict import Verdict
from point_cloud.bead_geometry import analyse_bead, find_bead
from point_cloud.config import weld_type_profile
from point_cloud.measure import off_end_caps
from point_cloud.types import HeightMap
from point_cloud.variation import VariationRule
from synth_defects.defects import MAKERS, ball, deviation, excess, hole, lack
from synth_defects.defects import cut as cut_defect
from synth_defects.frame import bead_frame
from synth_defects.params import ranges_for
from synth_defects.sources import load_source, simulate_map, simulated_sources

# defect class -> (parameter drawn by the generator, tolerance of the measurement in mm: a
# hole's is the gauge's own uncertainty, two cells; bench/gauge_accuracy.py holds the bar);
# a deviation's parameter is its offset at the bead's very tip, which the end cap hides
CASES = {"cut": ("length_mm", 0.3), "deviation": ("offset_mm", 0.4),
         "excess": ("imbalance_mm", 0.15), "lack": ("length_mm", 1.5),
         "hole": ("diameter_mm", 0.4), "ball": ("diameter_mm", 0.3)}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sizes_match_the_generated_defect_and_exceed_the_limit(seed: int) -> None:
    prof = weld_type_profile(4)
    good = simulate_map(4, seed, 300_000, prof)
    frame = bead_frame(good, prof)
    clean = gauge_weld(good, prof)
    assert clean.exceeding == []                             # a good weld: nothing beyond
    assert clean.bead is not None
    assert clean.bead.width_mm == pytest.approx(prof.geometry.bead_width_mm, abs=1.0)
    half_length = 0.5 * prof.geometry.bead_length_mm
    for defect, (key, tol) in CASES.items():
        made = MAKERS[defect](frame, np.random.default_rng(seed), ranges_for(prof))
        f = gauge_weld(made.hm, prof).findings[defect]
        # pits and lumps reaching into an end cap are sized there against the closing or
        # the nearest full section (test_pits_and_lumps_in_a_line_beads_end_caps_are_found)
        reach = abs(made.params.get("x_mm", 0.0)) + 0.5 * made.params.get("diameter_mm", 0.0)
        near_end = reach > half_length - 0.5 * prof.geometry.bead_width_mm - END_MARGIN_MM
        if not near_end:
            assert f.value_mm == pytest.approx(abs(made.params[key]), abs=tol), defect
        assert f.value_mm > f.limit_mm, defect              # a bad example is beyond the norm
        assert clean.findings[defect].value_mm < f.limit_mm, defect


def _report(value: float, unc: float = 0.1) -> GaugeReport:
    return GaugeReport({"hole": Finding("hole", "hole_diameter", value, unc, 1.0, (3.0, -1.0))},
                       None)


def test_a_clear_exceedance_fails_the_weld_whatever_the_committee_said() -> None:
    v = vote(Verdict("PASS", 0.01, 0.5), _report(1.6))
    assert (v.decision, v.defect, v.location_mm) == ("FAIL", "hole", (3.0, -1.0))
    assert v.measurement is not None
    assert (v.measurement.value_mm, v.measurement.limit_mm) == (1.6, 1.0)
    assert v.member_scores["gauge"] == 1.0


def test_inside_the_uncertainty_band_the_committee_decides() -> None:
    assert vote(Verdict("PASS", 0.01, 0.5), _report(1.05)).decision == "PASS"
    v = vote(Verdict("FAIL", 0.9, 0.5, defect="hole"), _report(0.95))
    assert v.decision == "FAIL"
    assert v.measurement is not None
    assert v.measurement.value_mm == 0.95                 # the named class's size, measured
    assert v.member_scores["gauge"] == 0.0


def test_what_a_hidden_stretch_may_hide_widens_the_band_upwards_only() -> None:
    # a bend seen 2.74 mm off (limit 1.5) beside a stretch the offset was not measured on
    # exceeds; one seen at 1.0 mm there is not clearly within (the stretch may hide more)
    def bend(value: float, hidden: float) -> Finding:
        return Finding("deviation", "deviation_offset", value, 0.2, 1.5, hidden_mm=hidden)
    assert bend(2.74, 1.5).exceeds
    assert not bend(1.0, 1.5).within
    assert bend(1.0, 0.0).within
    assert not bend(1.6, 0.0).exceeds


def test_a_ball_exceeds_only_when_its_height_does_too() -> None:
    def ball(diameter: float, height: float) -> Finding:
        return Finding("ball", "ball_diameter", diameter, 0.4, 1.5, None,
                       {"height_mm": Condition(height, 0.8, BALL_HEIGHT_UNCERTAINTY_MM)})
    wide_but_flat = ball(2.5, 0.5)
    assert not wide_but_flat.exceeds
    assert wide_but_flat.within
    assert ball(2.5, 1.2).exceeds
    # the height has its own uncertainty, not the diameter's two pixels: a 3 mm ball 1.06 mm
    # high (varied type-4 test set) is beyond both limits
    assert BALL_HEIGHT_UNCERTAINTY_MM <= 0.15
    assert ball(3.0, 1.06).exceeds
    assert ball(3.0, 0.99).exceeds      # a bad type-7 ball 1.15 mm high read so
    assert not ball(3.0, 0.9).exceeds
    assert not ball(1.8, 1.2).exceeds


@pytest.mark.parametrize("seed", [0, 3])
def test_pits_and_lumps_on_a_square_bead_are_sized_in_its_own_frame(seed: int) -> None:
    prof = weld_type_profile(7)
    good = simulate_map(7, seed, 300_000, prof)
    frame = bead_frame(good, prof)
    assert gauge_weld(good, prof).exceeding == []        # the start/stop crater is no pore
    for defect in ("hole", "ball"):
        made = MAKERS[defect](frame, np.random.default_rng(seed), ranges_for(prof))
        f = gauge_weld(made.hm, prof).findings[defect]
        assert f.exceeds, defect
        assert f.value_mm == pytest.approx(made.params["diameter_mm"], abs=0.5), defect
        assert f.location_mm is not None
        assert np.hypot(f.location_mm[0] - made.params["x_mm"],
                        f.location_mm[1] - made.params["y_mm"]) < 1.0, defect   # the ring


@pytest.mark.parametrize("seed", [0, 4, 8, 10])
def test_a_square_bead_on_a_recessed_patch_shows_no_pit_or_lump(seed: int) -> None:
    # a flat bead on a ramp down to a recessed patch: its height above the plates read under
    # it wobbled over a sample or two (at the start/stop crater, under shadows), which read
    # as 2-4 mm pits and lumps on these welds when they were sought on that height
    prof = weld_type_profile(7)
    rule = VariationRule.parse(only=["patch=recessed", "bead=flat"])
    report = gauge_weld(simulate_map(7, seed, 200_000, prof, vary=rule), prof)
    assert report.bead is not None
    for defect in ("hole", "ball"):
        assert report.findings[defect].value_mm < 0.5, (defect, report.findings[defect])
    assert not [f for f in report.exceeding if f.defect in ("hole", "ball")]


def test_an_acceptable_cut_at_a_square_beads_start_is_no_pit() -> None:
    # the generator puts acceptable cuts at the bead's start/stop, beside its crater: the
    # cut's walls, which the running median along the path bridges, read as 2.5-3 mm pits
    prof = weld_type_profile(7)
    holes = []
    for seed in range(6):
        frame = bead_frame(simulate_map(7, seed, 200_000, prof), prof)
        made = MAKERS["cut_ok"](frame, np.random.default_rng(seed), ranges_for(prof))
        report = gauge_weld(made.hm, prof)
        assert report.findings["cut"].value_mm < prof.limits.cut_reject_mm
        holes.append(report.findings["hole"].value_mm)
    assert max(holes) < prof.limits.hole_reject_diameter_mm, holes


def test_a_hole_on_a_square_bead_is_read_whole_where_cells_of_it_were_not_seen(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # holes the generator made on type 7 varied welds (sources of the test set's seed 2):
    # where the bead's band was sampled between a seen and an unseen pixel, whole columns of
    # the hole read "unseen" and split it; 1.7-2.6 mm holes read 0-1.4 mm. (Holes whose
    # bottom was not seen are another matter: test_a_pore_whose_bottom_was_not_seen...)
    monkeypatch.setattr(hole, "UNSEEN_SHARE", 0.0)
    prof = weld_type_profile(7)
    srcs = simulated_sources([7], 60, 2)
    read = {}
    for i in (0, 10, 20, 26, 50, 58):
        good = load_source(srcs[i], 300_000, VariationRule())
        made = hole.make(bead_frame(good, prof), np.random.default_rng(i), ranges_for(prof))
        f = gauge_weld(made.hm, prof).findings["hole"]
        read[i] = (round(made.params["diameter_mm"], 2), round(f.value_mm, 2), f.exceeds)
    assert all(ex and v >= 0.75 * d for d, v, ex in read.values()), read


@pytest.mark.parametrize("seed", [2, 3])
def test_excess_on_a_square_bead_whose_outer_plate_was_not_seen(seed: int) -> None:
    # type 7 with its outer plate cropped away: the plate's level, guessed from the bead's
    # flank, tilted the base, and the imbalance was not measured (71 of 78 such excess maps
    # of type 7's calibration set passed the gauge). Each section's imbalance is now read
    # against the loop's median one
    prof = weld_type_profile(7)
    good = simulate_map(7, seed, 300_000, prof, vary=VariationRule.parse(only=["plates=none"]))
    assert analyse_bead(good, prof).meta["plate_level_guessed"]
    assert gauge_weld(good, prof).findings["excess"].value_mm < 0.3
    frame = bead_frame(good, prof)
    lo, hi = frame.bead_span()
    made = excess.apply(frame, 1.0, lo + 0.6 * (hi - lo), 8.0)
    found = gauge_weld(made.hm, prof).findings["excess"]
    assert found.value_mm == pytest.approx(1.0, abs=CASES["excess"][1])
    assert found.exceeds


@pytest.mark.parametrize("weld_type", [4, 10])
def test_an_excess_seen_on_two_thirds_of_its_sections_is_measured(weld_type: int) -> None:
    # sparse scan lines leave a section's quarter points unseen here and there: over a
    # type-7 side with a 1.08 mm excess 76 % of the norm's window was seen, and the gauge,
    # which asked for 80 %, averaged another stretch (read 0.04 mm; 12 of 396 excess maps
    # of the generator's varied sets passed so). Here the north flank goes unseen in every
    # third pair of columns
    prof = weld_type_profile(weld_type)
    good = simulate_map(weld_type, 2, 300_000, prof)
    frame = bead_frame(good, prof)
    lo, hi = frame.bead_span()
    made = excess.apply(frame, 1.0, lo + 0.4 * (hi - lo), 8.0)
    cols = np.arange(good.shape[1])
    hidden = (frame.t > 0.3) & (frame.t < 2.5) & ((cols // 2) % 3 == 0)[None, :]
    sparse = made.hm.with_z(made.hm.z, made.hm.valid & ~hidden)
    found = gauge_weld(sparse, prof).findings["excess"]
    assert found.value_mm == pytest.approx(1.0, abs=CASES["excess"][1])
    assert found.exceeds


@pytest.mark.parametrize(("seed", "side"), [(0, -1), (2, -1), (1, 1)])
def test_lack_on_a_square_bead_whose_outer_plate_was_not_seen(seed: int, side: int) -> None:
    # with nothing measured beyond the loop's outer toe, that toe never counted as seen and
    # no lack was measured on either side (93 of 252 lack maps of type 7's calibration set
    # passed the gauge, 72 of them with the outer plate cropped away). Now that toe is read
    # where the bead's cloud ends
    prof = weld_type_profile(7)
    good = simulate_map(7, seed, 300_000, prof, vary=VariationRule.parse(only=["plates=none"]))
    assert gauge_weld(good, prof).exceeding == []
    frame = bead_frame(good, prof)
    lo, hi = frame.bead_span()
    made = lack.apply(frame, side, lo + 0.6 * (hi - lo), 8.0, 1.8)
    found = gauge_weld(made.hm, prof).findings["lack"]
    assert found.value_mm == pytest.approx(8.0 + lack.RAMP_MM, abs=CASES["lack"][1])
    assert found.exceeds


@pytest.mark.parametrize("index", [15, 34, 50])
def test_a_square_bead_is_found_whatever_its_plates_do(index: int) -> None:
    # type 7 good welds of the varied test set's sources (seed 2): a recessed patch under an
    # oblique outer plate (15), a raised patch with the outer plate cropped (34), a recessed
    # one with it cropped and rising (50). The ring was fitted on the bead's height above
    # an opening, which an outer plate rising to the crest or a cropped edge filled as bead
    # drew 1.4-6 mm aside: its sides then read as 15 mm of lack, 3 mm bends, 0.7-1 mm
    # excess. Now the nominal ring is laid over the surface's ridge first
    prof = weld_type_profile(7)
    hm = load_source(simulated_sources([7], 60, 2)[index], 300_000, VariationRule())
    geom = analyse_bead(hm, prof)
    assert np.hypot(*geom.path.centre) < 0.6, geom.path.centre   # prepare centred the ring
    assert geom.path.half_side_mm == pytest.approx(prof.geometry.square_side_mm / 2, abs=0.6)
    assert gauge_weld(hm, prof).exceeding == []


@pytest.mark.parametrize("seed", [7, 25])
def test_a_line_beads_end_crater_is_no_pore(seed: int) -> None:
    # coarsely sampled, the crater next to an end cap reached past the end margin and read
    # as a 1.7-2.5 mm pore there; a pit that close to the end must go deeper than a crater
    prof = weld_type_profile(3)
    rule = VariationRule.parse(only=["spacing=coarse"])
    hole = gauge_weld(simulate_map(3, seed, 200_000, prof, vary=rule), prof).findings["hole"]
    assert hole.value_mm < prof.limits.hole_reject_diameter_mm, hole


@pytest.mark.parametrize(("weld_type", "seed"), [(9, 0), (3, 1), (8, 2)])
def test_pits_and_lumps_in_a_line_beads_end_caps_are_found(weld_type: int, seed: int) -> None:
    # within half a bead width and END_MARGIN_MM of a line bead's ends pits and lumps were
    # not looked for: on the varied test sets 50 of 88 such holes and 41 of 65 such balls
    # passed the gauge (type 9, 15 mm long: 18 of 33 and 17 of 22)
    prof = weld_type_profile(weld_type)
    good = simulate_map(weld_type, seed, 300_000, prof)
    frame = bead_frame(good, prof)
    assert gauge_weld(good, prof).exceeding == []
    start, end = frame.bead_span()
    for s in (start + 2.0, end - 2.0):                  # in the caps, a 2 mm pore ...
        made = hole.apply(frame, s, 0.0, 2.0, 1.2)
        f = gauge_weld(made.hm, prof).findings["hole"]
        assert f.exceeds, (s, f)
        assert f.value_mm == pytest.approx(2.0, abs=0.4), (s, f)
        assert f.location_mm is not None
        assert np.hypot(f.location_mm[0] - made.params["x_mm"],
                        f.location_mm[1] - made.params["y_mm"]) < 0.5
        s_ball = s + (1.0 if s < end - 3 else -1.0)      # ... and a 2.5 mm ball on either toe
        half_width, _ = frame.local(s_ball)
        for t in (-half_width, half_width):
            made = ball.apply(frame, s_ball, t, 2.5, 1.2)
            f = gauge_weld(made.hm, prof).findings["ball"]
            assert f.exceeds, (s, t, f)
            assert f.value_mm == pytest.approx(2.5, abs=0.6), (s, t, f)
            # over the bead top as drawn, or over the plate beside it (more): never less
            assert f.also["height_mm"].value_mm > 1.2 - 0.3, (s, t, f)


@pytest.mark.parametrize("seed", [2, 5, 7])
def test_a_short_cut_near_a_beads_end_is_no_pore(seed: int) -> None:
    # a 0.3 mm cut 4.35 mm from a type-5 bead's start leaves no gap, but the median along
    # the bead bridged its groove: a 1.8-1.9 mm "pore" in the crater band (3 of 200 such
    # cuts near the ends of types 3, 4, 5 and 9, seeds 0-9). A pit near an end 1.5 times as
    # long across the bead as along it is a cut (an acceptable one here), not a pore
    prof = weld_type_profile(5)
    good = simulate_map(5, seed, 300_000, prof)
    frame = bead_frame(good, prof)
    start, end = frame.bead_span()
    for s in (start + 2.5, start + 4.35, end - 3.0):
        made = cut_defect.apply(frame, s, 0.3, 0.7, np.random.default_rng(seed))
        f = gauge_weld(made.hm, prof).findings["hole"]
        assert not f.exceeds, (s - start, f)


@pytest.mark.parametrize(("weld_type", "seed"), [(2, 0), (2, 2), (3, 0), (8, 1)])
def test_a_pore_in_the_crater_band_is_no_groove(weld_type: int, seed: int) -> None:
    # a 1.4 mm pore just inside the crater band, drawn out across the bead by the cap's
    # slope or a ripple at its rim, was taken for a groove (a cut) and read 0: 5 of 54 such
    # pores on types 2, 3 and 8, and one of the lowest-scoring bad maps of type 8's
    # calibration set. A groove crosses the bead; a pore does not
    prof = weld_type_profile(weld_type)
    frame = bead_frame(simulate_map(weld_type, seed, 300_000, prof), prof)
    start, _ = frame.bead_span()
    s = start + 0.5 * frame.geom.median_width_mm + END_MARGIN_MM + 0.3
    for t in (-0.8, 0.8):
        f = gauge_weld(hole.apply(frame, s, t, 1.4, 0.8).hm, prof).findings["hole"]
        assert f.exceeds, (t, f)
        assert f.value_mm == pytest.approx(1.4, abs=0.3), (t, f)


def test_a_shadow_along_a_beads_crest_leaves_no_lump() -> None:
    # type 5, one plate removed, a shadow along the crest: where it left the along-X
    # median too few cells, the crest was measured against the plate's level, a 2.5 mm
    # "lump" 2 mm high (source 39 of the varied test set's seed)
    src = simulated_sources([5], 60, 2)[39]
    prof = weld_type_profile(5)
    ball = gauge_weld(load_source(src, 300_000, VariationRule()), prof).findings["ball"]
    assert not ball.exceeds, ball


def test_a_shadow_biting_into_one_flank_is_no_bend_pore_or_excess() -> None:
    # type 8, both plates removed, a shadow biting 6 mm into the bead's north flank (source
    # 232 of the 420-weld varied training set): the centre of what was seen moved over half
    # a mm, read as a bend; the reference followed it, and its flank, a pixel off, read as a
    # 4.7 mm pore, the quarter points as a 0.72 mm north/south imbalance. A bend needs both
    # toes seen over most of it
    src = simulated_sources([8], 420, 1)[232]
    prof = weld_type_profile(8)
    report = gauge_weld(load_source(src, 300_000, VariationRule()), prof)
    assert report.exceeding == [], report.exceeding
    assert report.findings["hole"].value_mm < prof.limits.hole_reject_diameter_mm
    assert report.findings["excess"].value_mm < 0.3


def test_a_shadow_ringed_by_ripple_troughs_is_no_pore() -> None:
    # type 4, a flat rippled bead: a shadow inside it, ringed by the ripples' troughs
    # (0.2 mm below the along-X median), read as a 3.2 mm pore whose bottom was not seen
    src = simulated_sources([4], 60, 2)[25]
    prof = weld_type_profile(4)
    hole = gauge_weld(load_source(src, 300_000, VariationRule()), prof).findings["hole"]
    assert hole.value_mm < prof.limits.hole_reject_diameter_mm, hole


def test_every_defect_class_with_a_norm_limit_has_one_gauge_and_one_generator() -> None:
    from point_cloud.config import Limits
    from synth_defects.classes import ALL_CLASSES, BAD_CLASSES

    gauged = [g.defect for g in GAUGES]
    whole_map = {"no_weld", "capture_failure"}          # the quality gate's, not a size
    assert sorted(gauged) == sorted(set(BAD_CLASSES) - whole_map)
    assert all(g.spec.limit in Limits.model_fields for g in GAUGES)
    assert set(MAKERS) == set(ALL_CLASSES)
    limits = Limits()
    assert {g.defect: getattr(limits, str(g.spec.limit)) for g in GAUGES} == {
        "cut": 2.0, "hole": 1.0, "ball": 1.5, "deviation": 1.5, "excess": 0.6, "lack": 3.0}


@pytest.mark.parametrize(("weld_type", "seed"), [(3, 1), (4, 2), (8, 3)])
def test_a_pore_whose_bottom_was_not_seen_is_measured(weld_type: int, seed: int) -> None:
    """An empty round patch wholly on the bead's crest is a pore (no shadow falls there):
    read at its rim's diameter within the gauge's uncertainty. Before, an empty patch
    without a seen wall was no pit, and analytic holes drawn with an unseen bottom read 0."""
    prof = weld_type_profile(weld_type)
    good = simulate_map(weld_type, seed, 300_000, prof)
    frame = bead_frame(good, prof)
    start, end = frame.bead_span()
    for d in (1.6, 2.4):
        made = hole.apply(frame, 0.5 * (start + end), 0.0, d, 1.0, unseen_below_mm=0.01)
        f = gauge_weld(made.hm, prof).findings["hole"]
        assert f.exceeds, (d, f)
        assert f.value_mm == pytest.approx(d, abs=f.uncertainty_mm), (d, f)
    # the scanner's scattered lost cells on a good crest are no pore
    rng = np.random.default_rng(seed)
    speckled = good.with_z(good.z, good.valid & (rng.random(good.shape) > 0.03))
    assert gauge_weld(speckled, prof).findings["hole"].value_mm < 0.8


@pytest.mark.parametrize(("weld_type", "seed"), [(3, 0), (3, 2), (10, 2), (11, 0)])
def test_a_lack_beside_a_removed_plate_is_measured(weld_type: int, seed: int) -> None:
    # where the plate was cropped away the bead analysis fills what was not measured, and
    # a lack's notch with it: 5 mm lacks read 0-2.4 mm (12 of 18 on types 3, 10 and 11,
    # seeds 0-2; on the 1.6 varied sets the gauge caught 6 of 53 such lacks). The notch
    # is where the measured bead stops, standing high
    prof = weld_type_profile(weld_type)
    rule = VariationRule.parse(only=["plates=none"])
    good = simulate_map(weld_type, seed, 300_000, prof, vary=rule)
    assert not gauge_weld(good, prof).findings["lack"].exceeds
    frame = bead_frame(good, prof)
    start, end = frame.bead_span()
    for side in (-1, 1):
        bad = gauge_weld(lack.apply(frame, side, 0.5 * (start + end), 5.0, 2.0).hm, prof)
        f = bad.findings["lack"]
        assert f.exceeds, (side, f)
        assert f.value_mm == pytest.approx(5.0, abs=CASES["lack"][1]), (side, f)
        ok = gauge_weld(lack.apply(frame, side, 0.5 * (start + end), 1.5, 2.0).hm, prof)
        assert not ok.findings["lack"].exceeds, (side, ok.findings["lack"])


@pytest.mark.parametrize(("weld_type", "seed", "side"), [(4, 0, 1), (4, 1, -1), (7, 0, 1),
                                                        (7, 2, -1), (10, 3, 1), (2, 0, -1),
                                                        (8, 3, 1), (9, 1, -1), (9, 2, -1)])
def test_a_short_lack_is_neither_a_pit_nor_an_imbalance(weld_type: int, seed: int,
                                                        side: int) -> None:
    # the generator's acceptable lacks (a toe off its plate over less than the norm's
    # length) failed the gauge on 26-30 of 30 maps per type as holes of 2-3.6 mm, and on
    # 13-16 as imbalances: the bead missing down to its plate is open onto it, which a pit
    # ringed by bead is not, and where a toe stops short the imbalance is the lack's. On a
    # lap fillet (types 2, 8, 9) the notch opens onto the ramp's level, not the plate's
    # beside it: 13 of 24 such maps still failed, as 3.0-3.3 mm holes, or as 0.8-0.9 mm
    # imbalances where type 9's toe at its upper plate's edge was never seen and no lack
    # was read. A dip lying where a toe stops short is the lack's; a toe seen too little
    # still tells whether the other one's retreat narrows the bead
    prof = weld_type_profile(weld_type)
    good = simulate_map(weld_type, seed, 300_000, prof)
    frame = bead_frame(good, prof)
    lo, hi = frame.bead_span()
    made = lack.apply(frame, side, lo + 0.4 * (hi - lo), 1.5, 1.8)
    report = gauge_weld(made.hm, prof)
    assert 1.0 < report.findings["lack"].value_mm < prof.limits.lack_reject_length_mm
    assert report.findings["hole"].value_mm < prof.limits.hole_reject_diameter_mm
    assert report.exceeding == []


@pytest.mark.parametrize("weld_type", [4, 7])
def test_a_lump_on_a_bead_read_zero_wide_is_still_measured(weld_type: int) -> None:
    # a no_weld map of type 7 (a sliver of bead, 0.1 mm wide) made the ball gauge reduce
    # over no column of the bead's crest and raise: a bead narrower than a cell of the
    # unrolled grid still has the column nearest its centreline
    prof = weld_type_profile(weld_type)
    good = simulate_map(weld_type, 0, 300_000, prof)
    made = MAKERS["ball"](bead_frame(good, prof), np.random.default_rng(0), ranges_for(prof))
    bead = find_bead(made.hm, prof)
    assert bead is not None
    sliver = dataclasses.replace(bead, width_mm=np.where(np.isfinite(bead.width_mm), 0.0,
                                                         np.nan))
    ball_mm = gauge_weld(made.hm, prof, sliver).findings["ball"].value_mm
    assert ball_mm > prof.limits.ball_reject_diameter_mm      # False for NaN too


def test_a_ring_bead_seen_over_a_few_mm_is_gauged() -> None:
    # no_weld maps of type 7 keep a bead over 0.4-6 mm of the loop: fewer judged sections
    # than the pits' running-median window (51). A reference read over the judged sections
    # alone (tried, not kept) took that window anyway and stopped the evaluation
    prof = weld_type_profile(7)
    good = simulate_map(7, 0, 300_000, prof)
    bead = find_bead(good, prof)
    assert bead is not None
    judged = np.flatnonzero(off_end_caps(bead) & bead.present)
    keep = np.zeros_like(bead.present)
    keep[judged[:20]] = True
    short = dataclasses.replace(bead, present=bead.present & keep)
    report = gauge_weld(good, prof, short)
    assert report.findings["hole"].value_mm < prof.limits.hole_reject_diameter_mm
    assert report.findings["cut"].exceeds          # the rest of the loop is missing


@pytest.mark.parametrize(("weld_type", "seed", "where"), [(3, 0, "middle"), (3, 2, "start"),
                                                         (4, 1, "middle"), (5, 2, "middle")])
def test_an_acceptable_bend_is_no_imbalance(weld_type: int, seed: int, where: str) -> None:
    # acceptable bends of 0.5-1 mm failed the gauge as imbalances of 0.7-2.1 mm on 72 of
    # 270 generated maps: the middle the quarter points were read about was a straight line
    # through the toes, and the best line of a long bend's plateau is the bend's own. The
    # toes of a bend move together, at the bead's width; the middle follows them
    prof = weld_type_profile(weld_type)
    good = simulate_map(weld_type, seed, 300_000, prof,
                        vary=VariationRule.parse(only=["bead=rounded"]))
    frame = bead_frame(good, prof)
    lo, hi = frame.bead_span()
    made = deviation.apply(frame, 0.7 if seed % 2 else -0.7, where, 0.3 * (hi - lo))
    report = gauge_weld(made.hm, prof)
    assert report.findings["excess"].value_mm < 0.75 * prof.limits.excess_reject_imbalance_mm
    assert report.exceeding == []


@pytest.mark.parametrize(("weld_type", "seed"), [(5, 5), (8, 7)])
def test_a_bend_beside_a_shadow_and_a_cropped_plate_is_no_imbalance(weld_type: int,
                                                                    seed: int) -> None:
    # a bead bent 0.9 mm at its end (the norm allows 1.5), its plates cropped and a shadow
    # along its south toe: the middle the imbalance was read about did not follow the bend,
    # which read as an imbalance of 1.07 mm (type 5) and 0.96 mm (type 8, a lap; limit 0.6).
    # About the bead's centroid such a stretch is symmetric, and its centroid stands off
    # that middle where the rest of the bead's does not
    prof = weld_type_profile(weld_type)
    good = simulate_map(weld_type, seed, 300_000, prof,
                        vary=VariationRule.parse(only=["plates=none", "shadow=south"]))
    frame = bead_frame(good, prof)
    lo, hi = frame.bead_span()
    made = deviation.apply(frame, 0.9, "end", 0.3 * (hi - lo))
    found = gauge_weld(made.hm, prof).findings["excess"]
    assert found.value_mm < prof.limits.excess_reject_imbalance_mm - found.uncertainty_mm, found


@pytest.mark.parametrize(("weld_type", "seed", "side"), [(4, 1, 1), (4, 2, -1), (5, 2, -1)])
def test_a_short_lack_beside_a_plate_never_seen_is_no_imbalance(weld_type: int, seed: int,
                                                                side: int) -> None:
    # a line bead whose plate was cropped away, with the shadow all along one toe: that
    # toe was never seen, the lack gauge read nothing, and the other toe's acceptable lack
    # (1.2 mm long) failed as an imbalance of 0.7-1.2 mm on 15 of 16 such maps. The toe
    # never seen is where the bead's cloud ends, as around type 7's loop
    prof = weld_type_profile(weld_type)
    shadow = "north" if side < 0 else "south"
    good = simulate_map(weld_type, seed, 300_000, prof,
                        vary=VariationRule.parse(only=["plates=none", f"shadow={shadow}"]))
    frame = bead_frame(good, prof)
    lo, hi = frame.bead_span()
    made = lack.apply(frame, side, lo + 0.7 * (hi - lo), 1.2, 2.2)
    report = gauge_weld(made.hm, prof)
    assert report.findings["lack"].value_mm > 1.0                     # the lack is read
    assert report.findings["lack"].value_mm < prof.limits.lack_reject_length_mm
    assert report.findings["excess"].value_mm < 0.5 * prof.limits.excess_reject_imbalance_mm
    assert report.exceeding == []


def test_a_ball_at_a_toe_whose_skirt_joins_the_ripple_is_found() -> None:
    # a 2.8 mm ball 1.5 mm high at type 4's south toe, on a flat bead with high noise: the
    # cells just over the edge level joined the ball to a strip across the bead, one long
    # patch that was not round, and the gauge found no lump (three such bad balls passed
    # the line on the varied sets of generator 1.6)
    prof = weld_type_profile(4)
    good = simulate_map(4, 2, 300_000, prof,
                        vary=VariationRule.parse(only=["noise=high", "bead=flat"]))
    frame = bead_frame(good, prof)
    lo, hi = frame.bead_span()
    s = lo + 0.6 * (hi - lo)
    half_width, _ = frame.local(s)
    made = ball.apply(frame, s, -(half_width + 0.2), 2.8, 1.5)
    found = gauge_weld(made.hm, prof).findings["ball"]
    assert found.value_mm > prof.limits.ball_reject_diameter_mm
    assert found.exceeds


def test_a_ball_running_into_a_shadow_is_read_at_least_its_chord() -> None:
    # the demo's one escape (scan D00000021, type 5): a 3.0 mm ball 1.4 mm high on the
    # north toe, whose shadow (39 % of the cloud) hides its outer half; the gauge read the
    # half it saw as a 1.6 mm lump, inside the uncertainty band. A lump with a quarter of
    # its rim unseen is at least as wide as its longest chord (2.4-2.8 mm here)
    from point_cloud.pipeline import scan_to_heightmap
    from point_cloud.simulator import simulate_weld
    from synth_defects.scan_defects import defect_edit

    prof = weld_type_profile(5)
    edit, drawn = defect_edit(5, 21, "ball", 200_000, prof)
    hm = scan_to_heightmap(simulate_weld(5, 21, points=200_000, profile=prof,
                                         edit=edit).cloud, prof)
    found = gauge_weld(hm, prof).findings["ball"]
    assert found.value_mm == pytest.approx(drawn["diameter_mm"], abs=0.6), found
    assert found.exceeds


@pytest.mark.parametrize(("bend_mm", "offset_mm", "tilt"), [(14.0, 0.6, 0.0),
                                                            (17.0, 0.9, 0.01)])
def test_a_long_bend_is_read_against_a_line_within_the_maps_tilt(
        bend_mm: float, offset_mm: float, tilt: float) -> None:
    # a bend over most of a 40 mm bead (the generator's middle bends: full offset over a
    # quarter of the bend's length each side, fading out over three quarters) lines up with
    # a line 2-3 degrees steep along its ramps; that line held the most samples, and the
    # bend read 1.30 and 2.29 mm for 0.6 and 0.9 mm (limit 1.5). A line within 1.5 degrees
    # holding 80 % as many is taken instead
    from inspector.decision.gauge import _straight_line
    from synth_defects.frame import smooth_window

    s = np.arange(0.0, 40.01, 0.2)
    off = (offset_mm * smooth_window(s - 20.0, 0.25 * bend_mm, 0.75 * bend_mm) + tilt * s
           + np.random.default_rng(0).normal(0.0, 0.03, len(s)))
    res, _ = _straight_line(s, off)
    smooth = np.convolve(np.pad(res, 2, mode="edge"), np.ones(5) / 5, "valid")  # 1 mm
    assert float(np.abs(smooth).max()) == pytest.approx(offset_mm, abs=0.15)


def varied_record(tmp_path, weld_type: int, index: int, defect: str, *, sources: int = 60,
                  seed: int = 2, per_good: int = 6) -> tuple[dict[str, Any], HeightMap]:
    """The ``defect`` map (and its record) the varied test sets (generator 1.10, 60 sources,
    seed 2; or ``sources``, ``seed``, ``per_good``) make from source ``index`` of
    ``weld_type``: a weld from a measured figure, regenerated."""
    from point_cloud.heightmap_io import read_heightmap
    from synth_defects.generate import GenerateConfig, generate_source

    cfg = GenerateConfig(types=(weld_type,), per_good=per_good, seed=seed, simulate=sources,
                         vary=True)
    src = simulated_sources([weld_type], sources, seed)[index]
    records = generate_source((cfg, src, str(tmp_path))).records
    record = next(r for r in records if r["defect"] == defect)
    return record, read_heightmap(tmp_path / record["path"])


def assert_fails_or_under(found: Any, most_mm: float | None) -> None:
    """A bad weld's finding (``most_mm`` None) fails it; an acceptable one's reads under
    ``most_mm`` and does not."""
    if most_mm is None:
        assert found.exceeds
    else:
        assert found.value_mm < most_mm
        assert not found.exceeds


@pytest.mark.parametrize(("weld_type", "index"), [(2, 31), (4, 7), (4, 50), (5, 15)])
def test_an_acceptable_bend_beside_a_shadowed_toe_is_no_excess(tmp_path, weld_type: int,
                                                               index: int) -> None:
    """An acceptable bend (generator 1.10, the varied test set's source ``index``, seed 2)
    whose sections show both toes at the bead's width only along part of it: the middle
    those sections carry was held from the last of them to the bead's end, 10-20 mm on,
    where the bead no longer was, and its quarter points read a 0.75-0.83 mm imbalance
    (limit 0.6). That middle now holds STEADY_REACH_MM beyond them; the toes' line after.
    Type 4, source 50: a 1.0 mm bend at the start whose residuals a shadow's edge broke into
    short runs (none a long bend): the middle kept to the line there, 0.84 mm. Sections not
    measured between measured ones no longer end a bend. Type 2, source 31: a lap bent
    1.01 mm south towards its end, baring the upper plate's edge, where the north toe was
    found 2.5 mm short of the bead's width; the middle followed that toe: 1.11 mm. Where a
    section is that much off the bead's width, the centreline's long bend carries it."""
    _, hm = varied_record(tmp_path, weld_type, index, "deviation_ok")
    report = gauge_weld(hm, weld_type_profile(weld_type))
    assert report.findings["excess"].value_mm < 0.6
    assert not any(f.exceeds for f in report.findings.values())


@pytest.mark.parametrize(("weld_type", "index", "defect"), [(5, 11, "none"), (5, 17, "lack_ok")])
def test_a_toe_shadowed_along_the_bead_does_not_tilt_the_middle(
        tmp_path, weld_type: int, index: int, defect: str) -> None:
    """Good welds (generator 1.10, the varied test set's source ``index``, seed 2) with a
    toe shadowed along most of the bead. Source 11: the south toe is a shadow's edge all
    along, the toes' midpoints jump between two levels, and their straight line tilted 1.6
    degrees; the quarter points read 0.92 mm at the bead's end (limit 0.6). The middle now
    follows the line of the toe seen all along. Source 17: both toes are seen only beside
    an acceptable lack, a 5 mm stretch whose line (tilted by the lack) read 1.37 mm; a
    stretch under half the bead's length is no line."""
    _, hm = varied_record(tmp_path, weld_type, index, defect)
    excess = gauge_weld(hm, weld_type_profile(weld_type)).findings["excess"]
    assert excess.value_mm < 0.45
    assert not excess.exceeds


@pytest.mark.parametrize(("weld_type", "index"), [(2, 43), (9, 19)])
def test_an_acceptable_ball_on_an_end_caps_toe_makes_no_pit(tmp_path, weld_type: int,
                                                           index: int) -> None:
    """An acceptable ball (generator 1.10, the varied test set's source ``index``, seed 2) on
    the toe of a bead's end cap: the cap's pits are read below the map's closing, which
    bridged the saddle between the ball and the crest and read a 1.42-1.73 mm pit there
    (limit 1.0). Cells standing out over the self-reference are left out of the closing."""
    _, hm = varied_record(tmp_path, weld_type, index, "ball_ok")
    report = gauge_weld(hm, weld_type_profile(weld_type))
    assert report.findings["hole"].value_mm < 0.8
    assert not any(f.exceeds for f in report.findings.values())


def test_a_bend_seen_beyond_the_limit_beside_a_hidden_stretch_fails(tmp_path) -> None:
    """A 2.74 mm bend at a type-4 bead's start (generator 1.10, the varied test set's source
    52, seed 2) whose middle a shadow hid over 5 mm: the deviation's uncertainty was set to
    the limit (the stretch may hide a bend), and 2.74 mm read within 1.5 + 1.5. What was seen
    beyond the limit stands; the hidden stretch widens the band upwards only."""
    bad, hm = varied_record(tmp_path, 4, 52, "deviation")
    found = gauge_weld(hm, weld_type_profile(4))
    deviation = found.findings["deviation"]
    assert deviation.value_mm == pytest.approx(abs(bad["params"]["offset_mm"]), abs=0.3)
    assert deviation.hidden_mm > 0
    assert deviation.exceeds


@pytest.mark.parametrize(("index", "defect", "most_mm"),
                         [(37, "ball_ok", 1.0)])
def test_a_squares_short_bends_are_not_bridged(tmp_path, index: int, defect: str,
                                                    most_mm: float) -> None:
    """Type 7 (generator 1.10, the varied test set's source ``index``, seed 2). Source 37:
    an acceptable ball beside the loop's seam; the residuals, bridged over sections not
    measured, joined a side's short bends the band then followed, and the bead beside it
    read as a 3.05 mm pit: a square's residuals are not bridged."""
    _, hm = varied_record(tmp_path, 7, index, defect)
    report = gauge_weld(hm, weld_type_profile(7))
    assert report.findings["hole"].value_mm < most_mm


@pytest.mark.parametrize(("index", "defect", "most_mm"),
                         [(11, "hole_ok", 1.2), (3, "lack_ok", 1.0), (50, "hole", None)])
def test_a_squares_pit_rim_stays_near_its_deep_part(tmp_path, index: int, defect: str,
                                                    most_mm: float | None) -> None:
    """Type 7 (generator 1.11, the varied test set's source ``index``, seed 2). Source 11: an
    acceptable pit 0.31 mm across and 1.55 mm deep beside a sag 0.1-0.28 mm deep on a noisy
    bead; the pit's edge level ran on over the sag and it read 2.63 mm (limit 1.0). Source
    3: an acceptable lack's notch read a 3.55 mm pit. A pit's rim now lies within
    unrolled.PIT_RIM_REACH_MM (or 1.5 radii) of its deep part. Source 50: a bad hole
    (2.85 mm) still fails."""
    _, hm = varied_record(tmp_path, 7, index, defect)
    assert_fails_or_under(gauge_weld(hm, weld_type_profile(7)).findings["hole"], most_mm)


@pytest.mark.parametrize(("index", "defect", "most_mm"),
                         [(3, "none", 0.4), (89, "excess", None)])
def test_a_squares_excess_is_read_about_its_sides_middle(tmp_path, index: int, defect: str,
                                                        most_mm: float | None) -> None:
    """Type 7 (generator 1.11, the seed-3 varied set: 120 sources, 12 defects each). Source
    3: a good weld whose outer toe a shadow beside it bridged 1.4 mm out over 5 mm; the
    middle followed that toe and the quarter points read a 0.67 mm imbalance (limit 0.6).
    Source 89: a bad 1.18 mm imbalance whose toes it moved read 0.59 about their middle.
    Now read about the side's middle where its sections are as wide as the bead."""
    _, hm = varied_record(tmp_path, 7, index, defect, sources=120, seed=3, per_good=12)
    assert_fails_or_under(gauge_weld(hm, weld_type_profile(7)).findings["excess"], most_mm)


def test_a_bad_ball_measured_over_its_height_limit_fails(tmp_path) -> None:
    """A bad type-7 weld (generator 1.10, the varied test set's source 34, seed 2): a ball
    2.8 mm across, 1.15 mm over the bead's top, read 0.99 mm high (limit 0.8), inside the
    band its 0.2 mm uncertainty made, and the networks passed it with confidence. The
    height's uncertainty is now the analytic balls' measured error, 0.15 mm."""
    _, hm = varied_record(tmp_path, 7, 34, "ball")
    found = gauge_weld(hm, weld_type_profile(7)).findings["ball"]
    assert found.also["height_mm"].value_mm == pytest.approx(1.0, abs=0.1)
    assert found.exceeds


@pytest.mark.parametrize(("weld_type", "index"), [(4, 57), (9, 23)])
def test_a_hole_over_its_limit_on_a_clean_map_fails(tmp_path, weld_type: int,
                                                    index: int) -> None:
    """Bad holes of the varied test sets (generator 1.10, source ``index``, seed 2), 1.3-1.4
    mm across against a 1.0 mm limit, read 1.35-1.39 mm: inside the band two cells (0.4 mm)
    made, and the networks passed both. On a map whose stray points stand out from under
    1 % of the bead, a rim is uncertain by 1.5 cells (analytic holes +0.25 mm at the 95th
    percentile): 0.3 mm."""
    _, hm = varied_record(tmp_path, weld_type, index, "hole")
    found = gauge_weld(hm, weld_type_profile(weld_type)).findings["hole"]
    assert found.value_mm == pytest.approx(1.37, abs=0.05)
    assert found.uncertainty_mm == pytest.approx(0.3)
    assert found.exceeds


@pytest.mark.parametrize(("weld_type", "index"), [(3, 26), (11, 13)])
def test_stray_points_on_an_acceptable_bend_are_no_hole(tmp_path, weld_type: int,
                                                        index: int) -> None:
    """Acceptable bends on coarse maps with high noise (varied test sets, source ``index``):
    stray points stand out from 5-11 % of the bead, and two beside a bend's flank read as
    a 1.33-1.35 mm pit. There a rim is uncertain by two cells (0.4 mm): no vote."""
    _, hm = varied_record(tmp_path, weld_type, index, "deviation_ok")
    found = gauge_weld(hm, weld_type_profile(weld_type)).findings["hole"]
    assert found.uncertainty_mm == pytest.approx(0.4)
    assert not found.exceeds


def test_a_lap_toe_found_on_its_flank_is_no_bend(tmp_path) -> None:
    """A good type-8 weld (varied test set, source 13) whose upper plate was cropped: the
    bead's crest stands only 0.6 mm over that plate's level, and in every other section the
    north toe was found on the flank the bead rises through that level by, halving the
    section. Those sections' middles moved off the toes' line by over 0.5 mm and were taken
    for a bend: an imbalance of 1.17 mm (limit 0.6). A section off the bead's width shows
    no bend."""
    _, hm = varied_record(tmp_path, 8, 13, "hole_ok")
    report = gauge_weld(hm, weld_type_profile(8))
    assert report.findings["excess"].value_mm < 0.5 * report.findings["excess"].limit_mm
    assert report.exceeding == []


def test_a_narrow_section_seen_whole_is_no_bend(tmp_path) -> None:
    """A good type-7 weld (varied test set, source 37: recessed patch, plates cropped): a
    few sections seen whole found their north toe inside the bead (half its width), and
    their centres, trusted as whole, read a 1.8 mm deviation (limit 1.5). A section seen
    whole but narrower than the bead is not trusted; the deviation reads the bead's own."""
    _, hm = varied_record(tmp_path, 7, 37, "hole_ok")
    found = gauge_weld(hm, weld_type_profile(7)).findings["deviation"]
    assert found.value_mm < 0.5
    assert not found.exceeds


@pytest.mark.parametrize(("weld_type", "index"), [(2, 49), (9, 48)])
def test_an_acceptable_ball_at_a_toe_is_no_excess(tmp_path, weld_type: int, index: int) -> None:
    """Acceptable balls (varied test sets, source ``index``: about 2.7 mm across, 0.5 mm over
    the bead's top) on a lap's south toe: they raise that quarter point, and the imbalance
    over the norm's 5 mm read 0.75-0.80 mm (limit 0.6). A lump shorter than the norm's
    excess is the ball gauge's: the imbalance leaves its stretch out on its side."""
    _, hm = varied_record(tmp_path, weld_type, index, "ball_ok")
    report = gauge_weld(hm, weld_type_profile(weld_type))
    assert report.findings["ball"].value_mm > 2.0                 # the ball is measured
    assert report.findings["excess"].value_mm < 0.5 * report.findings["excess"].limit_mm
    assert report.exceeding == []


@pytest.mark.parametrize("index", [42, 58])
def test_a_ball_among_a_coarse_scans_dropouts_is_measured(tmp_path, index: int) -> None:
    """A bad ball on a type-7 loop scanned at coarse spacing (generator 1.10, the varied
    test set's source ``index``, seed 2; 2.56 and 3.02 mm across, 1.44 and 1.11 mm over the
    bead's top). Bilinear sampling of the bead's band needs the four cells around a point,
    and scattered dropouts left the ball too few cells: it read 0.60 and 0.84 mm across.
    Lumps are now found with isolated dropouts filled, their cells opened by a 3-cell box."""
    bad, hm = varied_record(tmp_path, 7, index, "ball")
    found = gauge_weld(hm, weld_type_profile(7)).findings["ball"]
    assert found.value_mm == pytest.approx(bad["params"]["diameter_mm"], abs=0.3)
    assert found.also["height_mm"].value_mm == pytest.approx(bad["params"]["height_mm"],
                                                             abs=0.15)
    assert found.exceeds
