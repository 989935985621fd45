"""Geometry learned by ``weld-train commission`` against the simulator's truth.

For every weld type as its line delivers it, and for settings of the contract's variation
space that the simulator's defaults never draw (a high upper plate, a partly cropped plate,
a raised or recessed patch, a rising or falling outer plate, small or large beads, coarse or
anisotropic spacing, a noisy scanner), ``--scans`` good welds are simulated with every axis
held at one setting, surveyed (:mod:`training.commission.survey`) and pooled
(:func:`training.commission.learn.learn_geometry`). The learned figures are compared with
the truth of the same welds: length and side as drawn, width and height of the drawn bead's
relief (:meth:`WeldShape.drawn_bead`, the toes at 0.15 mm), the plate step and the outer
plate's tilt per weld (its error per scan: a type may hold welds of several tilts).

The issue's tolerances: length +-1 mm, width +-0.3 mm, height +-0.1 mm, plate levels
+-0.1 mm, tilt +-1 deg.

    .venv/bin/python bench/commission_geometry.py --scans 20 --out OUT.md

(``bench/results/commission_geometry.md`` holds the last run).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from point_cloud.simulator import simulate_weld
from point_cloud.variation import VariationRule
from training.commission.learn import CommissionError, learn_geometry
from training.commission.survey import survey_cloud

TOL = {"length": 1.0, "width": 0.3, "height": 0.1, "step": 0.1, "tilt": 1.0}
BASE = ("plates=whole", "step=low", "patch=level", "tilt=flat", "bead=rounded",
        "size=nominal", "spacing=fine", "noise=low", "shadow=south")


def _varied(*changes: str) -> tuple[str, ...]:
    """Every axis at its base setting but the ``changes`` (``axis=setting``)."""
    axes = {c.split("=")[0] for c in changes}
    return tuple(b for b in BASE if b.split("=")[0] not in axes) + changes


SETS: list[tuple[str, int, tuple[str, ...] | None]] = [
    *((f"type {t} default", t, None) for t in (2, 3, 4, 5, 7, 8, 9, 10, 11)),
    ("type 2 step high", 2, _varied("step=high")),
    ("type 8 plates part", 8, _varied("plates=part")),
    ("type 4 plates part", 4, _varied("plates=part")),
    ("type 3 plates none", 3, _varied("plates=none")),
    ("type 7 patch raised", 7, _varied("patch=raised")),
    ("type 7 patch recessed", 7, _varied("patch=recessed")),
    ("type 7 tilt rising", 7, _varied("tilt=rising")),
    ("type 7 tilt falling", 7, _varied("tilt=falling")),
    ("type 3 bead flat, large", 3, _varied("bead=flat", "size=large")),
    ("type 10 small", 10, _varied("size=small")),
    ("type 4 coarse spacing", 4, _varied("spacing=coarse")),
    ("type 11 anisotropic, noisy", 11, _varied("spacing=anisotropic", "noise=high")),
]


def run_set(name: str, weld_type: int, only: tuple[str, ...] | None, scans: int,
            seed0: int) -> dict[str, float | str]:
    rule = VariationRule.parse(only=only) if only else None
    surveys, truth = [], []
    for i in range(scans):
        sim = simulate_weld(weld_type, seed0 + i, variation=rule)
        shape = sim.shape
        assert shape is not None
        w, h = shape.drawn_bead(0.15)
        try:
            s = survey_cloud(sim.cloud, f"{name}-{i}")
        except Exception:
            continue
        surveys.append(s)
        truth.append({"length": shape.bead_length_mm if shape.path == "line"
                      else shape.square_side_mm, "width": w, "height": h,
                      "step": shape.step_mm, "tilt": shape.outer_tilt_deg})
    try:
        learned = learn_geometry(surveys, weld_type, min_scans=1)
    except CommissionError as exc:
        return {"set": name, "error": str(exc)[:300], "surveyed": len(surveys)}
    f = learned.figures
    med = {k: float(np.median([t[k] for t in truth])) for k in truth[0]}
    length_key = "bead_length_mm" if learned.path == "line" else "square_side_mm"
    row: dict[str, float | str] = {
        "set": name, "surveyed": len(surveys), "path": learned.path, "plate": learned.plate,
        "length": f[length_key].median - med["length"],
        "width": f["bead_width_mm"].median - med["width"],
        "height": f["bead_height_mm"].median - med["height"],
        "step": abs(f["plate_step_mm"].median) - abs(med["step"]),
    }
    if learned.path == "square":
        err = [abs(s.figures["outer_tilt_deg"] - t["tilt"]) for s, t in
               zip(surveys, truth, strict=True)]
        row["tilt"] = float(np.median(err))
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scans", type=int, default=20)
    ap.add_argument("--seed0", type=int, default=50_000)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    t0 = time.perf_counter()
    rows = [run_set(n, t, o, args.scans, args.seed0)
            for n, t, o in tqdm(SETS, desc="sets")]
    keys = ["length", "width", "height", "step", "tilt"]
    lines = [f"# Learned geometry against the truth ({args.scans} welds per set, seeds from "
             f"{args.seed0})", "",
             "Learned (median over the set) minus true (median); tilt: median |error| per "
             f"weld. Tolerances: {TOL}. **bold**: beyond.", "",
             "| set | surveyed | kinds | " + " | ".join(keys) + " |",
             "|---|---|---|" + "---|" * len(keys)]
    failures = 0
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['set']} | {r['surveyed']} | refused: {r['error']} |")
            failures += 1
            continue
        cells = []
        for k in keys:
            v = r.get(k)
            if v is None:
                cells.append("-")
                continue
            bad = abs(float(v)) > TOL[k]
            failures += bad
            cells.append(f"**{float(v):+.2f}**" if bad else f"{float(v):+.2f}")
        lines.append(f"| {r['set']} | {r['surveyed']} | {r['path']}/{r['plate']} | "
                     + " | ".join(cells) + " |")
    lines += ["", f"{failures} figure(s) beyond tolerance; {time.perf_counter() - t0:.0f} s."]
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
