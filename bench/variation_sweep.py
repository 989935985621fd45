"""Good welds drawn from the contract's whole variation space: refused, or failed by the gauge?

    .venv/bin/python bench/variation_sweep.py [--types 2,3,4,5,7,8,9,10,11] [--seeds 40]
                                              [--workers 2] [--seed0 7000]

Every weld is simulated with ``variation=VariationRule()`` (a setting of every axis of
:mod:`point_cloud.variation` drawn per weld), projected (``scan_to_heightmap``), analysed
(``find_bead``, which the quality gate's no-bead check uses) and measured by the norm gauge.
A good weld should come through with no gauge exceedance. Prints per type, and per axis
setting over all types, how many were refused (prepare could not project, or no bead
found) and how many the gauge failed, with the worst cases; writes
``bench/results/variation_sweep.json``. Nothing here is trained, so every setting is
"left out": this is the rule-based stages' leave-one-out figure.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from inspector.decision.gauge import gauge_weld  # noqa: E402
from point_cloud.bead_geometry import find_bead  # noqa: E402
from point_cloud.config import weld_type_profile  # noqa: E402
from point_cloud.errors import ScanError  # noqa: E402
from point_cloud.pipeline import scan_to_heightmap  # noqa: E402
from point_cloud.simulator import simulate_weld  # noqa: E402
from point_cloud.variation import VariationRule  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "variation_sweep.json"


def judge(job: tuple[int, int]) -> dict[str, Any]:
    """One good weld of type ``t``, seed ``seed``: outcome and its variation settings."""
    t, seed = job
    profile = weld_type_profile(t)
    scan = simulate_weld(t, seed, variation=VariationRule())
    out: dict[str, Any] = {"type": t, "seed": seed, "variation": scan.variation,
                           "outcome": "pass", "detail": ""}
    try:
        hm = scan_to_heightmap(scan.cloud, profile)
    except ScanError as exc:
        out.update(outcome="refused", detail=f"{type(exc).__name__}: {exc}"[:160])
        return out
    bead = find_bead(hm, profile)
    if bead is None:
        out.update(outcome="refused", detail="no bead found on the map")
        return out
    worst = gauge_weld(hm, profile, bead=bead).exceeding
    if worst:
        out.update(outcome="gauge_fail", detail=", ".join(
            f"{f.defect} {f.value_mm:.2f}>{f.limit_mm:.2f} mm" for f in worst))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--types", default="2,3,4,5,7,8,9,10,11")
    ap.add_argument("--seeds", type=int, default=40)
    ap.add_argument("--seed0", type=int, default=7000)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    jobs = [(int(t), args.seed0 + i) for t in args.types.split(",") for i in range(args.seeds)]
    with mp.get_context("spawn").Pool(args.workers) as pool:
        rows = list(tqdm(pool.imap(judge, jobs, chunksize=4), total=len(jobs), desc="welds"))

    def tally(key_of: Any) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for r in rows:
            for key in key_of(r):
                out[key]["n"] += 1
                out[key][r["outcome"]] += 1
        return {k: dict(v) for k, v in sorted(out.items())}

    per_type = tally(lambda r: [f"type {r['type']}"])
    per_setting = tally(lambda r: [f"{a}={s}" for a, s in r["variation"].items()])
    for title, table in (("per type", per_type), ("per setting (all types)", per_setting)):
        print(f"\n{title}:")
        for key, c in table.items():
            print(f"  {key:24s} n {c['n']:4d}  refused {c.get('refused', 0):3d}  "
                  f"gauge fail {c.get('gauge_fail', 0):3d}")
    bad = [r for r in rows if r["outcome"] != "pass"]
    n = len(rows)
    print(f"\nall: {n} good welds; refused {sum(r['outcome'] == 'refused' for r in rows)}, "
          f"gauge fail {sum(r['outcome'] == 'gauge_fail' for r in rows)} "
          f"({100.0 * len(bad) / max(n, 1):.1f} % not passed)")
    for r in bad[:25]:
        print(f"  type {r['type']} seed {r['seed']} {r['outcome']}: {r['detail']}  "
              f"{r['variation']}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"per_type": per_type, "per_setting": per_setting,
                                   "not_passed": bad}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
