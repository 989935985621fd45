"""What the relief input costs: the in-graph preprocessing alone, with and without it.

    .venv/bin/python bench/bench_relief_input.py [--type 7] [--window 9] [--band 0.5]
        [--repeat 200]

Exports ``training.nets.Preprocess`` for the type's map size three times (``base_window_mm``
0, ``--window``, and ``--window`` with the bead band ``--band`` mm wider than the nominal one),
runs each through ONNX Runtime on one thread (as a member's graph does on the line) and prints
the median ms per map of each and their ratio; the baseline is the plain preprocessing
measured in the same run. Needs the training extra (torch) to export.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from inspector.decision.model_input import input_spec_for  # noqa: E402
from point_cloud.config import WeldTypeProfile, weld_type_profile  # noqa: E402
from training.nets import Preprocess  # noqa: E402
from training.train import bead_band  # noqa: E402


def median_ms(window_mm: float, prof: WeldTypeProfile, repeat: int,
              band_mm: float = 0.0) -> float:
    shape, mm_per_px = prof.roi.shape_px, prof.roi.mm_per_px
    band = bead_band(prof, band_mm) if band_mm > 0 else None
    spec = input_spec_for(shape, mm_per_px, 0.4, base_window_mm=window_mm, band=band)
    z, v = torch.zeros(1, 1, *shape), torch.ones(1, 1, *shape)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "preprocess.onnx"
        torch.onnx.export(Preprocess(spec).eval(), (z, v), str(path),
                          input_names=["z", "valid"], opset_version=17, dynamo=False)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    feed = {"z": rng.random((1, 1, *shape), dtype=np.float32) * 2.0,
            "valid": (rng.random((1, 1, *shape)) > 0.1).astype(np.float32)}
    for _ in range(10):
        sess.run(None, feed)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        sess.run(None, feed)
        times.append((time.perf_counter() - t0) * 1e3)
    return float(np.median(times))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--type", type=int, default=7)
    ap.add_argument("--window", type=float, default=9.0)
    ap.add_argument("--band", type=float, default=0.5)
    ap.add_argument("--repeat", type=int, default=200)
    args = ap.parse_args(argv)
    prof = weld_type_profile(args.type)
    base = median_ms(0.0, prof, args.repeat)
    relief = median_ms(args.window, prof, args.repeat)
    banded = median_ms(args.window, prof, args.repeat, band_mm=args.band)
    print(f"type {args.type}, map {prof.roi.shape_px}: preprocessing {base:.3f} ms")
    for name, ms in ((f"the relief ({args.window:g} mm)", relief),
                     (f"the banded relief (+{args.band:g} mm)", banded)):
        print(f"  with {name}: {ms:.3f} ms = {ms / base:.1f}x "
              f"(+{ms - base:.3f} ms per member and map)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
