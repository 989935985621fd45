"""Benchmark: synthetic maps generated per second on one core, per weld type.

For each type, one simulated good weld is analysed once (as the generator does per source)
and then samples are made cycling through every class (defect + nuisance augmentation) and
encoded to the 16-bit PNG + mask the dataset stores. The baseline, measured in the same run
on the same map, is a plain copy + encode of the map. The ratio baseline/generate says how
many plain encodes one generated sample costs.

    .venv/bin/python bench/bench_synth.py [--samples 60]   # -> bench/results/synth.json
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from point_cloud.config import WELD_TYPES, weld_type_profile
from point_cloud.heightmap_io import encode_u16
from point_cloud.types import HeightMap
from synth_defects.frame import bead_frame
from synth_defects.generate import SELECTABLE, make_sample
from synth_defects.sources import simulate_map

OUT = Path(__file__).resolve().parent / "results" / "synth.json"


def _encode(hm: HeightMap, mask: np.ndarray) -> int:
    ok1, a = cv2.imencode(".png", encode_u16(hm))
    ok2, b = cv2.imencode(".png", mask.astype(np.uint8) * 255)
    if not (ok1 and ok2):
        raise RuntimeError("PNG encoding failed")
    return int(a.size + b.size)


def _rate(fn: Callable[[int], None], n: int) -> float:
    """Calls per second of ``fn(i)`` over ``n`` calls (best of 3 rounds)."""
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for i in range(n):
            fn(i)
        best = min(best, time.perf_counter() - t0)
    return n / best


def bench_type(weld_type: int, samples: int) -> dict[str, float]:
    prof = weld_type_profile(weld_type)
    good = simulate_map(weld_type, 1, 300_000, prof)
    t0 = time.perf_counter()
    frame = bead_frame(good, prof)
    analyse_s = time.perf_counter() - t0
    empty = np.zeros(good.shape, bool)

    def baseline(i: int) -> None:
        _encode(good.with_z(good.z.copy()), empty)

    def generate(i: int) -> None:
        e = make_sample(frame, SELECTABLE[i % len(SELECTABLE)], np.random.default_rng(i),
                        False, True)
        _encode(e.hm, e.mask)

    base = _rate(baseline, samples)
    gen = _rate(generate, samples)
    return {"weld_type": weld_type, "rows": good.shape[0], "cols": good.shape[1],
            "baseline_maps_per_s": round(base, 1), "generated_maps_per_s": round(gen, 1),
            "cost_in_plain_encodes": round(base / gen, 2), "analyse_ms": round(1e3 * analyse_s, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--samples", type=int, default=60)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    cv2.setNumThreads(1)  # per core
    rows = [bench_type(t, args.samples) for t in tqdm(WELD_TYPES, desc="types")]
    result = {"what": "synthetic maps per second on one core (defect + augmentation + PNG "
                      "encode) vs a plain copy + encode of the same map",
              "machine": platform.processor() or platform.machine(), "samples": args.samples,
              "types": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    for r in rows:
        print(f"type {r['weld_type']:>2} {r['rows']}x{r['cols']}: {r['generated_maps_per_s']:7.1f} "
              f"maps/s, baseline {r['baseline_maps_per_s']:7.1f}/s, "
              f"ratio {r['cost_in_plain_encodes']:.1f}x")


if __name__ == "__main__":
    main()
