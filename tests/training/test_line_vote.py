"""The committee calibrated on the line's decision: the gauge's votes set the operating point."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inspector.decision.bundle import MemberCard
from training.calibrate import calibrate_committee
from training.data import read_dataset
from training.line_vote import GAUGE_VOTE, with_votes

pytestmark = pytest.mark.train


def _member(name: str) -> MemberCard:
    return MemberCard(file=f"{name}.onnx", raw_score="bad_logit", transform="identity", mean=0.0,
                      std=1.0, platt=(1.0, 0.0), threshold=0.5)


def _scores(seed: int = 0, bad_mean: float = 4.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One member's raw scores: 1000 good around 0, 1000 bad around ``bad_mean``, of which
    the 100 lowest-scoring (the committee's hardest) are ones the gauge measures and fails."""
    rng = np.random.default_rng(seed)
    good, bad = rng.normal(0.0, 1.0, 1000), rng.normal(bad_mean, 1.0, 1000)
    raw = np.concatenate([good, bad])
    y = np.r_[np.zeros(1000, bool), np.ones(1000, bool)]
    votes = np.zeros(2000, bool)
    votes[1000 + np.argsort(bad)[:100]] = True
    return raw, y, votes


def test_votes_raise_a_map_above_any_threshold() -> None:
    s = np.array([0.1, 0.9, 0.3])
    np.testing.assert_array_equal(with_votes(s, None), s)
    np.testing.assert_array_equal(with_votes(s, np.array([False, False, True])),
                                  [0.1, 0.9, GAUGE_VOTE])


def test_the_gauges_catches_let_the_threshold_rise_and_the_false_rejects_fall() -> None:
    raw, y, votes = _scores()
    members = {"classifier": _member("classifier")}
    alone = calibrate_committee(members, {"classifier": raw}, y, 0.001, 0.0)
    line = calibrate_committee(members, {"classifier": raw}, y, 0.001, 0.0, votes)
    assert line.threshold > alone.threshold
    # The line's decision at each operating point: same false accept (<= 0.1 %), fewer
    # good welds rejected once the gauge's catches need no low threshold.
    p_alone = alone.metrics["val"]
    p_line = line.metrics["val_line"]
    assert p_line["false_accept"] <= 0.001
    assert p_alone["false_accept"] <= 0.001
    assert p_line["false_reject"] < 0.5 * p_alone["false_reject"]
    assert line.metrics["gauge_votes"] == {"bad": 100, "good": 0}


def test_good_welds_the_gauge_fails_leave_the_committees_budget_whole() -> None:
    raw, y, votes = _scores(1, bad_mean=9.0)    # room below the target-FA threshold
    members = {"classifier": _member("classifier")}
    free = calibrate_committee(members, {"classifier": raw}, y, 0.001, 0.005, votes)
    votes[np.argsort(raw[:1000])[-4:]] = True   # the gauge fails the 4 highest-scoring goods
    spent = calibrate_committee(members, {"classifier": raw}, y, 0.001, 0.005, votes)
    # the threshold still moves down until 0.5 % of the goods the gauge passes fail; the
    # line rejects those and the gauge's 4 (0.4 %), and no bad weld passes
    assert spent.threshold < free.threshold
    assert spent.metrics["val_line"]["false_reject"] == pytest.approx(0.004 + 0.005, abs=0.0011)
    assert spent.metrics["val_line"]["false_accept"] == 0.0
    assert spent.metrics["gauge_votes"] == {"bad": 100, "good": 4}


def test_votes_on_a_process_pool_are_the_serial_ones(easy_testset: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from training import line_vote

    ds = read_dataset(easy_testset)
    records = ds.records
    monkeypatch.setattr(line_vote, "CHUNK", 8)
    monkeypatch.setattr(line_vote, "MIN_PARALLEL", 16)
    serial = line_vote.gauge_readings(ds.root, records, 3, workers=1)
    pooled = line_vote.gauge_readings(ds.root, records, 3, workers=2)
    assert len(records) >= 32
    np.testing.assert_array_equal(pooled.votes, serial.votes)
    np.testing.assert_array_equal(pooled.margins, serial.margins)
    bad = np.array([r["label"] == "bad" for r in records])
    assert serial.votes[bad].mean() > 0.3           # the gauge fails a share of the bad maps
    assert serial.votes[~bad].mean() < 0.05         # and hardly any good one
    # every map it fails is beyond its limit; the margin ranks bad above good
    assert (serial.margins[serial.votes] > 0).all()
    assert np.median(serial.margins[bad]) > np.median(serial.margins[~bad]) + 0.2


def test_the_gauges_margin_as_a_member_passes_acceptable_imperfections() -> None:
    """Acceptable imperfections (a short lack) look like bad welds to the networks; the
    gauge measures them inside their limits, but it reads plain good welds anywhere near
    theirs (a ripple). Together they pass most imperfections and plain welds, and no more
    bad ones than either alone."""
    rng = np.random.default_rng(3)
    y = np.r_[np.zeros(1000, bool), np.ones(1000, bool)]
    imperfect = np.zeros(2000, bool)
    imperfect[:200] = True                                  # 20 % of the good welds
    logit = np.where(y | imperfect, rng.normal(4.0, 1.0, 2000), rng.normal(0.0, 1.0, 2000))
    margin = np.where(y, rng.normal(0.5, 0.2, 2000),        # near or beyond the limit
                      np.where(imperfect, rng.normal(-0.5, 0.15, 2000),
                               rng.normal(0.0, 0.4, 2000)))
    members = {"classifier": _member("classifier"), "gauge": _member("gauge")}
    raw = {"classifier": logit, "gauge": margin}
    alone = {n: calibrate_committee({n: members[n]}, {n: raw[n]}, y, 0.001, 0.0)
             for n in members}
    both = calibrate_committee(members, raw, y, 0.001, 0.0)
    assert both.members == ("classifier", "gauge")
    assert min(both.weights) > 0                            # the committee weighs both
    assert both.metrics["val"]["false_accept"] <= 0.001
    fr = {n: c.metrics["val"]["false_reject"] for n, c in alone.items()}
    assert min(fr.values()) > 0.25
    assert both.metrics["val"]["false_reject"] < 0.75 * min(fr.values())
