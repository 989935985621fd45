"""Outlier rejection, levelling and bead alignment (analytic clouds and simulated welds)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from point_cloud import prepare as prepare_module
from point_cloud.align import ROTATION_MARGIN_DEG
from point_cloud.config import scanner_model, weld_type_profile
from point_cloud.errors import NoBeadFoundError, NoFinitePointsError, PrepareError
from point_cloud.outliers import KEEP_MM, clean_points, robust_surface
from point_cloud.prepare import (
    DENSE_FACTOR,
    SAMPLE_RUN,
    SUBSAMPLE,
    _samples,
    prepare,
    project_prepared,
    subsample,
)
from point_cloud.project import Grid, cell_indices, to_pixels
from point_cloud.simulator import SimPose, SimulatedScan, simulate_weld
from point_cloud.types import Cloud
from synth_defects.scan_defects import defect_edit

TILT = math.radians(3.0)
EXTREME = (SimPose(3.0, -3.0, 5.0, 2.12, -2.12, 18.0), SimPose(-3.0, 3.0, -5.0, -2.12, 2.12, -18.0))


def ridge_on_plate(n: int = 300_000, seed: int = 0, tilt_rad: float = TILT) -> np.ndarray:
    """A 6 mm x 2 mm rounded ridge along X on a plate tilted about Y by ``tilt_rad``."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-30, 30, n)
    y = rng.uniform(-12, 12, n)
    rho2 = (y / 3.0) ** 2 + (np.clip(np.abs(x) - 17.0, 0, None) / 3.0) ** 2
    z = 2.0 * np.clip(1 - rho2, 0, None) ** 0.8
    pts = np.column_stack([x, y, z])
    c, s = math.cos(tilt_rad), math.sin(tilt_rad)
    rot = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    return (pts @ rot.T + (0.0, 0.0, 40.0)).astype(np.float32)


def bead_line(scan: SimulatedScan) -> tuple[float, float]:
    """Least-squares line (slope, intercept) of the simulated bead's wandering centreline:
    the bead itself, which is what alignment can see."""
    sh = scan.shape
    assert sh is not None
    t = np.linspace(-sh.bead_length_mm / 2, sh.bead_length_mm / 2, 401)
    w = sh.wander_amp_mm * np.sin(2 * np.pi * t / sh.wander_period_mm + sh.wander_phase)
    a, b = np.polyfit(t, w, 1)
    return float(a), float(b)


def aligned_bead_line(scan: SimulatedScan, transform: np.ndarray) -> np.ndarray:
    """Where the recovered scanner->aligned transform puts the bead's true centre and a
    point 10 mm along its line (ideally (0, 0) and (10, 0))."""
    a, b = bead_line(scan) if scan.profile.geometry.path == "line" else (0.0, 0.0)
    nominal = np.array([[0.0, b, 0.0], [10.0, b + 10.0 * a, 0.0]])
    return scan.pose.to_scanner(nominal) @ transform[:3, :3].T + transform[:3, 3]


def alignment_error(scan: SimulatedScan, transform: np.ndarray) -> tuple[float, float]:
    """(|rotation error| deg, |offset error| mm) of the recovered scanner->aligned transform."""
    aligned = aligned_bead_line(scan, transform)
    d = aligned[1] - aligned[0]
    rot = math.degrees(math.atan2(d[1], d[0]))
    if scan.profile.geometry.path == "square":
        rot = (rot + 45.0) % 90.0 - 45.0
    return abs(rot), math.hypot(aligned[0, 0], aligned[0, 1])


def test_clean_points_drops_outliers_1_to_8_mm_off_the_surface():
    pts = ridge_on_plate(100_000)
    rng = np.random.default_rng(3)
    bad = rng.random(len(pts)) < 0.03
    moved = pts.copy()
    moved[bad, 2] += rng.uniform(1.0, 8.0, bad.sum()) * rng.choice([-1.0, 1.0], bad.sum())
    _, keep = clean_points(moved)
    assert (~keep[bad]).mean() > 0.97  # outliers caught
    assert keep[~bad].mean() > 0.97  # real surface kept


def test_levelling_removes_a_3_degree_tilt_of_an_analytic_plate():
    cloud = Cloud(ridge_on_plate(), identity=None)
    prep = prepare(cloud, weld_type_profile(4))
    assert prep.plane.tilt_deg == pytest.approx(3.0, abs=0.05)
    z_axis = prep.transform[:3, :3] @ np.array([math.sin(TILT), 0.0, math.cos(TILT)])
    assert math.degrees(math.acos(z_axis[2])) < 0.05
    # the plate lands at z = 0 and the ridge straight along +X through the origin
    assert prep.bead.top_mm == pytest.approx(2.0, abs=0.1)
    assert abs(prep.bead.angle_deg) < 0.1


@pytest.mark.parametrize("weld_type", [2, 4, 5, 7, 8])
def test_levelling_of_simulated_plates_leaves_under_0p05_deg(weld_type):
    scan = simulate_weld(weld_type, 11, points=300_000, pose=EXTREME[0])
    prep = prepare(scan.cloud, scan.profile)
    true_normal = scan.pose.rotation() @ np.array([0.0, 0.0, 1.0])
    levelled = prep.transform[:3, :3] @ true_normal
    assert math.degrees(math.acos(min(1.0, levelled[2]))) < 0.05


@pytest.mark.parametrize("weld_type", [2, 3, 4, 5, 7, 8, 9, 10, 11])
def test_alignment_recovers_3_mm_and_5_degrees(weld_type):
    # Type 5 loses 20-40 % of its area to shadows, sometimes a bead end: its centre along
    # the bead then comes from the other end's toe (20 seeds: worst 0.18 mm).
    offset_tol = 0.2
    for seed, pose in enumerate(EXTREME * 2, start=1):
        scan = simulate_weld(weld_type, seed, points=300_000, pose=pose)
        rot_err, off_err = alignment_error(scan, prepare(scan.cloud, scan.profile).transform)
        assert rot_err < 0.5, (seed, rot_err)
        assert off_err < offset_tol, (seed, off_err)


@pytest.mark.parametrize(("weld_type", "seeds"), [(5, range(1, 21)), (8, (11, 12))])
def test_shadowed_bead_ends_keep_the_centre_within_0p2_mm(weld_type, seeds):
    # Type 5, 20 seeds at the extreme poses: several lose a bead end or its toe to a shadow
    # (seed 10 was 0.25 mm off before the centre came from the visible end's toe).
    # Type 8, seed 12: a shadow over one flank at a bead end (0.25 mm off before the band's
    # ends came from the outer half-band where the halves differ).
    worst = 0.0
    for seed in seeds:
        scan = simulate_weld(weld_type, seed, points=300_000, pose=EXTREME[seed % 2])
        worst = max(worst, alignment_error(scan, prepare(scan.cloud, scan.profile).transform)[1])
    assert worst < 0.2, worst


@pytest.mark.parametrize("total", [SUBSAMPLE + 1, 67_499, 112_345, 2_000_000])
def test_subsample_spans_the_whole_scan_in_increasing_order(total):
    # A scan is ordered profile by profile. Strata that stopped short of the end (the last
    # ``total mod runs`` points) left a strip of the weld out of every decision.
    pts = np.zeros((total, 3), np.float32)
    pts[:, 0] = np.arange(total)
    x = subsample(pts, SUBSAMPLE, seed=3)[:, 0]
    assert len(x) == SUBSAMPLE
    assert np.all(np.diff(x) > 0)
    stratum = total / (SUBSAMPLE // SAMPLE_RUN)
    assert np.diff(np.r_[-1.0, x, total]).max() <= 2 * stratum


@pytest.mark.parametrize(("weld_type", "seed"), [(11, 14), (3, 14)])
def test_a_dense_isolated_bead_is_centred_along_its_whole_length(weld_type, seed):
    # 1 M samples: 150-190 k points, subsampled. With the old strata the far end of the bead
    # was never sampled (type 11 seed 14: 1.39 mm off along the bead, type 3: 0.59 mm).
    scan = simulate_weld(weld_type, seed, points=1_000_000, pose=EXTREME[seed % 2])
    assert len(scan.cloud) > SUBSAMPLE
    prep = prepare(scan.cloud, scan.profile)
    rot_err, off_err = alignment_error(scan, prep.transform)
    assert rot_err < 0.5
    assert off_err < 0.2
    # and the projection's reference surface covers it all: only the real outliers drop
    # (before: cells at the unsampled end had no surface, so all their points were dropped)
    m = project_prepared(scan.cloud, prep, scan.profile).meta
    expected = scan.params["outlier_count"] * m["points_in_roi"] / m["points"]
    assert m["outliers_dropped"] == pytest.approx(expected, rel=0.15)


def test_the_chunked_full_cloud_pass_equals_a_one_shot_reference(monkeypatch):
    # The pass compacts each chunk to in-grid inliers before the per-cell max; the
    # reference floors float64 coordinates and takes each cell's max after a sort.
    scan = simulate_weld(4, 3, points=400_000)
    prep = prepare(scan.cloud, scan.profile)
    monkeypatch.setattr(prepare_module, "CHUNK", 10_007)  # ~10 chunks, ragged last one
    hm = project_prepared(scan.cloud, prep, scan.profile)
    grid = Grid.for_roi(scan.profile.roi)
    pts = scan.cloud.points.astype(np.float64)
    px = (grid.index_matrix() @ prep.transform) @ np.c_[pts, np.ones(len(pts))].T
    col, row = np.floor(px[0]).astype(np.int64) - 1, np.floor(px[1]).astype(np.int64) - 1
    z = px[2]
    inside = (col >= 0) & (col < grid.cols) & (row >= 0) & (row < grid.rows)
    su, sv, sz = to_pixels(prep.subsample, grid.index_matrix() @ prep.transform)
    surface = robust_surface(cell_indices(su, sv, grid), sz, grid).ravel()
    flat = (row * grid.cols + col)[inside]
    kept = np.abs(z[inside] - surface[flat]) <= KEEP_MM
    flat, zk = flat[kept], z[inside][kept]
    order = np.argsort(flat, kind="stable")
    cells, starts = np.unique(flat[order], return_index=True)
    ref = np.zeros(grid.n_cells)
    ref[cells] = np.maximum.reduceat(zk[order], starts)
    valid = np.zeros(grid.n_cells, dtype=bool)
    valid[cells] = True
    # float32 vs float64 coordinates may put a point on a cell edge either side
    assert np.count_nonzero(hm.valid.ravel() != valid) <= 2
    both = hm.valid.ravel() & valid
    assert np.count_nonzero(np.abs(hm.z.ravel()[both] - ref[both]) > 1e-4) <= 2
    assert hm.meta["points_in_roi"] == pytest.approx(int(inside.sum()), abs=5)
    assert hm.meta["outliers_dropped"] == pytest.approx(int((~kept).sum()), abs=5)
    assert hm.meta["outliers_dropped"] > 0


@pytest.mark.parametrize("total", [DENSE_FACTOR * SUBSAMPLE + 1, 2_000_000])
def test_a_short_beads_subsample_comes_out_of_its_dense_sample(total):
    # One pass over the cloud's memory for type 9: its subsample is one of each stratum's
    # DENSE_FACTOR dense runs, so it must still span the whole scan, a run per stratum.
    pts = np.zeros((total, 3), np.float32)
    pts[:, 0] = np.arange(total)
    sub, dense = _samples(Cloud(pts), weld_type_profile(9), seed=3)
    assert dense is not None
    assert len(dense) == DENSE_FACTOR * SUBSAMPLE
    x = sub[:, 0]
    assert len(x) == SUBSAMPLE
    assert np.all(np.diff(x) > 0)
    assert np.isin(x, dense[:, 0]).all()
    stratum = total / (SUBSAMPLE // SAMPLE_RUN)
    assert np.diff(np.r_[-1.0, x, total]).max() <= 2 * stratum
    # the dense run picked in each stratum is random: each of its DENSE_FACTOR runs alike
    run = np.searchsorted(dense[:, 0], x[::SAMPLE_RUN]) // SAMPLE_RUN
    share = np.bincount(run % DENSE_FACTOR, minlength=DENSE_FACTOR) / len(run)
    assert np.abs(share - 1 / DENSE_FACTOR).max() < 0.03
    assert _samples(Cloud(pts), weld_type_profile(4), seed=3)[1] is None


@pytest.mark.parametrize(("weld_type", "seed"), [
    (2, 17), (3, 14), (4, 16), (5, 17), (8, 12), (10, 3), (11, 14)])
def test_end_caps_centre_a_dense_scan_within_0p1_mm_along_the_bead(weld_type, seed):
    # 1 M samples at the extreme poses. The crest band's ends move with the ripples and the
    # end craters: centred on them, these were 0.13-0.29 mm off along the bead (type 5 seed
    # 17: 0.29, type 8 seed 12: 0.23).
    scan = simulate_weld(weld_type, seed, points=1_000_000, pose=EXTREME[seed % 2])
    prep = prepare(scan.cloud, scan.profile)
    along, across = aligned_bead_line(scan, prep.transform)[0, :2]
    assert abs(along) < 0.1
    assert abs(across) < 0.1
    assert alignment_error(scan, prep.transform)[0] < 0.5


@pytest.mark.parametrize("points", [1_000_000, 2_000_000])
def test_a_short_bead_is_refitted_on_a_denser_sample(points):
    # Type 9 (15 mm) at the realistic densities, over 8 subsample draws: on the decision
    # subsample alone its angle was +-0.2 deg noisy (up to 0.49 deg on this weld). The
    # refit on 4x the points around the bead used to test them for outliers on 0.4 mm
    # cells, where one 1 mm off on the steep flank passed, sat at crest height beside the
    # band and tilted the line: draw 7 at 2 M was 0.64 deg off. Now all are under 0.3.
    scan = simulate_weld(9, 11, points=points, pose=EXTREME[1])
    errors = []
    for draw in range(8):
        prep = prepare(scan.cloud, scan.profile, seed=draw)
        rot_err, off_err = alignment_error(scan, prep.transform)
        errors.append(rot_err)
        assert off_err < 0.2
        assert prep.bead.band_points > 3 * SUBSAMPLE // 10  # the refit's band
    assert max(errors) < 0.3, errors


def test_a_wandering_short_bead_stays_near_its_line():
    # The strongest wander (0.14 mm over a 26.5 mm period): the bead's own line over its
    # full 15 mm (the yardstick) and over the crest band that shows it differ by 0.1-0.2 deg,
    # so single draws sit at 0.2-0.52 deg (they did before the refit's changes too).
    scan = simulate_weld(9, 12, points=2_000_000, pose=EXTREME[0])
    errors = [alignment_error(scan, prepare(scan.cloud, scan.profile, seed=d).transform)[0]
              for d in range(8)]
    assert np.mean(errors) < 0.47, errors
    assert max(errors) < 0.6, errors


@pytest.mark.parametrize(("weld_type", "seed"), [(5, 5), (7, 10)])
def test_alignment_holds_over_subsample_draws(weld_type, seed):
    # At 2 M points, over 8 draws of the decision subsample. Type 5 (20-40 % shadowed): with
    # many bins narrowed by shadows their median width was low and partly shadowed bins
    # passed as whole (draw 1: 0.70 deg). Type 7: one side correction after the four-fold
    # moment left draw 1 at 0.89 deg. Both were right on draw 0, the one the sweep ran.
    scan = simulate_weld(weld_type, seed, points=2_000_000, pose=EXTREME[seed % 2])
    errors = [alignment_error(scan, prepare(scan.cloud, scan.profile, seed=d).transform)
              for d in range(8)]
    assert max(rot for rot, _ in errors) < 0.5, errors
    assert max(off for _, off in errors) < 0.2, errors


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_a_ball_beside_a_short_bead_leaves_its_pose(seed):
    # Type 9 (15 mm): a ball beside the bead widens two of its six crest-band bins, and a
    # line through those tied with the bead's own: the pose turned 4.5-9 deg. Wide bins are
    # now left out of the centreline; what the ball still adds to the others turns it < 0.6.
    profile = weld_type_profile(9)
    edit, params = defect_edit(9, seed, "ball", 300_000, profile)
    assert params["diameter_mm"] > 1.0
    pose = EXTREME[seed % 2]
    good = prepare(simulate_weld(9, seed, points=300_000, pose=pose).cloud, profile)
    bad = prepare(simulate_weld(9, seed, points=300_000, pose=pose, edit=edit).cloud, profile)
    assert abs(bad.bead.angle_deg - good.bead.angle_deg) < 1.0
    assert np.hypot(*np.subtract(bad.bead.centre_xy, good.bead.centre_xy)) < 0.3


@pytest.mark.parametrize("seed", range(1, 7))
def test_a_bent_short_bead_stays_within_the_rotation_tolerance(seed):
    # A deviation bends most of a 15 mm bead, so the line through it is ambiguous; it once
    # came out 18-31 deg off. The scanner's tolerance (5 deg) + the margin (3 deg) bounds it.
    profile = weld_type_profile(9)
    edit, _ = defect_edit(9, seed, "deviation", 300_000, profile)
    scan = simulate_weld(9, seed, points=300_000, pose=EXTREME[seed % 2], edit=edit)
    angle = prepare(scan.cloud, profile).bead.angle_deg
    assert abs(angle) <= scanner_model().max_rotation_deg + ROTATION_MARGIN_DEG + 1e-6


def test_square_path_with_an_oblique_outer_plate_beyond_the_tilt_window():
    # Outer plate 8.2 deg (+ 2 deg scanner tilt): no plane within the 6 deg window holds 5 %
    # of the cloud and random triplets miss the small inner patch; this source of a 700-weld
    # training set failed with "plate plane" until the central-disc fallback.
    scan = simulate_weld(7, 4031572842, points=300_000)
    assert scan.shape is not None
    assert scan.shape.outer_tilt_deg > 8.0
    prep = prepare(scan.cloud, scan.profile)
    rot_err, off_err = alignment_error(scan, prep.transform)
    assert rot_err < 0.5
    assert off_err < 0.2
    levelled = prep.transform[:3, :3] @ (scan.pose.rotation() @ np.array([0.0, 0.0, 1.0]))
    assert math.degrees(math.acos(min(1.0, levelled[2]))) < 0.05


def test_a_flat_plate_has_no_bead():
    rng = np.random.default_rng(4)
    pts = np.column_stack([rng.uniform(-30, 30, 50_000), rng.uniform(-12, 12, 50_000),
                           rng.normal(0, 0.02, 50_000)]).astype(np.float32)
    with pytest.raises(NoBeadFoundError, match="bead: expected a ridge"):
        prepare(Cloud(pts), weld_type_profile(4))


def test_a_steep_surface_has_no_plate_plane():
    pts = ridge_on_plate(50_000, tilt_rad=math.radians(30.0))
    with pytest.raises(PrepareError, match="plate plane") as info:
        prepare(Cloud(pts), weld_type_profile(4))
    assert info.value.reason == "prepare_failed"


def test_all_nan_cloud_is_rejected_by_name(tmp_path):
    pts = np.full((5000, 3), np.nan, dtype=np.float32)
    with pytest.raises(NoFinitePointsError, match=r"scan\.npy"):
        prepare(Cloud(pts, source=tmp_path / "scan.npy"), weld_type_profile(3))


def test_ransac_survives_degenerate_samples():
    from point_cloud.level import ransac_plane

    rng = np.random.default_rng(5)
    plate = np.column_stack([rng.uniform(-10, 10, 200), rng.uniform(-10, 10, 200),
                             np.zeros(200)])
    pts = np.repeat(plate, 5, axis=0).astype(np.float32)  # every point five times
    found = ransac_plane(pts, rng)
    assert found is not None
    assert found[0].tilt_deg < 1e-3
    assert found[1].all()


@pytest.mark.parametrize("how", ["max", "mean"])
def test_the_full_cloud_pass_split_across_threads_makes_the_single_pass_map(monkeypatch, how):
    """The projection pass runs in parts on worker threads; each part reduces into its own
    cells, merged after: the map, its validity and the point counts are those one pass
    makes, bit for bit, whatever the split."""
    from point_cloud import threads

    profile = weld_type_profile(7)
    cloud = simulate_weld(7, 3, points=200_000).cloud
    prep = prepare(cloud, profile)
    monkeypatch.setattr(prepare_module, "CHUNK", 1 << 13)      # some 40 chunks
    maps = {}
    for n in (1, 2, 3):
        monkeypatch.setattr(prepare_module, "PROJECT_THREADS", n)
        monkeypatch.setattr(prepare_module, "cores", lambda: 4)
        maps[n] = project_prepared(cloud, prep, profile, how=how)
    assert "project" in threads._POOLS                     # the split ran on the pool
    one = maps[1]
    assert one.valid.sum() > 0.5 * one.valid.size
    for n in (2, 3):
        assert np.array_equal(maps[n].valid, one.valid)
        assert np.array_equal(maps[n].z, one.z)
        for key in ("points_in_roi", "outliers_dropped"):
            assert maps[n].meta[key] == one.meta[key] > 0
