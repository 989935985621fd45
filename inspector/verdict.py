"""The decision core's answer for one height map (no MQTT, no DB in here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

Decision = Literal["PASS", "FAIL", "ERROR"]


@dataclass
class Measurement:
    """A defect measured on the height map, in mm, against its weld-norm limit."""

    quantity: str            # e.g. "cut_length", "ball_diameter", "deviation_offset"
    value_mm: float
    limit_mm: float
    uncertainty_mm: float | None = None   # the gauge's, when it measured it


@dataclass
class Verdict:
    """PASS / FAIL / ERROR with the evidence behind it."""

    decision: Decision
    score: float                              # committee score (higher = more likely bad)
    threshold: float                          # operating threshold on ``score``
    member_scores: dict[str, float] = field(default_factory=dict)
    defect: str | None = None                 # defect-class guess (synth_defects.classes)
    defect_probs: dict[str, float] = field(default_factory=dict)
    location_mm: tuple[float, float] | None = None   # (x, y) in the weld frame
    measurement: Measurement | None = None
    anomaly_map: np.ndarray | None = None     # float32, same shape as the height map
    reason: str | None = None                 # for ERROR (e.g. capture failure) and gate FAILs
    bundle_version: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (no arrays)."""
        return {
            "decision": self.decision,
            "score": self.score,
            "threshold": self.threshold,
            "member_scores": dict(self.member_scores),
            "defect": self.defect,
            "defect_probs": dict(self.defect_probs),
            "location_mm": list(self.location_mm) if self.location_mm else None,
            "measurement": (
                {"quantity": self.measurement.quantity, "value_mm": self.measurement.value_mm,
                 "limit_mm": self.measurement.limit_mm,
                 "uncertainty_mm": self.measurement.uncertainty_mm}
                if self.measurement else None),
            "reason": self.reason,
            "bundle_version": self.bundle_version,
        }
