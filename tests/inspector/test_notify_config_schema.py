"""sd_notify over a real datagram socket and the strict line config."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from inspector.config import load_line_config, mqtt_credentials
from inspector.service import notify
from point_cloud.config import ConfigError

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
