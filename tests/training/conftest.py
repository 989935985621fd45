"""Fixtures for weld-train: small datasets from the real generator and one trained bundle."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torch")

from synth_defects.generate import GenerateConfig, generate_dataset
from training.config import TrainConfig

# Obvious defects: the committee must separate these from good welds on a held-out set.
EASY_DEFECTS = ("ball", "cut", "no_weld", "capture_failure")


def make_dataset(out: Path, seed: int, sources: int, per_good: int = 4,
                 defects: tuple[str, ...] = EASY_DEFECTS) -> Path:
    cfg = GenerateConfig(types=(3,), per_good=per_good, seed=seed, simulate=sources,
                         defects=defects)
    generate_dataset(cfg, out, progress=False)
    return out


def tiny_config() -> TrainConfig:
    """A few-second committee: compact CNNs on 0.4 mm/px inputs, small memory bank."""
    return TrainConfig.model_validate({
        "val_fraction": 0.34,
        "input": {"net_mm_per_px": 0.4},
        "classifier": {"backbone": "compact", "width": 8,
                       "optim": {"epochs": 20, "batch_size": 16, "lr": 0.005}},
        "siamese": {"backbone": "compact", "width": 8, "embedding_dim": 16, "gallery_size": 32,
                    "optim": {"epochs": 10, "batch_size": 16, "lr": 0.005}},
        "anomaly": {"bank_size": 256, "max_patches": 20000},
    })


@pytest.fixture(scope="session")
def easy_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("data") / "train", seed=1, sources=30)


@pytest.fixture(scope="session")
def easy_testset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Another seed, other source welds: a held-out split by source weld."""
    return make_dataset(tmp_path_factory.mktemp("data") / "test", seed=7, sources=8)


@pytest.fixture(scope="session")
def bundle(easy_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from training.data import read_dataset
    from training.train import train_type

    return train_type(read_dataset(easy_dataset), 3, tiny_config(),
                      tmp_path_factory.mktemp("models"))
