"""Fixtures for the review page: a seeded SQLite store, the app, HTTP clients."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from web_helpers import PAGE_SIZE, TOKEN, Line, csrf_of, seed

from inspector.store import open_store
from inspector.web import WebSettings, create_app
from inspector.web.throttle import Throttle


@pytest.fixture
def line(tmp_path: Path) -> Iterator[Line]:
    url = f"sqlite:///{tmp_path / 'inspections.db'}"
    engine, factory = open_store(url)
    day0 = datetime.combine(datetime.now(UTC).date() - timedelta(days=3), time(), UTC)
    ids = seed(factory, tmp_path / "artifacts", day0)
    yield Line(engine, factory, url, day0, ids, tmp_path / "artifacts")
    engine.dispose()


@pytest.fixture
def export_dir(tmp_path: Path) -> Path:
    return tmp_path / "exports"


@pytest.fixture
def client(line: Line, export_dir: Path) -> Iterator[TestClient]:
    """No credentials; server errors come back as responses (not raised).

    Its throttle never blocks (these tests send many wrong tokens on purpose); the backoff
    has its own tests in ``test_web_throttle.py``.
    """
    app = create_app(WebSettings(line.factory, TOKEN, export_dir, page_size=PAGE_SIZE),
                     throttle=Throttle(free=10**6))
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as c:
        yield c


@pytest.fixture
def browser(client: TestClient) -> TestClient:
    """``client`` logged in through the form (session cookie), like a browser."""
    page = client.get("/login")
    r = client.post("/login", data={"token": TOKEN, "next": "/inspections",
                                    "csrf_token": csrf_of(page.text)})
    assert r.status_code == 303
    return client


@pytest.fixture
def bearer() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}
