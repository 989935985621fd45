"""Plate layouts the scan contract allows (shared SCANS.md, "What varies"): the simulator draws
them, and good welds of every layout come through levelling, alignment, projection and the
quality gate with their bead found at its drawn size (bench/layout_sweep.py runs more)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bench.layout_sweep import LAYOUTS, judge
from inspector import quality_gate
from point_cloud.bead_geometry import analyse_bead
from point_cloud.config import WELD_TYPES, weld_type_profile
from point_cloud.pipeline import scan_to_heightmap
from point_cloud.simulator import ALL, Layout, SimulatedScan, simulate_weld

POINTS = 100_000
WELDS = 4
WIDTH_TOL_MM = 0.5
WIDTH_TOL_PER_STEP = 0.25
"""Across a plate step the toe-to-toe bridge reaches up to ~0.3 mm onto the higher plate
(lap fillets, bead_geometry._bridge_toes): the width tolerance grows by this per mm of step."""
HEIGHT_TOL_MM = 0.25
HEIGHT_TOL_PER_STEP = 0.05
ROT_TOL_DEG, OFFSET_TOL_MM = 0.75, 0.3
"""Alignment of these small clouds (100 k samples; the default layouts' 0.5 deg / 0.2 mm hold
at 300 k, tests/point_cloud/test_prepare.py)."""
KIND_TYPES = {"isolated": (3, 11), "lower": (5,), "upper": (2, 9), "square": (7,)}
KNOWN = {(7, "recessed2-outer-part"): "a recessed patch whose outer plate, falling at 13.5 deg, "
         "is cropped 2 mm beyond the toe: too little of it seen for its slope, its level read "
         "1 mm out stands 0.3 mm low and the bead is found 1.5 mm too wide (seed 4 of 4)"}
CASES = [pytest.param(t, name, marks=[pytest.mark.xfail(reason=KNOWN[t, name])]
                      if (t, name) in KNOWN else [])
         for kind, types in KIND_TYPES.items() for t in types for name in LAYOUTS[kind]]


def nominal(scan: SimulatedScan) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nominal-frame x, y, z of the scan's points within 0.15 mm of the drawn surface."""
    assert scan.shape is not None
    p = scan.pose.to_nominal(scan.cloud.points)
    truth, _ = scan.shape.surface(p[:, 0], p[:, 1])
    ok = np.abs(p[:, 2] - truth) < 0.15
    return p[ok, 0], p[ok, 1], p[ok, 2]


# --------------------------------------------------------------------------- simulator
@pytest.mark.parametrize("weld_type", WELD_TYPES)
def test_the_default_layout_is_what_the_simulator_always_drew(weld_type: int) -> None:
    default = simulate_weld(weld_type, 3, points=20_000).cloud.points
    assert default.tobytes() == simulate_weld(weld_type, 3, points=20_000,
                                              layout=Layout()).cloud.points.tobytes()
    varied = simulate_weld(weld_type, 3, points=20_000, layout="random")  # its own stream:
    again = simulate_weld(weld_type, 3, points=20_000)
    assert varied.pose == again.pose                                     # same pose,
    assert varied.params["samples"] == again.params["samples"]           # same grid


def test_type7_patch_raised_recessed_and_the_outer_plate_rising_or_falling() -> None:
    for step, tilt in ((2.0, -12.0), (-1.5, 12.0), (0.0, 0.0)):
        scan = simulate_weld(7, 4, points=150_000, layout=Layout(step_mm=step,
                                                                 outer_tilt_deg=tilt))
        x, y, z = nominal(scan)
        cheb = np.maximum(np.abs(x), np.abs(y))
        patch = cheb < 10.0 - 3.0 - 0.5
        assert float(np.median(z[patch])) == pytest.approx(step, abs=0.02)
        east = (x > 14.5) & (np.abs(y) < 5.0)                     # outer plate, east face
        slope = np.polyfit(x[east], z[east], 1)[0]
        assert math.degrees(math.atan(-slope)) == pytest.approx(tilt, abs=0.3)
        assert scan.params["step_mm"] == step


def test_plates_kept_cropped_and_stepped_where_the_layout_says() -> None:
    kept = nominal(simulate_weld(3, 2, points=100_000, layout=Layout(keep_mm=(ALL, ALL))))
    beside = np.abs(kept[1]) > 4.0
    assert beside.sum() > 0.3 * kept[1].size
    assert float(np.median(kept[2][beside])) == pytest.approx(0.0, abs=0.01)
    cropped = nominal(simulate_weld(4, 2, points=100_000, layout=Layout(keep_mm=(5.0, 0.0))))
    assert cropped[1].min() > -5.0 - 0.01                       # south plate ends 5 mm out
    assert cropped[1].max() < 3.2                               # north plate: bead only
    _, y, z = nominal(simulate_weld(2, 2, points=100_000, layout=Layout(
        step_mm=3.0, keep_mm=(ALL, ALL))))
    assert float(np.median(z[y < -4.0])) == pytest.approx(0.0, abs=0.01)   # lower plate
    assert float(np.median(z[y > 4.0])) == pytest.approx(3.0, abs=0.01)    # upper, 3 mm up


def test_random_layouts_cover_the_contracts_variations() -> None:
    def params(weld_type: int) -> list[dict[str, float]]:
        return [simulate_weld(weld_type, s, points=2_000, layout="random").params
                for s in range(40)]

    square = params(7)
    assert {np.sign(p["step_mm"]) for p in square} == {-1.0, 0.0, 1.0}
    assert {np.sign(p["outer_tilt_deg"]) for p in square} == {-1.0, 0.0, 1.0}
    assert all(abs(p["step_mm"]) <= 3.0 and abs(p["outer_tilt_deg"]) <= 15.0 for p in square)
    assert {math.isinf(p["keep_north_mm"]) or p["keep_north_mm"] == 0 for p in square} == {
        True, False}
    assert {p["keep_south_mm"] for p in params(3)} == {0.0, ALL}
    upper = params(2)
    assert all(1.0 <= p["step_mm"] <= 3.0 for p in upper)
    lower_kept = {min(p["keep_south_mm"], 9.0) for p in upper}
    assert {0.0, 9.0} < lower_kept                    # absent, partly and wholly in the scan


# --------------------------------------------------------------------------- pipeline
@pytest.mark.parametrize(("weld_type", "name"), CASES)
def test_good_welds_of_every_layout_pass_with_their_bead_found(weld_type: int,
                                                               name: str) -> None:
    layout = LAYOUTS[weld_type_profile(weld_type).geometry.plate][name]
    points = 2 * POINTS if weld_type == 11 else POINTS     # an 80 mm bead: as dense
    for seed in range(1, WELDS + 1):
        r = judge(weld_type, seed, layout, points)
        step = abs(float(r["step_mm"]))
        assert r["verdict"] == "ok", (seed, r)
        assert float(r["rot"]) < ROT_TOL_DEG, (seed, r)
        assert float(r["off"]) < OFFSET_TOL_MM, (seed, r)
        assert abs(float(r["dw"])) <= WIDTH_TOL_MM + WIDTH_TOL_PER_STEP * step, (seed, r)
        assert abs(float(r["dh"])) <= HEIGHT_TOL_MM + HEIGHT_TOL_PER_STEP * step, (seed, r)


@pytest.mark.parametrize("weld_type", [2, 3, 5, 7, 9])
def test_random_layouts_pass_the_gate(weld_type: int) -> None:
    verdicts = [judge(weld_type, seed, "random", POINTS)["verdict"] for seed in range(6)]
    assert verdicts == ["ok"] * 6


@pytest.mark.parametrize("weld_type", [3, 10, 11])
def test_an_isolated_bead_maps_alike_with_and_without_its_plate(weld_type: int) -> None:
    # The bead-only scan's zero is its lowest points: a removal threshold above the plate
    # (the simulator's 0.05 mm) that no bead-only scan can reveal; hence the tolerance.
    for seed in (1, 2):
        scans = [simulate_weld(weld_type, seed, points=2 * POINTS, layout=Layout(keep_mm=k))
                 for k in ((0.0, 0.0), (ALL, ALL))]
        bare, plated = (scan_to_heightmap(s.cloud, s.profile) for s in scans)
        bead = bare.valid & plated.valid & (bare.z > 0.3)
        dz = np.abs(plated.z - bare.z)[bead]
        assert bead.sum() > 1000
        assert float(np.median(dz)) <= 0.08
        assert float(np.percentile(dz, 95)) <= 0.15
        g_bare, g_plated = (analyse_bead(hm, scans[0].profile) for hm in (bare, plated))
        assert g_plated.median_top_mm == pytest.approx(g_bare.median_top_mm, abs=0.2)
        assert g_plated.median_width_mm == pytest.approx(g_bare.median_width_mm, abs=0.3)
        for hm in (bare, plated):
            assert quality_gate.check(hm, scans[0].profile) is None


@pytest.mark.parametrize(("weld_type", "layout"), [
    (2, Layout(step_mm=3.0)), (9, Layout(step_mm=1.0, keep_mm=(ALL, ALL))),
    (8, Layout(step_mm=2.5, keep_mm=(ALL, 0.0)))])
def test_the_upper_plates_step_is_measured(weld_type: int, layout: Layout) -> None:
    scan = simulate_weld(weld_type, 5, points=POINTS, layout=layout)
    hm = scan_to_heightmap(scan.cloud, scan.profile)
    assert scan.shape is not None
    assert hm.meta["plate_step_mm"] == pytest.approx(scan.shape.step_mm, abs=0.25)
    assert hm.meta["bead_height_mm"] == pytest.approx(scan.shape.height_mm, abs=0.25)
