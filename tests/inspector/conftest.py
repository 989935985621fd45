"""Fixtures for the daemon's tests: real mosquitto, real PostgreSQL, real simulated scans."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from broker import Broker, free_port, wait_port
from daemon_helpers import write_line_config

from inspector.config import load_line_config
from inspector.service.daemon import Daemon
from inspector.service.deciders import load_deciders

PG_BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin"))


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    b = Broker(tmp_path / "broker")
    b.start()
    yield b
    b.stop()


@pytest.fixture
def daemon_factory() -> Iterator[Callable[[Path], Daemon]]:
    started: list[Daemon] = []

    def make(config: Path) -> Daemon:
        cfg = load_line_config(config)
        d = Daemon(cfg, load_deciders(cfg))
        d.start()
        started.append(d)
        return d
    yield make
    for d in started:
        if d.running:
            d.stop()


@pytest.fixture
def line_config(tmp_path: Path, broker: Broker) -> Callable[..., Path]:
    def make(**overrides: Any) -> Path:
        return write_line_config(tmp_path / "line", broker.port, **overrides)
    return make


# ------------------------------------------------------------------------------ PostgreSQL
@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throw-away PostgreSQL server on 127.0.0.1 (initdb in a temp dir), stopped by PID."""
    if not PG_BIN or not (PG_BIN[-1] / "postgres").exists():
        pytest.skip("PostgreSQL binaries not found under /usr/lib/postgresql/*/bin")
    bin_dir = PG_BIN[-1]
    root = Path(tempfile.mkdtemp(prefix="weld-pg-"))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    as_user: list[str] = []
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser: cannot start postgres")
        shutil.chown(root, "postgres")
        shutil.chown(sock, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    subprocess.run([*as_user, str(bin_dir / "initdb"), "-D", str(data), "-A", "trust",
                    "-U", "postgres", "--no-sync"], check=True, capture_output=True)
    port = free_port()
    proc = subprocess.Popen([*as_user, str(bin_dir / "postgres"), "-D", str(data), "-p",
                             str(port), "-h", "127.0.0.1", "-k", str(sock), "-F"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port, timeout=30)
        time.sleep(0.3)
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        pid_file = data / "postmaster.pid"
        if pid_file.exists():                     # the postmaster itself, not runuser
            os.kill(int(pid_file.read_text().split()[0]), signal.SIGINT)   # fast shutdown
        else:
            proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_database(postgres_url: str) -> Iterator[str]:
    """A fresh, empty database on the session's PostgreSQL server."""
    from sqlalchemy import create_engine, text
    name = f"weld_{os.getpid()}_{time.monotonic_ns()}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    yield postgres_url.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()
