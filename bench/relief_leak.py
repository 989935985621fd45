"""How much of type 7's patch height reaches the networks through the relief input.

    .venv/bin/python bench/relief_leak.py [--welds 12] [--window 9] [--band 0.5]

Type 7's inner patch may be level with the outer plate, raised on it or recessed
(``SCANS.md``); the relief input (``inspector.decision.model_input``, step 2: the map minus
the plates' level carried under the bead) should make the three look alike. The same
simulated welds are drawn three times, with only the patch changed (tilt flat, plates
whole), and the networks' first input channel compared over the nominal bead band: mean and
90th percentile of |raised - level| and |recessed - level|, in mm. The baseline, measured in
the same run, is the plain input (height / 2 mm, no relief): the ratio is the share of the
patch's effect the relief lets through (0: none, 1: as much as the plain height).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from inspector.decision.model_input import input_spec_for, normalise_reference  # noqa: E402
from point_cloud.config import weld_type_profile  # noqa: E402
from point_cloud.variation import VariationRule  # noqa: E402
from synth_defects.sources import simulate_map  # noqa: E402
from training.train import bead_band  # noqa: E402

PATCHES = ("level", "raised", "recessed")
TYPE = 7


def first_channel(welds: int, window_mm: float, band_mm: float) -> dict[str, np.ndarray]:
    """Per patch setting, the first input channel (in mm) of each weld: (welds, rows, cols)."""
    prof = weld_type_profile(TYPE)
    shape, px = prof.roi.shape_px, prof.roi.mm_per_px
    band = bead_band(prof, band_mm) if band_mm > 0 else None
    spec = input_spec_for(shape, px, 0.4, base_window_mm=window_mm, band=band)
    out: dict[str, list[np.ndarray]] = {p: [] for p in PATCHES}
    for seed in range(welds):
        for patch in PATCHES:
            rule = VariationRule.parse(only=[f"patch={patch}", "tilt=flat", "plates=whole"])
            hm = simulate_map(TYPE, seed, 300_000, prof, vary=rule)
            out[patch].append(normalise_reference(hm.z, hm.valid, spec)[0] * spec.z_ref_mm)
    return {p: np.stack(v) for p, v in out.items()}


def on_band(band: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """The nominal bead band on the networks' grid."""
    small = cv2.resize(band.astype(np.uint8), (cols, rows), interpolation=cv2.INTER_NEAREST)
    return np.asarray(small > 0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--welds", type=int, default=12)
    ap.add_argument("--window", type=float, default=9.0, help="base_window_mm of the relief")
    ap.add_argument("--band", type=float, default=0.5, help="bead band margin, mm")
    args = ap.parse_args(argv)
    band = bead_band(weld_type_profile(TYPE), 0.0)
    rows: list[tuple[str, str, float, float]] = []
    for name, window in (("plain (baseline)", 0.0), ("relief", args.window)):
        chans = first_channel(args.welds, window, args.band if window else 0.0)
        mask = on_band(band, *chans["level"].shape[1:])
        for patch in PATCHES[1:]:
            diff = np.abs(chans[patch] - chans["level"])[:, mask]
            rows.append((name, patch, float(diff.mean()), float(np.percentile(diff, 90))))
    print(f"type {TYPE}, {args.welds} welds, |patch - level| of the first input channel over "
          "the bead band, mm")
    print("| input | patch | mean | p90 | ratio to plain |")
    print("|---|---|---|---|---|")
    plain = {p: m for name, p, m, _ in rows if name.startswith("plain")}
    for name, patch, mean, p90 in rows:
        print(f"| {name} | {patch} | {mean:.3f} | {p90:.3f} | {mean / plain[patch]:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
