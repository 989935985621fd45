"""The quality gate on hand-made height maps (numbers from the type profiles)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inspector import quality_gate
from inspector.inspection import inspect_scan
from point_cloud.config import WeldTypeProfile, weld_type_profile
from point_cloud.errors import NoBeadFoundError
from point_cloud.types import Cloud, HeightMap, ScanIdentity


def bead_map(weld_type: int, height_mm: float = 2.0, plate: bool = True) -> HeightMap:
    """A straight bead (6 mm wide) along the map centre; plate cells valid when ``plate``."""
    prof = weld_type_profile(weld_type)
    rows, cols = prof.roi.shape_px
    mm = prof.roi.mm_per_px
    hm = HeightMap(np.zeros((rows, cols), np.float32), np.ones((rows, cols), bool), mm,
                   (-(cols - 1) / 2 * mm, (rows - 1) / 2 * mm))
    r, c = np.indices(hm.shape)
    x, y = hm.xy_of(r, c)
    on_bead = (np.abs(y) <= 3.0) & (np.abs(x) <= prof.geometry.bead_length_mm / 2)
    z = np.where(on_bead, height_mm * np.sqrt(np.clip(1 - (y / 3.0) ** 2, 0, 1)), 0.0)
    return hm.with_z(z.astype(np.float32), valid=on_bead | plate)


def test_a_good_bead_passes_the_gate() -> None:
    assert quality_gate.check(bead_map(4), weld_type_profile(4)) is None
    assert quality_gate.check(bead_map(3, plate=False), weld_type_profile(3)) is None


def test_mostly_missing_data_is_a_capture_failure() -> None:
    hm = bead_map(4)
    valid = hm.valid.copy()
    valid[:, : int(valid.shape[1] * 0.6)] = False          # 60 % lost
    v = quality_gate.check(hm.with_z(hm.z, valid), weld_type_profile(4))
    assert v is not None
    assert (v.decision, v.defect) == ("ERROR", "capture_failure")
    assert "0.40 < 0.50" in str(v.reason)


def test_a_plate_without_bead_is_no_weld() -> None:
    v = quality_gate.check(bead_map(4, height_mm=0.3), weld_type_profile(4))
    assert v is not None
    assert (v.decision, v.defect) == ("FAIL", "no_weld")


def test_isolated_beads_are_judged_on_the_bead_band() -> None:
    hm = bead_map(3, plate=False)
    assert hm.valid.mean() < 0.5                           # whole map: mostly empty by design
    assert quality_gate.valid_fraction(hm, weld_type_profile(3)) == pytest.approx(1.0, abs=0.05)


def test_inspect_scan_turns_no_bead_into_a_fail(tmp_path: Path) -> None:
    scan = tmp_path / "P1_W1_t4.npy"
    rng = np.random.default_rng(0)
    np.save(scan, rng.uniform(-20, 20, (5000, 3)).astype(np.float32) * [1, 0.4, 0.01])

    def projector(cloud: Cloud, profile: WeldTypeProfile) -> HeightMap:
        raise NoBeadFoundError(cloud.source, "bead", "a ridge above the plate", "none")

    res = inspect_scan(scan, {4: object()}, projector=projector)  # type: ignore[dict-item]
    assert res.identity == ScanIdentity("P1", "W1", 4)
    assert (res.verdict.decision, res.verdict.defect) == ("FAIL", "no_weld")
    assert res.heightmap is None
    assert "no_bead" in str(res.verdict.reason)
    assert set(res.timings_ms) == {"read", "project", "total"}
