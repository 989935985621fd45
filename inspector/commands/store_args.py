"""The ``--config`` / ``--db`` options shared by the commands that open the line's DB."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from inspector.commands.run import default_config
from inspector.config import LineConfig, load_line_config
from inspector.store import open_store


def add_store_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, default=None, help="line config (for the DB URL)")
    p.add_argument("--db", default=None, help="SQLAlchemy URL (overrides the config)")


def open_line_store(args: Any) -> tuple[LineConfig | None, sessionmaker[Session]]:
    """The line config (None with ``--db``) and a session factory on its migrated DB."""
    logging.getLogger("alembic").setLevel(logging.WARNING)   # keep listings clean
    cfg = None if args.db else load_line_config(args.config or default_config())
    return cfg, open_store(cfg.db_url if cfg is not None else args.db)[1]
