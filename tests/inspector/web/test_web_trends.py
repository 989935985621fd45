"""Trends: reject rates per weld type and bin, the defect-class mix, and their SVG charts."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from starlette.testclient import TestClient
from web_helpers import Line

from inspector.web import charts
from inspector.web.trends import defect_mix, reject_series, window

SVG = "{http://www.w3.org/2000/svg}"


def test_reject_rates_per_type_and_day(line: Line) -> None:
    s = reject_series(line.factory, line.day0, line.day0 + timedelta(days=3), "day")
    assert s.starts == [line.day0 + timedelta(days=i) for i in range(3)]
    assert s.rates(3) == [pytest.approx(0.5), None, pytest.approx(1 / 3)]   # ERROR not counted
    assert s.rates(5) == [None, pytest.approx(0.5), None]
    assert s.errors[3].tolist() == [0, 1, 0]
    hourly = reject_series(line.factory, line.day0, line.day0 + timedelta(hours=14), "hour")
    assert len(hourly.starts) == 14
    assert hourly.fails[3].tolist() == [0] * 10 + [1, 1, 0, 0]
    assert hourly.totals[3].tolist() == [0] * 10 + [1, 1, 1, 1]
    assert set(hourly.totals) == {3}


def test_defect_mix_counts_fails_per_type_and_class(line: Line) -> None:
    assert defect_mix(line.factory, line.day0, line.day0 + timedelta(days=3)) == {
        3: {"ball": 2, "cut": 1}, 5: {"hole": 1}}
    assert defect_mix(line.factory, line.day0 + timedelta(days=2),
                      line.day0 + timedelta(days=3)) == {3: {"ball": 1}}


def test_window_ends_with_the_bin_holding_now(line: Line) -> None:
    now = line.day0 + timedelta(days=3, hours=5, minutes=7)
    assert window(now, 4, "day") == (line.day0, line.day0 + timedelta(days=4))
    since, until = window(now, 6, "hour")
    assert until == line.day0 + timedelta(days=3, hours=6)
    assert until - since == timedelta(hours=6)


def test_line_chart_places_points_by_value() -> None:
    svg = ET.fromstring(str(charts.line_chart(["a", "b", "c", "d"], {
        "type 3": [0.5, None, 0.25, 0.5], "type 5": [None, 1.0, None, None]})))
    pts = svg.findall(f".//{SVG}circle")
    assert len(pts) == 4                                   # Nones leave gaps
    ys = sorted({float(p.get("cy", "nan")) for p in pts})
    top, ph = 12, 280 - 12 - 40                            # plot area of the default size
    assert ys == pytest.approx([top, top + ph * 0.5, top + ph * 0.75])   # 100 %, 50 %, 25 %
    lines = svg.findall(f".//{SVG}polyline")
    assert [len(pl.get("points", "").split()) for pl in lines] == [1, 2, 1]   # split at None
    assert pts[0].findtext(f"{SVG}title") == "type 3 a: 50.0%"


def test_stacked_bars_split_by_share() -> None:
    svg = ET.fromstring(str(charts.stacked_bars(
        {"type 3": {"ball": 2, "cut": 1}, "type 5": {"hole": 4}}, ["ball", "cut", "hole"])))
    segs = [r for r in svg.iter(f"{SVG}rect") if r.get("class") == "seg"]
    widths = [float(r.get("width", "nan")) for r in segs]
    assert widths == pytest.approx([670 * 2 / 3, 670 / 3, 670], abs=0.1)
    assert segs[1].findtext(f"{SVG}title") == "type 3 cut: 1 of 3 (33%)"


def test_chart_labels_are_escaped() -> None:
    out = str(charts.line_chart(["<x>"], {"<script>": [0.1]}))
    assert "<script>" not in out
    assert "&lt;script&gt;" in out
    ET.fromstring(out)                                     # still well-formed


def test_nice_ceiling() -> None:
    assert [charts.nice_ceiling(v) for v in (0, 0.3, 1, 37.5, 60, 100, 101)] == [
        1, 0.5, 1, 50, 100, 100, 200]


def test_trends_page_shows_numbers_and_charts(browser: TestClient, line: Line) -> None:
    r = browser.get("/trends?bin=day&bins=5")
    assert r.status_code == 200
    rows = dict(re.findall(r'<tr data-type="(\d+)">.*?<td class="num rate">([^<]+)</td>',
                           r.text, re.S))
    assert rows == {"3": "42.9 %", "5": "50.0 %"}          # 3 of 7 and 1 of 2
    charts_svg = re.findall(r"<svg .*?</svg>", r.text, re.S)
    assert len(charts_svg) == 2
    rate = ET.fromstring(charts_svg[0])
    pts = rate.findall(f".//{SVG}circle")
    assert len(pts) == 3                                   # t3 on days 0 and 2, t5 on day 1
    day0 = f"{line.day0:%m-%d}"
    assert pts[0].findtext(f"{SVG}title") == f"type 3 {day0}: 50.0% (2 of 4)"
    mix = ET.fromstring(charts_svg[1])
    assert len([x for x in mix.iter(f"{SVG}rect") if x.get("class") == "seg"]) == 3
    assert browser.get("/trends?bin=hour&bins=200").status_code == 200
    for bad in ("bin=week", "bins=0", "bins=401", "bins=x"):
        assert browser.get(f"/trends?{bad}").status_code == 400, bad
