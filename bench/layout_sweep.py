"""Good welds in every plate layout the contract allows: does the bead come through?

    .venv/bin/python bench/layout_sweep.py [--types 2,3,4,5,7,8,9,10,11] [--seeds 20]
                                           [--points 150000] [--layouts NAME,...]

For each type and each named layout of its kind (:data:`LAYOUTS`, plus ``random``: one
drawn per seed by the simulator's ``layout="random"``), ``--seeds`` simulated good welds
are projected (``scan_to_heightmap``) and judged by the quality gate and
``analyse_bead``. Prints per (type, layout) how many the gate refused (no_weld /
capture_failure) or prepare could not project, how many had their bead found with width
and height within ``WIDTH_TOL_MM`` / ``HEIGHT_TOL_MM`` (plus a share of the plate step) of
the drawn ones (medians over the bead's straight middle, against
``WeldShape.drawn_bead``), the worst deviations, and how many were aligned within 0.5 deg
and 0.2 mm of the simulator's pose.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "point_cloud")]
from test_prepare import alignment_error  # noqa: E402

from inspector import quality_gate  # noqa: E402
from point_cloud.bead_geometry import BEAD_THRESHOLD_MM, BeadPath, analyse_bead  # noqa: E402
from point_cloud.config import WeldTypeProfile, weld_type_profile  # noqa: E402
from point_cloud.errors import ScanError  # noqa: E402
from point_cloud.pipeline import scan_to_heightmap  # noqa: E402
from point_cloud.prepare import prepare  # noqa: E402
from point_cloud.simulator import ALL, Layout, simulate_weld  # noqa: E402

WIDTH_TOL_MM, WIDTH_TOL_PER_STEP = 0.5, 0.25
HEIGHT_TOL_MM, HEIGHT_TOL_PER_STEP = 0.25, 0.05
"""Tolerances on the bead's figures, growing with the plate step (mm) across the bead."""
PART = 5.0
"""A partly cropped plate ends this far from the bead's centreline (2 mm beyond its toe)."""
LAYOUTS: dict[str, dict[str, Layout]] = {
    "isolated": {"removed": Layout(), "kept": Layout(keep_mm=(ALL, ALL))},
    "lower": {"both": Layout(), "south-part": Layout(keep_mm=(PART, ALL)),
              "north-none": Layout(keep_mm=(ALL, 0.0)), "south-none": Layout(keep_mm=(0.0, ALL))},
    "upper": {"step1.5": Layout(), "step1": Layout(step_mm=1.0), "step3": Layout(step_mm=3.0),
              "lower-all": Layout(step_mm=2.0, keep_mm=(ALL, ALL)),
              "lower-part": Layout(step_mm=2.0, keep_mm=(PART, ALL)),
              "upper-part": Layout(step_mm=2.0, keep_mm=(0.0, PART)),
              "upper-none": Layout(step_mm=3.0, keep_mm=(ALL, 0.0))},
    "square": {"level": Layout(outer_tilt_deg=0.0),
               "raised1.5": Layout(step_mm=1.5, outer_tilt_deg=0.0),
               "raised3": Layout(step_mm=3.0),
               "raised3-fall15": Layout(step_mm=3.0, outer_tilt_deg=15.0),
               "raised2-rise15": Layout(step_mm=2.0, outer_tilt_deg=-15.0),
               "recessed3": Layout(step_mm=-3.0),
               "recessed2-fall15": Layout(step_mm=-2.0, outer_tilt_deg=15.0),
               "level-rise15": Layout(step_mm=0.0, outer_tilt_deg=-15.0),
               "raised2-outer-none": Layout(step_mm=2.0, keep_mm=(ALL, 0.0)),
               "recessed2-outer-part": Layout(step_mm=-2.0, keep_mm=(ALL, PART)),
               "raised1.5-on-lower": Layout(step_mm=1.5, outer_tilt_deg=0.0, bead_on="lower"),
               "raised1-on-lower-fall15": Layout(step_mm=1.0, outer_tilt_deg=15.0,
                                                 bead_on="lower"),
               "recessed1.5-on-lower": Layout(step_mm=-1.5, bead_on="lower")},
}


def middle_of_path(path: BeadPath, profile: WeldTypeProfile) -> npt.NDArray[np.bool_]:
    """Path samples on the bead's straight middle, where the simulator's drawn figures are
    taken (:meth:`WeldShape.drawn_bead`): the middle 60 % of a line, the middle half of
    each side of the square (clear of its corners)."""
    if path.kind == "square":
        side = path.s_mm % (2 * path.half_side_mm) - path.half_side_mm
        return np.asarray(np.abs(side) <= path.half_side_mm / 2)
    x = path.xy[:, 0]
    return np.asarray(np.abs(x) <= 0.3 * profile.geometry.bead_length_mm)


def judge(weld_type: int, seed: int, layout: Layout | str, points: int) -> dict[str, float | str]:
    """One good weld through the pipeline: the gate's verdict and the bead's figures."""
    scan = simulate_weld(weld_type, seed, points=points,
                         layout="random" if layout == "random" else layout)  # type: ignore[arg-type]
    assert scan.shape is not None
    out: dict[str, float | str] = {"verdict": "ok", "dw": np.nan, "dh": np.nan,
                                   "rot": np.nan, "off": np.nan, "step_mm": scan.shape.step_mm}
    try:
        prep = prepare(scan.cloud, scan.profile)
        hm = scan_to_heightmap(scan.cloud, scan.profile)
    except ScanError as exc:
        return {**out, "verdict": f"prepare: {exc.reason}"}
    out["rot"], out["off"] = alignment_error(scan, prep.transform)
    verdict = quality_gate.check(hm, scan.profile)
    if verdict is not None:
        out["verdict"] = str(verdict.defect)
    try:
        geom = analyse_bead(hm, scan.profile)
    except ScanError:
        return {**out, "verdict": "no bead"}
    width, height = scan.shape.drawn_bead(BEAD_THRESHOLD_MM)  # at analyse_bead's toe level
    middle = geom.present & middle_of_path(geom.path, scan.profile)
    out["dw"] = float(np.median(geom.width_mm[middle])) - width
    out["dh"] = float(np.median(geom.top_mm[middle])) - height
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--types", default="2,3,4,5,7,8,9,10,11")
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--points", type=int, default=150_000, help="scanner samples per scan")
    ap.add_argument("--layouts", default="", help="names to run (default: all + random)")
    args = ap.parse_args(argv)
    pick = set(filter(None, args.layouts.split(",")))
    refused = total = 0
    for t in (int(v) for v in args.types.split(",")):
        named: dict[str, Layout | str] = {**LAYOUTS[weld_type_profile(t).geometry.plate],
                                          "random": "random"}
        for name, layout in named.items():
            if pick and name not in pick:
                continue
            rows = [judge(t, seed, layout, args.points) for seed in range(1, args.seeds + 1)]
            bad = [str(r["verdict"]) for r in rows if r["verdict"] != "ok"]
            dw = np.array([r["dw"] for r in rows], float)
            dh = np.array([r["dh"] for r in rows], float)
            rot = np.array([r["rot"] for r in rows], float)
            off = np.array([r["off"] for r in rows], float)
            aligned = int(((rot < 0.5) & (off < 0.2)).sum())
            step = np.abs(np.array([r["step_mm"] for r in rows], float))
            within = int(((np.abs(dw) <= WIDTH_TOL_MM + WIDTH_TOL_PER_STEP * step)
                          & (np.abs(dh) <= HEIGHT_TOL_MM + HEIGHT_TOL_PER_STEP * step)).sum())
            refused, total = refused + len(bad), total + len(rows)
            worst = (f"width {np.nanmax(np.abs(dw)):.2f}, height {np.nanmax(np.abs(dh)):.2f} mm"
                     if np.isfinite(dw).any() else "-")
            print(f"type {t:2d} {name:22s}: refused {len(bad):2d} of {len(rows)} "
                  f"{sorted(set(bad)) if bad else ''}; bead within tol {within:2d}; worst {worst}; "
                  f"aligned {aligned:2d} (worst {np.nanmax(rot):.2f} deg {np.nanmax(off):.2f} mm)",
                  flush=True)
    print(f"all: refused {refused} of {total}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
