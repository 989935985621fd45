"""Benchmark: read, prepare and project at 0.5, 2 and 8 million points, single-threaded.

Sizes count the points in the cloud (the simulator's sample count is scaled to leave that
many after removed plates and shadows). Stages are timed round-robin: each of ``--repeat``
rounds times a plain ``numpy`` copy of the (N, 3) float32 array, the read, prepare and
project in turn, and each figure is its best round. A slow spell of the machine then hits
the baseline and the stages alike instead of one stage's whole block, and every figure is
also given as points/s and as a ratio to the copy. "prep+proj" is the best round's sum.
Writes ``bench/results/point_cloud.json``.

    .venv/bin/python bench/bench_point_cloud.py [--sizes 0.5,2,8] [--types 4 | 2,3,4,...]
        [--format npy|ply] [--repeat 15]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from functools import partial  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import cv2  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from point_cloud.prepare import prepare, project_prepared  # noqa: E402
from point_cloud.read import read_scan  # noqa: E402
from point_cloud.simulator import samples_for_points, simulate_weld  # noqa: E402
from point_cloud.write import write_scan  # noqa: E402

cv2.setNumThreads(1)
RESULTS = Path(__file__).resolve().parent / "results" / "point_cloud.json"


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return (time.perf_counter() - t0) * 1e3, out


def run_size(n: int, weld_type: int, fmt: str, repeat: int, tmp: Path) -> dict[str, Any]:
    scan = simulate_weld(weld_type, 1, points=samples_for_points(weld_type, n, seed=1))
    cloud = scan.cloud
    path = write_scan(cloud, tmp / f"{cloud.identity.stem()}.{fmt}")  # type: ignore[union-attr]
    best = dict.fromkeys(("copy", "read", "prepare", "project", "prepare_project"), math.inf)
    for _ in range(repeat):  # round-robin (module docstring)
        ms = {"copy": timed(cloud.points.copy)[0]}
        ms["read"], read_cloud = timed(partial(read_scan, path))
        ms["prepare"], prep = timed(partial(prepare, read_cloud, scan.profile))
        ms["project"], hm = timed(partial(project_prepared, read_cloud, prep, scan.profile))
        ms["prepare_project"] = ms["prepare"] + ms["project"]
        best = {k: min(v, ms[k]) for k, v in best.items()}
    n_pts = len(read_cloud)
    row: dict[str, Any] = {"type": weld_type, "points": n_pts,
                           **{f"{k}_ms": v for k, v in best.items()},
                           "valid_fraction": hm.valid_fraction}
    for stage in ("read", "prepare", "project", "prepare_project"):
        row[f"{stage}_mpts_per_s"] = n_pts / row[f"{stage}_ms"] / 1e3
        row[f"{stage}_vs_copy"] = row[f"{stage}_ms"] / best["copy"]
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", default="0.5,2,8", help="millions of points, comma list")
    ap.add_argument("--types", default="4", help="weld types, comma list")
    ap.add_argument("--format", default="npy", choices=("npy", "ply", "pcd", "xyz"))
    ap.add_argument("--repeat", type=int, default=15, help="rounds")
    args = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for weld_type in (int(t) for t in args.types.split(",")):
            first = len(rows)
            for size in (float(s) for s in args.sizes.split(",")):
                rows.append(run_size(int(size * 1e6), weld_type, args.format, args.repeat,
                                     Path(tmp)))
                r = rows[-1]
                print(f"type {weld_type:2d} | {r['points'] / 1e6:5.2f} M pts | "
                      f"copy {r['copy_ms']:5.1f} ms | "
                      f"read {r['read_ms']:6.1f} ms ({r['read_vs_copy']:4.1f}x) | "
                      f"prepare {r['prepare_ms']:5.1f} ms ({r['prepare_vs_copy']:5.1f}x) | "
                      f"project {r['project_ms']:5.1f} ms ({r['project_vs_copy']:5.1f}x) | "
                      f"prep+proj {r['prepare_project_ms']:6.1f} ms "
                      f"({r['prepare_project_vs_copy']:5.1f}x), "
                      f"{r['prepare_project_mpts_per_s']:5.1f} Mpts/s", flush=True)
            if len(rows) - first >= 2:
                a, b = rows[first], rows[-1]
                scale = (b["project_ms"] / a["project_ms"]) / (b["points"] / a["points"])
                print(f"type {weld_type:2d}: project cost growth vs point growth "
                      f"({a['points']:,} -> {b['points']:,}): {scale:.2f} (1.0 = linear)")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"format": args.format, "rows": rows}, indent=1))
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
