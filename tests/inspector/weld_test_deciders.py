"""A deterministic stand-in for the committee, for the daemon's tests (not the real models).

FAIL when any valid cell of the map rises above ``LIMIT_MM``; score = max height / (2 * limit).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from inspector.decision.gauge import GaugeReport
from inspector.verdict import Verdict
from point_cloud.types import HeightMap

LIMIT_MM = 3.2


class HeightDecider:
    def __init__(self, limit_mm: float = LIMIT_MM) -> None:
        self.limit_mm = limit_mm

    def decide(self, hm: HeightMap, report: GaugeReport | None = None) -> Verdict:
        z = np.where(hm.valid, hm.z, -np.inf)
        top = float(z.max())
        score = top / (2 * self.limit_mm)
        if top <= self.limit_mm:
            return Verdict("PASS", score, 0.5, member_scores={"height": score},
                           bundle_version="test-height/1")
        r, c = np.unravel_index(int(np.argmax(z)), z.shape)
        x, y = hm.xy_of(float(r), float(c))
        return Verdict("FAIL", score, 0.5, member_scores={"height": score}, defect="ball",
                       location_mm=(float(x), float(y)), anomaly_map=np.clip(hm.z, 0, None),
                       bundle_version="test-height/1")


def load(cfg: Any) -> dict[int, HeightDecider]:
    """``models.loader`` entry point: one HeightDecider per configured type."""
    return {t: HeightDecider() for t in cfg.models.served_types()}


def load_partial(cfg: Any) -> dict[int, HeightDecider]:
    """A loader that misses type 3's bundle (start-up must refuse)."""
    return {t: HeightDecider() for t in cfg.models.served_types() if t != 3}


class BrokenDecider:
    def decide(self, hm: HeightMap, report: GaugeReport | None = None) -> Verdict:
        raise RuntimeError("model exploded")


def load_broken_t10(cfg: Any) -> dict[int, Any]:
    """Type 10's decider raises: the daemon must report it and keep serving type 3."""
    return {t: BrokenDecider() if t == 10 else HeightDecider() for t in cfg.models.served_types()}


class SlowDecider(HeightDecider):
    def decide(self, hm: HeightMap, report: GaugeReport | None = None) -> Verdict:
        time.sleep(SLOW_S)
        return super().decide(hm, report)


SLOW_S = 2.5


def load_slow(cfg: Any) -> dict[int, HeightDecider]:
    """A decider that takes 2.5 s per map (a hung model, for the watchdog test)."""
    return {t: SlowDecider() for t in cfg.models.served_types()}
