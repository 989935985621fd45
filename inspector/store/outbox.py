"""Writing inspections with their outbox message (one transaction) and draining the outbox."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from inspector.store.models import Artifact, Inspection, OutboxMessage, utcnow


@dataclass
class InspectionRecord:
    """Everything the store writes for one scan: the row, its message and its artifacts."""

    result: dict[str, Any]                 # the result message (see inspector/schemas)
    topic: str
    artifacts: dict[str, Path] = field(default_factory=dict)   # kind -> file

    @property
    def inspection_id(self) -> str:
        return str(self.result["inspection_id"])


@dataclass(frozen=True)
class Pending:
    """An undelivered outbox message."""

    seq: int
    inspection_id: str
    topic: str
    payload: str


def record_inspection(factory: sessionmaker[Session], rec: InspectionRecord) -> bool:
    """Insert the inspection, its artifacts and its outbox row atomically.

    Returns False (and writes nothing) when the inspection id exists already: a scan
    re-processed after a crash keeps its first decision.
    """
    r = rec.result
    with factory.begin() as s:
        if s.get(Inspection, rec.inspection_id) is not None:
            return False
        s.add(Inspection(
            id=rec.inspection_id, created_at=datetime.fromisoformat(r["timestamp"]),
            scan_name=r["scan"], part_serial=r["part_serial"], weld_id=r["weld_id"],
            weld_type=r["weld_type"], decision=r["decision"], score=r["score"],
            threshold=r["threshold"], defect=r["defect"], reason=r["reason"],
            bundle_version=r["bundle_version"], result=r,
            artifacts=[Artifact(kind=k, path=str(p)) for k, p in rec.artifacts.items()],
        ))
        s.flush()
        s.add(OutboxMessage(inspection_id=rec.inspection_id, topic=rec.topic,
                            payload=json.dumps(r, sort_keys=True)))
    return True


def pending(factory: sessionmaker[Session], after_seq: int = 0, limit: int = 100) -> list[Pending]:
    """Undelivered messages with ``seq > after_seq``, oldest first."""
    with factory() as s:
        rows = s.execute(
            select(OutboxMessage.seq, OutboxMessage.inspection_id, OutboxMessage.topic,
                   OutboxMessage.payload)
            .where(OutboxMessage.delivered_at.is_(None), OutboxMessage.seq > after_seq)
            .order_by(OutboxMessage.seq).limit(limit)).all()
    return [Pending(*row) for row in rows]


def mark_delivered(factory: sessionmaker[Session], seqs: Sequence[int]) -> None:
    """Stamp messages as acknowledged by the broker (PUBACK)."""
    if not seqs:
        return
    with factory.begin() as s:
        s.execute(update(OutboxMessage).where(OutboxMessage.seq.in_(list(seqs)))
                  .values(delivered_at=utcnow()))


def outbox_depth(factory: sessionmaker[Session]) -> int:
    with factory() as s:
        return int(s.scalar(select(func.count()).select_from(OutboxMessage)
                            .where(OutboxMessage.delivered_at.is_(None))) or 0)


def prune_artifacts(factory: sessionmaker[Session], retention_days: float) -> int:
    """Delete artifact files and rows older than the retention; returns how many went."""
    cutoff = utcnow() - timedelta(days=retention_days)
    with factory.begin() as s:
        old = s.scalars(select(Artifact).where(Artifact.created_at < cutoff)).all()
        for art in old:
            Path(art.path).unlink(missing_ok=True)
            s.delete(art)
    return len(old)
