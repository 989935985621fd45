"""The real daemon under the shipped unit's own syscall filter (seccomp, without systemd).

``scripts/unit_seccomp.py`` reads the unit's ``SystemCallFilter=`` lines, expands the groups
with ``systemd-analyze syscall-filter``, loads the filter with libseccomp and execs
``inspector run``. Denied calls KILL the process here (stricter than the unit's
``SystemCallErrorNumber=EPERM``, which would hide them), so a call the daemon makes outside
the list fails the test with SIGSYS. The daemon uses the real ONNX bundles (``models/``):
onnxruntime pins its threads (sched_setaffinity) and numpy's OpenBLAS binds memory (mbind).

As root (CI), SQLite fchown()s its journal/WAL files to the database's owner, a call in
@privileged that the unit denies; it does so only when euid is 0, and the unit runs as
``User=weld-inspector``, so here that one call gets EPERM (which SQLite ignores) instead.
"""

from __future__ import annotations

import errno
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest
from broker import Broker, Subscriber
from daemon_helpers import REPO, daemon_env, write_scan
from test_daemon import db_rows, first_seen

from inspector.config import load_line_config

UNIT = REPO / "systemd" / "weld-inspector.service"
SCRIPT = REPO / "scripts" / "unit_seccomp.py"
# The unit's filter before the fix: numpy's import (OpenBLAS mbind) died of SIGSYS.
OLD_FILTER = ["@system-service", "~@privileged @resources"]
AS_ROOT = ["--errno", "fchown"] if os.geteuid() == 0 else []


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("unit_seccomp", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod          # dataclasses look the module up
    spec.loader.exec_module(mod)
    return mod


unit_seccomp = _load_script()


def _seccomp_works() -> bool:
    """libseccomp is there and this kernel/container lets a process load a filter (an empty
    deny list: allows everything)."""
    if not sys.platform.startswith("linux") or shutil.which("systemd-analyze") is None:
        return False
    try:
        unit_seccomp._libseccomp()
    except unit_seccomp.SetupError:
        return False
    res = subprocess.run([sys.executable, str(SCRIPT), str(UNIT), "--filter=~", "--", "true"],
                         capture_output=True, timeout=60)
    return res.returncode == 0


pytestmark = [
    pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                       reason="systemd-analyze not installed (Debian package: systemd)"),
    pytest.mark.skipif(not _seccomp_works(), reason="needs Linux with libseccomp.so.2 (Debian "
                       "package: libseccomp2) and a kernel that lets a process load a filter"),
]

BUNDLES = {"dir": str(REPO / "models"), "types": [3, 7],
           "loader": "inspector.service.deciders:load_bundle_deciders"}


def under_filter(config: Path, log: Path, extra: list[str], env: dict[str, str] | None = None
                 ) -> subprocess.Popen[bytes]:
    """``inspector run`` exec'ed by scripts/unit_seccomp.py under the unit's filter."""
    exe = Path(sys.executable).parent / "inspector"
    cmd = [sys.executable, str(SCRIPT), str(UNIT), *extra, *AS_ROOT, "--",
           str(exe), "run", "--config", str(config)]
    with log.open("ab") as out:
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=REPO,
                                env=daemon_env({"OMP_NUM_THREADS": "2", **(env or {})}))


@pytest.fixture
def subscriber(broker: Broker) -> Iterator[Subscriber]:
    sub = Subscriber(broker.port, ["welds/L1/S1/#"], client_id="seccomp-subscriber")
    yield sub
    sub.close()


def test_the_unit_filter_allows_the_numeric_calls_and_still_denies_the_rest() -> None:
    flt = unit_seccomp.resolve(unit_seccomp.filter_lines(UNIT), unit_seccomp.syscall_groups())
    assert flt is not None
    assert flt.allow_list
    needed = {"mbind", "set_mempolicy", "get_mempolicy", "sched_setaffinity",
              "sched_getaffinity", "execve", "clone3", "futex", "socket", "fdatasync"}
    assert needed <= flt.syscalls, needed - flt.syscalls
    denied = {"setpriority", "setrlimit", "sched_setscheduler", "ioprio_set", "migrate_pages",
              "setuid", "setresuid", "setgroups", "chown", "fchown", "mount", "init_module",
              "reboot", "bpf", "ptrace", "kexec_load", "swapon", "settimeofday", "chroot"}
    assert not denied & flt.syscalls, denied & flt.syscalls
    assert unit_seccomp.error_number(UNIT) == errno.EPERM   # not a SIGSYS restart loop
    old = unit_seccomp.resolve(OLD_FILTER, unit_seccomp.syscall_groups())
    assert "mbind" not in old.syscalls
    assert "sched_setaffinity" not in old.syscalls


class NotifySocket:
    """$NOTIFY_SOCKET for the daemon, read continuously (the kernel queues only a few
    datagrams; a full queue would block the daemon's sd_notify)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.messages: list[tuple[float, str]] = []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                self.messages.append((time.monotonic(), self.sock.recv(256).decode()))
            except TimeoutError:
                continue

    def wait_for(self, prefix: str, after: float = 0.0, timeout: float = 60,
                 proc: subprocess.Popen[bytes] | None = None) -> bool:
        """A message starting with ``prefix`` sent after ``after`` (False at once when
        ``proc`` has exited)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if any(t >= after and m.startswith(prefix) for t, m in list(self.messages)):
                return True
            if proc is not None and proc.poll() is not None:
                return False
            time.sleep(0.05)
        return False

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


@pytest.mark.slow
def test_the_daemon_inspects_scans_under_the_units_syscall_filter(
        line_config: Callable[..., Path], subscriber: Subscriber, tmp_path: Path) -> None:
    notify = NotifySocket(tmp_path / "notify.sock")
    config = line_config(models=BUNDLES)
    cfg = load_line_config(config)
    log = tmp_path / "daemon.log"
    proc = under_filter(config, log, ["--action", "kill"],
                        {"NOTIFY_SOCKET": str(notify.path), "WATCHDOG_USEC": "1000000"})
    n = 4
    try:
        assert notify.wait_for("READY=1", timeout=90, proc=proc), \
            f"rc {proc.poll()} (-{int(signal.SIGSYS)}: SIGSYS)\n{log.read_text()[-3000:]}"
        for i in range(n):       # types 3 and 7, four formats, one 2 M-point scan, one lump
            write_scan(cfg.spool.dir, 40 + i, serial=f"S{i:03d}", weld_type=(3, 7)[i % 2],
                       ball=i == 1, points=2_000_000 if i == 0 else 120_000)
        assert subscriber.wait_for(lambda s: len(set(first_seen(s.results()))) >= n, 120), \
            log.read_text()[-3000:]
        done = time.monotonic()
        assert notify.wait_for("WATCHDOG=1", after=done + 1.0, timeout=10, proc=proc), \
            f"no watchdog ping after the scans; rc {proc.poll()}\n{log.read_text()[-3000:]}"
        assert proc.poll() is None, log.read_text()[-3000:]
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
        code = proc.wait(60)
        notify.close()
    assert code == 0, f"rc {code} (-{int(signal.SIGSYS)}: SIGSYS)\n{log.read_text()[-3000:]}"
    assert notify.wait_for("STOPPING=1", timeout=1)
    rows = db_rows(cfg)
    assert sorted(str(r.part_serial) for r in rows) == [f"S{i:03d}" for i in range(n)]
    assert {r.decision for r in rows} <= {"PASS", "FAIL"}
    assert {r["inspection_id"] for r in subscriber.results()} == {r.id for r in rows}
    assert subscriber.wait_for(lambda s: s.payloads("/status")[-1:] == [b"offline"], 10)


def test_the_old_filter_killed_the_daemon_with_sigsys(
        line_config: Callable[..., Path], tmp_path: Path) -> None:
    """The same run under the filter before the fix: killed at start-up, which shows the
    check above can fail."""
    log = tmp_path / "daemon.log"
    old = [f"--filter={line}" for line in OLD_FILTER]     # no SystemCallErrorNumber= then
    proc = under_filter(line_config(models=BUNDLES), log, [*old, "--action", "kill"])
    try:
        code = proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert code == -signal.SIGSYS, log.read_text()[-3000:]
