"""Score metrics in numpy: AUROC, operating thresholds, false-accept / false-reject rates.

Convention everywhere: higher score = more likely bad; a weld FAILs when ``score >= threshold``.
A false accept is a bad weld that passes; a false reject is a good weld that fails.
"""

from __future__ import annotations

import math

import numpy as np

TAIL_PASSES = 2
"""Bad validation maps the target false-accept threshold may let pass, at the least, for it
to rest on more than the single lowest bad score."""


def auroc(scores: np.ndarray, bad: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney, ties count half); NaN with one class only."""
    s = np.asarray(scores, np.float64)
    y = np.asarray(bad).astype(bool)
    n_bad, n_good = int(y.sum()), int((~y).sum())
    if n_bad == 0 or n_good == 0:
        return float("nan")
    _, inv = np.unique(s, return_inverse=True)
    counts = np.bincount(inv)
    ends = np.cumsum(counts)
    avg_rank = ends - (counts - 1) / 2.0          # 1-based average rank of each unique value
    rank_sum = avg_rank[inv][y].sum()
    return float((rank_sum - n_bad * (n_bad + 1) / 2.0) / (n_bad * n_good))


def rates(scores: np.ndarray, bad: np.ndarray, threshold: float) -> tuple[float, float]:
    """(false-accept rate over bad welds, false-reject rate over good welds) at ``threshold``."""
    s = np.asarray(scores, np.float64)
    y = np.asarray(bad).astype(bool)
    fail = s >= threshold
    far = float((~fail[y]).mean()) if y.any() else float("nan")
    frr = float(fail[~y].mean()) if (~y).any() else float("nan")
    return far, frr


def bad_maps_needed(target_far: float) -> int:
    """Bad validation maps for a threshold at ``target_far`` to let :data:`TAIL_PASSES` of
    them pass (0.1 %: 2,000); with fewer it sits on the lowest one, and one hard map (a pore
    at the limit by the bead's end) sets the whole line's false reject."""
    return math.ceil(TAIL_PASSES / target_far - 1e-9)


def threshold_for_far(scores: np.ndarray, bad: np.ndarray, target: float) -> float:
    """The highest threshold whose false-accept rate on these scores is <= ``target``."""
    b = np.sort(np.asarray(scores, np.float64)[np.asarray(bad).astype(bool)])
    if b.size == 0:
        raise ValueError("threshold_for_far: no bad samples to set the operating point on")
    k = int(np.floor(target * b.size + 1e-9))
    return float(b[min(k, b.size - 1)])


def operating_threshold(scores: np.ndarray, bad: np.ndarray, target_far: float,
                        fr_budget: float) -> float:
    """The operating point: the target-false-accept threshold, lowered while the false-reject
    rate on these scores stays within ``fr_budget``.

    With a few hundred bad validation maps, the 0.1 % threshold sits on the single lowest bad
    score: a thin estimate of the tail. Where the good welds leave room below it, the
    threshold moves down to where ``fr_budget`` of them would be rejected, a margin against
    unseen bad welds that costs no validation false accept."""
    t_fa = threshold_for_far(scores, bad, target_far)
    s = np.asarray(scores, np.float64)
    g = np.sort(s[~np.asarray(bad).astype(bool)])[::-1]
    m = int(np.floor(fr_budget * g.size + 1e-9))
    if fr_budget <= 0 or m >= g.size:
        return t_fa
    return min(t_fa, float(np.nextafter(g[m], np.inf)))  # FAIL when score >= threshold


def far_at_frr(scores: np.ndarray, bad: np.ndarray, frr: float = 0.01) -> float:
    """False-accept rate at the lowest threshold whose false-reject rate is <= ``frr``."""
    s = np.asarray(scores, np.float64)
    y = np.asarray(bad).astype(bool)
    g = np.sort(s[~y])[::-1]
    if g.size == 0 or not y.any():
        return float("nan")
    m = int(np.floor(frr * g.size + 1e-9))
    t = np.nextafter(g[min(m, g.size - 1)], np.inf)
    return rates(s, y, float(t))[0]


def min_error(scores: np.ndarray, bad: np.ndarray) -> float:
    """Lowest error rate over every threshold (what a plain error figure would report)."""
    s = np.asarray(scores, np.float64)
    y = np.asarray(bad).astype(bool)
    order = np.argsort(s, kind="stable")
    ys, ss = y[order], s[order]
    # Threshold just above position i: the first i+1 samples pass, the rest fail.
    missed_bad = np.r_[0, np.cumsum(ys)]               # bad passed
    failed_good = (~y).sum() - np.r_[0, np.cumsum(~ys)]  # good failed
    err = (missed_bad + failed_good) / max(1, y.size)
    cut = np.r_[True, ss[1:] != ss[:-1], True]         # only between distinct scores
    return float(err[cut].min())


def summary(scores: np.ndarray, bad: np.ndarray, threshold: float) -> dict[str, float]:
    """AUROC, FAR/FRR at ``threshold``, FAR at 1 % FRR, and the error rate."""
    far, frr = rates(scores, bad, threshold)
    y = np.asarray(bad).astype(bool)
    err = float(((np.asarray(scores) >= threshold) != y).mean())
    return {"auroc": auroc(scores, bad), "false_accept": far, "false_reject": frr,
            "error_rate": err, "far_at_frr_1pct": far_at_frr(scores, bad, 0.01),
            "min_error_rate": min_error(scores, bad),
            "threshold": float(threshold), "n_good": int((~y).sum()), "n_bad": int(y.sum())}
