"""Evidence files for FAIL/ERROR inspections: the height map (heightmap_io) and an overlay."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from inspector.config import ArtifactSettings
from inspector.inspection import InspectionResult
from inspector.review.overlay import write_overlay
from point_cloud.heightmap_io import write_heightmap


def write_artifacts(settings: ArtifactSettings, inspection_id: str,
                    result: InspectionResult) -> dict[str, Path]:
    """kind -> file for the decisions listed in ``keep_for`` (nothing without a map)."""
    v = result.verdict
    if result.heightmap is None or v.decision not in settings.keep_for:
        return {}
    folder = settings.dir / datetime.now(UTC).strftime("%Y-%m-%d")
    folder.mkdir(parents=True, exist_ok=True)
    png = write_heightmap(result.heightmap, folder / f"{inspection_id}.png", preview=False,
                          extra={"inspection_id": inspection_id, "verdict": v.to_dict()})
    overlay = folder / f"{inspection_id}.overlay.png"
    write_overlay(str(overlay), result.heightmap, v.anomaly_map, v.location_mm)
    return {"heightmap": png, "overlay": overlay}
