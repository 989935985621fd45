"""Projection of aligned points onto a regular height-map grid (max-Z or mean-Z per cell).

The hot path is fully vectorised: one ``cv2.transform`` maps points straight to fractional
pixel coordinates (column ``u``, row ``v``) and height, flat cell indices are computed with a
few array operations, and the per-cell reduction is ``np.maximum.at`` (max) or two
``np.bincount`` calls (mean). Points outside the grid and non-finite points go to one extra
"dump" cell that is dropped at the end. The full-cloud pass
(:func:`point_cloud.prepare.project_prepared`) compacts once, to the points that are in the
grid and near the outlier reference surface (one comparison tests both), before reducing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import cv2
import numpy as np
import numpy.typing as npt

from point_cloud.config import Roi
from point_cloud.types import F32, HeightMap, ScanIdentity

Reduce = Literal["max", "mean"]
I32 = npt.NDArray[np.int32]


@dataclass(frozen=True)
class Grid:
    """A regular grid in the aligned weld frame; pixel (r, c) centre at origin + (c, -r) * px."""

    rows: int
    cols: int
    mm_per_px: float
    origin_mm: tuple[float, float]

    @classmethod
    def for_roi(cls, roi: Roi, mm_per_px: float | None = None,
                centre_mm: tuple[float, float] = (0.0, 0.0)) -> Grid:
        """The ROI grid (length along X, width along Y) centred on ``centre_mm``."""
        px = float(mm_per_px or roi.mm_per_px)
        rows, cols = round(roi.width_mm / px), round(roi.length_mm / px)
        return cls(rows, cols, px, (centre_mm[0] - (cols - 1) * px / 2.0,
                                    centre_mm[1] + (rows - 1) * px / 2.0))

    @property
    def n_cells(self) -> int:
        return self.rows * self.cols

    def pixel_matrix(self) -> npt.NDArray[np.float64]:
        """3x4 affine map from aligned (x, y, z, 1) to (u, v, z): u, v are cell coordinates
        whose integer part is the column / row (cell edges at integers)."""
        inv = 1.0 / self.mm_per_px
        x_left = self.origin_mm[0] - 0.5 * self.mm_per_px
        y_top = self.origin_mm[1] + 0.5 * self.mm_per_px
        return np.array([[inv, 0.0, 0.0, -x_left * inv],
                         [0.0, -inv, 0.0, y_top * inv],
                         [0.0, 0.0, 1.0, 0.0]])

    def index_matrix(self) -> npt.NDArray[np.float64]:
        """:meth:`pixel_matrix` one cell up (u + 1, v + 1), the input :func:`cell_indices`
        wants: truncation to int is then a floor for every value above -1 (the shift rides
        on the transform instead of two more passes over the points)."""
        m = self.pixel_matrix()
        m[:2, 3] += 1.0
        return m


def to_pixels(points: F32, matrix: npt.ArrayLike) -> tuple[F32, F32, F32]:
    """Apply a 3x4 affine ``matrix`` to (N, 3) points; returns contiguous u, v, z arrays."""
    m = np.asarray(matrix, dtype=np.float64)
    src = np.ascontiguousarray(points, dtype=np.float32).reshape(-1, 1, 3)
    out: list[F32] = [np.asarray(cv2.transform(src, m[i:i + 1]), dtype=np.float32).reshape(-1)
                      for i in range(3)]
    return out[0], out[1], out[2]


def cell_indices(u1: F32, v1: F32, grid: Grid) -> I32:
    """Flat cell index ``row * cols + col`` per point from coordinates of
    :meth:`Grid.index_matrix`; ``grid.n_cells`` (the dump cell) for points outside the grid
    or with non-finite coordinates. One unsigned comparison per axis tests both bounds (NaN
    casts to a negative)."""
    with np.errstate(invalid="ignore"):
        col = u1.astype(np.int32)
        row = v1.astype(np.int32)
    col -= 1
    row -= 1
    inside = col.view(np.uint32) < grid.cols
    inside &= row.view(np.uint32) < grid.rows
    row *= grid.cols
    row += col
    np.putmask(row, np.logical_not(inside, out=inside), grid.n_cells)
    return row


class CellReducer:
    """Per-cell max (or mean) accumulated over chunks of points (flat indices in
    ``0..n_cells``; the last one is the dump cell and is dropped)."""

    def __init__(self, n_cells: int, how: Reduce = "max") -> None:
        if how not in ("max", "mean"):
            raise ValueError(f"reduce: expected 'max' or 'mean', found {how!r}")
        self.n_cells, self.how = n_cells, how
        self.acc: npt.NDArray[np.floating[Any]] = np.full(
            n_cells + 1, -np.inf if how == "max" else 0.0,
            dtype=np.float32 if how == "max" else np.float64)
        self.counts = np.zeros(n_cells + 1, dtype=np.float64)

    def add(self, flat: I32, z: F32) -> None:
        if self.how == "max":
            with np.errstate(invalid="ignore"):
                np.maximum.at(self.acc, flat, z)
        else:
            self.acc += np.bincount(flat, weights=z, minlength=self.n_cells + 1)
            self.counts += np.bincount(flat, minlength=self.n_cells + 1)

    def merge(self, other: CellReducer) -> None:
        """Take in what ``other`` (same cells, same reduction) accumulated."""
        if self.how == "max":
            np.maximum(self.acc, other.acc, out=self.acc)
        else:
            self.acc += other.acc
            self.counts += other.counts

    def result(self) -> tuple[F32, npt.NDArray[np.bool_]]:
        """(z per cell, valid per cell); invalid cells hold 0."""
        n = self.n_cells
        if self.how == "max":
            zc = self.acc[:n]
            valid = zc > -np.inf
        else:
            valid = self.counts[:n] > 0
            zc = self.acc[:n] / np.maximum(self.counts[:n], 1)
        return np.where(valid, zc, 0.0).astype(np.float32), valid


def reduce_cells(flat: I32, z: F32, n_cells: int,
                 how: Reduce = "max") -> tuple[F32, npt.NDArray[np.bool_]]:
    """Per-cell max (or mean) of ``z`` in one go (see :class:`CellReducer`)."""
    reducer = CellReducer(n_cells, how)
    reducer.add(flat, z)
    return reducer.result()


def project(points_aligned: F32, roi: Roi, mm_per_px: float | None = None,
            identity: ScanIdentity | None = None, *, how: Reduce = "max",
            centre_mm: tuple[float, float] = (0.0, 0.0)) -> HeightMap:
    """Project points already in the aligned weld frame onto the ROI grid.

    Each cell holds the max (default) or mean Z of its points; cells without points are
    invalid (z = 0). ``mm_per_px`` overrides ``roi.mm_per_px``.
    """
    grid = Grid.for_roi(roi, mm_per_px, centre_mm)
    u, v, z = to_pixels(points_aligned, grid.index_matrix())
    flat = cell_indices(u, v, grid)
    flat[~np.isfinite(z)] = grid.n_cells
    zc, valid = reduce_cells(flat, z, grid.n_cells, how)
    return HeightMap(z=zc.reshape(grid.rows, grid.cols), valid=valid.reshape(grid.rows, grid.cols),
                     mm_per_px=grid.mm_per_px, origin_mm=grid.origin_mm, identity=identity)


def nearest_fill(img: F32, seen: npt.NDArray[np.bool_]) -> F32:
    """``img`` with every unseen cell set to the nearest seen cell's value."""
    if seen.all() or not seen.any():
        return img
    _, labels = cv2.distanceTransformWithLabels((~seen).astype(np.uint8), cv2.DIST_L2, 3,
                                                labelType=cv2.DIST_LABEL_PIXEL)
    values = np.zeros(int(labels.max()) + 1, np.float32)
    values[labels[seen]] = img[seen]
    return values[labels]
