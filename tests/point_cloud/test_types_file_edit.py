"""Writing one weld type's entry into a copy of config/weld_types.yaml (real files, no mocks)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from point_cloud.config import (
    DEFAULT_CONFIG_DIR,
    ConfigError,
    Geometry,
    Limits,
    Roi,
    TypesFile,
    WeldTypeProfile,
    load_yaml_model,
    weld_type_profile,
)
from point_cloud.types_file_edit import render_entry, upsert_type_entry

TYPE_12 = WeldTypeProfile(
    weld_type=12,
    description="lap joint: short, 30 mm",
    geometry=Geometry(
        bead_length_mm=30.0, plate="upper", bead_width_mm=6.25, shadow_fraction=(0.0, 0.125)
    ),
    roi=Roi(length_mm=40.0),
    limits=Limits(cut_reject_mm=2.5),
)
TYPE_12_TEXT = (
    "  - weld_type: 12\n"
    "    description: 'lap joint: short, 30 mm'\n"
    "    geometry: {path: line, bead_length_mm: 30, plate: upper, bead_width_mm: 6.25,"
    " shadow_fraction: [0, 0.125]}\n"
    "    roi: {length_mm: 40}\n"
    "    limits: {cut_reject_mm: 2.5}\n"
)
TYPE_3_GEOMETRY = (
    "    geometry: {path: line, bead_length_mm: 40, plate: isolated,"
    " shadow_fraction: [0.0, 0.03]}\n"
    "    roi: {length_mm: 50, width_mm: 16, mm_per_px: 0.2}\n"
)


@pytest.fixture
def types_path(tmp_path: Path) -> Path:
    """A copy of the repository's config/weld_types.yaml."""
    path = tmp_path / "weld_types.yaml"
    shutil.copyfile(DEFAULT_CONFIG_DIR / "weld_types.yaml", path)
    return path


def _diff_lines(diff: str, sign: str) -> list[str]:
    return [
        line[1:]
        for line in diff.splitlines(keepends=True)
        if line.startswith(sign) and not line.startswith(sign * 3)
    ]


# --------------------------------------------------------------------------- render_entry
def test_render_entry_writes_only_non_defaults_in_the_file_style() -> None:
    assert render_entry(TYPE_12) == TYPE_12_TEXT
    assert render_entry(WeldTypeProfile(weld_type=12)) == (
        "  - weld_type: 12\n"
        "    description: ''\n"
        "    geometry: {path: line, bead_length_mm: 40, plate: isolated}\n"
    )


def test_render_entry_rounds_to_three_decimals_and_keeps_tiny_values() -> None:
    profile = WeldTypeProfile(
        weld_type=12,
        description="plain words",
        geometry=Geometry(bead_length_mm=12.34567, plate_step_mm=(1.0, 2.5)),
        roi=Roi(mm_per_px=0.0004),
    )
    assert render_entry(profile).splitlines()[1:] == [
        "    description: plain words",
        "    geometry: {path: line, bead_length_mm: 12.346, plate: isolated,"
        " plate_step_mm: [1, 2.5]}",
        "    roi: {mm_per_px: 0.0004}",
    ]


def test_render_entry_comment_is_wrapped_under_the_dash_line() -> None:
    comment = " ".join(f"word{i}" for i in range(40))
    lines = render_entry(TYPE_12, comment=comment).splitlines()
    comment_lines = lines[1:5]
    assert lines[0] == "  - weld_type: 12"
    assert lines[5] == "    description: 'lap joint: short, 30 mm'"
    assert all(line.startswith("    # ") and len(line) <= 95 for line in comment_lines)
    assert " ".join(line[len("    # ") :] for line in comment_lines) == comment


def test_render_entry_keeps_the_base_limits_unless_the_profile_sets_limits() -> None:
    base = TYPE_12.model_copy(update={"limits": Limits(cut_reject_mm=3.0, cut_ok_mm=1.25)})
    plain = TYPE_12.model_copy(update={"limits": Limits()})
    assert render_entry(plain, base=base).splitlines()[-1] == (
        "    limits: {cut_reject_mm: 3, cut_ok_mm: 1.25}"
    )
    assert render_entry(TYPE_12, base=base).splitlines()[-1] == "    limits: {cut_reject_mm: 2.5}"


# --------------------------------------------------------------------------- upsert
def test_adding_type_12_appends_exactly_the_rendered_lines(types_path: Path) -> None:
    old = types_path.read_text()
    change = upsert_type_entry(types_path, TYPE_12)
    new = types_path.read_text()
    assert (change.action, change.weld_type, change.path) == ("added", 12, types_path)
    assert new == change.text == old + TYPE_12_TEXT
    assert new.splitlines()[: len(old.splitlines())] == old.splitlines()
    assert _diff_lines(change.diff, "-") == []
    assert _diff_lines(change.diff, "+") == TYPE_12_TEXT.splitlines(keepends=True)
    assert change.diff.startswith(f"--- {types_path} (before)\n+++ {types_path} (after)\n")
    loaded = load_yaml_model(types_path, TypesFile)
    assert [t.weld_type for t in loaded.types] == [2, 3, 4, 5, 7, 8, 9, 10, 11, 12]
    assert loaded.types[-1] == TYPE_12


def test_added_geometry_loads_back_within_rounding(types_path: Path) -> None:
    geometry = Geometry(
        bead_length_mm=33.33333,
        bead_width_mm=5.4321,
        plate="lower",
        shadow_fraction=(0.0125, 0.3333),
        crop_beyond_toe_mm=(0.75, 3.5),
    )
    upsert_type_entry(types_path, WeldTypeProfile(weld_type=12, geometry=geometry))
    got = weld_type_profile(12, types_path).geometry
    assert got.plate == "lower"
    for name in ("bead_length_mm", "bead_width_mm", "bead_height_mm", "square_side_mm"):
        assert getattr(got, name) == pytest.approx(getattr(geometry, name), abs=1e-3)
    for name in ("shadow_fraction", "crop_beyond_toe_mm", "plate_step_mm"):
        assert getattr(got, name) == pytest.approx(getattr(geometry, name), abs=1e-3)
    assert got.bead_length_mm == 33.333


def test_updating_type_3_changes_only_its_lines_and_keeps_comments(types_path: Path) -> None:
    text = types_path.read_text()
    text = text.replace(
        "  - weld_type: 3\n", "  - weld_type: 3\n    # the reference type\n"
    ).replace(
        TYPE_3_GEOMETRY,
        TYPE_3_GEOMETRY + "    limits: {cut_reject_mm: 2.5}\n\n  # type 4: lower plate\n",
    )
    types_path.write_text(text)
    assert weld_type_profile(3, types_path).geometry.bead_length_mm == 40.0  # now cached
    old = weld_type_profile(3, types_path)
    profile = old.model_copy(
        update={
            "geometry": old.geometry.model_copy(update={"bead_length_mm": 42.5}),
            "limits": Limits(),
        }
    )
    change = upsert_type_entry(types_path, profile)
    new_geometry = (
        "    geometry: {path: line, bead_length_mm: 42.5, plate: isolated,"
        " shadow_fraction: [0, 0.03]}\n"
    )
    assert change.action == "updated"
    assert types_path.read_text() == change.text == text.replace(TYPE_3_GEOMETRY, new_geometry)
    assert _diff_lines(change.diff, "-") == TYPE_3_GEOMETRY.splitlines(keepends=True)
    assert _diff_lines(change.diff, "+") == [new_geometry]
    assert "    # the reference type\n    description: isolated bead only\n" in change.text
    assert "\n\n  # type 4: lower plate\n  - weld_type: 4\n" in change.text
    got = weld_type_profile(3, types_path)  # the write dropped the cached file
    assert got.geometry.bead_length_mm == 42.5
    assert got.limits.cut_reject_mm == 2.5  # the existing limits are kept
    assert got.roi == old.roi


def test_upserting_the_same_profile_twice_is_unchanged(types_path: Path) -> None:
    first = upsert_type_entry(types_path, TYPE_12, comment="customer part 4711")
    after_first = types_path.read_bytes()
    stat = types_path.stat()
    second = upsert_type_entry(types_path, TYPE_12, comment="customer part 4711")
    third = upsert_type_entry(types_path, weld_type_profile(3, types_path))
    assert (first.action, second.action, third.action) == ("added", "unchanged", "unchanged")
    assert (second.diff, third.diff) == ("", "")
    assert types_path.read_bytes() == after_first == second.text.encode()
    assert types_path.stat().st_mtime_ns == stat.st_mtime_ns
    assert "  - weld_type: 12\n    # customer part 4711\n" in second.text


def test_dry_run_leaves_the_file_identical(types_path: Path) -> None:
    before = types_path.read_bytes()
    change = upsert_type_entry(types_path, TYPE_12, dry_run=True)
    assert change.action == "added"
    assert change.text == before.decode() + TYPE_12_TEXT
    assert len(_diff_lines(change.diff, "+")) == 5
    assert types_path.read_bytes() == before


def test_invalid_profile_raises_and_leaves_the_file_identical(types_path: Path) -> None:
    before = types_path.read_bytes()
    bad_limits = Limits.model_construct(**{**Limits().model_dump(), "cut_ok_mm": 3.0})
    bad = TYPE_12.model_copy(update={"limits": bad_limits})
    with pytest.raises(ConfigError, match="cut_ok_mm must be below cut_reject_mm") as info:
        upsert_type_entry(types_path, bad)
    assert f"{types_path}:59: types.9.limits: Value error" in str(info.value)  # the limits line
    assert types_path.read_bytes() == before
    assert sorted(p.name for p in types_path.parent.iterdir()) == ["weld_types.yaml"]


def test_duplicate_types_raise_and_leave_the_file_identical(types_path: Path) -> None:
    text = types_path.read_text()
    types_path.write_text(text + "  - weld_type: 3\n    description: again\n")
    before = types_path.read_bytes()
    with pytest.raises(ConfigError, match=r"weld type 3 is listed twice \(lines 23, 55\)"):
        upsert_type_entry(types_path, weld_type_profile(3, DEFAULT_CONFIG_DIR / "weld_types.yaml"))
    with pytest.raises(ConfigError, match=r"weld types listed twice: \[3\]"):
        upsert_type_entry(types_path, TYPE_12)
    assert types_path.read_bytes() == before


def test_missing_file_is_created_and_loads(tmp_path: Path) -> None:
    path = tmp_path / "line_types.yaml"
    change = upsert_type_entry(path, TYPE_12)
    assert change.action == "added"
    assert path.read_text() == change.text
    assert path.stat().st_mode & 0o777 == 0o644
    assert change.text.startswith("# Weld-type profiles")
    assert change.text.endswith("types:\n" + TYPE_12_TEXT)
    assert load_yaml_model(path, TypesFile).types == [TYPE_12]
    assert _diff_lines(change.diff, "+") == change.text.splitlines(keepends=True)


def test_empty_flow_list_gets_the_first_item(tmp_path: Path) -> None:
    path = tmp_path / "weld_types.yaml"
    path.write_text("# mine\ntypes: []  # none yet\n")
    change = upsert_type_entry(path, TYPE_12)
    assert change.text == "# mine\ntypes:  # none yet\n" + TYPE_12_TEXT
    assert load_yaml_model(path, TypesFile).types == [TYPE_12]


def test_file_mode_is_kept(types_path: Path) -> None:
    os.chmod(types_path, 0o640)
    upsert_type_entry(types_path, TYPE_12)
    assert types_path.stat().st_mode & 0o777 == 0o640


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("types: [\n", r":2: invalid YAML"),
        ("- 1\n- 2\n", r":1: expected a mapping with a `types:` list"),
        ("scanner: {}\n", r": no `types:` key; expected a mapping with a `types:` list"),
        ("scanner: {}\ntypes: 3\n", r":2: `types:` is not a list"),
        ("types: [{weld_type: 2}]\n", r":1: `types:` is a flow list \[...\]"),
    ],
)
def test_not_a_types_file_raises_naming_it(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "weld_types.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        upsert_type_entry(path, TYPE_12)
    assert str(info.value).startswith(str(path))
    assert path.read_text() == text


def test_new_item_goes_before_content_that_follows_the_list(tmp_path: Path) -> None:
    path = tmp_path / "weld_types.yaml"
    head = "types:\n- weld_type: 2\n  description: first  # two\n"
    tail = "\n# scanner settings follow\nscanner: {noise_mm: 0.03}\n"
    path.write_text(head + tail)
    change = upsert_type_entry(path, TYPE_12)
    entry = "".join(line[2:] for line in TYPE_12_TEXT.splitlines(keepends=True))
    assert change.text == head + entry + tail
    assert load_yaml_model(path, TypesFile).scanner.noise_mm == 0.03
