"""Half-size bundles (export.weights: fp16): smaller files, the same decisions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inspector.decision.committee import Committee
from inspector.decision.gauge import gauge_weld
from point_cloud.config import weld_type_profile
from point_cloud.heightmap_io import read_heightmap
from tests.training.conftest import tiny_config
from training.data import read_dataset
from training.metrics import auroc

pytestmark = [pytest.mark.slow, pytest.mark.train]


def test_fp16_bundle_is_smaller_and_scores_like_the_fp32_one(
        easy_dataset: Path, easy_testset: Path, bundle: Path,
        tmp_path_factory: pytest.TempPathFactory) -> None:
    from training.train import train_type

    cfg = tiny_config().model_copy(update={"export": {"weights": "fp16"}})
    cfg = type(cfg).model_validate(cfg.model_dump())
    half = train_type(read_dataset(easy_dataset), 3, cfg, tmp_path_factory.mktemp("m16"))
    for name in ("classifier", "siamese", "anomaly"):
        ratio = (half / f"{name}.onnx").stat().st_size / (bundle / f"{name}.onnx").stat().st_size
        assert ratio <= 0.75, f"{name}: fp16 file is {ratio:.2f} of the fp32 one"
    ds = read_dataset(easy_testset)
    maps = [read_heightmap(ds.root / r["path"]) for r in ds.records]
    bad = np.array([r["label"] == "bad" for r in ds.records])
    reports = [gauge_weld(m, weld_type_profile(3)) for m in maps]
    full = Committee.from_bundle(bundle).score_maps(maps, reports).score
    small = Committee.from_bundle(half).score_maps(maps, reports).score
    # the same seed and data: the members train alike; only the stored weights differ
    assert auroc(small, bad) >= auroc(full, bad) - 0.02
    assert auroc(small, bad) >= 0.95
