"""``inspector run --config line.yaml``: the daemon (stops cleanly on SIGTERM/SIGINT)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from inspector.config import load_line_config
from inspector.service.daemon import Daemon
from inspector.service.deciders import BundleError, load_deciders
from point_cloud.config import ConfigError, config_dir

log = logging.getLogger(__name__)


def default_config() -> Path:
    return config_dir() / "line.yaml"


def register(sub: Any) -> None:
    p = sub.add_parser("run", help="run the inspection daemon")
    p.add_argument("--config", type=Path, default=None,
                   help="line config (default: config/line.yaml)")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    try:
        cfg = load_line_config(args.config or default_config())
        deciders = load_deciders(cfg)
    except (ConfigError, BundleError) as exc:
        print(f"inspector: cannot start: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def _on_signal(signum: int, _frame: object) -> None:
        log.info("signal %s: stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    daemon = Daemon(cfg, deciders)
    daemon.start()
    return daemon.serve(stop)
