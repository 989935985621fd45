"""The store thread, the one DB writer: inspections with their outbox rows, then the file
moves; the publisher's settled seqs; the retention prune.

A scan leaves ``work/`` only after its inspection is committed, so a crash in between
re-processes it at the next start (same inspection id: its first decision stands).
"""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from inspector.config import LineConfig
from inspector.service.inference_stage import Outcome
from inspector.service.intake import Spool
from inspector.service.metrics import Metrics
from inspector.service.publisher import Publisher, Settled
from inspector.service.retry import retry
from inspector.service.stage import Stage
from inspector.store.outbox import (
    mark_dead,
    mark_delivered,
    prune_artifacts,
    prune_inspections,
    record_inspection,
)

log = logging.getLogger(__name__)

POLL_S = 0.1
PRUNE_EVERY_S = 3600.0


class StoreStage(Stage):
    """Commits outcomes and acknowledgements; drains its queue before it stops."""

    def __init__(self, cfg: LineConfig, factory: sessionmaker[Session], spool: Spool,
                 outcomes: queue.Queue[Outcome], acks: queue.Queue[Settled],
                 publisher: Publisher, metrics: Metrics) -> None:
        super().__init__("store")
        self.cfg, self.factory, self.spool = cfg, factory, spool
        self.outcomes, self.acks = outcomes, acks
        self.publisher, self.metrics = publisher, metrics

    def run(self) -> None:
        next_prune = time.monotonic()
        while True:
            self.beat()
            try:
                item: Outcome | None = self.outcomes.get(timeout=POLL_S)
            except queue.Empty:
                item = None
            if item is not None:
                try:
                    self._commit(item)
                except Exception:   # e.g. a full disk on the move: the scan stays in work/
                    log.exception("could not finish %s; it is retried at the next start",
                                  item.job.display)
                finally:
                    self.outcomes.task_done()
            self._record_acks()
            if self.stop_event.is_set() and self.outcomes.empty():
                self._record_acks()
                return
            if time.monotonic() >= next_prune:
                next_prune = time.monotonic() + PRUNE_EVERY_S
                self._prune()

    def wait_drained(self) -> None:
        """Block until every queued outcome is committed (or the thread is gone)."""
        while self.outcomes.unfinished_tasks and self.alive:
            time.sleep(0.02)

    def _write(self, fn: Callable[[], Any], what: str) -> tuple[bool, Any]:
        """A DB write under the one retry policy; waiting on the DB is not a stall."""
        return retry(fn, what, self.stop_event, on_wait=self.beat)

    def _prune(self) -> None:
        """Apply the artifact and (when set) the inspection retention."""
        self._write(lambda: prune_artifacts(self.factory, self.cfg.artifacts.retention_days),
                    "artifact retention")
        days = self.cfg.store.inspection_retention_days
        if days is not None:
            ok, gone = self._write(lambda: prune_inspections(self.factory, days),
                                   "inspection retention")
            if ok and any(gone):
                log.info("retention: deleted %d inspections and %d delivered outbox rows "
                         "older than %g days", *gone, days)

    def _commit(self, item: Outcome) -> None:
        ok, fresh = self._write(lambda: record_inspection(self.factory, item.record),
                                f"recording {item.record.inspection_id}")
        if not ok:
            return               # stays in work/; processed again at the next start
        r = item.record.result
        if not fresh:
            log.info("%s: inspection %s was recorded before a restart; keeping its decision",
                     item.job.display, item.record.inspection_id)
        if item.quarantine is not None:
            self.spool.quarantine(item.job, item.quarantine)
            self.metrics.quarantined.labels(item.quarantine["reason"]).inc()
        else:
            self.spool.finish(item.job)
        self.publisher.wake.set()
        self.metrics.observe(r.decision, r.weld_type, time.monotonic() - item.claimed_at)

    def _record_acks(self) -> None:
        """Write what the publisher settled: delivered seqs and dead ones with reasons."""
        done: list[Settled] = []
        while True:
            try:
                done.append(self.acks.get_nowait())
            except queue.Empty:
                break
        if not done:
            return
        delivered = [a.seq for a in done if a.dead_reason is None]
        dead = {a.seq: a.dead_reason for a in done if a.dead_reason is not None}

        def write() -> None:
            mark_delivered(self.factory, delivered)
            mark_dead(self.factory, dead)

        ok, _ = self._write(write, "recording deliveries")
        if ok:
            self.metrics.dead_letters.inc(len(dead))
            self.publisher.written(a.seq for a in done)
