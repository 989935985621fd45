"""A local mosquitto for the demo and the tests: 127.0.0.1, a generated config, stopped by PID.

Persistence is on (in the broker's folder) so a restart keeps retained messages and the
sessions of persistent subscribers, like a plant broker.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

MOSQUITTO_CANDIDATES = ("/usr/sbin/mosquitto", "/usr/bin/mosquitto")


class BrokerError(RuntimeError):
    """mosquitto is missing or did not come up."""


def mosquitto_binary() -> str:
    """The mosquitto executable (PATH first, then Debian's locations)."""
    found = shutil.which("mosquitto") or next(
        (p for p in MOSQUITTO_CANDIDATES if Path(p).exists()), None)
    if found is None:
        raise BrokerError("mosquitto: executable not found on PATH or in /usr/sbin; expected "
                          "Debian's mosquitto package (scripts/setup.sh installs it)")
    return found


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 10.0, up: bool = True) -> None:
    """Wait until 127.0.0.1:``port`` accepts connections (or, ``up=False``, refuses them)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            s.settimeout(0.2)
            is_up = s.connect_ex(("127.0.0.1", port)) == 0
        if is_up == up:
            return
        time.sleep(0.05)
    raise TimeoutError(f"127.0.0.1:{port} did not come {'up' if up else 'down'} in {timeout} s")


class LocalBroker:
    """``start()`` / ``stop()`` / ``restart()`` a mosquitto process listening on loopback."""

    def __init__(self, folder: Path, port: int | None = None) -> None:
        self.folder = folder
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        folder.mkdir(parents=True, exist_ok=True)
        self.conf = folder / "mosquitto.conf"
        self.log = folder / "mosquitto.log"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
            f"persistence_location {folder}/\nautosave_interval 1\n"
            f"log_dest file {self.log}\nmax_queued_messages 100000\n")
        if os.geteuid() == 0:       # mosquitto drops to user "mosquitto" unless told
            with self.conf.open("a") as f:
                f.write("user root\n")

    def start(self, timeout: float = 10.0) -> None:
        self.proc = subprocess.Popen([mosquitto_binary(), "-c", str(self.conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_port(self.port, timeout)
        except TimeoutError as exc:
            code = self.proc.poll()
            self.stop()
            raise BrokerError(f"mosquitto on 127.0.0.1:{self.port} did not start "
                              f"(exit code {code}); see {self.log}") from exc

    def stop(self) -> None:
        """SIGTERM by PID (SIGKILL after 10 s); waits until the port is closed."""
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(5)
        wait_port(self.port, up=False)

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> LocalBroker:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
