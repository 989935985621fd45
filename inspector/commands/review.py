"""``inspector review list|show|verdict|export``: operators' review of rejects (same DB)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from inspector.commands.store_args import add_store_options, open_line_store
from inspector.review.export import export_reviewed
from inspector.review.queries import (
    VERDICTS,
    ListFilter,
    ReviewError,
    add_review,
    get_inspection,
    latest_verdict,
    list_inspections,
)
from inspector.service.messages import stored_message
from inspector.store.models import as_utc
from point_cloud.config import ConfigError, weld_type_arg


def parse_since(text: str) -> datetime:
    """An ISO date/time (UTC if no zone) or a look-back such as ``30m``, ``12h``, ``7d``."""
    units = {"m": "minutes", "h": "hours", "d": "days"}
    if text[-1:] in units and text[:-1].replace(".", "", 1).isdigit():
        return datetime.now(UTC) - timedelta(**{units[text[-1]]: float(text[:-1])})
    try:
        return as_utc(datetime.fromisoformat(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"--since: expected an ISO date/time or 30m/12h/7d, found {text!r}") from exc


def register(sub: Any) -> None:
    p = sub.add_parser("review", help="review rejected welds")
    add_store_options(p)
    rs = p.add_subparsers(dest="review_command", required=True)
    ls = rs.add_parser("list", help="list inspections, newest first")
    ls.add_argument("--decision", type=str.upper, choices=("PASS", "FAIL", "ERROR"))
    ls.add_argument("--type", type=weld_type_arg, dest="weld_type")
    ls.add_argument("--since", type=parse_since)
    ls.add_argument("--unreviewed", action="store_true")
    ls.add_argument("--limit", type=int, default=100)
    ls.set_defaults(func=cmd_list)
    sh = rs.add_parser("show", help="details of one inspection and its overlay PNG")
    sh.add_argument("id")
    sh.set_defaults(func=cmd_show)
    vd = rs.add_parser("verdict", help="record an operator's verdict")
    vd.add_argument("id")
    vd.add_argument("verdict", choices=VERDICTS)
    vd.add_argument("--note")
    vd.add_argument("--reviewer")
    vd.set_defaults(func=cmd_verdict)
    ex = rs.add_parser("export", help="export reviewed maps as a training dataset")
    ex.add_argument("--verdict", choices=VERDICTS, default="false-reject")
    ex.add_argument("--out", type=Path, required=True)
    ex.set_defaults(func=cmd_export)
    sv = rs.add_parser("serve", help="the review web page (needs a token)")
    sv.add_argument("--host", default="127.0.0.1", help="bind address (default: localhost)")
    sv.add_argument("--port", type=int, default=8088)
    sv.add_argument("--token-file", type=Path, default=None,
                    help="file with a 'token=...' line (else $WELD_REVIEW_TOKEN)")
    sv.add_argument("--export-dir", type=Path, default=None,
                    help="where the page's export writes (default with --config: "
                         "review-exports beside the artifacts folder)")
    sv.set_defaults(func=cmd_serve)


def _store(args: argparse.Namespace) -> Any:
    cfg, factory = open_line_store(args)
    args.types_file = cfg.weld_types_file if cfg else None
    args.default_export_dir = cfg.artifacts.dir.parent / "review-exports" if cfg else None
    return factory


def _guard(fn: Any) -> Any:
    def run(args: argparse.Namespace) -> int:
        try:
            return int(fn(args, _store(args)))
        except (ReviewError, ConfigError) as exc:
            print(f"inspector review: {exc}", file=sys.stderr)
            return 2
    return run


@_guard
def cmd_list(args: argparse.Namespace, factory: Any) -> int:
    rows = list_inspections(factory, ListFilter(args.decision, args.weld_type, args.since,
                                                args.unreviewed, args.limit))
    print(f"{'id':<12} {'time (UTC)':<19} {'decision':<8} {'type':>4} {'serial':<14} "
          f"{'weld':<10} {'defect':<16} {'score':>6} review")
    for r in rows:
        print(f"{r.id[:12]:<12} {as_utc(r.created_at):%Y-%m-%d %H:%M:%S} {r.decision:<8} "
              f"{r.weld_type or '-':>4} {r.part_serial or '-':<14} {r.weld_id or '-':<10} "
              f"{r.defect or '-':<16} {r.score:6.3f} {latest_verdict(r) or '-'}")
    return 0


@_guard
def cmd_show(args: argparse.Namespace, factory: Any) -> int:
    r = get_inspection(factory, args.id)
    msg = stored_message(r.result)
    location, size = (msg.location_mm, msg.size) if msg else (None, None)
    members = msg.member_scores if msg else None
    print(f"inspection  {r.id}\ntime        {as_utc(r.created_at).isoformat()}\n"
          f"scan        {r.scan_name}\nidentity    {r.part_serial} / {r.weld_id} / type "
          f"{r.weld_type}\ndecision    {r.decision}  score {r.score:.3f}  threshold "
          f"{r.threshold:.3f}\ndefect      {r.defect or '-'}  at {location}  "
          f"size {size}\nmembers     {members}\n"
          f"reason      {r.reason or '-'}\nbundle      {r.bundle_version or '-'}")
    for a in r.artifacts:
        print(f"{a.kind:<11} {a.path}")
    for rv in r.reviews:
        print(f"review      {as_utc(rv.created_at):%Y-%m-%d %H:%M} {rv.verdict} "
              f"{rv.reviewer or ''} {rv.note or ''}".rstrip())
    return 0


@_guard
def cmd_verdict(args: argparse.Namespace, factory: Any) -> int:
    rv = add_review(factory, args.id, args.verdict, args.note, args.reviewer)
    print(f"{rv.inspection_id}: {rv.verdict}")
    return 0


@_guard
def cmd_export(args: argparse.Namespace, factory: Any) -> int:
    recs = export_reviewed(factory, args.verdict, args.out, args.types_file)
    print(f"exported {len(recs)} samples to {args.out}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """The web page; refuses to start without a token (checked before the DB is opened)."""
    from inspector.web.auth import load_token  # starlette/uvicorn only when serving
    from inspector.web.serve import serve
    try:
        token = load_token(args.token_file)
        factory = _store(args)
    except (ReviewError, ConfigError) as exc:
        print(f"inspector review serve: {exc}", file=sys.stderr)
        return 2
    return serve(factory, token, args.host, args.port,
                 args.export_dir or args.default_export_dir, args.types_file)
