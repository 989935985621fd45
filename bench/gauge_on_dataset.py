"""The norm gauge alone on a generated dataset: does it fail the defects the generator made
beyond their limits, and pass the good welds?

    .venv/bin/python bench/gauge_on_dataset.py DATASET [--types 4] [--workers 2]

Every map of the dataset (``synth-defects generate``, e.g. ``--vary`` for the contract's
whole variation space) is gauged (``gauge_weld``). For each gauged class the drawn size
(the record's parameters, :data:`SIZE_PARAM`) is known, so the table gives, per class, how
many maps the gauge failed on any finding and on that class's own; good maps give the
gauge's false reject. With ``variation`` in the records, the same per axis setting.
Writes ``bench/results/gauge_on_dataset.json``.
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
from point_cloud.config import weld_type_profile  # noqa: E402
from point_cloud.heightmap_io import read_heightmap  # noqa: E402
from synth_defects.classes import GAUGED, SPECS  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "gauge_on_dataset.json"
SIZE_PARAM = {"cut": "length_mm", "hole": "diameter_mm", "ball": "diameter_mm",
              "deviation": "offset_mm", "excess": "imbalance_mm", "lack": "length_mm"}
"""The generator's parameter holding the size the norm limits, per gauged class."""


def judge(job: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    root, rec = job
    profile = weld_type_profile(int(rec["weld_type"]))
    report = gauge_weld(read_heightmap(Path(root) / rec["path"]), profile)
    own = report.findings.get(rec["defect"])
    return {"defect": rec["defect"], "label": rec["label"],
            "variation": rec.get("variation", {}),
            "failed": bool(report.exceeding),
            "own": bool(own is not None and own.exceeds),
            "size_mm": rec["params"].get(SIZE_PARAM.get(rec["defect"], ""), None),
            "measured_mm": None if own is None else round(own.value_mm, 3)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dataset", type=Path)
    ap.add_argument("--types", default="")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    records = [json.loads(line) for line in
               (args.dataset / "manifest.jsonl").read_text().splitlines() if line.strip()]
    if args.types:
        keep = {int(t) for t in args.types.split(",")}
        records = [r for r in records if int(r["weld_type"]) in keep]
    gauged = {s.name for s in GAUGED}
    records = [r for r in records if r["label"] == "good" or r["defect"] in gauged]
    jobs = [(str(args.dataset), r) for r in records]
    with mp.get_context("spawn").Pool(args.workers) as pool:
        rows = list(tqdm(pool.imap(judge, jobs, chunksize=8), total=len(jobs), desc="maps"))

    def table(key_of: Any) -> dict[str, dict[str, float]]:
        acc: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for r in rows:
            for key in key_of(r):
                a = acc[key]
                a["n"] += 1
                a["failed"] += r["failed"]
                a["own"] += r["own"]
        return {k: {**v, "failed_pct": 100 * v["failed"] / v["n"],
                    "own_pct": 100 * v["own"] / v["n"]} for k, v in sorted(acc.items())}

    per_class = table(lambda r: [r["defect"]])
    per_setting_bad = table(lambda r: [f"{a}={s}" for a, s in r["variation"].items()]
                            if r["label"] == "bad" else [])
    per_setting_good = table(lambda r: [f"{a}={s}" for a, s in r["variation"].items()]
                             if r["label"] == "good" else [])
    print(f"{args.dataset}: {len(rows)} maps gauged")
    print("| class | label | n | gauge failed | on its own class |")
    print("|---|---|---|---|---|")
    for c, v in per_class.items():
        print(f"| {c} | {SPECS[c].label} | {int(v['n'])} | {v['failed_pct']:.1f} % | "
              f"{v['own_pct']:.1f} % |")
    if per_setting_bad:
        print("\n| setting | bad: gauge failed | good: gauge failed (false reject) |")
        print("|---|---|---|")
        for k in sorted(set(per_setting_bad) | set(per_setting_good)):
            b, g = per_setting_bad.get(k, {}), per_setting_good.get(k, {})
            print(f"| {k} | {b.get('failed_pct', float('nan')):.1f} % of {int(b.get('n', 0))} "
                  f"| {g.get('failed_pct', float('nan')):.1f} % of {int(g.get('n', 0))} |")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"dataset": str(args.dataset), "per_class": per_class,
                                   "per_setting_bad": per_setting_bad,
                                   "per_setting_good": per_setting_good}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
