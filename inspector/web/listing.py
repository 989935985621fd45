"""The list page's query: filters from the URL, one page of inspections, newest first."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from inspector.store.models import Inspection
from inspector.web.params import BadParamError, Params, choice, day, whole
from point_cloud.config import WELD_TYPE_RANGE

DECISIONS = ("PASS", "FAIL", "ERROR")
REVIEW_STATES = ("reviewed", "unreviewed")
PER_PAGE = 25
MAX_PER_PAGE = 100
MAX_PAGE = 1_000_000                   # keeps the row offset far inside a 64-bit integer


@dataclass(frozen=True)
class PageQuery:
    """The list filters; dates are UTC days, ``date_to`` inclusive; ``per_page`` None: default."""

    decision: str | None = None
    weld_type: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    review: str | None = None          # "reviewed" / "unreviewed" / None (all)
    page: int = 1
    per_page: int | None = None

    @classmethod
    def from_params(cls, params: Params) -> PageQuery:
        """Parse the query string; empty values mean "any"; ``BadParamError`` names the field."""
        weld_type = whole(params, "weld_type", WELD_TYPE_RANGE.start, WELD_TYPE_RANGE.stop - 1)
        q = cls(choice(params, "decision", DECISIONS), weld_type,
                day(params, "date_from"), day(params, "date_to"),
                choice(params, "review", REVIEW_STATES),
                whole(params, "page", 1, MAX_PAGE) or 1,
                whole(params, "per_page", 1, MAX_PER_PAGE))
        if q.date_from and q.date_to and q.date_to < q.date_from:
            raise BadParamError(f"date_to: expected a day on or after {q.date_from}, "
                                f"found {q.date_to}")
        return q

    def conditions(self) -> list[ColumnElement[bool]]:
        c: list[ColumnElement[bool]] = []
        if self.decision:
            c.append(Inspection.decision == self.decision)
        if self.weld_type is not None:
            c.append(Inspection.weld_type == self.weld_type)
        if self.date_from:
            c.append(Inspection.created_at >= datetime.combine(self.date_from, time(), UTC))
        if self.date_to:
            end = datetime.combine(self.date_to + timedelta(days=1), time(), UTC)
            c.append(Inspection.created_at < end)
        if self.review == "reviewed":
            c.append(Inspection.reviews.any())
        elif self.review == "unreviewed":
            c.append(~Inspection.reviews.any())
        return c

    def link(self, **changes: Any) -> str:
        """The query string of this filter with ``changes`` (e.g. another page)."""
        q = replace(self, **changes)
        pairs = [(f.name, getattr(q, f.name)) for f in fields(q)]
        return urlencode([(k, str(v)) for k, v in pairs
                          if v is not None and not (k == "page" and v == 1)])


@dataclass(frozen=True)
class Page:
    rows: list[Inspection]
    total: int
    page: int
    pages: int


def page_of_inspections(factory: sessionmaker[Session], q: PageQuery,
                        per_page: int = PER_PAGE) -> Page:
    """One page of matching inspections (artifacts and reviews loaded) and the match count."""
    per_page = q.per_page or per_page
    where = q.conditions()
    with factory() as s:
        total = int(s.scalar(select(func.count()).select_from(Inspection).where(*where)) or 0)
        rows = s.scalars(
            select(Inspection).where(*where)
            .options(selectinload(Inspection.reviews), selectinload(Inspection.artifacts))
            .order_by(Inspection.created_at.desc(), Inspection.id)
            .offset((q.page - 1) * per_page).limit(per_page)).all()
    return Page(list(rows), total, q.page, max(1, -(-total // per_page)))


def next_to_review(factory: sessionmaker[Session], current_id: str) -> str | None:
    """The newest unreviewed FAIL other than ``current_id`` (the operator's next weld)."""
    page = page_of_inspections(factory, PageQuery(decision="FAIL", review="unreviewed"), 2)
    return next((r.id for r in page.rows if r.id != current_id), None)
