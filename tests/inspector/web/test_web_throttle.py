"""Backoff for wrong tokens per client address: 429 + Retry-After, logging, memory bound.

The throttle's clock is a :class:`FakeClock`: the tests move time, they never sleep.
"""

from __future__ import annotations

import logging

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient
from web_helpers import PAGE_SIZE, TOKEN, FakeClock, Line, csrf_of

from inspector.web import WebSettings, create_app
from inspector.web.throttle import Throttle

WRONG = {"Authorization": "Bearer wrong-token-xxxxxxxx"}
RIGHT = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app(line: Line, clock: FakeClock) -> Starlette:
    """The app with the default backoff (5 free, then 2 s doubling) on the fake clock."""
    return create_app(WebSettings(line.factory, TOKEN, page_size=PAGE_SIZE),
                      throttle=Throttle(clock=clock))


def at(app: Starlette, host: str) -> TestClient:
    """A client that connects from ``host``."""
    return TestClient(app, client=(host, 50000), follow_redirects=False)


def test_wrong_bearer_tokens_back_off_exponentially(app: Starlette, clock: FakeClock) -> None:
    c = at(app, "10.0.0.7")
    assert [c.get("/inspections", headers=WRONG).status_code for _ in range(5)] == [401] * 5
    r = c.get("/inspections", headers=RIGHT)                # even the right token must wait
    assert (r.status_code, r.headers["retry-after"]) == (429, "2")
    assert "try again in 2 s" in r.text
    clock.advance(1.5)
    assert c.get("/inspections", headers=RIGHT).headers["retry-after"] == "1"   # 0.5 s, rounded up
    waits = []
    for _ in range(4):
        clock.advance(int(c.get("/inspections", headers=WRONG).headers["retry-after"]))
        assert c.get("/inspections", headers=WRONG).status_code == 401    # checked, wrong again
        waits.append(int(c.get("/inspections", headers=WRONG).headers["retry-after"]))
    assert waits == [4, 8, 16, 32]
    clock.advance(32)
    assert c.get("/inspections", headers=RIGHT).status_code == 200      # waited: right works
    assert app.state.throttle.clients == 0                              # and clears the record
    assert [c.get("/inspections", headers=WRONG).status_code for _ in range(5)] == [401] * 5
    assert c.get("/inspections", headers=WRONG).status_code == 429


def test_the_wait_is_capped_and_lapses() -> None:
    clock = FakeClock()
    t = Throttle(free=5, base_s=2, max_s=900, forget_s=3600, clock=clock)
    for _ in range(40):
        t.failed("10.0.0.9")
    assert t.retry_after("10.0.0.9") == 900
    clock.advance(900 + 3601)
    t.failed("10.0.0.9")                                    # a new streak: 1 in a row
    assert t.retry_after("10.0.0.9") == 0


def test_other_addresses_and_logged_in_sessions_are_not_throttled(app: Starlette) -> None:
    attacker, operator = at(app, "10.0.0.66"), at(app, "10.0.0.5")
    assert attacker.get(f"/inspections?token={TOKEN}").status_code == 303   # a session first
    for _ in range(5):
        attacker.get("/inspections", headers=WRONG)
    assert attacker.get("/inspections", headers=RIGHT).status_code == 429
    assert attacker.get("/inspections").status_code == 200     # its cookie is no token attempt
    assert operator.get("/inspections", headers=RIGHT).status_code == 200
    assert operator.get("/inspections", headers=WRONG).status_code == 401
    assert operator.get("/inspections", headers=RIGHT).status_code == 200
    assert app.state.throttle.clients == 1                      # the operator's record cleared


def test_login_form_link_and_bearer_share_one_count(app: Starlette) -> None:
    c = at(app, "10.0.0.8")
    csrf = csrf_of(c.get("/login").text)
    form = {"token": "guess-0123456789abcdef", "csrf_token": csrf, "next": "/"}
    statuses = [c.post("/login", data=form).status_code for _ in range(2)]
    statuses += [c.get("/inspections?token=guess-0123456789abcdef").status_code for _ in range(2)]
    statuses += [c.get("/inspections", headers=WRONG).status_code]
    assert statuses == [401] * 5
    right = c.post("/login", data={**form, "token": TOKEN})
    assert (right.status_code, right.headers["retry-after"]) == (429, "2")
    assert "set-cookie" not in right.headers                     # no session while waiting
    assert c.get(f"/inspections?token={TOKEN}").status_code == 429
    assert c.get("/inspections").status_code == 401
    assert c.get("/login").status_code == 200                    # the form itself still shows


def test_throttled_attempts_are_logged_once_per_wait_without_tokens(
        app: Starlette, clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    c = at(app, "10.0.0.9")
    guesses = [f"guess-{i}-0123456789abcdef" for i in range(6)]
    with caplog.at_level(logging.WARNING, logger="inspector.web"):
        for g in guesses[:5]:
            assert c.get("/trends", headers={"Authorization": f"Bearer {g}"}).status_code == 401
        assert [c.get("/trends", headers=RIGHT).status_code for _ in range(10)] == [429] * 10
        clock.advance(2)
        assert c.get("/trends", headers={"Authorization": f"Bearer {guesses[5]}"}
                     ).status_code == 401
        assert [c.get("/trends", headers=RIGHT).status_code for _ in range(10)] == [429] * 10
    messages = [r.getMessage() for r in caplog.records]
    assert sum("wrong review token from 10.0.0.9" in m for m in messages) == 6
    refused = [m for m in messages if "refused" in m]
    assert refused == ["token attempts from 10.0.0.9 refused for 2 s after 5 wrong tokens",
                       "token attempts from 10.0.0.9 refused for 4 s after 6 wrong tokens"]
    for secret in [TOKEN, *guesses]:
        assert secret not in caplog.text


def test_memory_is_bounded_by_max_clients() -> None:
    clock = FakeClock()
    t = Throttle(free=1, max_clients=50, forget_s=3600, clock=clock)
    for i in range(1000):
        t.failed(f"10.1.{i // 256}.{i % 256}")
        clock.advance(0.01)
    assert t.clients == 50
    assert t.retry_after("10.1.3.231") == 2                     # the newest (999) is kept
    assert t.retry_after("10.1.0.0") == 0                       # the oldest was dropped
    clock.advance(3601)
    t.failed("10.2.0.1")                                        # the lapsed ones go
    assert t.clients == 1
