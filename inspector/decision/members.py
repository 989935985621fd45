"""The committee's members, defined once: what each one's raw score is and how it is scaled.

Three are networks, an ONNX graph each in the bundle. The fourth is the norm gauge
(:mod:`inspector.decision.gauge`): its raw score is the map's largest measured exceedance,
(value - limit) / limit, which the inspector measures anyway for its vote. As a member it
tells an acceptable imperfection (a lack 2 mm long, limit 3 mm) from a bad one the networks
see the same, and the committee weighs it like the others (:mod:`training.calibrate`).
Training, calibration, evaluation and the inspector all loop over :data:`MEMBER_SPECS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

GAUGE = "gauge"
"""The member the norm gauge's measurements stand for (no file in the bundle)."""


@dataclass(frozen=True)
class MemberSpec:
    """One committee member."""

    name: str
    raw_score: str                           # what the raw score is, for the card
    transform: Literal["identity", "log"]    # applied before standardisation
    network: bool = True                     # an ONNX graph; False: measured at run time


MEMBER_SPECS: dict[str, MemberSpec] = {s.name: s for s in (
    MemberSpec("classifier", "logit P(bad) from the class softmax", "identity"),
    # distances (>= 0, long right tail) are calibrated on a log scale
    MemberSpec("siamese", "mean distance to the k nearest good references", "log"),
    MemberSpec("anomaly", "max patch distance to the good memory bank (unit: median good map)",
               "log"),
    MemberSpec(GAUGE, "largest measured exceedance (value - limit) / limit of the norm gauge",
               "identity", network=False),
)}

NETWORKS: tuple[str, ...] = tuple(n for n, s in MEMBER_SPECS.items() if s.network)
"""The members that are ONNX graphs in a bundle."""
