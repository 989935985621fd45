"""The review web app: list, detail + verdict, artifact images, export, trends, SPC, login.

Built with :func:`create_app` on a session factory of the inspector's store (the same
SQLAlchemy models the daemon writes). Every route sits behind :class:`AuthMiddleware`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from inspector.review.export import export_reviewed
from inspector.review.queries import VERDICTS, ReviewError, add_review, get_inspection
from inspector.store.models import Artifact, as_utc
from inspector.web import views
from inspector.web.auth import (
    COOKIE,
    CSRF_FIELD,
    AuthMiddleware,
    Keys,
    SecurityHeadersMiddleware,
    csrf_protected,
    safe_next,
    session_of,
    set_session_cookie,
    try_token,
)
from inspector.web.images import ArtifactMissingError, artifact_png, heightmap_scale
from inspector.web.listing import (
    DECISIONS,
    PER_PAGE,
    REVIEW_STATES,
    PageQuery,
    next_to_review,
    page_of_inspections,
)
from inspector.web.params import BadParamError, choice, one_of, query_of
from inspector.web.spc import DEFAULT_SHIFTS, Shift
from inspector.web.throttle import Throttle
from point_cloud.config import WELD_TYPE_RANGE, configured_weld_types

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self'; style-src 'self' "
                               "'unsafe-inline'; script-src 'none'; frame-ancestors 'none'; "
                               "form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
MAX_BODY_BYTES = 64 * 1024          # forms only: a note, a verdict, a token
MAX_DB_ID = 2**63 - 1               # larger artifact ids cannot exist (and overflow drivers)
INSPECTION_ID = re.compile(r"[0-9a-f]{1,32}")    # the id or a prefix of it
PLAIN_500 = ("<!doctype html><title>Server error</title><h1>500: server error</h1>"
             "<p>Something went wrong on the server. It has been logged; "
             "please tell the line engineer.</p>")


@dataclass(frozen=True)
class WebSettings:
    """What the app serves: the store, the token and the export folder (server-side only)."""

    factory: sessionmaker[Session]
    token: str
    export_dir: Path | None = None       # None: export is switched off
    types_file: Path | None = None       # weld-type profiles for the export's shape check
    page_size: int = PER_PAGE
    shifts: tuple[Shift, ...] = DEFAULT_SHIFTS   # the SPC page's shifts (UTC)


templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.globals.update(inline_css=(HERE / "static" / "style.css").read_text,
                             verdicts=VERDICTS, decisions=DECISIONS,
                             review_states=REVIEW_STATES, as_utc=as_utc,
                             weld_type_range=WELD_TYPE_RANGE)


def render(request: Request, name: str, context: dict[str, Any] | None = None,
           status_code: int = 200) -> Response:
    ctx = {"csrf_field": CSRF_FIELD,
           "csrf": request.app.state.keys.csrf(session_of(request)), **(context or {})}
    return templates.TemplateResponse(request, name, ctx, status_code=status_code,
                                      headers={"Cache-Control": "no-store"})


def settings_of(request: Request) -> WebSettings:
    s: WebSettings = request.app.state.settings
    return s


# ----------------------------------------------------------------------------- login
def login_page(request: Request) -> Response:
    return render(request, "login.html", {"next": safe_next(query_of(request).get("next"))})


async def login(request: Request, form: FormData) -> Response:
    keys: Keys = request.app.state.keys
    target = safe_next(str(form.get("next") or "/"))
    if not try_token(keys, request.app.state.throttle, request, str(form.get("token") or "")):
        return render(request, "login.html", {"next": target, "error": "wrong token"}, 401)
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, request, keys, keys.new_session(authenticated=True))
    return response


async def logout(request: Request, form: FormData) -> Response:
    """End the session server-side too: its cookie is refused from now on."""
    request.app.state.keys.revoke(session_of(request))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


# ------------------------------------------------------------------------ list, detail
def home(request: Request) -> Response:
    return RedirectResponse("/inspections", status_code=303)


def inspection_id(request: Request) -> str:
    """The inspection id (or unique prefix) in the path; 404 when it cannot be one."""
    iid: str = request.path_params["iid"]
    if not INSPECTION_ID.fullmatch(iid):
        raise HTTPException(404, "no such inspection")
    return iid


def inspection_list(request: Request) -> Response:
    q = PageQuery.from_params(query_of(request))
    settings = settings_of(request)
    page = page_of_inspections(settings.factory, q, settings.page_size)
    return render(request, "list.html", {"q": q, "page": page,
                                         "rows": [views.row(r) for r in page.rows]})


def inspection_detail(request: Request) -> Response:
    saved = choice(query_of(request), "saved", ("1",))
    try:
        insp = get_inspection(settings_of(request).factory, inspection_id(request))
    except ReviewError as exc:
        raise HTTPException(404, "no such inspection") from exc
    heightmap = next((a for a in insp.artifacts if a.kind == "heightmap"), None)
    scale = heightmap_scale(heightmap) if heightmap is not None else None
    return render(request, "detail.html", {
        "d": views.detail(insp, scale), "saved": saved,
        "next_id": next_to_review(settings_of(request).factory, insp.id)})


async def post_review(request: Request, form: FormData) -> Response:
    verdict = one_of(form, "verdict", VERDICTS)
    note = str(form.get("note") or "").strip()[:2000] or None
    reviewer = str(form.get("reviewer") or "").strip()[:64] or None
    try:
        review = await run_in_threadpool(add_review, settings_of(request).factory,
                                         inspection_id(request), verdict, note, reviewer)
    except ReviewError as exc:
        raise HTTPException(404, "no such inspection") from exc
    log.info("review %s: %s (%s)", review.inspection_id, verdict, reviewer or "anonymous")
    return RedirectResponse(f"/inspections/{review.inspection_id}?saved=1", status_code=303)


# ---------------------------------------------------------------------------- images
def artifact_image(request: Request) -> Response:
    """An artifact by its DB id only; ``/thumb`` gives the list's thumbnail."""
    aid: int = request.path_params["aid"]
    with settings_of(request).factory() as s:
        art = s.get(Artifact, aid) if aid <= MAX_DB_ID else None
    if art is None:
        raise HTTPException(404, "no such artifact")
    try:
        data = artifact_png(art, thumb=request.url.path.endswith("/thumb"))
    except ArtifactMissingError as exc:
        log.warning("%s", exc)
        raise HTTPException(404, "the artifact file is no longer on disk") from exc
    return Response(data, media_type="image/png",
                    headers={"Cache-Control": "private, max-age=3600"})


# ---------------------------------------------------------------------------- export
def export_page(request: Request) -> Response:
    return render(request, "export.html", {"export_dir": settings_of(request).export_dir})


async def run_export(request: Request, form: FormData) -> Response:
    settings = settings_of(request)
    verdict = choice(form, "verdict", VERDICTS) or "false-reject"
    if settings.export_dir is None:
        raise HTTPException(409, "export is off: start the server with --export-dir")
    out = settings.export_dir / f"{verdict}-{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}"
    records = await run_in_threadpool(export_reviewed, settings.factory, verdict, out,
                                      settings.types_file)
    log.info("exported %d %s samples to %s", len(records), verdict, out)
    return render(request, "export.html", {"export_dir": settings.export_dir, "done": {
        "verdict": verdict, "count": len(records), "path": out}})


# ---------------------------------------------------------------------------- trends
def trends_page(request: Request) -> Response:
    t = views.trends(settings_of(request).factory, query_of(request))
    return render(request, "trends.html", {"t": t})


def spc_page(request: Request) -> Response:
    settings = settings_of(request)
    return render(request, "spc.html", {"v": views.spc(
        settings.factory, query_of(request), settings.shifts,
        weld_types=configured_weld_types(settings.types_file))})


# ---------------------------------------------------------------------------- errors
async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if not hasattr(request.state, "session"):      # raised before auth (e.g. static 404)
        return HTMLResponse(f"<h1>{exc.status_code}</h1>", status_code=exc.status_code)
    return render(request, "error.html", {"status": exc.status_code, "message": exc.detail},
                  exc.status_code)


async def bad_param(request: Request, exc: Exception) -> Response:
    """400 naming the parameter and what it expects (the message quotes little of it)."""
    return render(request, "error.html", {"status": 400, "message": str(exc)}, 400)


async def server_error(request: Request, exc: Exception) -> Response:
    """Log the traceback; the browser gets a fixed page without any detail."""
    log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    return HTMLResponse(PLAIN_500, status_code=500)


def create_app(settings: WebSettings, throttle: Throttle | None = None) -> Starlette:
    """The ASGI app; serve it with uvicorn (``inspector review serve``).

    ``throttle``: the wrong-token backoff (default: :class:`Throttle`'s settings).
    """
    routes = [
        Route("/login", login_page, methods=["GET"]),
        Route("/login", csrf_protected(login), methods=["POST"]),
        Route("/logout", csrf_protected(logout), methods=["POST"]),
        Route("/", home),
        Route("/inspections", inspection_list),
        Route("/inspections/{iid:str}", inspection_detail),
        Route("/inspections/{iid:str}/review", csrf_protected(post_review), methods=["POST"]),
        Route("/artifacts/{aid:int}", artifact_image),
        Route("/artifacts/{aid:int}/thumb", artifact_image),
        Route("/export", export_page, methods=["GET"]),
        Route("/export", csrf_protected(run_export), methods=["POST"]),
        Route("/trends", trends_page),
        Route("/spc", spc_page),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    keys = Keys(settings.token)
    throttle = Throttle() if throttle is None else throttle
    app = Starlette(
        routes=routes,
        middleware=[Middleware(SecurityHeadersMiddleware, headers=SECURITY_HEADERS),
                    Middleware(AuthMiddleware, keys=keys, throttle=throttle)],
        exception_handlers={HTTPException: http_error, BadParamError: bad_param,
                            Exception: server_error},
        max_body_size=MAX_BODY_BYTES,
    )
    app.state.settings = settings
    app.state.keys = keys
    app.state.throttle = throttle
    return app
