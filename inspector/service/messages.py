"""The result message (``inspector/schemas/result.schema.json``) and the idempotency key."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from inspector.verdict import Verdict
from point_cloud.types import ScanIdentity

SCHEMA_VERSION = "weld-result/1"
_CHUNK = 1 << 20


def inspection_id(scan: Path, name: str, identity: ScanIdentity | None) -> str:
    """Idempotency key: the same file (name + bytes + trigger identity) gives the same id."""
    h = hashlib.sha256()
    h.update(name.encode())
    h.update(b"\0" + (identity.stem() if identity else "").encode() + b"\0")
    with scan.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()[:32]


def result_message(*, inspection_id: str, line: str, station: str, scan_name: str,
                   identity: ScanIdentity | None, verdict: Verdict,
                   timings_ms: dict[str, float], now: datetime | None = None) -> dict[str, Any]:
    """The JSON-ready result published on ``<prefix>/<line>/<station>/result``."""
    v = verdict.to_dict()
    return {
        "schema": SCHEMA_VERSION,
        "inspection_id": inspection_id,
        "timestamp": (now or datetime.now(UTC)).isoformat(),
        "line": line,
        "station": station,
        "scan": scan_name,
        "part_serial": identity.part_serial if identity else None,
        "weld_id": identity.weld_id if identity else None,
        "weld_type": identity.weld_type if identity else None,
        "decision": v["decision"],
        "score": float(v["score"]),
        "threshold": float(v["threshold"]),
        "member_scores": {k: float(x) for k, x in v["member_scores"].items()},
        "defect": v["defect"],
        "defect_probs": {k: float(x) for k, x in v["defect_probs"].items()},
        "location_mm": [float(x) for x in v["location_mm"]] if v["location_mm"] else None,
        "size": v["measurement"],
        "reason": v["reason"],
        "bundle_version": v["bundle_version"],
        "timings_ms": {k: float(x) for k, x in timings_ms.items()},
    }


def result_schema() -> dict[str, Any]:
    """The shipped JSON Schema of the result message."""
    text = resources.files("inspector.schemas").joinpath("result.schema.json").read_text()
    return dict(json.loads(text))
