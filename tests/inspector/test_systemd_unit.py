"""The shipped systemd unit keeps the settings the daemon relies on."""

from __future__ import annotations

import configparser
from pathlib import Path

UNIT = Path(__file__).resolve().parents[2] / "systemd" / "weld-inspector.service"


def test_unit_is_notify_with_watchdog_restart_and_hardening() -> None:
    cp = configparser.ConfigParser(strict=False, interpolation=None)
    cp.optionxform = str  # type: ignore[assignment,method-assign]
    cp.read(UNIT)
    svc = cp["Service"]
    assert svc["Type"] == "notify"
    assert int(svc["WatchdogSec"]) >= 10
    assert svc["Restart"] == "on-failure"
    assert svc["RestartPreventExitStatus"] == "2"          # bad config/bundle: no restart loop
    assert svc["User"] == "weld-inspector"
    assert svc["ProtectSystem"] == "strict"
    assert svc["NoNewPrivileges"] == "yes"
    assert svc["ExecStart"].split()[1:3] == ["run", "--config"]
    rw = svc["ReadWritePaths"].split()
    assert any(p.endswith("/spool") for p in rw)
    assert any(p.endswith("/db") for p in rw)
