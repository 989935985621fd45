"""Clear errors for unusable datasets, through the API and the CLI (exit code 2)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from training.cli import main
from training.data import (
    EmptyClassError,
    ManifestNotFoundError,
    MissingTypesError,
    read_dataset,
    require_types,
    split_by_key,
)
from training.train import split_type

from .conftest import tiny_config

pytestmark = [pytest.mark.slow, pytest.mark.train]


def _copy_with(src: Path, dst: Path, keep) -> Path:
    shutil.copytree(src, dst)
    lines = (dst / "manifest.jsonl").read_text().splitlines()
    kept = [ln for ln in lines if keep(json.loads(ln))]
    (dst / "manifest.jsonl").write_text("\n".join(kept) + "\n")
    return dst


def test_missing_manifest(tmp_path: Path, capsys) -> None:
    with pytest.raises(ManifestNotFoundError, match=r"dataset\.json"):
        read_dataset(tmp_path)
    assert main(["train", "--data", str(tmp_path), "--out", str(tmp_path / "m")]) == 2
    assert "missing" in capsys.readouterr().err


def test_types_missing_from_dataset(easy_dataset: Path, capsys) -> None:
    with pytest.raises(MissingTypesError, match=r"\[7\].*\[3\]"):
        require_types(read_dataset(easy_dataset), [3, 7])
    argv = ["train", "--data", str(easy_dataset), "--types", "3,7", "--out", "/nonexistent"]
    assert main(argv) == 2
    assert "weld types [7]" in capsys.readouterr().err


def test_empty_class(easy_dataset: Path, tmp_path: Path) -> None:
    only_good = _copy_with(easy_dataset, tmp_path / "g", lambda r: r["label"] == "good")
    with pytest.raises(EmptyClassError, match="no 'bad' samples"):
        split_type(read_dataset(only_good), 3, tiny_config())


def test_bad_record_names_line(easy_dataset: Path, tmp_path: Path) -> None:
    dst = _copy_with(easy_dataset, tmp_path / "r", lambda r: True)
    lines = (dst / "manifest.jsonl").read_text().splitlines()
    rec = json.loads(lines[1])
    rec["defect"] = "crack"
    lines[1] = json.dumps(rec)
    (dst / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"manifest.jsonl:2: defect: expected one of .*'crack'"):
        read_dataset(dst)


def test_split_never_leaks_a_source_weld(easy_dataset: Path) -> None:
    recs = read_dataset(easy_dataset).records
    train, val = split_by_key(recs, 0.3, seed=0)
    assert len(train) + len(val) == len(recs)
    assert not {r["split_key"] for r in train} & {r["split_key"] for r in val}
    assert split_by_key(recs, 0.3, seed=0) == (train, val)
