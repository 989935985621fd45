"""Fixtures for the point_cloud tests (shared by several test modules: only ADD fixtures)."""

from __future__ import annotations

import numpy as np
import pytest

from point_cloud.simulator import SimulatedScan, simulate_weld
from point_cloud.types import Cloud, ScanIdentity


@pytest.fixture
def identity() -> ScanIdentity:
    """A valid contract identity: stem ``P-0042_W7_t4``."""
    return ScanIdentity(part_serial="P-0042", weld_id="W7", weld_type=4)


@pytest.fixture
def small_cloud(identity: ScanIdentity) -> Cloud:
    """2000 random float32 points with awkward values (tiny, huge, negative) and an identity."""
    rng = np.random.default_rng(0)
    pts = rng.normal(0.0, 20.0, (2000, 3)).astype(np.float32)
    pts[0] = (1e-7, -123456.789, 3.4e4)
    pts[1] = (0.1, 0.2, 0.3)
    return Cloud(points=pts, identity=identity)


@pytest.fixture(scope="session")
def sim_type4() -> SimulatedScan:
    """A simulated type-4 weld (lower plate), 200k samples, seed 7 (read-only: do not mutate)."""
    return simulate_weld(4, 7, points=200_000)
