"""The store: migrations, the inspection + outbox transaction, ordering, SQLite WAL, PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from factories import make_record
from sqlalchemy import inspect, select, text

from inspector.store import Inspection, OutboxMessage, open_store
from inspector.store.models import Base
from inspector.store.outbox import (
    mark_delivered,
    outbox_depth,
    pending,
    prune_artifacts,
    record_inspection,
)


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
    out = {"pending_ids": [r.inspection_id for r in rows], "decision_1": decision,
           "depth_after": outbox_depth(factory), "left": left}
    engine.dispose()
    return out


def test_sqlite_store_round_trip(tmp_path: Path) -> None:
    out = exercise_store(f"sqlite:///{tmp_path / 'a.db'}")
    assert out["pending_ids"] == [f"{1:032x}", f"{2:032x}"]
    assert out["decision_1"] == "PASS"
    assert out["depth_after"] == 1
    assert out["left"] == [f"{2:032x}"]


def test_sqlite_is_wal_and_migrations_match_models(tmp_path: Path) -> None:
    engine, _ = open_store(f"sqlite:///{tmp_path / 'b.db'}")
    with engine.connect() as c:
        assert c.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert c.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0001"
    insp = inspect(engine)
    for table in Base.metadata.sorted_tables:
        db_cols = {c["name"] for c in insp.get_columns(table.name)}
        assert db_cols == {c.name for c in table.columns}, table.name
    engine.dispose()
    engine2, _ = open_store(f"sqlite:///{tmp_path / 'b.db'}")     # re-running is a no-op
    engine2.dispose()


def test_outbox_row_shares_the_inspection_transaction(tmp_path: Path) -> None:
    """A failing outbox insert leaves no inspection row behind."""
    engine, factory = open_store(f"sqlite:///{tmp_path / 'c.db'}")
    rec = make_record(7)
    rec.topic = None  # type: ignore[assignment]    # NOT NULL violation in the outbox insert
    with pytest.raises(Exception, match="NOT NULL"):
        record_inspection(factory, rec)
    with factory() as s:
        assert s.scalars(select(Inspection)).all() == []
        assert s.scalars(select(OutboxMessage)).all() == []
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


@pytest.mark.postgres
def test_postgres_store_round_trip(pg_database: str) -> None:
    out = exercise_store(pg_database)
    assert out["pending_ids"] == [f"{1:032x}", f"{2:032x}"]
    assert out["decision_1"] == "PASS"
    assert out["left"] == [f"{2:032x}"]
