"""The result message: one pydantic model, the shipped JSON Schema generated from it, and
real messages (PASS, FAIL, ERROR) checked by the ``jsonschema`` library."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from jsonschema import Draft202012Validator
from pydantic import ValidationError

from inspector.schemas.__main__ import SHIPPED
from inspector.schemas.__main__ import main as regenerate
from inspector.service.messages import (
    ResultMessage,
    result_message,
    result_schema,
    result_schema_text,
    unusable_verdict,
)
from inspector.verdict import Measurement, Verdict
from point_cloud.errors import CorruptScanError
from point_cloud.types import ScanIdentity

NOW = datetime(2026, 11, 3, 8, 15, 0, tzinfo=UTC)
P1 = ScanIdentity("P1", "W1", 3)
FAIL = Verdict("FAIL", 0.93, 0.4, member_scores={"classifier": 0.9, "siamese": 0.95},
               defect="ball", defect_probs={"ball": 0.8, "none": 0.2},
               location_mm=(np.float32(5.0), 0.5),  # type: ignore[arg-type]
               measurement=Measurement("ball_diameter", 2.1, 1.5),
               anomaly_map=np.zeros((2, 2), np.float32), bundle_version="t3-2026.11")


def message(verdict: Verdict, identity: ScanIdentity | None = P1) -> ResultMessage:
    return result_message(inspection_id=f"{1:032x}", line="L1", station="S1",
                          scan_name="P1_W1_t3.npy", identity=identity, verdict=verdict,
                          timings_ms={"read": 1.0, "total": 2.5}, now=NOW)


def wire(msg: ResultMessage) -> dict[str, Any]:
    """The message as it goes out: the JSON the outbox publishes, parsed back."""
    parsed: dict[str, Any] = json.loads(json.dumps(msg.model_dump(mode="json"), sort_keys=True))
    return parsed


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    schema = result_schema()
    Draft202012Validator.check_schema(schema)          # a valid draft 2020-12 schema
    return Draft202012Validator(schema)


def test_the_shipped_schema_is_the_one_generated_from_the_model(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert SHIPPED.read_text() == result_schema_text()
    assert regenerate(["--check"]) == 0
    assert "up to date" in capsys.readouterr().out
    schema = json.loads(SHIPPED.read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert (schema["$id"], schema["title"]) == ("weld-result/1", "Weld inspection result")
    assert "idempotency key" in schema["description"]
    assert schema["properties"]["score"]["description"].startswith("committee score")
    assert schema["properties"]["schema"]["const"] == "weld-result/1"


@pytest.mark.parametrize("verdict", [
    Verdict("PASS", 0.12, 0.4, member_scores={"classifier": 0.1}, bundle_version="t3"),
    FAIL,
    unusable_verdict(CorruptScanError("P1_W1_t3.npy", "npy", "a complete NPY array",
                                      "unreadable (EOFError)")),
], ids=["PASS", "FAIL", "ERROR"])
def test_real_messages_follow_the_schema_and_round_trip(
        verdict: Verdict, validator: Draft202012Validator) -> None:
    msg = message(verdict)
    data = wire(msg)
    assert list(validator.iter_errors(data)) == []
    assert ResultMessage.model_validate_json(json.dumps(data)) == msg
    assert list(msg.model_dump(mode="json")) == result_schema()["required"]   # all, in order


def test_the_error_message_names_the_reason_not_what_was_found(
        validator: Draft202012Validator) -> None:
    exc = CorruptScanError("scan.ply", "magic", "'ply' on the first line", "'SECRET LINE'")
    msg = message(unusable_verdict(exc), identity=None)
    assert validator.is_valid(wire(msg))
    assert (msg.decision, msg.reason) == ("ERROR", "corrupt: magic: expected 'ply' on the "
                                                   "first line")
    assert (msg.part_serial, msg.weld_type, msg.size, msg.location_mm) == (None,) * 4


def test_the_published_json_keeps_its_keys_and_values() -> None:
    """Consumers exist: the wire format is pinned, key for key."""
    assert wire(message(FAIL)) == {
        "schema": "weld-result/1", "inspection_id": f"{1:032x}",
        "timestamp": "2026-11-03T08:15:00+00:00", "line": "L1", "station": "S1",
        "scan": "P1_W1_t3.npy", "part_serial": "P1", "weld_id": "W1", "weld_type": 3,
        "decision": "FAIL", "score": 0.93, "threshold": 0.4,
        "member_scores": {"classifier": 0.9, "siamese": 0.95}, "defect": "ball",
        "defect_probs": {"ball": 0.8, "none": 0.2}, "location_mm": [5.0, 0.5],
        "size": {"quantity": "ball_diameter", "value_mm": 2.1, "limit_mm": 1.5,
                 "uncertainty_mm": None},
        "reason": None, "bundle_version": "t3-2026.11",
        "timings_ms": {"read": 1.0, "total": 2.5}}


@pytest.mark.parametrize(("change", "drop"), [
    ({"colour": "red"}, None),                         # an extra key
    ({"inspection_id": "0" * 31 + "G"}, None),         # not 32 lower-case hex digits
    ({"inspection_id": "0" * 33}, None),
    ({"decision": "MAYBE"}, None),
    ({"location_mm": [1.0, 2.0, 3.0]}, None),          # (x, y) only
    ({"location_mm": [1.0]}, None),
    ({"schema": "weld-result/2"}, None),
    ({"score": "0.9"}, None),                          # a number, not a numeric string
    ({"weld_type": 3.5}, None),
    ({"size": {"quantity": "ball_diameter", "value_mm": 2.1}}, None),   # no limit
    ({}, "reason"),                                    # every key is required, null or not
], ids=["extra-key", "bad-id", "long-id", "maybe", "3-location", "1-location", "schema-v2",
        "string-score", "float-type", "size-no-limit", "missing-key"])
def test_invalid_messages_are_refused_by_the_model_and_the_schema(
        change: dict[str, Any], drop: str | None, validator: Draft202012Validator) -> None:
    bad = {**wire(message(FAIL)), **change}
    if drop:
        del bad[drop]
    assert not validator.is_valid(bad)
    with pytest.raises(ValidationError):
        ResultMessage.model_validate(bad)
    with pytest.raises(ValidationError):
        ResultMessage.model_validate_json(json.dumps(bad))


def test_the_message_is_immutable() -> None:
    msg = message(FAIL)
    with pytest.raises(ValidationError):
        msg.decision = "PASS"
