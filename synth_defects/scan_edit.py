"""Carry a map-level defect back onto a simulated scan: ``edit_from_maps(good, bad)``.

The result is a :data:`point_cloud.simulator.SurfaceEdit`: a callable ``(x, y, z) -> (z_new,
keep)`` in the weld's nominal frame (mm), for ``simulate_weld(..., edit=...)``. Where both
maps are measured the surface moves by the maps' height difference (bilinear); where the bad
map lost a cell the good one had, the points are dropped; elsewhere nothing changes. So the
demo scanner can emit the generator's defects as point clouds.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import numpy.typing as npt

from point_cloud.types import HeightMap

SurfaceEdit = Callable[[np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
F32 = npt.NDArray[np.float32]


def _sample(img: F32, hm: HeightMap, x: np.ndarray, y: np.ndarray, interp: int) -> F32:
    """``img`` (on ``hm``'s grid) at physical points; 0 outside the grid."""
    r, c = hm.rc_of(np.asarray(x, np.float64), np.asarray(y, np.float64))
    shape, n = np.shape(x), int(np.size(x))
    width = 1024  # cv2.remap wants maps under 32767 columns and rows: lay points out in rows
    pad = (-n) % width
    cols = np.pad(np.asarray(c, np.float32).ravel(), (0, pad), constant_values=-1.0)
    rows = np.pad(np.asarray(r, np.float32).ravel(), (0, pad), constant_values=-1.0)
    out = cv2.remap(img, cols.reshape(-1, width), rows.reshape(-1, width), interp,
                    borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
    return np.asarray(out, np.float32).ravel()[:n].reshape(shape)


def edit_from_maps(good: HeightMap, bad: HeightMap) -> SurfaceEdit:
    """The surface edit that turns ``good``'s weld into ``bad``'s (same grid required)."""
    grid = (good.shape, good.origin_mm, good.mm_per_px)
    if grid != (bad.shape, bad.origin_mm, bad.mm_per_px):
        raise ValueError(f"edit_from_maps: expected maps on one grid, found {good.shape} at "
                         f"{good.origin_mm} and {bad.shape} at {bad.origin_mm}")
    both = good.valid & bad.valid
    lost_b = good.valid & ~bad.valid
    # a lost cell sinks to the plate, so interpolation next to it stays consistent
    delta = np.where(both, bad.z - good.z, np.where(lost_b, -good.z, 0.0)).astype(np.float32)
    lost = lost_b.astype(np.float32)
    gained = (bad.valid & ~good.valid)
    # cells measured only in the bad map (a lump on a removed plate) rise to the bad height
    raise_to = np.where(gained, bad.z, 0.0).astype(np.float32)
    gained_f = gained.astype(np.float32)

    def edit(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        dz = _sample(delta, good, x, y, cv2.INTER_LINEAR)
        keep = _sample(lost, good, x, y, cv2.INTER_NEAREST) < 0.5
        up = _sample(gained_f, good, x, y, cv2.INTER_NEAREST) > 0.5
        z_new = np.where(up, np.maximum(z, _sample(raise_to, good, x, y, cv2.INTER_LINEAR)), z + dz)
        return z_new, keep

    return edit
