"""Numbers behind the trends page: reject rate per weld type over time, defect-class mix.

Reject rate = FAIL / (PASS + FAIL) per bin; ERROR (capture failures) are counted apart,
they say nothing about the weld. Binning is done in numpy so it is the same on SQLite and
PostgreSQL.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from inspector.store.models import Inspection, as_utc

BIN_SECONDS = {"hour": 3600, "day": 86400}


@dataclass(frozen=True)
class RejectSeries:
    """Per weld type: scans and FAILs per bin; bin ``i`` starts at ``starts[i]`` (UTC)."""

    starts: list[datetime]
    totals: dict[int, np.ndarray]      # PASS + FAIL per bin
    fails: dict[int, np.ndarray]
    errors: dict[int, np.ndarray]

    def rates(self, weld_type: int) -> list[float | None]:
        """FAIL share per bin; None where the bin has no decided scan."""
        n, f = self.totals[weld_type], self.fails[weld_type]
        return [float(fi / ni) if ni else None for fi, ni in zip(f, n, strict=True)]


def window(until: datetime, bins: int, bin_name: str) -> tuple[datetime, datetime]:
    """``bins`` whole bins ending with the one that holds ``until``."""
    step = BIN_SECONDS[bin_name]
    end_ts = (int(until.timestamp()) // step + 1) * step
    end = datetime.fromtimestamp(end_ts, UTC)
    return end - timedelta(seconds=step * bins), end


def reject_series(factory: sessionmaker[Session], since: datetime, until: datetime,
                  bin_name: str) -> RejectSeries:
    step = BIN_SECONDS[bin_name]
    n_bins = max(1, -(-int((until - since).total_seconds()) // step))
    with factory() as s:
        rows = s.execute(select(Inspection.created_at, Inspection.weld_type, Inspection.decision)
                         .where(Inspection.created_at >= since, Inspection.created_at < until,
                                Inspection.weld_type.is_not(None))).all()
    t = np.array([as_utc(r[0]).timestamp() for r in rows], np.float64)
    types = np.array([r[1] for r in rows], np.int64)
    decision = np.array([r[2] for r in rows], dtype=object)
    idx = np.clip(((t - since.timestamp()) // step).astype(np.int64), 0, n_bins - 1)

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(idx[mask], minlength=n_bins)

    totals, fails, errors = {}, {}, {}
    for wt in sorted(set(types.tolist())):
        of_type = types == wt
        fails[wt] = count(of_type & (decision == "FAIL"))
        totals[wt] = fails[wt] + count(of_type & (decision == "PASS"))
        errors[wt] = count(of_type & (decision == "ERROR"))
    starts = [since + timedelta(seconds=step * i) for i in range(n_bins)]
    return RejectSeries(starts, totals, fails, errors)


def defect_mix(factory: sessionmaker[Session], since: datetime,
               until: datetime) -> dict[int, dict[str, int]]:
    """FAIL counts per weld type and defect class (``unknown`` when the class is missing)."""
    with factory() as s:
        rows = s.execute(
            select(Inspection.weld_type, Inspection.defect, func.count())
            .where(Inspection.decision == "FAIL", Inspection.created_at >= since,
                   Inspection.created_at < until, Inspection.weld_type.is_not(None))
            .group_by(Inspection.weld_type, Inspection.defect)).all()
    mix: dict[int, dict[str, int]] = defaultdict(dict)
    for weld_type, defect, n in rows:
        of_type = mix[int(weld_type or 0)]
        of_type[defect or "unknown"] = of_type.get(defect or "unknown", 0) + int(n)
    return dict(sorted(mix.items()))
