"""``inspector demo``: the whole line on embedded defaults, with a live summary.

A local mosquitto (loopback, a free port), a simulated scanner feeding the spool at a set
rate with a defect mix, the daemon with the starter model bundle, SQLite in the work
folder. Each result is printed as it arrives over MQTT and scored against the truth; the
database stays behind for ``inspector review``.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from inspector.config import (
    LineConfig,
    ModelSettings,
    MqttSettings,
    SpoolSettings,
    bundled_types,
)
from inspector.demo.scanner import SimulatedScanner
from inspector.demo.scoreboard import Scoreboard
from inspector.service.daemon import Daemon
from inspector.service.deciders import BundleError, load_deciders
from inspector.service.local_broker import BrokerError, LocalBroker
from inspector.service.subscriber import Subscriber
from point_cloud.config import ConfigError, config_dir, weld_type_arg

log = logging.getLogger(__name__)


def starter_models() -> Path:
    """The committed starter bundle: ``models/`` beside ``config/``."""
    return config_dir().parent / "models"


def _types(text: str) -> list[int]:
    """Weld types to scan, e.g. ``3,7`` (each 1-9999; each needs a bundle and a profile)."""
    return [weld_type_arg(t) for t in text.split(",") if t.strip()]


def register(sub: Any) -> None:
    p = sub.add_parser("demo", help="run the whole line on embedded defaults (simulated scanner)")
    p.add_argument("--count", type=int, default=30, help="scans to simulate (default 30)")
    p.add_argument("--rate", type=float, default=1.0, help="scans per second (0: no pause)")
    p.add_argument("--defect-rate", type=float, default=0.4, help="share of defective welds")
    p.add_argument("--types", type=_types, default=None,
                   help="weld types to scan (default: every type in the model bundle)")
    p.add_argument("--models", type=Path, default=None, help="bundle folder (default: models/)")
    p.add_argument("--workdir", type=Path, default=Path("var/demo"),
                   help="spool, database, artifacts and broker files (default var/demo)")
    p.add_argument("--points", type=int, default=200_000, help="points per simulated scan")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--port", type=int, default=None, help="broker port (default: a free one)")
    p.set_defaults(func=main)


def demo_config(workdir: Path, models: Path, types: list[int], port: int) -> LineConfig:
    """The line config of the demo: everything under ``workdir``, SQLite, local broker."""
    w = workdir.resolve()
    return LineConfig(
        line="demo", station="cell1", db_url=f"sqlite:///{w / 'inspections.db'}",
        spool=SpoolSettings(dir=w / "spool", poll_s=0.1),
        mqtt=MqttSettings(port=port, reconnect_min_s=0.5, reconnect_max_s=5),
        models=ModelSettings(dir=models.resolve(), types=types),
        artifacts=LineConfig().artifacts.model_copy(update={"dir": w / "artifacts"}),
        watchdog=False, stop_flush_s=10)


def main(args: argparse.Namespace) -> int:
    models = args.models or starter_models()
    types = args.types or bundled_types(models)
    if not types:
        print(f"inspector demo: no model bundle in {models} (expected type<T>/model.json); "
              "train one with weld-train (see models/README.md)", file=sys.stderr)
        return 2
    for noisy in ("inspector.service", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    broker = LocalBroker(args.workdir.resolve() / "broker", args.port)
    cfg = demo_config(args.workdir, models, types, broker.port)
    try:
        deciders = load_deciders(cfg)
        broker.start()
    except (ConfigError, BundleError, BrokerError) as exc:
        print(f"inspector demo: cannot start: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    scanner = SimulatedScanner(cfg.spool.dir, types, args.count, args.rate, args.defect_rate,
                               args.seed, args.points)
    board = Scoreboard(scanner.truth, sys.stdout)
    daemon = Daemon(cfg, deciders)
    watcher = Subscriber(broker.port, [cfg.topic("result")], client_id="demo-view",
                         on_message=board.on_message)
    print(f"inspector demo: types {types}, {args.count} scans at {args.rate:g}/s, "
          f"broker 127.0.0.1:{broker.port} (topic {cfg.topic('result')}), "
          f"db {cfg.db_url}", flush=True)
    try:
        daemon.start()
        feeder = scanner.start(stop)
        _wait(stop, feeder, board, args)
    finally:
        stop.set()
        daemon.stop()
        watcher.close()
        broker.stop()
    print("\n" + board.report())
    if scanner.errors:
        print(f"simulator errors: {len(scanner.errors)}; first: {scanner.errors[0]}")
    print(f"review the rejects: inspector review --db {cfg.db_url} list --decision fail")
    return 0


def _wait(stop: threading.Event, feeder: threading.Thread, board: Scoreboard,
          args: argparse.Namespace) -> None:
    """Until every delivered scan has its result (or Ctrl-C, or a generous timeout)."""
    deadline = time.monotonic() + args.count / max(args.rate, 0.1) + 120.0
    while not stop.wait(0.2):
        delivered = len(board.truth)
        if not feeder.is_alive() and board.count() >= delivered:
            return
        if time.monotonic() > deadline:
            log.warning("demo: timed out waiting for %d results", delivered - board.count())
            return
