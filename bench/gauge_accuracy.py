"""The norm gauge's accuracy on analytic shapes (bench/analytic_shapes.py), per defect class.

    .venv/bin/python bench/gauge_accuracy.py [--per-class 200] [--types 3,4,5,10,11]
        [--classes good,hole,ball,cut,deviation,excess] [--seed 0] [--workers 2]
        [--max-points 600000] [--out /tmp/gauge_accuracy.json] [--plot PNG | --no-plot]

Each shape (drawn by ``analytic_shapes.make_shape``, never by synth_defects or the weld
simulator; types cycle through ``--types``) goes cloud -> ``scan_to_heightmap`` ->
``inspector.decision.gauge.gauge_weld``, and the class's finding is compared with the truth:
error = measured - true (hole / ball diameter, cut length, deviation offset, excess
imbalance). Per class the table gives the count, the median and 95th percentile of |error|,
the share within the tolerance (+-0.3 mm; +-0.15 mm for excess; the issue's bar: 95 %), the
share flagged as exceeding among shapes beyond the limit by more than the gauge's own
uncertainty (a ball: its height above the bead top too), the share flagged among shapes
inside the limit by more than the uncertainty, and the share where another class's finding
exceeds. For good welds: the share with any finding exceeding (false rejects). A second
table splits the within-tolerance share by weld type. Every shape's row (truth, finding,
scan parameters) goes to the JSON for digging into the misses.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
import time
import traceback
from collections.abc import Iterable
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.analytic_shapes import CLASSES, SUPPORTED_TYPES, make_shape  # noqa: E402
from inspector.decision.gauge import BALL_HEIGHT_UNCERTAINTY_MM  # noqa: E402

TOLERANCE_MM: dict[str, float] = {"hole": 0.3, "ball": 0.3, "cut": 0.3, "deviation": 0.3,
                                  "excess": 0.15}
TARGET_SHARE = 0.95
SCAN_FIGURES = ("plate", "crop_side", "step_mm", "lower_removed", "patch_mm", "outer_tilt_deg",
                "spacing_mm", "rotation_deg", "tilt_deg", "noise_mm", "outlier_fraction",
                "shadow", "camera_deg", "points")
"""The scan's figures each row keeps (``make_shape``'s params)."""
SEED_STRIDE = 100_000


# --------------------------------------------------------------------------- one shape
def _also(finding: Any) -> dict[str, float]:
    """The finding's further figures (``also``: name -> (value, limit), or ``extra``)."""
    out: dict[str, float] = {}
    for name in ("also", "extra"):
        for k, v in (getattr(finding, name, None) or {}).items():
            out[k] = float(v[0] if isinstance(v, tuple | list) else v)
    return out


def _finding_dict(f: Any) -> dict[str, Any]:
    loc = getattr(f, "location_mm", None)
    return {"value_mm": float(f.value_mm), "uncertainty_mm": float(f.uncertainty_mm),
            "hidden_mm": float(f.hidden_mm),
            "limit_mm": float(f.limit_mm), "exceeds": bool(f.exceeds),
            "location_mm": None if loc is None else [float(loc[0]), float(loc[1])],
            "also": _also(f)}


def measure_one(job: tuple[str, int, int, int]) -> dict[str, Any]:
    """Generate, project and gauge one shape; a row of truth, findings and scan figures."""
    from inspector.decision.gauge import gauge_weld
    from point_cloud.pipeline import scan_to_heightmap

    defect, weld_type, seed, max_points = job
    row: dict[str, Any] = {"defect": defect, "weld_type": weld_type, "seed": seed}
    t0 = time.perf_counter()
    scan = make_shape(defect, weld_type, seed, max_points=max_points)
    p = scan.params
    row["truth"] = scan.truth.to_dict()
    row["scan"] = {k: p[k] for k in SCAN_FIGURES}
    row["scan"]["bead"] = {k: p["bead"][k] for k in ("width_mm", "height_mm", "n_exp", "m_exp")}
    row["defect_params"] = p["defect_params"]
    t1 = time.perf_counter()
    try:
        hm = scan_to_heightmap(scan.cloud, scan.profile)
        t2 = time.perf_counter()
        report = gauge_weld(hm, scan.profile)
    except Exception as exc:  # a failure is a result of the benchmark, not its end
        row["error"] = f"{type(exc).__name__}: {exc}"[:300]
        row["traceback"] = traceback.format_exc(limit=3)[-600:]
        return row
    t3 = time.perf_counter()
    row["findings"] = {k: _finding_dict(f) for k, f in report.findings.items()}
    bead = getattr(report, "bead", None)
    if bead is not None:
        row["bead"] = {"width_mm": float(bead.width_mm), "height_mm": float(bead.height_mm),
                       "length_mm": float(bead.length_mm)}
    row["ms"] = {"generate": round((t1 - t0) * 1e3, 1), "heightmap": round((t2 - t1) * 1e3, 1),
                 "gauge": round((t3 - t2) * 1e3, 1)}
    return row


def _init_worker() -> None:
    """One thread per worker process: the workers already fill the cores."""
    import cv2

    cv2.setNumThreads(1)


# --------------------------------------------------------------------------- summary
def _measured(row: dict[str, Any]) -> dict[str, Any] | None:
    return (row.get("findings") or {}).get(row["defect"])


def _beyond(row: dict[str, Any], f: dict[str, Any] | None) -> bool:
    """True size beyond the limit by more than the gauge's uncertainty (the gauge's own
    guarantee: such a defect must be flagged). A ball also needs its height above the bead
    top beyond the height limit by as much. The uncertainty upwards: what a stretch not
    measured may hide too (``hidden_mm``)."""
    t = row["truth"]
    u = f["uncertainty_mm"] + f.get("hidden_mm", 0.0) if f else 0.0
    if t["size_mm"] - u <= t["limit_mm"]:
        return False
    if row["defect"] == "ball":
        return bool(t["extra"]["above_top_mm"] - BALL_HEIGHT_UNCERTAINTY_MM
                    > t["extra"]["height_limit_mm"])
    if row["defect"] == "excess":
        return bool(t["extra"].get("section_mm", 0.0) >= 5.0)
    return True


def _inside(row: dict[str, Any], f: dict[str, Any] | None) -> bool:
    """True size inside the limit by more than the uncertainty: must not be flagged."""
    t = row["truth"]
    u = f["uncertainty_mm"] if f else 0.0
    if t["size_mm"] + u < t["limit_mm"]:
        return True
    return bool(row["defect"] == "ball"
                and t["extra"]["above_top_mm"] + BALL_HEIGHT_UNCERTAINTY_MM
                < t["extra"]["height_limit_mm"])


def _share(flags: Iterable[bool]) -> float | None:
    f = list(flags)
    return round(sum(f) / len(f), 4) if f else None


def summarise(rows: list[dict[str, Any]], classes: Iterable[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for c in classes:
        rs = [r for r in rows if r["defect"] == c]
        if not rs:
            continue
        s: dict[str, Any] = {"count": len(rs),
                             "failed": sum(1 for r in rs if "error" in r)}
        ok = [r for r in rs if "error" not in r]
        exceeding = [[k for k, f in r["findings"].items() if f["exceeds"]] for r in ok]
        if c == "good":
            s["false_reject"] = _share(bool(names) for names in exceeding)
            by: dict[str, int] = {}
            for names in exceeding:
                for k in names:
                    by[k] = by.get(k, 0) + 1
            s["false_reject_by_class"] = by
            out[c] = s
            continue
        tol = TOLERANCE_MM[c]
        err = []
        for r in rs:
            f = _measured(r)
            err.append(f["value_mm"] - r["truth"]["size_mm"] if f else math.nan)
        e = np.array(err, float)
        a = np.abs(np.nan_to_num(e, nan=np.inf))
        s.update({
            "tolerance_mm": tol,
            "missing": int(np.isnan(e).sum()),
            "median_abs_err": round(float(np.median(a)), 4),
            "p95_abs_err": round(float(np.percentile(a, 95)), 4),
            "mean_err": round(float(np.nanmean(e)), 4) if np.isfinite(e).any() else None,
            "within_tol": round(float((a <= tol).mean()), 4),
        })
        beyond = [r for r in rs if _beyond(r, _measured(r))]
        inside = [r for r in rs if _inside(r, _measured(r))]

        def flagged(r: dict[str, Any]) -> bool:
            f = _measured(r)
            return bool(f and f["exceeds"])

        s["beyond_count"] = len(beyond)
        s["flagged_beyond"] = _share(flagged(r) for r in beyond)
        s["inside_count"] = len(inside)
        s["flagged_inside"] = _share(flagged(r) for r in inside)
        s["other_class_exceeds"] = _share(any(k != c for k in x) for x in exceeding)
        others: dict[str, int] = {}
        for x in exceeding:
            for k in x:
                if k != c:
                    others[k] = others.get(k, 0) + 1
        s["other_class_exceeds_by_class"] = others
        s["within_tol_by_type"] = {}
        for t in sorted({r["weld_type"] for r in rs}):
            m = [abs(ei) <= tol for ei, r in zip(e, rs, strict=True)
                 if r["weld_type"] == t and np.isfinite(ei)]
            n_t = sum(1 for r in rs if r["weld_type"] == t)
            s["within_tol_by_type"][str(t)] = round(sum(m) / n_t, 4) if n_t else None
        s["within_tol_by_factor"] = {
            name: {"yes": _share(abs(ei) <= tol for ei, r in zip(e, rs, strict=True) if pred(r)),
                   "no": _share(abs(ei) <= tol for ei, r in zip(e, rs, strict=True)
                                if not pred(r))}
            for name, pred in FACTORS.items()}
        locs = []
        for r in rs:
            f = _measured(r)
            tl = r["truth"]["location_mm"]
            if f and f["location_mm"] and tl:
                locs.append(math.dist(f["location_mm"], tl))
        s["median_location_err_mm"] = round(float(np.median(locs)), 3) if locs else None
        if c == "ball":
            herr = [f["also"]["height_mm"] - r["truth"]["extra"]["above_top_mm"]
                    for r in rs if (f := _measured(r)) and "height_mm" in f["also"]]
            if herr:
                s["height_median_abs_err"] = round(float(np.median(np.abs(herr))), 4)
                s["height_mean_err"] = round(float(np.mean(herr)), 4)
        out[c] = s
    return out


def drawn_width_at(bead: dict[str, float], level_mm: float) -> float:
    """Toe-to-toe width of the analytic cross-section ``H (1 - |u|^n)^m`` at ``level_mm``."""
    h, n, m = bead["height_mm"], bead["n_exp"], bead["m_exp"]
    frac = min(1.0, level_mm / h)
    return float(bead["width_mm"] * (1.0 - frac ** (1.0 / m)) ** (1.0 / n))


def bead_errors(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The gauge's bead summary (height, width at the 0.15 mm toe level) against the drawn
    bead, on good welds, split by whether the plate was in the scan: a check of the levelling
    the height map rests on (``scan_to_heightmap``), not of the gauge."""
    out: dict[str, Any] = {}
    for plate in (True, False):
        rs = [r for r in rows if r["defect"] == "good" and "bead" in r
              and r["scan"]["plate"] is plate]
        if not rs:
            continue
        dh = np.array([r["bead"]["height_mm"] - r["scan"]["bead"]["height_mm"] for r in rs])
        dw = np.array([r["bead"]["width_mm"] - drawn_width_at(r["scan"]["bead"], 0.15)
                       for r in rs])
        out["plate" if plate else "no_plate"] = {
            "count": len(rs), "height_median_err": round(float(np.median(dh)), 3),
            "height_p95_abs_err": round(float(np.percentile(np.abs(dh), 95)), 3),
            "width_median_err": round(float(np.median(dw)), 3),
            "width_p95_abs_err": round(float(np.percentile(np.abs(dw), 95)), 3)}
    return out


FACTORS: dict[str, Any] = {
    "plate in scan": lambda r: bool(r["scan"]["plate"]),
    "shadow": lambda r: bool(r["scan"]["shadow"]),
    "spacing > 0.15": lambda r: max(r["scan"]["spacing_mm"]) > 0.15,
    "noise > 0.035": lambda r: r["scan"]["noise_mm"] > 0.035,
}
"""Scan conditions the within-tolerance share is split by (yes / no)."""


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.1f} %"


def markdown(summary: dict[str, Any]) -> str:
    lines = ["| class | n | failed | median abs err | p95 abs err | mean err | within tol "
             "| flagged (beyond limit+u) | flagged (inside limit-u) | other class exceeds |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for c, s in summary.items():
        if c == "good":
            lines.append(f"| good | {s['count']} | {s['failed']} | - | - | - | - | - | "
                         f"false reject {_pct(s['false_reject'])} "
                         f"{s['false_reject_by_class'] or ''} | - |")
            continue
        mean = "-" if s["mean_err"] is None else f"{s['mean_err']:+.3f}"
        lines.append(
            f"| {c} | {s['count']} | {s['failed']} | {s['median_abs_err']:.3f} | "
            f"{s['p95_abs_err']:.3f} | {mean} | "
            f"{_pct(s['within_tol'])} (±{s['tolerance_mm']}) | "
            f"{_pct(s['flagged_beyond'])} of {s['beyond_count']} | "
            f"{_pct(s['flagged_inside'])} of {s['inside_count']} | "
            f"{_pct(s['other_class_exceeds'])} {s['other_class_exceeds_by_class'] or ''} |")
    types = sorted({t for s in summary.values() for t in s.get("within_tol_by_type", {})},
                   key=int)
    if types:
        lines += ["", "within tolerance by weld type:", "",
                  "| class | " + " | ".join(f"type {t}" for t in types) + " |",
                  "|---|" + "---|" * len(types)]
        for c, s in summary.items():
            if "within_tol_by_type" in s:
                lines.append(f"| {c} | " + " | ".join(
                    _pct(s["within_tol_by_type"].get(t)) for t in types) + " |")
    facs = list(FACTORS)
    lines += ["", "within tolerance by scan condition (yes / no):", "",
              "| class | " + " | ".join(facs) + " |", "|---|" + "---|" * len(facs)]
    for c, s in summary.items():
        if "within_tol_by_factor" in s:
            f = s["within_tol_by_factor"]
            lines.append(f"| {c} | " + " | ".join(
                f"{_pct(f[k]['yes'])} / {_pct(f[k]['no'])}" for k in facs) + " |")
    return "\n".join(lines)


def plot(rows: list[dict[str, Any]], path: Path) -> bool:
    """Measured vs true per defect class (and the good welds' findings); False without
    matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    classes = [c for c in CLASSES if c != "good"]
    fig, axes = plt.subplots(2, 3, figsize=(15, 9.5))
    for ax, c in zip(axes.ravel(), classes, strict=False):
        rs = [r for r in rows if r["defect"] == c and "error" not in r]
        tv = np.array([r["truth"]["size_mm"] for r in rs])
        mv = np.array([(_measured(r) or {"value_mm": np.nan})["value_mm"] for r in rs])
        colour = np.array([r["weld_type"] for r in rs])
        sc = ax.scatter(tv, mv, c=colour, s=10, cmap="viridis")
        hi = float(np.nanmax(np.r_[tv, mv, 1.0])) * 1.05
        tol = TOLERANCE_MM[c]
        ax.plot([0, hi], [0, hi], "k-", lw=0.8)
        ax.plot([0, hi], [tol, hi + tol], "k:", lw=0.8)
        ax.plot([0, hi], [-tol, hi - tol], "k:", lw=0.8)
        if rs:
            lim = rs[0]["truth"]["limit_mm"]
            ax.axvline(lim, color="r", lw=0.6)
            ax.axhline(lim, color="r", lw=0.6)
        ax.set(title=f"{c} (±{tol} mm)", xlabel="true (mm)", ylabel="measured (mm)",
               xlim=(0, hi), ylim=(0, hi))
        fig.colorbar(sc, ax=ax, label="weld type")
    ax = axes.ravel()[-1]
    good = [r for r in rows if r["defect"] == "good" and "error" not in r]
    for i, c in enumerate(classes):
        m = [(f["value_mm"] - f["uncertainty_mm"]) / f["limit_mm"]
             for r in good if (f := r["findings"].get(c)) and f["limit_mm"]]
        ax.scatter(np.full(len(m), i) + np.random.default_rng(i).uniform(-0.2, 0.2, len(m)),
                   m, s=8)
    ax.axhline(1.0, color="r", lw=0.8)
    ax.set_xticks(range(len(classes)), classes)
    ax.set(title="good welds: (value - u) / limit", ylabel="ratio (> 1: false reject)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True


# --------------------------------------------------------------------------- main
def jobs(classes: list[str], types: list[int], per_class: int, seed: int,
         max_points: int) -> list[tuple[str, int, int, int]]:
    return [(c, types[i % len(types)], seed * SEED_STRIDE + i, max_points)
            for c in classes for i in range(per_class)]


def run(job_list: list[tuple[str, int, int, int]], workers: int) -> list[dict[str, Any]]:
    if workers <= 1:
        return [measure_one(j) for j in job_list]
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    with get_context("fork").Pool(workers, initializer=_init_worker) as pool:
        return list(pool.imap(measure_one, job_list, chunksize=4))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--per-class", type=int, default=200)
    ap.add_argument("--types", default=",".join(str(t) for t in SUPPORTED_TYPES))
    ap.add_argument("--classes", default=",".join(CLASSES))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--max-points", type=int, default=600_000,
                    help="cap per cloud (coarser spacing, at most 0.2 mm)")
    ap.add_argument("--out", type=Path, default=Path("/tmp/gauge_accuracy.json"))
    ap.add_argument("--plot", type=Path, default=None,
                    help="PNG of measured vs true (default: --out with .png)")
    ap.add_argument("--no-plot", action="store_true")
    args = ap.parse_args(argv)
    types = [int(v) for v in args.types.split(",")]
    classes = [c.strip() for c in args.classes.split(",")]
    bad = [c for c in classes if c not in CLASSES] + [t for t in types
                                                     if t not in SUPPORTED_TYPES]
    if bad:
        ap.error(f"unknown classes/types {bad}: classes {CLASSES}, types {SUPPORTED_TYPES}")
    from inspector.decision import gauge  # fail early, before the workers

    gauge_file = Path(gauge.__file__ or "")
    gauge_id = {"file": str(gauge_file),
                "sha256": hashlib.sha256(gauge_file.read_bytes()).hexdigest()[:16],
                "modified": time.strftime("%Y-%m-%d %H:%M:%S",
                                          time.localtime(gauge_file.stat().st_mtime))}

    t0 = time.perf_counter()
    rows = run(jobs(classes, types, args.per_class, args.seed, args.max_points), args.workers)
    wall = time.perf_counter() - t0
    summary = summarise(rows, classes)
    print(markdown(summary))
    bead = bead_errors(rows)
    if bead:
        print("\ngood welds' bead (gauge summary - drawn; width at the 0.15 mm toe level):")
        for k, v in bead.items():
            print(f"  {k}: {v}")
    print(f"\n{len(rows)} shapes, types {types}, seed {args.seed}, {wall:.0f} s "
          f"on {args.workers} worker(s); gauge {gauge_id['sha256']} ({gauge_id['modified']})")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "settings": {"per_class": args.per_class, "types": types, "classes": classes,
                     "seed": args.seed, "max_points": args.max_points,
                     "tolerance_mm": TOLERANCE_MM, "target_share": TARGET_SHARE,
                     "gauge": gauge_id},
        "wall_s": round(wall, 1), "summary": summary, "bead_vs_drawn": bead, "rows": rows},
        indent=1))
    print(f"rows and summary: {args.out}")
    if not args.no_plot:
        png = args.plot or args.out.with_suffix(".png")
        if plot(rows, png):
            print(f"plot: {png}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
