"""Unit behaviour: model input definition, augmentation, metrics, calibration."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from inspector.decision.committee import siamese_distance
from inspector.decision.model_input import input_spec_for, model_input, normalise_reference
from point_cloud.errors import ScanShapeError
from point_cloud.types import HeightMap
from training.calibrate import fit_logistic
from training.config import AugmentCfg
from training.data import augment, class_weights
from training.metrics import auroc, far_at_frr, min_error, rates, threshold_for_far
from training.nets import Preprocess

pytestmark = pytest.mark.train


def _bead(rows: int = 80, cols: int = 250, seed: int = 0) -> HeightMap:
    rng = np.random.default_rng(seed)
    y = np.arange(rows)[:, None] - rows / 2
    z = np.clip(2.0 * (1 - (y / 15.0) ** 2), 0, None) * np.ones((1, cols))
    valid = rng.random((rows, cols)) > 0.05
    return HeightMap(z=(z + rng.normal(0, 0.02, z.shape)).astype(np.float32), valid=valid,
                     mm_per_px=0.2)


def test_torch_preprocess_matches_the_numpy_definition() -> None:
    spec = input_spec_for((80, 250), 0.2, 0.4)
    assert spec.net_shape == (40, 125)
    hm = _bead()
    feed = model_input(hm, spec)
    ref = normalise_reference(hm.z, hm.valid, spec)
    got = Preprocess(spec)(torch.from_numpy(feed["z"]), torch.from_numpy(feed["valid"]))[0]
    np.testing.assert_allclose(got.numpy(), ref, atol=1e-5)
    # Heights are fed in units of the nominal bead height, not rescaled per image.
    assert abs(float(ref[0].max()) - 1.0) < 0.1


def test_model_input_rejects_wrong_shape_and_resolution() -> None:
    spec = input_spec_for((80, 250), 0.2, 0.4)
    with pytest.raises(ScanShapeError, match=r"\(80, 250\).*\(80, 240\)"):
        model_input(_bead(cols=240), spec)
    hm = _bead()
    hm.mm_per_px = 0.25
    with pytest.raises(ScanShapeError, match="mm_per_px"):
        model_input(hm, spec)


def test_augment_keeps_heights_physical() -> None:
    hm = _bead()
    z = torch.from_numpy(np.repeat(hm.z[None, None], 64, 0))
    v = torch.from_numpy(np.repeat(hm.valid[None, None], 64, 0).astype(np.float32))
    za, va = augment(z, v, AugmentCfg(dropout=0.1, gain=0.05, noise_mm=0.02),
                     torch.Generator().manual_seed(0))
    assert float(za.max()) <= float(z.max()) * 1.05 + 0.1      # gain 5 % + 5 sigma noise
    lost = 1.0 - float(va.mean()) / float(v.mean())
    assert 0.08 < lost < 0.12                                    # ~10 % dropout
    assert float((za * (1 - va)).abs().max()) == 0.0             # invalid cells are zero


def test_class_weights_balance_good_and_bad() -> None:
    cls = np.array([0] * 90 + [3] * 5 + [4] * 5)   # 90 "none", two defect classes
    w = class_weights(cls).numpy()
    per_sample = w[cls]
    assert per_sample.mean() == pytest.approx(1.0)
    assert per_sample[:90].sum() == pytest.approx(per_sample[90:].sum())
    assert w[1] == 0.0                               # absent class


def test_metrics_on_known_scores() -> None:
    s = np.array([0.1, 0.2, 0.3, 0.35, 0.8, 0.9])
    y = np.array([0, 0, 1, 0, 1, 1])
    assert auroc(s, y) == pytest.approx(8 / 9)
    t = threshold_for_far(s, y, 0.001)
    assert t == pytest.approx(0.3)
    assert rates(s, y, t) == (0.0, pytest.approx(1 / 3))
    assert far_at_frr(s, y, 0.0) == pytest.approx(1 / 3)


def test_threshold_meets_target_on_many_scores() -> None:
    rng = np.random.default_rng(0)
    s = np.concatenate([rng.normal(0, 1, 5000), rng.normal(3, 1, 5000)])
    y = np.r_[np.zeros(5000), np.ones(5000)]
    t = threshold_for_far(s, y, 0.01)
    far, frr = rates(s, y, t)
    assert 0.009 <= far <= 0.01
    assert 0.2 < frr < 0.4        # the price of the operating point


def test_logistic_weights_favour_the_informative_score() -> None:
    rng = np.random.default_rng(1)
    y = rng.random(2000) < 0.5
    X = np.stack([y * 2.0 + rng.normal(0, 1, 2000), rng.normal(0, 1, 2000)], 1)
    w, _ = fit_logistic(X, y.astype(float))
    assert w[0] > 1.0
    assert abs(w[1]) < 0.2


def test_siamese_distance_is_mean_of_k_nearest() -> None:
    gallery = np.array([[0.0, 0.0], [1.0, 0.0], [5.0, 0.0]], np.float32)
    emb = np.array([[0.0, 0.0], [3.0, 0.0]], np.float32)
    np.testing.assert_allclose(siamese_distance(emb, gallery, 2), [0.5, 2.0], atol=1e-6)


def test_min_error_finds_the_best_threshold() -> None:
    s = np.array([0.1, 0.2, 0.3, 0.35, 0.8, 0.9])
    y = np.array([0, 0, 1, 0, 1, 1])
    assert min_error(s, y) == pytest.approx(1 / 6)      # one sample misplaced at best
    assert min_error(np.zeros(4), np.array([0, 1, 0, 1])) == pytest.approx(0.5)  # ties
