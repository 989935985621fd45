"""Speed of the scan simulator and of every scan format's writer and reader.

Reports milliseconds and ratios against baselines measured in the same run, so the
figures compare across machines:

* simulator: ``simulate_weld`` vs drawing the same number of (N, 3) normal variates;
* formats: ``write_scan`` / ``read_scan`` vs a raw ``np.save`` / ``np.load`` of the cloud.

Usage: ``.venv/bin/python bench/bench_scan_io.py [--points 2000000] [--type 4] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np

from point_cloud.read import read_scan
from point_cloud.simulator import simulate_weld
from point_cloud.write import write_scan

CASES = [("ply", ".ply"), ("pcd", ".pcd"), ("npy", ".npy"), ("npz", ".npz"), ("xyz", ".xyz"),
         ("csv", ".csv"), ("grid", ".png")]


def best_ms(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1000.0 * min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=2_000_000)
    ap.add_argument("--type", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    rng = np.random.default_rng(0)
    base_sim = best_ms(lambda: rng.normal(size=(args.points, 3)), args.repeat)
    sim_ms = best_ms(lambda: simulate_weld(args.type, 1, points=args.points), args.repeat)
    cloud = simulate_weld(args.type, 1, points=args.points).cloud
    print(f"simulate type {args.type}: {args.points} samples -> {len(cloud)} points: "
          f"{sim_ms:.0f} ms = {sim_ms / base_sim:.1f}x drawing {args.points}x3 normals "
          f"({base_sim:.0f} ms)")

    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.npy"
        base_w = best_ms(lambda: np.save(raw, cloud.points), args.repeat)
        base_r = best_ms(lambda: np.load(raw), args.repeat)
        print(f"baseline np.save {base_w:.1f} ms, np.load {base_r:.1f} ms "
              f"({len(cloud)} points)")
        print(f"{'format':8s} {'write ms':>9s} {'x save':>7s} {'read ms':>8s} {'x load':>7s} "
              f"{'MiB':>6s}")
        for fmt, ext in CASES:
            path = Path(tmp) / f"{cloud.identity.stem() if cloud.identity else 'scan'}{ext}"
            w = best_ms(partial(write_scan, cloud, path, fmt), args.repeat)
            r = best_ms(partial(read_scan, path), args.repeat)
            size = path.stat().st_size / 2**20
            print(f"{fmt:8s} {w:9.0f} {w / base_w:7.1f} {r:8.0f} {r / base_r:7.1f} {size:6.1f}")


if __name__ == "__main__":
    main()
