"""Weld types beyond the default nine: any integer 1-9999, configured by the weld-types file.

A commissioned type 12 (a copy of type 3's profile) must be served by a line config with
``models.types: null`` and ``weld_types:`` with no other edit.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from inspector.cli import main as inspector_main
from inspector.config import LineConfig, bundled_types, load_line_config
from inspector.decision.bundle import BundleError
from inspector.service.deciders import load_deciders, served_types
from inspector.service.triggers import TriggerError, parse_trigger
from point_cloud import config
from point_cloud.config import (
    DEFAULT_WELD_TYPES,
    WELD_TYPES,
    ConfigError,
    configured_weld_types,
    load_types_file,
    parse_weld_types,
    types_file_path,
    weld_type_profile,
)
from point_cloud.errors import IdentityError
from point_cloud.identity import identity_from_name, identity_from_sidecar
from point_cloud.read import read_scan
from point_cloud.simulator import simulate_weld
from point_cloud.types import Cloud, ScanIdentity
from point_cloud.write import write_scan
from synth_defects.cli import build_parser as synth_parser

REPO = Path(__file__).resolve().parents[2]
DEFAULT_TYPES_FILE = REPO / "config" / "weld_types.yaml"


def types_file_with(folder: Path, *extra: int, name: str = "weld_types.yaml") -> Path:
    """The default weld-types file plus copies of type 3's entry numbered ``extra``."""
    data = yaml.safe_load(DEFAULT_TYPES_FILE.read_text())
    type3 = next(t for t in data["types"] if t["weld_type"] == 3)
    data["types"] += [{**type3, "weld_type": t, "description": f"commissioned {t}"}
                      for t in extra]
    path = folder / name
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture
def fresh_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty weld-types cache (restored afterwards) and no WELD_TYPES_FILE."""
    monkeypatch.setattr(config, "_TYPES_CACHE", {})
    monkeypatch.delenv(config.TYPES_FILE_ENV, raising=False)


def test_the_default_nine_keep_both_names() -> None:
    assert WELD_TYPES == DEFAULT_WELD_TYPES == (2, 3, 4, 5, 7, 8, 9, 10, 11)
    assert configured_weld_types(DEFAULT_TYPES_FILE) == DEFAULT_WELD_TYPES


def test_a_types_file_with_type_12_loads(tmp_path: Path, fresh_cache: None) -> None:
    path = types_file_with(tmp_path, 12)
    prof = weld_type_profile(12, path)
    assert prof.weld_type == 12
    assert prof.roi == weld_type_profile(3, path).roi
    assert configured_weld_types(path) == (2, 3, 4, 5, 7, 8, 9, 10, 11, 12)
    with pytest.raises(ConfigError, match=r"weld type 6 is not configured \(known: 2, 3, .*12\)"):
        weld_type_profile(6, path)


@pytest.mark.parametrize("bad", [0, 10_000])
def test_a_types_file_with_a_type_out_of_range_names_the_key(tmp_path: Path, fresh_cache: None,
                                                             bad: int) -> None:
    path = types_file_with(tmp_path, bad)
    with pytest.raises(ConfigError, match=r"weld_types\.yaml:\d+: types\.9: .*weld_type: "
                                          rf"expected an integer 1-9999, found {bad}"):
        load_types_file(path)


def test_identity_takes_any_type_in_range(tmp_path: Path) -> None:
    assert identity_from_name("P1_W1_t12.ply") == {"part_serial": "P1", "weld_id": "W1",
                                                   "weld_type": 12}
    assert identity_from_name("P1_W1_t9999.ply")["weld_type"] == 9999
    assert identity_from_sidecar(tmp_path / "s.ply", {"weld_type": 12}) == {"weld_type": 12}
    for name, found in (("P1_W1_t0.ply", "found 0"), ("P1_W1_t10000.ply", "found 10000")):
        with pytest.raises(IdentityError,
                           match=rf"{name}.*: file name weld_type: expected an integer "
                                 rf"1-9999, {found}") as err:
            identity_from_name(name)
        assert err.value.reason == "bad_identity"
    assert identity_from_sidecar(tmp_path / "s.ply", {"weld_type": " 12"}) == {"weld_type": 12}
    for bad in (-3, "³", "١٢", "1" * 7, 12.0):         # ASCII digits or an int only
        with pytest.raises(IdentityError,
                           match=r"sidecar weld_type: expected an integer 1-9999"):
            identity_from_sidecar(tmp_path / "s.ply", {"weld_type": bad})


def test_a_trigger_with_type_12_parses_and_0_is_refused() -> None:
    def trigger(wt: object) -> bytes:
        return json.dumps({"file": "P1_W1_t12.ply", "part_serial": "P1", "weld_id": "W1",
                           "weld_type": wt}).encode()

    assert parse_trigger(trigger(12)).identity == ScanIdentity("P1", "W1", 12)
    for bad in (0, 10_000, True):
        with pytest.raises(TriggerError, match="weld_type: expected an integer 1-9999") as err:
            parse_trigger(trigger(bad))
        assert err.value.reason == "bad_identity"


def test_weld_types_file_env_is_honoured(tmp_path: Path, fresh_cache: None,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match=r"weld type 12 is not configured"):
        weld_type_profile(12)
    path = types_file_with(tmp_path, 12, 40)
    monkeypatch.setenv("WELD_TYPES_FILE", str(path))
    assert types_file_path() == path.resolve()
    assert weld_type_profile(12).weld_type == 12
    assert configured_weld_types()[-2:] == (12, 40)
    assert parse_weld_types("3,12") == (3, 12)
    assert parse_weld_types("all") == (*DEFAULT_WELD_TYPES, 12, 40)
    other = types_file_with(tmp_path / "explicit", 77)      # an explicit path still wins
    assert configured_weld_types(other)[-1] == 77
    with pytest.raises(ConfigError, match=r"weld types from 2, 3, .*, 12, 40 .*found '3,6'"):
        parse_weld_types("3,6")
    for bad in ("0", "3,x", "³"):
        with pytest.raises(ConfigError, match=rf"each an integer 1-9999, found '{bad}'"):
            parse_weld_types(bad)


def bundle_folder(models: Path, weld_type: int) -> Path:
    """``type<T>/model.json`` as an empty card: enough for discovery, which only lists."""
    folder = models / f"type{weld_type}"
    folder.mkdir(parents=True)
    (folder / "model.json").write_text("{}")
    return folder


def test_null_types_serve_every_bundle_folder(tmp_path: Path) -> None:
    types = types_file_with(tmp_path / "cfg", 12)
    models = tmp_path / "models"
    for t in (12, 3):
        bundle_folder(models, t)
    (models / "type6").mkdir()                               # no model.json: not a bundle
    for odd in ("typeX", "type012", "type0", "type10000"):   # no weld type's folder
        (models / odd).mkdir()
        (models / odd / "model.json").write_text("{}")
    line = tmp_path / "line" / "line.yaml"
    line.parent.mkdir()
    line.write_text("models:\n  dir: ../models\n  types: null\n"
                    "weld_types: ../cfg/weld_types.yaml\n")
    cfg = load_line_config(line)
    assert cfg.weld_types_file == (tmp_path / "line" / "../cfg/weld_types.yaml")
    assert cfg.weld_types_file.resolve() == types.resolve()
    assert cfg.models.types is None
    assert bundled_types(models) == cfg.models.served_types() == served_types(cfg) == [3, 12]
    line.write_text("models:\n  dir: ../models\n  types: [12]\n"
                    "weld_types_file: ../cfg/weld_types.yaml\n")
    cfg = load_line_config(line)
    assert (cfg.models.served_types(), cfg.weld_types_file.resolve()) == ([12], types.resolve())
    assert LineConfig().models.types is None


def test_null_types_over_an_empty_dir_refuse_to_start(tmp_path: Path) -> None:
    line = tmp_path / "line.yaml"
    line.write_text("models:\n  dir: models\n  types: null\n")
    cfg = load_line_config(line)
    assert cfg.models.served_types() == []
    with pytest.raises(BundleError, match=r"models: no model bundle \(type<T>/model\.json\)"):
        load_deciders(cfg)


def test_line_config_type_keys_are_checked(tmp_path: Path) -> None:
    line = tmp_path / "line.yaml"
    line.write_text("weld_types: a.yaml\nweld_types_file: b.yaml\n")
    with pytest.raises(ConfigError, match=r"expected one of weld_types or weld_types_file"):
        load_line_config(line)
    line.write_text("models:\n  types: [3, 0]\n")
    with pytest.raises(ConfigError, match=r"line\.yaml:2: models\.types: .*each an integer "
                                          r"1-9999, found \[0\]"):
        load_line_config(line)


def test_shipped_line_config_serves_the_starter_bundles_through_the_types_file() -> None:
    cfg = load_line_config(REPO / "config" / "line.yaml")
    assert cfg.models.types is None
    assert cfg.weld_types_file is not None
    assert cfg.weld_types_file.resolve() == DEFAULT_TYPES_FILE
    assert served_types(cfg) == list(DEFAULT_WELD_TYPES)


def test_a_commissioned_type_12_is_inspected_with_no_other_edit(
        tmp_path: Path, fresh_cache: None, capsys: pytest.CaptureFixture[str]) -> None:
    """Type 12 = type 3's profile and bundle renumbered: the shipped line.yaml's layout."""
    types = types_file_with(tmp_path / "config", 12)
    models = tmp_path / "models"
    shutil.copytree(REPO / "models" / "type3", models / "type12")
    card = json.loads((models / "type12" / "model.json").read_text())
    (models / "type12" / "model.json").write_text(json.dumps({**card, "weld_type": 12}))
    line = tmp_path / "config" / "line.yaml"
    line.write_text("models:\n  dir: ../models\n  types: null\nweld_types: weld_types.yaml\n")
    cfg = load_line_config(line)
    assert cfg.weld_types_file == types
    assert sorted(load_deciders(cfg)) == [12]

    sim = simulate_weld(3, 5, points=150_000)           # type 12 is type 3 renumbered
    codes, msgs = [], []
    for t, cfg_args in ((12, ["--config", str(line)]), (3, [])):
        path = write_scan(Cloud(sim.cloud.points, ScanIdentity("P1", "W1", t)),
                          tmp_path / f"P1_W1_t{t}.npy")
        assert read_scan(path).identity == ScanIdentity("P1", "W1", t)
        codes.append(inspector_main(["inspect", str(path), *cfg_args, "--json"]))
        msgs.append(json.loads(capsys.readouterr().out))
    assert [m["weld_type"] for m in msgs] == [12, 3]
    assert [m["decision"] for m in msgs] == ["PASS", "PASS"]
    assert codes == [0, 0]
    assert msgs[0]["score"] == pytest.approx(msgs[1]["score"], abs=1e-6)
    assert msgs[0]["score"] < msgs[0]["threshold"]


def test_the_command_lines_take_a_configured_type_12(
        tmp_path: Path, fresh_cache: None, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("WELD_TYPES_FILE", str(types_file_with(tmp_path / "cfg", 12)))
    out = tmp_path / "scans"
    assert inspector_main(["simulate", "--type", "3,12", "--points", "20000", "--format", "npy",
                           "--seed", "4", "--out", str(out)]) == 0
    scan = out / "SIM-000004_W12_t12.npy"
    assert read_scan(scan, min_points=100).identity == ScanIdentity("SIM-000004", "W12", 12)
    assert synth_parser().parse_args(
        ["generate", "--simulate", "1", "--types", "12,3", "--per-good", "1", "--seed", "1",
         "--out", str(tmp_path / "ds")]).types == (12, 3)
    with pytest.raises(SystemExit):
        inspector_main(["simulate", "--type", "6", "--out", str(out)])
    assert "weld types from 2, 3, 4, 5, 7, 8, 9, 10, 11, 12 " in capsys.readouterr().err
    with pytest.raises(SystemExit):
        inspector_main(["heightmap", str(scan), "--type", "10000", "--out", str(out / "m.png")])
    assert "--type: expected an integer 1-9999, found '10000'" in capsys.readouterr().err
    assert inspector_main(["heightmap", str(scan), "--type", "6", "--out",
                           str(out / "m.png")]) == 2
    assert "weld type 6 is not configured (known: 2, 3, 4, 5, 7, 8, 9, 10, 11, 12)" in \
        capsys.readouterr().err
