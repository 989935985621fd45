"""``inspector simulate``: write simulated good welds as scan files (demo cell, test data).

Weld ``i`` of type ``T`` uses seed ``S + i`` and is named ``SIM-<S+i>_W<T>_t<T>.<ext>``
(plus its identity sidecar), so the same arguments always give the same bytes.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from tqdm import tqdm

from point_cloud.config import parse_weld_types
from point_cloud.heightmap_io import preview_u8
from point_cloud.profile_grid import rasterise
from point_cloud.simulator import default_identity, simulate_weld
from point_cloud.types import Cloud, HeightMap
from point_cloud.write import FORMATS, default_extension, write_scan

log = logging.getLogger(__name__)


def parse_types(text: str) -> tuple[int, ...]:
    """``all``, one type or a comma list (``2,5,7``) of types in the weld-types file."""
    try:
        return parse_weld_types(text)
    except ValueError as exc:            # ConfigError too: an unreadable weld-types file
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, found {text!r}")
    return value


def write_top_view(cloud: Cloud, png: Path) -> Path:
    """An 8-bit top view in the scanner frame (X to the right, +Y up; black = no points)."""
    z, valid, spec = rasterise(cloud.points)
    hm = HeightMap(z=z.T[::-1].astype(np.float32), valid=valid.T[::-1], mm_per_px=spec.x_pitch_mm)
    png.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(png), preview_u8(hm)):
        raise OSError(f"{png}: could not write the preview")
    return png


def register(sub: Any) -> None:
    p = sub.add_parser("simulate", help="write simulated good weld scans",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--type", dest="types", type=parse_types, required=True,
                   help="weld type, comma list or 'all'")
    p.add_argument("--count", type=_positive, default=1, help="welds per type (default 1)")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--format", choices=FORMATS, default="ply",
                   help="file format (default ply; grid = 16-bit PNG profile grid)")
    p.add_argument("--points", type=_positive, default=None,
                   help="samples per scan (default: the scanner's fine spacing)")
    p.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    p.add_argument("--preview", type=Path, default=None, metavar="DIR",
                   help="also write an 8-bit top view of each scan here (keep it out of a spool)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    ext = default_extension(args.format)
    jobs = [(t, args.seed + i) for t in args.types for i in range(args.count)]
    args.out.mkdir(parents=True, exist_ok=True)
    for weld_type, seed in tqdm(jobs, desc="simulate", unit="scan"):
        ident = default_identity(weld_type, seed)
        scan = simulate_weld(weld_type, seed, points=args.points, identity=ident)
        write_scan(scan.cloud, args.out / f"{ident.stem()}{ext}", args.format)
        if args.preview is not None:
            write_top_view(scan.cloud, args.preview / f"{ident.stem()}.png")
    log.info("wrote %d %s scans to %s", len(jobs), args.format, args.out)
    return 0
