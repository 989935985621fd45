"""Height maps on disk: a 16-bit PNG with a JSON sidecar, and an 8-bit preview.

Encoding: value ``v = round((z - z_offset_mm) / z_scale_mm)`` clipped to 1..65535 for valid
cells, 0 for invalid ones. With the defaults (1 µm per count, offset -10 mm) heights from
-10 mm to +55.5 mm round-trip to within 0.5 µm.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from point_cloud.errors import CorruptScanError, ScanNotFoundError, SidecarError
from point_cloud.types import HeightMap, ScanIdentity

Z_SCALE_MM = 0.001
Z_OFFSET_MM = -10.0
FORMAT = "weld-heightmap/1"


def sidecar_path(png: Path) -> Path:
    return png.with_suffix(".json")


def preview_path(png: Path) -> Path:
    return png.with_name(png.stem + ".preview.png")


def encode_u16(
    hm: HeightMap, z_scale_mm: float = Z_SCALE_MM, z_offset_mm: float = Z_OFFSET_MM
) -> np.ndarray:
    """Quantise heights to uint16 (0 = invalid)."""
    counts = np.rint((hm.z.astype(np.float64) - z_offset_mm) / z_scale_mm)
    counts = np.clip(counts, 1, 65535).astype(np.uint16)
    counts[~hm.valid] = 0
    return counts


def decode_u16(
    counts: np.ndarray, z_scale_mm: float, z_offset_mm: float
) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`encode_u16`: (z mm float32, valid bool)."""
    valid = counts > 0
    z = counts.astype(np.float32) * np.float32(z_scale_mm) + np.float32(z_offset_mm)
    return np.where(valid, z, np.float32(0.0)).astype(np.float32), valid


def preview_u8(
    hm: HeightMap, z_min_mm: float | None = None, z_max_mm: float | None = None
) -> np.ndarray:
    """8-bit grayscale: dark = low, white = high; invalid cells are 0 (black)."""
    if not hm.valid.any():
        return np.zeros(hm.shape, np.uint8)
    zv = hm.z[hm.valid]
    lo = float(np.percentile(zv, 0.5)) if z_min_mm is None else z_min_mm
    hi = float(np.percentile(zv, 99.5)) if z_max_mm is None else z_max_mm
    span = max(hi - lo, 1e-6)
    img = np.clip((hm.z - lo) / span * 254.0 + 1.0, 1, 255).astype(np.uint8)
    img[~hm.valid] = 0
    return img


def sidecar_dict(
    hm: HeightMap, z_scale_mm: float = Z_SCALE_MM, z_offset_mm: float = Z_OFFSET_MM
) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "z_scale_mm": z_scale_mm,
        "z_offset_mm": z_offset_mm,
        "invalid_value": 0,
        "mm_per_px": hm.mm_per_px,
        "origin_mm": [float(hm.origin_mm[0]), float(hm.origin_mm[1])],
        "shape": list(hm.shape),
        "identity": hm.identity.to_dict() if hm.identity else None,
        "meta": hm.meta,
    }


def write_heightmap(
    hm: HeightMap, png: str | Path, preview: bool = True, extra: dict[str, Any] | None = None
) -> Path:
    """Write ``MAP.png`` (uint16), ``MAP.json`` (sidecar) and optionally ``MAP.preview.png``."""
    png = Path(png)
    png.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(png), encode_u16(hm)):
        raise OSError(f"{png}: could not write the 16-bit PNG")
    meta = sidecar_dict(hm)
    if extra:
        meta.update(extra)
    sidecar_path(png).write_text(json.dumps(meta, indent=1, sort_keys=True))
    if preview:
        cv2.imwrite(str(preview_path(png)), preview_u8(hm))
    return png


def read_heightmap(png: str | Path) -> HeightMap:
    """Read a map written by :func:`write_heightmap` (lossless up to quantisation)."""
    png = Path(png)
    if not png.is_file():
        raise ScanNotFoundError(png, "file", "an existing 16-bit height-map PNG")
    side = sidecar_path(png)
    if not side.is_file():
        raise SidecarError(side, "file", f"a JSON sidecar beside {png.name}")
    try:
        meta = json.loads(side.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise SidecarError(side, "json", "valid JSON", str(exc)) from exc
    for key in ("z_scale_mm", "z_offset_mm", "mm_per_px", "origin_mm"):
        if key not in meta:
            raise SidecarError(side, key, "a value (height-map sidecar)", "nothing")
    counts = cv2.imread(str(png), cv2.IMREAD_UNCHANGED)
    if counts is None:
        raise CorruptScanError(png, "png", "a readable PNG")
    if counts.dtype != np.uint16 or counts.ndim != 2:
        raise CorruptScanError(
            png, "pixels", "single-channel uint16", f"{counts.dtype} with shape {counts.shape}"
        )
    z, valid = decode_u16(counts, float(meta["z_scale_mm"]), float(meta["z_offset_mm"]))
    ident = meta.get("identity")
    return HeightMap(
        z=z,
        valid=valid,
        mm_per_px=float(meta["mm_per_px"]),
        origin_mm=(float(meta["origin_mm"][0]), float(meta["origin_mm"][1])),
        identity=ScanIdentity(**ident) if ident else None,
        meta=dict(meta.get("meta") or {}),
    )
