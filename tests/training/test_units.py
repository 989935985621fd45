"""Unit behaviour: model input definition, augmentation, metrics, calibration."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from inspector.decision.bundle import ModelCard
from inspector.decision.committee import combine, member_probability, siamese_distance
from inspector.decision.model_input import input_spec_for, model_input, normalise_reference
from point_cloud.errors import ScanShapeError
from point_cloud.types import HeightMap
from synth_defects.classes import ALL_CLASSES, BAD_CLASSES
from training.calibrate import (
    best_weights,
    calibrate_committee,
    calibrate_member,
    fit_logistic,
    simplex_grid,
)
from training.config import AugmentCfg, TrainConfig
from training.data import augment, class_weights
from training.metrics import (
    TAIL_PASSES,
    auroc,
    bad_maps_needed,
    far_at_frr,
    min_error,
    operating_threshold,
    rates,
    threshold_for_far,
)
from training.nets import Preprocess
from training.train import bundle_version

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


def test_pit_channel_keeps_a_one_mm_pore_through_the_resize() -> None:
    spec = input_spec_for((80, 250), 0.2, 0.4)
    rr, cc = np.mgrid[:80, :250]
    noise = np.random.default_rng(1).normal(0, 0.02, rr.shape)
    z = (np.clip(2.0 * (1 - ((rr - 40) / 15.0) ** 2), 0, None) + noise).astype(np.float32)
    z[(rr - 40) ** 2 + (cc - 125) ** 2 <= 3 ** 2] -= 0.8        # 1.2 mm across, 0.8 mm deep
    ref = normalise_reference(z, np.ones_like(z, bool), spec)
    pit = ref[2]
    # At the pore (net pixel 20, 62) the channel holds most of its depth (0.8 mm / 2 mm = 0.4);
    # on the smooth bead elsewhere only noise (a few 0.02 mm / 2 mm).
    assert pit[19:22, 61:64].max() >= 0.3
    away = np.ones_like(pit, bool)
    away[15:26, 56:69] = False
    assert float(np.percentile(pit[away], 99)) < 0.05


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


def test_shadows_fall_in_blobs_on_good_maps_only() -> None:
    hm = _bead()
    z = torch.from_numpy(np.repeat(hm.z[None, None], 200, 0))
    v = torch.ones_like(z)
    good = torch.arange(200) < 100
    cfg = AugmentCfg(flip_x=False, shift_px=0, noise_mm=0.0, dropout=0.0, gain=0.0,
                     shadows=1.0, shadow_max=0.2)
    _, va = augment(z, v, cfg, torch.Generator().manual_seed(0), good=good)
    lost = 1.0 - va.mean(dim=(1, 2, 3)).numpy()
    assert float(lost[100:].max()) == 0.0                 # bad maps keep every cell
    assert 0.07 < float(lost[:100].mean()) < 0.13         # uniform in (0, 20 %): ~10 %
    assert float(lost[:100].max()) <= 0.2 + 0.03
    # blobs, not speckle: a lost cell's 4 neighbours are mostly lost too
    m = 1.0 - va[:100, 0]
    inner = m[:, 1:-1, 1:-1]
    nbrs = (m[:, :-2, 1:-1] + m[:, 2:, 1:-1] + m[:, 1:-1, :-2] + m[:, 1:-1, 2:]) / 4
    assert float((nbrs * inner).sum() / inner.sum()) > 0.8
    _, none = augment(z, v, cfg, torch.Generator().manual_seed(0))
    assert float(none.mean()) == 1.0                      # no labels given: no shadows


def test_class_weights_balance_good_and_bad() -> None:
    a, b = (ALL_CLASSES.index(c) for c in BAD_CLASSES[:2])
    cls = np.array([0] * 90 + [a] * 5 + [b] * 5)   # 90 "none", two defect classes
    w = class_weights(cls).numpy()
    per_sample = w[cls]
    assert per_sample.mean() == pytest.approx(1.0)
    assert per_sample[:90].sum() == pytest.approx(per_sample[90:].sum())
    assert w[ALL_CLASSES.index("cut_ok")] == 0.0     # absent class


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


def test_operating_point_spends_the_false_reject_budget_on_margin() -> None:
    good = np.r_[0.35, 0.3, 0.2, 0.1, np.zeros(196)]
    bad = np.r_[0.5, 0.6, 0.9, np.ones(197)]
    s, y = np.r_[good, bad], np.r_[np.zeros(200), np.ones(200)]
    assert threshold_for_far(s, y, 0.001) == 0.5
    assert operating_threshold(s, y, 0.001, 0.0) == 0.5
    t = operating_threshold(s, y, 0.001, 0.01)   # 2 of 200 good welds may fail
    assert 0.2 < t < 0.2001
    assert rates(s, y, t) == (0.0, 0.01)
    # More good welds above the target-FA point than the budget allows: it stays there.
    s2 = np.r_[0.9, 0.8, 0.7, good[3:], bad]
    assert operating_threshold(s2, y, 0.001, 0.01) == 0.5


def test_enough_bad_maps_let_the_target_point_pass_more_than_one() -> None:
    # with bad_maps_needed(target) bad maps, the target-FA threshold lets TAIL_PASSES pass;
    # with one map fewer, fewer pass: the point rests on the lowest of them
    rng = np.random.default_rng(0)
    for target in (0.001, 0.005):
        n = bad_maps_needed(target)
        for m, passes in ((n, TAIL_PASSES), (n - 1, TAIL_PASSES - 1)):
            bad = rng.uniform(1.0, 2.0, m)
            s, y = np.r_[np.zeros(100), bad], np.r_[np.zeros(100), np.ones(m)]
            assert int((bad < threshold_for_far(s, y, target)).sum()) == passes, (target, m)
    assert bad_maps_needed(0.001) == 2000


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


def test_simplex_grid_covers_non_negative_weights_summing_to_one() -> None:
    g = simplex_grid(3, 4)
    assert g.shape == (15, 3)                     # C(4 + 2, 2) compositions
    np.testing.assert_allclose(g.sum(1), 1.0)
    assert g.min() >= 0.0
    assert {tuple(r) for r in g} >= {(1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)}


def _member_scores(n: int = 4000, seed: int = 2) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """A sharp logit-like member, a skewed distance that only sees a hard bad subgroup, noise."""
    rng = np.random.default_rng(seed)
    bad = (rng.random(n) < 0.5).astype(int)
    hard = (bad == 1) & (rng.random(n) < 0.1)      # bad welds the first member misses
    logit = np.where(bad == 1, 6.0, -6.0) + rng.normal(0, 1.5, n) - 10.0 * hard
    dist = np.exp(rng.normal(0, 0.3, n) + 2.5 * hard)
    return {"a": logit, "b": dist, "c": rng.normal(0, 1, n)}, bad


def test_bundle_version_changes_with_data_config_and_operating_point() -> None:
    raw, bad = _member_scores()
    members = {"a": calibrate_member(raw["a"], bad, 0.001, "a.onnx", "logit")}
    com = calibrate_committee(members, {"a": raw["a"]}, bad, 0.001)
    cfg = TrainConfig().model_dump(mode="json")
    v = bundle_version(7, "e8caa9e22eab" + "0" * 52, cfg, com)
    assert v == bundle_version(7, "e8caa9e22eab" + "0" * 52, json.loads(json.dumps(cfg)), com)
    assert v.startswith("t7-e8caa9e22eab-")
    assert len(v) == 24
    cfg_more = {**cfg, "classifier": {**cfg["classifier"], "optim": {
        **cfg["classifier"]["optim"], "epochs": 18}}}
    others = {bundle_version(7, "091dcf7cc351" + "0" * 52, cfg, com),
              bundle_version(7, "e8caa9e22eab" + "0" * 52, cfg_more, com),
              bundle_version(7, "e8caa9e22eab" + "0" * 52, cfg,
                             com.model_copy(update={"threshold": com.threshold * 0.9}))}
    assert len(others) == 3
    assert v not in others


def test_committee_weights_cut_false_rejects_at_the_target_false_accept() -> None:
    raw, bad = _member_scores()
    members = {"a": calibrate_member(raw["a"], bad, 0.001, "a.onnx", "logit"),
               "b": calibrate_member(raw["b"], bad, 0.001, "b.onnx", "distance",
                                     transform="log"),
               "c": calibrate_member(raw["c"], bad, 0.001, "c.onnx", "noise")}
    com = calibrate_committee(members, raw, bad, 0.001)
    card = ModelCard(format="t", bundle_version="t", weld_type=3, input={}, classes=(),
                     bad_classes=(), members=members, committee=com)
    score = combine(card, raw)
    far, frr = rates(score, bad, com.threshold)
    assert far <= 0.001
    # Each member alone must reject far more good welds to let <= 0.1 % of bad ones pass.
    alone = {n: members[n].metrics["val"]["false_reject"] for n in members}
    assert frr < 0.05
    assert min(alone.values()) > 0.3, alone
    assert com.weights[2] <= 0.1 * max(com.weights[:2])     # the noise member is ignored
    assert all(w >= 0 for w in com.weights)
    # Runtime and calibration agree: a member's probability uses the same log transform.
    p_b = member_probability(card, "b", raw["b"])
    assert rates(p_b, bad, members["b"].threshold)[0] <= 0.001


def test_best_weights_prefers_the_member_that_separates_the_tail() -> None:
    rng = np.random.default_rng(3)
    bad = np.r_[np.zeros(1000), np.ones(1000)].astype(int)
    good_tail = np.r_[rng.normal(0, 1, 1000), rng.normal(4, 1, 1000)]
    X = np.stack([good_tail, rng.normal(0, 1, 2000)], 1)
    w = best_weights(X, bad, 0.01)
    assert w[0] >= 0.9


def test_a_type_override_changes_that_type_alone() -> None:
    cfg = TrainConfig.model_validate({
        "classifier": {"optim": {"epochs": 5}},
        "type_overrides": {7: {"input": {"base_window_mm": 9.0},
                               "classifier": {"optim": {"lr": 0.01}}}}})
    seven, three = cfg.for_type(7), cfg.for_type(3)
    assert seven.input.base_window_mm == 9.0
    assert three.input.base_window_mm == 0.0
    assert seven.classifier.optim.lr == 0.01
    assert seven.classifier.optim.epochs == 5
    assert three == cfg
    assert seven.type_overrides == {}
    with pytest.raises(ValidationError, match="base_window"):
        TrainConfig.model_validate({"type_overrides": {7: {"input": {"base_window": 9}}}})
