"""Alignment accuracy over many seeds at the extreme poses (3 mm offset and 5 deg at once).

    .venv/bin/python bench/alignment_sweep.py [--types 2,3,4,5,7,8,9,10,11] [--seeds 20]
                                              [--points 300000] [--draws 1]

Each simulated good weld is prepared (``--draws`` times, each on another random draw of the
decision subsample) and the recovered transform is compared with the simulator's true pose
(the same error measure as ``tests/point_cloud/test_prepare.py``). Prints, per type, the
worst and median offset error (mm), the mean and worst rotation error (deg) and how many
runs miss the issue's 0.2 mm / 0.5 deg.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "point_cloud")]
from test_prepare import EXTREME, alignment_error  # noqa: E402

from point_cloud.prepare import prepare  # noqa: E402
from point_cloud.simulator import simulate_weld  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--types", default="2,3,4,5,7,8,9,10,11")
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--points", type=int, default=300_000, help="scanner samples per scan")
    ap.add_argument("--draws", type=int, default=1,
                    help="subsample draws per weld (prepare's seed 0, 1, ...)")
    args = ap.parse_args(argv)
    misses = total = 0
    for t in (int(v) for v in args.types.split(",")):
        errs = np.array([
            alignment_error(scan, prepare(scan.cloud, scan.profile, seed=draw).transform)
            for scan in (simulate_weld(t, seed, points=args.points, pose=EXTREME[seed % 2])
                         for seed in range(1, args.seeds + 1))
            for draw in range(args.draws)])
        miss = int(((errs[:, 1] >= 0.2) | (errs[:, 0] >= 0.5)).sum())
        misses, total = misses + miss, total + len(errs)
        print(f"type {t:2d}: offset worst {errs[:, 1].max():.3f} mm, median "
              f"{np.median(errs[:, 1]):.3f} mm; rotation mean {errs[:, 0].mean():.3f}, worst "
              f"{errs[:, 0].max():.3f} deg; {miss} of {len(errs)} miss 0.2 mm / 0.5 deg")
    print(f"all: {total - misses} of {total} within 0.2 mm and 0.5 deg")
    return 0


if __name__ == "__main__":
    sys.exit(main())
