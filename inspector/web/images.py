"""PNG renderings of an inspection's artifacts: height maps in false colour, thumbnails.

Files are found only through ``Artifact`` rows: the caller passes the row, never a path
taken from a request.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from inspector.review.overlay import SCALE
from inspector.store.models import Artifact
from point_cloud.heightmap_io import preview_u8, read_heightmap
from point_cloud.types import HeightMap

log = logging.getLogger(__name__)

THUMB_WIDTH_PX = 200
COLORMAP = cv2.COLORMAP_TURBO


class ArtifactMissingError(FileNotFoundError):
    """The DB names a file that is no longer on disk (e.g. pruned by retention)."""


def height_range_mm(hm: HeightMap) -> tuple[float, float]:
    """The heights at the ends of the colour scale: 0.5 and 99.5 percentiles of valid cells."""
    zv = hm.z[hm.valid]
    if zv.size == 0:
        return 0.0, 0.0
    lo, hi = np.percentile(zv, [0.5, 99.5])
    return float(lo), float(hi)


def false_colour(hm: HeightMap) -> np.ndarray:
    """BGR uint8: heights through a colour map (blue low, red high); invalid cells black."""
    img = cv2.applyColorMap(preview_u8(hm, *height_range_mm(hm)), COLORMAP)
    img[~hm.valid] = 0
    return img


def colour_stops(n: int = 9) -> list[str]:
    """``n`` evenly spaced colours of the map, low to high, as ``#rrggbb``."""
    ramp = np.linspace(1, 255, n).astype(np.uint8)[None, :]
    bgr = cv2.applyColorMap(ramp, COLORMAP)[0]
    return [f"#{r:02x}{g:02x}{b:02x}" for b, g, r in bgr.tolist()]


def heightmap_scale(art: Artifact) -> tuple[float, float] | None:
    """The colour scale's ends in mm for a height-map artifact; None if it is unreadable."""
    try:
        return height_range_mm(read_heightmap(art.path))
    except (OSError, ValueError) as exc:
        log.warning("artifact %s: no colour scale (%s)", art.id, exc)
        return None


def _encode(img: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", img)
    if not ok:
        raise ValueError(f"PNG encoding failed for an image of shape {img.shape}")
    return bytes(buf.tobytes())


def _thumbnail(img: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]
    height = max(1, round(h * THUMB_WIDTH_PX / w))
    return cv2.resize(img, (THUMB_WIDTH_PX, height), interpolation=cv2.INTER_AREA)


@lru_cache(maxsize=256)
def _render(path: str, kind: str, thumb: bool, _stamp: tuple[int, int]) -> bytes:
    if kind == "heightmap":
        img = false_colour(read_heightmap(path))
        if not thumb:
            img = cv2.resize(img, (img.shape[1] * SCALE, img.shape[0] * SCALE),
                             interpolation=cv2.INTER_NEAREST)
    else:
        read = cv2.imread(path, cv2.IMREAD_COLOR)
        if read is None:
            raise ValueError(f"{path}: artifact {kind!r}: expected a readable PNG image")
        img = read
    return _encode(_thumbnail(img) if thumb else img)


def artifact_png(art: Artifact, thumb: bool = False) -> bytes:
    """The PNG to show for an artifact row (cached per file version)."""
    path = Path(art.path)
    try:
        st = path.stat()
    except OSError as exc:
        raise ArtifactMissingError(f"artifact {art.id}: {path} is not on disk") from exc
    return _render(str(path), art.kind, thumb, (st.st_mtime_ns, st.st_size))
