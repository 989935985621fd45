"""A real SQLite store with inspections and PNG artifacts, the review app and HTTP clients.

The scenario (days are UTC, ``B`` = three days before today):

=====  ==========  ====  =======  ==========================================
 n     when        type  decision
=====  ==========  ====  =======  ==========================================
 1     B 10:00     3     FAIL     ball 2.4 mm (limit 1.5)
 2     B 11:00     3     FAIL     cut
 3, 4  B 12-13h    3     PASS
 5     B+1 09:00   5     FAIL     hole
 6     B+1 10:00   5     PASS
 7     B+1 11:00   3     ERROR    capture failure
 8     B+2 08:00   3     FAIL     ball; reviewed "confirmed-defect"
 9,10  B+2 09-10h  3     PASS
=====  ==========  ====  =======  ==========================================

and, in a store of its own, the SPC scenario (see :func:`seed_spc`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from factories import add_inspection, make_record
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from inspector.review.queries import add_review
from inspector.store.outbox import record_inspection
from inspector.verdict import Verdict

TOKEN = "test-token-0123456789abcdef"
PAGE_SIZE = 4


@dataclass
class Line:
    """The seeded store."""

    engine: Engine
    factory: sessionmaker[Session]
    url: str
    day0: datetime                  # midnight UTC of day B
    ids: dict[str, str]             # name -> inspection id
    artifacts_dir: Path


def seed(factory: sessionmaker[Session], artifacts_dir: Path, day0: datetime) -> dict[str, str]:
    def at(day: int, hour: int) -> datetime:
        return day0 + timedelta(days=day, hours=hour)

    ids = {
        "ball": add_inspection(factory, artifacts_dir, 1, at(0, 10), decision="FAIL",
                               defect="ball", size_mm=2.4, limit_mm=1.5, score=0.91),
        "cut": add_inspection(factory, artifacts_dir, 2, at(0, 11), decision="FAIL",
                              defect="cut", score=0.7),
        "pass3": add_inspection(factory, artifacts_dir, 3, at(0, 12)),
        "pass4": add_inspection(factory, artifacts_dir, 4, at(0, 13)),
        "hole": add_inspection(factory, artifacts_dir, 5, at(1, 9), decision="FAIL",
                               weld_type=5, defect="hole", score=0.8),
        "pass6": add_inspection(factory, artifacts_dir, 6, at(1, 10), weld_type=5),
        "error": add_inspection(factory, artifacts_dir, 7, at(1, 11), decision="ERROR",
                                defect="capture_failure", score=1.0),
        "ball2": add_inspection(factory, artifacts_dir, 8, at(2, 8), decision="FAIL",
                                defect="ball", size_mm=1.9, score=0.75),
        "pass9": add_inspection(factory, artifacts_dir, 9, at(2, 9)),
        "pass10": add_inspection(factory, artifacts_dir, 10, at(2, 10)),
    }
    add_review(factory, ids["ball2"], "confirmed-defect", "clear lump", "anna")
    return ids


# The SPC scenario (another store): weld type 3, one scan an hour from B 00:00 to B 19:00.
# Bead width alternates 6.0/6.2 mm, then steps to 7.0 mm for the last four (16h-19h): mean
# 6.28, average moving range 0.2 (sigma 0.2 / 1.128), the step is out of control. Height
# alternates 2.0/2.1 mm, in control. FAILs by hour: 1 ball, 3 cut (night 22-06), 7 ball,
# 9 ball, 12 hole (early 06-14), 15 cut (late 14-22); then 20h ERROR (99 mm, left out),
# 21h FAIL no_weld (not measured), a weld type 5 PASS at 02h and a type 3 PASS ten days
# before today (50 mm: only in a 30-day window).
SPC_FAILS = {1: "ball", 3: "cut", 7: "ball", 9: "ball", 12: "hole", 15: "cut"}


def spc_width(hour: int) -> float:
    return 7.0 if hour >= 16 else (6.2 if hour % 2 else 6.0)


def spc_height(hour: int) -> float:
    return 2.1 if hour % 2 else 2.0


def add_measured(factory: sessionmaker[Session], n: int, when: datetime,
                 figures: dict[str, float], decision: str = "PASS", defect: str | None = None,
                 weld_type: int = 3) -> str:
    """Record inspection ``n`` with the gauge's ``figures`` (no artifacts)."""
    verdict = Verdict(decision, 0.9 if decision != "PASS" else 0.1, 0.5,  # type: ignore[arg-type]
                      defect=defect)
    rec = make_record(n, verdict=verdict, weld_type=weld_type, when=when)
    rec.measurements = figures
    assert record_inspection(factory, rec)
    return rec.inspection_id


def seed_spc(factory: sessionmaker[Session], day0: datetime) -> dict[str, str]:
    """The SPC scenario above; ids by name (``h<hour>`` for the hourly type 3 scans)."""
    ids = {}
    for h in range(20):
        ids[f"h{h}"] = add_measured(
            factory, h + 1, day0 + timedelta(hours=h),
            {"bead_width_mm": spc_width(h), "bead_height_mm": spc_height(h),
             "bead_length_mm": 40.0}, "FAIL" if h in SPC_FAILS else "PASS", SPC_FAILS.get(h))
    ids["error"] = add_measured(factory, 21, day0 + timedelta(hours=20),
                                {"bead_width_mm": 99.0, "bead_height_mm": 9.0}, "ERROR",
                                "capture_failure")
    ids["no_weld"] = add_measured(factory, 22, day0 + timedelta(hours=21), {}, "FAIL",
                                  "no_weld")
    ids["type5"] = add_measured(factory, 23, day0 + timedelta(hours=2),
                                {"bead_width_mm": 3.0, "bead_height_mm": 1.0}, weld_type=5)
    ids["old"] = add_measured(factory, 24, day0 - timedelta(days=7),
                              {"bead_width_mm": 50.0, "bead_height_mm": 2.0})
    return ids


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([0-9a-f]+)"', html)
    assert found, "no CSRF field in the page"
    return found.group(1)


class FakeClock:
    """A settable clock for the throttle: tests move time instead of sleeping."""

    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds
