"""Bundle card validation: version and configuration mismatches are refused with details."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from inspector.decision.bundle import (
    BundleError,
    BundleMismatchError,
    BundleVersionError,
    load_bundle,
)
from inspector.decision.committee import Committee
from point_cloud.config import Roi, weld_type_profile

pytestmark = [pytest.mark.slow, pytest.mark.train]


def _edited(bundle: Path, tmp_path: Path, **changes) -> Path:
    dst = tmp_path / "b"
    shutil.copytree(bundle, dst)
    card = json.loads((dst / "model.json").read_text())
    for key, value in changes.items():
        if key in card:
            card[key] = value
        else:
            card["input"][key] = value
    (dst / "model.json").write_text(json.dumps(card))
    return dst


def test_matching_bundle_loads(bundle: Path) -> None:
    assert load_bundle(bundle).weld_type == 3


def test_other_format_version_is_refused(bundle: Path, tmp_path: Path) -> None:
    with pytest.raises(BundleVersionError, match=r"weld-bundle/1.*'weld-bundle/0'"):
        Committee.from_bundle(_edited(bundle, tmp_path, format="weld-bundle/0"))


def test_card_of_another_type_is_refused(bundle: Path, tmp_path: Path) -> None:
    with pytest.raises(BundleMismatchError, match=r"weld type: bundle 3, config 10") as exc:
        load_bundle(_edited(bundle, tmp_path, weld_type=3), weld_type_profile(10))
    assert any("map shape" in d and "(80, 150)" in d for d in exc.value.differences)


def test_resolution_mismatch_names_mm_per_px(bundle: Path) -> None:
    prof = weld_type_profile(3).model_copy(update={"roi": Roi(length_mm=50, width_mm=16,
                                                              mm_per_px=0.25)})
    with pytest.raises(BundleMismatchError) as exc:
        load_bundle(bundle, prof)
    text = str(exc.value)
    assert "mm_per_px: bundle 0.2, config 0.25" in text
    assert "(80, 250)" in text
    assert "(64, 200)" in text


def test_missing_member_file_is_named(bundle: Path, tmp_path: Path) -> None:
    dst = _edited(bundle, tmp_path)
    (dst / "siamese.onnx").unlink()
    with pytest.raises(BundleError, match=r"siamese\.onnx"):
        load_bundle(dst)
