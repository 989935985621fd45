"""Plate-plane fitting (RANSAC + least squares) and the levelling rotation.

A plane is ``n . p + d = 0`` with unit normal ``n`` pointing up (n_z > 0), so ``n . p + d``
is a point's height above it. RANSAC hypotheses are evaluated all at once (arrays of
candidate normals against a scoring subset); hypotheses tilted more than ``max_tilt_deg``
from the scanner's Z are discarded, which keeps an oblique outer plate (type 7) from being
taken for the reference plate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from point_cloud.arrays import column_means, select_rows
from point_cloud.types import Mask

F64 = npt.NDArray[np.float64]
Points = npt.NDArray[np.floating[Any]]


@dataclass(frozen=True)
class Plane:
    """``normal . p + d = 0``; ``normal`` is unit length with a positive Z component."""

    normal: F64
    d: float

    @property
    def tilt_deg(self) -> float:
        """Angle between the normal and the scanner's +Z."""
        return math.degrees(math.acos(min(1.0, abs(float(self.normal[2])))))

    def heights(self, points: Points) -> F64:
        return np.asarray(points, dtype=np.float64) @ self.normal + self.d

    def shifted(self, dz: float) -> Plane:
        """The parallel plane ``dz`` mm higher."""
        return Plane(self.normal, self.d - dz)


def fit_plane_lsq(points: Points) -> Plane:
    """Least-squares plane (total least squares: smallest eigenvector of the covariance)."""
    p = np.asarray(points, dtype=np.float64)
    centre = column_means(p)
    q = p - centre
    _, vecs = np.linalg.eigh(q.T @ q)
    n = vecs[:, 0] if vecs[2, 0] >= 0 else -vecs[:, 0]
    return Plane(n, float(-n @ centre))


def ransac_plane(points: Points, rng: np.random.Generator, *, inlier_mm: float = 0.1,
                 max_tilt_deg: float = 6.0, hypotheses: int = 160,
                 score_points: int = 6000) -> tuple[Plane, Mask] | None:
    """Best near-horizontal plane by vectorised RANSAC, refined by least squares on its
    inliers (twice). Returns (plane, inlier mask over ``points``) or None."""
    p = np.asarray(points, dtype=np.float64)
    if p.shape[0] < 3:
        return None
    tri = p[rng.integers(0, p.shape[0], (hypotheses, 3))]
    normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    norm = np.linalg.norm(normals, axis=1)
    ok = norm > 1e-9
    normals, tri = normals[ok] / norm[ok, None], tri[ok]
    normals *= np.sign(normals[:, 2:3] + 1e-12)
    ok = normals[:, 2] >= math.cos(math.radians(max_tilt_deg))
    if not ok.any():
        return None
    normals, anchors = normals[ok], tri[ok, 0]
    d = -np.einsum("ij,ij->i", normals, anchors)
    score = p[rng.integers(0, p.shape[0], min(score_points, p.shape[0]))]
    resid = normals @ score.T  # (hypotheses, points): rows contiguous for the count
    resid += d[:, None]
    np.abs(resid, out=resid)
    counts = np.count_nonzero(resid <= inlier_mm, axis=1)  # 5x a bool sum over axis 0
    best = int(np.argmax(counts))
    plane = Plane(normals[best], float(d[best]))
    inliers = np.abs(plane.heights(p)) <= inlier_mm
    for _ in range(2):
        if inliers.sum() < 3:
            return None
        plane = fit_plane_lsq(select_rows(p, inliers))
        inliers = np.abs(plane.heights(p)) <= inlier_mm
    if plane.tilt_deg > max_tilt_deg:
        return None
    return plane, inliers


def levelling_matrix(plane: Plane, z_of_plane_mm: float = 0.0) -> F64:
    """4x4 rigid transform that turns ``plane`` horizontal at height ``z_of_plane_mm``.

    The rotation is the smallest one taking the normal to +Z (Rodrigues), so it adds no
    rotation about Z beyond second order in the tilt.
    """
    n = plane.normal
    v = np.cross(n, [0.0, 0.0, 1.0])
    s, c = float(np.linalg.norm(v)), float(n[2])
    rot = np.eye(3)
    if s > 1e-12:
        vx = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
        rot = rot + vx + vx @ vx * ((1 - c) / s**2)
    m = np.eye(4)
    m[:3, :3] = rot
    m[2, 3] = plane.d + z_of_plane_mm
    return m
