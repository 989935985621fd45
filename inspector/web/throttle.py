"""Exponential backoff for wrong review tokens, per client address, bounded in memory.

After ``free`` wrong tokens in a row a client waits ``base_s`` seconds, doubling with each
further wrong token up to ``max_s``. While it waits, every token attempt (even the right
token) is refused with 429 and ``Retry-After``, without looking at the token; that is logged
once per wait. A right token once the wait is over clears the client's record; a record
also lapses ``forget_s`` after its last wrong token, and beyond ``max_clients`` records the
least recently failing client is forgotten. Tokens are never logged.
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass
class _Record:
    failures: int = 0          # wrong tokens in a row
    last: float = 0.0          # clock at the last one
    until: float = 0.0         # no attempt before this
    refused: int = 0           # attempts refused during the current wait


class Throttle:
    """Wrong-token backoff per client address; ``clock`` (seconds) is injectable for tests."""

    def __init__(self, free: int = 5, base_s: float = 2.0, max_s: float = 900.0,
                 forget_s: float = 3600.0, max_clients: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.free, self.base_s, self.max_s = free, base_s, max_s
        self.forget_s, self.max_clients = max(forget_s, max_s), max_clients
        self.clock = clock
        self._clients: OrderedDict[str, _Record] = OrderedDict()   # least recent first

    @property
    def clients(self) -> int:
        """How many client addresses are remembered (at most ``max_clients``)."""
        return len(self._clients)

    def retry_after(self, client: str) -> int:
        """Whole seconds ``client`` must still wait before a token attempt; 0: it may try."""
        rec = self._clients.get(client)
        wait = 0.0 if rec is None else rec.until - self.clock()
        if rec is None or wait <= 0:
            return 0
        if rec.refused == 0:
            log.warning("token attempts from %s refused for %.0f s after %d wrong tokens",
                        client, wait, rec.failures)
        rec.refused += 1
        return math.ceil(wait)

    def failed(self, client: str) -> None:
        """Count a wrong token from ``client``; from the ``free``-th on it must wait."""
        now = self.clock()
        rec = self._clients.pop(client, None)
        if rec is None or now - rec.last > self.forget_s:
            rec = _Record()
        rec.failures, rec.last, rec.refused = rec.failures + 1, now, 0
        over = rec.failures - self.free
        if over >= 0:
            rec.until = now + min(self.base_s * 2.0 ** min(over, 60), self.max_s)
        self._clients[client] = rec
        while len(self._clients) > self.max_clients or self._stale(now):
            self._clients.popitem(last=False)
        log.warning("wrong review token from %s (%d in a row)", client, rec.failures)

    def succeeded(self, client: str) -> None:
        """A right token from ``client`` (not waiting): forget its wrong ones."""
        self._clients.pop(client, None)

    def _stale(self, now: float) -> bool:
        oldest = next(iter(self._clients.values()), None)
        return oldest is not None and now - oldest.last > self.forget_s
