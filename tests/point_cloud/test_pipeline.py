"""Scan -> height map end to end: every weld type, files on disk and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from inspector.cli import main as inspector_main
from point_cloud.config import WELD_TYPES, weld_type_profile
from point_cloud.errors import IdentityConflictError, IdentityError
from point_cloud.heightmap_io import read_heightmap
from point_cloud.pipeline import bead_section, read_and_project, scan_to_heightmap
from point_cloud.simulator import simulate_weld
from point_cloud.types import Cloud
from point_cloud.write import write_scan

NOMINAL_HEIGHT, NOMINAL_WIDTH = 2.0, 6.0


@pytest.mark.parametrize("weld_type", WELD_TYPES)
def test_every_type_projects_a_bead_of_nominal_size(weld_type):
    scan = simulate_weld(weld_type, 5, points=350_000)
    hm = scan_to_heightmap(scan.cloud)
    profile = weld_type_profile(weld_type)
    assert hm.shape == profile.roi.shape_px
    section = bead_section(hm, profile)
    assert section.sections >= 20
    assert section.height_mm == pytest.approx(NOMINAL_HEIGHT, rel=0.10)
    assert section.width_mm == pytest.approx(NOMINAL_WIDTH, rel=0.10)
    assert hm.meta["bead_height_mm"] == pytest.approx(section.height_mm, abs=1e-3)
    # outliers (1-8 mm off the surface) never reach the map: nothing far above the bead top
    ceiling = 1.5 + NOMINAL_HEIGHT if profile.geometry.plate == "upper" else NOMINAL_HEIGHT
    assert hm.z.max() < ceiling + 0.6
    assert hm.valid_fraction > 0.2
    assert hm.identity == scan.cloud.identity


def test_meta_reports_what_prepare_found(sim_type4):
    hm = scan_to_heightmap(sim_type4.cloud)
    m = hm.meta
    pose = sim_type4.pose
    true_tilt = np.degrees(np.arccos((pose.rotation() @ [0, 0, 1.0])[2]))
    assert m["tilt_deg"] == pytest.approx(true_tilt, abs=0.05)
    assert m["rotation_deg"] == pytest.approx(pose.rot_deg, abs=0.6)
    assert set(m["timings_ms"]) == {"subsample", "level", "align", "project"}
    assert m["points"] == len(sim_type4.cloud)
    assert m["outliers_dropped"] > 0.5 * sim_type4.params["outlier_count"] * m["points_in_roi"] \
        / m["points"]
    json.dumps(m)  # sidecar-ready


def test_lower_plate_sits_at_zero_and_mean_mode_agrees(sim_type4):
    hmax = scan_to_heightmap(sim_type4.cloud)
    hmean = scan_to_heightmap(sim_type4.cloud, how="mean")
    plate = hmax.valid & (np.abs(hmax.xy_of(*np.indices(hmax.shape))[1]) > 5.0)
    assert abs(float(np.median(hmax.z[plate]))) < 0.05
    both = hmax.valid & hmean.valid
    diff = hmax.z[both] - hmean.z[both]
    assert (diff >= -1e-5).all()
    assert float(np.median(diff)) < 0.1


def test_missing_type_is_an_identity_error():
    scan = simulate_weld(3, 1, points=50_000)
    with pytest.raises(IdentityError, match="weld_type"):
        scan_to_heightmap(Cloud(scan.cloud.points))


def test_read_and_project_and_the_cli_write_a_readable_map(tmp_path):
    scan = simulate_weld(10, 2, points=150_000)
    ident = scan.cloud.identity
    assert ident is not None
    path = write_scan(scan.cloud, tmp_path / f"{ident.stem()}.npy")
    hm = read_and_project(path)
    assert hm.meta["weld_type"] == 10
    with pytest.raises(IdentityConflictError, match="weld_type"):
        read_and_project(path, weld_type=4)

    out = tmp_path / "maps" / "w10.png"
    assert inspector_main(["heightmap", str(path), "--type", "10", "--out", str(out)]) == 0
    back = read_heightmap(out)
    assert back.shape == hm.shape
    assert back.identity == scan.cloud.identity
    assert np.abs(back.z - hm.z).max() < 1e-3
    assert (back.valid == hm.valid).all()
    assert out.with_name("w10.preview.png").is_file()
    assert json.loads(out.with_suffix(".json").read_text())["meta"]["weld_type"] == 10


def test_cli_reports_a_bad_scan_with_exit_2(tmp_path, capsys):
    bad = tmp_path / "P-1_W1_t3.npy"
    np.save(bad, np.full((3000, 3), np.nan, dtype=np.float32))
    assert inspector_main(["heightmap", str(bad), "--out", str(tmp_path / "m.png")]) == 2
    assert str(bad) in capsys.readouterr().err


def test_outlier_rejection_drops_the_outliers_and_little_else():
    scan = simulate_weld(7, 3, points=400_000)
    hm = scan_to_heightmap(scan.cloud)
    m = hm.meta
    expected = scan.params["outlier_count"] * m["points_in_roi"] / m["points"]
    assert m["outliers_dropped"] == pytest.approx(expected, rel=0.1)
    # every cell that holds real points stays valid: compare with a plain max projection
    # of the same aligned cloud
    from point_cloud.prepare import prepare
    from point_cloud.project import project

    t = prepare(scan.cloud, scan.profile).transform
    aligned = scan.cloud.points @ t[:3, :3].T.astype(np.float32) + t[:3, 3].astype(np.float32)
    raw = project(aligned, scan.profile.roi)
    assert hm.valid_fraction > raw.valid_fraction - 0.01
