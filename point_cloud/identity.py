"""A scan's identity (part serial, weld id, weld type) from its three possible sources.

Sources, in the order they are reported in errors:

1. the explicit value (from the MQTT trigger message or the caller),
2. the JSON sidecar ``<stem>.json`` beside the scan: top-level ``part_serial``, ``weld_id``,
   ``weld_type`` (or the same keys inside an ``"identity"`` object); a sidecar may hold only
   some of them, and it may also carry profile-grid keys (same file),
3. the file name ``<part-serial>_<weld-id>_t<type>.<ext>``.

Every field given by more than one source must agree, else :class:`IdentityConflictError`
names both values. Fields are merged across sources; a scan none of whose sources says
anything has no identity (``None``: the caller decides); a partial identity (e.g. only a
weld type) is an :class:`IdentityError` naming the missing fields.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from point_cloud.bounded_json import JsonBoundsError, loads_bounded
from point_cloud.config import WELD_TYPE_EXPECTED, is_weld_type
from point_cloud.errors import IdentityConflictError, IdentityError, SidecarError
from point_cloud.types import ScanIdentity

FIELDS = ("part_serial", "weld_id", "weld_type")
MAX_SIDECAR_BYTES = 64 * 1024
_STEM = re.compile(r"^(?P<part_serial>[^_]+)_(?P<weld_id>[^_]+)_t(?P<weld_type>\d+)$")
_ASCII_DIGITS = re.compile(r"[0-9]{1,6}")


def sidecar_path(scan: str | Path) -> Path:
    """``<stem>.json`` beside the scan (the identity and profile-grid sidecar)."""
    p = Path(scan)
    return p.with_name(p.stem + ".json")


def load_sidecar(scan: str | Path) -> dict[str, Any] | None:
    """The scan's JSON sidecar as a dict, ``None`` when there is none."""
    side = sidecar_path(scan)
    if not side.is_file():
        return None
    try:
        with side.open("rb") as fh:
            data = loads_bounded(fh.read(MAX_SIDECAR_BYTES + 1), max_bytes=MAX_SIDECAR_BYTES)
    except OSError as exc:
        raise SidecarError(side, "file", "a readable JSON file",
                           exc.strerror or type(exc).__name__) from None
    except JsonBoundsError as exc:
        raise SidecarError(side, "json", "a small JSON object", str(exc)) from None
    if not isinstance(data, dict):
        raise SidecarError(side, "json", "a JSON object", type(data).__name__)
    return data


def _shown(value: Any) -> str:
    """A field value for an error message: short ones as they are, long ones by length."""
    text = repr(value)
    return text if len(text) <= 40 else f"{type(value).__name__} of {len(text)} characters"


def _weld_type(value: Any, where: str | Path, source: str) -> int:
    """Any number in WELD_TYPE_RANGE; whether it is configured is the profile lookup's call."""
    integral = isinstance(value, int) and not isinstance(value, bool)
    digits = isinstance(value, str) and _ASCII_DIGITS.fullmatch(value.strip()) is not None
    if not (integral or digits):
        raise IdentityError(where, f"{source} weld_type", WELD_TYPE_EXPECTED, _shown(value))
    t = int(value)
    if not is_weld_type(t):
        raise IdentityError(where, f"{source} weld_type", WELD_TYPE_EXPECTED, str(t))
    return t


def _token(value: Any, where: str | Path, source: str, key: str) -> str:
    if not isinstance(value, str | int) or not ScanIdentity.is_safe_token(str(value)):
        raise IdentityError(where, f"{source} {key}",
                            "1-64 letters, digits, '.' or '-' (no '_')", _shown(value))
    return str(value)


def _clean(fields: dict[str, Any], where: str | Path, source: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in FIELDS:
        if fields.get(key) is None:
            continue
        if key == "weld_type":
            out[key] = _weld_type(fields[key], where, source)
        else:
            out[key] = _token(fields[key], where, source, key)
    return out


def identity_from_name(path: str | Path) -> dict[str, Any]:
    """Fields parsed from ``<part-serial>_<weld-id>_t<type>.<ext>`` (empty if no match)."""
    m = _STEM.match(Path(path).stem)
    return _clean(m.groupdict(), path, "file name") if m else {}


def identity_from_sidecar(path: str | Path, data: dict[str, Any] | None) -> dict[str, Any]:
    """Identity fields found in a sidecar dict (top level or under ``"identity"``)."""
    if not data:
        return {}
    nested = data.get("identity")
    fields = dict(nested) if isinstance(nested, dict) else {}
    fields.update({k: data[k] for k in FIELDS if k in data})
    return _clean(fields, sidecar_path(path), "sidecar")


def resolve_identity(path: str | Path, explicit: ScanIdentity | None = None,
                     sidecar: dict[str, Any] | None = None) -> ScanIdentity | None:
    """Merge the explicit identity, the sidecar's and the file name's; see the module doc."""
    sources: list[tuple[str, dict[str, Any]]] = []
    if explicit is not None:
        sources.append(("explicit identity", _clean(explicit.to_dict(), path, "explicit")))
    sources.append((f"sidecar {sidecar_path(path).name}", identity_from_sidecar(path, sidecar)))
    sources.append((f"file name {Path(path).name}", identity_from_name(path)))
    merged: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for source, fields in sources:
        for key, value in fields.items():
            if key in merged and merged[key] != value:
                raise IdentityConflictError(
                    path, key, f"{merged[key]!r} (from the {origin[key]})",
                    f"{value!r} (from the {source})")
            merged.setdefault(key, value)
            origin.setdefault(key, source)
    if not merged:
        return None
    missing = [k for k in FIELDS if k not in merged]
    if missing:
        raise IdentityError(path, "identity", f"all of {', '.join(FIELDS)}",
                            f"no {', '.join(missing)} in any source")
    return ScanIdentity(**merged)


def write_sidecar(scan: str | Path, identity: ScanIdentity | None,
                  extra: dict[str, Any] | None = None) -> Path | None:
    """Write ``<stem>.json`` with the identity fields (and ``extra`` keys); None if empty."""
    data: dict[str, Any] = dict(extra or {})
    if identity is not None:
        data.update(identity.to_dict())
    if not data:
        return None
    side = sidecar_path(scan)
    side.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    return side
