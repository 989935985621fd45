"""write_scan: every format round-trips (exactly where it can), deterministically, with sidecar."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from point_cloud.errors import IdentityConflictError, UnsupportedFormatError
from point_cloud.read import read_scan
from point_cloud.types import Cloud
from point_cloud.write import FORMATS, write_scan

EXACT = [("ply", ".ply"), ("pcd", ".pcd"), ("xyz", ".xyz"), ("xyz", ".txt"), ("csv", ".csv"),
         ("npy", ".npy"), ("npz", ".npz")]


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(("fmt", "ext"), EXACT)
def test_round_trip_is_bit_exact(tmp_path, small_cloud, fmt, ext):
    path = write_scan(small_cloud, tmp_path / f"{small_cloud.identity.stem()}{ext}", fmt)
    back = read_scan(path, min_points=1)
    assert back.points.dtype == np.float32
    assert back.points.shape == small_cloud.points.shape
    assert back.points.tobytes() == small_cloud.points.tobytes()
    assert back.identity == small_cloud.identity
    assert back.source == path


@pytest.mark.parametrize(("fmt", "ext"), [*EXACT, ("grid", ".png"), ("grid", ".npy")])
def test_same_cloud_gives_same_bytes(tmp_path, sim_type4, fmt, ext):
    a = write_scan(sim_type4.cloud, tmp_path / "a" / f"s{ext}", fmt)
    b = write_scan(sim_type4.cloud, tmp_path / "b" / f"s{ext}", fmt)
    assert sha(a) == sha(b)
    assert sha(a.with_suffix(".json")) == sha(b.with_suffix(".json"))


def test_identity_sidecar_holds_the_identity(tmp_path, small_cloud):
    path = write_scan(small_cloud, tmp_path / "anything.npy", "npy")
    side = json.loads(path.with_suffix(".json").read_text())
    assert side == {"part_serial": "P-0042", "weld_id": "W7", "weld_type": 4}
    assert read_scan(path, min_points=1).identity == small_cloud.identity


def test_no_identity_writes_no_sidecar(tmp_path, small_cloud):
    anon = Cloud(points=small_cloud.points)
    path = write_scan(anon, tmp_path / "anon.ply")
    assert not path.with_suffix(".json").exists()
    assert read_scan(path, min_points=1).identity is None


def regular_cloud(pitch: float = 0.1) -> Cloud:
    """Points exactly on a 30 x 20 grid (rows along X), one cell left empty."""
    i, j = np.meshgrid(np.arange(30), np.arange(20), indexing="ij")
    z = np.sin(i * 0.3) * 2.0 + j * 0.01
    pts = np.column_stack([5.0 + i.ravel() * pitch, -2.0 + j.ravel() * pitch, z.ravel()])
    keep = ~((i.ravel() == 10) & (j.ravel() == 5))
    return Cloud(points=pts[keep].astype(np.float32))


@pytest.mark.parametrize(("ext", "z_tol"), [(".npy", 0.0), (".png", 0.0006), (".tif", 0.0006)])
def test_grid_of_a_regular_cloud_recovers_every_point(tmp_path, ext, z_tol):
    cloud = regular_cloud()
    path = write_scan(cloud, tmp_path / f"g{ext}", "grid", grid_pitch_mm=0.1)
    side = json.loads(path.with_suffix(".json").read_text())
    assert side["x_pitch_mm"] == pytest.approx(0.1)
    back = read_scan(path, min_points=1).points
    assert back.shape == cloud.points.shape                      # the empty cell stays empty
    order = np.lexsort((cloud.points[:, 1], cloud.points[:, 0]))
    back_order = np.lexsort((back[:, 1], back[:, 0]))
    assert np.abs(back[back_order, :2] - cloud.points[order, :2]).max() < 1e-5
    assert np.abs(back[back_order, 2] - cloud.points[order, 2]).max() <= z_tol + 1e-6


def test_grid_of_a_simulated_scan_keeps_the_surface(tmp_path, sim_type4):
    path = write_scan(sim_type4.cloud, tmp_path / "sim.png", "grid")
    back = read_scan(path)
    spec = json.loads(path.with_suffix(".json").read_text())
    pitch = spec["x_pitch_mm"]
    # default pitch: 1.5x the simulated spacing, so most cells hold a point
    assert pitch == pytest.approx(1.5 * sim_type4.params["pitch_mm"], rel=0.1)
    cells = (np.ptp(back.points[:, 0]) / pitch + 1) * (np.ptp(back.points[:, 1]) / pitch + 1)
    assert len(back) > 0.6 * cells
    # each grid point is a real sample: back in the nominal frame it lies on the surface
    p = sim_type4.pose.to_nominal(back.points)
    truth, _ = sim_type4.shape.surface(p[:, 0], p[:, 1])
    on_surface = np.abs(p[:, 2] - truth) < 0.1
    assert on_surface.mean() > 0.95
    assert back.identity == sim_type4.cloud.identity


def test_format_and_extension_must_agree(tmp_path, small_cloud):
    with pytest.raises(UnsupportedFormatError, match=r"bad\.xyz"):
        write_scan(small_cloud, tmp_path / "bad.xyz", "ply")
    with pytest.raises(UnsupportedFormatError, match="format"):
        write_scan(small_cloud, tmp_path / "bad.ply", "las")
    with pytest.raises(UnsupportedFormatError, match="extension"):
        write_scan(small_cloud, tmp_path / "bad.las")
    assert set(FORMATS) == {"ply", "pcd", "xyz", "csv", "npy", "npz", "grid"}


def test_a_contract_name_must_match_the_identity(tmp_path, small_cloud):
    with pytest.raises(IdentityConflictError, match="weld_type") as err:
        write_scan(small_cloud, tmp_path / "P-0042_W7_t5.ply")
    assert "P-0042_W7_t5.ply" in str(err.value)
    assert not list(tmp_path.iterdir())                          # nothing written
