"""Benchmark: read, prepare and project at 0.5, 2 and 8 million points, single-threaded.

Sizes count the points in the cloud (the simulator's sample count is scaled to leave that
many after removed plates and shadows). Each stage is timed (best of ``--repeat``) and
reported as points/s and as a ratio to a plain ``numpy`` copy of the same (N, 3) float32
array measured in the same run, so the figures compare across machines.
Writes ``bench/results/point_cloud.json``.

    .venv/bin/python bench/bench_point_cloud.py [--sizes 0.5,2,8] [--format npy|ply]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
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


def best_ms(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best * 1e3, out


def run_size(n: int, weld_type: int, fmt: str, repeat: int, tmp: Path) -> dict[str, Any]:
    scan = simulate_weld(weld_type, 1, points=samples_for_points(weld_type, n, seed=1))
    cloud = scan.cloud
    path = write_scan(cloud, tmp / f"{cloud.identity.stem()}.{fmt}")  # type: ignore[union-attr]
    copy_ms, _ = best_ms(lambda: cloud.points.copy(), repeat)
    read_ms, read_cloud = best_ms(lambda: read_scan(path), repeat)
    prep_ms, prep = best_ms(lambda: prepare(read_cloud, scan.profile), repeat)
    proj_ms, hm = best_ms(lambda: project_prepared(read_cloud, prep, scan.profile), repeat)
    n_pts = len(read_cloud)
    row = {"points": n_pts, "copy_ms": copy_ms, "read_ms": read_ms, "prepare_ms": prep_ms,
           "project_ms": proj_ms, "prepare_project_ms": prep_ms + proj_ms,
           "valid_fraction": hm.valid_fraction}
    for stage in ("read", "prepare", "project", "prepare_project"):
        row[f"{stage}_mpts_per_s"] = n_pts / row[f"{stage}_ms"] / 1e3
        row[f"{stage}_vs_copy"] = row[f"{stage}_ms"] / copy_ms
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", default="0.5,2,8", help="millions of points, comma list")
    ap.add_argument("--type", type=int, default=4)
    ap.add_argument("--format", default="npy", choices=("npy", "ply", "pcd", "xyz"))
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in (float(s) for s in args.sizes.split(",")):
            rows.append(run_size(int(size * 1e6), args.type, args.format, args.repeat, Path(tmp)))
            r = rows[-1]
            print(f"{r['points'] / 1e6:6.2f} M pts | copy {r['copy_ms']:7.1f} ms | "
                  f"read {r['read_ms']:8.1f} ms ({r['read_vs_copy']:6.1f}x) | "
                  f"prepare {r['prepare_ms']:7.1f} ms ({r['prepare_vs_copy']:5.1f}x) | "
                  f"project {r['project_ms']:7.1f} ms ({r['project_vs_copy']:5.1f}x) | "
                  f"prep+proj {r['prepare_project_ms']:7.1f} ms, "
                  f"{r['prepare_project_mpts_per_s']:6.1f} Mpts/s", flush=True)
    if len(rows) >= 2:
        a, b = rows[0], rows[-1]
        scale = (b["project_ms"] / a["project_ms"]) / (b["points"] / a["points"])
        print(f"project cost growth vs point growth ({a['points']:,} -> {b['points']:,}): "
              f"{scale:.2f} (1.0 = linear)")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"type": args.type, "format": args.format, "rows": rows},
                                  indent=1))
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
