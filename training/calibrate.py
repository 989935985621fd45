"""Calibration on validation data: per-member standardisation + Platt scaling, a logistic
committee over the standardised member scores, and the operating threshold for a target
false-accept rate."""

from __future__ import annotations

import numpy as np

from inspector.decision.bundle import CommitteeCard, MemberCard
from inspector.decision.committee import sigmoid, standardise
from training.metrics import summary, threshold_for_far


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


def calibrate_member(raw: np.ndarray, bad: np.ndarray, target_far: float, file: str,
                     raw_score: str, extra: dict[str, object] | None = None) -> MemberCard:
    """Standardise, Platt-scale and set the member's own operating point on validation data."""
    mean, std = float(np.mean(raw)), float(max(np.std(raw), 1e-9))
    zs = standardise(raw, mean, std)
    (a,), b = fit_logistic(zs[:, None], bad)
    p = sigmoid(a * zs + b)
    thr = threshold_for_far(p, bad, target_far)
    return MemberCard(file=file, raw_score=raw_score, mean=mean, std=std, platt=(float(a), b),
                      threshold=thr, metrics={"val": summary(p, bad, thr)},
                      extra=dict(extra or {}))


def calibrate_committee(members: dict[str, MemberCard], raw: dict[str, np.ndarray],
                        bad: np.ndarray, target_far: float) -> CommitteeCard:
    """Weights from a logistic regression on standardised member scores; threshold for FAR."""
    names = tuple(members)
    X = np.stack([standardise(raw[n], members[n].mean, members[n].std) for n in names], 1)
    w, b = fit_logistic(X, bad)
    score = sigmoid(X @ w + b)
    thr = threshold_for_far(score, bad, target_far)
    return CommitteeCard(members=names, weights=tuple(float(v) for v in w), bias=b, threshold=thr,
                         target_false_accept=target_far, metrics={"val": summary(score, bad, thr)})
