"""synth-defects generate / preview / stats: dataset contract, determinism, resume, errors."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from point_cloud import measure
from point_cloud.config import weld_type_profile
from point_cloud.heightmap_io import read_heightmap, write_heightmap
from synth_defects.classes import ALL_CLASSES, GOOD_CLASSES, label_of
from synth_defects.cli import main
from synth_defects.dataset import RECORD_FIELDS, read_dataset
from synth_defects.generate import GenerateConfig, generate_dataset

ARGS = ["generate", "--simulate", "1", "--types", "3,7", "--per-good", "8", "--seed", "5"]


def _digests(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ds") / "d"
    assert main([*ARGS, "--out", str(out)]) == 0
    return out


def test_dataset_follows_the_contract(dataset):
    card = json.loads((dataset / "dataset.json").read_text())
    assert card["format"] == "weld-dataset/1"
    assert card["config"]["types"] == [3, 7]
    assert card["config"]["seed"] == 5
    text = (dataset / "manifest.jsonl").read_text()
    assert card["fingerprint"] == hashlib.sha256(text.encode()).hexdigest()
    recs = [json.loads(line) for line in text.splitlines()]
    assert [r["id"] for r in recs] == sorted(r["id"] for r in recs)
    assert len({r["id"] for r in recs}) == len(recs) == 32
    for r in recs:
        assert set(RECORD_FIELDS) <= set(r)
        assert r["defect"] in ALL_CLASSES
        assert r["label"] == label_of(r["defect"])
        assert r["path"] == f"{r['weld_type']}/{r['label']}/{r['defect']}/{r['id']}.png"
        hm = read_heightmap(dataset / r["path"])
        assert hm.shape == weld_type_profile(r["weld_type"]).roi.shape_px
        mask = cv2.imread(str(dataset / r["mask"]), cv2.IMREAD_UNCHANGED)
        assert mask.dtype == np.uint8
        assert mask.shape == hm.shape
        assert set(np.unique(mask)) <= {0, 255}
        assert (mask.any()) == (r["defect"] != "none")
    # every class of the 8 bad ones appears once per source; goods balance the bads 1:1
    for t in (3, 7):
        mine = [r for r in recs if r["weld_type"] == t]
        labels = [r["label"] for r in mine]
        assert labels.count("bad") == labels.count("good") == 8
        assert len({r["split_key"] for r in mine}) == 1


def test_every_second_augmented_good_is_an_acceptable_imperfection():
    """The good slots of a source: the plain source, then augmented goods where every
    second one is an acceptable imperfection, the ``*_ok`` classes in turn across sources."""
    from synth_defects.generate import GenerateConfig, plan_variants
    from synth_defects.sources import Source

    cfg = GenerateConfig(types=(3,), per_good=6, seed=1, simulate=5)
    ok = [c for c in GOOD_CLASSES if c != "none"]
    seen: list[str] = []
    for i in range(5):
        kinds = [v.defect for v in plan_variants(cfg, Source(f"s{i}", 3, i))]
        goods = [k for k in kinds if k in GOOD_CLASSES]
        assert len(goods) == 6
        assert goods[0] == "none"
        assert goods[1::2] == [k for k in goods if k != "none"]
        assert all(k in ok for k in goods[1::2])
        seen += goods[1::2]
    assert set(seen) == set(ok)


def test_generated_good_maps_have_a_continuous_bead(dataset):
    ds = read_dataset(dataset)
    goods = [r for r in ds.records if r["label"] == "good"]
    assert goods
    for r in goods:
        prof = weld_type_profile(r["weld_type"])
        cont = measure.bead_continuity(ds.load_map(r), prof)
        limit = prof.limits.cut_ok_mm if r["defect"] == "cut_ok" else 0.4
        assert cont.longest_gap_mm <= limit, r["id"]
        assert cont.present_fraction > 0.95, r["id"]


def test_bad_cuts_in_the_dataset_measure_beyond_the_limit(dataset):
    ds = read_dataset(dataset)
    cuts = [r for r in ds.records if r["defect"] == "cut"]
    assert cuts
    for r in cuts:
        prof = weld_type_profile(r["weld_type"])
        cont = measure.bead_continuity(ds.load_map(r), prof)
        assert cont.longest_gap_mm >= prof.limits.cut_reject_mm


def test_same_seed_same_bytes_with_any_worker_count(dataset, tmp_path):
    other = tmp_path / "w2"
    assert main([*ARGS, "--out", str(other), "--workers", "2"]) == 0
    assert _digests(other) == _digests(dataset)


def test_an_interrupted_run_is_finished_by_running_again(dataset, tmp_path):
    out = tmp_path / "resume"
    assert main([*ARGS, "--out", str(out)]) == 0
    full = _digests(out)
    victims = sorted(out.glob("7/bad/*/*.json"))[:3]
    for v in victims:  # as if killed while writing these samples
        v.unlink()
    (out / "manifest.jsonl").unlink()
    kept = {p: p.stat().st_mtime_ns for p in out.glob("3/good/none/*.png")}
    cfg = GenerateConfig(types=(3, 7), per_good=8, seed=5, simulate=1)
    summary = generate_dataset(cfg, out, progress=False)
    assert summary.written == 3
    assert summary.kept == 29
    assert _digests(out) == full
    assert all(p.stat().st_mtime_ns == t for p, t in kept.items())


def test_a_different_config_does_not_overwrite(dataset, capsys):
    assert main(["generate", "--simulate", "1", "--types", "3", "--per-good", "8", "--seed", "6",
                 "--out", str(dataset)]) == 2
    err = capsys.readouterr().err
    assert "dataset.json" in err
    assert "seed" in err
    assert "types" in err


def test_generate_from_height_maps(dataset, tmp_path):
    src = tmp_path / "maps"
    ds = read_dataset(dataset)
    plain = [r for r in ds.records if r["id"].endswith("-none-00")]
    for r in plain:
        write_heightmap(ds.load_map(r), src / f"{r['id']}.png")
    out = tmp_path / "from"
    assert main(["generate", "--from", str(src), "--types", "3,7", "--per-good", "2",
                 "--defects", "cut,ball,cut_ok", "--balance", "1:2", "--seed", "1",
                 "--out", str(out)]) == 0
    recs = read_dataset(out).records
    assert {r["defect"] for r in recs} == {"none", "cut", "ball"}
    assert {r["source"] for r in recs} == {r["id"] for r in plain}
    assert sum(r["label"] == "bad" for r in recs) == 4
    assert len(recs) == 6


@pytest.mark.parametrize(("args", "message"), [
    (["--types", "3,6"], "weld types from 2, 3"),
    (["--types", "3", "--defects", "cut,crack"], "crack"),
    (["--types", "3", "--balance", "1-2"], "GOOD:BAD"),
])
def test_bad_requests_are_refused_with_a_clear_message(tmp_path, capsys, args, message):
    argv = ["generate", "--simulate", "1", "--per-good", "2", "--seed", "1",
            "--out", str(tmp_path / "x"), *args]
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_empty_or_unreadable_input_is_refused(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    base = ["generate", "--types", "3", "--per-good", "2", "--seed", "1", "--out"]
    assert main([*base, str(tmp_path / "o1"), "--from", str(empty)]) == 2
    assert f"{empty}: expected height maps" in capsys.readouterr().err
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "P1_W1_t3.png").write_bytes(b"not a png")
    (broken / "P1_W1_t3.json").write_text(json.dumps({"format": "weld-heightmap/1",
                                                      "identity": {"weld_type": 3}}))
    assert main([*base, str(tmp_path / "o2"), "--from", str(broken)]) == 2
    assert "P1_W1_t3" in capsys.readouterr().err


def test_stats_and_preview(dataset, tmp_path, capsys):
    assert main(["stats", str(dataset)]) == 0
    out = capsys.readouterr().out
    row3 = next(line.split() for line in out.splitlines() if line.split()[:1] == ["3"])
    head = next(line.split() for line in out.splitlines() if line.split()[:1] == ["type"])
    counts = dict(zip(head, row3, strict=True))
    assert counts["good"] == "8"
    assert counts["bad"] == "8"
    assert counts["cut"] == "1"
    sheet = tmp_path / "sheet.png"
    assert main(["preview", str(dataset), "--out", str(sheet)]) == 0
    img = cv2.imread(str(sheet))
    assert img.shape[0] >= 2 * 100
    assert img.shape[1] >= len(ALL_CLASSES) * 200


def test_generate_from_scan_files(tmp_path):
    pytest.importorskip("point_cloud.pipeline", reason="needs point_cloud.pipeline (helper B)")
    from point_cloud.simulator import simulate_weld
    from point_cloud.write import write_scan

    src = tmp_path / "scans"
    for seed in (1, 2):
        cloud = simulate_weld(3, seed, points=300_000).cloud
        write_scan(cloud, src / f"{cloud.identity.stem()}.npy")
    out = tmp_path / "out"
    assert main(["generate", "--from", str(src), "--types", "3", "--per-good", "2",
                 "--defects", "cut", "--seed", "1", "--out", str(out)]) == 0
    recs = read_dataset(out).records
    assert len({r["split_key"] for r in recs}) == 2
    ds = read_dataset(out)
    for r in recs:
        cont = measure.bead_continuity(ds.load_map(r), weld_type_profile(3))
        assert (cont.longest_gap_mm >= 2.0) == (r["defect"] == "cut")
