"""Geometry kinds (point_cloud.kinds): one module per kind behind one interface, named by the
weld-types config; every registered kind goes through simulation, levelling, alignment,
projection, the quality gate and the gauge, and a new kind is one class."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from inspector import quality_gate
from inspector.decision.gauge import gauge_weld
from point_cloud.config import (
    ConfigError,
    Geometry,
    Roi,
    WeldTypeProfile,
    load_types_file,
    load_yaml_model,
)
from point_cloud.config import TypesFile as TypesFileModel
from point_cloud.kinds import PATHS, GeometryKind, kind_named, kind_names, kind_of
from point_cloud.kinds import base as kinds_base
from point_cloud.kinds.lower import LowerKind
from point_cloud.layout import ALL
from point_cloud.pipeline import bead_section, scan_to_heightmap
from point_cloud.simulator import simulate_weld

POINTS = 150_000
SECTION_TOL_MM = 0.3
"""Bead width and height found on the projected map against the nominal ones."""


def profile_of(kind: GeometryKind, weld_type: int = 40) -> WeldTypeProfile:
    """A weld type of ``kind`` with its nominal geometry and a region of interest around it."""
    geo = Geometry(path=kind.path.name, plate=kind.name, bead_length_mm=30.0,
                   square_side_mm=20.0, outer_plate_tilt_deg=(0.0, 10.0) if kind.outer_tilt
                   else (0.0, 0.0))
    span = kind.path.crest_length_mm(geo) + geo.bead_width_mm + 6.0
    roi = Roi(length_mm=span, width_mm=span if kind.path.closed else 16.0)
    return WeldTypeProfile(weld_type=weld_type, geometry=geo, roi=roi)


# --------------------------------------------------------------------------- registry
def test_every_configured_type_names_a_registered_kind_and_its_path() -> None:
    kinds = {p.weld_type: kind_of(p) for p in load_types_file().types}
    assert {k.name for k in kinds.values()} == set(kind_names()) == {
        "isolated", "lower", "upper", "square"}
    for t, kind in kinds.items():
        assert kind is kind_named(kind.name)
        assert PATHS[kind.path.name] is kind.path, t
    assert kinds[7].path.closed
    assert not kinds[3].path.closed
    assert kinds[2].nominal_step_mm == 1.5
    assert kinds[4].nominal_step_mm == 0.0
    assert not kinds[3].plate_scanned
    assert kinds[4].plate_scanned
    assert kinds[4].ends_by_toe
    assert not kinds[2].ends_by_toe


def test_the_config_refuses_an_unknown_kind_and_a_path_the_kind_does_not_have(
        tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"one of isolated, lower, square, upper; "
                                              r"found 'corner'"):
        Geometry(plate="corner")
    with pytest.raises(ValidationError, match=r"the 'lower' kind's path is 'line', "
                                              r"found 'square'"):
        Geometry(path="square", plate="lower")
    f = tmp_path / "weld_types.yaml"
    f.write_text("types:\n  - weld_type: 12\n    geometry: {path: line, plate: corner}\n")
    with pytest.raises(ConfigError) as err:
        load_yaml_model(f, TypesFileModel)
    text = str(err.value)
    assert f"{f}:3: types.0.geometry" in text
    assert "found 'corner'" in text


@pytest.mark.parametrize("name", kind_names())
def test_each_path_measures_its_nominal_length_and_bead_band(name: str) -> None:
    kind = kind_named(name)
    g = profile_of(kind).geometry
    length = kind.path.length_mm(g)
    assert length == pytest.approx(4 * 20.0 if kind.path.closed else 30.0)
    step = 0.05
    x, y = np.meshgrid(np.arange(-20, 20, step), np.arange(-20, 20, step))
    area = float(kind.path.expected_region(x, y, g).sum()) * step**2
    assert area == pytest.approx(length * g.bead_width_mm, rel=0.03)


# --------------------------------------------------------------------------- pipeline
@pytest.mark.parametrize("name", kind_names())
def test_every_kind_is_simulated_projected_gated_and_gauged(name: str) -> None:
    profile = profile_of(kind_named(name))
    g = profile.geometry
    for seed in (1, 2):
        scan = simulate_weld(profile.weld_type, seed, points=POINTS, profile=profile)
        assert scan.shape is not None
        assert scan.shape.plate == name
        hm = scan_to_heightmap(scan.cloud, profile)
        assert quality_gate.check(hm, profile) is None, (name, seed)
        section = bead_section(hm, profile)
        _drawn_w, drawn_h = scan.shape.drawn_bead(0.0)
        assert section.height_mm == pytest.approx(drawn_h, abs=SECTION_TOL_MM), (name, seed)
        assert section.width_mm == pytest.approx(g.bead_width_mm, abs=2 * SECTION_TOL_MM)
        report = gauge_weld(hm, profile)
        assert report.bead is not None
        assert not report.exceeding, (name, seed, report.exceeding)


# --------------------------------------------------------------------------- a new kind
class NorthCroppedKind(LowerKind):
    """A straight bead on one plate whose north side the line's software crops 4 mm out."""

    name = "lower_north_cropped"
    default_keep_mm = (ALL, 4.0)


@pytest.fixture
def new_kind(monkeypatch: pytest.MonkeyPatch) -> GeometryKind:
    kind = NorthCroppedKind()
    monkeypatch.setitem(kinds_base._KINDS, kind.name, kind)   # registered for this test only
    return kind


def test_a_new_kind_is_one_class_and_the_pipeline_serves_it(new_kind: GeometryKind) -> None:
    profile = profile_of(new_kind, weld_type=41)
    assert kind_of(profile) is new_kind
    assert new_kind.name in kind_names()
    scan = simulate_weld(41, 3, points=POINTS, profile=profile)
    assert scan.shape is not None
    p = scan.pose.to_nominal(scan.cloud.points)
    truth, _ = scan.shape.surface(p[:, 0], p[:, 1])
    on = np.abs(p[:, 2] - truth) < 0.15
    north_plate = on & (p[:, 1] > 3.5) & (np.abs(p[:, 2]) < 0.05)
    assert north_plate.any()
    assert float(p[north_plate, 1].max()) < 4.0 + 0.01
    assert float(p[on & (p[:, 1] < -3.5), 1].min()) < -8.0                     # south whole
    hm = scan_to_heightmap(scan.cloud, profile)
    assert quality_gate.check(hm, profile) is None
    assert bead_section(hm, profile).width_mm == pytest.approx(6.0, abs=0.6)
    assert not gauge_weld(hm, profile).exceeding
    assert math.isinf(new_kind.default_keep_mm[0])
