"""``inspector review`` and ``inspector inspect`` round-trip through a real daemon's DB."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
from broker import Broker, Subscriber
from daemon_helpers import write_scan

from inspector.cli import main as cli
from inspector.config import load_line_config
from inspector.service.daemon import Daemon
from inspector.service.deciders import load_deciders
from point_cloud.config import weld_type_profile
from point_cloud.heightmap_io import read_heightmap
from synth_defects.dataset import RECORD_FIELDS, fingerprint, read_dataset


@pytest.fixture
def processed(line_config: Callable[..., Path], broker: Broker) -> Path:
    """A line whose daemon inspected one good and two lumpy welds."""
    config = line_config()
    cfg = load_line_config(config)
    sub = Subscriber(broker.port, ["welds/L1/S1/result"], client_id="review-sub")
    d = Daemon(cfg, load_deciders(cfg))
    d.start()
    write_scan(cfg.spool.dir, 21, serial="RGOOD")
    write_scan(cfg.spool.dir, 22, serial="RBAD1", ball=True)
    write_scan(cfg.spool.dir, 23, serial="RBAD2", ball=True)
    assert sub.wait_for(lambda s: len(s.results()) >= 3, 60)
    d.stop()
    sub.close()
    return config


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = cli(list(args))
    return code, capsys.readouterr().out


def test_review_list_show_verdict_export_round_trip(
        processed: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    base = ["review", "--config", str(processed)]
    code, out = run(capsys, *base, "list", "--decision", "fail")
    assert code == 0
    lines = out.strip().splitlines()[1:]
    assert len(lines) == 2
    assert all("FAIL" in line and "ball" in line for line in lines)
    first_id = lines[0].split()[0]
    code, out = run(capsys, *base, "list", "--since", "1h", "--type", "3")
    assert len(out.strip().splitlines()) == 4
    code, out = run(capsys, *base, "show", first_id)
    assert code == 0
    overlay = Path(next(line.split()[1] for line in out.splitlines()
                        if line.startswith("overlay")))
    img = cv2.imread(str(overlay))
    assert img is not None
    assert img.shape[2] == 3
    assert int((img[..., 2].astype(int) - img[..., 0]).max()) > 100   # red ring/heat present
    code, out = run(capsys, *base, "verdict", first_id, "false-reject", "--note", "ok bead")
    assert code == 0
    code, out = run(capsys, *base, "list", "--decision", "FAIL", "--unreviewed")
    assert first_id not in out
    assert len(out.strip().splitlines()) == 2
    code, out = run(capsys, *base, "show", first_id)
    assert "false-reject" in out
    assert "ok bead" in out
    assert run(capsys, *base, "verdict", "ffff", "false-reject")[0] == 2   # unknown id

    ds = tmp_path / "ds"
    code, out = run(capsys, *base, "export", "--verdict", "false-reject", "--out", str(ds))
    assert code == 0
    dataset = read_dataset(ds)                       # the reader weld-train uses
    (rec,) = dataset.records
    assert (rec["label"], rec["defect"], rec["weld_type"]) == ("good", "none", 3)
    assert set(rec) == set(RECORD_FIELDS)
    assert rec["source"].startswith(first_id)
    assert dataset.card["fingerprint"] == fingerprint((ds / "manifest.jsonl").read_text())
    hm = read_heightmap(ds / rec["path"])
    assert hm.shape == weld_type_profile(3).roi.shape_px
    assert hm.valid.sum() > 1000
    mask = cv2.imread(str(ds / rec["mask"]), cv2.IMREAD_UNCHANGED)
    assert mask is not None
    assert mask.shape == hm.shape
    assert not mask.any()
    assert dataset.card["format"] == "weld-dataset/1"



def test_inspect_command_prints_the_decision(
        line_config: Callable[..., Path], capsys: pytest.CaptureFixture[str],
        tmp_path: Path) -> None:
    config = line_config()
    bad = write_scan(tmp_path / "scans", 31, serial="CLI1", ball=True)
    code, out = run(capsys, "inspect", str(bad), "--config", str(config))
    assert code == 1
    assert out.startswith("FAIL")
    assert "defect ball" in out
    good = write_scan(tmp_path / "scans", 32, serial="CLI2")
    code, out = run(capsys, "inspect", str(good), "--config", str(config), "--json")
    assert code == 0
    msg = json.loads(out)
    assert (msg["decision"], msg["part_serial"], msg["weld_type"]) == ("PASS", "CLI2", 3)
    anon = good.with_name("capture.npy")
    np.save(anon, np.load(good))
    assert run(capsys, "inspect", str(anon), "--config", str(config))[0] == 3   # no identity
    code, out = run(capsys, "inspect", str(anon), "--config", str(config), "--type", "3")
    assert code == 0
