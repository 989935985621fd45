"""A weld type's geometry learned from many surveyed good scans, and the refusals.

The figures of :mod:`.survey` are pooled per type: median and spread (5th-95th
percentile, MAD). The path kind is the scans' majority; the plate kind follows from the
plates seen beside the bead and the step between its toes:

- ``square``: a square path (its patch and outer plate are figures, not kinds);
- ``upper``: the toes stand more than ``STEP_MM`` apart (a lap fillet);
- ``lower``: a plate seen beside the bead in most scans, level on both sides;
- ``isolated``: no plate seen in most scans.

Refused, naming the files (:class:`CommissionError`): too few scans; scans whose identity
names another weld type; scans of another layout (path kind, length or side, plate step off
the others' by more than ``LAYOUT_TOL``); and scans the pipeline could not use or
that the quality gate or the norm gauge fails with the learned geometry (capture failures,
obvious defects), unless the caller drops those (``drop_bad``).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from point_cloud.config import Limits, WeldTypeProfile
from training.commission.survey import PathKind, ScanSurvey

MIN_SCANS = 20
STEP_MM = 0.3
"""Toes further apart in height than this: a stepped (lap) joint."""
PLATE_SEEN_SHARE = 0.5
ROI_MARGIN_MM = 5.0
MIN_ROI_WIDTH_MM = 16.0
LAYOUT_TOL: dict[str, float] = {
    "bead_length_mm": 3.0, "square_side_mm": 2.0, "plate_step_mm": 0.6,
}
"""A scan whose figure lies further than this from the set's median (and further than 5
MADs) is of another layout. The outer plate's tilt is not a layout: one type may hold
level and oblique outer plates (the weld-types file gives its range)."""


class CommissionError(ValueError):
    """The scans cannot commission a type; the message names the files and why."""


@dataclass(frozen=True)
class Spread:
    """One figure over the scans."""

    median: float
    p5: float
    p95: float
    mad: float
    n: int

    @staticmethod
    def of(values: Sequence[float]) -> Spread:
        v = np.asarray(values, dtype=np.float64)
        med = float(np.median(v))
        return Spread(med, float(np.percentile(v, 5)), float(np.percentile(v, 95)),
                      float(np.median(np.abs(v - med))), int(v.size))


@dataclass(frozen=True)
class LearnedGeometry:
    """The type's learned geometry: path and plate kind, every figure's spread."""

    weld_type: int
    path: PathKind
    plate: str  # a geometry kind's name (point_cloud.kinds)
    figures: dict[str, Spread]
    scans: int
    dropped: dict[str, str] = field(default_factory=dict)  # file -> why (drop_bad)

    def profile(self, base: WeldTypeProfile | None = None,
                description: str | None = None) -> WeldTypeProfile:
        """The weld-types entry: learned geometry and region of interest; the norm's limits
        from ``base`` (the type's existing entry) or the defaults."""
        f = self.figures
        w, h = f["bead_width_mm"].median, f["bead_height_mm"].median
        shadow = (max(0.0, round(f["shadow_fraction"].p5, 3)),
                  min(0.9, round(max(f["shadow_fraction"].p95, 0.01), 3)))
        from training.commission.paths import SURVEYS  # they build on this module's figures

        geo, roi = SURVEYS[self.path].learned(f, self.plate, w, h, shadow)
        text = description or (f"commissioned from {self.scans} good scans "
                                f"on {dt.date.today().isoformat()}")
        return WeldTypeProfile(weld_type=self.weld_type, description=text, geometry=geo,
                               roi=roi, limits=base.limits if base is not None else Limits())


def whole_px(mm: float, px: float = 0.2) -> float:
    """``mm`` rounded up to whole pixels of the default map."""
    return round(float(np.ceil(mm / px - 1e-9) * px), 3)


def step_range(step: Spread) -> tuple[float, float]:
    """The step's magnitude over the scans, at least 0.2 mm wide (the simulator draws it)."""
    lo, hi = sorted((abs(step.p5), abs(step.p95)))
    lo = max(0.05, round(lo, 2))
    return lo, round(max(hi, lo + 0.2), 2)


def _named(files: Sequence[str], limit: int = 12) -> str:
    shown = ", ".join(files[:limit])
    return shown + (f" and {len(files) - limit} more" if len(files) > limit else "")


def check_identity(surveys: Sequence[ScanSurvey], weld_type: int) -> None:
    """Refuse scans whose identity names another weld type."""
    other = [f"{s.file} (type {s.weld_type})" for s in surveys
             if s.weld_type is not None and s.weld_type != weld_type]
    if other:
        raise CommissionError(
            f"{len(other)} scan(s) are not of weld type {weld_type}: {_named(other)}; "
            "commission one type at a time")


def _outliers(surveys: Sequence[ScanSurvey], key: str, tol: float) -> list[str]:
    vals = np.array([s.figures[key] for s in surveys])
    med = float(np.median(vals))
    mad = float(np.median(np.abs(vals - med)))
    off = np.abs(vals - med)
    return [f"{s.file} ({key} {v:.2f}, the others {med:.2f})"
            for s, v, o in zip(surveys, vals, off, strict=True) if o > tol and o > 5 * mad]


def check_layout(surveys: Sequence[ScanSurvey]) -> PathKind:
    """The set's path kind; refuse scans of another path kind or layout."""
    kinds = Counter(s.path for s in surveys)
    path: PathKind = kinds.most_common(1)[0][0]
    odd = [f"{s.file} ({s.path} path)" for s in surveys if s.path != path]
    if not odd:
        same = [s for s in surveys if s.path == path]
        for key, tol in LAYOUT_TOL.items():
            if key in same[0].figures:
                odd += _outliers(same, key, tol)
    if odd:
        raise CommissionError(
            f"{len(odd)} scan(s) are of another layout than the other {len(surveys)} "
            f"({path} path): {_named(odd)}; commission each layout as its own type")
    return path


def plate_kind(surveys: Sequence[ScanSurvey], path: PathKind) -> str:
    """The geometry kind the scans show (module doc; their path's strategy decides)."""
    from training.commission.paths import SURVEYS

    return SURVEYS[path].plate_kind(surveys)


def learn_geometry(surveys: Sequence[ScanSurvey], weld_type: int,
                   min_scans: int = MIN_SCANS) -> LearnedGeometry:
    """Pool the surveys of one type (module doc); :class:`CommissionError` if they cannot."""
    if len(surveys) < min_scans:
        raise CommissionError(
            f"{len(surveys)} usable good scans; commissioning needs at least {min_scans}")
    check_identity(surveys, weld_type)
    path = check_layout(surveys)
    keys = sorted(set.intersection(*(set(s.figures) for s in surveys)))
    figures = {k: Spread.of([s.figures[k] for s in surveys]) for k in keys}
    return LearnedGeometry(weld_type, path, plate_kind(surveys, path), figures, len(surveys))
