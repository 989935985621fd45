"""Strict YAML configuration: pydantic models whose errors name the file, line and key.

Unknown keys are errors. The weld-type profiles (geometry, region of interest, acceptance
limits) live here because every stage (projection, synthesis, training, inspection) uses
them; the line/daemon settings live in ``inspector.config``.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any, TypeGuard, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from point_cloud.errors import PermanentError

# The nine types of the default weld-types file; which types a line knows is decided by
# its weld-types file (``configured_weld_types``), any number in WELD_TYPE_RANGE may be one.
DEFAULT_WELD_TYPES: tuple[int, ...] = (2, 3, 4, 5, 7, 8, 9, 10, 11)
WELD_TYPES = DEFAULT_WELD_TYPES          # the old name
WELD_TYPE_RANGE = range(1, 10_000)
WELD_TYPE_EXPECTED = f"an integer {WELD_TYPE_RANGE.start}-{WELD_TYPE_RANGE.stop - 1}"
TYPES_FILE_ENV = "WELD_TYPES_FILE"
DEFAULT_CONFIG_DIR = Path(__file__).resolve().parents[1] / "config"
M = TypeVar("M", bound=BaseModel)


class ConfigError(PermanentError, ValueError):
    """A configuration file is unreadable or invalid; the message names file, line and key."""

    reason = "bad_config"


def is_weld_type(value: object) -> TypeGuard[int]:
    """True for an ``int`` (not a bool) in :data:`WELD_TYPE_RANGE`."""
    return isinstance(value, int) and not isinstance(value, bool) and value in WELD_TYPE_RANGE


def weld_type_arg(text: str) -> int:
    """argparse ``type=`` for one weld type: any integer 1-9999 (the profile lookup then
    refuses one the weld-types file does not configure)."""
    digits = text.strip()
    t = int(digits) if digits.isascii() and digits.isdigit() and len(digits) <= 6 else 0
    if not is_weld_type(t):
        raise argparse.ArgumentTypeError(f"expected {WELD_TYPE_EXPECTED}, found {text!r}")
    return t


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- loading
def _key_lines(node: yaml.Node, prefix: tuple[Any, ...] = ()) -> dict[tuple[Any, ...], int]:
    """Map every key path in a composed YAML document to its 1-based line number."""
    lines: dict[tuple[Any, ...], int] = {prefix: node.start_mark.line + 1}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            path = (*prefix, key_node.value)
            lines.update(_key_lines(value_node, path))
            lines[path] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines.update(_key_lines(item, (*prefix, i)))
    return lines


def _line_for(loc: tuple[Any, ...], lines: dict[tuple[Any, ...], int]) -> int:
    for n in range(len(loc), -1, -1):
        key = tuple(str(p) if not isinstance(p, int) else p for p in loc[:n])
        if key in lines:
            return lines[key]
    return 1


def parse_yaml(text: str, path: str | Path) -> tuple[yaml.Node | None, Any]:
    """(composed node tree, data) of YAML ``text``; :class:`ConfigError` naming the file and
    line where it is not YAML."""
    try:
        return yaml.compose(text), yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or exc
        raise ConfigError(f"{path}:{line}: invalid YAML: {problem}") from exc


def load_yaml_model(path: str | Path, model: type[M]) -> M:
    """Parse ``path`` as YAML and validate it against ``model`` with located errors."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the file ({exc.strerror})") from exc
    node, data = parse_yaml(text, path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1: expected a mapping of settings, found {type(data).__name__}")
    lines = _key_lines(node) if node is not None else {}
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            key = ".".join(str(p) for p in loc) or "<root>"
            msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
            problems.append(f"{path}:{_line_for(loc, lines)}: {key}: {msg}")
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(problems)) from exc


# --------------------------------------------------------------------------- weld types
class Geometry(Strict):
    """Nominal weld geometry of a type (mm); real scans vary around it. ``plate`` names the
    type's geometry kind (:mod:`point_cloud.kinds`), ``path`` must be that kind's."""

    path: str = "line"
    bead_length_mm: float = Field(40.0, gt=0)
    bead_width_mm: float = Field(6.0, gt=0)
    bead_height_mm: float = Field(2.0, gt=0)
    plate: str = "isolated"
    # Side of the square path for type 7 (bead centreline), mm.
    square_side_mm: float = Field(20.0, gt=0)
    # Oblique outer plate (type 7 sub-kind), degrees; 0 = level.
    outer_plate_tilt_deg: tuple[float, float] = (0.0, 0.0)
    # Fraction of the region lost to shadow (missing data), drawn uniformly from this range.
    shadow_fraction: tuple[float, float] = (0.0, 0.05)
    # Layout variations (the simulator's layout="random"): a stepped plate's height (upper
    # plate above the lower; type 7's raised or recessed patch) and how far beyond the
    # bead's toe a partly cropped plate ends, mm.
    plate_step_mm: tuple[float, float] = (1.0, 3.0)
    crop_beyond_toe_mm: tuple[float, float] = (0.5, 4.0)

    @model_validator(mode="after")
    def _known_kind(self) -> Geometry:
        from point_cloud.kinds import kind_named  # the kinds build on this module's types

        kind = kind_named(self.plate)
        if self.path != kind.path.name:
            raise ValueError(f"path: the {kind.name!r} kind's path is {kind.path.name!r}, "
                             f"found {self.path!r}")
        return self


class Roi(Strict):
    """Region of interest in the aligned weld frame, centred on the nominal weld centre."""

    length_mm: float = Field(50.0, gt=0, description="extent along X (the bead)")
    width_mm: float = Field(16.0, gt=0, description="extent along Y (across the bead)")
    mm_per_px: float = Field(0.2, gt=0)

    @property
    def shape_px(self) -> tuple[int, int]:
        """(rows, cols) of the projected map."""
        return (round(self.width_mm / self.mm_per_px), round(self.length_mm / self.mm_per_px))


class Limits(Strict):
    """Acceptance limits (the weld norm) per defect, in mm."""

    cut_reject_mm: float = 2.0
    cut_ok_mm: float = 1.0
    hole_reject_diameter_mm: float = 1.0
    ball_reject_diameter_mm: float = 1.5
    ball_reject_height_mm: float = 0.8
    deviation_reject_mm: float = 1.5
    excess_reject_imbalance_mm: float = 0.6
    excess_reject_length_mm: float = 5.0
    lack_reject_length_mm: float = 3.0
    min_valid_fraction: float = Field(0.5, ge=0, le=1)

    @model_validator(mode="after")
    def _ok_below_reject(self) -> Limits:
        if self.cut_ok_mm >= self.cut_reject_mm:
            raise ValueError("cut_ok_mm must be below cut_reject_mm (a margin band between them)")
        return self


class WeldTypeProfile(Strict):
    """Everything the pipeline needs to know about one weld type."""

    weld_type: int
    description: str = ""
    geometry: Geometry = Geometry()
    roi: Roi = Roi()
    limits: Limits = Limits()

    @model_validator(mode="after")
    def _known_type(self) -> WeldTypeProfile:
        if not is_weld_type(self.weld_type):
            raise ValueError(f"weld_type: expected {WELD_TYPE_EXPECTED}, found {self.weld_type}")
        return self


class ScannerModel(Strict):
    """Scanner and fixture tolerances (SCANS.md), used by the simulator and the checks."""

    point_spacing_mm: tuple[float, float] = (0.05, 0.2)
    noise_mm: float = 0.02
    outlier_fraction: float = 0.02
    max_offset_mm: float = 3.0
    max_rotation_deg: float = 5.0
    max_tilt_deg: float = 3.0
    min_points: int = 1000
    # bounds checked before a scan is parsed (4x the contract's 4 M points)
    max_points: int = 16_000_000
    max_file_mb: float = 1024.0
    # any coordinate beyond this is no measurement (e.g. a wrong byte order): dropped
    max_abs_coordinate_mm: float = 1_000_000.0


class TypesFile(Strict):
    """``config/weld_types.yaml``: scanner tolerances and one profile per weld type."""

    scanner: ScannerModel = ScannerModel()
    types: list[WeldTypeProfile]

    @model_validator(mode="after")
    def _unique(self) -> TypesFile:
        seen = [t.weld_type for t in self.types]
        dup = {t for t in seen if seen.count(t) > 1}
        if dup:
            raise ValueError(f"weld types listed twice: {sorted(dup)}")
        return self


def config_dir() -> Path:
    """The config folder: ``$WELD_CONFIG_DIR`` or the repository's ``config/``."""
    return Path(os.environ.get("WELD_CONFIG_DIR", DEFAULT_CONFIG_DIR))


_TYPES_CACHE: dict[Path, TypesFile] = {}


def types_file_path(path: str | Path | None = None) -> Path:
    """``path``, else ``$WELD_TYPES_FILE``, else ``config_dir()/weld_types.yaml``; resolved."""
    env = os.environ.get(TYPES_FILE_ENV)
    p = Path(path) if path else Path(env) if env else config_dir() / "weld_types.yaml"
    return p.resolve()


def load_types_file(path: str | Path | None = None) -> TypesFile:
    """Load (and cache, keyed on the resolved path) the weld-types file.

    ``path`` None: the file named by the environment variable ``WELD_TYPES_FILE``, else
    ``config_dir()/weld_types.yaml`` (see :func:`types_file_path`).
    """
    p = types_file_path(path)
    if p not in _TYPES_CACHE:
        _TYPES_CACHE[p] = load_yaml_model(p, TypesFile)
    return _TYPES_CACHE[p]


def weld_type_profile(weld_type: int, path: str | Path | None = None) -> WeldTypeProfile:
    """The profile of one weld type; a clear error for an unknown type."""
    tf = load_types_file(path)
    for prof in tf.types:
        if prof.weld_type == weld_type:
            return prof
    known = ", ".join(str(t.weld_type) for t in tf.types)
    raise ConfigError(f"weld type {weld_type} is not configured (known: {known})")


def configured_weld_types(path: str | Path | None = None) -> tuple[int, ...]:
    """The weld types the weld-types file (see :func:`load_types_file`) has profiles for."""
    return tuple(sorted(p.weld_type for p in load_types_file(path).types))


def parse_weld_types(text: str, path: str | Path | None = None) -> tuple[int, ...]:
    """A comma list of configured weld types (``"3,12"``) or ``all`` (every configured one).

    A :class:`ConfigError` names what is expected: each an integer 1-9999 with a profile in
    the weld-types file (``path``, see :func:`load_types_file`).
    """
    known = configured_weld_types(path)
    if text.strip().lower() == "all":
        return known
    try:
        types = tuple(int(t) for t in text.split(",") if t.strip())
    except ValueError:
        types = ()
    if not types or not all(is_weld_type(t) for t in types):
        raise ConfigError(f"expected 'all' or comma-separated weld types, each "
                         f"{WELD_TYPE_EXPECTED}, found {text!r}")
    if any(t not in known for t in types):
        raise ConfigError(f"expected comma-separated weld types from {', '.join(map(str, known))} "
                         f"(configured in {types_file_path(path)}), found {text!r}")
    return types


def scanner_model(path: str | Path | None = None) -> ScannerModel:
    return load_types_file(path).scanner
