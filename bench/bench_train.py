"""Time to train one weld type's full committee at about 5,000 maps, against a same-run baseline.

    .venv/bin/python bench/bench_train.py [--sources 420] [--type 3] [--config FILE]
                                          [--data DATASET] [--models DIR]
                                          # -> bench/results/train.json

Generates a dataset with synth-defects (``--sources`` simulated source welds, 6 defects
each: 12 maps per source, so 420 sources = 5,040 maps) unless ``--data`` names an existing
one, then trains the type's committee with ``weld-train``'s own code (classifier, Siamese,
anomaly, ONNX export, calibration) and reports the wall time, maps per second and the ratio
to a baseline measured in the same run: the median time of one training step (forward +
backward, batch 32, 1x128x128) of a timm resnet18. Only the ratio is comparable between
runs on a shared machine; the issue's budget (15 min on 2 CPU cores) is printed beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import timm
import torch

from synth_defects.generate import GenerateConfig, generate_dataset
from training.config import load_train_config
from training.data import read_dataset
from training.train import train_type

OUT = Path(__file__).resolve().parent / "results" / "train.json"
BUDGET_S = 15 * 60


def baseline_step_s(repeats: int = 7) -> float:
    """Median seconds of one resnet18 forward+backward step (batch 32, 1x128x128)."""
    torch.manual_seed(0)
    model = timm.create_model("resnet18", pretrained=False, in_chans=1, num_classes=2)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x, y = torch.randn(32, 1, 128, 128), torch.randint(0, 2, (32,))
    times = []
    for _ in range(repeats + 1):
        t0 = time.perf_counter()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t0)
    return sorted(times[1:])[repeats // 2]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sources", type=int, default=420)
    ap.add_argument("--type", type=int, default=3)
    ap.add_argument("--config", type=Path, default=None)
    ap.add_argument("--data", type=Path, default=None, help="existing dataset (skip generating)")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--models", type=Path, default=None,
                    help="keep the trained bundle here (default: a temporary folder)")
    args = ap.parse_args()
    base_before = baseline_step_s()
    with tempfile.TemporaryDirectory() as tmp:
        data = args.data
        if data is None:
            data = Path(tmp) / "data"
            generate_dataset(GenerateConfig(types=(args.type,), per_good=6, seed=3,
                                            simulate=args.sources), data, workers=2)
        ds = read_dataset(data)
        t0 = time.perf_counter()
        models = args.models if args.models is not None else Path(tmp) / "models"
        bundle = train_type(ds, args.type, load_train_config(args.config), models)
        took = time.perf_counter() - t0
        card = json.loads((bundle / "model.json").read_text())
    base = min(base_before, baseline_step_s())   # the machine at its least loaded
    n = len(ds.of_type(args.type))
    result = {
        "what": "one weld type's full committee training (classifier, Siamese, anomaly, export, "
                "calibration) vs one resnet18 training step (batch 32, 1x128x128) in the same run",
        "machine": platform.machine(), "torch_threads": torch.get_num_threads(),
        "weld_type": args.type, "maps": n, "train_s": round(took, 1),
        "maps_per_s": round(n / took, 2), "baseline_step_ms": round(base * 1000, 1),
        "train_in_baseline_steps": round(took / base), "budget_s": BUDGET_S,
        "within_budget": took <= BUDGET_S,
        "committee_val": card["committee"]["metrics"]["val"],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(f"baseline resnet18 step (32x1x128x128): {base * 1000:.0f} ms")
    print(f"type {args.type}: {n} maps, committee trained in {took:.1f} s ({n / took:.1f} maps/s)"
          f" = {took / base:.0f} baseline steps; budget {BUDGET_S} s "
          f"{'met' if took <= BUDGET_S else 'EXCEEDED'} -> {args.out}")


if __name__ == "__main__":
    main()
