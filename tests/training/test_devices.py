"""Training runs on any device: validation scoring moves each batch to the model's device,
and the GPU path (maps and augmentation on the device, bf16, channels_last, larger batches)
runs forced on the CPU, reading nothing back to the host per step.

No GPU is needed: the model is put on torch's ``meta`` device (shapes only). Scoring then
runs there end to end and fails only when the scores are copied out of it; before the fix
the CPU maps met the model's weights and raised a device mismatch (the H200 crash of the GPU
training issue)."""

from __future__ import annotations

import sys
from typing import Any, ClassVar

import numpy as np
import pytest
import torch
import torch.nn.functional as nnf
from torch import nn
from torch.overrides import TorchFunctionMode

from synth_defects.classes import GOOD_CLASSES
from tests.training.conftest import tiny_config
from training.accel import Accel
from training.config import AcceleratorCfg, AugmentCfg, OptimCfg
from training.data import MapSet
from training.loop import batched_scores, device_of, fit
from training.members.classifier import ClassifierNet, bad_logits, train_classifier
from training.members.siamese import contrastive_loss
from training.train import type_spec

pytestmark = pytest.mark.train


def _maps(n: int, rows: int, cols: int) -> MapSet:
    rng = np.random.default_rng(0)
    z = rng.uniform(0, 2, (n, rows, cols)).astype(np.float32)
    return MapSet(z, np.ones_like(z, bool), np.zeros(n, np.int64), np.zeros(n, np.int64),
                  [f"m{i}" for i in range(n)])


def test_every_batch_reaches_the_device_it_is_scored_on() -> None:
    seen: list[tuple[torch.device, torch.device]] = []

    def fn(z: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        seen.append((z.device, v.device))
        return torch.zeros(len(z))

    scores = batched_scores(fn, _maps(10, 8, 8), batch=4, device=torch.device("meta"))
    assert len(seen) == 3
    assert {d.type for pair in seen for d in pair} == {"meta"}
    assert scores.shape == (10,)


def test_a_model_on_another_device_scores_there_without_a_device_mismatch() -> None:
    spec = type_spec(3, tiny_config())
    model = ClassifierNet(spec, tiny_config().classifier).to("meta").eval()
    assert device_of(model).type == "meta"
    with pytest.raises(NotImplementedError, match="meta"):   # copying scores out of meta
        bad_logits(model, _maps(3, spec.rows, spec.cols))


def _forced(batch_factor: int = 1) -> Accel:
    """The GPU options (maps and augmentation on the device, bf16 autocast, channels_last) on
    the CPU."""
    return Accel.forced(torch.device("cpu"), AcceleratorCfg(batch_factor=batch_factor))


def _labelled(n: int, spec_rows: int, spec_cols: int) -> MapSet:
    ms = _maps(n, spec_rows, spec_cols)
    bad = (np.arange(n) % 2).astype(np.int64)
    ms.z[bad == 1, :, : spec_cols // 2] += 1.0                     # the bad ones are lumpy
    return MapSet(ms.z, ms.valid, bad, np.where(bad == 1, len(GOOD_CLASSES), 0), ms.ids)


class _HostReads(TorchFunctionMode):
    """Counts tensors read back into Python values by the training package's own code."""

    READS: ClassVar[set[Any]] = {torch.Tensor.item, torch.Tensor.__float__, torch.Tensor.__int__,
             torch.Tensor.__bool__, torch.Tensor.tolist, torch.Tensor.numpy,
             torch.Tensor.cpu, torch.Tensor.__index__}

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def __torch_function__(self, func: Any, types: Any, args: Any = (),
                           kwargs: Any = None) -> Any:
        caller = sys._getframe(1).f_code.co_filename
        if func in self.READS and "/training/" in caller and "/tests/" not in caller:
            self.count += 1
        return func(*args, **(kwargs or {}))


def _reads_in_fit(n_train: int) -> int:
    cfg = tiny_config()
    spec = type_spec(3, cfg)
    model = ClassifierNet(spec, cfg.classifier)
    optim = OptimCfg(epochs=2, batch_size=8)
    aug = AugmentCfg(shift_px=0)       # the shift alone is a host draw (a host generator's)
    targets = torch.from_numpy(_labelled(n_train, spec.rows, spec.cols).bad)

    def loss_fn(_: nn.Module, z: torch.Tensor, v: torch.Tensor, i: torch.Tensor) -> torch.Tensor:
        return nnf.cross_entropy(model.logits(z, v).float(), targets[i])

    with _HostReads() as reads:
        fit(model, _labelled(n_train, spec.rows, spec.cols), _labelled(8, spec.rows, spec.cols),
            loss_fn, bad_logits, optim, aug, 0, "t", _forced())
    return reads.count


def test_a_training_step_reads_nothing_back_to_the_host() -> None:
    # 2 and 6 steps per epoch: the reads are per epoch (loss, validation), not per step.
    few, many = _reads_in_fit(16), _reads_in_fit(48)
    assert few == many
    assert few <= 2 * 6


def test_the_siamese_loss_reads_nothing_back_to_the_host() -> None:
    emb = nnf.normalize(torch.randn(16, 8, generator=torch.Generator().manual_seed(0)), dim=1)
    group = torch.tensor([-1] * 8 + [3] * 4 + [5] * 4)
    with _HostReads() as reads:
        loss = contrastive_loss(emb, group, 1.0)
    assert reads.count == 0
    d = torch.cdist(emb, emb)        # the same loss as masked means over the pairs
    same, eye = group[:, None] == group[None, :], torch.eye(16, dtype=torch.bool)
    want = (d[same & ~eye] ** 2).mean() + (nnf.relu(1.0 - d[~same]) ** 2).mean()
    assert float(loss) == pytest.approx(float(want), rel=1e-5)


def test_the_gpu_path_forced_on_the_cpu_trains_a_classifier() -> None:
    cfg = tiny_config()
    spec = type_spec(3, cfg)
    accel = _forced(batch_factor=2)
    train, val = _labelled(64, spec.rows, spec.cols), _labelled(32, spec.rows, spec.cols)
    model, info = train_classifier(spec, cfg.classifier.model_copy(
        update={"optim": OptimCfg(epochs=6, batch_size=8, lr=0.005)}), AugmentCfg(), train, val,
        0, accel)
    assert accel.as_dict()["autocast"] == "torch.bfloat16"
    assert accel.optim(OptimCfg(batch_size=8, lr=0.01)).batch_size == 16
    assert model.encoder.features[0][0].weight.is_contiguous(memory_format=torch.channels_last)
    assert info["val_auroc"] >= 0.95
    scores = bad_logits(model, val)
    assert np.isfinite(scores).all()


def test_the_cpu_path_ignores_the_accelerator_options() -> None:
    accel = Accel.for_device(torch.device("cpu"), AcceleratorCfg(batch_factor=8))
    assert accel == Accel(torch.device("cpu"))
    assert accel.optim(OptimCfg(batch_size=64, lr=0.003)) == OptimCfg(batch_size=64, lr=0.003)
