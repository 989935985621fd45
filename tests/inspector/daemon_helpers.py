"""Helpers for the daemon's tests: simulated scans in the spool, line configs, the process."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from inspector.demo.scanner import deliver_scan
from point_cloud.simulator import simulate_weld
from point_cloud.types import ScanIdentity

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
BALL_HEIGHT_MM = 2.0


def ball_edit(x0: float = 5.0, y0: float = 0.0, height: float = BALL_HEIGHT_MM,
              sigma: float = 0.8) -> Any:
    """A round lump on the bead (weld frame), for scans the test decider must FAIL."""
    def edit(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        bump = height * np.exp(-((x - x0) ** 2 + (y - y0) ** 2) / (2 * sigma ** 2))
        return z + bump, np.ones_like(z, dtype=bool)
    return edit


FORMATS = (".npy", ".ply", ".pcd", ".xyz")


def write_scan(folder: Path, seed: int, *, weld_type: int = 3, serial: str | None = None,
               weld: str = "W1", ball: bool = False, points: int = 120_000,
               ext: str | None = None) -> Path:
    """A simulated scan ``<serial>_<weld>_t<type>.<ext>`` (+ sidecar) delivered like the
    scanner does (staged, then renamed in). The format rotates with the seed."""
    ident = ScanIdentity(serial or f"P{seed:05d}", weld, weld_type)
    sim = simulate_weld(weld_type, seed, points=points, identity=ident,
                        edit=ball_edit() if ball else None)
    return deliver_scan(sim.cloud, folder, ident.stem() + (ext or FORMATS[seed % len(FORMATS)]))


def write_line_config(folder: Path, mqtt_port: int, **overrides: Any) -> Path:
    """A line.yaml for tests: spool, DB and artifacts in ``folder``, the test decider."""
    cfg: dict[str, Any] = {
        "line": "L1", "station": "S1",
        "db_url": f"sqlite:///{folder / 'inspections.db'}",
        "spool": {"dir": str(folder / "spool"), "poll_s": 0.05},
        "mqtt": {"host": "127.0.0.1", "port": mqtt_port, "prefix": "welds",
                 "reconnect_min_s": 0.5, "reconnect_max_s": 1, "ack_timeout_s": 2,
                 "ready_timeout_s": 5},
        "models": {"dir": str(folder / "models"), "loader": "weld_test_deciders:load",
                   "types": [3, 10]},
        "artifacts": {"dir": str(folder / "artifacts")},
        "stop_flush_s": 5,
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(cfg.get(key), dict):
            cfg[key].update(value)
        else:
            cfg[key] = value
    path = folder / "line.yaml"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(cfg))
    return path


def daemon_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), str(REPO), env.get("PYTHONPATH", "")])
    env.update(extra or {})
    return env


def start_daemon(config: Path, log: Path, env: dict[str, str] | None = None
                 ) -> subprocess.Popen[bytes]:
    """``inspector run`` as a subprocess (the console script of the venv)."""
    exe = Path(os.environ.get("VIRTUAL_ENV", REPO / ".venv")) / "bin" / "inspector"
    cmd = [str(exe)] if exe.exists() else ["python", "-m", "inspector.cli"]
    with log.open("ab") as out:
        return subprocess.Popen([*cmd, "run", "--config", str(config)], stdout=out,
                                stderr=subprocess.STDOUT, env=daemon_env(env), cwd=REPO)


