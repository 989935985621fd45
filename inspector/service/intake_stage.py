"""The intake thread: recovers ``work/`` at start, then claims triggered and watched scans.

Triggers are parsed on the MQTT network thread (:meth:`IntakeStage.offer`), so bad ones are
refused at once and only well-formed ones wait in the bounded trigger queue. Every entry is
handled on its own: an error on one (a permission problem, a file system fault) is logged
once and leaves that entry where it is; it never stops the thread.
"""

from __future__ import annotations

import logging
import queue
from collections.abc import Callable
from pathlib import Path
from typing import Any

from inspector.service.intake import ScanJob, Spool, display_name
from inspector.service.stage import Stage
from inspector.service.triggers import Trigger, TriggerError, parse_trigger

log = logging.getLogger(__name__)

POLL_S = 0.1
TRIGGER_QUEUE = 1024
Rejected = Callable[[bytes, TriggerError], None]


class IntakeStage(Stage):
    """Claims scans into ``work/`` and hands them to the inference queue, oldest first."""

    def __init__(self, spool: Spool, jobs: queue.Queue[ScanJob], on_rejected: Rejected, *,
                 watch: bool, poll_s: float) -> None:
        super().__init__("intake")
        self.spool, self.jobs, self.on_rejected = spool, jobs, on_rejected
        self.watch, self.poll_s = watch, poll_s
        self.triggers: queue.Queue[tuple[bytes, Trigger]] = queue.Queue(TRIGGER_QUEUE)
        self._stuck: set[str] = set()        # entries whose claim failed (logged once)

    # ------------------------------------------------------------------ MQTT thread
    def offer(self, payload: bytes) -> None:
        """A trigger message arrived: refuse it now, or queue it for a claim."""
        try:
            self.triggers.put_nowait((payload, parse_trigger(payload)))
        except TriggerError as exc:
            self.on_rejected(payload, exc)
        except queue.Full:
            self.on_rejected(payload, TriggerError(
                "busy", f"{TRIGGER_QUEUE} triggers are waiting; send it again later"))

    # ------------------------------------------------------------------ the thread
    def run(self) -> None:
        for path in self.spool.in_work():
            job = self._guarded(path, self.spool.recover, path)
            if job is not None and not self._enqueue(job):
                return
        while not self.stop_event.is_set():
            self.beat()
            self._drain_triggers()
            if self.watch:
                for path in self.spool.ready():
                    if self.stop_event.is_set():
                        return
                    if path.name in self._stuck:
                        continue
                    job = self._guarded(path, self.spool.claim, path)
                    if job is not None and not self._enqueue(job):
                        return
            self.stop_event.wait(self.poll_s)

    def _drain_triggers(self) -> None:
        while not self.stop_event.is_set():
            try:
                payload, trigger = self.triggers.get_nowait()
            except queue.Empty:
                return
            try:
                path = self.spool.locate(trigger)
            except TriggerError as exc:
                self.on_rejected(payload, exc)
                continue
            job = self._guarded(path, self.spool.claim, path, trigger.identity, "trigger")
            if job is None:
                self.on_rejected(payload, TriggerError("not_found", "file: was taken"))
            elif not self._enqueue(job):
                return

    def _guarded(self, path: Path, claim: Callable[..., ScanJob | None],
                 *args: Any) -> ScanJob | None:
        """Run one entry's claim; an unexpected error leaves the entry and is logged once."""
        try:
            return claim(*args)
        except Exception:
            self._stuck.add(path.name)
            log.exception("cannot claim %s; it is left where it is", display_name(path.name))
            return None

    def _enqueue(self, job: ScanJob) -> bool:
        """Block until the inference queue has room; False when stopping (job stays in work/)."""
        while not self.stop_event.is_set():
            self.beat()
            try:
                self.jobs.put(job, timeout=POLL_S)
                return True
            except queue.Full:
                continue
        return False
