"""Builders for store contents: result records and inspections with real artifact files."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
from sqlalchemy.orm import Session, sessionmaker

from inspector.config import ArtifactSettings
from inspector.inspection import InspectionResult
from inspector.service.artifacts import write_artifacts
from inspector.service.messages import result_message
from inspector.store.outbox import InspectionRecord, record_inspection
from inspector.verdict import Measurement, Verdict
from point_cloud.config import weld_type_profile
from point_cloud.types import HeightMap, ScanIdentity


def make_record(n: int, decision: str = "PASS", artifacts: dict[str, Path] | None = None, *,
                verdict: Verdict | None = None, weld_type: int = 3,
                when: datetime | None = None) -> InspectionRecord:
    """The store record of inspection ``n`` (id ``n`` in hex, serial ``P<n>``)."""
    msg = result_message(inspection_id=f"{n:032x}", line="L1", station="S1",
                         scan_name=f"P{n}_W1_t{weld_type}.npy",
                         identity=ScanIdentity(f"P{n}", "W1", weld_type),
                         verdict=verdict or Verdict(decision, 0.1 * (n % 10), 0.5),  # type: ignore[arg-type]
                         timings_ms={"total": 1.0}, now=when)
    return InspectionRecord(msg, "welds/L1/S1/result", artifacts or {})


def bead_heightmap(weld_type: int = 3, lump_at_mm: tuple[float, float] | None = None,
                   valid_fraction: float = 0.95) -> HeightMap:
    """A type's ROI with a 2 mm Gaussian bead along X, an optional 1.5 mm lump, a shadow strip."""
    roi = weld_type_profile(weld_type).roi
    rows, cols = roi.shape_px
    origin = (-roi.length_mm / 2, roi.width_mm / 2)
    x = origin[0] + np.arange(cols, dtype=np.float32) * roi.mm_per_px
    y = origin[1] - np.arange(rows, dtype=np.float32)[:, None] * roi.mm_per_px
    z = 2.0 * np.exp(-(y ** 2) / (2 * 2.0 ** 2)) + 0.0 * x
    if lump_at_mm is not None:
        z += 1.5 * np.exp(-((x - lump_at_mm[0]) ** 2 + (y - lump_at_mm[1]) ** 2) / 2.0)
    valid = np.ones((rows, cols), bool)
    valid[: round(rows * (1 - valid_fraction))] = False          # shadow along the top edge
    return HeightMap(z.astype(np.float32), valid, roi.mm_per_px, origin)


def add_inspection(factory: sessionmaker[Session], artifacts_dir: Path, n: int,
                   when: datetime, *, decision: str = "PASS", weld_type: int = 3,
                   defect: str | None = None, size_mm: float | None = None,
                   limit_mm: float = 1.5, score: float = 0.2,
                   keep_artifacts: bool | None = None) -> str:
    """Record inspection ``n`` as the daemon would: artifacts (real PNGs) for FAIL/ERROR."""
    location = (5.0, 0.0) if decision == "FAIL" else None
    hm = bead_heightmap(weld_type, location, 0.2 if decision == "ERROR" else 0.95)
    anomaly = None
    if location is not None:
        xs, ys = hm.xy_of(*np.indices(hm.shape))
        anomaly = np.exp(-((xs - location[0]) ** 2 + (ys - location[1]) ** 2) / 4.0)
    v = Verdict(decision, score, 0.5, {"classifier": score, "siamese": score / 2,  # type: ignore[arg-type]
                                       "anomaly": score * 1.5},
                defect=defect, defect_probs={defect: 0.9} if defect else {},
                location_mm=location,
                measurement=Measurement("ball_diameter", size_mm, limit_mm) if size_mm else None,
                anomaly_map=None if anomaly is None else anomaly.astype(np.float32),
                reason="capture failure: too few valid pixels" if decision == "ERROR" else None,
                bundle_version=f"t{weld_type}-2026.11.1")
    identity = ScanIdentity(f"P{n}", "W1", weld_type)
    keep = decision in ("FAIL", "ERROR") if keep_artifacts is None else keep_artifacts
    files = write_artifacts(ArtifactSettings(dir=artifacts_dir, keep_for=[decision]),
                            f"{n:032x}", InspectionResult(identity, hm, v)) if keep else {}
    assert record_inspection(factory, make_record(n, artifacts=files, verdict=v,
                                                  weld_type=weld_type, when=when))
    return f"{n:032x}"
