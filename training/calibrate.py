"""Calibration on validation data.

- Members: the raw score is transformed (``log`` for distances, which are skewed), then
  standardised and Platt-scaled; each member gets its own operating point.
- Committee: the non-negative weights of the standardised member scores are chosen on a
  simplex grid to minimise the validation false-reject rate at the target false-accept rate
  (the line's real priority; ties: higher AUROC), then a 1-D logistic fit scales that
  combination into P(bad).
- Operating points (members and committee): the threshold for the target false-accept rate,
  lowered while the validation false reject stays within ``fr_budget``
  (:func:`training.metrics.operating_threshold`). Given the norm gauge's ``votes`` on the
  validation maps, the committee's weights and operating point are set on the line's
  decision (:mod:`training.line_vote`): the gauge's catches need no low threshold; the
  budget is spent on the committee's own false rejects.
"""

from __future__ import annotations

import itertools

import numpy as np

from inspector.decision.bundle import CommitteeCard, MemberCard
from inspector.decision.committee import (
    committee_probability,
    sigmoid,
    standardise,
    transform_raw,
)
from training.line_vote import with_votes
from training.metrics import auroc, operating_threshold, rates, summary, threshold_for_far

GRID_STEPS = 40   # committee weight grid: multiples of 1/40 that sum to 1


def fit_logistic(X: np.ndarray, y: np.ndarray, l2: float = 1.0,
                 iters: int = 50) -> tuple[np.ndarray, float]:
    """Class-balanced L2-regularised logistic regression by Newton's method: (weights, bias)."""
    X = np.asarray(X, np.float64)
    y = np.asarray(y, np.float64)
    n, d = X.shape
    pos = max(y.sum(), 1.0)
    neg = max(n - y.sum(), 1.0)
    sw = np.where(y > 0, n / (2 * pos), n / (2 * neg))
    A = np.hstack([X, np.ones((n, 1))])
    theta = np.zeros(d + 1)
    reg = np.full(d + 1, l2)
    reg[-1] = 0.0
    for _ in range(iters):
        p = sigmoid(A @ theta)
        grad = A.T @ (sw * (p - y)) + reg * theta
        hess = (A * (sw * p * (1 - p))[:, None]).T @ A + np.diag(reg + 1e-9)
        step = np.linalg.solve(hess, grad)
        theta -= step
        if np.abs(step).max() < 1e-10:
            break
    return theta[:-1], float(theta[-1])


def calibrate_member(raw: np.ndarray, bad: np.ndarray, target_far: float, file: str | None,
                     raw_score: str, extra: dict[str, object] | None = None,
                     transform: str = "identity", fr_budget: float = 0.0) -> MemberCard:
    """Transform, standardise, Platt-scale and set the member's own operating point."""
    t = transform_raw(raw, transform)
    mean, std = float(np.mean(t)), float(max(np.std(t), 1e-9))
    zs = standardise(t, mean, std)
    (a,), b = fit_logistic(zs[:, None], bad)
    p = sigmoid(a * zs + b)
    thr = operating_threshold(p, bad, target_far, fr_budget)
    return MemberCard(file=file, raw_score=raw_score, transform=transform,
                      mean=mean, std=std, platt=(float(a), b), threshold=thr,
                      metrics={"val": summary(p, bad, thr)}, extra=dict(extra or {}))


def simplex_grid(n: int, steps: int = GRID_STEPS) -> np.ndarray:
    """All (M, n) non-negative weight vectors with entries in multiples of 1/steps summing to 1."""
    rows = [c for c in itertools.product(range(steps + 1), repeat=n - 1) if sum(c) <= steps]
    return np.array([[*c, steps - sum(c)] for c in rows], np.float64) / steps


def best_weights(X: np.ndarray, bad: np.ndarray, target_far: float,
                 votes: np.ndarray | None = None) -> np.ndarray:
    """The grid weights with the lowest false-reject rate at ``target_far`` (ties: AUROC),
    of the line's decision where the gauge's ``votes`` are given."""
    best_key: tuple[float, float] | None = None
    best = np.full(X.shape[1], 1.0 / X.shape[1])
    for w in simplex_grid(X.shape[1]):
        s = with_votes(X @ w, votes)
        frr = rates(s, bad, threshold_for_far(s, bad, target_far))[1]
        key = (frr, -auroc(s, bad))
        if best_key is None or key < best_key:
            best_key, best = key, w
    return best


def calibrate_committee(members: dict[str, MemberCard], raw: dict[str, np.ndarray],
                        bad: np.ndarray, target_far: float, fr_budget: float = 0.0,
                        votes: np.ndarray | None = None) -> CommitteeCard:
    """Weights for the lowest validation false reject at ``target_far``, scaled into P(bad);
    with the gauge's ``votes``, both chosen on the line's decision (the module doc)."""
    names = tuple(members)
    X = np.stack([standardise(transform_raw(raw[n], members[n].transform), members[n].mean,
                              members[n].std) for n in names], 1)
    w = best_weights(X, bad, target_far, votes)
    (a,), b = fit_logistic((X @ w)[:, None], bad)
    weights = tuple(float(v) for v in a * w)
    score = committee_probability(X, weights, b)
    # the gauge's false fails are the line's either way: the budget's margin below the
    # target-FA point is spent on the committee's own (on the good maps the gauge passes)
    keep = np.ones(len(score), bool) if votes is None else ~(votes & ~np.asarray(bad, bool))
    thr = operating_threshold(with_votes(score, votes)[keep], np.asarray(bad)[keep], target_far,
                              fr_budget)
    metrics: dict[str, object] = {"val": summary(score, bad, thr),
                                  "grid_weights": [float(v) for v in w]}
    if votes is not None:
        y = np.asarray(bad).astype(bool)
        metrics["val_line"] = summary(with_votes(score, votes), bad, thr)
        metrics["gauge_votes"] = {"bad": int(votes[y].sum()), "good": int(votes[~y].sum())}
    return CommitteeCard(members=names, weights=weights, bias=b,
                         threshold=thr, target_false_accept=target_far,
                         false_reject_budget=fr_budget, metrics=metrics)
