"""The list page's query: filters from the URL, one page of inspections, newest first."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from inspector.store.models import Inspection
from point_cloud.config import WELD_TYPES

DECISIONS = ("PASS", "FAIL", "ERROR")
REVIEW_STATES = ("reviewed", "unreviewed")
PER_PAGE = 25


class BadQueryError(ValueError):
    """A filter value in the URL is not one the page offers."""


@dataclass(frozen=True)
class PageQuery:
    """The list filters; dates are UTC days, ``date_to`` inclusive."""

    decision: str | None = None
    weld_type: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    review: str | None = None          # "reviewed" / "unreviewed" / None (all)
    page: int = 1

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> PageQuery:
        """Parse the query string; empty values mean "any"; ``BadQueryError`` names the field."""
        def get(name: str) -> str | None:
            value = params.get(name, "").strip()
            return value or None

        decision = get("decision")
        if decision is not None and decision.upper() not in DECISIONS:
            raise BadQueryError(f"decision: expected one of {DECISIONS}, found {decision!r}")
        review = get("review")
        if review is not None and review not in REVIEW_STATES:
            raise BadQueryError(f"review: expected one of {REVIEW_STATES}, found {review!r}")
        weld_type = _int(get("weld_type"), "weld_type")
        if weld_type is not None and weld_type not in WELD_TYPES:
            raise BadQueryError(f"weld_type: expected one of {WELD_TYPES}, found {weld_type}")
        page = _int(get("page"), "page")
        page = 1 if page is None else page
        if page < 1:
            raise BadQueryError(f"page: expected a number >= 1, found {page}")
        q = cls(decision.upper() if decision else None, weld_type,
                _date(get("date_from"), "date_from"), _date(get("date_to"), "date_to"),
                review, page)
        if q.date_from and q.date_to and q.date_to < q.date_from:
            raise BadQueryError(f"date_to: expected a day on or after {q.date_from}, "
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


def _int(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise BadQueryError(f"{name}: expected a whole number, found {value!r}") from None


def _date(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadQueryError(f"{name}: expected a date YYYY-MM-DD, found {value!r}") from None


@dataclass(frozen=True)
class Page:
    rows: list[Inspection]
    total: int
    page: int
    pages: int


def page_of_inspections(factory: sessionmaker[Session], q: PageQuery,
                        per_page: int = PER_PAGE) -> Page:
    """One page of matching inspections (artifacts and reviews loaded) and the match count."""
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
