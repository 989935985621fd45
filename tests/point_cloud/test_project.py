"""Projection of analytic surfaces onto the ROI grid (max-Z / mean-Z per cell)."""

from __future__ import annotations

import numpy as np
import pytest

from point_cloud.config import Roi
from point_cloud.project import Grid, project


def _grid_points(rng, x_half, y_half, n):
    xy = rng.uniform((-x_half, -y_half), (x_half, y_half), (n, 2))
    return xy


def test_grid_pixel_centres_follow_the_heightmap_convention():
    grid = Grid.for_roi(Roi(length_mm=50, width_mm=16, mm_per_px=0.2))
    assert (grid.rows, grid.cols) == (80, 250)
    # Pixel (0, 0) centre is the north-west corner cell; the grid is centred on the origin.
    assert grid.origin_mm == pytest.approx((-24.9, 7.9))
    m = grid.pixel_matrix()
    u, v, _ = m @ np.array([-24.9, 7.9, 0.0, 1.0])
    assert (u, v) == pytest.approx((0.5, 0.5))


def test_sloped_plane_projects_within_0p05_mm_at_known_pixels():
    rng = np.random.default_rng(1)
    xy = _grid_points(rng, 26, 9, 400_000)
    z = 0.1 * xy[:, 0] - 0.05 * xy[:, 1] + 3.0
    hm = project(np.column_stack([xy, z]).astype(np.float32), Roi(), mm_per_px=0.2, how="mean")
    assert hm.shape == (80, 250)
    assert hm.valid.all()
    rows, cols = np.array([0, 40, 79, 10]), np.array([0, 125, 249, 200])
    x, y = hm.xy_of(rows, cols)
    expected = 0.1 * x - 0.05 * y + 3.0
    assert np.abs(hm.z[rows, cols] - expected).max() < 0.05
    # Max-Z: the cell's highest point lies at most half a cell uphill: slope 0.1 * 0.1 mm.
    hmax = project(np.column_stack([xy, z]).astype(np.float32), Roi())
    assert np.abs(hmax.z[rows, cols] - expected).max() < 0.05
    assert (hmax.z >= hm.z - 1e-5).all()


def test_hemisphere_max_projection_matches_the_surface():
    rng = np.random.default_rng(2)
    xy = _grid_points(rng, 25, 8, 500_000)
    r2 = (xy**2).sum(axis=1)
    keep = r2 < 36.0
    z = np.sqrt(36.0 - r2[keep])
    hm = project(np.column_stack([xy[keep], z]).astype(np.float32), Roi(), mm_per_px=0.2)
    cx, cy = hm.rc_of(0.0, 0.0)
    # centre pixel (around x = y = 0) holds the dome top, 6 mm, within 0.05 mm
    assert hm.z[int(cx), int(cy)] == pytest.approx(6.0, abs=0.05)
    x, y = hm.xy_of(*np.nonzero(hm.valid))
    # Max-Z truth of a cell: the dome at the cell point nearest the axis.
    half = hm.mm_per_px / 2
    nx = np.clip(0.0, x - half, x + half)
    ny = np.clip(0.0, y - half, y + half)
    rr = nx**2 + ny**2
    inner = rr < 9.0  # slopes up to 0.7: the nearest sample is within 0.05 mm of the max
    truth = np.sqrt(36.0 - rr[inner])
    assert np.abs(hm.z[hm.valid][inner] - truth).max() < 0.05
    assert np.median(np.abs(hm.z[hm.valid][inner] - truth)) < 0.01
    # outside the dome: no points -> invalid and exactly 0
    rows, cols = np.nonzero(~hm.valid)
    ox, oy = hm.xy_of(rows, cols)
    assert (ox**2 + oy**2 > 34.0).all()
    assert (hm.z[~hm.valid] == 0).all()
    assert 0.05 < hm.valid_fraction < 0.2


def test_points_outside_the_roi_and_non_finite_points_are_ignored():
    pts = np.array([[0.1, 0.1, 1.0], [0.15, 0.15, 2.0], [30, 0, 9.0], [0, 9, 9.0],
                    [np.nan, 0, 9.0], [0, 0, np.inf], [0, np.nan, 5.0]], dtype=np.float32)
    hm = project(pts, Roi(length_mm=10, width_mm=4, mm_per_px=0.2))
    assert hm.valid.sum() == 1
    assert hm.z.max() == pytest.approx(2.0)
    mean = project(pts, Roi(length_mm=10, width_mm=4, mm_per_px=0.2), how="mean")
    assert mean.z.max() == pytest.approx(1.5)


def test_unknown_reduction_is_rejected():
    with pytest.raises(ValueError, match="reduce"):
        project(np.zeros((3, 3), np.float32), Roi(), how="median")  # type: ignore[arg-type]
