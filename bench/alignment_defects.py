"""How far a defect moves the alignment: each defective scan against its good twin.

    .venv/bin/python bench/alignment_defects.py [--types 2,3,4,5,8,9,10,11]
        [--defects ball,cut,excess,hole,lack,deviation] [--seeds 8] [--points 300000]

For each line type and defect class, ``--seeds`` simulated welds at the extreme poses are
scanned twice, good and with the defect drawn on the same surface
(``synth_defects.scan_defects``), both prepared, and the pose change between them is
reported: the median and worst turn (deg) and the median and worst move of the bead centre
(mm). A good alignment keeps the weld's frame wherever the defect leaves the bead's
majority alone (balls, holes, cuts); a deviation or lack that bends or narrows most of a
short bead moves it by design of the line fit (within the rotation tolerance).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "point_cloud")]
from test_prepare import EXTREME  # noqa: E402

from point_cloud.config import weld_type_profile  # noqa: E402
from point_cloud.prepare import prepare  # noqa: E402
from point_cloud.simulator import simulate_weld  # noqa: E402
from synth_defects.scan_defects import defect_edit  # noqa: E402


def pose_change(weld_type: int, seed: int, defect: str, points: int) -> tuple[float, float]:
    """(|turn| deg, |centre move| mm) of the defective scan's alignment vs the good one's."""
    profile = weld_type_profile(weld_type)
    pose = EXTREME[seed % 2]
    good = prepare(simulate_weld(weld_type, seed, points=points, pose=pose).cloud, profile)
    edit, _ = defect_edit(weld_type, seed, defect, points, profile)
    bad = prepare(simulate_weld(weld_type, seed, points=points, pose=pose, edit=edit).cloud,
                  profile)
    m = bad.transform @ np.linalg.inv(good.transform)
    return abs(math.degrees(math.atan2(m[1, 0], m[0, 0]))), math.hypot(m[0, 3], m[1, 3])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--types", default="2,3,4,5,8,9,10,11")
    ap.add_argument("--defects", default="ball,cut,excess,hole,lack,deviation")
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--points", type=int, default=300_000)
    args = ap.parse_args(argv)
    for t in (int(v) for v in args.types.split(",")):
        cells = []
        for defect in args.defects.split(","):
            r = np.array([pose_change(t, s, defect, args.points)
                          for s in range(1, args.seeds + 1)])
            cells.append(f"{defect} {np.median(r[:, 0]):.2f}/{r[:, 0].max():.1f} deg "
                         f"{np.median(r[:, 1]):.2f}/{r[:, 1].max():.1f} mm")
        print(f"type {t:2d}: " + " | ".join(cells), flush=True)
    print("(median/worst over the seeds)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
