"""SPC: control limits from the moving range, the step change flagged, defect share per shift,
the /spc page's numbers, charts and empty states (scenario: ``web_helpers.seed_spc``)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, time, timedelta, timezone
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from web_helpers import SPC_FAILS, TOKEN, Line, spc_width

from inspector.store import open_store
from inspector.web import WebSettings, charts, create_app
from inspector.web.spc import (
    DEFAULT_SHIFTS,
    Shift,
    control_chart,
    defect_mix_by_shift,
    individuals_limits,
    shift_of,
)

SVG = "{http://www.w3.org/2000/svg}"
WIDTH_SIGMA, HEIGHT_SIGMA = 0.2 / 1.128, 0.1 / 1.128
TWO_SHIFTS = (Shift("day", time(6)), Shift("night", time(18)))


def week(line: Line) -> tuple[datetime, datetime]:
    return line.day0 - timedelta(days=1), line.day0 + timedelta(days=2)


def test_individuals_limits_use_the_average_moving_range() -> None:
    lim = individuals_limits([6.0, 6.2, 6.0, 6.2, 6.0, 6.2, 6.0, 6.2, 6.0, 8.0])
    assert lim is not None
    assert lim.centre == pytest.approx(6.28)
    assert lim.sigma == pytest.approx(0.4 / 1.128)            # (8 x 0.2 + 2.0) / 9
    assert (lim.lcl, lim.ucl) == pytest.approx((6.28 - 1.2 / 1.128, 6.28 + 1.2 / 1.128))
    flat = individuals_limits([2.5, 2.5, 2.5])
    assert flat is not None
    assert (flat.centre, flat.sigma) == (2.5, 0.0)
    assert individuals_limits([1.0]) is None
    assert individuals_limits([]) is None


def test_the_step_change_in_bead_width_is_out_of_control(spc_line: Line) -> None:
    chart = control_chart(spc_line.factory, 3, "bead_width_mm", *week(spc_line))
    assert [p.inspection_id for p in chart.points] == [spc_line.ids[f"h{h}"] for h in range(20)]
    assert [p.value for p in chart.points] == [spc_width(h) for h in range(20)]   # no ERROR
    assert chart.points[0].at == spc_line.day0
    assert chart.limits is not None
    assert chart.limits.centre == pytest.approx(6.28)
    assert chart.limits.sigma == pytest.approx(WIDTH_SIGMA)
    assert chart.limits.ucl == pytest.approx(6.28 + 3 * WIDTH_SIGMA)
    assert chart.out == [False] * 16 + [True] * 4
    height = control_chart(spc_line.factory, 3, "bead_height_mm", *week(spc_line))
    assert height.limits is not None
    assert (height.limits.centre, height.limits.sigma) == pytest.approx((2.05, HEIGHT_SIGMA))
    assert not any(height.out)
    newest = control_chart(spc_line.factory, 3, "bead_width_mm", *week(spc_line), limit=4)
    assert [p.value for p in newest.points] == [7.0] * 4
    assert newest.limits is not None
    assert newest.limits.sigma == 0.0
    assert not any(newest.out)


def test_other_types_windows_and_quantities_stay_apart(spc_line: Line) -> None:
    since, until = week(spc_line)
    type5 = control_chart(spc_line.factory, 5, "bead_width_mm", since, until)
    assert ([p.value for p in type5.points], type5.limits, type5.out) == ([3.0], None, [False])
    month = control_chart(spc_line.factory, 3, "bead_width_mm", until - timedelta(days=30),
                          until)
    assert [p.value for p in month.points][:2] == [50.0, 6.0]
    assert control_chart(spc_line.factory, 3, "cut_length_mm", since, until).points == []
    assert control_chart(spc_line.factory, 4, "bead_width_mm", since, until).limits is None


def test_defect_share_per_shift_is_exact(spc_line: Line) -> None:
    mix = defect_mix_by_shift(spc_line.factory, 3, *week(spc_line), DEFAULT_SHIFTS)
    early, late, night = "early 06:00–14:00", "late 14:00–22:00", "night 22:00–06:00"
    assert mix.scans == {early: 8, late: 7, night: 6}           # the ERROR is left out
    assert mix.fails == {night: {"ball": 1, "cut": 1}, early: {"ball": 2, "hole": 1},
                         late: {"cut": 1, "no_weld": 1}}
    assert mix.share(early, "ball") == pytest.approx(2 / 3)
    assert mix.share(early, "hole") == pytest.approx(1 / 3)
    assert mix.share(late, "ball") == 0.0
    assert sum(mix.fails[s].total() for s in mix.fails) == len(SPC_FAILS) + 1
    two = defect_mix_by_shift(spc_line.factory, 3, *week(spc_line), TWO_SHIFTS)
    assert two.scans == {"day 06:00–18:00": 12, "night 18:00–06:00": 9}
    assert two.fails["night 18:00–06:00"] == {"ball": 1, "cut": 1, "no_weld": 1}


def test_shift_boundaries_are_utc() -> None:
    day = datetime(2026, 3, 2, tzinfo=UTC)

    def name(h: int, m: int = 0, shifts: tuple[Shift, ...] = DEFAULT_SHIFTS) -> str:
        return shift_of(day + timedelta(hours=h, minutes=m), shifts).name

    assert [name(5, 59), name(6), name(13, 59), name(14), name(21, 59), name(22)] == [
        "night", "early", "early", "late", "late", "night"]
    assert [name(5, 59, TWO_SHIFTS), name(6, 0, TWO_SHIFTS), name(18, 0, TWO_SHIFTS)] == [
        "night", "day", "night"]
    cest = datetime(2026, 6, 1, 7, 30, tzinfo=timezone(timedelta(hours=2)))   # 05:30 UTC
    assert shift_of(cest, DEFAULT_SHIFTS).name == "night"
    assert shift_of(datetime(2026, 6, 1, 6, 30), DEFAULT_SHIFTS).name == "early"  # naive: UTC


def test_control_chart_svg_has_limits_and_red_points() -> None:
    svg = ET.fromstring(str(charts.control_chart(
        ["a", "b", "c", "d"], [1.0, 1.2, 1.1, 2.0], limits=(0.5, 1.0, 1.5),
        out=[False, False, False, True], links=["/inspections/1", "", "", "/inspections/4"])))
    lines = {ln.get("class"): ln for ln in svg.iter(f"{SVG}line") if ln.get("class")}
    assert set(lines) == {"lcl", "cl", "ucl"}
    assert lines["ucl"].get("stroke-dasharray") == "6 4"
    assert lines["cl"].get("stroke-dasharray") is None
    ys = {k: float(v.get("y1", "nan")) for k, v in lines.items()}
    assert ys["ucl"] < ys["cl"] < ys["lcl"]                    # higher values further up
    red = svg.findall(f".//{SVG}circle[@class='ooc']")
    assert len(red) == 1
    assert red[0].get("fill") == "#d62728"
    assert red[0].findtext(f"{SVG}title") == "d: 2.000 mm, out of control"
    assert float(red[0].get("cy", "nan")) < ys["ucl"]
    assert svg.findall(f"{SVG}a")[3].get("href") == "/inspections/4"
    assert len(svg.findall(f".//{SVG}circle[@class='pt']")) == 3


def row_of(page: str, row: str) -> str:
    """The table row whose data attribute is ``row``."""
    found = re.search(rf'<tr data-[a-z]+="{row}">(.*?)</tr>', page, re.S)
    assert found, row
    return found.group(1)


def cells(page: str, row: str) -> dict[str, str]:
    """The row's number cells by class (the defect shares apart: :func:`shares`)."""
    return dict(re.findall(r'<td class="num ([a-z]+)[^"]*">([^<]*)</td>', row_of(page, row)))


def shares(page: str, row: str) -> dict[str, str]:
    """A shift row's defect-class shares."""
    return dict(re.findall(r'data-class="([a-z_]+)">([^<]*)<', row_of(page, row)))


def test_spc_page_shows_limits_out_of_control_points_and_shift_shares(
        spc_browser: TestClient) -> None:
    r = spc_browser.get("/spc?weld_type=3&days=7")
    assert r.status_code == 200
    page = r.text
    assert cells(page, "bead_width_mm") == {"n": "20", "mean": "6.280", "sigma": "0.177",
                                            "ucl": "6.812", "lcl": "5.748", "out": "4"}
    assert cells(page, "bead_height_mm") == {"n": "20", "mean": "2.050", "sigma": "0.089",
                                             "ucl": "2.316", "lcl": "1.784", "out": "0"}
    assert cells(page, "night") == {"scans": "6", "fails": "2", "rate": "33.3 %"}
    assert cells(page, "early") == {"scans": "8", "fails": "3", "rate": "37.5 %"}
    assert cells(page, "late") == {"scans": "7", "fails": "2", "rate": "28.6 %"}
    assert shares(page, "night") == {"ball": "50.0 %", "cut": "50.0 %", "hole": "0.0 %",
                                     "no_weld": "0.0 %"}
    assert shares(page, "early") == {"ball": "66.7 %", "cut": "0.0 %", "hole": "33.3 %",
                                     "no_weld": "0.0 %"}
    assert shares(page, "late") == {"ball": "0.0 %", "cut": "50.0 %", "hole": "0.0 %",
                                    "no_weld": "50.0 %"}
    svgs = re.findall(r"<svg .*?</svg>", page, re.S)
    assert len(svgs) == 3
    width, height, shifts = (ET.fromstring(s) for s in svgs)
    assert len(width.findall(f".//{SVG}circle[@class='ooc']")) == 4
    assert len(height.findall(f".//{SVG}circle[@class='ooc']")) == 0
    assert len(height.findall(f".//{SVG}circle[@class='pt']")) == 20
    assert len([x for x in shifts.iter(f"{SVG}rect") if x.get("class") == "seg"]) == 6
    assert "UTC" in page
    assert '<a href="/spc">SPC</a>' in page                     # in the navigation
    assert spc_browser.get("/spc?days=30").text.count('class="num n">21<') == 2  # default: 3


def test_spc_page_empty_states(spc_browser: TestClient, tmp_path: Path) -> None:
    one = spc_browser.get("/spc?weld_type=5").text
    assert "Control limits need at least two points." in one
    assert cells(one, "bead_width_mm") == {"n": "1", "mean": "–", "sigma": "–", "ucl": "–",
                                           "lcl": "–", "out": "0"}
    assert "No FAILs of weld type 5 in this window." in one
    none = spc_browser.get("/spc?weld_type=4").text
    assert none.count("No measured PASS or FAIL scans of weld type 4 in this window.") == 2
    assert "<svg" not in none
    engine, factory = open_store(f"sqlite:///{tmp_path / 'empty.db'}")
    app = create_app(WebSettings(factory, TOKEN))
    with TestClient(app) as c:
        r = c.get("/spc", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200
    assert "No PASS or FAIL scans in the last 7 days." in r.text
    engine.dispose()


def test_the_shifts_come_from_the_settings(spc_line: Line) -> None:
    app = create_app(WebSettings(spc_line.factory, TOKEN, shifts=TWO_SHIFTS))
    with TestClient(app) as c:
        page = c.get("/spc?weld_type=3", headers={"Authorization": f"Bearer {TOKEN}"}).text
    assert "Shifts in UTC: day 06:00–18:00, night 18:00–06:00." in page
    assert cells(page, "day")["scans"] == "12"


@pytest.mark.parametrize(("query", "message"), [
    ("weld_type=0", "weld_type: expected a whole number 1..9999, found '0'"),
    ("weld_type=x", "weld_type: expected a whole number 1..9999"),
    ("days=0", "days: expected a whole number 1..90, found '0'"),
    ("days=91", "days: expected a whole number 1..90, found '91'"),
    ("days=1.5", "days: expected a whole number 1..90"),
    ("days=7&days=8", "days: expected one value, found 2"),
])
def test_bad_spc_parameters_are_400_naming_them(spc_browser: TestClient, query: str,
                                                message: str) -> None:
    r = spc_browser.get(f"/spc?{query}")
    assert r.status_code == 400
    assert message.replace("'", "&#39;") in r.text
