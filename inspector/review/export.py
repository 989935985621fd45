"""Export reviewed inspections as a dataset synth-defects and weld-train can ingest.

Follows the dataset contract (``weld-dataset/1``): ``dataset.json``, ``manifest.jsonl``
sorted by id, and ``<type>/<good|bad>/<defect>/<id>.png|.json|.mask.png``. A
``false-reject`` becomes a good sample ("none"); a ``confirmed-defect`` a bad sample of the
inspection's defect class.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from inspector.review.queries import VERDICTS, ReviewError, latest_verdict
from inspector.store.models import Inspection
from point_cloud.config import weld_type_profile
from point_cloud.heightmap_io import read_heightmap, write_heightmap
from synth_defects.classes import BAD_CLASSES
from synth_defects.dataset import FORMAT, sample_paths, write_card, write_manifest

log = logging.getLogger(__name__)

GENERATOR_VERSION = "inspector-review/1"


def _label(insp: Inspection, verdict: str) -> tuple[str, str] | None:
    if verdict == "false-reject":
        return "good", "none"
    if insp.defect in BAD_CLASSES:
        return "bad", str(insp.defect)
    return None


def export_reviewed(factory: sessionmaker[Session], verdict: str, out: Path,
                    types_file: Path | None = None) -> list[dict[str, Any]]:
    """Write the dataset for inspections whose newest review is ``verdict``; returns records."""
    if verdict not in VERDICTS:
        raise ReviewError(f"verdict: expected one of {VERDICTS}, found {verdict!r}")
    with factory() as s:
        rows = s.scalars(select(Inspection).options(selectinload(Inspection.reviews),
                                                    selectinload(Inspection.artifacts))
                         .order_by(Inspection.id)).all()
    records = []
    for insp in rows:
        if latest_verdict(insp) != verdict or insp.weld_type is None:
            continue
        rec = _export_one(insp, verdict, out, types_file)
        if rec is not None:
            records.append(rec)
    write_index(out, records, {"source": "inspector review export", "verdict": verdict,
                               "types": sorted({r["weld_type"] for r in records})})
    return records


def _export_one(insp: Inspection, verdict: str, out: Path,
                types_file: Path | None) -> dict[str, Any] | None:
    label = _label(insp, verdict)
    art = next((a for a in insp.artifacts if a.kind == "heightmap"), None)
    if label is None or art is None or not Path(art.path).is_file():
        log.warning("inspection %s: skipped (no height map artifact or no defect class)", insp.id)
        return None
    assert insp.weld_type is not None
    hm = read_heightmap(art.path)
    want = weld_type_profile(insp.weld_type, types_file).roi.shape_px
    if hm.shape != want:
        log.warning("inspection %s: map %s is not the type's %s; skipped", insp.id, hm.shape, want)
        return None
    sample_id = f"t{insp.weld_type}-r{insp.id[:16]}"
    png, mask = sample_paths(insp.weld_type, label[0], label[1], sample_id)
    rec: dict[str, Any] = {
        "id": sample_id, "path": png, "mask": mask, "weld_type": insp.weld_type,
        "label": label[0], "defect": label[1], "params": {}, "source": insp.id,
        "split_key": insp.id, "seed": 0, "generator_version": GENERATOR_VERSION,
    }
    write_heightmap(hm, out / rec["path"], preview=False, extra={"record": rec})
    cv2.imwrite(str(out / rec["mask"]), np.zeros(hm.shape, np.uint8))
    return rec


def write_index(out: Path, records: list[dict[str, Any]], config: dict[str, Any]) -> None:
    """``manifest.jsonl`` (sorted by id) and the ``dataset.json`` card with its fingerprint."""
    out.mkdir(parents=True, exist_ok=True)
    fp = write_manifest(out, records)
    write_card(out, {"format": FORMAT, "generator_version": GENERATOR_VERSION,
                     "config": config, "fingerprint": fp})
