"""Training runs on any device: validation scoring moves each batch to the model's device.

No GPU is needed: the model is put on torch's ``meta`` device (shapes only). Scoring then
runs there end to end and fails only when the scores are copied out of it; before the fix
the CPU maps met the model's weights and raised a device mismatch (the H200 crash of the GPU
training issue)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.training.conftest import tiny_config
from training.data import MapSet
from training.loop import batched_scores, device_of
from training.members.classifier import ClassifierNet, bad_logits
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
