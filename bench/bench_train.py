"""Time to train one weld type's committee, against a same-run baseline.

    .venv/bin/python bench/bench_train.py [--sources 40] [--type 3] [--config FILE]

Generates a dataset with synth-defects (``--sources`` source welds, 6 defects each, about
12 maps per source), trains the committee with ``weld-train``'s code and reports the wall
time, maps per second, and the ratio to a baseline measured in the same run: the time of
one training step (forward + backward, batch 32, 128x128) of a timm resnet18. Timings are
only comparable as ratios on a shared machine.
"""

from __future__ import annotations

import argparse
import os
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


def baseline_step_s(repeats: int = 5) -> float:
    """Median seconds of one resnet18 forward+backward step (batch 32, 1x128x128)."""
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
    ap.add_argument("--sources", type=int, default=40)
    ap.add_argument("--type", type=int, default=3)
    ap.add_argument("--config", type=Path, default=None)
    args = ap.parse_args()
    base = baseline_step_s()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        generate_dataset(GenerateConfig(types=(args.type,), per_good=6, seed=3,
                                        simulate=args.sources), data, workers=2)
        ds = read_dataset(data)
        t0 = time.perf_counter()
        train_type(ds, args.type, load_train_config(args.config), Path(tmp) / "models")
        took = time.perf_counter() - t0
    n = len(ds.records)
    print(f"baseline resnet18 step (32x128x128): {base * 1000:.0f} ms")
    print(f"type {args.type}: {n} maps, committee trained in {took:.1f} s "
          f"({n / took:.1f} maps/s) = {took / base:.0f} baseline steps")


if __name__ == "__main__":
    main()
