"""Hostile request parameters on every route: 400 naming the parameter (or 404), never 500."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date

import pytest
from sqlalchemy import func, select
from starlette.datastructures import QueryParams
from starlette.testclient import TestClient
from web_helpers import Line, csrf_of

from inspector.review.queries import VERDICTS
from inspector.store.models import Artifact, Review
from inspector.web.params import BadParamError, day, whole

HUGE = "9223372036854775807"                  # the page number (2**63 - 1)
LIST_CASES = [
    (f"page={HUGE}", "page: expected a whole number 1..1000000, found '9223372036854775807'"),
    ("page=-1", "page: expected a whole number 1..1000000, found '-1'"),
    ("page=99999999999999999999999999", "page: expected a whole number 1..1000000"),
    ("page=1.5", "page: expected a whole number"), ("page=1e3", "page: expected a whole number"),
    ("page=1_0", "page: expected a whole number"), ("page=0x10", "page: expected a whole number"),
    ("page=%D9%A3", "page: expected a whole number"),        # an Arabic-Indic digit 3
    ("page=%00", "page: expected a whole number"),
    ("page=1&page=2", "page: expected one value, found 2"),
    ("per_page=1000000", "per_page: expected a whole number 1..100, found '1000000'"),
    ("per_page=0", "per_page: expected a whole number 1..100"),
    (f"weld_type={HUGE}0", "weld_type: expected a whole number 1..9999"),
    ("weld_type=-3", "weld_type: expected a whole number 1..9999"),
    ("weld_type=10000", "weld_type: expected a whole number 1..9999, found '10000'"),
    ("date_to=9999-12-31", "date_to: expected a day YYYY-MM-DD from 2000-01-01 to 2999-12-31"),
    ("date_from=0001-01-01", "date_from: expected a day YYYY-MM-DD"),
    ("date_from=2026-02-30", "date_from: expected a day YYYY-MM-DD"),
    ("date_from=20260501", "date_from: expected a day YYYY-MM-DD"),
    ("date_to=2026-05-01T00:00", "date_to: expected a day YYYY-MM-DD"),
    ("decision=PASS'%20OR%201=1--", "decision: expected one of PASS, FAIL, ERROR"),
    ("review=%00", "review: expected one of reviewed, unreviewed"),
]
TRENDS_CASES = [
    ("bins=%C2%B2", "bins: expected a whole number 1..400, found '²'"),   # superscript two
    (f"bins={HUGE}", "bins: expected a whole number 1..400"),
    ("bins=-1", "bins: expected a whole number 1..400"),
    ("bin=year", "bin: expected one of hour, day, found 'year'"),
    ("bin=day&bin=hour", "bin: expected one value, found 2"),
]

SPC_CASES = [
    (f"days={HUGE}", "days: expected a whole number 1..90, found '9223372036854775807'"),
    ("days=-1", "days: expected a whole number 1..90"),
    ("days=%C2%B2", "days: expected a whole number 1..90, found '²'"),
    ("weld_type=3.0", "weld_type: expected a whole number 1..9999, found '3.0'"),
    ("weld_type=3&weld_type=5", "weld_type: expected one value, found 2"),
]


def error_of(page: str) -> str:
    """The message of an error page."""
    found = re.search(r'<p class="error">([^<]*)</p>', page)
    assert found, "not the error page"
    return found.group(1).replace("&#39;", "'")


def review_count(line: Line) -> int:
    with line.factory() as s:
        return int(s.scalar(select(func.count()).select_from(Review)) or 0)


@pytest.mark.parametrize(("path", "cases"), [("/inspections", LIST_CASES),
                                             ("/trends", TRENDS_CASES),
                                             ("/spc", SPC_CASES)])
def test_hostile_query_values_get_a_400_naming_the_parameter(
        browser: TestClient, path: str, cases: list[tuple[str, str]]) -> None:
    for query, message in cases:
        r = browser.get(f"{path}?{query}")
        assert r.status_code == 400, query
        assert error_of(r.text).startswith(message), (query, error_of(r.text))


def test_long_values_are_refused_without_echoing_them(browser: TestClient,
                                                      line: Line) -> None:
    r = browser.get("/inspections?page=" + "9" * 1000)
    assert r.status_code == 400
    assert error_of(r.text) == ("page: expected a whole number 1..1000000, "
                           "found '999999999999999999999999'... (1000 characters)")
    assert "9" * 30 not in r.text
    r = browser.get("/trends?bin=" + "x" * 2000)
    assert r.status_code == 400
    assert error_of(r.text).endswith("... (2000 characters)")
    assert "x" * 30 not in r.text
    r = browser.get("/inspections?decision=" + "x" * 3000)
    assert r.status_code == 400
    assert error_of(r.text) == "query string: expected at most 2048 characters, found 3009"
    assert "x" * 30 not in r.text
    iid = line.ids["cut"]
    csrf = csrf_of(browser.get(f"/inspections/{iid}").text)
    expected = f"verdict: expected one of {', '.join(VERDICTS)}, found "
    for verdict, message in (
            ("x" * 5000, expected + "'xxxxxxxxxxxxxxxxxxxxxxxx'... (5000 characters)"),
            (None, expected + "nothing"),
            (["false-reject", "confirmed-defect"], "verdict: expected one value, found 2")):
        data = {"csrf_token": csrf} if verdict is None else {"verdict": verdict,
                                                             "csrf_token": csrf}
        r = browser.post(f"/inspections/{iid}/review", data=data)
        assert r.status_code == 400, message
        assert error_of(r.text) == message
        assert "x" * 30 not in r.text
    assert review_count(line) == 1                                   # only the seeded one


def test_every_route_answers_hostile_queries_below_500(browser: TestClient, line: Line) -> None:
    with line.factory() as s:
        aid = s.scalars(select(Artifact.id).order_by(Artifact.id)).first()
    routes = ["/", "/inspections", f"/inspections/{line.ids['ball']}", f"/artifacts/{aid}",
              f"/artifacts/{aid}/thumb", "/export", "/trends", "/spc", "/login"]
    queries = [f"page={HUGE}", "page=-1", f"per_page={HUGE}", "bins=%C2%B2", "bin=%00",
               "date_to=9999-12-31", "date_from=x", f"weld_type={HUGE}", "saved=" + "1" * 99,
               "next=" + "/" * 3000, "decision=" + "A" * 4000, "review=%FF%FE"]
    seen = {route: Counter(browser.get(f"{route}?{q}").status_code for q in queries)
            for route in routes}
    assert max(max(c) for c in seen.values()) < 500, seen
    assert {route: c[400] for route, c in seen.items() if c[400]} == {   # the rest ignore them
        "/inspections": 9, "/trends": 4, "/spc": 3, routes[2]: 3, "/login": 2}


def test_path_ids_out_of_range_are_404(browser: TestClient, line: Line) -> None:
    for path in (f"/artifacts/{HUGE}", f"/artifacts/{HUGE}8", "/artifacts/" + "9" * 40 + "/thumb",
                 "/inspections/%00", "/inspections/" + "a" * 33, "/inspections/GGGG",
                 "/inspections/%27%20OR%201=1--"):
        r = browser.get(path)
        assert r.status_code == 404, path
        assert error_of(r.text).startswith("no such"), path
    csrf = csrf_of(browser.get("/inspections").text)
    r = browser.post("/inspections/%00/review", data={"verdict": "false-reject",
                                                      "csrf_token": csrf})
    assert r.status_code == 404
    assert review_count(line) == 1


def test_bounds_themselves_are_accepted_and_per_page_pages(browser: TestClient,
                                                          line: Line) -> None:
    def count(query: str) -> tuple[int, int]:
        r = browser.get(f"/inspections?{query}")
        assert r.status_code == 200, query
        found = re.search(r'<p id="count">(\d+) inspection', r.text)
        assert found
        return int(found.group(1)), len(re.findall(r'<tr class="inspection"', r.text))

    assert count("page=1000000") == (10, 0)
    assert count("date_from=2000-01-01&date_to=2999-12-31") == (10, 4)
    assert count("per_page=100") == (10, 10)
    assert count("per_page=3&page=4") == (10, 1)
    assert count("decision=fail&review=UNREVIEWED") == (3, 3)         # any letter case
    page = browser.get("/inspections?per_page=3").text
    assert 'href="/inspections?page=2&amp;per_page=3"' in page        # the pager keeps it
    assert '<input type="hidden" name="per_page" value="3">' in page  # and the filter form
    assert browser.get("/trends?bins=400&bin=hour").status_code == 200
    assert browser.get("/spc?days=90&weld_type=11").status_code == 200
    assert browser.get("/spc?days=1&weld_type=2").status_code == 200
    assert browser.get(f"/inspections/{line.ids['ball']}?saved=1").status_code == 200


def test_parameter_readers_on_their_own() -> None:
    q = QueryParams("n=%2B5&d=2026-05-01&e=&m=1&m=2")
    with pytest.raises(BadParamError, match=r"^n: expected a whole number 1\.\.9, found '\+5'$"):
        whole(q, "n", 1, 9)
    with pytest.raises(BadParamError, match=r"^m: expected one value, found 2$"):
        whole(q, "m", 1, 9)
    assert day(q, "d") == date(2026, 5, 1)
    assert whole(q, "e", 1, 9) is None                               # empty: any
    assert day(q, "absent") is None
