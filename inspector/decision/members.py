"""The committee's members, defined once: what each one's raw score is and how it is scaled.

Three are networks, an ONNX graph each in the bundle. The fourth is the norm gauge
(:mod:`inspector.decision.gauge`): its raw score is the map's largest measured exceedance,
(value - limit) / limit, which the inspector measures anyway for its vote. As a member it
tells an acceptable imperfection (a lack 2 mm long, limit 3 mm) from a bad one the networks
see the same, and the committee weighs it like the others (:mod:`training.calibrate`).
Training describes and calibrates each member from :data:`MEMBER_SPECS`; a bundle's card
then lists the members its committee weighs, and evaluation and the inspector loop over the
card (a bundle made before the gauge member has three).
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
