"""Numbers behind the SPC page: individuals control charts of the bead and the defect share
per shift, for one weld type over a window.

Control chart (Shewhart individuals, X chart): one point per decided scan (PASS or FAIL;
ERROR scans say nothing about the weld), oldest first. Centre line = mean; sigma = average
moving range / d2 (1.128 for ranges of two); limits = centre ± 3 sigma, from the points
shown. Shifts are fixed times of day in UTC; a shift runs until the next one starts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from inspector.store.models import Inspection, Measurement, as_utc

D2 = 1.128                          # E[range] / sigma for subgroups of two (moving ranges)
DECIDED = ("PASS", "FAIL")
MAX_POINTS = 2000                   # newest scans per chart (limits come from these)


@dataclass(frozen=True)
class Shift:
    """A shift starting at ``start`` (UTC time of day); it ends where the next one starts."""

    name: str
    start: time

    def label(self, end: time) -> str:
        return f"{self.name} {self.start:%H:%M}–{end:%H:%M}"


DEFAULT_SHIFTS = (Shift("early", time(6)), Shift("late", time(14)), Shift("night", time(22)))


@dataclass(frozen=True)
class Limits:
    """An individuals chart's centre line, sigma (from the moving range) and ±3 sigma."""

    centre: float
    sigma: float

    @property
    def ucl(self) -> float:
        return self.centre + 3 * self.sigma

    @property
    def lcl(self) -> float:
        return self.centre - 3 * self.sigma


def individuals_limits(values: Sequence[float]) -> Limits | None:
    """Centre = mean, sigma = mean |x[i] - x[i-1]| / 1.128; None below two points."""
    x = np.asarray(values, np.float64)
    if x.size < 2:
        return None
    return Limits(float(x.mean()), float(np.abs(np.diff(x)).mean() / D2))


@dataclass(frozen=True)
class Point:
    """One scan's value on a control chart."""

    inspection_id: str
    at: datetime
    value: float


@dataclass(frozen=True)
class ControlChart:
    """One quantity's points, oldest first, with their limits (None below two points)."""

    quantity: str
    points: list[Point]
    limits: Limits | None

    @classmethod
    def of(cls, quantity: str, points: list[Point]) -> ControlChart:
        return cls(quantity, points, individuals_limits([p.value for p in points]))

    @property
    def out(self) -> list[bool]:
        """Per point: beyond UCL or LCL."""
        lim = self.limits
        return [lim is not None and not lim.lcl <= p.value <= lim.ucl for p in self.points]


def control_chart(factory: sessionmaker[Session], weld_type: int, quantity: str,
                  since: datetime, until: datetime, limit: int = MAX_POINTS) -> ControlChart:
    """``quantity`` of the newest ``limit`` decided scans of ``weld_type`` in [since, until)."""
    with factory() as s:
        rows = s.execute(
            select(Inspection.id, Inspection.created_at, Measurement.value_mm)
            .join(Measurement, Measurement.inspection_id == Inspection.id)
            .where(Measurement.quantity == quantity, Inspection.weld_type == weld_type,
                   Inspection.decision.in_(DECIDED), Inspection.created_at >= since,
                   Inspection.created_at < until)
            .order_by(Inspection.created_at.desc(), Inspection.id.desc()).limit(limit)).all()
    points = [Point(i, utc(t), float(v)) for i, t, v in reversed(rows)]
    return ControlChart.of(quantity, points)


def utc(t: datetime) -> datetime:
    """``t`` in UTC (SQLite gives naive UTC, PostgreSQL the session's time zone)."""
    return as_utc(t).astimezone(UTC)


def shift_of(t: datetime, shifts: Sequence[Shift]) -> Shift:
    """The shift holding ``t`` (UTC): the last to start at or before its time of day."""
    ordered = sorted(shifts, key=lambda sh: sh.start)
    now = utc(t).time()
    return next((sh for sh in reversed(ordered) if sh.start <= now), ordered[-1])


@dataclass(frozen=True)
class ShiftMix:
    """Per shift label, in shift order: decided scans, and FAILs per defect class."""

    scans: dict[str, int]
    fails: dict[str, Counter[str]]

    def share(self, shift: str, defect: str) -> float | None:
        """``defect``'s share of the shift's FAILs; None when it had none."""
        total = sum(self.fails[shift].values())
        return self.fails[shift][defect] / total if total else None


def shift_labels(shifts: Sequence[Shift]) -> dict[Shift, str]:
    """Each shift's label with its UTC hours, in order of start."""
    ordered = sorted(shifts, key=lambda sh: sh.start)
    return {sh: sh.label(ordered[(i + 1) % len(ordered)].start) for i, sh in enumerate(ordered)}


def defect_mix_by_shift(factory: sessionmaker[Session], weld_type: int, since: datetime,
                        until: datetime, shifts: Sequence[Shift]) -> ShiftMix:
    """Decided scans and FAIL defect classes (``unknown`` when missing) per shift."""
    with factory() as s:
        rows = s.execute(
            select(Inspection.created_at, Inspection.decision, Inspection.defect)
            .where(Inspection.weld_type == weld_type, Inspection.decision.in_(DECIDED),
                   Inspection.created_at >= since, Inspection.created_at < until)).all()
    labels = shift_labels(shifts)
    scans: Counter[str] = Counter()
    fails: dict[str, Counter[str]] = {lab: Counter() for lab in labels.values()}
    for t, decision, defect in rows:
        lab = labels[shift_of(t, shifts)]
        scans[lab] += 1
        if decision == "FAIL":
            fails[lab][defect or "unknown"] += 1
    return ShiftMix({lab: scans[lab] for lab in labels.values()}, fails)


def weld_types_seen(factory: sessionmaker[Session], since: datetime,
                    until: datetime) -> list[int]:
    """Weld types with decided scans in the window, ascending."""
    with factory() as s:
        return sorted(s.scalars(
            select(Inspection.weld_type).distinct()
            .where(Inspection.weld_type.is_not(None), Inspection.decision.in_(DECIDED),
                   Inspection.created_at >= since, Inspection.created_at < until)))
