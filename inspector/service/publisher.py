"""Drains the outbox in order: publish QoS 1, hand each settled seq to the store thread.

At-least-once: a message whose PUBACK did not arrive is sent again after the reconnect,
so a subscriber may see an inspection twice (same id, same decision) but never miss one.

A message the broker will never accept must not hold back every later result: it is
*dead* when the refusal is permanent (paho refuses it locally), or when it failed
``dead_after`` attempts in a row, each on a new connection (mosquitto drops a client that
sends a packet over its ``max_packet_size``). A dead row is logged, counted and set aside
in the DB with its reason (``inspector outbox list --dead`` / ``retry``); the rest go on.
Failures while not connected, or repeated timeouts on one connection, count once at most.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from inspector.service.mqtt_link import Delivery, MqttLink
from inspector.service.retry import retry
from inspector.service.stage import Stage
from inspector.store import outbox

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Settled:
    """An outbox seq the publisher is done with: delivered, or dead with a reason."""

    seq: int
    dead_reason: str | None = None


class Publisher(Stage):
    """The publish thread's loop; ``acks`` receives every settled outbox seq."""

    def __init__(self, link: MqttLink, factory: sessionmaker[Session],
                 acks: queue.Queue[Settled], ack_timeout_s: float, dead_after: int) -> None:
        super().__init__("publish")
        self.link = link
        self.factory = factory
        self.acks = acks
        self.ack_timeout_s = ack_timeout_s
        self.dead_after = dead_after
        self.wake = threading.Event()
        self.idle = threading.Event()        # set when nothing is left to send
        self._unwritten: set[int] = set()    # settled here, not yet written by the store
        self._lock = threading.Lock()
        self._strikes = (0, 0, 0)            # (seq, failed attempts, last connection)

    def run(self) -> None:
        while not self.stop_event.is_set():
            self.beat()
            if not self.link.wait_connected(0.2):
                self.idle.clear()
                continue
            ok, batch = retry(self._pending, "reading the outbox", self.stop_event,
                              on_wait=self.beat)
            if not ok or batch is None:
                continue
            if not batch:
                self.idle.set()
                self.wake.wait(0.5)
                self.wake.clear()
                continue
            self.idle.clear()
            for msg in batch:
                if self.stop_event.is_set() or not self._send(msg):
                    break

    def _pending(self) -> list[outbox.Pending]:
        """The next batch to send, leaving out what the store has not recorded yet."""
        with self._lock:
            skip = set(self._unwritten)
        return outbox.pending(self.factory, limit=100, skip=skip)

    def written(self, seqs: Iterable[int]) -> None:
        """The store thread wrote these seqs' outcomes (they leave the pending query)."""
        with self._lock:
            self._unwritten.difference_update(seqs)

    def _settle(self, item: Settled) -> None:
        with self._lock:
            self._unwritten.add(item.seq)
        self.acks.put(item)

    def _send(self, msg: outbox.Pending) -> bool:
        """True when the message is settled (delivered or dead): go on to the next one."""
        d = self.link.publish_acked(msg.topic, msg.payload, self.ack_timeout_s)
        if d:
            self._settle(Settled(msg.seq))
            return True
        reason = d.reason if d.permanent else self._strike(msg, d)
        if reason is None:
            log.info("no PUBACK for outbox seq %d yet (%s); will resend", msg.seq, d.reason)
            return False
        log.error("outbox seq %d (inspection %s) is dead, moving on: %s", msg.seq,
                  msg.inspection_id, reason)
        self._strikes = (0, 0, 0)
        self._settle(Settled(msg.seq, reason))
        return True

    def _strike(self, msg: outbox.Pending, d: Delivery) -> str | None:
        """Count a failed attempt (once per connection); the dead reason at ``dead_after``."""
        if d.connection is None:             # it never left: not the message's fault
            return None
        seq, n, conn = self._strikes
        n = n + (conn != d.connection) if seq == msg.seq else 1
        self._strikes = (msg.seq, n, d.connection)
        if n < self.dead_after:
            return None
        return (f"{n} attempts on {n} connections got no PUBACK (last: {d.reason}); "
                f"{len(msg.payload.encode())} bytes: over the broker's max_packet_size?")

    def flush(self, timeout: float) -> bool:
        """Wait until the outbox is drained (True) or ``timeout`` passes (False)."""
        self.wake.set()
        self.idle.clear()
        return self.idle.wait(timeout)
