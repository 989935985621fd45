"""weld-train commission on a layout the defaults lack (bench/new_layout.py): geometry
learned from good scans, refusals, and a small set end to end (learn, write the entry,
generate, train, validate, publish, serve)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from bench.new_layout import new_weld, scan_name, write_goods
from point_cloud.config import TypesFile, load_yaml_model
from point_cloud.simulator import simulate_weld
from point_cloud.variation import VariationRule
from point_cloud.write import write_scan
from training.commission.learn import CommissionError, learn_geometry
from training.commission.run import CommissionJob, commission, screen_file
from training.commission.survey import ScanSurvey, survey_cloud

REPO = Path(__file__).resolve().parents[2]
TINY = {"val_fraction": 0.34, "input": {"net_mm_per_px": 0.4},
        "classifier": {"backbone": "compact", "width": 8,
                       "optim": {"epochs": 6, "batch_size": 16, "lr": 0.005}},
        "siamese": {"backbone": "compact", "width": 8, "embedding_dim": 16,
                    "gallery_size": 16, "optim": {"epochs": 3, "batch_size": 16, "lr": 0.005}},
        "anomaly": {"bank_size": 128, "max_patches": 10000}}


def _new_weld(seed: int, edit=None):  # type: ignore[no-untyped-def]
    return new_weld(seed, edit, points=300_000)


@pytest.fixture(scope="module")
def goods(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("goods")
    write_goods(folder, 14, points=300_000, progress=False)
    return folder


@pytest.fixture(scope="module")
def surveys(goods: Path) -> list[ScanSurvey]:
    from training.commission.survey import survey_file

    return [survey_file(p) for p in sorted(goods.glob("*.ply"))]


def test_learns_a_new_line_layout_within_tolerance(surveys: list[ScanSurvey]) -> None:
    learned = learn_geometry(surveys, 12, min_scans=10)
    f = learned.figures
    truth = [_new_weld(i).shape for i in range(len(surveys))]
    width, height = np.median([s.drawn_bead(0.15) for s in truth if s], axis=0)
    assert (learned.path, learned.plate) == ("line", "upper")
    assert abs(f["bead_length_mm"].median - 30.0) <= 1.0
    assert abs(f["bead_width_mm"].median - width) <= 0.3
    assert abs(f["bead_height_mm"].median - height) <= 0.1
    assert abs(f["plate_step_mm"].median - 1.5) <= 0.1      # the upper plate's top face
    prof = learned.profile()
    assert prof.weld_type == 12
    assert prof.geometry.plate == "upper"
    assert prof.roi.length_mm >= prof.geometry.bead_length_mm + 9.9


def test_learns_a_raised_patch_and_its_tilt() -> None:
    rule = VariationRule.parse(only=("patch=raised", "tilt=falling", "plates=whole",
                                     "noise=low", "spacing=fine", "size=nominal"))
    sims = [simulate_weld(7, 900 + i, variation=rule) for i in range(6)]
    found = [survey_cloud(s.cloud, f"s{i}") for i, s in enumerate(sims)]
    learned = learn_geometry(found, 7, min_scans=5)
    assert (learned.path, learned.plate) == ("square", "square")
    patch = np.median([s.shape.step_mm for s in sims if s.shape])
    assert abs(learned.figures["plate_step_mm"].median - patch) <= 0.1
    assert abs(learned.figures["square_side_mm"].median - 20.0) <= 1.0
    errors = [abs(f.figures["outer_tilt_deg"] - s.shape.outer_tilt_deg)
              for f, s in zip(found, sims, strict=True) if s.shape]
    assert float(np.median(errors)) <= 1.0


def test_refuses_too_few_other_types_and_other_layouts(surveys: list[ScanSurvey]) -> None:
    with pytest.raises(CommissionError, match="at least 20"):
        learn_geometry(surveys[:5], 12)
    other_type = ScanSurvey("x/P9_W1_t3.ply", 3, "line", (False, False), surveys[0].figures)
    with pytest.raises(CommissionError, match=r"not of weld type 12: x/P9_W1_t3\.ply"):
        learn_geometry([*surveys, other_type], 12, min_scans=5)
    longer = ScanSurvey("x/long.ply", None, "line", (False, True),
                        {**surveys[0].figures, "bead_length_mm": 40.0})
    with pytest.raises(CommissionError, match=r"another layout.*x/long\.ply \(bead_length_mm"):
        learn_geometry([*surveys, longer], 12, min_scans=5)
    square = ScanSurvey("x/square.ply", None, "square", (True, True), surveys[0].figures)
    with pytest.raises(CommissionError, match=r"x/square\.ply \(square path\)"):
        learn_geometry([*surveys, square], 12, min_scans=5)


def test_screen_names_an_obvious_defect(tmp_path: Path, surveys: list[ScanSurvey]) -> None:
    profile = learn_geometry(surveys, 12, min_scans=10).profile()

    def cut(x, y, z):  # type: ignore[no-untyped-def]  # a 4 mm gap through the bead
        gap = np.abs(x - 3.0) < 2.0
        return np.where(gap, np.minimum(z, np.where(y >= 0, 1.5, 0.0)), z), np.ones_like(gap)

    bad = write_scan(_new_weld(77, edit=cut).cloud, tmp_path / scan_name(77))
    good = write_scan(_new_weld(78).cloud, tmp_path / scan_name(78))
    file, why = screen_file((bad, profile))
    assert file == str(bad)
    assert why is not None
    assert "cut" in why
    assert screen_file((good, profile)) == (str(good), None)


def _job(tmp_path: Path, goods: Path, **kw: object) -> CommissionJob:
    types = tmp_path / "weld_types.yaml"
    if not types.exists():
        shutil.copy(REPO / "config" / "weld_types.yaml", types)
    cfg = tmp_path / "tiny.yaml"
    cfg.write_text(yaml.safe_dump(TINY))
    args: dict[str, object] = {"scans": goods, "weld_type": 12, "weld_types": types,
                               "out": tmp_path / "models", "work": tmp_path / "work",
                               "min_scans": 10, "train_config": cfg, "per_good": 2,
                               "val_every": 4}
    args.update(kw)
    return CommissionJob(**args)  # type: ignore[arg-type]


def test_a_capture_failure_is_refused_and_nothing_is_written(tmp_path: Path,
                                                             goods: Path) -> None:
    folder = tmp_path / "goods"
    shutil.copytree(goods, folder)
    pts = np.random.default_rng(0).uniform(-5, 5, (400, 3)).astype(np.float32)
    np.save(folder / "P99999_W1_t12.npy", pts)
    job = _job(tmp_path, folder)
    before = job.weld_types.read_bytes()
    with pytest.raises(CommissionError, match=r"P99999_W1_t12\.npy: TooFewPoints"):
        commission(job)
    assert job.weld_types.read_bytes() == before
    assert not (tmp_path / "models" / "type12").exists()


def test_commission_end_to_end_then_the_line_serves_type_12(tmp_path: Path,
                                                            goods: Path) -> None:
    from inspector.config import load_line_config
    from inspector.inspection import inspect_scan
    from inspector.service.deciders import load_bundle_deciders

    job = _job(tmp_path, goods)
    res = commission(job)
    assert res.change.action == "added"
    assert "+  - weld_type: 12" in res.change.diff
    entry = load_yaml_model(job.weld_types, TypesFile)
    prof = next(t for t in entry.types if t.weld_type == 12)
    assert prof.geometry.plate == "upper"
    assert abs(prof.geometry.bead_length_mm - 30) <= 1
    assert (res.bundle / "model.json").is_file()
    assert res.bundle == job.out / "type12"
    for name in ("commission.md", "geometry.png", "sources.png", "defects.png"):
        assert (res.bundle / "commission" / name).stat().st_size > 500
    text = (res.bundle / "commission" / "commission.md").read_text()
    assert "## Validation on held-back scans" in text
    assert "| cut |" in text
    assert 3 <= len(list((job.work / "sources" / "validation").glob("*.ply"))) <= 4

    line = tmp_path / "line.yaml"
    line.write_text(yaml.safe_dump({"db_url": f"sqlite:///{tmp_path / 'i.db'}",
                                    "weld_types": str(job.weld_types),
                                    "models": {"dir": str(job.out), "types": None}}))
    cfg = load_line_config(line)
    deciders = load_bundle_deciders(cfg)
    assert 12 in deciders
    scan = write_scan(_new_weld(500).cloud, tmp_path / scan_name(500))
    result = inspect_scan(scan, deciders, types_file=cfg.weld_types_file)
    assert result.identity is not None
    assert result.identity.weld_type == 12
    assert str(result.verdict.decision) in ("PASS", "FAIL")
    assert result.heightmap is not None
    assert result.heightmap.shape == prof.roi.shape_px
    _the_daemon_serves_type_12(tmp_path, job)


def _the_daemon_serves_type_12(tmp_path: Path, job: CommissionJob) -> None:
    """``inspector run`` (a real process, a real mosquitto on loopback) with a line config
    that names only the weld-types file and the models folder: a type-12 scan dropped in
    the spool gets its decision over MQTT and its row in SQLite."""
    import os
    import signal
    import subprocess

    from broker import Broker, Subscriber
    from sqlalchemy import create_engine, text

    from inspector.demo.scanner import deliver_scan

    broker = Broker(tmp_path / "broker")
    broker.start()
    db = tmp_path / "daemon.db"
    line = tmp_path / "line-daemon.yaml"
    line.write_text(yaml.safe_dump({
        "line": "L1", "station": "S1", "db_url": f"sqlite:///{db}",
        "weld_types": str(job.weld_types),
        "models": {"dir": str(job.out), "types": None},
        "spool": {"dir": str(tmp_path / "spool"), "poll_s": 0.05},
        "mqtt": {"host": "127.0.0.1", "port": broker.port, "prefix": "welds"},
        "artifacts": {"dir": str(tmp_path / "artifacts")}}))
    sub = Subscriber(broker.port, ["welds/L1/S1/#"], client_id="commission-subscriber")
    exe = Path(os.environ.get("VIRTUAL_ENV", REPO / ".venv")) / "bin" / "inspector"
    cmd = [str(exe)] if exe.exists() else ["python", "-m", "inspector.cli"]
    log = tmp_path / "daemon.log"
    with log.open("ab") as out:
        proc = subprocess.Popen([*cmd, "run", "--config", str(line)], stdout=out,
                                stderr=subprocess.STDOUT, cwd=REPO)
    try:
        deliver_scan(_new_weld(501).cloud, tmp_path / "spool", scan_name(501))
        assert sub.wait_for(lambda s: len(s.results()) >= 1, 120), log.read_text()[-3000:]
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
        code = proc.wait(60)
        sub.close()
        broker.stop()
    assert code == 0, log.read_text()[-3000:]
    msg = sub.results()[0]
    assert msg["weld_type"] == 12
    assert msg["decision"] in ("PASS", "FAIL")
    assert msg["bundle_version"].startswith("t12-")
    with create_engine(f"sqlite:///{db}").connect() as conn:
        rows = conn.execute(text("SELECT weld_type, decision FROM inspections")).all()
    assert [(r[0], r[1]) for r in rows] == [(12, msg["decision"])]


def test_reviewed_welds_join_the_training_set(tmp_path: Path, goods: Path) -> None:
    """``--reviewed``: an export's good maps become generator sources, its bad samples are
    added to the training set as they are (here: a first commissioning's validation set
    stands in for ``inspector review export``, the same dataset format)."""
    from synth_defects.dataset import read_card, read_dataset

    first = commission(_job(tmp_path, goods))
    export = tmp_path / "work" / "data-validation"
    records = read_dataset(export).records
    n_good = sum(r["label"] == "good" for r in records)
    n_bad = len(records) - n_good
    job = _job(tmp_path, goods, reviewed=export, work=tmp_path / "work2")
    second = commission(job)
    train = job.work / "data-train"
    assert len(list((job.work / "sources" / "train").glob("reviewed-*.png"))) == n_good
    assert read_card(train)["reviewed_bad"] == n_bad
    assert len(read_dataset(train).records) > len(
        read_dataset(tmp_path / "work" / "data-train").records) + n_bad
    assert first.change.action == "added"
    assert second.change.action in ("updated", "unchanged")


def test_a_defective_scan_is_refused_or_left_out_with_drop_bad(tmp_path: Path,
                                                                goods: Path) -> None:
    folder = tmp_path / "goods"
    shutil.copytree(goods, folder)

    def hole(x, y, z):  # type: ignore[no-untyped-def]  # a 2.5 mm pit through the bead top
        pit = np.hypot(x - 4.0, y) < 1.25
        return np.where(pit, z - 1.5, z), np.ones_like(pit)

    bad = write_scan(_new_weld(66, edit=hole).cloud, folder / scan_name(66))
    job = _job(tmp_path, folder)
    with pytest.raises(CommissionError, match=rf"{bad.name}: norm gauge: hole"):
        commission(job)
    assert not (tmp_path / "models" / "type12").exists()
    res = commission(_job(tmp_path, folder, drop_bad=True))
    assert list(res.learned.dropped) == [str(bad)]
    assert bad.name in (res.bundle / "commission" / "commission.md").read_text()


def test_every_path_shape_has_a_commissioning_strategy_naming_registered_kinds() -> None:
    from point_cloud.kinds import PATHS, kind_names
    from training.commission.paths import SURVEYS

    assert set(SURVEYS) == set(PATHS)
    line = SURVEYS["line"]

    def scan(step: float, seen: bool) -> ScanSurvey:
        return ScanSurvey("f", 3, "line", (seen, seen), {"plate_step_mm": step})

    kinds = [line.plate_kind([scan(step, seen)] * 3) for step, seen in
             ((1.5, True), (0.0, True), (0.0, False))]
    assert kinds == ["upper", "lower", "isolated"]
    assert SURVEYS["square"].plate_kind([]) == "square"
    assert set(kinds) | {"square"} == set(kind_names())
