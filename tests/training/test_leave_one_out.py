"""Leave one variation out on a small set: train on varied welds with settings held out,
evaluate on welds of every setting, and read the per-setting table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from synth_defects.generate import GenerateConfig, generate_dataset
from tests.training.conftest import EASY_DEFECTS, tiny_config

HELD_OUT = ("spacing=coarse", "bead=flat")


@pytest.fixture(scope="module")
def varied(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(training set without HELD_OUT, test set of every setting, trained bundle folder)."""
    from training.data import read_dataset
    from training.train import train_type

    root = tmp_path_factory.mktemp("loo")
    train = GenerateConfig(types=(3,), per_good=4, seed=11, simulate=30, defects=EASY_DEFECTS,
                           vary=True, hold_out=HELD_OUT)
    test = GenerateConfig(types=(3,), per_good=4, seed=12, simulate=16, defects=EASY_DEFECTS,
                          vary=True)
    generate_dataset(train, root / "train", progress=False)
    generate_dataset(test, root / "test", progress=False)
    models = root / "models"
    train_type(read_dataset(root / "train"), 3, tiny_config(), models)
    return root / "train", root / "test", models


def _records(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "manifest.jsonl").read_text().splitlines()]


def test_held_out_settings_never_reach_training(varied: tuple[Path, Path, Path]) -> None:
    train, test, models = varied
    seen = {f"{a}={s}" for r in _records(train) for a, s in r["variation"].items()}
    assert not seen & set(HELD_OUT)
    assert {"spacing=fine", "spacing=anisotropic", "bead=rounded", "bead=smooth"} <= seen
    tested = {f"{a}={s}" for r in _records(test) for a, s in r["variation"].items()}
    assert set(HELD_OUT) <= tested
    card = json.loads((models / "type3" / "model.json").read_text())
    assert sorted(card["training"]["variation"]["hold_out"]) == sorted(HELD_OUT)


def test_evaluate_reports_each_setting_and_marks_the_held_out_ones(
        varied: tuple[Path, Path, Path], tmp_path: Path) -> None:
    from training.cli import main

    _, test, models = varied
    report = tmp_path / "report"
    assert main(["evaluate", "--models", str(models), "--data", str(test),
                 "--report", str(report)]) == 0
    rows = json.loads((report / "metrics.json").read_text())["3"]["per_variation"]
    assert {k for k, r in rows.items() if r["held_out"]} == set(HELD_OUT)
    members = json.loads((report / "metrics.json").read_text())["3"]["members"]
    committee = members["committee + gauge"]         # the line's decision, split by setting
    # the gauge only adds fails: never more passed bad welds, never fewer rejected good ones
    assert committee["false_accept"] <= members["committee"]["false_accept"]
    assert committee["false_reject"] >= members["committee"]["false_reject"]
    for axis in ("spacing", "bead", "noise", "shadow", "plates"):
        settings = [r for k, r in rows.items() if k.startswith(f"{axis}=")]
        assert sum(r["n_good"] for r in settings) == committee["n_good"]
        assert sum(r["n_bad"] for r in settings) == committee["n_bad"]
        passed_bad = sum(r["false_accept"] * r["n_bad"] for r in settings if r["n_bad"])
        assert passed_bad == pytest.approx(committee["false_accept"] * committee["n_bad"])
    text = (report / "report.md").read_text()
    assert "| spacing=coarse | **held out** |" in text
    assert "| spacing=fine | seen |" in text
