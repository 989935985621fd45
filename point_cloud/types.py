"""Core value types: a scan's identity, a point cloud, and a height map in millimetres."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]
Mask = npt.NDArray[np.bool_]

_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-]{0,63}$")


@dataclass(frozen=True)
class ScanIdentity:
    """Who a scan is: part serial, weld id and weld type (2..11)."""

    part_serial: str
    weld_id: str
    weld_type: int

    def stem(self) -> str:
        """The contract's file stem ``<part-serial>_<weld-id>_t<type>``."""
        return f"{self.part_serial}_{self.weld_id}_t{self.weld_type}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "part_serial": self.part_serial,
            "weld_id": self.weld_id,
            "weld_type": self.weld_type,
        }

    @staticmethod
    def is_safe_token(value: str) -> bool:
        """Serials and weld ids: letters, digits, '.', '-' (no '_', it separates the stem)."""
        return bool(_SAFE_ID.match(value))


@dataclass
class Cloud:
    """A scan as (N, 3) float32 points in mm, scanner frame (Z towards the scanner)."""

    points: F32
    identity: ScanIdentity | None = None
    source: Path | None = None

    def __post_init__(self) -> None:
        pts = np.asarray(self.points)
        if pts.ndim != 2 or pts.shape[1] != 3:
            raise ValueError(f"Cloud.points: expected shape (N, 3), found {pts.shape}")
        self.points = np.ascontiguousarray(pts, dtype=np.float32)

    def __len__(self) -> int:
        return int(self.points.shape[0])


@dataclass
class HeightMap:
    """A height map: Z in mm above the levelled plate, on a regular grid.

    Pixel (row r, col c) has its centre at ``x = origin_mm[0] + c * mm_per_px`` and
    ``y = origin_mm[1] - r * mm_per_px`` in the weld's aligned frame: the weld runs along +X
    (left to right) and +Y (north) is up in the image. Invalid cells (no points) hold 0
    in ``z`` and False in ``valid``.
    """

    z: F32
    valid: Mask
    mm_per_px: float
    origin_mm: tuple[float, float] = (0.0, 0.0)
    identity: ScanIdentity | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.z = np.asarray(self.z, dtype=np.float32)
        self.valid = np.asarray(self.valid, dtype=bool)
        if self.z.ndim != 2 or self.z.shape != self.valid.shape:
            raise ValueError(
                f"HeightMap: expected 2-D z and valid of equal shape, found {self.z.shape} "
                f"and {self.valid.shape}"
            )
        if not self.mm_per_px > 0:
            raise ValueError(f"HeightMap.mm_per_px: expected > 0, found {self.mm_per_px}")
        self.z = np.where(self.valid, self.z, np.float32(0.0)).astype(np.float32)

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.z.shape[0]), int(self.z.shape[1]))

    @property
    def valid_fraction(self) -> float:
        return float(self.valid.mean()) if self.valid.size else 0.0

    def xy_of(self, row: float | np.ndarray, col: float | np.ndarray) -> tuple[Any, Any]:
        """Physical (x, y) in mm of pixel centres."""
        return (
            self.origin_mm[0] + np.asarray(col) * self.mm_per_px,
            self.origin_mm[1] - np.asarray(row) * self.mm_per_px,
        )

    def rc_of(self, x: float | np.ndarray, y: float | np.ndarray) -> tuple[Any, Any]:
        """Fractional (row, col) of physical (x, y) in mm."""
        return (
            (self.origin_mm[1] - np.asarray(y)) / self.mm_per_px,
            (np.asarray(x) - self.origin_mm[0]) / self.mm_per_px,
        )

    def with_z(self, z: F32, valid: Mask | None = None) -> HeightMap:
        """A copy with new heights (and optionally a new validity mask); metadata is kept."""
        return replace(
            self,
            z=np.asarray(z, dtype=np.float32),
            valid=self.valid.copy() if valid is None else valid,
            meta=dict(self.meta),
        )
