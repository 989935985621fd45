"""MQTT trigger messages: parsed within bounds, refused with a reason code, logged sparingly.

A trigger names a scan file inside the spool and carries the scan's identity::

    {"file": "incoming/P1_W1_t3.ply", "part_serial": "P1", "weld_id": "W1", "weld_type": 3}

:func:`parse_trigger` checks everything that needs no file system (size, JSON depth, number
sizes, fields, path syntax) and runs on the MQTT network thread, so a flood of bad messages
never fills the queue that valid triggers wait in. The spool then locates the file
(:meth:`inspector.service.intake.Spool.locate`).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import PurePosixPath

from point_cloud.bounded_json import JsonBoundsError, loads_bounded
from point_cloud.config import WELD_TYPE_EXPECTED, is_weld_type
from point_cloud.errors import PermanentError
from point_cloud.types import ScanIdentity

log = logging.getLogger(__name__)

MAX_TRIGGER_BYTES = 4096
MAX_TRIGGER_DEPTH = 4
MAX_PATH_CHARS = 1024
MAX_NAME_BYTES = 255
FIELDS = ("file", "weld_id", "weld_type", "part_serial")


class TriggerError(PermanentError):
    """A trigger message that cannot be honoured; ``reason`` is a short code."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        super().__init__(f"{reason}: {detail}")


@dataclass(frozen=True)
class Trigger:
    """A well-formed trigger: a relative path inside the spool and the scan's identity."""

    file: str
    identity: ScanIdentity


def shown_path(rel: str) -> str:
    """A trigger's path for a message: quoted when short, else only its length."""
    return repr(rel) if len(rel) <= 120 else f"a path of {len(rel)} characters"


def _relative_path(rel: object) -> str:
    """The ``file`` field: a bounded, relative path that does not climb out lexically."""
    if not isinstance(rel, str) or not rel or "\0" in rel:
        raise TriggerError("bad_path", "file: expected a relative path")
    if len(rel) > MAX_PATH_CHARS:
        raise TriggerError("bad_path", f"file: expected at most {MAX_PATH_CHARS} characters, "
                                       f"found {len(rel)}")
    parts = PurePosixPath(rel).parts
    if any(len(p.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES for p in parts):
        raise TriggerError("bad_path", f"file: expected names of at most {MAX_NAME_BYTES} "
                                       "bytes")
    if rel.startswith("/") or ".." in parts:
        raise TriggerError("path_escapes_spool",
                           f"file: expected a path inside the spool, found {shown_path(rel)}")
    return rel


def _token(msg: dict[str, object], key: str) -> str:
    v = msg[key]
    if not isinstance(v, str) or not ScanIdentity.is_safe_token(v):
        raise TriggerError("bad_identity", f"{key}: expected 1-64 letters, digits, '.', '-'")
    return v


def parse_trigger(payload: bytes) -> Trigger:
    """Validate a trigger message without touching the file system."""
    try:
        msg = loads_bounded(payload, max_bytes=MAX_TRIGGER_BYTES, max_depth=MAX_TRIGGER_DEPTH)
    except JsonBoundsError as exc:
        raise TriggerError("bad_json", f"expected a small JSON object, found {exc}") from None
    if not isinstance(msg, dict):
        raise TriggerError("bad_json", f"expected a JSON object, found {type(msg).__name__}")
    missing = [k for k in FIELDS if k not in msg]
    if missing:
        raise TriggerError("missing_field", f"expected fields {missing}")
    wt = msg["weld_type"]
    if not is_weld_type(wt):
        shown = repr(wt) if isinstance(wt, int) and abs(wt) < 10**6 else type(wt).__name__
        raise TriggerError("bad_identity", f"weld_type: expected {WELD_TYPE_EXPECTED}, "
                                           f"found {shown}")
    identity = ScanIdentity(_token(msg, "part_serial"), _token(msg, "weld_id"), wt)
    return Trigger(_relative_path(msg["file"]), identity)


class RejectionLog:
    """Logs refused triggers at most once per reason and window, with a count of the rest.

    A flood of 1,000 bad messages gives a handful of WARNING lines, not 1,000; the
    messages' content is never logged.
    """

    def __init__(self, window_s: float = 10.0) -> None:
        self.window_s = window_s
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}
        self.total = 0

    def note(self, exc: TriggerError, now: float | None = None) -> None:
        t = time.monotonic() if now is None else now
        with self._lock:
            self.total += 1
            if t - self._last.get(exc.reason, -1e18) < self.window_s:
                self._held[exc.reason] = self._held.get(exc.reason, 0) + 1
                return
            self._last[exc.reason] = t
            held = self._held.pop(exc.reason, 0)
        more = f" (+{held} more like it in the last {self.window_s:g} s)" if held else ""
        log.warning("trigger rejected: %s%s", exc, more)
