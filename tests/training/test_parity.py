"""Torch vs onnxruntime on real generated maps: every member output within 1e-4."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from training.config import AnomalyCfg, ClassifierCfg, SiameseCfg
from training.data import load_maps, read_dataset
from training.export import export_member, parity
from training.members.anomaly import fit_anomaly
from training.members.classifier import ClassifierNet
from training.members.siamese import SiameseNet
from training.train import type_spec

from .conftest import tiny_config

pytestmark = [pytest.mark.slow, pytest.mark.train]


@pytest.fixture(scope="module")
def real_maps(easy_dataset: Path):
    ds = read_dataset(easy_dataset)
    return load_maps(ds, ds.records[:24], 3)


@pytest.mark.parametrize("backbone", ["compact", "mobilenetv3_small_050"])
def test_classifier_and_siamese_parity(real_maps, backbone: str, tmp_path: Path) -> None:
    spec = type_spec(3, tiny_config())
    torch.manual_seed(0)
    z, v = real_maps.z[:, None], real_maps.valid[:, None].astype(np.float32)
    for name, model in (("classifier", ClassifierNet(spec, ClassifierCfg(backbone=backbone))),
                        ("siamese", SiameseNet(spec, SiameseCfg(backbone=backbone)))):
        model.eval()
        path = export_member(model, name, spec, tmp_path / f"{name}.onnx")
        assert parity(model, path, z, v) <= 1e-4, name


@pytest.mark.parametrize("backbone", ["compact", "mobilenetv3_small_050"])
def test_anomaly_parity_and_map_shape(real_maps, backbone: str, tmp_path: Path) -> None:
    """Patch features of an (untrained, frozen) member encoder: parity and unit scale."""
    spec = type_spec(3, tiny_config())
    goods = real_maps.subset(np.flatnonzero(real_maps.bad == 0))
    torch.manual_seed(0)
    encoder = ClassifierNet(spec, ClassifierCfg(backbone=backbone)).eval().encoder
    model = fit_anomaly(spec, AnomalyCfg(bank_size=128, max_patches=5000), goods, 0, encoder)
    path = export_member(model, "anomaly", spec, tmp_path / "anomaly.onnx")
    z, v = real_maps.z[:, None], real_maps.valid[:, None].astype(np.float32)
    assert parity(model, path, z, v) <= 1e-4
    with torch.inference_mode():
        score, amap = model(torch.from_numpy(z), torch.from_numpy(v))
    assert tuple(amap.shape) == (len(real_maps), 80, 250)
    # Good maps (the fit set) score the unit scale at the median; bad maps score above it.
    bad = real_maps.bad == 1
    s = score.numpy()
    assert float(np.median(s[~bad])) == pytest.approx(1.0, abs=0.05)
    assert float(np.median(s[bad])) > 1.3
    assert float(s[bad].max()) > 1.5
