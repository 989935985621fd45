"""The inspector daemon: four stage threads joined by bounded queues, one ordered stop().

    intake ──jobs──> inference ──outcomes──> store (the one DB writer) ──> done/quarantine
                                               ^ acks                  │ wake
    MQTT trigger ─> intake.offer                └──── publish <─ outbox ┘

- :class:`~inspector.service.intake_stage.IntakeStage`: re-queues ``work/`` after a crash,
  claims watched and triggered spool entries (bad triggers are refused on arrival);
- :class:`~inspector.service.inference_stage.InferenceStage`: one scan at a time; every
  failure becomes an ERROR result marked for quarantine, never an exception;
- :class:`~inspector.service.store_stage.StoreStage`: inspection + artifacts + outbox row in
  one transaction, then the file move; the publisher's acknowledgements;
- :class:`~inspector.service.publisher.Publisher`: sends the outbox in order.

``start()`` sends systemd's ``READY=1`` once the store answers and the broker link is up
(or ``mqtt.ready_timeout_s`` passed: results then wait in the outbox).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from typing import Any

from sqlalchemy import text

from inspector.config import LineConfig
from inspector.inspection import Deciders, Projector, Reader
from inspector.service import notify
from inspector.service.inference_stage import InferenceStage, Outcome
from inspector.service.intake import ScanJob, Spool
from inspector.service.intake_stage import IntakeStage
from inspector.service.metrics import Metrics
from inspector.service.mqtt_link import MqttLink
from inspector.service.publisher import Publisher, Settled
from inspector.service.retry import retry
from inspector.service.stage import Stage
from inspector.service.store_stage import StoreStage
from inspector.service.triggers import RejectionLog, TriggerError
from inspector.store import open_store
from inspector.store.outbox import dead_count, outbox_depth

log = logging.getLogger(__name__)

SHOWN_TRIGGER_CHARS = 200


class Daemon:
    """Owns the stages; ``start()``, then ``serve(stop_event)`` or ``stop()``."""

    def __init__(self, cfg: LineConfig, deciders: Deciders, *, reader: Reader | None = None,
                 projector: Projector | None = None) -> None:
        self.cfg = cfg
        self.engine, self.factory = open_store(cfg.db_url)
        self.spool = Spool(cfg.spool.dir, cfg.spool.abandon_after_s)
        jobs: queue.Queue[ScanJob] = queue.Queue(cfg.queues.inference)
        outcomes: queue.Queue[Outcome] = queue.Queue(cfg.queues.store)
        acks: queue.Queue[Settled] = queue.Queue()
        self.rejections = RejectionLog()
        self.intake = IntakeStage(self.spool, jobs, self._reject_trigger,
                                  watch=cfg.spool.watch, poll_s=cfg.spool.poll_s)
        self.link = MqttLink(cfg, on_trigger=self.intake.offer)
        self.publisher = Publisher(self.link, self.factory, acks, cfg.mqtt.ack_timeout_s,
                                   cfg.mqtt.dead_after_attempts)
        self.metrics = Metrics(lambda: outbox_depth(self.factory),
                               lambda: dead_count(self.factory))
        self.inference = InferenceStage(cfg, deciders, self.spool, jobs, outcomes,
                                        reader=reader, projector=projector)
        self.store = StoreStage(cfg, self.factory, self.spool, outcomes, acks,
                                self.publisher, self.metrics)
        # started in this order, stopped in the reverse one
        self.stages: list[Stage] = [self.store, self.publisher, self.inference, self.intake]
        self._metrics_server: Any = None
        self._started = False

    # ================================================================== lifecycle
    def start(self) -> None:
        """Check the store, start the stages and the broker link, then tell systemd."""
        retry(self._ping_store, "connecting to the database", threading.Event())
        for stage in self.stages:
            stage.start()
        self._started = True
        self.link.start()
        if self.cfg.metrics_port:
            self._metrics_server = self.metrics.serve(self.cfg.metrics_port)
        linked = self.link.wait_connected(self.cfg.mqtt.ready_timeout_s)
        status = "inspecting" if linked else "inspecting; broker unreachable, results queue"
        notify.notify(f"READY=1\nSTATUS={status}")
        log.info("inspector %s/%s started (spool %s, broker %s)", self.cfg.line,
                 self.cfg.station, self.spool.root, "up" if linked else "not reached yet")

    def _ping_store(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dead(self) -> list[str]:
        return [s.name for s in self.stages if self._started and not s.alive]

    def stalled(self) -> list[str]:
        """Stages that made no loop turn for ``stall_s`` (e.g. a scan that hangs)."""
        now = time.monotonic()
        return [s.name for s in self.stages if now - s.heartbeat > self.cfg.stall_s]

    @property
    def running(self) -> bool:
        return any(s.alive for s in self.stages)

    def healthy(self) -> bool:
        return self._started and not self.dead() and not self.stalled()

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
        self.intake.stop()
        self.inference.stop()
        self.store.wait_drained()
        if self.link.connected and not self.publisher.flush(self.cfg.stop_flush_s):
            log.warning("outbox not drained within %.0f s; it is sent at the next start",
                        self.cfg.stop_flush_s)
        self.publisher.stop()
        self.store.stop()
        self.link.stop()
        if self._metrics_server is not None:
            self._metrics_server[0].shutdown()
        self.engine.dispose()
        log.info("inspector stopped")

    # ================================================================== triggers
    def _reject_trigger(self, payload: bytes, exc: TriggerError) -> None:
        """Log (rate-limited) and publish a ``trigger_rejected`` event; never raises."""
        self.rejections.note(exc)
        event = {"event": "trigger_rejected", "reason": exc.reason, "message": str(exc),
                 "bytes": len(payload),
                 "trigger": payload[:SHOWN_TRIGGER_CHARS].decode("utf-8", "replace")}
        try:
            self.link.client.publish(self.cfg.topic("event"), json.dumps(event), qos=1)
        except (ValueError, RuntimeError, OSError):
            log.debug("could not publish a trigger_rejected event", exc_info=True)
