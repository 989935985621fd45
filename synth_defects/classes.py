"""The sample classes, defined once: :data:`DEFECTS`, a registry of :class:`DefectSpec`.

Each spec names a class (shared by the generator, training and the inspector), its label,
the maker in :mod:`synth_defects.defects` that draws it, and, for classes the weld norm
limits in mm, the limit's field in the weld type's ``limits`` config and the quantity the
norm gauge (:mod:`inspector.decision.gauge`) measures against it. The generator's
:data:`~synth_defects.defects.MAKERS`, the gauge's ``GAUGES``, the classifier's outputs,
the review page and the demo all loop over it; adding a class means adding its spec and its
maker module (and its gauge measurement, if the norm limits it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Label = Literal["good", "bad"]


@dataclass(frozen=True)
class DefectSpec:
    """One sample class. ``maker``: ``module:function`` under ``synth_defects.defects``;
    ``limit``/``quantity``: the norm's limit field and the gauged quantity (None: judged by
    appearance only, e.g. a failed capture); ``check``: ``module:function`` telling whether a
    drawn sample shows its label on the map (the generator draws it again if not; None:
    every draw does)."""

    name: str
    label: Label
    doc: str
    maker: str
    limit: str | None = None
    quantity: str | None = None
    check: str | None = None


# Good classes first, then the defects: this order is the classifier's output order.
DEFECTS: tuple[DefectSpec, ...] = (
    DefectSpec("none", "good", "the source weld (possibly augmented)", "none:make"),
    DefectSpec("cut_ok", "good", "a short cut below the norm's limit", "cut:make_ok",
               "cut_ok_mm", "cut_length", "cut:shows_ok_gap"),
    DefectSpec("hole_ok", "good", "a pore below the norm's diameter limit", "hole:make_ok",
               "hole_reject_diameter_mm", "hole_diameter", "hole:lies_on_bead"),
    DefectSpec("ball_ok", "good", "a lump below the norm's diameter or height limit",
               "ball:make_ok", "ball_reject_diameter_mm", "ball_diameter", "ball:stands_out"),
    DefectSpec("deviation_ok", "good", "a bend below the norm's offset limit",
               "deviation:make_ok", "deviation_reject_mm", "deviation_offset"),
    DefectSpec("excess_ok", "good", "an imbalance below the norm's limit", "excess:make_ok",
               "excess_reject_imbalance_mm", "excess_imbalance"),
    DefectSpec("lack_ok", "good", "a lack of material shorter than the norm's limit",
               "lack:make_ok", "lack_reject_length_mm", "lack_length"),
    DefectSpec("deviation", "bad", "bead path bends at start, middle or end", "deviation:make",
               "deviation_reject_mm", "deviation_offset"),
    DefectSpec("excess", "bad", "north/south material imbalance", "excess:make",
               "excess_reject_imbalance_mm", "excess_imbalance"),
    DefectSpec("ball", "bad", "round lump on or beside the bead", "ball:make",
               "ball_reject_diameter_mm", "ball_diameter", "ball:stands_out"),
    DefectSpec("cut", "bad", "discontinuity at or beyond the limit", "cut:make_bad",
               "cut_reject_mm", "cut_length", "cut:shows_bad_gap"),
    DefectSpec("hole", "bad", "hole / pore in the bead", "hole:make",
               "hole_reject_diameter_mm", "hole_diameter", "hole:lies_on_bead"),
    DefectSpec("lack", "bad", "lack of material on one plate", "lack:make",
               "lack_reject_length_mm", "lack_length"),
    DefectSpec("no_weld", "bad", "plate only, no bead", "no_weld:make"),
    DefectSpec("capture_failure", "bad", "mostly invalid or solid map", "capture_failure:make"),
)
SPECS: dict[str, DefectSpec] = {d.name: d for d in DEFECTS}

GOOD_CLASSES: tuple[str, ...] = tuple(d.name for d in DEFECTS if d.label == "good")
BAD_CLASSES: tuple[str, ...] = tuple(d.name for d in DEFECTS if d.label == "bad")
ALL_CLASSES: tuple[str, ...] = GOOD_CLASSES + BAD_CLASSES
GAUGED: tuple[DefectSpec, ...] = tuple(d for d in DEFECTS if d.label == "bad" and d.quantity)
"""The defects the norm limits in mm: each has a gauge measurement."""


def label_of(defect: str) -> Label:
    """The label of a class name; ``ValueError`` naming the valid names for an unknown one."""
    spec = SPECS.get(defect)
    if spec is None:
        raise ValueError(f"unknown defect class {defect!r}; expected one of "
                         f"{', '.join(ALL_CLASSES)}")
    return spec.label
