"""TLS and credentials against a real mosquitto (self-signed CA, password file).

The broker has two listeners: an anonymous plain one for the test subscriber, and a TLS
one with a password file for the daemon. Credentials come from a file or the environment.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from broker import Broker, Subscriber, free_port, wait_port

from inspector.config import load_line_config
from inspector.service.mqtt_link import MqttLink

pytestmark = pytest.mark.skipif(not (shutil.which("openssl") and shutil.which("mosquitto_passwd")),
                                reason="needs openssl and mosquitto_passwd")


def make_certs(d: Path) -> None:
    def ssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=d)
    ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
        "-subj", "/CN=weld-test-ca", "-days", "2")
    ssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
        "-subj", "/CN=127.0.0.1")
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    ssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "san.ext")


@pytest.fixture
def secure_broker(tmp_path: Path) -> Iterator[tuple[Broker, int, Path]]:
    d = tmp_path / "secure"
    d.mkdir()
    make_certs(d)
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(d / "passwd"), "inspector", "s3cret"],
                   check=True, capture_output=True)
    b = Broker(d / "broker")
    tls_port = free_port()
    text = b.conf.read_text().replace("allow_anonymous true\n", "")
    b.conf.write_text(
        "per_listener_settings true\n" + text.replace(
            f"listener {b.port} 127.0.0.1\n",
            f"listener {b.port} 127.0.0.1\nallow_anonymous true\n"
            f"listener {tls_port} 127.0.0.1\nallow_anonymous false\n"
            f"password_file {d / 'passwd'}\ncafile {d / 'ca.pem'}\n"
            f"certfile {d / 'server.pem'}\nkeyfile {d / 'server.key'}\n"))
    b.start()
    wait_port(tls_port)
    yield b, tls_port, d
    b.stop()


def link_for(tmp_path: Path, tls_port: int, ca: Path, cred_text: str) -> MqttLink:
    creds = tmp_path / "mqtt.cred"
    creds.write_text(cred_text)
    p = tmp_path / "line.yaml"
    p.write_text(f"line: L1\nstation: S1\nmqtt:\n  port: {tls_port}\n  reconnect_max_s: 1\n"
                 f"  tls: {{enabled: true, ca_file: {ca}}}\n  credentials_file: {creds}\n")
    return MqttLink(load_line_config(p))


def test_tls_with_credentials_file_connects_and_goes_online(
        secure_broker: tuple[Broker, int, Path], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    broker, tls_port, d = secure_broker
    monkeypatch.delenv("WELD_MQTT_USERNAME", raising=False)
    sub = Subscriber(broker.port, ["welds/L1/S1/status"], client_id="tls-watch")
    link = link_for(tmp_path, tls_port, d / "ca.pem", "username=inspector\npassword=s3cret\n")
    link.start()
    try:
        assert link.wait_connected(15)
        assert link.publish_acked("welds/L1/S1/result", b"{}", timeout=5)
        assert sub.wait_for(lambda s: s.payloads("/status")[-1:] == [b"online"], 10)
    finally:
        link.stop()
    assert sub.wait_for(lambda s: s.payloads("/status")[-1:] == [b"offline"], 10)
    sub.close()


def test_a_wrong_password_is_refused_and_nothing_is_sent(
        secure_broker: tuple[Broker, int, Path], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    _, tls_port, d = secure_broker
    monkeypatch.setenv("WELD_MQTT_USERNAME", "inspector")       # env wins over the file
    monkeypatch.setenv("WELD_MQTT_PASSWORD", "wrong")
    link = link_for(tmp_path, tls_port, d / "ca.pem", "username=inspector\npassword=s3cret\n")
    link.start()
    try:
        time.sleep(2)
        assert not link.connected
        assert not link.publish_acked("welds/L1/S1/result", b"{}", timeout=1)
    finally:
        link.stop()
