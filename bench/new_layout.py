"""Good scans of a layout the default weld types do not have, for commissioning benchmarks.

Weld type 12: a 30 mm lap fillet, 7 mm wide and 2.4 mm high, its upper plate 1.5 mm above
the lower one (the simulator's "upper" kind), 400 k points a scan, written as
``P<seed>_W1_t12.ply``.

    .venv/bin/python bench/new_layout.py OUT_DIR COUNT [FIRST_SEED]
"""

from __future__ import annotations

import sys
from pathlib import Path

from tqdm import tqdm

from point_cloud.config import Geometry, Roi, WeldTypeProfile
from point_cloud.simulator import SimulatedScan, SurfaceEdit, simulate_weld
from point_cloud.types import ScanIdentity
from point_cloud.write import write_scan

NEW_LAYOUT = WeldTypeProfile(weld_type=12, geometry=Geometry(
    path="line", bead_length_mm=30, bead_width_mm=7.0, bead_height_mm=2.4, plate="upper"),
    roi=Roi(length_mm=40, width_mm=17))


def new_weld(seed: int, edit: SurfaceEdit | None = None,
             points: int = 400_000) -> SimulatedScan:
    """One weld of :data:`NEW_LAYOUT` (good, or changed by ``edit``), identity ``P<seed>``."""
    return simulate_weld(12, seed, profile=NEW_LAYOUT, points=points, edit=edit,
                         identity=ScanIdentity(f"P{seed:06d}", "W1", 12))


def scan_name(seed: int) -> str:
    return f"P{seed:06d}_W1_t12.ply"


def write_goods(out: Path, count: int, seed0: int = 0, points: int = 400_000,
                progress: bool = True) -> list[Path]:
    """``count`` good welds of :data:`NEW_LAYOUT` (seeds from ``seed0``) under ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    return [write_scan(new_weld(seed, points=points).cloud, out / scan_name(seed))
            for seed in tqdm(range(seed0, seed0 + count), desc="good scans", unit="scan",
                             disable=not progress)]


if __name__ == "__main__":
    write_goods(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 0)
