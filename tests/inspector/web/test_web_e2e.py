"""End to end in headless Chromium (Debian's, driven by Playwright) against uvicorn.

Logs in with the token, opens the list, opens a rejected weld, clicks "false reject"
with a note and finds the review row in the SQLite file. Keeps a screenshot in
``test-artifacts/review_e2e.png``. Also: a session cookie copied before "Log out" is
refused afterwards; the SPC page draws its control charts with the out-of-control points.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import uvicorn
from sqlalchemy import select
from web_helpers import TOKEN, Line

from inspector.store.models import Review
from inspector.web import WebSettings, create_app
from inspector.web.auth import COOKIE

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[3]
SCREENSHOT = REPO / "test-artifacts" / "review_e2e.png"

pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(settings: WebSettings) -> Iterator[str]:
    """The app under uvicorn on 127.0.0.1 at a free port, in a thread; yields its URL."""
    app = create_app(settings)
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)


@pytest.fixture
def server(line: Line, tmp_path: Path) -> Iterator[str]:
    yield from serve(WebSettings(line.factory, TOKEN, tmp_path / "exports"))


@pytest.fixture
def spc_server(spc_line: Line) -> Iterator[str]:
    yield from serve(WebSettings(spc_line.factory, TOKEN))


def log_in(page: Any, server: str, path: str) -> None:
    """Open ``path``, log in on the form it redirects to, land on ``path``."""
    page.goto(f"{server}{path}")
    assert "/login" in page.url
    page.fill("input[name=token]", TOKEN)
    page.click("button:has-text('Log in')")
    page.wait_for_url(f"{server}{path}")


def assert_rendered(screenshot: Path, width: int) -> None:
    """A full-page screenshot of ``width`` px with a real page in it, not a blank one."""
    shot = cv2.imread(str(screenshot))
    assert shot is not None
    assert shot.shape[0] >= 1000
    assert shot.shape[1] == width
    assert len(np.unique(shot.reshape(-1, 3), axis=0)) > 200


def test_operator_marks_a_reject_as_false_in_chromium(server: str, line: Line) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            log_in(page, server, "/inspections")
            page.select_option("select[name=decision]", "FAIL")
            page.select_option("select[name=review]", "unreviewed")
            page.click("button:has-text('Filter')")
            page.wait_for_url("**/inspections?decision=FAIL*")
            rows = page.locator("tr.inspection")
            assert rows.count() == 3
            first_thumb = page.locator("tr.inspection img").first
            assert first_thumb.evaluate("img => img.complete && img.naturalWidth") == 200
            page.click(f"tr[data-id='{line.ids['ball']}'] a >> nth=0")
            page.wait_for_url(f"**/inspections/{line.ids['ball']}")
            assert page.locator("#heightmap").evaluate("img => img.naturalWidth") == 750
            assert page.locator("#overlay").evaluate("img => img.naturalWidth") == 750
            assert "2.40 mm vs limit 1.50 mm" in page.inner_text("#defect")
            page.fill("textarea[name=note]", "spatter, bead is fine")
            page.click("button:has-text('false reject')")
            page.wait_for_selector("#saved")
            assert "spatter, bead is fine" in page.inner_text("#reviews")
            SCREENSHOT.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)
        finally:
            browser.close()
    with line.factory() as s:
        rows_db = s.scalars(select(Review).where(Review.inspection_id == line.ids["ball"])).all()
    assert [(r.verdict, r.note) for r in rows_db] == [("false-reject", "spatter, bead is fine")]
    assert_rendered(SCREENSHOT, 1400)


def test_spc_page_in_chromium(spc_server: str, tmp_path: Path) -> None:
    """The SPC view of weld type 3: two control charts (the width step in red), the shift
    bars; the screenshot is kept in the test's tmp_path (``spc.png``)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    shot = tmp_path / "spc.png"
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            log_in(page, spc_server, "/spc?weld_type=3&days=7")
            assert page.locator("main svg").count() == 3
            width = page.locator("#chart-bead_width_mm svg")
            assert width.locator("circle.ooc").count() == 4
            assert width.locator("circle.pt").count() == 16
            assert width.locator("line.ucl").get_attribute("stroke-dasharray") == "6 4"
            assert width.locator("line.lcl").count() == 1
            assert page.locator("#chart-bead_height_mm circle.ooc").count() == 0
            assert page.locator("#shift-chart rect.seg").count() == 6
            box = width.bounding_box()
            assert box is not None
            assert box["width"] > 700                                  # drawn, not collapsed
            assert page.inner_text("#spc-table tr[data-quantity=bead_width_mm] td.out") == "4"
            page.screenshot(path=str(shot), full_page=True)
            width.locator("circle.ooc").first.click()                  # opens the inspection
            page.wait_for_url(f"{spc_server}/inspections/*")
        finally:
            browser.close()
    assert_rendered(shot, 1400)


def test_logged_out_cookie_replayed_in_chromium_is_refused(server: str) -> None:
    """Log in, copy the session cookie, log out with the button, put the copy back."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            context = browser.new_context()
            page = context.new_page()
            page.goto(f"{server}/login")
            page.fill("input[name=token]", TOKEN)
            page.click("button:has-text('Log in')")
            page.wait_for_url(f"{server}/inspections")               # next=/ -> /inspections
            saved = [c for c in context.cookies() if c["name"] == COOKIE]
            assert len(saved) == 1
            assert context.request.get(f"{server}/inspections").status == 200
            page.click("button:has-text('Log out')")
            page.wait_for_url(f"{server}/login")
            assert [c for c in context.cookies() if c["name"] == COOKIE] != saved
            context.clear_cookies()
            context.add_cookies(saved)                               # replay the copy
            assert context.request.get(f"{server}/inspections", max_redirects=0).status == 401
            page.goto(f"{server}/inspections")
            assert page.url == f"{server}/login?next=%2Finspections"
        finally:
            browser.close()
