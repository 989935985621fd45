"""``inspector inspect SCAN [--type T] [--json]``: one scan through the daemon's pipeline.

Exit code: 0 PASS, 1 FAIL, 3 ERROR (unusable scan or capture failure). With ``--json`` the
result message is printed for every decision, ERROR included.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from inspector.commands.run import default_config
from inspector.config import LineConfig, load_line_config
from inspector.inspection import InspectionResult, inspect_scan, known_identity
from inspector.service.deciders import BundleError, load_deciders
from inspector.service.messages import (
    ResultMessage,
    inspection_id,
    result_message,
    unusable_verdict,
)
from point_cloud.config import ConfigError, weld_type_arg
from point_cloud.errors import ScanError
from point_cloud.types import Cloud, ScanIdentity

EXIT = {"PASS": 0, "FAIL": 1, "ERROR": 3}


def register(sub: Any) -> None:
    p = sub.add_parser("inspect", help="inspect one scan file and print the decision")
    p.add_argument("scan", type=Path)
    p.add_argument("--type", type=weld_type_arg, default=None, metavar="T",
                   help="weld type when the file carries no identity")
    p.add_argument("--json", action="store_true", help="print the result message as JSON")
    p.add_argument("--config", type=Path, default=None, help="line config (models, types)")
    p.set_defaults(func=main)


def _reader_with_type(weld_type: int | None) -> Any:
    from point_cloud.read import read_scan

    def read(path: Path) -> Cloud:
        cloud = read_scan(path)
        if cloud.identity is None and weld_type is not None:
            cloud.identity = ScanIdentity("cli", path.stem.replace("_", "-")[:60] or "scan",
                                          weld_type)
        return cloud
    return read


def summary(res: InspectionResult) -> str:
    v = res.verdict
    wt = res.identity.weld_type if res.identity else "?"
    parts = [v.decision, f"type {wt}", f"score {v.score:.3f}", f"threshold {v.threshold:.3f}"]
    if v.defect:
        parts.append(f"defect {v.defect}")
    if v.location_mm:
        parts.append(f"at x={v.location_mm[0]:.1f} y={v.location_mm[1]:.1f} mm")
    if v.reason:
        parts.append(f"({v.reason})")
    return "  ".join(parts)


def main(args: argparse.Namespace) -> int:
    try:
        cfg = load_line_config(args.config or default_config())
        deciders = load_deciders(cfg)
    except (ConfigError, BundleError) as exc:
        print(f"inspector: {exc}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    try:
        res = inspect_scan(args.scan, deciders, types_file=cfg.weld_types_file,
                           reader=_reader_with_type(args.type))
    except ScanError as exc:
        print(f"ERROR  {exc.reason}: {exc}", file=sys.stderr)
        if not args.json:
            return EXIT["ERROR"]
        res = InspectionResult(known_identity(args.scan, None), None, unusable_verdict(exc),
                               {"total": round((time.perf_counter() - t0) * 1e3, 3)})
    if args.json:
        print(json.dumps(_message(args.scan, cfg, res).model_dump(mode="json"), indent=1))
    else:
        print(summary(res))
    return EXIT[res.verdict.decision]


def _message(scan: Path, cfg: LineConfig, res: InspectionResult) -> ResultMessage:
    """The result message the daemon would publish for this scan (ERROR ones too)."""
    return result_message(inspection_id=_inspection_id(scan), line=cfg.line,
                          station=cfg.station, scan_name=scan.name, identity=res.identity,
                          verdict=res.verdict, timings_ms=res.timings_ms)


def _inspection_id(scan: Path) -> str:
    """The daemon's idempotency key; a file that cannot be read is keyed by its name."""
    try:
        return inspection_id(scan, scan.name, None)
    except OSError:
        return inspection_id(scan, scan.name, None, readable=False)
