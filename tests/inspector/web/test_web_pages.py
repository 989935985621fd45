"""The pages on a seeded store: list filters, detail, verdicts, images, export, errors."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest
from sqlalchemy import select
from starlette.testclient import TestClient
from web_helpers import TOKEN, Line, csrf_of

from inspector.review.export import export_reviewed
from inspector.store.models import Artifact, Review
from inspector.web import WebSettings, create_app
from inspector.web.images import colour_stops
from point_cloud.heightmap_io import read_heightmap
from synth_defects.dataset import read_dataset


def listed(client: TestClient, query: str = "") -> tuple[int, list[str]]:
    """(match count, ids on the page) of ``/inspections?query``."""
    r = client.get(f"/inspections?{query}")
    assert r.status_code == 200, r.text
    count = re.search(r'<p id="count">(\d+) inspection', r.text)
    assert count
    return int(count.group(1)), re.findall(r'<tr class="inspection" data-id="([0-9a-f]+)"',
                                            r.text)


def artifact(line: Line, name: str, kind: str) -> Artifact:
    with line.factory() as s:
        art = s.scalars(select(Artifact).where(Artifact.inspection_id == line.ids[name],
                                               Artifact.kind == kind)).one()
    return art


def png(data: bytes) -> np.ndarray:
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert img is not None
    return img


def test_filters_change_the_listed_rows(browser: TestClient, line: Line) -> None:
    ids = line.ids
    total, first = listed(browser)
    assert total == 10
    assert first == [ids["pass10"], ids["pass9"], ids["ball2"], ids["error"]]   # newest first
    assert listed(browser, "page=3") == (10, [ids["cut"], ids["ball"]])
    assert listed(browser, "decision=FAIL") == (
        4, [ids["ball2"], ids["hole"], ids["cut"], ids["ball"]])
    assert listed(browser, "decision=fail&review=unreviewed")[0] == 3
    assert listed(browser, "weld_type=5") == (2, [ids["pass6"], ids["hole"]])
    day0 = line.day0.date().isoformat()
    assert listed(browser, f"date_from={day0}&date_to={day0}")[0] == 4
    d1 = (line.day0 + timedelta(days=1)).date().isoformat()
    assert listed(browser, f"date_from={d1}")[0] == 6
    assert listed(browser, f"date_to={d1}")[0] == 7
    assert listed(browser, "review=reviewed") == (1, [ids["ball2"]])
    assert listed(browser, "review=unreviewed")[0] == 9
    assert listed(browser, "decision=&weld_type=&review=")[0] == 10        # empty = any


def test_bad_filters_get_a_400_naming_the_field(browser: TestClient) -> None:
    for query, field in (("decision=MAYBE", "decision"), ("weld_type=0", "weld_type"),
                         ("weld_type=x", "weld_type"), ("date_from=2026-13-01", "date_from"),
                         ("page=0", "page"), ("review=yes", "review"),
                         ("date_from=2026-05-02&date_to=2026-05-01", "date_to")):
        r = browser.get(f"/inspections?{query}")
        assert r.status_code == 400, query
        assert f"{field}: expected" in r.text, query


def test_list_rows_show_thumbnails_decision_scores_and_verdicts(browser: TestClient,
                                                                line: Line) -> None:
    text = browser.get("/inspections?decision=FAIL").text
    thumbs = re.findall(r'src="/artifacts/(\d+)/thumb"', text)
    assert len(thumbs) == 4                                       # every FAIL kept its map
    assert "0.910 / 0.500" in text
    assert "confirmed-defect" in text                              # ball2's verdict
    thumb = png(browser.get(f"/artifacts/{thumbs[0]}/thumb").content)
    assert thumb.shape == (64, 200, 3)                             # 80 x 250 map -> 200 wide
    assert listed(browser, "decision=PASS")[0] == 5
    assert "/thumb" not in browser.get("/inspections?decision=PASS").text   # PASS: no artifacts


def test_detail_shows_size_location_scores_bundle_and_history(browser: TestClient,
                                                              line: Line) -> None:
    r = browser.get(f"/inspections/{line.ids['ball']}")
    assert r.status_code == 200
    t = r.text
    assert "2.40 mm vs limit 1.50 mm (160 % of the limit)" in t
    assert 'class="over"' in t
    assert "5.0 mm, 0.0 mm" in t                                     # location (x, y)
    assert "Committee score <b>0.910</b> vs threshold <b>0.500</b>" in t
    for member, score in (("anomaly", "1.365"), ("classifier", "0.910"),
                          ("siamese", "0.455")):
        assert f"<td>{member}</td><td class=\"num\">{score}</td>" in t
    assert '<b id="bundle">t3-2026.11.1</b>' in t
    assert f'src="/artifacts/{artifact(line, "ball", "heightmap").id}"' in t
    assert f'src="/artifacts/{artifact(line, "ball", "overlay").id}"' in t
    gauge = re.search(r'<rect class="score" x="8" y="4" width="([\d.]+)"', t)
    assert gauge
    assert float(gauge.group(1)) == pytest.approx(344 * 0.91, abs=0.1)  # 0..1 scale, 344 px
    assert "Not reviewed yet." in t
    hm = read_heightmap(artifact(line, "ball", "heightmap").path)
    lo, hi = np.percentile(hm.z[hm.valid], [0.5, 99.5])
    assert hi > 2.5                                                  # bead 2 mm + lump
    assert re.search(rf'<text class="lo"[^>]*>{lo:.2f} mm</text>', t)
    assert re.search(rf'<text class="hi"[^>]*>{hi:.2f} mm</text>', t)
    hist = browser.get(f"/inspections/{line.ids['ball2']}").text
    assert re.search(r"<td>confirmed-defect</td><td>anna</td><td>clear lump</td>", hist)
    assert browser.get("/inspections/ffffffff").status_code == 404


def test_verdict_post_writes_a_review_row(browser: TestClient, line: Line) -> None:
    iid = line.ids["cut"]
    csrf = csrf_of(browser.get(f"/inspections/{iid}").text)
    r = browser.post(f"/inspections/{iid}/review",
                     data={"verdict": "false-reject", "note": "bead is fine <b>",
                           "reviewer": "ben", "csrf_token": csrf})
    assert r.status_code == 303
    assert r.headers["location"] == f"/inspections/{iid}?saved=1"
    with line.factory() as s:
        rows = s.scalars(select(Review).where(Review.inspection_id == iid)).all()
    assert [(x.verdict, x.note, x.reviewer) for x in rows] == [
        ("false-reject", "bead is fine <b>", "ben")]
    page = browser.get(r.headers["location"]).text
    assert 'id="saved"' in page
    assert f'<a id="next" href="/inspections/{line.ids["hole"]}">' in page   # newest unreviewed
    assert "bead is fine &lt;b&gt;" in page                         # escaped in the history
    assert browser.post(f"/inspections/{iid}/review", data={
        "verdict": "drop-table", "csrf_token": csrf}).status_code == 400
    assert browser.post("/inspections/ffff0000/review", data={
        "verdict": "false-reject", "csrf_token": csrf}).status_code == 404
    assert listed(browser, "review=reviewed")[0] == 2


def test_heightmap_is_false_colour_with_invalid_pixels_black(browser: TestClient,
                                                             line: Line) -> None:
    art = artifact(line, "ball", "heightmap")
    img = png(browser.get(f"/artifacts/{art.id}").content)
    assert img.shape == (240, 750, 3)                               # 80 x 250 at 3x
    shadow = img[:12]                                                # 4 invalid rows x 3
    assert not shadow.any()
    bead = img[120, 100:650].astype(int)
    spread = bead.max(axis=1) - bead.min(axis=1)
    assert np.median(spread) > 100                                   # coloured, not grey
    assert img[12:].reshape(-1, 3).any(axis=1).mean() > 0.99         # valid pixels lit
    low, high = colour_stops()[0], colour_stops()[-1]                # the legend's ends
    assert int(low[5:7], 16) > int(low[1:3], 16)                     # low: blue > red
    assert int(high[1:3], 16) > int(high[5:7], 16)                   # high: red > blue
    over = artifact(line, "ball", "overlay")
    served = png(browser.get(f"/artifacts/{over.id}").content)
    on_disk = cv2.imread(over.path)
    assert on_disk is not None
    assert served.shape == on_disk.shape
    assert np.array_equal(served, on_disk)


def test_image_routes_only_take_artifact_ids(browser: TestClient, line: Line) -> None:
    assert browser.get("/artifacts/999999").status_code == 404
    assert browser.get("/artifacts/999999/thumb").status_code == 404
    for crafted in ("/artifacts/..%2F..%2F..%2Fetc%2Fpasswd", "/artifacts/-1",
                    "/artifacts/%2Fetc%2Fpasswd", "/artifacts/1%2F..%2F..%2Fpyproject.toml",
                    "/static/..%2F..%2F..%2Fpyproject.toml", "/static/../app.py",
                    "/static/%2Fetc%2Fpasswd", "/static/..%2Ftemplates%2Fbase.html"):
        r = browser.get(crafted)
        assert r.status_code == 404, crafted
        assert "root:" not in r.text
        assert "[project]" not in r.text
        assert "import" not in r.text
    art = artifact(line, "cut", "heightmap")
    Path(art.path).unlink()                                          # pruned on disk
    assert browser.get(f"/artifacts/{art.id}").status_code == 404


def test_server_errors_show_no_traceback(browser: TestClient, line: Line,
                                         caplog: pytest.LogCaptureFixture) -> None:
    art = artifact(line, "hole", "heightmap")
    Path(art.path).write_bytes(b"\x89PNG not really")               # corrupt evidence file
    with caplog.at_level(logging.ERROR, logger="inspector.web.app"):
        r = browser.get(f"/artifacts/{art.id}")
    assert r.status_code == 500
    assert "500: server error" in r.text
    for leak in ("Traceback", "File \"", art.path, "Error", "heightmap_io"):
        assert leak not in r.text, leak
    assert not re.search(r"line \d+", r.text)
    assert any(rec.exc_info and "GET /artifacts" in rec.getMessage() for rec in caplog.records)


def test_export_writes_the_cli_dataset_into_the_server_dir(browser: TestClient, line: Line,
                                                            export_dir: Path,
                                                            tmp_path: Path) -> None:
    iid = line.ids["ball"]
    csrf = csrf_of(browser.get(f"/inspections/{iid}").text)
    browser.post(f"/inspections/{iid}/review",
                 data={"verdict": "false-reject", "csrf_token": csrf})
    page = browser.get("/export")
    assert str(export_dir) in page.text
    r = browser.post("/export", data={"verdict": "false-reject", "csrf_token": csrf,
                                      "out": str(tmp_path / "elsewhere")})
    assert r.status_code == 200
    assert re.search(r'<b id="export-count">1</b>', r.text)
    found = re.search(r'<code id="export-path">([^<]+)</code>', r.text)
    assert found
    out = Path(found.group(1))
    assert out.parent == export_dir                                  # never from the request
    assert not (tmp_path / "elsewhere").exists()
    (rec,) = read_dataset(out).records
    assert (rec["label"], rec["defect"], rec["weld_type"]) == ("good", "none", 3)
    cli_out = tmp_path / "cli"                                       # the CLI's function
    assert [x["id"] for x in export_reviewed(line.factory, "false-reject", cli_out)] == [
        rec["id"]]
    assert (cli_out / "manifest.jsonl").read_text() == (out / "manifest.jsonl").read_text()
    assert browser.post("/export", data={"verdict": "../../x", "csrf_token": csrf}
                        ).status_code == 400


def test_export_is_off_without_an_export_dir(line: Line) -> None:
    app = create_app(WebSettings(line.factory, TOKEN, export_dir=None))
    with TestClient(app, follow_redirects=False) as c:
        c.get(f"/inspections?token={TOKEN}")
        page = c.get("/export")
        assert "Export is off" in page.text
        r = c.post("/export", data={"verdict": "false-reject", "csrf_token": csrf_of(page.text)})
        assert r.status_code == 409
