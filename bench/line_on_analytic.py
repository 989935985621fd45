"""The line's whole decision on scans this project's simulator never made: analytic shapes.

    .venv/bin/python bench/line_on_analytic.py [--types 2,3,4,5,7,8,9,10,11] [--good 60]
        [--per-class 40] [--seed 1] [--workers 2] [--models models] [--out FILE.json]

Each shape is drawn by ``bench/analytic_shapes.make_shape`` (closed-form beads, plates and
defects, the scanner's spacing, noise, outliers and a camera's occlusion; never
synth_defects or the weld simulator) and goes the daemon's way: cloud -> height map ->
quality gate -> the type's committee (``models/typeN``) -> the norm gauge's vote
(``inspector.inspection.inspect_scan``). A shape counts as

- **good**: a good weld, or a defect clearly inside its limit (size at most
  ``1 - MARGIN`` of it; a ball also when it stands :data:`HEIGHT_MARGIN_MM` under the
  height limit);
- **bad**: a defect clearly beyond its limit (size ``1 + MARGIN`` of it or more; a ball
  also :data:`HEIGHT_MARGIN_MM` over the height limit);
- neither (left out): within the margin of the limit, where the norm's own figure decides.

Per type: false accept (bad shapes passed) and false reject (good shapes not passed), the
latter split by who rejected (quality gate, committee, gauge), and the share of bad shapes
the committee alone and the gauge alone fail. Rows and summary go to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import defaultdict
from functools import cache
from multiprocessing import get_context
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.analytic_shapes import DEFECTS, SUPPORTED_TYPES, make_shape  # noqa: E402

MARGIN = 0.15
"""Shapes within this share of their limit are left out (the norm decides them, not us)."""
HEIGHT_MARGIN_MM = 0.1
"""... and balls within this much of the height limit."""
SEED_STRIDE = 100_000
GATE_DEFECTS = ("no_weld", "capture_failure")
"""What the quality gate names when it refuses a scan."""


def label_of(truth: dict[str, Any]) -> str:
    """``good``, ``bad`` or ``near`` (left out) for one shape's truth."""
    if truth["defect"] == "good":
        return "good"
    size, limit = float(truth["size_mm"]), float(truth["limit_mm"])
    extra = truth.get("extra") or {}
    over = size >= (1 + MARGIN) * limit
    under = size <= (1 - MARGIN) * limit
    if "above_top_mm" in extra:
        h, hl = float(extra["above_top_mm"]), float(extra["height_limit_mm"])
        over = over and h >= hl + HEIGHT_MARGIN_MM
        under = under or h <= hl - HEIGHT_MARGIN_MM
    return "bad" if over else "good" if under else "near"


@cache
def _decider(models: str, weld_type: int) -> Any:
    from inspector.decision.committee import Committee

    return Committee.from_bundle(Path(models) / f"type{weld_type}")


def decide_one(job: tuple[str, int, int, str]) -> dict[str, Any]:
    """Draw one shape and run it through the line; a row of truth and decision."""
    from inspector.inspection import inspect_scan
    from point_cloud.types import ScanIdentity

    defect, weld_type, seed, models = job
    scan = make_shape(defect, weld_type, seed)
    truth = scan.truth.to_dict()
    row: dict[str, Any] = {"defect": defect, "weld_type": weld_type, "seed": seed,
                           "label": label_of(truth), "truth": truth,
                           "scan": {k: scan.params[k] for k in ("plate", "shadow", "spacing_mm",
                                                                "noise_mm", "camera_deg")}}
    ident = ScanIdentity("ANALYTIC", f"S{seed}", weld_type)
    res = inspect_scan(f"analytic_{seed}.ply", {weld_type: _decider(models, weld_type)},
                       ident, reader=lambda _path: scan.cloud)
    v = res.verdict
    gated = v.defect in GATE_DEFECTS and v.reason is not None
    row.update(decision=str(v.decision), score=round(float(v.score), 4),
               threshold=round(float(v.threshold), 4), reason=v.reason, gated=gated,
               committee_fail=bool(not gated and v.score >= v.threshold),
               gauge_fail=bool(not gated and v.member_scores.get("gauge") == 1.0))
    return row


def _pct(n: float, d: float) -> float | None:
    return round(100.0 * n / d, 2) if d else None


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per type: FA, FR (and who rejected), and what each voter catches of the bad."""
    acc: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for r in rows:
        a = acc[r["weld_type"]]
        if r["label"] == "good":
            a["good"] += 1
            if r["decision"] != "PASS":
                a["fr"] += 1
                who = ("gate" if r["gated"] else
                       "committee" if r["committee_fail"] else "gauge")
                a[f"fr_{who}"] += 1
        elif r["label"] == "bad":
            a["bad"] += 1
            a["fa"] += r["decision"] == "PASS"
            a["committee_catches"] += r["committee_fail"]
            a["gauge_catches"] += r["gauge_fail"]
    return {str(t): {"good": int(a["good"]), "bad": int(a["bad"]),
                     "false_accept_pct": _pct(a["fa"], a["bad"]),
                     "false_reject_pct": _pct(a["fr"], a["good"]),
                     "false_reject_by": {k: int(a[f"fr_{k}"]) for k in
                                         ("gate", "committee", "gauge")},
                     "committee_catches_pct": _pct(a["committee_catches"], a["bad"]),
                     "gauge_catches_pct": _pct(a["gauge_catches"], a["bad"])}
            for t, a in sorted(acc.items())}


def markdown(summary: dict[str, Any]) -> str:
    lines = ["| type | good | bad | false accept | false reject | rejected by gate / "
             "committee / gauge | bad failed by the committee / the gauge |",
             "|---|---|---|---|---|---|---|"]
    for t, s in summary.items():
        by = s["false_reject_by"]
        lines.append(f"| {t} | {s['good']} | {s['bad']} | {s['false_accept_pct']} % | "
                     f"{s['false_reject_pct']} % | {by['gate']} / {by['committee']} / "
                     f"{by['gauge']} | {s['committee_catches_pct']} / {s['gauge_catches_pct']} % |")
    return "\n".join(lines)


def _init_worker() -> None:
    import cv2

    cv2.setNumThreads(1)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--types", default=",".join(map(str, SUPPORTED_TYPES)))
    ap.add_argument("--good", type=int, default=60)
    ap.add_argument("--per-class", type=int, default=40)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--models", default=str(ROOT / "models"))
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" /
                    "line_on_analytic.json")
    args = ap.parse_args(argv)
    types = [int(t) for t in args.types.split(",")]
    jobs = [(c, t, args.seed * SEED_STRIDE + t * 1000 + i, args.models) for t in types
            for c, n in (("good", args.good), *((d, args.per_class) for d in DEFECTS))
            for i in range(n)]
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    t0 = time.perf_counter()
    from tqdm import tqdm

    with get_context("fork").Pool(args.workers, initializer=_init_worker) as pool:
        rows = list(tqdm(pool.imap(decide_one, jobs, chunksize=4), total=len(jobs),
                         desc="shapes"))
    summary = summarise(rows)
    print(markdown(summary))
    print(f"{len(rows)} shapes in {time.perf_counter() - t0:.0f} s; models {args.models}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"settings": vars(args) | {"out": str(args.out)},
                                    "summary": summary, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
