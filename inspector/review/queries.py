"""Review queries on the store: list, show, record an operator's verdict."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from inspector.store.models import Inspection, Review

VERDICTS = ("confirmed-defect", "false-reject")


class ReviewError(LookupError):
    """An unknown inspection id or an invalid review verdict."""


@dataclass(frozen=True)
class ListFilter:
    decision: str | None = None         # PASS / FAIL / ERROR (any case)
    weld_type: int | None = None
    since: datetime | None = None
    unreviewed: bool = False
    limit: int = 100


def list_inspections(factory: sessionmaker[Session], f: ListFilter) -> list[Inspection]:
    """Newest first, with their reviews loaded."""
    q = select(Inspection).options(selectinload(Inspection.reviews))
    if f.decision:
        q = q.where(Inspection.decision == f.decision.upper())
    if f.weld_type is not None:
        q = q.where(Inspection.weld_type == f.weld_type)
    if f.since is not None:
        q = q.where(Inspection.created_at >= f.since)
    if f.unreviewed:
        q = q.where(~Inspection.reviews.any())
    q = q.order_by(Inspection.created_at.desc(), Inspection.id).limit(f.limit)
    with factory() as s:
        return list(s.scalars(q).all())


def get_inspection(factory: sessionmaker[Session], inspection_id: str) -> Inspection:
    """One inspection (a unique id prefix is enough) with artifacts and reviews."""
    q = (select(Inspection)
         .options(selectinload(Inspection.reviews), selectinload(Inspection.artifacts))
         .where(Inspection.id.startswith(inspection_id, autoescape=True)).limit(2))
    with factory() as s:
        found = list(s.scalars(q).all())
    if len(found) != 1:
        what = "no inspection" if not found else "more than one inspection"
        raise ReviewError(f"inspection id {inspection_id!r}: {what} matches")
    return found[0]


def add_review(factory: sessionmaker[Session], inspection_id: str, verdict: str,
               note: str | None = None, reviewer: str | None = None) -> Review:
    """Record an operator's verdict (the newest review of an inspection counts)."""
    if verdict not in VERDICTS:
        raise ReviewError(f"verdict: expected one of {VERDICTS}, found {verdict!r}")
    insp = get_inspection(factory, inspection_id)
    with factory.begin() as s:
        review = Review(inspection_id=insp.id, verdict=verdict, note=note, reviewer=reviewer)
        s.add(review)
    return review


def latest_verdict(insp: Inspection) -> str | None:
    return insp.reviews[-1].verdict if insp.reviews else None
