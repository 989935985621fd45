"""Diagnostic: does the pipeline's registration move when a weld carries a defect?

For each weld type and seed, a simulated good weld (true pose) gets each defect class; the
defect is carried back onto the scan (:func:`synth_defects.scan_edit.edit_from_maps`) and the
defective scan goes through ``point_cloud.pipeline``. The recovered rotation and offset are
compared with the good scan's (same pose, same seed). A registration that follows the defect
hides it (a deviation straightened out) or misplaces the ROI.

    .venv/bin/python bench/synth_registration.py [--types 3,4,9] [--seeds 3]
    # -> bench/results/synth_registration.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from tqdm import tqdm

from point_cloud.config import weld_type_profile
from synth_defects.defects import MAKERS
from synth_defects.frame import bead_frame
from synth_defects.params import ranges_for
from synth_defects.scan_edit import edit_from_maps
from synth_defects.sources import simulate_map

OUT = Path(__file__).resolve().parent / "results" / "synth_registration.json"
CLASSES = ("deviation", "excess", "ball", "cut", "hole", "lack")
POINTS = 300_000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--types", default="3,4,9")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    rows = []
    jobs = [(int(t), s) for t in args.types.split(",") for s in range(args.seeds)]
    for t, seed in tqdm(jobs, desc="welds"):
        prof = weld_type_profile(t)
        good = simulate_map(t, seed, POINTS, prof, pipeline=False)
        ref = simulate_map(t, seed, POINTS, prof)
        frame, rng = bead_frame(good, prof), np.random.default_rng(seed)
        for name in CLASSES:
            edited = MAKERS[name](frame, rng, ranges_for(prof))
            re = simulate_map(t, seed, POINTS, prof, edit=edit_from_maps(good, edited.hm))
            d_rot = abs(float(re.meta["rotation_deg"]) - float(ref.meta["rotation_deg"]))
            d_off = float(np.hypot(*np.subtract(re.meta["offset_mm"], ref.meta["offset_mm"])))
            rows.append({"weld_type": t, "seed": seed, "defect": name, "d_rotation_deg":
                         round(d_rot, 3), "d_offset_mm": round(d_off, 3), "params": edited.params})
    summary: dict[str, dict[str, float]] = {}
    for name in CLASSES:
        mine = [r for r in rows if r["defect"] == name]
        summary[name] = {
            "max_d_rotation_deg": max(r["d_rotation_deg"] for r in mine),
            "max_d_offset_mm": max(r["d_offset_mm"] for r in mine),
            "moved_over_0.5": sum(r["d_rotation_deg"] > 0.5 or r["d_offset_mm"] > 0.5
                                  for r in mine) / len(mine)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"summary": summary, "runs": rows}, indent=1) + "\n")
    for name, s in summary.items():
        print(f"{name:10s} max drot {s['max_d_rotation_deg']:6.2f} deg  max doff "
              f"{s['max_d_offset_mm']:6.2f} mm  moved {100 * s['moved_over_0.5']:.0f} %")


if __name__ == "__main__":
    main()
