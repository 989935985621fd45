"""JSON from outside the product (MQTT triggers, scan sidecars), parsed only within bounds.

Plain ``json.loads`` on hostile input raises ``RecursionError`` on deep nesting, a
``ValueError`` on integers of over 4,300 digits, and reads any size. :func:`loads_bounded`
checks the size and the nesting depth *before* parsing (one vectorised pass over the
bytes), refuses numbers longer than :data:`MAX_NUMBER_CHARS` and the non-standard
``NaN``/``Infinity``, and raises :class:`JsonBoundsError` whose message never quotes the
input: callers wrap it into their own error (``SidecarError``, ``TriggerError``).
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np

MAX_DEPTH = 16
MAX_NUMBER_CHARS = 32
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_OPEN = np.frombuffer(b"[{", np.uint8)
_CLOSE = np.frombuffer(b"]}", np.uint8)


class JsonBoundsError(ValueError):
    """JSON that is too large, too deep, malformed or holds an oversized number."""


def nesting_depth(data: bytes) -> int:
    """Deepest ``[``/``{`` nesting outside strings (no parsing, no recursion)."""
    bare = np.frombuffer(_STRING.sub(b'""', data), np.uint8)
    step = np.isin(bare, _OPEN).astype(np.int32) - np.isin(bare, _CLOSE)
    return int(np.cumsum(step).max(initial=0))


def _number(text: str, kind: type[int] | type[float]) -> int | float:
    if len(text) > MAX_NUMBER_CHARS:
        raise JsonBoundsError(f"a number of {len(text)} characters "
                              f"(at most {MAX_NUMBER_CHARS})")
    return kind(text)


def _no_constant(name: str) -> Any:
    raise JsonBoundsError(f"the non-standard constant {name} (expected finite numbers)")


def loads_bounded(data: bytes | str, *, max_bytes: int, max_depth: int = MAX_DEPTH) -> Any:
    """Parse ``data`` as UTF-8 JSON within the bounds; :class:`JsonBoundsError` otherwise."""
    raw = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else bytes(data)
    if len(raw) > max_bytes:
        raise JsonBoundsError(f"{len(raw)} bytes (at most {max_bytes})")
    depth = nesting_depth(raw)
    if depth > max_depth:
        raise JsonBoundsError(f"nesting {depth} levels deep (at most {max_depth})")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise JsonBoundsError(f"not UTF-8 text (byte {exc.start})") from None
    try:
        return json.loads(text, parse_int=lambda s: _number(s, int),
                          parse_float=lambda s: _number(s, float), parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise JsonBoundsError(f"not valid JSON ({exc.msg} at line {exc.lineno} "
                              f"column {exc.colno})") from None
