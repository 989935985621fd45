"""The scan simulator: determinism, per-type structure, scanner effects, pose truth, edits."""

from __future__ import annotations

import hashlib
import math

import cv2
import numpy as np
import pytest

from point_cloud.config import WELD_TYPES, scanner_model, weld_type_profile
from point_cloud.kinds.upper import UPPER_PLATE_MM
from point_cloud.read import read_scan
from point_cloud.simulator import (
    SimPose,
    SimulatedScan,
    random_pose,
    simulate_weld,
)
from point_cloud.types import ScanIdentity

POINTS = 150_000


def nominal(scan: SimulatedScan) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Points in the nominal frame and the inlier mask (within 0.15 mm of the true surface)."""
    p = scan.pose.to_nominal(scan.cloud.points)
    assert scan.shape is not None
    truth, _ = scan.shape.surface(p[:, 0], p[:, 1])
    inlier = np.abs(p[:, 2] - truth) < 0.15
    return p[:, 0], p[:, 1], p[:, 2], inlier


def missing_roi_fraction(scan: SimulatedScan) -> float:
    """Fraction of the ROI's pixels (nominal frame, roi.mm_per_px) that hold no point."""
    x, y, _, _ = nominal(scan)
    roi = scan.profile.roi
    cell_mm = roi.mm_per_px
    nr, nc = roi.shape_px
    r = np.floor((roi.width_mm / 2 - y) / cell_mm).astype(int)
    c = np.floor((x + roi.length_mm / 2) / cell_mm).astype(int)
    ok = (r >= 0) & (r < nr) & (c >= 0) & (c < nc)
    filled = np.zeros((nr, nc), bool)
    filled[r[ok], c[ok]] = True
    return 1.0 - float(filled.mean())


def test_same_seed_same_bytes_and_other_seed_differs():
    a = simulate_weld(4, 11, points=50_000).cloud.points
    b = simulate_weld(4, 11, points=50_000).cloud.points
    c = simulate_weld(4, 12, points=50_000).cloud.points
    assert a.dtype == np.float32
    assert a.tobytes() == b.tobytes()
    assert a.shape != c.shape or not np.array_equal(a, c)


def test_explicit_pose_keeps_the_rest_of_the_scan():
    drawn = simulate_weld(3, 5, points=50_000)
    fixed = simulate_weld(3, 5, points=50_000, pose=SimPose())
    assert fixed.pose == SimPose()
    assert len(drawn.cloud) == len(fixed.cloud)
    # Same samples: the nominal XY of the drawn-pose scan matches the unposed scan to within
    # the tilt's effect on the noise/outlier displacement (<= 8 mm * sin 3 deg).
    xy = drawn.pose.to_nominal(drawn.cloud.points)[:, :2]
    assert np.abs(xy - fixed.cloud.points[:, :2]).max() < 0.45


def test_random_pose_stays_within_the_scan_contract():
    scanner = scanner_model()
    rng = np.random.default_rng(0)
    poses = [random_pose(rng, scanner) for _ in range(300)]
    assert max(abs(p.dx_mm) for p in poses) <= scanner.max_offset_mm
    assert max(abs(p.dy_mm) for p in poses) <= scanner.max_offset_mm
    assert max(abs(p.rot_deg) for p in poses) <= scanner.max_rotation_deg
    assert max(math.hypot(p.tilt_x_deg, p.tilt_y_deg) for p in poses) <= scanner.max_tilt_deg
    # ... and uses the range, not just a corner of it
    assert max(abs(p.rot_deg) for p in poses) > 0.8 * scanner.max_rotation_deg
    assert np.std([p.z_offset_mm for p in poses]) > 5.0


def test_pose_round_trip_is_exact():
    pose = SimPose(1.2, -2.5, 4.0, 2.0, -1.5, 17.0)
    pts = np.random.default_rng(1).normal(size=(100, 3)) * 10
    assert np.allclose(pose.to_nominal(pose.to_scanner(pts)), pts, atol=1e-9)
    assert np.allclose(pose.matrix()[:3, 3], [1.2, -2.5, 17.0])


@pytest.mark.parametrize("weld_type", WELD_TYPES)
def test_every_type_has_its_structure(weld_type: int):
    scan = simulate_weld(weld_type, 21, points=POINTS)
    g = scan.profile.geometry
    x, y, z, inl = nominal(scan)
    half_w, half_l = g.bead_width_mm / 2, g.bead_length_mm / 2
    assert scan.cloud.identity is not None
    assert scan.cloud.identity.weld_type == weld_type
    assert inl.mean() > 0.95
    if g.path == "square":
        s2 = g.square_side_mm / 2
        cheb = np.maximum(np.abs(x), np.abs(y))
        patch = inl & (cheb < s2 - half_w - 0.5)
        ring = inl & (np.abs(cheb - s2) < 0.5)
        assert patch.sum() > 0.1 * inl.sum()
        assert np.abs(z[patch]).max() < 0.15                     # the patch is the plate z = 0
        assert np.median(z[ring]) > 0.8 * g.bead_height_mm       # bead on the square path
        return
    band = inl & (np.abs(y) <= half_w + 0.3) & (np.abs(x) <= half_l + 0.3)
    top = np.percentile(z[band & (np.abs(x) < half_l - 4)], 99)
    base = UPPER_PLATE_MM / 2 if g.plate == "upper" else 0.0
    assert base + 0.9 * g.bead_height_mm < top < base + 1.2 * g.bead_height_mm
    south = inl & (y < -half_w - 0.5)
    north = inl & (y > half_w + 0.5)
    if g.plate == "isolated":
        assert band.sum() > 0.99 * inl.sum()                     # nothing but the bead
        assert (south | north).sum() == 0
    elif g.plate == "lower":
        for side in (south, north):
            assert side.sum() > 0.05 * inl.sum()                  # even when shadowed
            assert abs(float(np.median(z[side]))) < 0.01          # lower plate at z = 0
    else:                                                        # upper plate, north only
        assert south.sum() == 0
        assert north.sum() > 0.3 * inl.sum()
        assert abs(float(np.median(z[north])) - UPPER_PLATE_MM) < 0.01


def test_plate_noise_and_outliers_match_the_scanner_model():
    scanner = scanner_model()
    scan = simulate_weld(4, 3, points=300_000)
    _, y, z, _ = nominal(scan)
    plate = np.abs(y) > 5                                         # lower plate, true z = 0
    outlier = np.abs(z[plate]) > 0.5
    assert abs(float(np.std(z[plate][~outlier])) - scanner.noise_mm) < 0.005
    assert abs(float(outlier.mean()) - scanner.outlier_fraction) < 0.004
    assert np.abs(z[plate][outlier]).min() > 0.9                  # far off the surface
    assert scan.params["outlier_count"] == pytest.approx(
        scanner.outlier_fraction * len(scan.cloud), rel=0.1)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_type5_shadows_a_fifth_to_two_fifths_of_the_roi(seed: int):
    scan = simulate_weld(5, seed, points=POINTS)
    missing = missing_roi_fraction(scan)
    drawn = scan.params["shadow_fraction"]
    assert 0.2 <= drawn <= 0.4
    # the blobs spare the bead's crest (a fifth of the ROI at most): the rest goes
    assert 0.8 * drawn - 0.005 <= missing <= drawn + 0.005


def test_light_shadow_types_stay_light():
    scan = simulate_weld(4, 4, points=POINTS)
    assert missing_roi_fraction(scan) < weld_type_profile(4).geometry.shadow_fraction[1] + 0.01


def test_bead_centre_follows_the_pose():
    scan = simulate_weld(4, 9, points=POINTS)
    pts = scan.cloud.points.astype(np.float64)
    _, _, z, inl = nominal(scan)
    bead = inl & (z > 1.0)
    centre = pts[bead, :2].mean(axis=0)
    assert np.allclose(centre, [scan.pose.dx_mm, scan.pose.dy_mm], atol=0.3)


def test_type7_has_both_sub_kinds_with_the_drawn_slope():
    tilts = [simulate_weld(7, s, points=60_000) for s in range(8)]
    kinds = {sc.params["outer_tilt_deg"] == 0.0 for sc in tilts}
    assert kinds == {True, False}
    oblique = next(sc for sc in tilts if sc.params["outer_tilt_deg"] >= 5.0)
    x, y, z, inl = nominal(oblique)
    east = inl & (x > 14.5) & (np.abs(y) < 5)                    # outer plate, east face
    slope = np.polyfit(x[east], z[east], 1)[0]
    assert math.degrees(math.atan(-slope)) == pytest.approx(
        oblique.params["outer_tilt_deg"], abs=0.3)


def test_edit_removes_and_raises_points_in_the_nominal_frame():
    def edit(x, y, z):
        hole = np.hypot(x - 5.0, y) < 1.0
        ball = np.hypot(x + 5.0, y) < 1.0
        return np.where(ball, z + 1.0, z), ~hole

    scan = simulate_weld(4, 8, points=POINTS, edit=edit)
    x, y, z, _ = nominal(scan)
    assert (np.hypot(x - 5.0, y) < 0.8).sum() == 0
    ball = np.hypot(x + 5.0, y) < 0.8
    assert np.median(z[ball]) > 2.5


def test_default_density_is_the_fine_scanner_spacing():
    scan = simulate_weld(10, 1)
    assert scan.params["pitch_mm"] == pytest.approx(scanner_model().point_spacing_mm[0])
    assert scan.params["samples"] > 300_000


# --------------------------------------------------------------------------- CLI
def run_cli(*args: str) -> int:
    from inspector.cli import main
    return main(["simulate", *args])


def digests(folder) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("fmt", ["ply", "grid"])
def test_cli_same_seed_same_bytes(tmp_path, fmt):
    common = ["--type", "4,9", "--count", "2", "--points", "20000", "--format", fmt]
    assert run_cli(*common, "--seed", "5", "--out", str(tmp_path / "a")) == 0
    assert run_cli(*common, "--seed", "5", "--out", str(tmp_path / "b")) == 0
    assert run_cli(*common, "--seed", "6", "--out", str(tmp_path / "c")) == 0
    a, b, c = digests(tmp_path / "a"), digests(tmp_path / "b"), digests(tmp_path / "c")
    ext = ".ply" if fmt == "ply" else ".png"
    assert sorted(n for n in a if n.endswith(ext)) == [
        f"SIM-000005_W04_t4{ext}", f"SIM-000005_W09_t9{ext}",
        f"SIM-000006_W04_t4{ext}", f"SIM-000006_W09_t9{ext}"]
    assert a == b
    assert a[f"SIM-000006_W04_t4{ext}"] == c[f"SIM-000006_W04_t4{ext}"]   # seed 5+1 == 6+0
    assert a[f"SIM-000005_W04_t4{ext}"] not in c.values()
    cloud = read_scan(tmp_path / "a" / f"SIM-000005_W09_t9{ext}")
    assert cloud.identity == ScanIdentity("SIM-000005", "W09", 9)


def test_cli_all_types(tmp_path):
    assert run_cli("--type", "all", "--points", "10000", "--format", "npy",
                   "--out", str(tmp_path)) == 0
    scans = sorted(tmp_path.glob("*.npy"))
    idents = [read_scan(p, min_points=100).identity for p in scans]
    assert [i.weld_type if i else None for i in idents] == list(WELD_TYPES)


def test_cli_rejects_an_unknown_type(tmp_path, capsys):
    with pytest.raises(SystemExit):
        run_cli("--type", "6", "--out", str(tmp_path))
    assert "--type" in capsys.readouterr().err


def test_edit_on_an_isolated_type_follows_the_removed_plate_rule():
    def edit(x, y, z):
        spill = (np.abs(x) < 2.0) & (y > 4.0) & (y < 6.0)        # excess beside the bead
        hole = np.hypot(x - 8.0, y) < 1.0                        # down to the plate
        return np.where(spill, 0.5, np.where(hole, 0.0, z)), np.ones_like(z, dtype=bool)

    scan = simulate_weld(3, 8, points=POINTS, edit=edit)
    x, y, z, _ = nominal(scan)
    spill = (np.abs(x) < 1.8) & (y > 4.2) & (y < 5.8)
    assert spill.sum() > 100
    assert abs(float(np.median(z[spill])) - 0.5) < 0.01
    assert (np.hypot(x - 8.0, y) < 0.8).sum() == 0


def test_cli_preview_shows_the_shadows(tmp_path):
    assert run_cli("--type", "5", "--points", "60000", "--seed", "1", "--out",
                   str(tmp_path / "scans"), "--preview", str(tmp_path / "pv")) == 0
    img = cv2.imread(str(tmp_path / "pv" / "SIM-000001_W05_t5.png"), cv2.IMREAD_UNCHANGED)
    assert img.dtype == np.uint8
    assert img.shape[1] > 1.5 * img.shape[0]                      # the weld runs along X
    assert 0.15 < float((img == 0).mean()) < 0.6                  # shadows (+ rotated corners)
    assert not list((tmp_path / "scans").glob("*.png"))           # previews stay out of the spool


def test_a_wall_hides_the_strip_behind_it_from_the_camera():
    """Occlusion (not drawn by the simulator yet): a 2 mm wall (y < 0) hides y in
    [0, 2 tan 30 deg) from a camera 30 deg off vertical on its side (south), and nothing
    from one on the other side."""
    from point_cloud.simulator import _occluded

    ny = 400
    y = np.tile(np.linspace(-5.0, 5.0, ny), 3)
    z = np.where(y < 0, 2.0, 0.0)
    hidden = _occluded(y, z, (3, ny), -1.0, 30.0)
    shade = y[hidden & (y >= 0)]
    assert shade.min() < 0.03
    assert shade.max() == pytest.approx(2 * math.tan(math.radians(30)), abs=0.05)
    assert not hidden[y < 0].any()
    assert not _occluded(y, z, (3, ny), 1.0, 30.0).any()


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_no_shadow_falls_on_the_beads_crest(seed: int):
    """Type 5 loses 20-40 % of its ROI to shadows, but never its bead's crest: a camera over
    the bead sees its convex top. An empty patch there is a pore, not a shadow."""
    from point_cloud.pipeline import scan_to_heightmap

    scan = simulate_weld(5, seed, points=400_000)
    hm = scan_to_heightmap(scan.cloud, scan.profile)
    x, y = hm.xy_of(*np.indices(hm.shape))
    g = scan.profile.geometry
    crest = (np.abs(y) < 0.25 * g.bead_width_mm) & (np.abs(x) < 0.5 * g.bead_length_mm - 4)
    assert missing_roi_fraction(scan) > 0.15
    assert hm.valid[crest].mean() > 0.99
