"""``inspector heightmap SCAN [--type T] --out MAP.png``: one scan to a height map on disk.

Writes the 16-bit map, its JSON sidecar (with what prepare found: tilt, offset, rotation,
bead figures, timings) and the 8-bit preview. Bad scans exit with status 2 and a message
naming the file, the field and what was expected.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from point_cloud.config import ConfigError, weld_type_arg
from point_cloud.errors import ScanError
from point_cloud.heightmap_io import write_heightmap
from point_cloud.pipeline import read_and_project

log = logging.getLogger(__name__)


def register(sub: Any) -> None:
    p = sub.add_parser("heightmap", help="turn a scan file into a 16-bit height map",
                       description=__doc__)
    p.add_argument("scan", type=Path, help="scan file (PLY, PCD, XYZ/CSV/TXT, NPY/NPZ, grid)")
    p.add_argument("--type", type=weld_type_arg, default=None, metavar="T",
                   help="weld type (default: from the scan's identity)")
    p.add_argument("--out", type=Path, required=True, help="output MAP.png")
    p.add_argument("--no-preview", action="store_true", help="skip MAP.preview.png")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        hm = read_and_project(args.scan, args.type)
    except (ScanError, ConfigError) as exc:     # ConfigError: a type not configured
        print(f"heightmap: {exc}", file=sys.stderr)
        return 2
    png = write_heightmap(hm, args.out, preview=not args.no_preview)
    m = hm.meta
    log.info("%s -> %s: %dx%d, %.0f %% valid, tilt %.2f deg, offset %s mm, rotation %.2f deg, "
             "bead %.2f mm high x %.2f mm wide, %.0f ms", args.scan, png, hm.shape[0],
             hm.shape[1], 100 * hm.valid_fraction, m["tilt_deg"], m["offset_mm"],
             m["rotation_deg"], m["bead_height_mm"], m["bead_width_mm"], m["total_ms"])
    return 0
