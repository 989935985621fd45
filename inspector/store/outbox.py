"""Writing inspections with their outbox message (one transaction) and draining the outbox."""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Result, delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from inspector.service.messages import ResultMessage
from inspector.store.models import (
    Artifact,
    Inspection,
    Measurement,
    OutboxMessage,
    Review,
    utcnow,
)


@dataclass
class InspectionRecord:
    """Everything the store writes for one scan: the row, its message and its artifacts."""

    result: ResultMessage
    topic: str
    artifacts: dict[str, Path] = field(default_factory=dict)   # kind -> file
    measurements: dict[str, float] = field(default_factory=dict)   # quantity -> mm (gauge)

    @property
    def inspection_id(self) -> str:
        return self.result.inspection_id


@dataclass(frozen=True)
class Pending:
    """An undelivered outbox message."""

    seq: int
    inspection_id: str
    topic: str
    payload: str


def record_inspection(factory: sessionmaker[Session], rec: InspectionRecord) -> bool:
    """Insert the inspection, its artifacts, its measurements and its outbox row atomically.

    A measurement that is not a finite number (the gauge could not tell) is left out: it
    must not cost the inspection its row.

    Returns False when the inspection id exists already: a scan re-processed after a crash,
    or delivered again, keeps its first decision. That decision is queued to be published
    again unless it is still waiting to go out: whoever sent the scan again waits for an
    answer (consumers tell repeats by the inspection id).
    """
    r = rec.result
    data = r.model_dump(mode="json")            # the JSON column and the payload
    with factory.begin() as s:
        first = s.get(Inspection, rec.inspection_id)
        if first is not None:
            waiting = s.scalar(select(OutboxMessage.seq).where(
                OutboxMessage.inspection_id == rec.inspection_id, *_PENDING).limit(1))
            if waiting is None:
                s.add(OutboxMessage(inspection_id=rec.inspection_id, topic=rec.topic,
                                    payload=json.dumps(first.result, sort_keys=True)))
            return False
        s.add(Inspection(
            id=rec.inspection_id, created_at=datetime.fromisoformat(r.timestamp),
            scan_name=r.scan, part_serial=r.part_serial, weld_id=r.weld_id,
            weld_type=r.weld_type, decision=r.decision, score=r.score,
            threshold=r.threshold, defect=r.defect, reason=r.reason,
            bundle_version=r.bundle_version, result=data,
            artifacts=[Artifact(kind=k, path=str(p)) for k, p in rec.artifacts.items()],
            measurements=[Measurement(quantity=q, value_mm=float(v))
                          for q, v in sorted(rec.measurements.items()) if math.isfinite(v)],
        ))
        s.flush()
        s.add(OutboxMessage(inspection_id=rec.inspection_id, topic=rec.topic,
                            payload=json.dumps(data, sort_keys=True)))
    return True


_PENDING = (OutboxMessage.delivered_at.is_(None), OutboxMessage.dead_at.is_(None))
_DEAD = OutboxMessage.dead_at.is_not(None)


def pending(factory: sessionmaker[Session], limit: int = 100,
            skip: Collection[int] = ()) -> list[Pending]:
    """Messages neither delivered nor dead, oldest first, leaving out the seqs in ``skip``."""
    with factory() as s:
        rows = s.execute(
            select(OutboxMessage.seq, OutboxMessage.inspection_id, OutboxMessage.topic,
                   OutboxMessage.payload)
            .where(*_PENDING).order_by(OutboxMessage.seq).limit(limit + len(skip))).all()
    return [Pending(*row) for row in rows if row[0] not in skip][:limit]


def mark_delivered(factory: sessionmaker[Session], seqs: Sequence[int]) -> None:
    """Stamp messages as acknowledged by the broker (PUBACK)."""
    if not seqs:
        return
    with factory.begin() as s:
        s.execute(update(OutboxMessage).where(OutboxMessage.seq.in_(list(seqs)))
                  .values(delivered_at=utcnow()))


def mark_dead(factory: sessionmaker[Session], reasons: Mapping[int, str]) -> None:
    """Set messages aside that the broker will never accept, each with its reason."""
    if not reasons:
        return
    now = utcnow()
    with factory.begin() as s:
        for seq, reason in reasons.items():
            s.execute(update(OutboxMessage).where(OutboxMessage.seq == seq)
                      .values(dead_at=now, dead_reason=reason))


def requeue_dead(factory: sessionmaker[Session], seqs: Sequence[int] | None = None) -> list[int]:
    """Make dead messages pending again (all of them when ``seqs`` is None); the seqs done."""
    where = [_DEAD] if seqs is None else [_DEAD, OutboxMessage.seq.in_(list(seqs))]
    with factory.begin() as s:
        done = list(s.scalars(select(OutboxMessage.seq).where(*where)
                              .order_by(OutboxMessage.seq)))
        if done:
            s.execute(update(OutboxMessage).where(OutboxMessage.seq.in_(done))
                      .values(dead_at=None, dead_reason=None))
    return done


def outbox_rows(factory: sessionmaker[Session], dead_only: bool = False,
                limit: int = 100) -> list[OutboxMessage]:
    """The newest outbox rows (only the dead ones with ``dead_only``), oldest first."""
    query = select(OutboxMessage).order_by(OutboxMessage.seq.desc()).limit(limit)
    with factory() as s:
        return list(reversed(s.scalars(query.where(_DEAD) if dead_only else query).all()))


def outbox_depth(factory: sessionmaker[Session]) -> int:
    """Messages still to be sent (neither delivered nor dead)."""
    return _count(factory, *_PENDING)


def dead_count(factory: sessionmaker[Session]) -> int:
    """Messages set aside as dead, waiting for ``inspector outbox retry``."""
    return _count(factory, _DEAD)


def _count(factory: sessionmaker[Session], *where: ColumnElement[bool]) -> int:
    with factory() as s:
        return int(s.scalar(select(func.count()).select_from(OutboxMessage).where(*where)) or 0)


def prune_artifacts(factory: sessionmaker[Session], retention_days: float) -> int:
    """Delete artifact files and rows older than the retention; returns how many went."""
    cutoff = utcnow() - timedelta(days=retention_days)
    with factory.begin() as s:
        old = s.scalars(select(Artifact).where(Artifact.created_at < cutoff)).all()
        for art in old:
            Path(art.path).unlink(missing_ok=True)
            s.delete(art)
    return len(old)


def prune_inspections(factory: sessionmaker[Session], retention_days: float,
                      batch: int = 500) -> tuple[int, int]:
    """Delete inspections older than the retention with their reviews, artifacts (files
    too) and outbox rows, except those whose result is not delivered yet (pending or dead);
    then delivered outbox rows older than the retention. Returns (inspections, outbox rows).

    Works in batches of ``batch`` inspections, one short transaction each.
    """
    cutoff = utcnow() - timedelta(days=retention_days)
    undelivered = (select(OutboxMessage.seq)
                   .where(OutboxMessage.inspection_id == Inspection.id,
                          OutboxMessage.delivered_at.is_(None)).exists())
    expired = (select(Inspection.id).where(Inspection.created_at < cutoff, ~undelivered)
               .limit(batch))
    inspections = outbox = 0
    while True:
        with factory.begin() as s:
            ids = list(s.scalars(expired))
            files = list(s.scalars(select(Artifact.path).where(Artifact.inspection_id.in_(ids))))
            for table in (Artifact, Review, OutboxMessage):
                gone = s.execute(delete(table).where(table.inspection_id.in_(ids)))
            s.execute(delete(Inspection).where(Inspection.id.in_(ids)))
        for path in files:
            Path(path).unlink(missing_ok=True)
        inspections += len(ids)
        outbox += _rowcount(gone)
        if len(ids) < batch:
            break
    with factory.begin() as s:
        gone = s.execute(delete(OutboxMessage).where(
            OutboxMessage.delivered_at.is_not(None), OutboxMessage.created_at < cutoff))
    return inspections, outbox + _rowcount(gone)


def _rowcount(result: Result[Any]) -> int:
    return int(getattr(result, "rowcount", 0))
