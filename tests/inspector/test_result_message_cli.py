"""``inspector inspect --json`` prints a valid result message for every decision, ERROR too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from daemon_helpers import write_line_config, write_scan
from jsonschema import Draft202012Validator

from inspector.cli import main as cli
from inspector.service.messages import ResultMessage, result_schema

SECRET = "SECRET-CONTENT-42"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write_line_config(tmp_path / "line", 1)     # inspect never talks to the broker


def inspect_json(capsys: pytest.CaptureFixture[str], scan: Path,
                 config: Path) -> tuple[int, dict[str, Any], str]:
    code = cli(["inspect", str(scan), "--config", str(config), "--json"])
    out = capsys.readouterr()
    data: dict[str, Any] = json.loads(out.out)
    Draft202012Validator(result_schema()).validate(data)
    ResultMessage.model_validate(data)
    return code, data, out.err


def test_a_corrupt_scan_prints_an_error_result(
        capsys: pytest.CaptureFixture[str], config: Path, tmp_path: Path) -> None:
    scan = tmp_path / "P9_W1_t3.ply"
    scan.write_text(f"{SECRET}\nformat ascii 1.0\nend_header\n")
    code, msg, err = inspect_json(capsys, scan, config)
    assert code == 3
    assert msg["decision"] == "ERROR"
    assert msg["reason"] == "corrupt: magic: expected 'ply' on the first line"
    assert SECRET not in json.dumps(msg)                 # the message never quotes the file
    assert (msg["scan"], msg["part_serial"], msg["weld_type"]) == ("P9_W1_t3.ply", "P9", 3)
    assert (msg["line"], msg["station"]) == ("L1", "S1")
    assert msg["timings_ms"]["total"] >= 0
    assert "corrupt" in err                              # the human line stays on stderr


def test_a_missing_scan_prints_an_error_result(
        capsys: pytest.CaptureFixture[str], config: Path, tmp_path: Path) -> None:
    code, msg, _ = inspect_json(capsys, tmp_path / "gone.npy", config)
    assert code == 3
    assert (msg["decision"], msg["reason"].split(":")[0]) == ("ERROR", "not_found")
    again = inspect_json(capsys, tmp_path / "gone.npy", config)[1]
    assert again["inspection_id"] == msg["inspection_id"]     # stable for the same name


def test_a_failing_scan_prints_a_fail_result_with_size_and_location(
        capsys: pytest.CaptureFixture[str], config: Path, tmp_path: Path) -> None:
    scan = write_scan(tmp_path / "scans", 31, serial="CLI1", ball=True)
    code, msg, _ = inspect_json(capsys, scan, config)
    assert (code, msg["decision"], msg["part_serial"]) == (1, "FAIL", "CLI1")
    assert len(msg["location_mm"]) == 2
    assert msg["size"]["quantity"] == "ball_diameter"            # measured on the map
    assert msg["size"]["value_mm"] > msg["size"]["limit_mm"]
