"""``inspector demo``: the README's run command, end to end on the committed starter bundle.

A real local mosquitto, the simulated scanner, the daemon with the real ONNX committees,
SQLite; the results seen over MQTT are scored against the scanner's truth.
"""

from __future__ import annotations

import io
import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from inspector.commands.demo import bundled_types, starter_models
from inspector.config import load_line_config
from inspector.demo.scanner import ScanPlan, SimulatedScanner
from inspector.demo.scoreboard import Scoreboard
from inspector.service.deciders import load_deciders, served_types
from inspector.service.messages import ResultMessage, result_message
from inspector.verdict import Measurement, Verdict
from point_cloud.types import ScanIdentity

REPO = Path(__file__).resolve().parents[2]


def test_the_starter_bundle_is_committed_and_small() -> None:
    models = starter_models()
    types = bundled_types(models)
    assert types, f"no starter bundle under {models}"
    size = sum(p.stat().st_size for p in models.rglob("*") if p.is_file())
    assert size <= 30 * 2**20, f"starter bundles are {size / 2**20:.1f} MB (limit 30 MB)"
    for t in types:
        card = json.loads((models / f"type{t}" / "model.json").read_text())
        assert card["weld_type"] == t


def test_the_default_line_config_runs_on_the_starter_bundle() -> None:
    cfg = load_line_config(REPO / "config" / "line.yaml")
    deciders = load_deciders(cfg)          # refuses to start on a missing/mismatched bundle
    assert sorted(deciders) == bundled_types(starter_models()) == served_types(cfg)


def test_the_scanner_plan_is_seeded_and_mixes_defects(tmp_path: Path) -> None:
    plan = SimulatedScanner(tmp_path, [3, 7], 200, defect_rate=0.4, seed=5).plan()
    again = SimulatedScanner(tmp_path, [3, 7], 200, defect_rate=0.4, seed=5).plan()
    assert plan == again
    bad = sum(p.defect is not None for p in plan)
    assert 0.3 * 200 <= bad <= 0.5 * 200
    assert {p.identity.weld_type for p in plan} == {3, 7}
    assert len({p.defect for p in plan if p.defect}) >= 5


def test_the_scoreboard_reads_typed_results_and_skips_invalid_ones(
        caplog: pytest.LogCaptureFixture) -> None:
    plans = {f"P{n}": ScanPlan(n, ScanIdentity(f"P{n}", "W1", 3), defect, n)
             for n, defect in [(1, None), (2, "ball"), (3, "ball"), (4, None)]}
    verdicts = {1: Verdict("PASS", 0.1, 0.5), 2: Verdict(
        "FAIL", 0.9, 0.5, defect="ball", location_mm=(1.0, 2.0),
        measurement=Measurement("ball_diameter", 2.14, 1.5)),
        3: Verdict("PASS", 0.2, 0.5), 4: Verdict("ERROR", 1.0, 0.5, reason="corrupt")}
    out = io.StringIO()
    board = Scoreboard(plans, out)
    board.on_message("welds/L1/S1/status", b"online")            # not a result: ignored
    for n, v in verdicts.items():
        msg = result_message(inspection_id=f"{n:032x}", line="L1", station="S1",
                             scan_name=f"P{n}_W1_t3.npy", identity=plans[f"P{n}"].identity,
                             verdict=v, timings_ms={"total": 10.0 * n})
        board.on_message("welds/L1/S1/result", msg.model_dump_json().encode())
    bad = json.loads(msg.model_dump_json()) | {"decision": "MAYBE"}
    board.on_message("welds/L1/S1/result", json.dumps(bad).encode())
    assert "not a valid result" in caplog.text
    assert board.count() == 4
    assert all(isinstance(r, ResultMessage) for r in board.results)
    lines = out.getvalue().splitlines()
    assert len(lines) == 4
    assert "P2 t3  truth ball       -> FAIL  ball 2.1/1.5 mm" in lines[1]
    assert lines[1].endswith("20 ms  ok")
    assert lines[2].endswith("ESCAPE")
    assert lines[3].endswith("error")
    report = board.report()
    assert "results     4  (ERROR 1, FAIL 1, PASS 2)" in report
    assert "bad welds   2: caught 1, escaped 1" in report
    assert "latency     p50 30 ms, p95 40 ms" in report


@pytest.mark.slow
def run_demo(workdir: Path, count: int) -> tuple[str, list[str]]:
    """The demo's output and its per-scan result lines (one per result over MQTT)."""
    proc = subprocess.run(
        [sys.executable, "-m", "inspector.cli", "demo", "--count", str(count), "--rate", "0",
         "--defect-rate", "0.5", "--seed", "1", "--points", "150000",
         "--workdir", str(workdir)],
        cwd=REPO, capture_output=True, text=True, timeout=600, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    return out, [ln for ln in proc.stdout.splitlines() if re.match(r"\[\s*\d+\]", ln)]


def test_demo_runs_the_whole_line_and_scores_it(tmp_path: Path) -> None:
    count = 8
    out, lines = run_demo(tmp_path / "demo", count)
    assert len(lines) == count, out                 # every scan's result arrived over MQTT
    m = re.search(r"good welds\s+(\d+): passed (\d+), falsely rejected (\d+)", out)
    b = re.search(r"bad welds\s+(\d+): caught (\d+), escaped (\d+)", out)
    e = re.search(r"errors\s+(\d+)", out)
    assert m is not None, out
    assert b is not None, out
    assert e is not None, out
    assert int(m[1]) + int(b[1]) + int(e[1]) == count
    assert int(b[3]) == 0, out                      # no defective weld passed
    assert int(m[3]) <= 1, out                      # at most one false reject in 8
    db = sqlite3.connect(tmp_path / "demo" / "inspections.db")
    rows = db.execute("select count(*), sum(decision = 'FAIL') from inspections").fetchone()
    assert rows[0] == count
    undelivered = db.execute("select count(*) from outbox where delivered_at is null").fetchone()
    assert undelivered[0] == 0                      # the outbox drained before exit
    # Run again in the same workdir: the same seeded scans arrive again. Each keeps its first
    # decision and gets its result again (before, the daemon kept the decision silently and
    # a second `inspector demo` waited for results that never came: 0 of 30).
    again, lines_again = run_demo(tmp_path / "demo", count)
    assert len(lines_again) == count, again
    verdict = re.compile(r"-> (PASS|FAIL)")
    assert all(verdict.search(ln) for ln in lines), out
    assert [verdict.findall(ln) for ln in lines_again] == [verdict.findall(ln) for ln in lines]
    assert db.execute("select count(*) from inspections").fetchone()[0] == count
