"""The spool: claims, recovery, done/quarantine moves and trigger validation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inspector.service.intake import Spool
from inspector.service.triggers import TriggerError
from point_cloud.types import ScanIdentity


def trigger(file: str, **kw: object) -> bytes:
    msg = {"file": file, "weld_id": "W1", "weld_type": 3, "part_serial": "P1", **kw}
    return json.dumps(msg).encode()


@pytest.fixture
def spool(tmp_path: Path) -> Spool:
    return Spool(tmp_path / "spool")


def test_watcher_ignores_partial_files_and_sidecars(spool: Spool) -> None:
    (spool.root / "a_W1_t3.npy.tmp").write_bytes(b"x")
    (spool.root / "a_W1_t3.json").write_text("{}")
    (spool.root / "b_W1_t3.npy").write_bytes(b"y")
    assert [p.name for p in spool.ready()] == ["b_W1_t3.npy"]


def test_claim_moves_scan_and_sidecar_and_is_exclusive(spool: Spool) -> None:
    scan = spool.root / "b_W1_t3.npy"
    scan.write_bytes(b"y" * 100)
    (spool.root / "b_W1_t3.json").write_text('{"weld_type": 3}')
    job = spool.claim(scan)
    assert job is not None
    assert job.path == spool.root / "work" / "b_W1_t3.npy"
    assert (spool.root / "work" / "b_W1_t3.json").is_file()
    assert spool.claim(scan) is None                       # already taken
    assert spool.recover(job.path).inspection_id == job.inspection_id
    done = spool.finish(job)
    assert done.parent.name == "done"
    assert (done.parent / "b_W1_t3.json").is_file()
    assert list((spool.root / "work").iterdir()) == []


def test_trigger_identity_survives_a_crash_and_changes_the_key(spool: Spool) -> None:
    scan = spool.root / "sub" / "scan1.npy"
    scan.parent.mkdir()
    scan.write_bytes(b"z" * 10)
    path, ident = spool.resolve_trigger(trigger("sub/scan1.npy"))
    assert ident == ScanIdentity("P1", "W1", 3)
    job = spool.claim(path, ident, source="trigger")
    assert job is not None
    again = spool.recover(job.path)
    assert again.identity == ident
    assert again.inspection_id == job.inspection_id
    plain = spool.root / "scan1.npy"
    plain.write_bytes(b"z" * 10)
    other = spool.claim(plain)
    assert other is not None
    assert other.inspection_id != job.inspection_id


def test_marks_a_crash_left_behind_a_finished_scan_are_removed_at_start(spool: Spool) -> None:
    # killed between moving a finished scan to done/ and removing its marks: the in-flight
    # count stayed alone in work/ for ever (seen once in test_daemon_process's SIGKILL run)
    work = spool.root / "work"
    live = work / "c_W1_t3.npy"
    live.write_bytes(b"y")
    (work / "c_W1_t3.npy.inflight.json").write_text("1")
    (work / "c_W1_t3.json").write_text("{}")                    # a live scan's sidecar
    (work / "d_W1_t3.npy.inflight.json").write_text("1")        # its scan already done
    (work / "e_W1_t3.npy.trigger.json").write_text("{}")
    assert spool.in_work() == [live]
    assert sorted(p.name for p in work.iterdir()) == [
        "c_W1_t3.json", "c_W1_t3.npy", "c_W1_t3.npy.inflight.json"]


def test_quarantine_writes_a_reason_file(spool: Spool) -> None:
    scan = spool.root / "bad_W1_t3.npy"
    scan.write_bytes(b"\x00")
    job = spool.claim(scan)
    assert job is not None
    dest = spool.quarantine(job, {"reason": "corrupt", "message": "x: y: expected z"})
    reason = json.loads(dest.with_name(dest.name + ".reason.json").read_text())
    assert dest.parent.name == "quarantine"
    assert reason["reason"] == "corrupt"
    assert reason["inspection_id"] == job.inspection_id


@pytest.mark.parametrize(("file", "code"), [
    ("../../etc/passwd", "path_escapes_spool"),
    ("/etc/passwd", "path_escapes_spool"),
    ("sub/../../outside.npy", "path_escapes_spool"),
    ("done/old.npy", "bad_path"),
    ("missing.npy", "not_found"),
])
def test_trigger_paths_outside_the_spool_are_rejected(spool: Spool, file: str, code: str) -> None:
    (spool.root / "done" / "old.npy").write_bytes(b"1")
    (spool.root.parent / "outside.npy").write_bytes(b"1")
    with pytest.raises(TriggerError) as err:
        spool.resolve_trigger(trigger(file))
    assert err.value.reason == code
    assert file.split("/")[-1] in str(err.value) or code == "bad_path"


def test_trigger_symlink_escaping_the_spool_is_rejected(spool: Spool, tmp_path: Path) -> None:
    (tmp_path / "secret.npy").write_bytes(b"1")
    (spool.root / "link.npy").symlink_to(tmp_path / "secret.npy")
    with pytest.raises(TriggerError, match="path_escapes_spool"):
        spool.resolve_trigger(trigger("link.npy"))


@pytest.mark.parametrize(("payload", "code"), [
    (b"not json", "bad_json"),
    (b"[1, 2]", "bad_json"),
    (json.dumps({"file": "a.npy"}).encode(), "missing_field"),
    (trigger("a.npy", weld_type=0), "bad_identity"),
    (trigger("a.npy", weld_type=10_000), "bad_identity"),
    (trigger("a.npy", weld_type="3"), "bad_identity"),
    (trigger("a.npy", part_serial="has_underscore"), "bad_identity"),
])
def test_malformed_triggers_are_rejected(spool: Spool, payload: bytes, code: str) -> None:
    (spool.root / "a.npy").write_bytes(b"1")
    with pytest.raises(TriggerError) as err:
        spool.resolve_trigger(payload)
    assert err.value.reason == code
