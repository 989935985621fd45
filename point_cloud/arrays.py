"""Row-wise helpers for (N, k) point arrays that avoid numpy's slow paths.

numpy 2.x reduces an (N, 3) array along axis 0 with a 3-element inner loop per row, and
boolean row indexing goes element by element: on 60,000 points ``p.min(axis=0)`` takes
2 ms where three column reductions take 0.1 ms, and ``p[mask]`` 1.6 ms where
``np.compress`` takes 0.3 ms. Prepare runs these on its subsample for every scan.
"""

from __future__ import annotations

from typing import Any, TypeVar, cast

import numpy as np
import numpy.typing as npt

from point_cloud.types import Mask

A = TypeVar("A", bound=npt.NDArray[Any])


def select_rows(points: A, mask: Mask) -> A:
    """The rows of ``points`` where ``mask`` is True (same as ``points[mask]``)."""
    return cast(A, np.compress(mask, points, axis=0))


def column_bounds(points: npt.NDArray[Any], columns: int) -> tuple[npt.NDArray[np.float64],
                                                                    npt.NDArray[np.float64]]:
    """(min, max) of each of the first ``columns`` columns, as float64."""
    lo = np.array([points[:, k].min() for k in range(columns)], dtype=np.float64)
    hi = np.array([points[:, k].max() for k in range(columns)], dtype=np.float64)
    return lo, hi


def column_means(points: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Mean of each column (one matrix-vector product)."""
    return np.asarray(np.ones(points.shape[0]) @ points / max(points.shape[0], 1))
