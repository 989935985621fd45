"""``inspector run`` as a real process: SIGKILL/restart, SIGTERM, systemd notify, bad bundles."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from broker import Broker, Subscriber
from daemon_helpers import start_daemon, write_scan
from test_daemon import db_rows, first_seen

from inspector.config import load_line_config


@pytest.fixture
def subscriber(broker: Broker) -> Iterator[Subscriber]:
    sub = Subscriber(broker.port, ["welds/L1/S1/#"], client_id="proc-subscriber")
    yield sub
    sub.close()


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> int:
    if proc.poll() is None:
        os.kill(proc.pid, sig)
    return proc.wait(60)


@pytest.mark.slow
def test_sigkill_mid_run_then_restart_loses_no_scan_and_never_flips_a_decision(
        line_config: Callable[..., Path], subscriber: Subscriber, tmp_path: Path) -> None:
    config = line_config()
    cfg = load_line_config(config)
    n = 16

    def scanner() -> None:                   # the cell keeps scanning through the crash
        for i in range(n):
            write_scan(cfg.spool.dir, 300 + i, serial=f"K{i:03d}", ball=i % 3 == 0,
                       points=60_000)
            time.sleep(0.2)

    feed = threading.Thread(target=scanner)
    log = tmp_path / "daemon.log"
    proc = start_daemon(config, log)
    try:
        feed.start()
        assert subscriber.wait_for(lambda s: len(s.results()) >= 4, 120), log.read_text()
        stop(proc, signal.SIGKILL)
        done_at_kill = len(db_rows(cfg))
        assert done_at_kill < n                       # killed mid-run
        proc = start_daemon(config, log)
        feed.join()
        assert subscriber.wait_for(lambda s: len(set(first_seen(s.results()))) >= n, 180), \
            log.read_text()[-3000:]
    finally:
        code = stop(proc)
    assert code == 0
    rows = db_rows(cfg)
    assert len(rows) == n                                   # no scan lost, none twice
    assert sorted(str(r.part_serial) for r in rows) == [f"K{i:03d}" for i in range(n)]
    decisions: dict[str, set[str]] = {}
    for r in subscriber.results():
        decisions.setdefault(r["inspection_id"], set()).add(r["decision"])
    assert all(len(d) == 1 for d in decisions.values())      # never two decisions per id
    assert set(decisions) == {r.id for r in rows}
    assert {r.part_serial: r.decision for r in rows}["K000"] == "FAIL"
    assert len(list((cfg.spool.dir / "done").glob("K*_W1_t3.[!j]*"))) == n
    assert not list((cfg.spool.dir / "work").iterdir())


def test_notify_socket_gets_ready_watchdog_and_stopping(
        line_config: Callable[..., Path], subscriber: Subscriber, tmp_path: Path) -> None:
    sock_path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(sock_path))
    sock.settimeout(30)
    config = line_config()
    proc = start_daemon(config, tmp_path / "daemon.log",
                        {"NOTIFY_SOCKET": str(sock_path), "WATCHDOG_USEC": "400000"})
    got: list[str] = []
    try:
        while not any(m.startswith("WATCHDOG=1") for m in got):
            got.append(sock.recv(256).decode())
        assert got[0].startswith("READY=1")
        assert subscriber.wait_for(lambda s: s.payloads("/status")[-1:] == [b"online"], 30)
    finally:
        code = stop(proc, signal.SIGTERM)
    assert code == 0
    sock.settimeout(1)
    rest = []
    try:
        while True:
            rest.append(sock.recv(256).decode())
    except TimeoutError:
        pass
    assert "STOPPING=1" in rest
    assert subscriber.wait_for(lambda s: s.payloads("/status")[-1:] == [b"offline"], 10)
    sock.close()


def test_a_missing_bundle_stops_start_up_with_a_message(
        line_config: Callable[..., Path], tmp_path: Path) -> None:
    config = line_config(models={"loader": "weld_test_deciders:load_partial"})
    log = tmp_path / "daemon.log"
    proc = start_daemon(config, log)
    assert proc.wait(60) == 2
    text = log.read_text()
    assert "cannot start" in text
    assert "weld types [3]" in text


def test_the_real_bundle_loader_names_the_missing_bundle(
        line_config: Callable[..., Path], tmp_path: Path) -> None:
    config = line_config(models={"loader": "inspector.service.deciders:load_bundle_deciders"})
    log = tmp_path / "daemon.log"
    proc = start_daemon(config, log)
    assert proc.wait(60) == 2
    text = log.read_text()
    assert "type3" in text
    assert "no model bundle for weld type 3" in text
    time.sleep(0)
