"""The inspector daemon: four long-lived threads joined by bounded queues, one ordered stop().

    intake ──inference_q──> inference ──store_q──> store (the one DB writer) ──> done/quarantine
                                                     ^ acks                  │ wake
    MQTT trigger ─> intake                            └──── publish <─ outbox ┘

- intake: re-queues scans left in ``work/`` by a crash, claims new spool files and
  triggered files (an atomic rename), computes the idempotency key.
- inference: one scan at a time through :func:`inspector.inspection.inspect_scan`; a bad
  scan becomes an ERROR result marked for quarantine, never an exception.
- store: writes inspection + artifacts + outbox row in one transaction, then moves the scan
  to ``done/`` or ``quarantine/``; also records PUBACKs (so there is one writer).
- publish: sends the outbox in order (see :mod:`inspector.service.publisher`).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from inspector.config import LineConfig
from inspector.inspection import (
    Deciders,
    InspectionResult,
    Projector,
    Reader,
    inspect_scan,
    known_identity,
)
from inspector.service import notify
from inspector.service.artifacts import write_artifacts
from inspector.service.intake import ScanJob, Spool, TriggerError
from inspector.service.messages import result_message
from inspector.service.metrics import Metrics
from inspector.service.mqtt_link import MqttLink
from inspector.service.publisher import Publisher, Settled
from inspector.store import open_store
from inspector.store.outbox import (
    InspectionRecord,
    dead_count,
    mark_dead,
    mark_delivered,
    outbox_depth,
    prune_artifacts,
    prune_inspections,
    record_inspection,
)
from inspector.verdict import Verdict
from point_cloud.errors import ScanError

log = logging.getLogger(__name__)

POLL_S = 0.1
PRUNE_EVERY_S = 3600.0


@dataclass
class Outcome:
    """What the inference thread hands to the store thread for one scan."""

    job: ScanJob
    record: InspectionRecord
    quarantine: dict[str, Any] | None
    claimed_at: float


def _scan_error_reason(exc: ScanError) -> dict[str, Any]:
    return {"reason": exc.reason, "message": str(exc), "field": exc.field,
            "expected": exc.expected, "found": exc.found}


class Daemon:
    """Owns the threads; ``start()``, then ``serve(stop_event)`` or ``stop()``."""

    def __init__(self, cfg: LineConfig, deciders: Deciders, *, reader: Reader | None = None,
                 projector: Projector | None = None) -> None:
        self.cfg = cfg
        self.deciders = deciders
        self._reader, self._projector = reader, projector
        self.engine, self.factory = open_store(cfg.db_url)
        self.spool = Spool(cfg.spool.dir)
        self.inference_q: queue.Queue[ScanJob] = queue.Queue(cfg.queues.inference)
        self.store_q: queue.Queue[Outcome] = queue.Queue(cfg.queues.store)
        self.acks: queue.Queue[Settled] = queue.Queue()
        self.triggers: queue.Queue[bytes] = queue.Queue(256)
        self.link = MqttLink(cfg, on_trigger=self._on_trigger)
        self.publisher = Publisher(self.link, self.factory, self.acks, cfg.mqtt.ack_timeout_s,
                                   cfg.mqtt.dead_after_attempts)
        self.metrics = Metrics(lambda: outbox_depth(self.factory),
                               lambda: dead_count(self.factory))
        self._stops = {n: threading.Event() for n in ("intake", "inference", "store")}
        self._threads: dict[str, threading.Thread] = {}
        self._beats: dict[str, float] = {}
        self._metrics_server: Any = None

    # ================================================================== lifecycle
    def start(self) -> None:
        targets: dict[str, Callable[[], None]] = {
            "store": self._store_loop, "publish": self.publisher.run,
            "inference": self._inference_loop, "intake": self._intake_loop}
        for name, fn in targets.items():
            self._beat(name)
            t = threading.Thread(target=fn, name=f"inspector-{name}", daemon=True)
            self._threads[name] = t
            t.start()
        self.link.start()
        if self.cfg.metrics_port:
            self._metrics_server = self.metrics.serve(self.cfg.metrics_port)
        notify.notify("READY=1\nSTATUS=inspecting")
        log.info("inspector %s/%s started (spool %s)", self.cfg.line, self.cfg.station,
                 self.spool.root)

    def _beat(self, name: str) -> None:
        self._beats[name] = time.monotonic()

    def dead(self) -> list[str]:
        return [n for n, t in self._threads.items() if not t.is_alive()]

    def stalled(self) -> list[str]:
        """Threads that made no loop turn for ``stall_s`` (e.g. a scan that hangs)."""
        now = time.monotonic()
        beats = {**self._beats, "publish": self.publisher.heartbeat}
        return [n for n, b in beats.items() if now - b > self.cfg.stall_s]

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads.values())

    def healthy(self) -> bool:
        return bool(self._threads) and not self.dead() and not self.stalled()

    def serve(self, stop: threading.Event) -> int:
        """Run until ``stop`` is set (a signal); ping the systemd watchdog while healthy."""
        interval = notify.watchdog_interval_s() if self.cfg.watchdog else None
        code = 0
        while not stop.wait(interval or 1.0):
            if self.dead():
                log.error("threads died: %s; stopping", self.dead())
                code = 1
                break
            if self.stalled():       # no ping: systemd's watchdog restarts us if it lasts
                log.warning("threads stalled: %s", self.stalled())
            elif interval:
                notify.notify("WATCHDOG=1")
        self.stop()
        return code

    def stop(self) -> None:
        """Ordered stop: no new claims, finish the scan in flight, commit, flush, go offline."""
        notify.notify("STOPPING=1")
        self._stops["intake"].set()
        self._join("intake")
        self._stops["inference"].set()
        self._join("inference")
        self._wait_store_drained()
        if self.link.connected and not self.publisher.flush(self.cfg.stop_flush_s):
            log.warning("outbox not drained within %.0f s; it is sent at the next start",
                        self.cfg.stop_flush_s)
        self.publisher.stop_event.set()
        self._join("publish")
        self._stops["store"].set()
        self._join("store")
        self.link.stop()
        if self._metrics_server is not None:
            self._metrics_server[0].shutdown()
        self.engine.dispose()
        log.info("inspector stopped")

    def _join(self, name: str) -> None:
        t = self._threads.get(name)
        if t is not None:
            t.join()

    def _wait_store_drained(self) -> None:
        while self.store_q.unfinished_tasks and self._threads["store"].is_alive():
            time.sleep(0.02)

    # ================================================================== intake
    def _on_trigger(self, payload: bytes) -> None:
        try:
            self.triggers.put_nowait(payload)
        except queue.Full:
            self._report_trigger(payload, TriggerError("busy", "trigger queue is full"))

    def _report_trigger(self, payload: bytes, exc: TriggerError) -> None:
        log.warning("trigger rejected: %s (message %r)", exc, payload[:200])
        event = {"event": "trigger_rejected", "reason": exc.reason, "message": str(exc),
                 "trigger": payload[:1000].decode("utf-8", "replace")}
        self.link.client.publish(self.cfg.topic("event"), json.dumps(event), qos=1)

    def _intake_loop(self) -> None:
        stop = self._stops["intake"]
        for path in self.spool.in_work():
            if not self._enqueue(self.spool.recover(path)):
                return
        while not stop.is_set():
            self._beat("intake")
            while not stop.is_set():
                try:
                    payload = self.triggers.get_nowait()
                except queue.Empty:
                    break
                self._claim_triggered(payload)
            if self.cfg.spool.watch:
                for path in self.spool.ready():
                    if stop.is_set():
                        break
                    job = self.spool.claim(path)
                    if job is not None and not self._enqueue(job):
                        return
            stop.wait(self.cfg.spool.poll_s)

    def _claim_triggered(self, payload: bytes) -> None:
        try:
            path, identity = self.spool.resolve_trigger(payload)
        except TriggerError as exc:
            self._report_trigger(payload, exc)
            return
        job = self.spool.claim(path, identity, source="trigger")
        if job is None:
            self._report_trigger(payload, TriggerError("not_found", f"{path} was taken"))
            return
        self._enqueue(job)

    def _enqueue(self, job: ScanJob) -> bool:
        """Block until the inference queue has room; False when stopping (job stays in work/)."""
        while not self._stops["intake"].is_set():
            self._beat("intake")
            try:
                self.inference_q.put(job, timeout=POLL_S)
                return True
            except queue.Full:
                continue
        return False

    # ================================================================== inference
    def _inference_loop(self) -> None:
        stop = self._stops["inference"]
        while not stop.is_set():
            self._beat("inference")
            try:
                job = self.inference_q.get(timeout=POLL_S)
            except queue.Empty:
                continue
            claimed = time.monotonic()
            try:
                outcome = self._inspect(job, claimed)
            except Exception as exc:  # one bad scan must never stop the daemon
                log.exception("internal error on %s", job.name)
                outcome = self._unusable(job, claimed, {
                    "reason": "internal_error", "message": f"{type(exc).__name__}: {exc}"})
            self.store_q.put(outcome)

    def _inspect(self, job: ScanJob, claimed: float) -> Outcome:
        try:
            res = inspect_scan(job.path, self.deciders, job.identity,
                               types_file=self.cfg.weld_types_file, reader=self._reader,
                               projector=self._projector)
        except ScanError as exc:
            return self._unusable(job, claimed, _scan_error_reason(exc))
        artifacts = {}
        try:
            artifacts = write_artifacts(self.cfg.artifacts, job.inspection_id, res)
        except OSError:
            log.exception("could not write artifacts for %s", job.name)
        return self._outcome(job, res, artifacts, None, claimed)

    def _unusable(self, job: ScanJob, claimed: float, reason: dict[str, Any]) -> Outcome:
        """An ERROR result for a scan that goes to quarantine."""
        verdict = Verdict("ERROR", 1.0, 0.5, reason=f"{reason['reason']}: {reason['message']}")
        res = InspectionResult(known_identity(job.path, job.identity), None, verdict,
                               {"total": round((time.monotonic() - claimed) * 1e3, 3)})
        return self._outcome(job, res, {}, reason, claimed)

    def _outcome(self, job: ScanJob, res: InspectionResult, artifacts: dict[str, Any],
                 quarantine: dict[str, Any] | None, claimed: float) -> Outcome:
        msg = result_message(inspection_id=job.inspection_id, line=self.cfg.line,
                             station=self.cfg.station, scan_name=job.name,
                             identity=res.identity, verdict=res.verdict,
                             timings_ms=res.timings_ms)
        rec = InspectionRecord(msg, self.cfg.topic("result"), artifacts)
        return Outcome(job, rec, quarantine, claimed)

    # ================================================================== store
    def _store_loop(self) -> None:
        stop = self._stops["store"]
        next_prune = time.monotonic()
        while True:
            self._beat("store")
            try:
                item: Outcome | None = self.store_q.get(timeout=POLL_S)
            except queue.Empty:
                item = None
            if item is not None:
                try:
                    self._commit(item)
                except Exception:   # e.g. a full disk on the move: the scan stays in work/
                    log.exception("could not finish %s; it is retried at the next start",
                                  item.job.name)
                finally:
                    self.store_q.task_done()
            self._record_acks()
            if stop.is_set() and self.store_q.empty():
                self._record_acks()
                return
            if time.monotonic() >= next_prune:
                next_prune = time.monotonic() + PRUNE_EVERY_S
                self._prune()

    def _prune(self) -> None:
        """Apply the artifact and (when set) the inspection retention."""
        self._retry(lambda: prune_artifacts(self.factory, self.cfg.artifacts.retention_days))
        days = self.cfg.store.inspection_retention_days
        if days is not None:
            ok, gone = self._retry(lambda: prune_inspections(self.factory, days))
            if ok and any(gone):
                log.info("retention: deleted %d inspections and %d delivered outbox rows "
                         "older than %g days", *gone, days)

    def _retry(self, fn: Callable[[], Any]) -> tuple[bool, Any]:
        """Run a DB write, retrying while the DB is unreachable (until stop is requested)."""
        delay = 0.5
        while True:
            try:
                return True, fn()
            except SQLAlchemyError:
                log.exception("database write failed; retrying in %.1f s", delay)
                if self._stops["store"].is_set():
                    return False, None
                self._beat("store")          # waiting on the DB is not a stall
                time.sleep(delay)
                delay = min(delay * 2, 30.0)

    def _commit(self, item: Outcome) -> None:
        ok, fresh = self._retry(lambda: record_inspection(self.factory, item.record))
        if not ok:
            return               # stays in work/; processed again at the next start
        r = item.record.result
        if not fresh:
            log.info("%s: inspection %s was recorded before a restart; keeping its decision",
                     item.job.name, item.record.inspection_id)
        if item.quarantine is not None:
            self.spool.quarantine(item.job, item.quarantine)
            self.metrics.quarantined.labels(item.quarantine["reason"]).inc()
        else:
            self.spool.finish(item.job)
        self.publisher.wake.set()
        self.metrics.observe(r["decision"], r["weld_type"], time.monotonic() - item.claimed_at)

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

        ok, _ = self._retry(write)
        if ok:
            self.metrics.dead_letters.inc(len(dead))
            self.publisher.written(a.seq for a in done)
