"""Dataset -> three members -> calibration -> ONNX bundle -> committee decisions."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from inspector.decision.bundle import BundleError
from inspector.decision.committee import Committee
from inspector.decision.gauge import GaugeReport, gauge_weld, vote
from inspector.decision.model_input import model_input
from point_cloud.config import weld_type_profile
from point_cloud.heightmap_io import read_heightmap
from tests.training.conftest import tiny_config
from training.data import read_dataset
from training.metrics import auroc, rates

pytestmark = [pytest.mark.slow, pytest.mark.train]


def test_bundle_files_and_card(bundle: Path) -> None:
    card = json.loads((bundle / "model.json").read_text())
    assert {p.name for p in bundle.iterdir()} >= {"model.json", "classifier.onnx",
                                                   "siamese.onnx", "anomaly.onnx", "gallery.npy"}
    assert card["weld_type"] == 3
    assert (card["input"]["rows"], card["input"]["cols"]) == (80, 250)
    assert len(card["training"]["fingerprint"]) == 64
    assert set(card["committee"]["members"]) == {"classifier", "siamese", "anomaly", "gauge"}
    assert card["members"]["gauge"]["file"] is None          # measured at run time
    for name, m in card["members"].items():
        assert 0.0 <= m["metrics"]["val"]["false_accept"] <= 1.0
        if name != "gauge":
            assert m["metrics"]["onnx_parity_max_abs"] <= 1e-4
    # On validation the operating point lets at most the target share of bad welds pass the
    # line's decision (the committee calibrated with the norm gauge's votes, the default).
    metrics = card["committee"]["metrics"]
    assert set(metrics["gauge_votes"]) == {"bad", "good"}
    line = metrics["val_line"]
    assert line["false_accept"] <= card["committee"]["target_false_accept"] + 1e-12
    assert line["threshold"] == card["committee"]["threshold"]
    assert card["versions"]["onnxruntime"] != "absent"


def test_committee_separates_held_out_welds(bundle: Path, easy_testset: Path) -> None:
    ds = read_dataset(easy_testset)
    maps = [read_heightmap(ds.root / r["path"]) for r in ds.records]
    bad = np.array([r["label"] == "bad" for r in ds.records])
    com = Committee.from_bundle(bundle)
    prof = weld_type_profile(3)
    s = com.score_maps(maps, [gauge_weld(m, prof) for m in maps])
    assert auroc(s.score, bad) >= 0.95
    far, frr = rates(s.score, bad, com.card.committee.threshold)
    assert far <= 0.15, (far, frr)
    # The obvious failures never pass.
    for i, r in enumerate(ds.records):
        if r["defect"] in ("no_weld", "capture_failure"):
            assert s.score[i] >= com.card.committee.threshold, r["id"]


def test_decide_returns_full_verdict(bundle: Path, easy_testset: Path) -> None:
    ds = read_dataset(easy_testset)
    com = Committee.from_bundle(bundle)
    rec = next(r for r in ds.records if r["defect"] == "cut")
    hm = read_heightmap(ds.root / rec["path"])
    v = com.decide(hm)
    assert v.decision == "FAIL"
    assert v.defect in com.card.bad_classes
    assert v.reason is None
    assert set(v.member_scores) == {"classifier", "siamese", "anomaly", "gauge"}
    assert all(0.0 <= p <= 1.0 for p in v.member_scores.values())
    assert abs(sum(v.defect_probs.values()) - 1.0) < 1e-4
    assert v.anomaly_map is not None
    assert v.anomaly_map.shape == hm.shape
    # The anomaly peak (location in mm) lies within 2 mm of the generator's cut mask.
    assert v.location_mm is not None
    mask = cv2.imread(str(ds.root / rec["mask"]), cv2.IMREAD_UNCHANGED) > 0
    mx, my = hm.xy_of(*np.nonzero(mask))
    x, y = v.location_mm
    assert float(np.min(np.hypot(mx - x, my - y))) <= 2.0
    assert v.bundle_version == com.card.bundle_version


def test_the_gauge_member_weighs_the_maps_gauge_report(bundle: Path,
                                                     easy_testset: Path) -> None:
    """The committee scores the gauge's margin: the report the line passes in, or one it
    measures itself; a batch scored without it is refused, not scored as a 0 margin."""
    ds = read_dataset(easy_testset)
    com = Committee.from_bundle(bundle)
    assert com.needs_gauge
    prof = weld_type_profile(3)
    rec = next(r for r in ds.records if r["defect"] == "cut")
    hm = read_heightmap(ds.root / rec["path"])
    report = gauge_weld(hm, prof)
    given, measured = com.decide(hm, report), com.decide(hm)
    assert given.score == measured.score
    # the margin moves the score: a report at the limit scores otherwise than this one
    at_limit = GaugeReport({}, None)
    assert at_limit.margin == 0.0 != report.margin
    assert com.decide(hm, at_limit).score != given.score
    feed = model_input([hm], com.spec)
    with pytest.raises(BundleError, match="gauge"):
        com.score_arrays(feed["z"], feed["valid"])


def test_cli_evaluate_writes_report(easy_testset: Path, bundle: Path, tmp_path: Path) -> None:
    from training.cli import main

    report = tmp_path / "report"
    assert main(["evaluate", "--models", str(bundle.parent), "--data", str(easy_testset),
                 "--report", str(report), "--types", "all"]) == 0
    text = (report / "report.md").read_text()
    assert "| committee |" in text
    assert "| gauge |" in text                                # the gauge member's own row
    assert "0.285" in text            # the study's figure in the comparison table
    assert list(report.glob("*.png"))
    card = json.loads((bundle / "model.json").read_text())
    assert card["test_metrics"]["fingerprint"] == read_dataset(easy_testset).fingerprint
    assert card["test_metrics"]["committee"]["auroc"] >= 0.95
    # every map's decision, and the wrong ones counted as the figures count them
    with (report / "type3_decisions.csv").open() as f:
        rows = list(csv.DictReader(f))
    ds = read_dataset(easy_testset)
    assert sorted(r["id"] for r in rows) == sorted(r["id"] for r in ds.of_type(3))
    line = card["test_metrics"]["committee + gauge"]
    n_bad = sum(r["label"] == "bad" for r in rows)
    assert line["n_bad"] == n_bad
    assert line["n_good"] == len(rows) - n_bad
    accepted = [r["id"] for r in rows if r["outcome"] == "false accept"]
    rejected = [r["id"] for r in rows if r["outcome"] == "false reject"]
    assert len(accepted) == round(line["false_accept"] * n_bad)
    assert len(rejected) == round(line["false_reject"] * (len(rows) - n_bad))
    for r in rows:
        assert r["outcome"] == ("ok" if (r["line"] == "FAIL") == (r["label"] == "bad") else
                                "false accept" if r["label"] == "bad" else "false reject")
        assert r["gauge_fails"] == "False" or r["line"] == "FAIL"     # the gauge's vote holds
    metrics = json.loads((report / "metrics.json").read_text())["3"]
    assert metrics["wrong"] == {"false accept": accepted, "false reject": rejected}
    assert f"- false reject: {len(rejected)}" in text


def test_cli_calibrate_resets_the_operating_point(easy_dataset: Path, easy_testset: Path,
                                                  bundle: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str],
                                                  caplog: pytest.LogCaptureFixture) -> None:
    from training.cli import main

    models = tmp_path / "models"
    shutil.copytree(bundle, models / "type3")
    cfg = tmp_path / "budget0.yaml"
    cfg.write_text(yaml.safe_dump(
        tiny_config().model_copy(update={"false_reject_budget": 0.0}).model_dump(mode="json")))
    assert main(["calibrate", "--models", str(models), "--data", str(easy_dataset),
                 "--config", str(cfg)]) == 0
    before = json.loads((bundle / "model.json").read_text())
    after = json.loads((models / "type3" / "model.json").read_text())
    com0, com1 = before["committee"], after["committee"]
    assert com1["false_reject_budget"] == 0.0
    # Without a budget the threshold is the pure target-FA point: at or above the budgeted one.
    assert com1["threshold"] >= com0["threshold"]
    assert com1["metrics"]["val_line"]["false_accept"] == 0.0
    # a few dozen bad validation maps: the 0.1 % point rests on the lowest; the log says so
    n_bad = com1["metrics"]["val_bad_maps"]
    assert 0 < n_bad < 2000
    assert f"{n_bad} bad validation maps" in caplog.text
    assert "2000 or more" in caplog.text
    np.testing.assert_allclose(com1["weights"], com0["weights"], atol=1e-9)  # same val split
    assert after["test_metrics"] == {}
    assert after["members"]["classifier"]["metrics"]["fit"] == \
        before["members"]["classifier"]["metrics"]["fit"]
    assert after["training"]["sources_sha256"] == before["training"]["sources_sha256"]
    # Another dataset (other source welds) would leak training maps into "validation".
    assert main(["calibrate", "--models", str(models), "--data", str(easy_testset),
                 "--config", str(cfg)]) == 2
    assert "sources" in capsys.readouterr().err
    # The same source welds generated again (a newer generator): the same split.
    again = tmp_path / "again"
    shutil.copytree(easy_dataset, again)
    card = json.loads((again / "dataset.json").read_text())
    card.update(fingerprint="f" * 64, generator_version="synth-defects/9.9")
    (again / "dataset.json").write_text(json.dumps(card))
    assert main(["calibrate", "--models", str(models), "--data", str(again),
                 "--config", str(cfg)]) == 0
    recal = json.loads((models / "type3" / "model.json").read_text())
    assert recal["training"]["calibrated_on"]["generator_version"] == "synth-defects/9.9"
    assert recal["training"]["fingerprint"] == before["training"]["fingerprint"]
    np.testing.assert_allclose(recal["committee"]["weights"], com1["weights"], atol=1e-9)


NO_TORCH = """
import json, sys
for name in ("torch", "timm", "training", "torchvision"):
    sys.modules[name] = None
from inspector.decision.committee import Committee
from point_cloud.heightmap_io import read_heightmap
com = Committee.from_bundle(sys.argv[1])
v = com.decide(read_heightmap(sys.argv[2]))
print(json.dumps({"verdict": v.to_dict(), "torch": sys.modules.get("torch")}))
"""


def test_loading_and_deciding_needs_no_torch(bundle: Path, easy_testset: Path) -> None:
    ds = read_dataset(easy_testset)
    rec = next(r for r in ds.records if r["defect"] == "capture_failure")
    out = subprocess.run([sys.executable, "-c", NO_TORCH, str(bundle), str(ds.root / rec["path"])],
                         capture_output=True, text=True, check=True, timeout=120)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert res["torch"] is None
    assert res["verdict"]["decision"] == "FAIL"


def test_failed_cut_is_measured_in_mm(bundle: Path, easy_testset: Path) -> None:
    ds = read_dataset(easy_testset)
    com = Committee.from_bundle(bundle)
    prof = weld_type_profile(3)
    cuts = [r for r in ds.records if r["defect"] == "cut"]
    measured = []
    for rec in cuts:
        hm = read_heightmap(ds.root / rec["path"])
        v = vote(com.decide(hm), gauge_weld(hm, prof))         # the gauge measures the size
        if v.defect == "cut" and v.measurement is not None:
            measured.append((v.measurement, rec["params"]))
    assert measured, "no cut was both guessed and measured"
    for m, params in measured:
        assert m.quantity == "cut_length"
        assert m.limit_mm == 2.0
        assert abs(m.value_mm - params["length_mm"]) <= 1.0, (m, params["length_mm"])


def test_capture_checks_live_in_the_quality_gate_only(bundle: Path, easy_testset: Path) -> None:
    """A map with 70 % of its cells lost is the gate's ERROR; the committee itself only ever
    answers PASS/FAIL (no second, diverging whole-map capture check)."""
    from inspector import quality_gate
    from point_cloud.config import weld_type_profile

    ds = read_dataset(easy_testset)
    rec = next(r for r in ds.records if r["defect"] == "none")
    hm = read_heightmap(ds.root / rec["path"])
    keep = np.random.default_rng(0).random(hm.shape) >= 0.7
    hm.valid = hm.valid & keep
    hm.z = np.where(hm.valid, hm.z, np.float32(0.0))
    gate = quality_gate.check(hm, weld_type_profile(3))
    assert gate is not None
    assert (gate.decision, gate.defect) == ("ERROR", "capture_failure")
    v = Committee.from_bundle(bundle).decide(hm)
    assert v.decision in ("PASS", "FAIL")
    assert v.reason is None
