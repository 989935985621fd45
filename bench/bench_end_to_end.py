"""End-to-end time per scan with the full committee, as the daemon runs it, on 2 cores.

    .venv/bin/python bench/bench_end_to_end.py [--type 7] [--points 2000000] [--scans 30]
                                               [--format ply|pcd|npy|xyz] [--models models]

Simulates ``--scans`` welds (a third of them with a defect) of about ``--points`` points
each (the scanner's sample count is scaled so that the *cloud* holds that many, after
removed plates and shadows), writes them in ``--format`` and runs each through
``inspector.inspection.inspect_scan`` (read -> prepare + project -> quality gate -> norm
gauge -> committee vote) with the starter bundle. The committee's ONNX members run on a
worker thread while the gate and the gauge measure, so "decide" is what is left of them
after the gauge (the wait and the vote), and the gate and the gauge share the cores with
them. Reports p50 / p99 of the total, the median of every stage, the throughput in welds per
second (one scan at a time, as the daemon does) and, as the machine-independent figure,
each median over a baseline measured in the same run: a plain numpy copy of one scan's
(N, 3) float32 points. Writes ``bench/results/end_to_end.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from inspector.decision.committee import Committee  # noqa: E402
from inspector.inspection import inspect_scan  # noqa: E402
from point_cloud.config import weld_type_profile  # noqa: E402
from point_cloud.simulator import samples_for_points, simulate_weld  # noqa: E402
from point_cloud.write import write_scan  # noqa: E402
from synth_defects.scan_defects import defect_edit  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "end_to_end.json"
DEFECTS = ("cut", "ball", "hole", "deviation")


def copy_baseline_ms(points: np.ndarray, repeat: int = 20) -> float:
    """Median ms of ``points.copy()`` (the same-run yardstick)."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        points.copy()
        times.append((time.perf_counter() - t0) * 1000.0)
    return float(np.median(times))


def write_scans(folder: Path, weld_type: int, n: int, points: int, fmt: str) -> list[Path]:
    profile = weld_type_profile(weld_type)
    points = samples_for_points(weld_type, points)
    paths = []
    for i in tqdm(range(n), desc="simulating scans", leave=False):
        seed = 1000 + i
        edit = None
        if i % 3 == 2:
            defect = DEFECTS[(i // 3) % len(DEFECTS)]
            edit = defect_edit(weld_type, seed, defect, points, profile)[0]
        cloud = simulate_weld(weld_type, seed, points=points, edit=edit).cloud
        paths.append(write_scan(cloud, folder / f"scan{i:04d}.{fmt}", fmt))  # id in sidecar
    return paths


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--type", type=int, default=7)
    ap.add_argument("--points", type=int, default=2_000_000)
    ap.add_argument("--scans", type=int, default=30)
    ap.add_argument("--format", default="ply")
    ap.add_argument("--models", type=Path, default=ROOT / "models")
    args = ap.parse_args(argv)

    committee = Committee.from_bundle(args.models / f"type{args.type}")
    provider = next(iter(committee.sessions.values())).get_providers()[0]
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_scans(Path(tmp), args.type, args.scans, args.points, args.format)
        inspect_scan(paths[0], {args.type: committee})            # warm-up (not counted)
        runs = []
        t0 = time.perf_counter()
        for p in tqdm(paths, desc="inspecting", leave=False):
            runs.append(inspect_scan(p, {args.type: committee}))
        wall = time.perf_counter() - t0
        cloud = simulate_weld(args.type, 0, points=samples_for_points(args.type, args.points)).cloud
        baseline = copy_baseline_ms(cloud.points)
        n_points = len(cloud.points)

    totals = np.array([r.timings_ms["total"] for r in runs])
    stages = sorted({k for r in runs for k in r.timings_ms if k != "total"})
    stage_ms = {k: float(np.median([r.timings_ms.get(k, 0.0) for r in runs])) for k in stages}
    inner = [r.heightmap.meta.get("timings_ms", {}) for r in runs if r.heightmap is not None]
    project_ms = {k: float(np.median([t.get(k, 0.0) for t in inner]))
                  for k in sorted({k for t in inner for k in t})}
    out = {
        "machine": platform.processor() or platform.machine(), "type": args.type,
        "points": n_points, "scans": args.scans, "format": args.format,
        "provider": provider,
        "decisions": {d: sum(r.verdict.decision == d for r in runs) for d in ("PASS", "FAIL",
                                                                              "ERROR")},
        "p50_ms": float(np.percentile(totals, 50)), "p99_ms": float(np.percentile(totals, 99)),
        "stage_median_ms": stage_ms, "project_stage_median_ms": project_ms,
        "throughput_welds_per_s": len(runs) / wall,
        "baseline_copy_ms": baseline,
        "p50_over_copy": float(np.percentile(totals, 50)) / baseline,
        "stage_over_copy": {k: v / baseline for k, v in stage_ms.items()},
        "target_p50_ms": 100.0,
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=1))
    print(f"type {args.type}, {n_points:,} points, {args.scans} {args.format} scans, "
          f"{out['decisions']}, ONNX Runtime on {provider}")
    print(f"p50 {out['p50_ms']:.1f} ms  p99 {out['p99_ms']:.1f} ms  "
          f"throughput {out['throughput_welds_per_s']:.2f} welds/s  (target p50 <= 100 ms)")
    print(f"baseline: numpy copy of the points {baseline:.2f} ms; p50 = "
          f"{out['p50_over_copy']:.0f}x copy")
    for k, v in stage_ms.items():
        print(f"  {k:8s} {v:8.1f} ms  {v / baseline:7.1f}x copy")
        if k == "project":
            for sub, ms in project_ms.items():
                print(f"    {sub:10s} {ms:6.1f} ms  {ms / baseline:7.1f}x copy")
    return 0


if __name__ == "__main__":
    sys.exit(main())
