"""Canonical sample classes: the names shared by the generator, training and the inspector."""

from __future__ import annotations

from typing import Literal

Label = Literal["good", "bad"]

# Good-class variants: the source weld (possibly augmented) and acceptable short cuts.
GOOD_CLASSES: tuple[str, ...] = ("none", "cut_ok")
# Defect classes (label "bad"), in the order used for classifier outputs.
BAD_CLASSES: tuple[str, ...] = (
    "deviation",        # bead path bends at start, middle or end
    "excess",           # north/south material imbalance
    "ball",             # round lump on or beside the bead
    "cut",              # discontinuity at or beyond the limit
    "hole",             # hole / pore in the bead
    "lack",             # lack of material on one plate
    "no_weld",          # plate only, no bead
    "capture_failure",  # mostly invalid or solid map
)
ALL_CLASSES: tuple[str, ...] = GOOD_CLASSES + BAD_CLASSES


def label_of(defect: str) -> Label:
    """The label of a class name; ``ValueError`` naming the valid names for an unknown one."""
    if defect in GOOD_CLASSES:
        return "good"
    if defect in BAD_CLASSES:
        return "bad"
    raise ValueError(f"unknown defect class {defect!r}; expected one of {', '.join(ALL_CLASSES)}")
