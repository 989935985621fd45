"""Write one weld type's entry into a weld-types YAML file, keeping its comments.

The edit works on the text: PyYAML's composer locates the ``types:`` items by line, the
entry is rendered in the file's style (one flow mapping per section, non-default fields
only) and spliced in. The new text is validated as a ``TypesFile`` before an atomic write.
"""

from __future__ import annotations

import contextlib
import difflib
import math
import os
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ValidationError

from point_cloud import config
from point_cloud.config import (
    ConfigError,
    Geometry,
    Limits,
    Roi,
    TypesFile,
    WeldTypeProfile,
    load_yaml_model,
    parse_yaml,
)

Action = Literal["added", "updated", "unchanged"]

_ALWAYS_GEOMETRY = ("path", "bead_length_mm", "plate")
_COMMENT_WIDTH = 95
_NO_WRAP = 1_000_000
_NEW_FILE_MODE = 0o644
_NEW_FILE_HEADER = (
    "# Weld-type profiles: nominal geometry, region of interest and acceptance limits.\n"
    "# Unknown keys are errors.\n"
)


@dataclass(frozen=True)
class EntryChange:
    """The outcome of one upsert: what happened, the unified diff and the new file text."""

    path: Path
    weld_type: int
    action: Action
    diff: str
    text: str


# --------------------------------------------------------------------------- rendering
def _number(x: float) -> str:
    """Up to 3 decimals, no trailing zeros (40.0 -> 40); tiny values keep their digits."""
    if isinstance(x, int):
        return str(x)
    if not math.isfinite(x):
        return ".nan" if math.isnan(x) else (".inf" if x > 0 else "-.inf")
    text = f"{x:.3f}".rstrip("0").rstrip(".")
    if text in ("0", "-0"):
        return "0" if x == 0 else yaml.safe_dump(x).splitlines()[0]
    return text


def _scalar(value: str, *, flow: bool) -> str:
    """``value`` as a YAML scalar, quoted only where YAML needs it (one line always)."""
    doc: Any = [value] if flow else {"k": value}
    out = yaml.safe_dump(doc, default_flow_style=flow, width=_NO_WRAP, allow_unicode=True)
    out = out.rstrip("\n")
    text = out[1:-1] if flow else out[len("k: ") :]
    if "\n" in text:  # multi-line strings: one double-quoted line with escapes
        dumped = yaml.safe_dump(value, default_style='"', width=_NO_WRAP, allow_unicode=True)
        text = dumped.splitlines()[0]
    return text


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return _number(v)
    if isinstance(v, str):
        return _scalar(v, flow=True)
    if isinstance(v, tuple | list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    raise TypeError(f"cannot render {type(v).__name__} in a weld-type entry")


def _flow_mapping(model: BaseModel, default: BaseModel, always: tuple[str, ...] = ()) -> str:
    """``{k: v, ...}`` of the fields in ``always`` plus those differing from ``default``."""
    names = [*always, *(n for n in type(model).model_fields if n not in always)]
    kept = [n for n in names if n in always or getattr(model, n) != getattr(default, n)]
    return "{" + ", ".join(f"{n}: {_value(getattr(model, n))}" for n in kept) + "}" if kept else ""


def _comment_lines(comment: str | None, indent: str = "    ") -> list[str]:
    lines: list[str] = []
    for para in (comment or "").splitlines():
        prefix = f"{indent}# "
        wrapped = textwrap.wrap(
            para.strip(),
            width=_COMMENT_WIDTH,
            initial_indent=prefix,
            subsequent_indent=prefix,
            break_long_words=False,
            break_on_hyphens=False,
        )
        lines.extend(wrapped or [f"{indent}#"])
    return lines


def render_entry(
    profile: WeldTypeProfile, *, comment: str | None = None, base: WeldTypeProfile | None = None
) -> str:
    """One ``types:`` list item (2-space indent) with only the non-default fields.

    ``geometry.path``, ``.plate`` and ``.bead_length_mm`` are always written; a section with
    nothing to write is left out. With ``base`` (the existing entry), its limits are kept
    when ``profile.limits`` are the defaults.
    """
    limits = base.limits if base is not None and profile.limits == Limits() else profile.limits
    lines = [f"  - weld_type: {profile.weld_type}", *_comment_lines(comment)]
    lines.append(f"    description: {_scalar(profile.description, flow=False)}")
    sections = (
        ("geometry", _flow_mapping(profile.geometry, Geometry(), _ALWAYS_GEOMETRY)),
        ("roi", _flow_mapping(profile.roi, Roi())),
        ("limits", _flow_mapping(limits, Limits())),
    )
    lines.extend(f"    {key}: {body}" for key, body in sections if body)
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- locating
@dataclass(frozen=True)
class _Item:
    data: Any  # the item as safe_load gives it
    start: int  # 0-based line of its "- " dash
    end: int  # exclusive: one past its last content line
    dash_col: int


@dataclass(frozen=True)
class _TypesList:
    items: list[_Item]
    insert_at: int  # line index where a new item goes
    empty_flow: tuple[int, int, int] | None  # (line, start col, end col) of a "types: []"


def _last_line(node: yaml.Node) -> int:
    """0-based line of the last character of ``node``'s content (not trailing comments)."""
    if isinstance(node, yaml.MappingNode | yaml.SequenceNode) and not node.flow_style:
        children = (
            [n for pair in node.value for n in pair]
            if isinstance(node, yaml.MappingNode)
            else list(node.value)
        )
        if children:
            return max(_last_line(child) for child in children)
    mark = node.end_mark
    return mark.line if mark.column > 0 else max(mark.line - 1, node.start_mark.line)


def _dash_line(lines: list[str], node: yaml.Node) -> tuple[int, int]:
    """(line, column) of the ``-`` that opens a block-sequence item."""
    line = node.start_mark.line
    while line >= 0:
        head = (
            lines[line][: node.start_mark.column] if line == node.start_mark.line else lines[line]
        )
        stripped = head.lstrip()
        if stripped.startswith("-"):
            return line, len(head) - len(stripped)
        line -= 1
    return node.start_mark.line, max(node.start_mark.column - 2, 0)


def _locate(text: str, path: Path) -> _TypesList:
    """Find the ``types:`` sequence and its items; ConfigError when there is none."""
    root, data = parse_yaml(text, path)
    expected = "expected a mapping with a `types:` list of `- weld_type: N` items"
    if not isinstance(root, yaml.MappingNode) or not isinstance(data, dict):
        raise ConfigError(f"{path}:1: {expected}")
    seq = next((v for k, v in root.value if getattr(k, "value", None) == "types"), None)
    if seq is None:
        raise ConfigError(f"{path}: no `types:` key; {expected}")
    where = f"{path}:{seq.start_mark.line + 1}"
    if not isinstance(seq, yaml.SequenceNode) or not isinstance(data.get("types"), list):
        raise ConfigError(f"{where}: `types:` is not a list; {expected}")
    lines = text.splitlines(keepends=True)
    if seq.flow_style:
        if seq.value or seq.start_mark.line != seq.end_mark.line:
            raise ConfigError(f"{where}: `types:` is a flow list [...]; expected a block list")
        empty = (seq.start_mark.line, seq.start_mark.column, seq.end_mark.column)
        return _TypesList([], seq.start_mark.line + 1, empty)
    items = []
    for node, item_data in zip(seq.value, data["types"], strict=True):
        start, col = _dash_line(lines, node)
        items.append(_Item(item_data, start, _last_line(node) + 1, col))
    return _TypesList(items, items[-1].end, None)


# --------------------------------------------------------------------------- files
def _read(path: Path) -> str:
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            return fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ConfigError(f"{path}: cannot read the file ({why})") from exc


def _validate(text: str, path: Path) -> None:
    """Load ``text`` as a ``TypesFile``; a ConfigError names ``path`` (not the probe)."""
    with tempfile.TemporaryDirectory() as folder:
        probe = Path(folder) / path.name
        probe.write_text(text, encoding="utf-8", newline="")
        try:
            load_yaml_model(probe, TypesFile)
        except ConfigError as exc:
            raise ConfigError(str(exc).replace(str(probe), str(path))) from exc


def _write_atomic(path: Path, text: str) -> None:
    """Temp file in the same folder + ``os.replace``; keeps the mode (new: 0644) and symlinks."""
    target = Path(os.path.realpath(path))
    mode = target.stat().st_mode & 0o7777 if target.exists() else _NEW_FILE_MODE
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    config._TYPES_CACHE.pop(target.resolve(), None)  # load_types_file sees the new file


def _old_entry(data: dict[str, Any]) -> tuple[WeldTypeProfile | None, Limits | None]:
    """The existing entry (None if invalid) and its limits (None if those are invalid)."""
    try:
        old = WeldTypeProfile.model_validate(data)
        return old, old.limits
    except ValidationError:
        pass
    try:
        return None, Limits.model_validate(data.get("limits") or {})
    except ValidationError:
        return None, None


def _replace(lines: list[str], item: _Item, profile: WeldTypeProfile, comment: str | None) -> str:
    """The text with ``item``'s lines replaced; unchanged text if the entry is equal."""
    old, old_limits = _old_entry(item.data)
    keep_limits = old_limits is not None and profile.limits == Limits()
    merged = profile.model_copy(update={"limits": old_limits}) if keep_limits else profile
    if comment is None and merged == old:
        return "".join(lines)
    new = _indent(render_entry(merged, comment=comment), item.dash_col, _newline(lines))
    if comment is None:  # keep the comment lines right under "- weld_type"
        kept = []
        for line in lines[item.start + 1 : item.end]:
            if not line.lstrip().startswith("#"):
                break
            kept.append(line)
        new[1:1] = kept
    return "".join([*lines[: item.start], *new, *lines[item.end :]])


def _append(
    lines: list[str], found: _TypesList, profile: WeldTypeProfile, comment: str | None
) -> str:
    """The text with a new item after the last one (or in place of ``types: []``)."""
    nl, at = _newline(lines), found.insert_at
    dash_col = found.items[-1].dash_col if found.items else 2
    lines = list(lines)
    if found.empty_flow is not None:
        line_no, start, end = found.empty_flow
        head, tail = lines[line_no][:start].rstrip(), lines[line_no][end:]
        lines[line_no] = head + (tail if tail.strip() else nl)
    elif at > 0 and not lines[at - 1].endswith("\n"):
        lines[at - 1] += nl
    new = _indent(render_entry(profile, comment=comment), dash_col, nl)
    return "".join([*lines[:at], *new, *lines[at:]])


def _newline(lines: list[str]) -> str:
    return "\r\n" if lines and lines[0].endswith("\r\n") else "\n"


def _indent(entry: str, dash_col: int, nl: str) -> list[str]:
    """``render_entry``'s lines moved so the dash sits at ``dash_col``, ending in ``nl``."""
    return [" " * dash_col + line[2:] + nl for line in entry.splitlines()]


def _splice(
    text: str, profile: WeldTypeProfile, comment: str | None, path: Path
) -> tuple[str, bool]:
    """The new file text with ``profile``'s item replaced (True) or appended (False)."""
    found = _locate(text, path)
    lines = text.splitlines(keepends=True)
    matches = [
        it
        for it in found.items
        if isinstance(it.data, dict) and it.data.get("weld_type") == profile.weld_type
    ]
    if len(matches) > 1:
        where = ", ".join(str(it.start + 1) for it in matches)
        raise ConfigError(f"{path}: weld type {profile.weld_type} is listed twice (lines {where})")
    if matches:
        return _replace(lines, matches[0], profile, comment), True
    return _append(lines, found, profile, comment), False


def upsert_type_entry(
    path: Path, profile: WeldTypeProfile, *, comment: str | None = None, dry_run: bool = False
) -> EntryChange:
    """Add or replace ``profile``'s item in the weld-types file at ``path``; show the diff.

    Only that item's lines change (comment lines before the next item stay); everything else
    is kept byte for byte. The existing entry's limits are kept unless ``profile.limits``
    differ from the defaults, and its comment lines unless ``comment`` is given. The new text
    must load as a ``TypesFile`` (else ConfigError, file untouched); ``dry_run`` only computes.
    A missing file is created with a short header.
    """
    path = Path(path)
    action: Action
    if path.exists() or path.is_symlink():
        old_text = _read(path)
        new_text, replaced = _splice(old_text, profile, comment, path)
        action = "unchanged" if new_text == old_text else "updated" if replaced else "added"
    else:
        old_text, action = "", "added"
        new_text = _NEW_FILE_HEADER + "types:\n" + render_entry(profile, comment=comment)
    diff = "".join(
        difflib.unified_diff(
            old_text.splitlines(keepends=True),
            new_text.splitlines(keepends=True),
            fromfile=f"{path} (before)",
            tofile=f"{path} (after)",
        )
    )
    change = EntryChange(path, profile.weld_type, action, diff, new_text)
    if action == "unchanged":
        return change
    _validate(new_text, path)
    if not dry_run:
        _write_atomic(path, new_text)
    return change
