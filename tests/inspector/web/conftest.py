"""Fixtures for the review page: a seeded SQLite store, the app, HTTP clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient
from web_helpers import PAGE_SIZE, TOKEN, Line, csrf_of, seed, seed_spc

from inspector.store import open_store
from inspector.web import WebSettings, create_app
from inspector.web.throttle import Throttle

Seeder = Callable[[sessionmaker[Session], datetime], dict[str, str]]   # store, day B -> ids


def seeded(tmp_path: Path, name: str, how: Seeder) -> Iterator[Line]:
    """A store in ``tmp_path/name`` filled by ``how`` (day B = three days before today)."""
    url = f"sqlite:///{tmp_path / name}"
    engine, factory = open_store(url)
    day0 = datetime.combine(datetime.now(UTC).date() - timedelta(days=3), time(), UTC)
    yield Line(engine, factory, url, day0, how(factory, day0), tmp_path / "artifacts")
    engine.dispose()


@pytest.fixture
def line(tmp_path: Path) -> Iterator[Line]:
    yield from seeded(tmp_path, "inspections.db",
                      lambda factory, day0: seed(factory, tmp_path / "artifacts", day0))


@pytest.fixture
def spc_line(tmp_path: Path) -> Iterator[Line]:
    """The SPC scenario of ``web_helpers`` in a store of its own."""
    yield from seeded(tmp_path, "spc.db", seed_spc)


@pytest.fixture
def export_dir(tmp_path: Path) -> Path:
    return tmp_path / "exports"


def client_of(settings: WebSettings) -> Iterator[TestClient]:
    """No credentials; server errors come back as responses (not raised).

    Its throttle never blocks (these tests send many wrong tokens on purpose); the backoff
    has its own tests in ``test_web_throttle.py``.
    """
    app = create_app(settings, throttle=Throttle(free=10**6))
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as c:
        yield c


def logged_in(client: TestClient) -> TestClient:
    """``client`` logged in through the form (session cookie), like a browser."""
    page = client.get("/login")
    r = client.post("/login", data={"token": TOKEN, "next": "/inspections",
                                    "csrf_token": csrf_of(page.text)})
    assert r.status_code == 303
    return client


@pytest.fixture
def client(line: Line, export_dir: Path) -> Iterator[TestClient]:
    yield from client_of(WebSettings(line.factory, TOKEN, export_dir, page_size=PAGE_SIZE))


@pytest.fixture
def browser(client: TestClient) -> TestClient:
    return logged_in(client)


@pytest.fixture
def spc_browser(spc_line: Line) -> Iterator[TestClient]:
    """A logged-in client on the SPC scenario's store."""
    for c in client_of(WebSettings(spc_line.factory, TOKEN)):
        yield logged_in(c)


@pytest.fixture
def bearer() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}
