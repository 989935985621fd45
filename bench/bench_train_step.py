"""Training-step throughput of the classifier member, per way of running it (issue 15).

Maps per second of one training step (augment, forward, backward, AdamW), on random maps of
a type's size, for each variant:
- ``host``: the CPU path as it ran on a GPU before (maps and augmentation on the host, one
  copy per step, fp32, the configured batch) = the baseline of the ratios;
- ``device``: maps and augmentation on the device, the same batch, fp32;
- ``accel``: the GPU options of ``config.accelerator`` (device data, batch x batch_factor,
  bf16, channels_last);
- ``accel+compile``: the same under ``torch.compile`` (its compile time given apart).

    python bench/bench_train_step.py [--type 3] [--steps 30] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as nnf

from training.accel import Accel
from training.config import AcceleratorCfg, load_train_config
from training.data import augment
from training.distributed import local_device
from training.members.classifier import ClassifierNet
from training.train import type_spec


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def run_variant(name: str, weld_type: int, steps: int, compile_: bool = False) -> dict[str, Any]:
    cfg = load_train_config("config/training_line.yaml").for_type(weld_type)
    dev = local_device()
    accel = (Accel(dev) if name in ("host", "device")
             else Accel.forced(dev, cfg.accelerator))
    on_dev = name != "host"
    optim = accel.optim(cfg.classifier.optim)
    spec = type_spec(weld_type, cfg)
    n = max(4 * optim.batch_size, 512)
    rng = np.random.default_rng(0)
    z_all = torch.from_numpy(rng.uniform(0, 2, (n, 1, spec.rows, spec.cols)).astype(np.float32))
    v_all = torch.ones_like(z_all)
    cls = torch.from_numpy(rng.integers(0, 4, n))
    if on_dev:
        z_all, v_all, cls = z_all.to(dev), v_all.to(dev), cls.to(dev)
    model = accel.prepare(ClassifierNet(spec, cfg.classifier).to(dev))
    logits = torch.compile(model.logits) if compile_ else model.logits
    opt = torch.optim.AdamW(model.parameters(), lr=optim.lr)
    host = torch.Generator().manual_seed(0)
    gen = torch.Generator(device=dev).manual_seed(1) if on_dev else host

    def step() -> None:
        idx = torch.randint(0, n, (optim.batch_size,), generator=host).to(z_all.device)
        z, v = augment(z_all[idx].to(dev), v_all[idx].to(dev), cfg.augment, gen,
                       host_gen=host)
        with accel.autocast():
            loss = nnf.cross_entropy(logits(z, v).float(), cls[idx].to(dev))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    t0 = time.perf_counter()
    for _ in range(3):      # warm-up (and the compile)
        step()
    _sync(dev)
    warm = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    _sync(dev)
    dt = time.perf_counter() - t0
    return {"variant": name, "device": str(dev), "batch": optim.batch_size,
            "step_ms": round(1000 * dt / steps, 2),
            "maps_per_s": round(steps * optim.batch_size / dt, 1),
            "warmup_s": round(warm, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--type", type=int, default=3)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--no-compile", action="store_true")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    variants = [("host", False), ("device", False), ("accel", False)]
    if not args.no_compile:
        variants.append(("accel", True))
    rows: list[dict[str, Any]] = []
    for name, comp in variants:     # each row written as it comes (compiling may run long)
        r = run_variant(name, args.type, args.steps, compile_=comp)
        r["variant"] = name + ("+compile" if comp else "")
        r["x_host"] = round(r["maps_per_s"] / (rows[0] if rows else r)["maps_per_s"], 2)
        rows.append(r)
        print(f"{r['variant']:>14}  batch {r['batch']:4d}  {r['step_ms']:8.2f} ms/step  "
              f"{r['maps_per_s']:9.1f} maps/s  {r['x_host']:5.2f}x  warm-up {r['warmup_s']} s",
              flush=True)
        if args.out:
            args.out.write_text(json.dumps({"type": args.type, "accelerator":
                                            AcceleratorCfg().model_dump(), "rows": rows},
                                           indent=1))

if __name__ == "__main__":
    main()
