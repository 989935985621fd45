"""The norm gauge against analytic shapes (bench/analytic_shapes.py and its square ring,
bench/analytic_square.py; the full benchmark is bench/gauge_accuracy.py): first that the
generator's truth is what the height map shows, then the gauge's errors on a small sample
per geometry kind, 24 shapes per class (the issue's tolerances: +-0.3 mm for diameters, cut
length and deviation, +-0.15 mm for excess imbalance)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from bench.analytic_shapes import CLASSES, DEFECTS, AnalyticScan, make_shape
from bench.gauge_accuracy import TOLERANCE_MM, drawn_width_at, jobs, measure_one
from point_cloud.bead_geometry import BEAD_THRESHOLD_MM, analyse_bead
from point_cloud.measure import blob, centreline_shift, imbalance, longest_gap_mm
from point_cloud.pipeline import scan_to_heightmap
from point_cloud.types import HeightMap

CLEAN = {"noise_mm": 0.01, "outlier_fraction": 0.0, "shadow": False}
"""Scanner draws fixed for the truth checks: a quiet scan, the rest of the pose as drawn."""
SAMPLE_TYPES = {"line": [3, 4, 5, 10, 11], "lap": [2, 8, 9], "ring": [7]}
"""The geometry kinds sampled: a bead on one plate level (isolated or lower), a lap fillet
(upper plate) and type 7's square ring."""
SAMPLE_SEED = 7
SAMPLE_PER_CLASS = 24
MAX_FALSE_REJECTS = 1
# Within tolerance, of 24 per class: what the gauge holds today (a ratchet; raise it as the
# gauge improves). The full benchmark's figures per kind are in the issue notes; lines meet
# the 95 % bar for cuts, deviations and excess (lumps beside an isolated bead stand on the
# plate level; holes whose bottom the scanner never saw are read as dropouts), lap fillets
# for cuts, and the ring for none yet. A lap's 2.7 mm hole at a toe, which pulls the toe in,
# now reads as an acceptable lack's notch (1 of the full benchmark's 200 holes plus these
# 24; the generator's acceptable lap lacks failing the gauge as holes went 28 -> 9 of 90).
MIN_WITHIN = {
    "line": {"cut": 24, "hole": 23, "ball": 20, "deviation": 23, "excess": 24},
    "lap": {"cut": 22, "hole": 21, "ball": 20, "deviation": 20, "excess": 21},
    "ring": {"cut": 20, "hole": 19, "ball": 23, "deviation": 22, "excess": 22},
}


def _map(defect: str, weld_type: int, seed: int, **kw: Any) -> tuple[HeightMap, AnalyticScan]:
    scan = make_shape(defect, weld_type, seed, **kw)
    return scan_to_heightmap(scan.cloud, scan.profile), scan


# --------------------------------------------------------------------------- the generator
@pytest.mark.parametrize(("weld_type", "seed"), [(3, 1), (4, 2), (10, 3), (11, 4), (5, 5)])
def test_good_bead_has_the_drawn_width_and_height(weld_type: int, seed: int) -> None:
    """A good analytic weld's map shows the drawn bead: crest height and toe-to-toe width
    (at analyse_bead's toe level, from the drawn cross-section) within 0.2 mm."""
    hm, scan = _map("good", weld_type, seed, plate=True, scan_overrides=CLEAN)
    geom = analyse_bead(hm, scan.profile)
    bead = scan.params["bead"]
    # the crest carries the ripples' amplitude at most
    assert geom.median_top_mm == pytest.approx(bead["height_mm"],
                                               abs=0.2 + bead["ripple_amp_mm"])
    assert geom.median_width_mm == pytest.approx(drawn_width_at(bead, BEAD_THRESHOLD_MM),
                                                 abs=0.2)
    # the bead spans its drawn length (the caps' ends fall below the toe level)
    assert geom.end_s_mm - geom.start_s_mm == pytest.approx(bead["length_mm"], abs=1.0)


@pytest.mark.parametrize(("weld_type", "seed"), [(2, 1), (8, 2), (9, 6)])
def test_a_lap_beads_toes_are_where_it_meets_its_plates(weld_type: int, seed: int) -> None:
    """A lap fillet's toe-to-toe width is the drawn one within 0.3 mm: the plate bridged
    from the lower toe to a toe on the upper plate stood that plate up as bead, and the
    toe crept onto it (0.5 and 0.9 mm too wide on the two last)."""
    hm, scan = _map("good", weld_type, seed, plate=True, scan_overrides=CLEAN)
    geom = analyse_bead(hm, scan.profile)
    assert geom.median_width_mm == pytest.approx(
        drawn_width_at(scan.params["bead"], BEAD_THRESHOLD_MM), abs=0.3)


def test_the_scan_follows_the_contract() -> None:
    """Scanner frame, float32, pose and noise inside SCANS.md, same seed -> same cloud."""
    a = make_shape("ball", 4, 11)
    b = make_shape("ball", 4, 11)
    np.testing.assert_array_equal(a.cloud.points, b.cloud.points)
    assert a.cloud.points.dtype == np.float32
    assert a.cloud.identity is not None
    assert a.cloud.identity.weld_type == 4
    p = a.params
    assert all(0.05 <= s <= 0.2 for s in p["spacing_mm"])
    assert abs(p["rotation_deg"]) <= 5
    assert np.hypot(*p["tilt_deg"]) <= 3
    assert max(abs(v) for v in p["offset_mm"]) <= 3
    assert 0.01 <= p["noise_mm"] <= 0.05
    assert p["outlier_fraction"] <= 0.03
    assert len(a.cloud) == p["points"] <= 600_000
    lo, hi = 0.5 * a.truth.limit_mm, 3 * a.truth.limit_mm
    assert lo <= a.truth.size_mm <= hi


def test_a_removed_plate_leaves_only_the_bead() -> None:
    with_plate = make_shape("good", 3, 2, plate=True, scan_overrides=CLEAN)
    without = make_shape("good", 3, 2, plate=False, scan_overrides=CLEAN)
    assert len(without.cloud) < 0.6 * len(with_plate.cloud)


@pytest.mark.parametrize(("weld_type", "seed", "size_mm"),
                         [(4, 3, 3.0), (3, 3, 3.0), (8, 3, 3.0), (2, 3, 1.5), (7, 3, 3.0),
                          (7, 4, 3.0)])
def test_cut_truth(weld_type: int, seed: int, size_mm: float) -> None:
    """A box gap: the bead analysed on the map stops for the drawn length (a max-Z map cell
    straddling a wall counts as bead: up to a pixel shorter). Across a lap fillet (8, 2)
    the gap shows the upper plate's bare edge; around type 7's recessed patch (seeds 3, 4)
    the patch's edge lies under the bead's middle: neither is bead."""
    hm, scan = _map("cut", weld_type, seed, size_mm=size_mm, scan_overrides=CLEAN)
    gap = longest_gap_mm(analyse_bead(hm, scan.profile))
    assert -0.45 <= gap - size_mm <= 0.1


@pytest.mark.parametrize(("weld_type", "seed"), [(8, 1), (2, 0), (7, 1), (7, 0)])
def test_stepped_layouts_are_what_was_drawn(weld_type: int, seed: int) -> None:
    """A lap fillet's upper plate stands its drawn step above the lower one (prepare's
    measurement); type 7's ring is found with its drawn width whatever its patch does."""
    hm, scan = _map("good", weld_type, seed, scan_overrides=CLEAN)
    geom = analyse_bead(hm, scan.profile)
    bead = scan.params["bead"]
    if weld_type == 7:
        assert abs(scan.params["patch_mm"]) >= 1.0      # seeds with a raised or recessed patch
        assert geom.median_width_mm == pytest.approx(
            drawn_width_at(bead, BEAD_THRESHOLD_MM), abs=0.6)
        assert geom.present.mean() > 0.9
    else:
        assert hm.meta["plate_step_mm"] == pytest.approx(scan.params["step_mm"], abs=0.3)
        assert geom.end_s_mm - geom.start_s_mm == pytest.approx(bead["length_mm"], abs=1.0)


def test_hole_truth_against_its_defect_free_twin() -> None:
    """A cylindrical pit with a seen bottom, measured against the same scan without it."""
    kw: dict[str, Any] = {"size_mm": 1.8, "scan_overrides": {**CLEAN, "spacing_mm": (0.06, 0.06)},
          "defect_overrides": {"cone": 0.0, "unseen": 0.0, "depth_mm": 0.8}}
    bad, scan = _map("hole", 4, 5, **kw)
    good, _ = _map("hole", 4, 5, defect_free=True, **kw)
    found = blob(good, bad, -1, 0.2)
    assert found is not None
    assert found.diameter_mm == pytest.approx(1.8, abs=0.25)
    assert found.centre_xy == pytest.approx(scan.truth.location_mm, abs=0.3)


def test_ball_truth_against_its_defect_free_twin() -> None:
    """A sphere standing higher than its radius: seen from above, its diameter."""
    kw: dict[str, Any] = {"size_mm": 2.2, "scan_overrides": {**CLEAN, "spacing_mm": (0.06, 0.06)},
          "defect_overrides": {"kind": 0.0, "height_mm": 1.5, "y_mm": 0.3}}
    bad, scan = _map("ball", 10, 4, **kw)
    good, _ = _map("ball", 10, 4, defect_free=True, **kw)
    found = blob(good, bad, +1, 0.2)
    assert found is not None
    assert found.diameter_mm == pytest.approx(2.2, abs=0.25)
    assert found.peak_mm == pytest.approx(1.5, abs=0.1)
    assert scan.truth.extra["above_top_mm"] > 1.0


def test_deviation_truth_against_its_defect_free_twin() -> None:
    kw: dict[str, Any] = {"size_mm": 2.5, "scan_overrides": CLEAN}
    bad, scan = _map("deviation", 4, 6, **kw)
    good, _ = _map("deviation", 4, 6, defect_free=True, **kw)
    shift = centreline_shift(good, bad, scan.profile)
    assert abs(shift.max_mm) == pytest.approx(2.5, abs=0.15)
    assert scan.truth.location_mm is not None
    assert shift.max_mm * scan.truth.location_mm[1] > 0  # bent the drawn way


@pytest.mark.parametrize("one_sided", [0.0, 1.0])
def test_excess_truth_against_its_defect_free_twin(one_sided: float) -> None:
    kw: dict[str, Any] = {"size_mm": 0.9, "scan_overrides": CLEAN,
          "defect_overrides": {"one_sided": one_sided, "section_mm": 8.0}}
    bad, scan = _map("excess", 4, 8, plate=True, **kw)
    good, _ = _map("excess", 4, 8, plate=True, defect_free=True, **kw)
    found = imbalance(bad, scan.profile, good=good)
    assert abs(found.imbalance_mm) == pytest.approx(0.9, abs=0.08)


@pytest.mark.parametrize(("weld_type", "seed"), [(4, 104001), (10, 110029), (10, 110007),
                                               (9, 109016)])
def test_holes_the_line_let_pass_are_measured(weld_type: int, seed: int) -> None:
    """Holes of 1.5-2.6 mm (limit 1 mm) that bench/line_on_analytic.py's shapes got past the
    gauge: two joined to a strip of sparse sampling's ripple across the bead (it made them
    look long, not round), two pores whose bottom was not seen with their rim beyond the
    crest band. Each is measured within tolerance and fails."""
    from inspector.decision.gauge import gauge_weld

    hm, scan = _map("hole", weld_type, seed)
    found = gauge_weld(hm, scan.profile).findings["hole"]
    assert scan.truth.size_mm >= 1.45
    assert found.value_mm == pytest.approx(scan.truth.size_mm, abs=TOLERANCE_MM["hole"])
    assert found.exceeds


@pytest.mark.parametrize("seed", [102001, 102010])
def test_an_acceptable_bend_of_a_lap_is_no_excess(seed: int) -> None:
    """A lap bead bent 1.0-1.2 mm near its end (the norm allows 1.5): its toes move with it
    and the gauge reads its imbalance about their midpoints. Read about the straight line
    there, where the centreline's long-bend mask had already ended, the bend stood as a
    0.5-0.7 mm imbalance (limit 0.6)."""
    from inspector.decision.gauge import gauge_weld

    hm, scan = _map("deviation", 2, seed)
    assert scan.truth.size_mm < scan.truth.limit_mm
    findings = gauge_weld(hm, scan.profile).findings
    assert findings["excess"].value_mm < 0.3
    assert not any(f.exceeds for f in findings.values())


@pytest.mark.parametrize(("weld_type", "seed"), [(9, 31), (9, 14), (2, 99)])
def test_a_laps_removed_lower_plate_is_at_least_the_least_step_down(weld_type: int,
                                                                   seed: int) -> None:
    """A lap whose lower plate the scanner removed, with a steep toe sampled sparsely: the
    bead's lowest points stand up to 0.6 mm over the plate, and levelled on them the upper
    plate read 0.5 mm above the lower one (the contract: 1-3 mm). Its upper plate was then
    split in two plates at the map's split level and the imbalance went unread (0.0 for
    0.4-1.5 mm drawn). The upper plate now stands at least the least step above."""
    from inspector.decision.gauge import gauge_weld

    hm, scan = _map("excess", weld_type, seed)
    assert scan.params["lower_removed"]
    assert hm.meta["plate_step_mm"] >= 1.0 - 1e-6
    found = gauge_weld(hm, scan.profile).findings["excess"]
    assert abs(found.value_mm - scan.truth.size_mm) <= TOLERANCE_MM["excess"]


def test_a_cut_across_the_rings_patch_edge_is_measured() -> None:
    """A 2.5 mm cut through type 7's loop where the patch's edge lies under the bead: the
    edge's corner stands as a ridge 0.8 mm wide and 0.75 of the bead's top high, and the
    gauge, which dropped such slivers only when lower than 0.7 of the top, read the gap
    1.4 mm (bench/line_on_analytic.py let it pass)."""
    from inspector.decision.gauge import gauge_weld

    hm, scan = _map("cut", 7, 107032)
    found = gauge_weld(hm, scan.profile).findings["cut"]
    assert scan.truth.size_mm == pytest.approx(2.5, abs=0.01)
    assert found.value_mm == pytest.approx(scan.truth.size_mm, abs=TOLERANCE_MM["cut"])
    assert found.exceeds


def test_a_toe_strip_standing_out_here_and_there_is_no_pit() -> None:
    """A good lap fillet whose toe meets the upper plate in a strip that stands out from
    the reference at three cells of 34: untangling pits from ripple must not make it one."""
    from inspector.decision.gauge import gauge_weld

    hm, scan = _map("good", 2, 500008)
    assert gauge_weld(hm, scan.profile).findings["hole"].value_mm < 1.0


@pytest.mark.parametrize(("seed", "size_mm", "fails"), [(4, 2.29, True), (31, 2.99, True),
                                                      (112, 1.35, False)])
def test_a_pore_on_the_ring_whose_bottom_was_not_seen_is_measured(seed: int, size_mm: float,
                                                                   fails: bool) -> None:
    """Holes around type 7's loop whose bottom the scanner did not see: the gauge read all
    three as no pit (the band in the bead's frame leaves corners out, and the pit's unseen
    cells only grow from a wall seen dipping). Each is measured within tolerance; the two
    beyond the limit and its uncertainty fail (1.35 mm lies inside the band, 1.0 + 0.4 mm)."""
    from inspector.decision.gauge import gauge_weld

    hm, scan = _map("hole", 7, seed)
    assert scan.params["defect_params"]["unseen"] == 1.0
    assert scan.truth.size_mm == pytest.approx(size_mm, abs=0.01)
    found = gauge_weld(hm, scan.profile).findings["hole"]
    assert found.value_mm == pytest.approx(size_mm, abs=TOLERANCE_MM["hole"])
    assert found.exceeds is fails


def test_shadows_on_the_ring_are_no_pores() -> None:
    """Good type 7 welds with the camera's shadows on: no empty patch on the loop reads as
    a pore (the raised patch's shadow runs along a side: long, not round)."""
    from inspector.decision.gauge import gauge_weld

    sizes = []
    for seed in range(900, 912):
        hm, scan = _map("good", 7, seed, scan_overrides={"shadow": True})
        sizes.append(gauge_weld(hm, scan.profile).findings["hole"].value_mm)
    assert max(sizes) < 0.5, sizes


@pytest.mark.parametrize("seed", [2, 4])
def test_a_shallow_pit_on_the_ring_is_measured(seed: int) -> None:
    """Around type 7's loop a pit must dip 0.5 mm (its start and end's crater may lie
    anywhere), or 0.2 mm where its wall is steep: a 1.6 mm pit 0.4 mm deep is measured."""
    from inspector.decision.gauge import gauge_weld

    hm, scan = _map("hole", 7, seed, size_mm=1.6, scan_overrides={**CLEAN, "noise_mm": 0.03},
                    defect_overrides={"cone": 0.0, "unseen": 0.0, "depth_mm": 0.4, "flat": 0.0})
    found = gauge_weld(hm, scan.profile).findings["hole"]
    assert found.value_mm == pytest.approx(1.6, abs=TOLERANCE_MM["hole"])
    assert found.exceeds


@pytest.mark.parametrize("seed", [2, 4])
def test_an_acceptable_bend_of_the_ring_passes_the_gauge(seed: int) -> None:
    """A side of type 7's loop bent 1.2 mm over a few mm (the norm allows 1.5): measured as
    such, and its bent flanks read as neither pit nor lump (the band the pits and lumps are
    looked for in follows the bend)."""
    from inspector.decision.gauge import gauge_weld

    hm, scan = _map("deviation", 7, seed, size_mm=1.2)
    report = gauge_weld(hm, scan.profile)
    assert report.findings["deviation"].value_mm == pytest.approx(1.2, abs=0.3)
    assert not [k for k, f in report.findings.items() if f.exceeds]


@pytest.mark.parametrize("seed", [40, 112])
def test_an_excess_on_the_ring_is_read_about_its_sides_middle(seed: int) -> None:
    """Excess material on a side of type 7's loop moves both toes its way; read about the
    middle of the toes, 1.21 and 1.74 mm imbalances came out 0.16 and 0.28 mm short. About
    the side's middle where its sections are as wide as the bead, within tolerance."""
    from inspector.decision.gauge import gauge_weld

    hm, scan = _map("excess", 7, seed)
    found = gauge_weld(hm, scan.profile).findings["excess"]
    assert found.value_mm == pytest.approx(scan.truth.size_mm, abs=TOLERANCE_MM["excess"])


def test_a_lump_on_the_rings_flank_is_measured_above_the_crest() -> None:
    """The norm limits a lump's height above the bead's local top: on type 7's loop too, a
    ball on the flank standing 1.2 mm over the surface under it but 0.3 mm over the crest is
    no reject (it stood out over the running median and failed before)."""
    from inspector.decision.gauge import gauge_weld

    hm, scan = _map("ball", 7, 3, size_mm=2.4, scan_overrides=CLEAN,
                    defect_overrides={"kind": 0.0, "height_mm": 1.2, "y_mm": -2.0})
    assert scan.truth.extra["above_top_mm"] < 0.6
    found = gauge_weld(hm, scan.profile).findings["ball"]
    assert found.value_mm == pytest.approx(2.4, abs=0.4)
    assert not found.exceeds


@pytest.mark.parametrize("seed", [0, 1])
def test_no_pit_beside_a_big_lump_near_the_rings_corner(seed: int) -> None:
    """A 4 mm ball near a corner of type 7's loop (whose sections are left out) used to lift
    the running median the pits are read against, so the bead beside it read as a 3 mm
    pit; the median is now taken without the lumps."""
    from inspector.decision.gauge import gauge_weld

    hm, scan = _map("ball", 7, seed, max_points=300_000)
    assert scan.truth.size_mm > 3.5
    findings = gauge_weld(hm, scan.profile).findings
    assert not findings["hole"].exceeds
    assert findings["ball"].exceeds


# --------------------------------------------------------------------------- the gauge
@pytest.fixture(scope="module", params=sorted(SAMPLE_TYPES))
def sample_rows(request: pytest.FixtureRequest) -> tuple[str, dict[str, list[dict[str, Any]]]]:
    """One kind's 24 shapes per class, types cycling through :data:`SAMPLE_TYPES` (one
    process, about 10 s a kind on the 2-core box: the slow marks)."""
    pytest.importorskip("inspector.decision.gauge")
    kind = str(request.param)
    rows = [measure_one(j) for j in jobs(list(CLASSES), SAMPLE_TYPES[kind], SAMPLE_PER_CLASS,
                                         SAMPLE_SEED, 300_000)]
    return kind, {c: [r for r in rows if r["defect"] == c] for c in CLASSES}


def _describe(r: dict[str, Any]) -> str:
    f = (r.get("findings") or {}).get(r["defect"])
    t = r["truth"]
    got = "none" if f is None else f"{f['value_mm']:.2f}"
    return (f"type {r['weld_type']} seed {r['seed']}: true {t['size_mm']:.2f}, "
            f"measured {got}, plate {r['scan']['plate']}, shadow {r['scan']['shadow']}")


@pytest.mark.slow
@pytest.mark.parametrize("defect", DEFECTS)
def test_gauge_error_within_tolerance(
        defect: str, sample_rows: tuple[str, dict[str, list[dict[str, Any]]]]) -> None:
    """At least :data:`MIN_WITHIN` of 24 analytic defects measured within the tolerance."""
    tol = TOLERANCE_MM[defect]
    kind, by_class = sample_rows
    rows = by_class[defect]
    misses = []
    for r in rows:
        f = (r.get("findings") or {}).get(defect)
        if f is None or abs(f["value_mm"] - r["truth"]["size_mm"]) > tol:
            misses.append(_describe(r))
    assert len(rows) - len(misses) >= MIN_WITHIN[kind][defect], (
        f"{kind} {defect}: {len(misses)} of {len(rows)} outside ±{tol} mm:\n  "
        + "\n  ".join(misses))


@pytest.mark.slow
def test_gauge_passes_good_welds(
        sample_rows: tuple[str, dict[str, list[dict[str, Any]]]]) -> None:
    """At most one of 24 good analytic welds of each kind has a finding beyond its limit."""
    rejected = [f"{_describe(r)}: "
                + ", ".join(k for k, f in r["findings"].items() if f["exceeds"])
                for r in sample_rows[1]["good"]
                if any(f["exceeds"] for f in (r.get("findings") or {}).values())]
    assert len(rejected) <= MAX_FALSE_REJECTS, "\n".join(rejected)


@pytest.mark.parametrize(("weld_type", "seed", "end"), [(3, 2, -1), (8, 4, 1), (4, 5, 1)])
def test_a_dug_pit_where_a_line_beads_end_crater_may_dip_is_measured(
        weld_type: int, seed: int, end: int) -> None:
    """Just inside a line bead's end caps, where its end crater may still dip, a pit must
    dip 0.5 mm, or 0.2 mm where its wall is steep (a crater's is gentle): a 1.6 mm pit
    0.4 mm deep 4.8 mm in from an end is measured (the benchmark's 2.9 mm hole 0.44 mm deep
    there read 0: the part outside the band looked like a groove across the bead, a cut)."""
    from inspector.decision.gauge import gauge_weld
    from point_cloud.config import weld_type_profile

    half = 0.5 * weld_type_profile(weld_type).geometry.bead_length_mm
    hm, scan = _map("hole", weld_type, seed, size_mm=1.6,
                    scan_overrides={**CLEAN, "noise_mm": 0.03},
                    defect_overrides={"cone": 0.0, "unseen": 0.0, "depth_mm": 0.4, "flat": 0.0,
                                      "x_mm": end * (half - 4.8), "y_mm": 0.3})
    found = gauge_weld(hm, scan.profile).findings["hole"]
    assert found.value_mm == pytest.approx(1.6, abs=TOLERANCE_MM["hole"]), found
    assert found.exceeds


def test_a_ball_cut_by_a_line_of_empty_cells_is_read_whole() -> None:
    """The benchmark's 4.47 mm ball on a type-2 toe: a row of cells no point fell in (the
    spacing's aliasing with the grid) crosses it, and each half was read alone (3.11 mm).
    The line joins them, and is not counted in the area."""
    from inspector.decision.gauge import gauge_weld

    hm, scan = _map("ball", 2, 198)
    r, c = hm.rc_of(scan.truth.location_mm[0], scan.truth.location_mm[1])
    rows = slice(int(r) - 10, int(r) + 11)
    empty_rows = (~hm.valid[rows, int(c) - 8: int(c) + 9]).all(axis=1)
    assert empty_rows.any()                       # the line is there
    found = gauge_weld(hm, scan.profile).findings["ball"]
    assert found.value_mm == pytest.approx(scan.truth.size_mm, abs=TOLERANCE_MM["ball"])


def test_a_ball_at_a_toe_beyond_the_beads_reference_is_read_at_least_its_chord() -> None:
    """The benchmark's 4.38 mm ball on a type-9 toe over the removed lower plate: its outer
    cells have no reference to be read against (the plate is gone), so the part read
    stopped short of the empty space and the chord rule did not apply (3.71 mm)."""
    from inspector.decision.gauge import gauge_weld

    hm, scan = _map("ball", 9, 78)
    assert scan.params["lower_removed"]
    found = gauge_weld(hm, scan.profile).findings["ball"]
    assert found.value_mm == pytest.approx(scan.truth.size_mm, abs=TOLERANCE_MM["ball"])


def test_a_pit_that_pulls_a_toe_in_is_no_lack_notch() -> None:
    """A 2.56 mm conical hole 1 mm deep by the south toe of a type-2 lap whose lower plate
    was removed (bench/line_on_analytic.py's seed): the pit pulled the toe in, the lack
    gauge read a 1.8 mm retreat, and with 30 % of the pit in that retreat's band it was
    taken for the lack's notch: read 0, and a recalibrated committee passed it. Bead at its
    reference level rings it on the toe's side: a pit."""
    from inspector.decision.gauge import gauge_weld

    hm, scan = _map("hole", 2, 102024)
    assert scan.truth.size_mm == pytest.approx(2.56, abs=0.01)
    found = gauge_weld(hm, scan.profile).findings["hole"]
    assert found.value_mm == pytest.approx(scan.truth.size_mm, abs=TOLERANCE_MM["hole"])
    assert found.exceeds
