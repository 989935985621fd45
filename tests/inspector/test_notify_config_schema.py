"""sd_notify over a real datagram socket, the strict line config, the result schema."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from inspector.config import load_line_config, mqtt_credentials
from inspector.service import notify
from inspector.service.messages import result_message, result_schema
from inspector.verdict import Measurement, Verdict
from point_cloud.config import ConfigError
from point_cloud.types import ScanIdentity

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("abstract", [False, True])
def test_notify_reaches_a_datagram_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          abstract: bool) -> None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if abstract:
        name = f"weld-notify-{os.getpid()}"
        sock.bind("\0" + name)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
    else:
        path = tmp_path / "notify.sock"
        sock.bind(str(path))
        monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    sock.settimeout(2)
    assert notify.notify("READY=1")
    assert sock.recv(256) == b"READY=1"
    sock.close()


def test_notify_without_systemd_is_a_no_op(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert notify.notify("READY=1") is False


def test_watchdog_interval_is_half_of_watchdog_usec(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "4000000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert notify.watchdog_interval_s() == pytest.approx(2.0)
    monkeypatch.setenv("WATCHDOG_PID", "1")            # meant for another process
    assert notify.watchdog_interval_s() is None


def test_shipped_line_config_loads_with_paths_anchored() -> None:
    cfg = load_line_config(REPO / "config" / "line.yaml")
    assert cfg.spool.dir.is_absolute()
    assert cfg.db_url.startswith("sqlite:////")
    assert cfg.topic("result") == "welds/line1/station1/result"
    assert cfg.mqtt.dead_after_attempts == 5


def test_unknown_keys_and_secrets_in_yaml_are_errors(tmp_path: Path) -> None:
    p = tmp_path / "line.yaml"
    p.write_text("line: L1\nmqtt:\n  host: 127.0.0.1\n  password: hunter2\n")
    with pytest.raises(ConfigError, match=r"line\.yaml:4: mqtt\.password: unknown key"):
        load_line_config(p)
    p.write_text("line: a/b\n")
    with pytest.raises(ConfigError, match=r"line\.yaml:1: line: "):
        load_line_config(p)
    p.write_text("mqtt:\n  dead_after_attempts: 0\n")
    with pytest.raises(ConfigError, match=r"line\.yaml:2: mqtt\.dead_after_attempts: "):
        load_line_config(p)


def test_tls_client_cert_and_key_are_paths_never_pem_text(tmp_path: Path) -> None:
    p = tmp_path / "line.yaml"
    p.write_text("mqtt:\n  tls:\n    enabled: true\n    cert_file: certs/station.pem\n"
                 "    key_file: certs/station.key\n")
    tls = load_line_config(p).mqtt.tls
    assert (tls.cert_file, tls.key_file) == (tmp_path / "certs" / "station.pem",
                                             tmp_path / "certs" / "station.key")
    p.write_text("mqtt:\n  tls:\n    cert_file: a.pem\n    key_file: |\n"
                 "      -----BEGIN PRIVATE KEY-----\n      MIIE\n")
    with pytest.raises(ConfigError, match=r"line\.yaml:4: mqtt\.tls\.key_file: .*PEM text"):
        load_line_config(p)
    p.write_text("mqtt:\n  tls:\n    key_file: a.key\n")
    with pytest.raises(ConfigError, match=r"key_file is set without cert_file"):
        load_line_config(p)


def test_credentials_from_env_then_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    creds = tmp_path / "mqtt.cred"
    creds.write_text("# line PC\nusername=inspector\npassword=s3cret\n")
    p = tmp_path / "line.yaml"
    p.write_text(f"mqtt:\n  credentials_file: {creds.name}\n")
    cfg = load_line_config(p)
    monkeypatch.delenv("WELD_MQTT_USERNAME", raising=False)
    assert mqtt_credentials(cfg.mqtt) == ("inspector", "s3cret")
    monkeypatch.setenv("WELD_MQTT_USERNAME", "env-user")
    monkeypatch.setenv("WELD_MQTT_PASSWORD", "env-pass")
    assert mqtt_credentials(cfg.mqtt) == ("env-user", "env-pass")
    monkeypatch.delenv("WELD_MQTT_USERNAME")
    creds.write_text("user=x\n")
    with pytest.raises(ConfigError, match=r"mqtt\.cred:1: expected 'username=\.\.\.'"):
        mqtt_credentials(cfg.mqtt)


# ------------------------------------------------------------------ a tiny JSON Schema checker
_TYPES: dict[str, Any] = {"string": str, "integer": int, "number": (int, float), "object": dict,
                          "array": list, "null": type(None), "boolean": bool}


def schema_errors(value: Any, schema: dict[str, Any], where: str = "$") -> list[str]:
    """The subset of JSON Schema the result schema uses (type, enum, const, required, ...)."""
    errs: list[str] = []
    if "const" in schema and value != schema["const"]:
        errs.append(f"{where}: expected {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        errs.append(f"{where}: expected one of {schema['enum']}")
    if "type" in schema:
        names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        ok = any(isinstance(value, _TYPES[n]) and not (n in ("integer", "number")
                                                       and isinstance(value, bool))
                 for n in names)
        if not ok:
            return [*errs, f"{where}: expected {names}, found {type(value).__name__}"]
    if isinstance(value, dict):
        errs += [f"{where}: missing {k}" for k in schema.get("required", []) if k not in value]
        props = schema.get("properties", {})
        for k, v in value.items():
            if k in props:
                errs += schema_errors(v, props[k], f"{where}.{k}")
            elif schema.get("additionalProperties") is False:
                errs.append(f"{where}: unexpected key {k}")
            elif isinstance(schema.get("additionalProperties"), dict):
                errs += schema_errors(v, schema["additionalProperties"], f"{where}.{k}")
    if isinstance(value, list) and "items" in schema:
        for i, v in enumerate(value):
            errs += schema_errors(v, schema["items"], f"{where}[{i}]")
        if len(value) < schema.get("minItems", 0) or len(value) > schema.get("maxItems", 1 << 30):
            errs.append(f"{where}: wrong length {len(value)}")
    return errs


def test_result_messages_follow_the_shipped_schema() -> None:
    schema = result_schema()
    full = Verdict("FAIL", 0.93, 0.4, member_scores={"classifier": 0.9, "siamese": 0.95},
                   defect="ball", defect_probs={"ball": 0.8, "none": 0.2},
                   location_mm=(np.float32(5.0), 0.5),  # type: ignore[arg-type]
                   measurement=Measurement("ball_diameter", 2.1, 1.5),
                   anomaly_map=np.zeros((2, 2), np.float32), bundle_version="t3-2026.11")
    msg = result_message(inspection_id="0" * 32, line="L1", station="S1", scan_name="a.npy",
                         identity=ScanIdentity("P1", "W1", 3), verdict=full,
                         timings_ms={"read": 1.0, "total": 2.5})
    assert schema_errors(msg, schema) == []
    err = result_message(inspection_id="1" * 32, line="L1", station="S1", scan_name="b.xyz",
                         identity=None, verdict=Verdict("ERROR", 1.0, 0.5, reason="corrupt"),
                         timings_ms={})
    assert schema_errors(err, schema) == []
    broken = {**msg, "decision": "MAYBE", "score": "high"}
    del broken["inspection_id"]
    assert len(schema_errors(broken, schema)) == 3      # the checker can fail
