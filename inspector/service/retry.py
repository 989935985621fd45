"""The one retry policy: transient errors are retried with capped exponential backoff.

What is transient is decided in one place, :func:`is_transient`: the product's
:class:`~point_cloud.errors.TransientError` branch, and the database driver's errors
(SQLAlchemy's ``OperationalError`` family: a server restart, a locked SQLite file, a
full disk). Permanent errors are never retried: the caller turns them into an ERROR
result or a refusal.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.exc import SQLAlchemyError

from point_cloud.errors import TransientError

log = logging.getLogger(__name__)
T = TypeVar("T")


def is_transient(exc: BaseException) -> bool:
    """Whether trying the same thing again later may succeed."""
    return isinstance(exc, TransientError | SQLAlchemyError)


@dataclass(frozen=True)
class RetryPolicy:
    """Capped exponential backoff: ``first_s``, x ``factor`` per try, at most ``max_s``."""

    first_s: float = 0.5
    factor: float = 2.0
    max_s: float = 30.0

    def delays(self) -> Iterator[float]:
        delay = self.first_s
        while True:
            yield delay
            delay = min(delay * self.factor, self.max_s)


DEFAULT_POLICY = RetryPolicy()


def retry(fn: Callable[[], T], what: str, stop: threading.Event,
          policy: RetryPolicy = DEFAULT_POLICY,
          on_wait: Callable[[], None] | None = None) -> tuple[bool, T | None]:
    """Run ``fn`` until it succeeds or ``stop`` is set; ``(ok, value)``.

    Transient errors are logged and retried after the policy's next delay (``on_wait`` is
    called before each wait, e.g. to keep a watchdog heartbeat fresh); any other error
    propagates.
    """
    for delay in policy.delays():
        try:
            return True, fn()
        except Exception as exc:
            if not is_transient(exc):
                raise
            log.warning("%s failed (%s: %s); retrying in %.1f s", what,
                        type(exc).__name__, str(exc).splitlines()[0][:200], delay)
            if stop.is_set():
                return False, None
            if on_wait is not None:
                on_wait()
            if stop.wait(delay):
                return False, None
    raise AssertionError("unreachable")      # pragma: no cover - delays() never ends
