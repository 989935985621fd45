"""``inspector outbox list [--dead]`` and ``inspector outbox retry SEQ...|--all-dead``.

A result the broker never accepts is set aside as *dead* so the ones after it go out; an
operator sees it here and, once the cause is fixed (e.g. the broker's max_packet_size),
re-queues it. A running daemon picks re-queued rows up on its own.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from inspector.commands.store_args import add_store_options, open_line_store
from inspector.store.models import OutboxMessage, as_utc
from inspector.store.outbox import outbox_rows, requeue_dead
from point_cloud.config import ConfigError


def register(sub: Any) -> None:
    p = sub.add_parser("outbox", help="list the result outbox, re-queue dead results")
    add_store_options(p)
    os_ = p.add_subparsers(dest="outbox_command", required=True)
    ls = os_.add_parser("list", help="the newest outbox rows, oldest first")
    ls.add_argument("--dead", action="store_true", help="only rows set aside as dead")
    ls.add_argument("--limit", type=int, default=100)
    ls.set_defaults(func=cmd_list)
    rt = os_.add_parser("retry", help="make dead rows pending again")
    which = rt.add_mutually_exclusive_group(required=True)
    which.add_argument("seq", nargs="*", type=int, default=[], help="outbox seqs")
    which.add_argument("--all-dead", action="store_true", help="every dead row")
    rt.set_defaults(func=cmd_retry)


def state(row: OutboxMessage) -> str:
    return "delivered" if row.delivered_at else "dead" if row.dead_at else "pending"


def _with_store(fn: Any) -> Any:
    def run(args: argparse.Namespace) -> int:
        try:
            _, factory = open_line_store(args)
        except ConfigError as exc:
            print(f"inspector outbox: {exc}", file=sys.stderr)
            return 2
        return int(fn(args, factory))
    return run


@_with_store
def cmd_list(args: argparse.Namespace, factory: Any) -> int:
    print(f"{'seq':>8} {'inspection':<32} {'state':<9} {'created (UTC)':<19} reason")
    for r in outbox_rows(factory, args.dead, args.limit):
        print(f"{r.seq:>8} {r.inspection_id:<32} {state(r):<9} "
              f"{as_utc(r.created_at):%Y-%m-%d %H:%M:%S} {r.dead_reason or '-'}")
    return 0


@_with_store
def cmd_retry(args: argparse.Namespace, factory: Any) -> int:
    done = requeue_dead(factory, None if args.all_dead else args.seq)
    print(f"re-queued {len(done)}: {' '.join(map(str, done)) or '-'}")
    missing = sorted(set(args.seq) - set(done))
    if missing:
        print(f"inspector outbox retry: not dead (or unknown): {' '.join(map(str, missing))}",
              file=sys.stderr)
        return 2
    return 0
