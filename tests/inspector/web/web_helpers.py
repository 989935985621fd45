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
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from factories import add_inspection
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from inspector.review.queries import add_review

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
