"""TLS, credentials and client certificates against a real mosquitto (self-signed CA).

The broker has two listeners: an anonymous plain one for the test subscriber, and a TLS
one for the daemon, either with a password file (credentials from a file or the
environment) or demanding a client certificate signed by the test CA (mutual TLS).
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from broker import Broker, Subscriber, free_port, wait_port
from daemon_helpers import write_line_config
from factories import make_record

from inspector.config import load_line_config
from inspector.service.daemon import Daemon
from inspector.service.mqtt_link import MqttLink
from inspector.store import open_store
from inspector.store.outbox import outbox_depth, record_inspection

pytestmark = pytest.mark.skipif(not (shutil.which("openssl") and shutil.which("mosquitto_passwd")),
                                reason="needs openssl and mosquitto_passwd")


def openssl(d: Path, *args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=d)


def make_ca(d: Path, name: str = "ca") -> None:
    openssl(d, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key",
            "-out", f"{name}.pem", "-subj", f"/CN=weld-test-{name}", "-days", "2")


def sign(d: Path, name: str, cn: str, ca: str = "ca", *extra: str) -> None:
    """``<name>.key`` + ``<name>.pem`` for subject ``cn``, signed by ``<ca>.pem``."""
    openssl(d, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out",
            f"{name}.csr", "-subj", f"/CN={cn}")
    openssl(d, "x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
            "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", *extra)


def make_certs(d: Path) -> None:
    make_ca(d)
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    sign(d, "server", "127.0.0.1", "ca", "-extfile", "san.ext")


@contextmanager
def tls_broker(d: Path, tls_settings: str) -> Iterator[tuple[Broker, int, Path]]:
    """mosquitto with an anonymous plain listener (for the test subscriber) and a TLS one
    (server cert from ``make_certs(d)``) configured by ``tls_settings``."""
    b = Broker(d / "broker")
    tls_port = free_port()
    text = b.conf.read_text().replace("allow_anonymous true\n", "")
    b.conf.write_text(
        "per_listener_settings true\n" + text.replace(
            f"listener {b.port} 127.0.0.1\n",
            f"listener {b.port} 127.0.0.1\nallow_anonymous true\n"
            f"listener {tls_port} 127.0.0.1\n{tls_settings}cafile {d / 'ca.pem'}\n"
            f"certfile {d / 'server.pem'}\nkeyfile {d / 'server.key'}\n"))
    b.start()
    wait_port(tls_port)
    try:
        yield b, tls_port, d
    finally:
        b.stop()


def cert_dir(tmp_path: Path) -> Path:
    d = tmp_path / "secure"
    d.mkdir()
    make_certs(d)
    return d


@pytest.fixture
def secure_broker(tmp_path: Path) -> Iterator[tuple[Broker, int, Path]]:
    d = cert_dir(tmp_path)
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(d / "passwd"), "inspector", "s3cret"],
                   check=True, capture_output=True)
    with tls_broker(d, f"allow_anonymous false\npassword_file {d / 'passwd'}\n") as b:
        yield b


@pytest.fixture(scope="module")
def client_certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test CA and server cert, ``client.*`` signed by that CA (CN inspector-L1-S1) and
    ``rogue.*`` with the same CN from another CA (made once: RSA keys take a while)."""
    d = cert_dir(tmp_path_factory.mktemp("mtls"))
    sign(d, "client", "inspector-L1-S1")
    make_ca(d, "other-ca")
    sign(d, "rogue", "inspector-L1-S1", "other-ca")
    return d


@pytest.fixture
def mtls_broker(client_certs: Path, tmp_path: Path) -> Iterator[tuple[Broker, int, Path]]:
    """A TLS listener that demands a client certificate from the test CA (its CN becomes
    the user name); the broker's own folder is per test."""
    d = tmp_path / "mtls"
    shutil.copytree(client_certs, d)
    with tls_broker(d, "allow_anonymous false\nrequire_certificate true\n"
                       "use_identity_as_username true\n") as b:
        yield b


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


# ------------------------------------------------------------------ mutual TLS (client certs)
@pytest.fixture
def mtls_daemon(mtls_broker: tuple[Broker, int, Path], tmp_path: Path,
                monkeypatch: pytest.MonkeyPatch, daemon_factory: Callable[[Path], Daemon]
                ) -> Callable[..., Daemon]:
    """Start the daemon against the mTLS listener with 2 results waiting in its outbox."""
    _, tls_port, d = mtls_broker
    monkeypatch.delenv("WELD_MQTT_USERNAME", raising=False)   # the certificate is the identity

    def start(client: str | None) -> Daemon:
        tls: dict[str, object] = {"enabled": True, "ca_file": str(d / "ca.pem")}
        if client:
            tls |= {"cert_file": str(d / f"{client}.pem"), "key_file": str(d / f"{client}.key")}
        config = write_line_config(tmp_path / "line", tls_port, mqtt={"tls": tls})
        engine, factory = open_store(load_line_config(config).db_url)
        for n in (1, 2):
            assert record_inspection(factory, make_record(n))
        engine.dispose()
        return daemon_factory(config)

    return start


def test_a_client_certificate_from_the_ca_connects_and_results_arrive(
        mtls_broker: tuple[Broker, int, Path], mtls_daemon: Callable[..., Daemon]) -> None:
    broker = mtls_broker[0]
    sub = Subscriber(broker.port, ["welds/L1/S1/result"], client_id="mtls-watch")
    d = mtls_daemon("client")
    try:
        assert sub.wait_for(lambda s: len(s.results()) >= 2, 20)
        assert [r["inspection_id"] for r in sub.results()] == [f"{1:032x}", f"{2:032x}"]
        assert sub.wait_for(lambda s: outbox_depth(d.factory) == 0, 5)
    finally:
        sub.close()
    # no user name was configured: mosquitto took it from the certificate's CN
    assert "u'inspector-L1-S1'" in broker.log.read_text()


@pytest.mark.parametrize(("client", "refusal"), [
    (None, "peer did not return a certificate"),
    ("rogue", "certificate verify failed")], ids=["no-cert", "other-ca"])
def test_without_a_certificate_from_the_ca_the_link_is_refused(
        mtls_broker: tuple[Broker, int, Path], mtls_daemon: Callable[..., Daemon],
        client: str | None, refusal: str) -> None:
    broker = mtls_broker[0]
    sub = Subscriber(broker.port, ["welds/L1/S1/result"], client_id="mtls-watch")
    d = mtls_daemon(client)
    try:
        assert not d.link.wait_connected(2)
        assert d.link.connections == 0
        assert outbox_depth(d.factory) == 2                    # nothing marked delivered
        assert sub.results() == []
    finally:
        sub.close()
    log = broker.log.read_text()
    assert log.count(refusal) >= 1                             # the broker refused the TLS
    assert "u'inspector-L1-S1'" not in log
