"""Drains the outbox in order: publish QoS 1, on PUBACK hand the seq to the store thread.

At-least-once: a message whose PUBACK did not arrive is sent again after the reconnect,
so a subscriber may see an inspection twice (same id, same decision) but never miss one.
"""

from __future__ import annotations

import logging
import queue
import threading
import time

from sqlalchemy.orm import Session, sessionmaker

from inspector.service.mqtt_link import MqttLink
from inspector.store import outbox

log = logging.getLogger(__name__)


class Publisher:
    """The publish thread's loop; ``acks`` receives delivered outbox seqs."""

    def __init__(self, link: MqttLink, factory: sessionmaker[Session],
                 acks: queue.Queue[int], ack_timeout_s: float) -> None:
        self.link = link
        self.factory = factory
        self.acks = acks
        self.ack_timeout_s = ack_timeout_s
        self.wake = threading.Event()
        self.stop_event = threading.Event()
        self.idle = threading.Event()        # set when nothing is left to send
        self._last_seq = 0                   # highest seq acknowledged in this process
        self.heartbeat = time.monotonic()    # refreshed every loop (watchdog)

    def run(self) -> None:
        while not self.stop_event.is_set():
            self.heartbeat = time.monotonic()
            if not self.link.wait_connected(0.2):
                self.idle.clear()
                continue
            batch = outbox.pending(self.factory, after_seq=self._last_seq, limit=100)
            if not batch:
                self.idle.set()
                self.wake.wait(0.5)
                self.wake.clear()
                continue
            self.idle.clear()
            for msg in batch:
                if self.stop_event.is_set() or not self._send(msg):
                    break

    def _send(self, msg: outbox.Pending) -> bool:
        if not self.link.publish_acked(msg.topic, msg.payload, self.ack_timeout_s):
            log.info("no PUBACK for outbox seq %d yet; will resend", msg.seq)
            return False
        self._last_seq = msg.seq
        self.acks.put(msg.seq)
        return True

    def flush(self, timeout: float) -> bool:
        """Wait until the outbox is drained (True) or ``timeout`` passes (False)."""
        self.wake.set()
        self.idle.clear()
        return self.idle.wait(timeout)
