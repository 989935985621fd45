"""Profile grids: a laser line-profiler's 2-D array of Z values and its JSON sidecar.

Layout: ``grid[i, j]`` is point ``j`` of profile ``i``; profiles run along X, points along Y:
``x = x0_mm + i * x_pitch_mm``, ``y = y0_mm + j * y_pitch_mm``,
``z = grid[i, j] * z_scale_mm + z_offset_mm``. Cells equal to ``invalid_value`` (and
non-finite cells of float grids) produce no point. The sidecar ``<stem>.json`` holds
``x_pitch_mm``, ``y_pitch_mm``, ``z_scale_mm``, ``z_offset_mm``, ``invalid_value`` (required;
``null`` means "only NaN is invalid") and optionally ``x0_mm``, ``y0_mm`` (default 0) plus
identity keys. Arrays come as NPY (any real dtype) or 16-bit PNG/TIFF (``invalid_value`` 0
by convention when written here).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from point_cloud.errors import SidecarError

GRID_KEYS = ("x_pitch_mm", "y_pitch_mm", "z_scale_mm", "z_offset_mm", "invalid_value")
U16_Z_SCALE_MM = 0.001
NPY_INVALID = -9999.0


@dataclass(frozen=True)
class GridSpec:
    """How to turn grid cells into millimetres (the sidecar's grid keys)."""

    x_pitch_mm: float
    y_pitch_mm: float
    z_scale_mm: float = 1.0
    z_offset_mm: float = 0.0
    invalid_value: float | None = None
    x0_mm: float = 0.0
    y0_mm: float = 0.0

    @staticmethod
    def is_grid_sidecar(data: dict[str, Any] | None) -> bool:
        return data is not None and any(k in data for k in ("x_pitch_mm", "y_pitch_mm"))

    @staticmethod
    def from_sidecar(data: dict[str, Any], where: str | Path) -> GridSpec:
        """Validate the grid keys of a sidecar dict; errors name the key."""
        for key in GRID_KEYS:
            if key not in data:
                raise SidecarError(where, key, "a value (profile-grid sidecar)", "nothing")
        values: dict[str, float] = {}
        for key in ("x_pitch_mm", "y_pitch_mm", "z_scale_mm", "z_offset_mm", "x0_mm", "y0_mm"):
            if key not in data:
                continue
            v = data[key]
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise SidecarError(where, key, "a finite number", repr(v))
            values[key] = float(v)
        for key in ("x_pitch_mm", "y_pitch_mm", "z_scale_mm"):
            if values[key] <= 0:
                raise SidecarError(where, key, "a number > 0", repr(values[key]))
        inv = data["invalid_value"]
        if inv is not None and (isinstance(inv, bool) or not isinstance(inv, int | float)):
            raise SidecarError(where, "invalid_value", "a number or null", repr(inv))
        return GridSpec(invalid_value=None if inv is None else float(inv), **values)

    def to_sidecar(self) -> dict[str, Any]:
        return {**asdict(self), "format": "profile-grid/1"}

    def to_points(self, grid: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
        """(N, 3) float32 points of the valid cells, profile by profile."""
        valid = np.isfinite(grid) if grid.dtype.kind == "f" else np.ones(grid.shape, bool)
        if self.invalid_value is not None:
            valid &= grid != self.invalid_value
        rows, cols = np.nonzero(valid)
        z = grid[rows, cols].astype(np.float64) * self.z_scale_mm + self.z_offset_mm
        return np.column_stack((self.x0_mm + rows * self.x_pitch_mm,
                                self.y0_mm + cols * self.y_pitch_mm, z)).astype(np.float32)


def typical_spacing(points: npt.NDArray[np.floating], cell_mm: float = 1.0) -> float:
    """Typical XY point spacing: sqrt(covered area / points), area from occupied 1 mm cells."""
    cells = np.floor(points[:, :2] / cell_mm).astype(np.int64)
    occupied = np.unique(cells[:, 0] * 1_000_003 + cells[:, 1]).size
    return math.sqrt(occupied * cell_mm**2 / max(points.shape[0], 1))


def rasterise(points: npt.NDArray[np.floating], pitch_mm: float | None = None
              ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_], GridSpec]:
    """Resample a cloud onto a profile grid in its own (scanner) frame.

    Each cell keeps the Z of the point nearest its centre. The default pitch is 1.5x the
    cloud's :func:`typical_spacing` (so almost every cell of a dense scan gets a point). Returns
    (z mm, valid, spec with ``z_scale_mm = 1``, ``z_offset_mm = 0``).
    """
    p = np.asarray(points, dtype=np.float64)
    p = p[np.isfinite(p).all(axis=1)]
    if p.shape[0] == 0:
        raise ValueError("rasterise: no finite points")
    lo = p[:, :2].min(axis=0)
    if pitch_mm is None:
        pitch_mm = 1.5 * typical_spacing(p)
    fi = (p[:, 0] - lo[0]) / pitch_mm
    fj = (p[:, 1] - lo[1]) / pitch_mm
    i, j = np.rint(fi).astype(np.intp), np.rint(fj).astype(np.intp)
    shape = (int(i.max()) + 1, int(j.max()) + 1)
    dist = (fi - i) ** 2 + (fj - j) ** 2
    order = np.argsort(-dist, kind="stable")            # nearest point written last wins
    z = np.zeros(shape)
    valid = np.zeros(shape, dtype=bool)
    z[i[order], j[order]] = p[order, 2]
    valid[i, j] = True
    spec = GridSpec(x_pitch_mm=pitch_mm, y_pitch_mm=pitch_mm, x0_mm=float(lo[0]),
                    y0_mm=float(lo[1]))
    return z, valid, spec


def encode_u16(z: npt.NDArray[np.float64], valid: npt.NDArray[np.bool_],
               spec: GridSpec) -> tuple[npt.NDArray[np.uint16], GridSpec]:
    """Quantise a float grid to uint16 (0 = invalid), 1 µm per count when the span allows."""
    zv = z[valid]
    lo = float(np.floor(zv.min() * 10) / 10) - 0.1 if zv.size else 0.0
    hi = float(zv.max()) if zv.size else 1.0
    scale = max(U16_Z_SCALE_MM, (hi - lo) / 65000.0)
    counts = np.clip(np.rint((z - lo) / scale), 1, 65535).astype(np.uint16)
    counts[~valid] = 0
    return counts, GridSpec(spec.x_pitch_mm, spec.y_pitch_mm, scale, lo, 0.0, spec.x0_mm,
                            spec.y0_mm)
