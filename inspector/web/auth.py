"""Token auth, signed session cookies and CSRF protection for the review page.

The shared token comes from ``WELD_REVIEW_TOKEN`` or a credentials file with a
``token=...`` line. A browser enters it once on ``/login`` (or follows a ``?token=`` link)
and gets an HttpOnly, SameSite=Strict cookie signed with a per-process key; scripts may
send ``Authorization: Bearer <token>`` instead. Every POST must carry the CSRF token of
its session (an HMAC of the session id) and must not come from another origin.

A logged-in session is also recorded server-side until it expires; logout removes the
record, so a replayed cookie is refused. Wrong tokens back off per client address
(:class:`~inspector.web.throttle.Throttle`).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from inspector.web.throttle import Throttle
from point_cloud.config import ConfigError

log = logging.getLogger(__name__)

TOKEN_ENV = "WELD_REVIEW_TOKEN"
MIN_TOKEN_CHARS = 16
COOKIE = "weld_review_session"
CSRF_FIELD = "csrf_token"
SESSION_TTL_S = 12 * 3600
MAX_SESSIONS = 10_000           # logged-in sessions kept; beyond, the oldest is logged out
MAX_NEXT_CHARS = 2048
PUBLIC_PATHS = ("/login",)


def load_token(token_file: Path | None) -> str:
    """The review token: ``$WELD_REVIEW_TOKEN`` first, else the ``token=`` line of the file."""
    token = os.environ.get(TOKEN_ENV, "").strip()
    source = f"${TOKEN_ENV}"
    if not token:
        if token_file is None:
            raise ConfigError(f"no review token: set {TOKEN_ENV} or pass --token-file with a "
                              f"'token=...' line (at least {MIN_TOKEN_CHARS} characters)")
        token, source = _token_from_file(token_file), str(token_file)
    if len(token) < MIN_TOKEN_CHARS:
        raise ConfigError(f"{source}: token: expected at least {MIN_TOKEN_CHARS} characters, "
                          f"found {len(token)}")
    return token


def _token_from_file(path: Path) -> str:
    try:
        text = path.read_text()
        mode = path.stat().st_mode
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the review token file ({exc.strerror})") from exc
    if mode & 0o077:
        log.warning("%s: the token file is readable by group/others (chmod 600 it)", path)
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or key.strip() != "token":
            raise ConfigError(f"{path}:{n}: expected 'token=...', found {key.strip()!r}")
        return value.strip()
    raise ConfigError(f"{path}: token: expected a 'token=' line")


@dataclass(frozen=True)
class WebSession:
    """Who is asking: a cookie session (anonymous until logged in) or a bearer client."""

    sid: str
    authenticated: bool
    issued: int


class Keys:
    """The token check, the HMAC key that signs cookies and CSRF tokens, and the record of
    logged-in sessions (all per process)."""

    def __init__(self, token: str, key: bytes | None = None,
                 max_sessions: int = MAX_SESSIONS) -> None:
        self._token = token.encode()
        self._key = key or os.urandom(32)
        self._live: OrderedDict[str, int] = OrderedDict()   # sid -> issued, oldest first
        self.max_sessions = max_sessions

    def token_ok(self, candidate: str) -> bool:
        return hmac.compare_digest(candidate.encode(), self._token)

    def _sign(self, text: str) -> str:
        return hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()

    def new_session(self, authenticated: bool) -> WebSession:
        """A fresh session; a logged-in one is recorded (dropping expired and surplus ones)."""
        s = WebSession(secrets.token_hex(16), authenticated, int(time.time()))
        if authenticated:
            while self._live and (len(self._live) >= self.max_sessions or
                                  s.issued - next(iter(self._live.values())) > SESSION_TTL_S):
                self._live.popitem(last=False)
            self._live[s.sid] = s.issued
        return s

    def revoke(self, s: WebSession) -> None:
        """Log ``s`` out: its cookie is refused from now on."""
        self._live.pop(s.sid, None)

    @property
    def live_sessions(self) -> int:
        return len(self._live)

    def cookie_value(self, s: WebSession) -> str:
        body = f"{s.sid}.{s.issued}.{int(s.authenticated)}"
        return f"{body}.{self._sign(body)}"

    def read_cookie(self, value: str | None, now: float | None = None) -> WebSession | None:
        """The session of a cookie value; None when absent, forged, expired or logged out."""
        parts = (value or "").split(".")
        if len(parts) != 4 or not parts[1].isdigit():
            return None
        body = ".".join(parts[:3])
        if not hmac.compare_digest(parts[3].encode(), self._sign(body).encode()):
            return None
        issued = int(parts[1])
        if (now or time.time()) - issued > SESSION_TTL_S:
            return None
        s = WebSession(parts[0], parts[2] == "1", issued)
        return None if s.authenticated and s.sid not in self._live else s

    def csrf(self, s: WebSession) -> str:
        return self._sign(f"csrf:{s.sid}")

    def csrf_ok(self, s: WebSession, candidate: str) -> bool:
        return hmac.compare_digest(candidate.encode(), self.csrf(s).encode())


def set_session_cookie(response: Response, request: Request, keys: Keys,
                       s: WebSession) -> None:
    response.set_cookie(COOKIE, keys.cookie_value(s), max_age=SESSION_TTL_S, path="/",
                        httponly=True, samesite="strict", secure=request.url.scheme == "https")


def safe_next(target: str | None) -> str:
    """A local path to go back to after login (never another site, never overlong)."""
    if (not target or not target.startswith("/") or target.startswith("//") or "\\" in target
            or len(target) > MAX_NEXT_CHARS):
        return "/"
    return target


def client_of(request: Request) -> str:
    """The peer's address (the throttle's key); uvicorn runs without proxy headers."""
    return request.client.host if request.client else "unknown"


def try_token(keys: Keys, throttle: Throttle, request: Request, candidate: str) -> bool:
    """Check a token attempt and count its outcome against the client's address."""
    if keys.token_ok(candidate):
        throttle.succeeded(client_of(request))
        return True
    throttle.failed(client_of(request))
    return False


def _throttled(wait: int) -> Response:
    return PlainTextResponse(f"429 Too Many Requests: too many wrong tokens from this address;"
                             f" try again in {wait} s", status_code=429,
                             headers={"Retry-After": str(wait)})


def _bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def _same_origin(request: Request) -> bool:
    """False when the Origin (else Referer) header names another host than the request's."""
    host = request.headers.get("host", "")
    origin = request.headers.get("origin")
    if origin is not None:
        return origin != "null" and urlsplit(origin).netloc == host
    referer = request.headers.get("referer")
    return referer is None or urlsplit(referer).netloc == host


def _unauthorised(request: Request) -> Response:
    if request.method == "GET" and "text/html" in request.headers.get("accept", ""):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse("/login?" + urlencode({"next": target}), status_code=303)
    return PlainTextResponse("401 Unauthorized: a review token is required", status_code=401,
                             headers={"WWW-Authenticate": 'Bearer realm="weld-review"'})


class AuthMiddleware:
    """Token (bearer or session cookie) on every route but /login; origin check on POSTs;
    429 for every token attempt (bearer, ``?token=``, login form) of a throttled client.

    Plain ASGI (no body buffering), so request-size limits and streaming pass through.
    """

    def __init__(self, app: ASGIApp, keys: Keys, throttle: Throttle) -> None:
        self.app = app
        self.keys = keys
        self.throttle = throttle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        refusal, send = self._check(request, send)
        if refusal is not None:
            await refusal(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    def _check(self, request: Request, send: Send) -> tuple[Response | None, Send]:
        """A response that ends the request (refusal, link login) or None to go on."""
        if request.method == "POST" and not _same_origin(request):
            log.warning("cross-origin POST to %s refused", request.url.path)
            return PlainTextResponse("403 Forbidden: cross-origin request", 403), send
        bearer = _bearer(request)
        link_token = request.query_params.get("token") if request.method == "GET" else None
        login_form = request.method == "POST" and request.url.path == "/login"
        if bearer is not None or link_token is not None or login_form:
            wait = self.throttle.retry_after(client_of(request))
            if wait:
                return _throttled(wait), send
        if bearer is not None:
            if not try_token(self.keys, self.throttle, request, bearer):
                return _unauthorised(request), send
            request.state.session = WebSession("bearer", True, 0)
            return None, send
        if link_token is not None:
            return self._login_by_link(request, link_token), send
        session = self.keys.read_cookie(request.cookies.get(COOKIE))
        if request.url.path in PUBLIC_PATHS:
            if session is None:
                session = self.keys.new_session(authenticated=False)
                send = self._with_cookie(request, session, send)
            request.state.session = session
            return None, send
        if session is None or not session.authenticated:
            return _unauthorised(request), send
        request.state.session = session
        return None, send

    def _with_cookie(self, request: Request, session: WebSession, send: Send) -> Send:
        """``send`` that adds the new anonymous session's cookie to the response."""
        carrier = Response()
        set_session_cookie(carrier, request, self.keys, session)
        cookie = [(k, v) for k, v in carrier.raw_headers if k == b"set-cookie"]

        async def sender(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *cookie]}
            await send(message)
        return sender

    def _login_by_link(self, request: Request, token: str) -> Response:
        """``?token=`` only sets the cookie, then redirects to the same URL without it."""
        if not try_token(self.keys, self.throttle, request, token):
            return _unauthorised(request)
        query = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "token"])
        response = RedirectResponse(request.url.path + (f"?{query}" if query else ""),
                                    status_code=303)
        set_session_cookie(response, request, self.keys, self.keys.new_session(True))
        return response


class SecurityHeadersMiddleware:
    """Adds fixed response headers (CSP, no framing, no sniffing) unless a route set them."""

    def __init__(self, app: ASGIApp, headers: dict[str, str]) -> None:
        self.app = app
        self.headers = [(k.lower().encode(), v.encode()) for k, v in headers.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def sender(message: Message) -> None:
            if message["type"] == "http.response.start":
                have = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in self.headers if k not in have]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)
        await self.app(scope, receive, sender if scope["type"] == "http" else send)


def session_of(request: Request) -> WebSession:
    s: WebSession = request.state.session
    return s


FormHandler = Callable[[Request, FormData], Awaitable[Response]]


def csrf_protected(handler: FormHandler) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a POST handler: parse the form and refuse it (403) without the session's token."""
    async def endpoint(request: Request) -> Response:
        keys: Keys = request.app.state.keys
        form = await request.form()
        candidate = form.get(CSRF_FIELD)
        if not isinstance(candidate, str) or not keys.csrf_ok(session_of(request), candidate):
            log.warning("POST %s without a valid CSRF token refused", request.url.path)
            raise HTTPException(403, "the form's CSRF token is missing or wrong; reload the page")
        return await handler(request, form)
    endpoint.__name__ = handler.__name__
    return endpoint
