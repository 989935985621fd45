"""Data-parallel training (DDP under torchrun, gloo on the CPU).

Two processes that each take half of every batch must end with the same weights as one
process taking the whole batch: that only holds if DDP really averages the gradients.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
import yaml
from torch import nn

from tests.training.conftest import tiny_config
from training import distributed
from training.config import AugmentCfg, OptimCfg
from training.data import MapSet
from training.loop import batched_scores, fit

pytestmark = pytest.mark.train

REPO = Path(__file__).resolve().parents[2]
NO_AUG = AugmentCfg(flip_x=False, flip_y=False, shift_px=0, noise_mm=0.0, dropout=0.0, gain=0.0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _toy_set() -> MapSet:
    rng = np.random.default_rng(0)
    n = 64
    bad = rng.integers(0, 2, n)
    z = (rng.random((n, 12, 12)) + bad[:, None, None] * 0.5).astype(np.float32)
    return MapSet(z, np.ones_like(z, bool), bad, bad.copy(), [str(i) for i in range(n)])


def _train_toy() -> np.ndarray:
    """Fit a linear scorer for 2 epochs (batch 16); return its flattened weights."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(2 * 12 * 12, 1))
    ms = _toy_set()
    targets = torch.from_numpy(ms.bad.astype(np.float32))

    def loss_fn(m: nn.Module, z: torch.Tensor, v: torch.Tensor, idx: torch.Tensor
                ) -> torch.Tensor:
        out = m(torch.cat([z, v], 1))[:, 0]
        return nn.functional.binary_cross_entropy_with_logits(out, targets[idx])

    def score_fn(m: nn.Module, s: MapSet) -> np.ndarray:
        return batched_scores(lambda z, v: m(torch.cat([z, v], 1))[:, 0], s)

    fit(model, ms, ms, loss_fn, score_fn, OptimCfg(epochs=2, batch_size=16, lr=0.01),
        NO_AUG, seed=0, name="toy")
    return torch.cat([p.detach().flatten() for p in model.parameters()]).numpy()


def _rank_main(rank: int, world: int, port: int, out: str) -> None:
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    distributed.init()
    np.save(Path(out) / f"rank{rank}.npy", _train_toy())
    distributed.shutdown()


def test_two_ranks_with_half_batches_match_one_process_with_whole_batches(tmp_path: Path
                                                                          ) -> None:
    assert distributed.world() == (0, 1)
    single = _train_toy()
    mp.spawn(_rank_main, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    r0, r1 = (np.load(tmp_path / f"rank{r}.npy") for r in (0, 1))
    np.testing.assert_array_equal(r0, r1)                 # ranks stay in lockstep
    np.testing.assert_allclose(r0, single, atol=1e-5)     # = the full-batch gradient
    torch.manual_seed(0)
    init = nn.Linear(2 * 12 * 12, 1)
    assert np.abs(single[:-1] - init.weight.detach().numpy().ravel()).max() > 1e-3


def test_torchrun_trains_one_bundle_on_two_cpu_processes(easy_dataset: Path, bundle: Path,
                                                         tmp_path: Path) -> None:
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(yaml.safe_dump(tiny_config().model_dump(mode="json")))
    out = tmp_path / "models"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    res = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         "-m", "training.cli", "train", "--data", str(easy_dataset), "--types", "3",
         "--out", str(out), "--config", str(cfg)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=900, check=False)
    assert res.returncode == 0, res.stderr[-4000:]
    assert res.stdout.count(str(out / "type3")) == 1      # rank 0 alone reports and writes
    card = json.loads((out / "type3" / "model.json").read_text())
    assert card["training"]["world_size"] == 2
    val = card["committee"]["metrics"]["val"]
    # as good as one process on the same data (the ranks' augmentations differ, so not equal)
    single = json.loads((bundle / "model.json").read_text())["committee"]["metrics"]["val"]
    assert val["auroc"] >= min(0.95, single["auroc"] - 0.02), (val, single)
    assert val["false_accept"] <= max(0.05, single["false_accept"]), (val, single)
