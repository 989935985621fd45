"""Fixtures for the synthetic-defect tests: analytic good welds on each type's ROI grid."""

from __future__ import annotations

import numpy as np
import pytest

from point_cloud.config import WeldTypeProfile, weld_type_profile
from point_cloud.types import HeightMap, ScanIdentity


def analytic_weld(weld_type: int, *, seed: int = 0, noise_mm: float = 0.0,
                  plate_visible: bool = True, y_offset_mm: float = 0.0) -> HeightMap:
    """A rounded 6 mm x 2 mm bead with light ripples on the type's ROI grid (z above plate).

    Line types: the bead runs along X over ``bead_length_mm`` with rounded ends; type 7: a
    square path. ``plate_visible=False`` removes the plate plane (isolated maps).
    """
    prof: WeldTypeProfile = weld_type_profile(weld_type)
    geo, roi = prof.geometry, prof.roi
    rows, cols = roi.shape_px
    mpp = roi.mm_per_px
    origin = (-0.5 * roi.length_mm + 0.5 * mpp, 0.5 * roi.width_mm - 0.5 * mpp)
    r, c = np.indices((rows, cols))
    x = origin[0] + c * mpp
    y = origin[1] - r * mpp
    half_w, h = 0.5 * geo.bead_width_mm, geo.bead_height_mm
    if geo.path == "line":
        t = y - y_offset_mm
        half_len = 0.5 * geo.bead_length_mm
        along = np.clip(np.abs(x) - (half_len - half_w), 0, None)  # rounded ends
        d = np.hypot(t, along)
    else:
        a = 0.5 * geo.square_side_mm
        d = np.abs(np.maximum(np.abs(x), np.abs(y - y_offset_mm)) - a)
    ripple = 1.0 + 0.03 * np.sin(2 * np.pi * x / 1.5)
    z = np.where(d < half_w, h * np.sqrt(np.clip(1 - (d / half_w) ** 2, 0, 1)) * ripple, 0.0)
    rng = np.random.default_rng(seed)
    z = z + rng.normal(0, noise_mm, z.shape) if noise_mm else z
    valid = np.ones(z.shape, bool) if plate_visible else d < half_w
    return HeightMap(z=z.astype(np.float32), valid=valid, mm_per_px=mpp, origin_mm=origin,
                     identity=ScanIdentity("P1", f"W{weld_type}", weld_type))




_SIM_CACHE: dict[tuple[int, int], HeightMap] = {}


def simulated_good(weld_type: int, seed: int = 11) -> HeightMap:
    """A simulated good weld (~300k points) through the real simulator and pipeline, cached."""
    from synth_defects.sources import simulate_map

    key = (weld_type, seed)
    if key not in _SIM_CACHE:
        _SIM_CACHE[key] = simulate_map(weld_type, seed, 300_000, weld_type_profile(weld_type))
    return _SIM_CACHE[key].with_z(_SIM_CACHE[key].z)


@pytest.fixture
def make_weld():
    """The analytic good-weld builder (see :func:`analytic_weld`)."""
    return analytic_weld


@pytest.fixture
def sim_good():
    """Simulated good welds by type (see :func:`simulated_good`)."""
    return simulated_good
