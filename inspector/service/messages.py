"""The result message (:class:`ResultMessage`, its JSON Schema) and the idempotency key.

``ResultMessage`` is the one definition of what goes out on ``<prefix>/<line>/<station>/result``;
``inspector/schemas/result.schema.json`` is generated from it (``python -m inspector.schemas``).
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.json_schema import GenerateJsonSchema

from inspector.verdict import Decision, Verdict
from point_cloud.errors import ScanError
from point_cloud.types import ScanIdentity

SCHEMA_VERSION = "weld-result/1"
_CHUNK = 1 << 20
_STRICT = ConfigDict(extra="forbid", strict=True, frozen=True)
_TITLE = "Weld inspection result"
_ABOUT = ("Published at QoS 1 on <prefix>/<line>/<station>/result. inspection_id is the "
          "idempotency key: a message may arrive twice (at-least-once), never with two "
          "different decisions.")


class Size(BaseModel):
    """A defect measured on the height map, in mm, against its weld-norm limit."""

    model_config = _STRICT

    quantity: str = Field(description="e.g. cut_length, ball_diameter, deviation_offset")
    value_mm: float
    limit_mm: float
    uncertainty_mm: float | None = Field(
        default=None, description="the norm gauge's measurement uncertainty (null: unknown)")


class ResultMessage(BaseModel):
    """The result of one inspection, as published and stored (JSON keys as named here)."""

    model_config = ConfigDict(**_STRICT, validate_by_name=True, validate_by_alias=True,
                              serialize_by_alias=True)

    schema_: Literal["weld-result/1"] = Field(alias="schema")
    inspection_id: str = Field(pattern=r"^[0-9a-f]{32}$",
                               description="idempotency key (file name, identity and bytes)")
    timestamp: str = Field(description="ISO 8601, UTC")
    line: str
    station: str
    scan: str = Field(description="scan file name as delivered")
    part_serial: str | None
    weld_id: str | None
    weld_type: int | None
    decision: Decision
    score: float = Field(description="committee score, higher = more likely bad")
    threshold: float = Field(description="operating threshold on score")
    member_scores: dict[str, float]
    defect: str | None = Field(description="a class of synth_defects.classes")
    defect_probs: dict[str, float]
    location_mm: Annotated[list[float], Field(min_length=2, max_length=2)] | None = Field(
        description="(x, y) in the weld frame")
    size: Size | None = Field(description="the defect measured against its limit")
    reason: str | None
    bundle_version: str | None
    timings_ms: dict[str, float] = Field(
        description="per stage: read, project, gate, decide, total")


def inspection_id(scan: Path, name: str, identity: ScanIdentity | None, *,
                  readable: bool = True) -> str:
    """Idempotency key: the same file (name + bytes + trigger identity) gives the same id.

    The file is opened without following a link or blocking on a FIFO; an entry that must
    not be read (``readable=False``) is keyed by its ``lstat`` instead of its bytes.
    """
    h = hashlib.sha256()
    h.update(os.fsencode(name))
    h.update(b"\0" + (identity.stem() if identity else "").encode() + b"\0")
    if not readable:
        st = os.lstat(scan) if os.path.lexists(scan) else None
        h.update(repr(st and (st.st_mode, st.st_ino, st.st_size, st.st_mtime_ns)).encode())
        return h.hexdigest()[:32]
    fd = os.open(scan, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()[:32]


def _floats(d: dict[str, Any]) -> dict[str, float]:
    return {k: float(x) for k, x in d.items()}


def result_message(*, inspection_id: str, line: str, station: str, scan_name: str,
                   identity: ScanIdentity | None, verdict: Verdict,
                   timings_ms: dict[str, float], now: datetime | None = None) -> ResultMessage:
    """The result published on ``<prefix>/<line>/<station>/result``."""
    v, m = verdict, verdict.measurement
    return ResultMessage(
        schema_=SCHEMA_VERSION, inspection_id=inspection_id,
        timestamp=(now or datetime.now(UTC)).isoformat(), line=line, station=station,
        scan=scan_name, part_serial=identity.part_serial if identity else None,
        weld_id=identity.weld_id if identity else None,
        weld_type=identity.weld_type if identity else None,
        decision=v.decision, score=float(v.score), threshold=float(v.threshold),
        member_scores=_floats(v.member_scores), defect=v.defect,
        defect_probs=_floats(v.defect_probs),
        location_mm=[float(x) for x in v.location_mm] if v.location_mm else None,
        size=Size(quantity=m.quantity, value_mm=float(m.value_mm), limit_mm=float(m.limit_mm),
                  uncertainty_mm=None if m.uncertainty_mm is None else float(m.uncertainty_mm))
        if m else None,
        reason=v.reason, bundle_version=v.bundle_version, timings_ms=_floats(timings_ms))


def stored_message(data: Any) -> ResultMessage | None:
    """The typed message of a stored result; None for a row written before it was typed."""
    try:
        return ResultMessage.model_validate(data, strict=False)
    except ValidationError:
        return None


def scan_error_reason(exc: ScanError) -> str:
    """An unusable scan's ERROR reason: its code, the field and what was expected.

    What was found is left out: it can quote the file's content.
    """
    return f"{exc.reason}: {exc.field}: expected {exc.expected}"


def unusable_verdict(exc: ScanError) -> Verdict:
    """The ERROR verdict of a scan that could not be used."""
    return Verdict("ERROR", 1.0, 0.5, reason=scan_error_reason(exc))


class _NoFieldTitles(GenerateJsonSchema):
    """Leaves out pydantic's per-field titles ("Inspection Id"): the names say it."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


def result_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of :class:`ResultMessage`, as shipped."""
    body = ResultMessage.model_json_schema(schema_generator=_NoFieldTitles)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_VERSION,
            "title": _TITLE, "description": _ABOUT,
            **{k: v for k, v in body.items() if k not in ("title", "description")}}


def result_schema_text() -> str:
    """``result_schema()`` as written to ``inspector/schemas/result.schema.json``."""
    return json.dumps(result_schema(), indent=2) + "\n"
