"""The store: migrations, the inspection + outbox transaction, ordering, SQLite WAL, PostgreSQL."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from factories import add_inspection, make_record
from jsonschema import Draft202012Validator
from sqlalchemy import func, inspect, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from inspector.cli import main as cli
from inspector.config import load_line_config
from inspector.review.queries import add_review
from inspector.service.daemon import Daemon
from inspector.service.deciders import load_deciders
from inspector.service.messages import ResultMessage, result_schema
from inspector.store import Artifact, Inspection, OutboxMessage, Review, open_store
from inspector.store.db import make_engine, migrate
from inspector.store.models import Base, utcnow
from inspector.store.models import Measurement as MeasurementRow
from inspector.store.outbox import (
    dead_count,
    mark_dead,
    mark_delivered,
    outbox_depth,
    pending,
    prune_artifacts,
    prune_inspections,
    record_inspection,
)
from inspector.verdict import Measurement, Verdict

REPO = Path(__file__).resolve().parents[2]


def exercise_store(url: str) -> dict[str, Any]:
    engine, factory = open_store(url)
    assert record_inspection(factory, make_record(1))
    assert record_inspection(factory, make_record(2, "FAIL"))
    assert not record_inspection(factory, make_record(1, "FAIL"))   # idempotent: kept first
    rows = pending(factory)
    with factory() as s:
        first = s.get(Inspection, f"{1:032x}")
        assert first is not None
        decision = first.decision
    mark_delivered(factory, [rows[0].seq])
    left = [r.inspection_id for r in pending(factory)]
    depth_after = outbox_depth(factory)
    # scan 1 delivered again (a re-sent scan): its first decision goes out once more
    assert not record_inspection(factory, make_record(1, "FAIL"))
    assert not record_inspection(factory, make_record(1, "FAIL"))  # while waiting: no second
    resent = [json.loads(r.payload) for r in pending(factory)
              if r.inspection_id == f"{1:032x}"]
    out = {"pending_ids": [r.inspection_id for r in rows], "decision_1": decision,
           "depth_after": depth_after, "left": left,
           "resent": [(m["inspection_id"], m["decision"]) for m in resent]}
    engine.dispose()
    return out


def test_sqlite_store_round_trip(tmp_path: Path) -> None:
    out = exercise_store(f"sqlite:///{tmp_path / 'a.db'}")
    assert out["pending_ids"] == [f"{1:032x}", f"{2:032x}"]
    assert out["decision_1"] == "PASS"
    assert out["depth_after"] == 1
    assert out["left"] == [f"{2:032x}"]
    assert out["resent"] == [(f"{1:032x}", "PASS")]


def test_the_store_writes_the_typed_message_as_json(tmp_path: Path) -> None:
    """The row's columns come from the message's typed fields; the JSON column and the
    outbox payload are its ``model_dump(mode="json")`` and parse back to the same message."""
    engine, factory = open_store(f"sqlite:///{tmp_path / 't.db'}")
    rec = make_record(4, verdict=Verdict("FAIL", 0.9, 0.5, defect="ball", location_mm=(1.0, -2.0),
                                         measurement=Measurement("ball_diameter", 2.0, 1.5)))
    assert isinstance(rec.result, ResultMessage)
    assert record_inspection(factory, rec)
    (out,) = pending(factory)
    with factory() as s:
        row = s.get(Inspection, rec.inspection_id)
        assert row is not None
        assert (row.decision, row.score, row.defect, row.weld_type, row.part_serial) == \
            ("FAIL", 0.9, "ball", 3, "P4")
        assert row.result == rec.result.model_dump(mode="json")
    assert out.payload == json.dumps(rec.result.model_dump(mode="json"), sort_keys=True)
    assert ResultMessage.model_validate_json(out.payload) == rec.result
    assert Draft202012Validator(result_schema()).is_valid(json.loads(out.payload))
    engine.dispose()


def test_sqlite_is_wal_and_migrations_match_models(tmp_path: Path) -> None:
    engine, _ = open_store(f"sqlite:///{tmp_path / 'b.db'}")
    with engine.connect() as c:
        assert c.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert c.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0003"
    insp = inspect(engine)
    for table in Base.metadata.sorted_tables:
        db_cols = {c["name"] for c in insp.get_columns(table.name)}
        assert db_cols == {c.name for c in table.columns}, table.name
    assert schema_drift(engine) == []
    engine.dispose()
    engine2, _ = open_store(f"sqlite:///{tmp_path / 'b.db'}")     # re-running is a no-op
    engine2.dispose()


def schema_drift(engine: Any) -> list[Any]:
    """What alembic's autogenerate finds between the migrated database and the models."""
    with engine.connect() as c:
        return list(compare_metadata(MigrationContext.configure(c), Base.metadata))


def test_outbox_row_shares_the_inspection_transaction(tmp_path: Path) -> None:
    """A failing outbox insert leaves no inspection row (nor measurement) behind."""
    engine, factory = open_store(f"sqlite:///{tmp_path / 'c.db'}")
    rec = make_record(7)
    rec.measurements = {"bead_width_mm": 6.0}
    rec.topic = None  # type: ignore[assignment]    # NOT NULL violation in the outbox insert
    with pytest.raises(Exception, match="NOT NULL"):
        record_inspection(factory, rec)
    with factory() as s:
        assert s.scalars(select(Inspection)).all() == []
        assert s.scalars(select(OutboxMessage)).all() == []
        assert s.scalars(select(MeasurementRow)).all() == []
    engine.dispose()


def test_artifact_retention_prunes_files_and_rows(tmp_path: Path) -> None:
    engine, factory = open_store(f"sqlite:///{tmp_path / 'd.db'}")
    png = tmp_path / "x.png"
    png.write_bytes(b"png")
    record_inspection(factory, make_record(3, "FAIL", {"heightmap": png}))
    assert prune_artifacts(factory, retention_days=1) == 0
    assert png.exists()
    assert prune_artifacts(factory, retention_days=1e-9) == 1
    assert not png.exists()
    engine.dispose()


GAUGED = {"bead_width_mm": 6.125, "bead_height_mm": 2.05, "bead_length_mm": 41.5,
          "hole_diameter_mm": 0.0, "ball_diameter_mm": math.nan}    # NaN: not kept


def measured(n: int, days_ago: float, figures: dict[str, float]) -> Any:
    """Record ``n`` made ``days_ago`` days ago with the gauge's ``figures``."""
    rec = make_record(n, "FAIL" if n % 2 else "PASS", when=utcnow() - timedelta(days=days_ago))
    rec.measurements = dict(figures)
    return rec


def measurement_rows(factory: sessionmaker[Session]) -> dict[str, dict[str, float]]:
    with factory() as s:
        rows = s.execute(select(MeasurementRow.inspection_id, MeasurementRow.quantity,
                                MeasurementRow.value_mm)).all()
    out: dict[str, dict[str, float]] = {}
    for iid, quantity, value in rows:
        out.setdefault(iid[-1], {})[quantity] = value
    return out


def exercise_measurements(url: str) -> None:
    """Every finite figure becomes a row with its inspection, once; pruning takes them along."""
    engine, factory = open_store(url)
    kept = {k: v for k, v in GAUGED.items() if not math.isnan(v)}
    assert record_inspection(factory, measured(1, 40, GAUGED))
    assert record_inspection(factory, measured(2, 1, {"bead_width_mm": 5.9}))
    assert record_inspection(factory, measured(3, 40, {}))          # could not be measured
    assert not record_inspection(factory, measured(1, 40, {"bead_width_mm": 9.0}))  # a repeat
    assert measurement_rows(factory) == {"1": kept, "2": {"bead_width_mm": 5.9}}
    with factory() as s:
        first = s.get(Inspection, f"{1:032x}")
        assert first is not None
        assert [(m.quantity, m.value_mm) for m in first.measurements] == sorted(kept.items())
    mark_delivered(factory, [p.seq for p in pending(factory)])
    assert prune_inspections(factory, 30) == (2, 2)
    assert measurement_rows(factory) == {"2": {"bead_width_mm": 5.9}}
    engine.dispose()


def test_measurements_are_stored_with_the_inspection_and_pruned_with_it(tmp_path: Path) -> None:
    exercise_measurements(f"sqlite:///{tmp_path / 'g.db'}")


def test_measurement_migration_round_trip(tmp_path: Path) -> None:
    """0002 -> 0003 on a store with inspections; down again drops the table only."""
    url = f"sqlite:///{tmp_path / 'm3.db'}"
    engine = make_engine(url)
    migrate(engine, "0002")
    assert "measurements" not in inspect(engine).get_table_names()
    head, factory = open_store(url)
    record_inspection(factory, measured(1, 0, {"bead_width_mm": 6.0}))
    assert [c["column_names"] for c in inspect(head).get_indexes("measurements")] == [
        ["quantity", "inspection_id"]]
    migrate(engine, "0002", down=True)
    assert "measurements" not in inspect(engine).get_table_names()
    assert count(factory, Inspection) == 1
    migrate(engine)
    assert measurement_rows(factory) == {}
    assert schema_drift(engine) == []
    head.dispose()
    engine.dispose()


def outbox_columns(engine: Any) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns("outbox")}


def test_dead_letter_migration_round_trip_keeps_every_row(tmp_path: Path) -> None:
    """0001 -> 0002 -> 0001 -> 0002 with outbox rows in it: nothing is lost either way."""
    url = f"sqlite:///{tmp_path / 'm.db'}"
    engine = make_engine(url)
    migrate(engine, "0001")
    assert "dead_at" not in outbox_columns(engine)
    with engine.begin() as c:                      # rows written by the 0001 code
        for n in (1, 2, 3):
            c.execute(text("INSERT INTO inspections (id, created_at, scan_name, decision, score,"
                           " threshold, result) VALUES (:i, '2026-01-01', 's', 'PASS', 0.1, 0.5,"
                           " '{}')"), {"i": f"{n:032x}"})
            c.execute(text("INSERT INTO outbox (inspection_id, topic, payload, created_at) "
                           "VALUES (:i, 't', '{}', '2026-01-01')"), {"i": f"{n:032x}"})
    _, factory = open_store(url)                   # upgrades to head
    assert {"dead_at", "dead_reason"} <= outbox_columns(engine)
    assert [p.seq for p in pending(factory)] == [1, 2, 3]
    mark_dead(factory, {2: "too big"})
    assert (outbox_depth(factory), dead_count(factory)) == (2, 1)
    assert [p.seq for p in pending(factory, skip={1})] == [3]
    migrate(engine, "0001", down=True)
    assert "dead_at" not in outbox_columns(engine)
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM outbox")).scalar() == 3
    migrate(engine)
    assert (outbox_depth(factory), dead_count(factory)) == (3, 0)   # dead -> pending again
    engine.dispose()


def test_outbox_cli_lists_and_requeues_all_dead_rows(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'o.db'}"
    engine, factory = open_store(url)
    for n in range(1, 6):
        record_inspection(factory, make_record(n))
    mark_delivered(factory, [1])
    mark_dead(factory, {2: "refused", 4: "refused too"})
    assert cli(["outbox", "--db", url, "list", "--dead"]) == 0
    rows = [ln.split() for ln in capsys.readouterr().out.splitlines()[1:]]
    assert [(r[0], r[2], r[-1]) for r in rows] == [("2", "dead", "refused"), ("4", "dead", "too")]
    assert cli(["outbox", "--db", url, "retry", "--all-dead"]) == 0
    assert capsys.readouterr().out.split() == ["re-queued", "2:", "2", "4"]
    assert [p.seq for p in pending(factory)] == [2, 3, 4, 5]
    assert cli(["outbox", "--db", url, "retry", "--all-dead"]) == 0     # none left
    assert capsys.readouterr().out.split() == ["re-queued", "0:", "-"]
    engine.dispose()


def aged(factory: sessionmaker[Session], folder: Path, n: int, days: float, decision: str,
         delivered: bool | None, outbox_days: float | None = None) -> str:
    """Inspection ``n`` made ``days`` ago; its outbox row delivered (True), pending (None)
    or dead (False), written ``outbox_days`` (default: ``days``) ago."""
    iid = add_inspection(factory, folder, n, utcnow() - timedelta(days=days), decision=decision)
    with factory.begin() as s:
        s.execute(update(OutboxMessage).where(OutboxMessage.inspection_id == iid).values(
            created_at=utcnow() - timedelta(days=days if outbox_days is None else outbox_days)))
    seq = next(r.seq for r in pending(factory) if r.inspection_id == iid)
    if delivered:
        mark_delivered(factory, [seq])
    elif delivered is False:
        mark_dead(factory, {seq: "refused"})
    return iid


def count(factory: sessionmaker[Session], model: Any) -> int:
    with factory() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_inspection_retention_keeps_undelivered_results(tmp_path: Path) -> None:
    engine, factory = open_store(f"sqlite:///{tmp_path / 'r.db'}")
    arts = tmp_path / "artifacts"
    ids = {n: aged(factory, arts, n, days, decision, delivered, outbox_days)
           for n, days, decision, delivered, outbox_days in [
               (1, 40, "PASS", True, None),
               (2, 40, "FAIL", True, None),       # with 2 artifacts and a review
               (3, 40, "FAIL", None, None),       # not delivered yet: kept
               (4, 40, "ERROR", False, None),     # dead, never delivered: kept
               (5, 10, "PASS", True, None),
               (6, 10, "FAIL", True, None),       # with 2 artifacts and a review
               (7, 10, "PASS", True, 40)]}        # young, but its delivered row is old
    add_review(factory, ids[2], "confirmed-defect")
    add_review(factory, ids[6], "false-reject")
    files = {n: [Path(a) for a in _paths(factory, ids[n])] for n in ids}
    assert [len(files[n]) for n in sorted(files)] == [0, 2, 2, 2, 0, 2, 0]
    assert (count(factory, Inspection), count(factory, OutboxMessage)) == (7, 7)

    assert prune_inspections(factory, 30, batch=1) == (2, 3)     # several batches
    with factory() as s:
        left = set(s.scalars(select(Inspection.id)))
        outbox_left = set(s.scalars(select(OutboxMessage.inspection_id)))
    assert left == {ids[n] for n in (3, 4, 5, 6, 7)}
    assert outbox_left == {ids[n] for n in (3, 4, 5, 6)}
    assert count(factory, Review) == 1
    assert count(factory, Artifact) == 6
    assert [p.exists() for n in (2, 3, 4, 6) for p in files[n]] == [False] * 2 + [True] * 6
    assert (outbox_depth(factory), dead_count(factory)) == (1, 1)   # both still there
    assert prune_inspections(factory, 30) == (0, 0)                  # idempotent
    mark_delivered(factory, [next(r.seq for r in pending(factory))])
    assert prune_inspections(factory, 30) == (1, 1)                  # #3 goes once delivered
    assert count(factory, Inspection) == 4
    assert prune_inspections(factory, 50) == (0, 0)
    engine.dispose()


def _paths(factory: sessionmaker[Session], iid: str) -> list[str]:
    with factory() as s:
        return list(s.scalars(select(Artifact.path).where(Artifact.inspection_id == iid)))


def test_the_daemon_applies_the_inspection_retention(
        line_config: Callable[..., Path], tmp_path: Path) -> None:
    config = line_config(store={"inspection_retention_days": 30})
    cfg = load_line_config(config)
    assert cfg.store.inspection_retention_days == 30
    assert load_line_config(REPO / "config" / "line.yaml").store.inspection_retention_days is None
    engine, factory = open_store(cfg.db_url)
    old = aged(factory, tmp_path / "a", 1, 40, "PASS", True)
    young = aged(factory, tmp_path / "a", 2, 5, "PASS", True)
    d = Daemon(cfg, load_deciders(cfg))
    d.start()                                      # prunes at start, then hourly
    try:
        deadline = time.monotonic() + 10
        while count(factory, Inspection) > 1 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        d.stop()
    with factory() as s:
        assert list(s.scalars(select(Inspection.id))) == [young]
    assert old != young
    engine.dispose()


@pytest.mark.postgres
def test_postgres_store_round_trip(pg_database: str) -> None:
    out = exercise_store(pg_database)
    assert out["pending_ids"] == [f"{1:032x}", f"{2:032x}"]
    assert out["decision_1"] == "PASS"
    assert out["left"] == [f"{2:032x}"]
    assert out["resent"] == [(f"{1:032x}", "PASS")]


@pytest.mark.postgres
def test_postgres_keeps_and_prunes_measurements(pg_database: str) -> None:
    exercise_measurements(pg_database)
    engine = make_engine(pg_database)
    assert schema_drift(engine) == []
    engine.dispose()
