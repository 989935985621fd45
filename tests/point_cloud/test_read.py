"""read_scan: every contract format reads; each bad input raises its named error."""

from __future__ import annotations

import json
import pickle

import cv2
import numpy as np
import open3d as o3d
import pytest

import point_cloud.errors as errors_module
from point_cloud.errors import (
    CoordinateRangeError,
    CorruptScanError,
    IdentityConflictError,
    IdentityError,
    NoFinitePointsError,
    ScanError,
    ScanNotFoundError,
    ScanShapeError,
    SidecarError,
    TooFewPointsError,
    UnsupportedFormatError,
)
from point_cloud.heightmap_io import write_heightmap
from point_cloud.read import read_scan
from point_cloud.types import HeightMap, ScanIdentity
from point_cloud.write import write_scan

STEM = "P-0042_W7_t4"


def o3d_cloud(points: np.ndarray, with_extras: bool = True) -> o3d.geometry.PointCloud:
    pc = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(points.astype(np.float64)))
    if with_extras:
        pc.colors = o3d.utility.Vector3dVector(np.full_like(points, 0.5, dtype=np.float64))
        pc.normals = o3d.utility.Vector3dVector(np.tile([0.0, 0.0, 1.0], (len(points), 1)))
    return pc


# --------------------------------------------------------------------------- formats
@pytest.mark.parametrize(("ext", "ascii_"), [(".ply", True), (".ply", False), (".pcd", True),
                                             (".pcd", False)])
def test_open3d_files_with_extra_properties_read(tmp_path, small_cloud, ext, ascii_):
    path = tmp_path / f"{STEM}{ext}"
    assert o3d.io.write_point_cloud(path, o3d_cloud(small_cloud.points), write_ascii=ascii_)
    cloud = read_scan(path, min_points=1)
    assert cloud.points.shape == (2000, 3)
    # open3d's own ascii PLY writer keeps 6 significant digits (%g); the rest is exact
    rel = 5e-6 if (ascii_ and ext == ".ply") else 0.0
    assert np.all(np.abs(cloud.points - small_cloud.points)
                  <= rel * np.abs(small_cloud.points) + (1e-6 if rel else 0.0))
    assert cloud.identity == ScanIdentity("P-0042", "W7", 4)


@pytest.mark.parametrize("ext", [".ply", ".pcd"])
def test_binary_files_are_read_by_numpy_with_open3d_values(tmp_path, small_cloud, ext,
                                                           monkeypatch):
    path = tmp_path / f"{STEM}{ext}"
    assert o3d.io.write_point_cloud(path, o3d_cloud(small_cloud.points), write_ascii=False)
    expected = np.asarray(o3d.io.read_point_cloud(str(path)).points).astype(np.float32)

    def refuse(*_args: object, **_kw: object) -> None:
        raise AssertionError("open3d reader used for a plain binary layout")

    monkeypatch.setattr(o3d.io, "read_point_cloud", refuse)
    cloud = read_scan(path, min_points=1)
    np.testing.assert_array_equal(cloud.points, expected)   # extra colours/normals skipped


def test_text_with_header_and_extra_columns(tmp_path, small_cloud):
    p = small_cloud.points
    intensity = np.arange(len(p))[:, None]
    path = tmp_path / f"{STEM}.txt"
    np.savetxt(path, np.hstack([p, intensity]), fmt="%.9g", delimiter="\t",
               header="X Y Z intensity", comments="")
    cloud = read_scan(path, min_points=1)
    assert cloud.points.tobytes() == p.tobytes()


def test_csv_with_extra_columns_and_no_header(tmp_path, small_cloud):
    path = tmp_path / f"{STEM}.csv"
    np.savetxt(path, np.hstack([small_cloud.points, small_cloud.points[:, :1]]), fmt="%.9g",
               delimiter=",")
    assert read_scan(path, min_points=1).points.tobytes() == small_cloud.points.tobytes()


def test_npy_of_doubles_and_structured_arrays(tmp_path, small_cloud):
    path = tmp_path / "d.npy"
    np.save(path, small_cloud.points.astype(np.float64))
    assert np.array_equal(read_scan(path, min_points=1).points, small_cloud.points)
    rec = np.zeros(len(small_cloud), dtype=[("x", "f4"), ("y", "f4"), ("z", "f4"), ("i", "u2")])
    for k, name in enumerate("xyz"):
        rec[name] = small_cloud.points[:, k]
    np.save(path, rec)
    assert np.array_equal(read_scan(path, min_points=1).points, small_cloud.points)


def test_npz_with_a_single_unnamed_array(tmp_path, small_cloud):
    path = tmp_path / "s.npz"
    np.savez(path, small_cloud.points)
    assert np.array_equal(read_scan(path, min_points=1).points, small_cloud.points)


def grid_sidecar(path, **over) -> None:
    data = {"x_pitch_mm": 0.1, "y_pitch_mm": 0.05, "z_scale_mm": 0.001, "z_offset_mm": -5.0,
            "invalid_value": 0}
    data.update(over)
    path.with_suffix(".json").write_text(json.dumps(data))


@pytest.mark.parametrize("ext", [".png", ".tiff", ".npy"])
def test_profile_grid_from_a_line_profiler(tmp_path, ext):
    grid = np.zeros((40, 60), np.uint16)
    grid[:, 10:50] = 5000 + np.arange(40)[:, None]          # z = counts * 1 µm - 5 mm
    grid[3, 20] = 0                                          # one invalid cell
    path = tmp_path / f"{STEM}{ext}"
    if ext == ".npy":
        np.save(path, grid)
    else:
        assert cv2.imwrite(str(path), grid)
    grid_sidecar(path)
    pts = read_scan(path, min_points=1).points
    assert len(pts) == 40 * 40 - 1
    assert pts[:, 0].min() == 0.0
    assert pts[:, 0].max() == pytest.approx(39 * 0.1)        # rows = profiles along X
    assert pts[:, 1].min() == pytest.approx(10 * 0.05)       # cols = points along Y
    assert pts[:, 1].max() == pytest.approx(49 * 0.05)
    row39 = pts[np.isclose(pts[:, 0], 3.9)]
    assert np.allclose(row39[:, 2], (5000 + 39) * 0.001 - 5.0, atol=1e-6)


def test_float_grid_with_nan_invalid(tmp_path):
    grid = np.full((20, 30), np.nan, np.float32)
    grid[5:15] = 1.25
    path = tmp_path / "g.npy"
    np.save(path, grid)
    grid_sidecar(path, z_scale_mm=1.0, z_offset_mm=0.0, invalid_value=None)
    pts = read_scan(path, min_points=1).points
    assert len(pts) == 10 * 30
    assert np.all(pts[:, 2] == 1.25)


def test_nan_points_are_dropped(tmp_path, small_cloud):
    pts = small_cloud.points.copy()
    pts[::4, 2] = np.nan
    pts[1::4, 0] = np.inf
    np.save(tmp_path / "n.npy", pts)
    cloud = read_scan(tmp_path / "n.npy", min_points=1)
    assert len(cloud) == 1000
    assert np.isfinite(cloud.points).all()


def test_a_point_beyond_the_coordinate_limit_is_dropped_and_a_cloud_of_them_refused(
        tmp_path, small_cloud):
    """The read's fast path (every point fine) must fall through for one point out of range,
    at either end, and name the field and the limit when none is in range."""
    pts = small_cloud.points.copy()
    pts[5, 1] = 2.5e6           # beyond +1e6 mm
    pts[9, 2] = -2.5e6          # and beyond -1e6 mm
    np.save(tmp_path / "far.npy", pts)
    cloud = read_scan(tmp_path / "far.npy", min_points=1)
    assert len(cloud) == len(pts) - 2
    assert np.abs(cloud.points).max() < 1e6
    np.save(tmp_path / "all_far.npy", np.full((50, 3), 3e6, np.float32))
    with pytest.raises(CoordinateRangeError) as err:
        read_scan(tmp_path / "all_far.npy", min_points=1)
    assert "all_far.npy" in str(err.value)
    assert "points" in str(err.value)
    assert "within +-1e+06 mm" in str(err.value)


# --------------------------------------------------------------------------- identity
def test_identity_from_the_name_only(tmp_path, small_cloud):
    np.save(tmp_path / "SN-9_A.1_t11.npy", small_cloud.points)
    assert read_scan(tmp_path / "SN-9_A.1_t11.npy", min_points=1).identity == ScanIdentity(
        "SN-9", "A.1", 11)


def test_identity_from_a_nested_sidecar_and_none_without_sources(tmp_path, small_cloud):
    np.save(tmp_path / "scan.npy", small_cloud.points)
    assert read_scan(tmp_path / "scan.npy", min_points=1).identity is None
    (tmp_path / "scan.json").write_text(json.dumps(
        {"identity": {"part_serial": "X1", "weld_id": "W2", "weld_type": 7}}))
    assert read_scan(tmp_path / "scan.npy", min_points=1).identity == ScanIdentity("X1", "W2", 7)


def test_explicit_identity_fills_in_and_must_agree(tmp_path, small_cloud):
    np.save(tmp_path / "scan.npy", small_cloud.points)
    ident = ScanIdentity("X1", "W2", 3)
    assert read_scan(tmp_path / "scan.npy", identity=ident, min_points=1).identity == ident
    np.save(tmp_path / f"{STEM}.npy", small_cloud.points)
    with pytest.raises(IdentityConflictError) as err:
        read_scan(tmp_path / f"{STEM}.npy", identity=ident, min_points=1)
    msg = str(err.value)
    assert STEM in msg
    assert "'X1'" in msg
    assert "'P-0042'" in msg


def test_sidecar_contradicting_the_name(tmp_path, small_cloud):
    path = tmp_path / f"{STEM}.npy"
    np.save(path, small_cloud.points)
    path.with_suffix(".json").write_text(json.dumps({"weld_type": 5}))
    with pytest.raises(IdentityConflictError, match=r"P-0042_W7_t4\.npy: weld_type") as err:
        read_scan(path, min_points=1)
    assert "5" in str(err.value)
    assert "4" in str(err.value)
    assert err.value.reason == "identity_conflict"


def test_partial_or_invalid_identity(tmp_path, small_cloud):
    np.save(tmp_path / "scan.npy", small_cloud.points)
    (tmp_path / "scan.json").write_text(json.dumps({"weld_type": 4}))
    with pytest.raises(IdentityError, match="no part_serial, weld_id"):
        read_scan(tmp_path / "scan.npy", min_points=1)
    np.save(tmp_path / "P1_W1_t0.npy", small_cloud.points)
    with pytest.raises(IdentityError,
                       match=r"P1_W1_t0\.npy: file name weld_type: expected an integer 1-9999"):
        read_scan(tmp_path / "P1_W1_t0.npy", min_points=1)
    (tmp_path / "scan.json").write_text(json.dumps(
        {"part_serial": "a_b", "weld_id": "W", "weld_type": 4}))
    with pytest.raises(IdentityError, match="part_serial"):
        read_scan(tmp_path / "scan.npy", min_points=1)


# --------------------------------------------------------------------------- bad input
def test_missing_file(tmp_path):
    with pytest.raises(ScanNotFoundError, match=r"nothing_t4\.ply"):
        read_scan(tmp_path / "nothing_t4.ply")


def test_unknown_extension(tmp_path):
    (tmp_path / "scan.las").write_bytes(b"LASF")
    with pytest.raises(UnsupportedFormatError, match=r"scan\.las: extension: expected one of"):
        read_scan(tmp_path / "scan.las")


@pytest.mark.parametrize(("fmt", "ext", "field"), [
    ("ply", ".ply", "body: expected at least 24146 bytes"),
    ("pcd", ".pcd", "body: expected at least 24170 bytes"),
    ("npy", ".npy", "npy: expected a complete NPY array"),
    ("npz", ".npz", "npz: expected a complete NPZ archive")])
def test_truncated_binary_files(tmp_path, small_cloud, fmt, ext, field):
    path = write_scan(small_cloud, tmp_path / f"cut{ext}", fmt)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(CorruptScanError, match=rf"cut\{ext}: {field}"):
        read_scan(path, min_points=1)


def test_truncated_ascii_ply(tmp_path, small_cloud):
    path = tmp_path / "a.ply"
    o3d.io.write_point_cloud(path, o3d_cloud(small_cloud.points, False), write_ascii=True)
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-500]))
    with pytest.raises(CorruptScanError, match=r"a\.ply: body: expected 2000 data lines"):
        read_scan(path, min_points=1)


def test_not_a_ply_at_all(tmp_path):
    (tmp_path / "fake.ply").write_text("hello\nworld\nend_header\n")
    with pytest.raises(CorruptScanError, match=r"fake\.ply: magic"):
        read_scan(tmp_path / "fake.ply")


def test_ply_without_xyz(tmp_path):
    (tmp_path / "v.ply").write_text("ply\nformat ascii 1.0\nelement vertex 1\nproperty float u\n"
                                    "end_header\n1\n")
    with pytest.raises(ScanShapeError, match=r"v\.ply: vertex properties"):
        read_scan(tmp_path / "v.ply")


def test_corrupt_text(tmp_path, small_cloud):
    path = tmp_path / "bad.xyz"
    lines = [f"{x} {y} {z}\n" for x, y, z in small_cloud.points[:50]]
    lines[20] = "1.0 oops 2.0\n"
    path.write_text("".join(lines))
    with pytest.raises(CorruptScanError, match=r"bad\.xyz: text: expected numbers"):
        read_scan(path, min_points=1)


@pytest.mark.parametrize("ext", [".npy", ".csv"])
def test_wrong_shape_n_by_2(tmp_path, small_cloud, ext):
    path = tmp_path / f"flat{ext}"
    if ext == ".npy":
        np.save(path, small_cloud.points[:, :2])
    else:
        np.savetxt(path, small_cloud.points[:, :2], delimiter=",")
    with pytest.raises(ScanShapeError, match=rf"flat\{ext}") as err:
        read_scan(path, min_points=1)
    assert "(N, 3)" in str(err.value) or "at least 3" in str(err.value)
    assert err.value.reason == "bad_shape"


def test_all_nan(tmp_path):
    np.save(tmp_path / "nan.npy", np.full((100, 3), np.nan, np.float32))
    with pytest.raises(NoFinitePointsError, match=r"nan\.npy: points: .* 100 points, all NaN"):
        read_scan(tmp_path / "nan.npy", min_points=1)


def test_too_few_points_default_minimum(tmp_path, small_cloud):
    np.save(tmp_path / "few.npy", small_cloud.points[:999])
    with pytest.raises(TooFewPointsError, match=r"few\.npy: points: expected at least 1000"):
        read_scan(tmp_path / "few.npy")
    assert len(read_scan(tmp_path / "few.npy", min_points=999)) == 999


def test_grid_image_without_or_with_a_broken_sidecar(tmp_path):
    path = tmp_path / "g.png"
    cv2.imwrite(str(path), np.ones((10, 10), np.uint16))
    with pytest.raises(SidecarError, match=r"g\.json: x_pitch_mm"):
        read_scan(path, min_points=1)
    grid_sidecar(path, y_pitch_mm=-1)
    with pytest.raises(SidecarError, match=r"g\.json: y_pitch_mm: expected a number > 0"):
        read_scan(path, min_points=1)
    path.with_suffix(".json").write_text(json.dumps({"x_pitch_mm": 0.1}))
    with pytest.raises(SidecarError, match="y_pitch_mm"):
        read_scan(path, min_points=1)
    path.with_suffix(".json").write_text("{not json")
    with pytest.raises(SidecarError, match=r"g\.json: json"):
        read_scan(path, min_points=1)


def test_corrupt_grid_image(tmp_path):
    path = tmp_path / "g.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    grid_sidecar(path)
    with pytest.raises(CorruptScanError, match=r"g\.png: image"):
        read_scan(path, min_points=1)


def test_height_map_png_is_refused_with_a_hint(tmp_path):
    hm = HeightMap(z=np.ones((8, 10), np.float32), valid=np.ones((8, 10), bool), mm_per_px=0.2)
    png = write_heightmap(hm, tmp_path / "map.png")
    with pytest.raises(UnsupportedFormatError, match="read_heightmap") as err:
        read_scan(png)
    assert "map.png" in str(err.value)


def _scan_error_classes(cls: type[ScanError]) -> list[type[ScanError]]:
    return [cls] + [c for sub in cls.__subclasses__() for c in _scan_error_classes(sub)]


@pytest.mark.parametrize("cls", [c for c in _scan_error_classes(ScanError)
                                 if c.__module__ == errors_module.__name__])
def test_every_scan_error_survives_a_process_boundary(cls):
    # Generator workers raise these; an error that cannot be unpickled killed the pool's
    # result thread and hung `synth-defects generate`.
    err = cls("scan.ply", "plate plane", "a plane", "none")
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is cls
    assert (str(back), back.path, back.field, back.expected, back.found, back.reason) == (
        str(err), "scan.ply", "plate plane", "a plane", "none", cls.reason)
