"""The base of the daemon's long-lived threads: a name, a stop event and a heartbeat."""

from __future__ import annotations

import logging
import threading
import time

log = logging.getLogger(__name__)


class Stage:
    """One daemon thread. Subclasses implement :meth:`run`, looping until ``stop_event``
    is set and calling :meth:`beat` every turn (the watchdog reads ``heartbeat``)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.stop_event = threading.Event()
        self.heartbeat = time.monotonic()
        self._thread: threading.Thread | None = None

    def beat(self) -> None:
        self.heartbeat = time.monotonic()

    def run(self) -> None:
        raise NotImplementedError

    def _main(self) -> None:
        try:
            self.run()
        except Exception:                 # per-item errors are contained inside run()
            log.critical("the %s thread died", self.name, exc_info=True)
            raise

    def start(self) -> None:
        self.beat()
        self._thread = threading.Thread(target=self._main, name=f"inspector-{self.name}",
                                        daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        """Ask the loop to end and wait for it."""
        self.stop_event.set()
        if self._thread is not None:
            self._thread.join()
