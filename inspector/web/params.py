"""Bounded, validated request parameters (query strings and form fields).

Every reader refuses a bad value with :class:`BadParamError` (a 400 page) whose message
names the parameter and what it expects, ``"page: expected a whole number 1..1000000,
found '-1'"``; a long value is quoted only in part. A parameter given twice is refused.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import Any

from starlette.datastructures import ImmutableMultiDict, QueryParams
from starlette.requests import Request

Params = ImmutableMultiDict[str, Any]     # QueryParams or FormData

MAX_QUERY_CHARS = 2048
ECHO_CHARS = 24                          # at most this much of a bad value is quoted back
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2999, 12, 31)
_WHOLE = re.compile(r"[0-9]{1,18}")       # ASCII digits only: no sign, "_" or other scripts
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class BadParamError(ValueError):
    """A request parameter is not one the route accepts; the message names it."""


def shown(value: str) -> str:
    """``value`` quoted for a message, cut to :data:`ECHO_CHARS` characters."""
    if len(value) <= ECHO_CHARS:
        return repr(value)
    return f"{value[:ECHO_CHARS]!r}... ({len(value)} characters)"


def query_of(request: Request) -> QueryParams:
    """The request's query parameters; the whole query string is bounded too."""
    n = len(request.scope.get("query_string", b""))
    if n > MAX_QUERY_CHARS:
        raise BadParamError(f"query string: expected at most {MAX_QUERY_CHARS} characters, "
                            f"found {n}")
    return request.query_params


def text(params: Params, name: str) -> str | None:
    """The one stripped value of ``name``; None when absent or empty."""
    values = params.getlist(name)
    if len(values) > 1:
        raise BadParamError(f"{name}: expected one value, found {len(values)}")
    if values and not isinstance(values[0], str):
        raise BadParamError(f"{name}: expected text, found a file")
    return (values[0].strip() if values else "") or None


def choice(params: Params, name: str, options: Sequence[str]) -> str | None:
    """One of ``options`` (any letter case; the option's own spelling is returned) or None."""
    value = text(params, name)
    if value is None:
        return None
    found = {o.casefold(): o for o in options}.get(value.casefold())
    if found is None:
        raise BadParamError(f"{name}: expected one of {', '.join(options)}, "
                            f"found {shown(value)}")
    return found


def one_of(params: Params, name: str, options: Sequence[str]) -> str:
    """Like :func:`choice`, but the parameter must be given."""
    value = choice(params, name, options)
    if value is None:
        raise BadParamError(f"{name}: expected one of {', '.join(options)}, found nothing")
    return value


def whole(params: Params, name: str, lo: int, hi: int) -> int | None:
    """A whole number in ``lo..hi`` (plain digits) or None."""
    value = text(params, name)
    if value is None:
        return None
    if not _WHOLE.fullmatch(value) or not lo <= int(value) <= hi:
        raise BadParamError(f"{name}: expected a whole number {lo}..{hi}, found {shown(value)}")
    return int(value)


def day(params: Params, name: str) -> date | None:
    """A day ``YYYY-MM-DD`` between :data:`FIRST_DAY` and :data:`LAST_DAY`, or None."""
    value = text(params, name)
    if value is None:
        return None
    try:
        found = date.fromisoformat(value) if _DAY.fullmatch(value) else None
    except ValueError:
        found = None
    if found is None or not FIRST_DAY <= found <= LAST_DAY:
        raise BadParamError(f"{name}: expected a day YYYY-MM-DD from {FIRST_DAY} to {LAST_DAY}, "
                            f"found {shown(value)}")
    return found
