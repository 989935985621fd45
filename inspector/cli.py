"""``inspector`` command line: one sub-command per module in ``inspector.commands``.

Each command module exposes ``register(subparsers)`` which adds its parser and sets
``func`` (taking the parsed args, returning an exit code).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

# Add a module here when you add a command; each lives in inspector/commands/<name>.py.
COMMANDS: tuple[str, ...] = (
    "run", "inspect", "review", "outbox", "demo",
    "simulate",
    "heightmap",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="inspector", description="Weld inspection service.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        importlib.import_module(f"inspector.commands.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
