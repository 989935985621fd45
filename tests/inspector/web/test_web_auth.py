"""Token auth on every route, session cookies, CSRF and origin checks, token loading."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient
from web_helpers import TOKEN, Line, csrf_of

from inspector.cli import main as cli
from inspector.store.models import Artifact, Review
from inspector.web.auth import COOKIE, TOKEN_ENV, Keys, load_token, safe_next
from point_cloud.config import ConfigError

REPO = Path(__file__).resolve().parents[3]


def get_routes(line: Line) -> list[str]:
    with line.factory() as s:
        aid = s.scalars(select(Artifact.id).order_by(Artifact.id)).first()
    return ["/", "/inspections", f"/inspections/{line.ids['ball']}", f"/artifacts/{aid}",
            f"/artifacts/{aid}/thumb", "/export", "/trends", "/spc", "/static/style.css"]


def post_routes(line: Line) -> list[str]:
    return [f"/inspections/{line.ids['ball']}/review", "/export", "/logout"]


def review_count(line: Line) -> int:
    with line.factory() as s:
        return int(s.scalar(select(func.count()).select_from(Review)) or 0)


def test_every_route_refuses_requests_without_the_token(client: TestClient, line: Line) -> None:
    for path in get_routes(line):
        r = client.get(path)
        assert r.status_code == 401, path
        assert r.headers["www-authenticate"].startswith("Bearer")
        assert client.get(path, headers={"Authorization": "Bearer wrong-token-xxxxxxxx"}
                          ).status_code == 401, path
        page = client.get(path, headers={"Accept": "text/html"})       # a browser: to login
        assert page.status_code == 303, path
        assert page.headers["location"].startswith("/login?next=%2F")
    for path in post_routes(line):
        assert client.post(path, data={"verdict": "false-reject"}).status_code == 401, path
    assert review_count(line) == 1                                    # only the seeded one


def test_every_route_answers_with_the_bearer_token(client: TestClient, line: Line,
                                                   bearer: dict[str, str]) -> None:
    for path in get_routes(line):
        r = client.get(path, headers=bearer, follow_redirects=True)
        assert r.status_code == 200, path
    assert client.get("/static/style.css", headers=bearer).headers["content-type"].startswith(
        "text/css")
    page = client.get(f"/inspections/{line.ids['ball']}", headers=bearer)
    assert page.headers["x-frame-options"] == "DENY"
    assert "script-src 'none'" in page.headers["content-security-policy"]


def test_login_form_sets_a_strict_httponly_cookie(client: TestClient) -> None:
    page = client.get("/login")
    assert page.status_code == 200
    csrf = csrf_of(page.text)
    wrong = client.post("/login", data={"token": "nope", "csrf_token": csrf, "next": "/"})
    assert wrong.status_code == 401
    assert "wrong token" in wrong.text
    assert client.get("/inspections").status_code == 401               # still anonymous
    ok = client.post("/login", data={"token": TOKEN, "csrf_token": csrf,
                                     "next": "/inspections?decision=FAIL"})
    assert ok.status_code == 303
    assert ok.headers["location"] == "/inspections?decision=FAIL"
    cookie = ok.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert client.get("/inspections").status_code == 200
    r = client.post("/logout", data={"csrf_token": csrf_of(client.get("/inspections").text)})
    assert r.status_code == 303
    assert client.get("/inspections").status_code == 401


def test_login_without_its_csrf_token_is_refused(client: TestClient) -> None:
    client.get("/login")
    r = client.post("/login", data={"token": TOKEN, "next": "/"})
    assert r.status_code == 403
    assert client.get("/inspections").status_code == 401


def test_token_link_sets_the_cookie_and_redirects_without_the_token(client: TestClient) -> None:
    r = client.get(f"/inspections?decision=FAIL&token={TOKEN}")
    assert r.status_code == 303
    assert r.headers["location"] == "/inspections?decision=FAIL"
    assert client.get("/inspections?decision=FAIL").status_code == 200
    client.cookies.clear()
    assert client.get("/inspections?token=wrong-token-xxxxxxxxxx").status_code == 401
    assert client.get("/inspections").status_code == 401


def test_forged_or_expired_cookies_are_rejected(browser: TestClient) -> None:
    value = browser.cookies[COOKIE]
    sid, issued, auth, sig = value.split(".")
    browser.cookies.clear()
    for forged in (f"{sid}.{issued}.1.{'0' * len(sig)}",      # bad signature
                   f"{sid}x.{issued}.{auth}.{sig}",          # changed session id
                   "garbage"):
        browser.cookies.set(COOKIE, forged)
        assert browser.get("/inspections").status_code == 401, forged
        browser.cookies.clear()
    keys = Keys(TOKEN, key=b"k" * 32)
    s = keys.new_session(authenticated=True)
    cookie = keys.cookie_value(s)
    assert keys.read_cookie(cookie) == s
    assert keys.read_cookie(cookie, now=s.issued + 13 * 3600) is None   # past the 12 h TTL
    assert Keys(TOKEN, key=b"j" * 32).read_cookie(cookie) is None      # restarted server


def test_post_without_a_valid_csrf_token_is_refused(browser: TestClient, line: Line,
                                                    bearer: dict[str, str]) -> None:
    url = f"/inspections/{line.ids['ball']}/review"
    good = csrf_of(browser.get(f"/inspections/{line.ids['ball']}").text)
    assert browser.post(url, data={"verdict": "false-reject"}).status_code == 403
    assert browser.post(url, data={"verdict": "false-reject",
                                   "csrf_token": "0" * 64}).status_code == 403
    other = Keys(TOKEN).csrf(Keys(TOKEN).new_session(True))                # another key/session
    assert browser.post(url, data={"verdict": "false-reject",
                                   "csrf_token": other}).status_code == 403
    assert browser.post(url, data={"verdict": "false-reject"}, headers=bearer).status_code == 403
    assert browser.post("/export", data={"verdict": "false-reject"}).status_code == 403
    assert review_count(line) == 1
    ok = browser.post(url, data={"verdict": "false-reject", "csrf_token": good})
    assert ok.status_code == 303
    assert review_count(line) == 2


def test_cross_origin_posts_are_refused_even_with_the_csrf_token(browser: TestClient,
                                                                 line: Line) -> None:
    url = f"/inspections/{line.ids['ball']}/review"
    data = {"verdict": "false-reject",
            "csrf_token": csrf_of(browser.get(f"/inspections/{line.ids['ball']}").text)}
    for headers in ({"Origin": "http://evil.example"}, {"Origin": "null"},
                    {"Referer": "http://evil.example/page"},
                    {"Origin": "http://testserver:8089"}):
        assert browser.post(url, data=data, headers=headers).status_code == 403, headers
    assert review_count(line) == 1
    same = browser.post(url, data=data, headers={"Origin": "http://testserver",
                                                 "Referer": "http://testserver/inspections"})
    assert same.status_code == 303
    assert review_count(line) == 2


def test_login_redirects_only_to_local_paths() -> None:
    assert safe_next("/inspections?page=2") == "/inspections?page=2"
    for bad in ("//evil.example/x", "http://evil.example", "/\\evil.example", "", None):
        assert safe_next(bad) == "/"


def test_token_from_environment_or_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    with pytest.raises(ConfigError, match=TOKEN_ENV):
        load_token(None)
    f = tmp_path / "review.cred"
    f.write_text("# review page\ntoken = file-token-0123456789\n")
    f.chmod(0o600)
    assert load_token(f) == "file-token-0123456789"
    f.write_text("password=x\n")
    with pytest.raises(ConfigError, match=r"review.cred:1: expected 'token=\.\.\.'"):
        load_token(f)
    f.write_text("token=short\n")
    with pytest.raises(ConfigError, match="at least 16 characters, found 5"):
        load_token(f)
    with pytest.raises(ConfigError, match="cannot read"):
        load_token(tmp_path / "missing")
    monkeypatch.setenv(TOKEN_ENV, "env-token-0123456789")
    assert load_token(f) == "env-token-0123456789"                      # env wins


def test_serve_refuses_to_start_without_a_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    db = tmp_path / "never.db"
    assert cli(["review", "--db", f"sqlite:///{db}", "serve", "--port", "1"]) == 2
    assert f"no review token: set {TOKEN_ENV} or pass --token-file" in capsys.readouterr().err
    assert not db.exists()                                              # refused before the DB


def test_serve_binds_localhost_and_requires_the_token(tmp_path: Path, line: Line) -> None:
    """The real CLI: ``inspector review --db URL serve`` answers on 127.0.0.1 only."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token_file = tmp_path / "review.cred"
    token_file.write_text(f"token={TOKEN}\n")
    token_file.chmod(0o600)
    env = {k: v for k, v in os.environ.items() if k != TOKEN_ENV}
    proc = subprocess.Popen([sys.executable, "-m", "inspector.cli", "review", "--db", line.url,
                             "serve", "--port", str(port), "--token-file", str(token_file),
                             "--export-dir", str(tmp_path / "exports")],
                            env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                r = httpx.get(f"{base}/inspections?decision=FAIL",
                              headers={"Authorization": f"Bearer {TOKEN}"})
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                assert time.monotonic() < deadline, "the server did not come up"
                time.sleep(0.1)
        assert r.status_code == 200
        assert '<p id="count">4 inspections match' in r.text
        assert httpx.get(f"{base}/inspections").status_code == 401
        link = httpx.get(f"{base}/trends?bin=day&token={TOKEN}")
        assert link.status_code == 303
        assert link.headers["location"] == "/trends?bin=day"
    finally:
        proc.terminate()
        out = proc.communicate(timeout=20)[0]
    assert f"Uvicorn running on http://127.0.0.1:{port}" in out
    assert "GET /trends?bin=day&token=*** HTTP/1.1" in out
    assert TOKEN not in out                                           # redacted in the log


def test_oversized_form_bodies_are_refused(browser: TestClient, line: Line) -> None:
    url = f"/inspections/{line.ids['ball']}/review"
    csrf = csrf_of(browser.get(f"/inspections/{line.ids['ball']}").text)
    r = browser.post(url, data={"verdict": "false-reject", "note": "x" * 100_000,
                                "csrf_token": csrf})
    assert r.status_code == 413
    assert review_count(line) == 1


def test_logout_revokes_the_session_server_side(browser: TestClient, line: Line) -> None:
    keys = browser.app.state.keys                   # type: ignore[attr-defined]
    old = browser.cookies[COOKIE]
    replay = TestClient(browser.app, follow_redirects=False, cookies={COOKIE: old})
    assert replay.get("/inspections").status_code == 200        # a copy of the cookie works
    other = TestClient(browser.app, follow_redirects=False)     # a second operator
    assert other.get(f"/inspections?token={TOKEN}").status_code == 303
    assert keys.live_sessions == 2
    url = f"/inspections/{line.ids['ball']}/review"
    csrf = csrf_of(browser.get("/inspections").text)
    assert browser.post("/logout", data={"csrf_token": csrf}).status_code == 303
    assert keys.live_sessions == 1
    assert replay.get("/inspections").status_code == 401        # ... until the logout
    assert replay.get("/inspections", headers={"Accept": "text/html"}
                      ).headers["location"] == "/login?next=%2Finspections"
    assert replay.post(url, data={"verdict": "false-reject", "csrf_token": csrf}
                       ).status_code == 401
    assert review_count(line) == 1
    assert keys.read_cookie(old) is None
    assert other.get("/inspections").status_code == 200          # only that session ended
    page = browser.get("/login")                                 # log in again: a new session
    r = browser.post("/login", data={"token": TOKEN, "csrf_token": csrf_of(page.text),
                                     "next": "/"})
    assert r.status_code == 303
    assert browser.cookies[COOKIE] != old
    assert browser.get("/inspections").status_code == 200
    assert keys.live_sessions == 2


def test_logged_in_sessions_are_bounded_in_memory() -> None:
    keys = Keys(TOKEN, key=b"k" * 32, max_sessions=3)
    cookies = [keys.cookie_value(keys.new_session(authenticated=True)) for _ in range(5)]
    anonymous = keys.cookie_value(keys.new_session(authenticated=False))
    assert keys.live_sessions == 3                               # anonymous ones aren't kept
    assert [keys.read_cookie(c) is not None for c in cookies] == [False, False, True, True, True]
    assert keys.read_cookie(anonymous) is not None
