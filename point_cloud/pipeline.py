"""Scan -> height map: THE one entry point used by the CLI, synth-defects and the daemon.

``scan_to_heightmap`` levels and aligns the cloud (:mod:`point_cloud.prepare`), projects it
onto the type's ROI grid (max-Z per cell by default) and records what it found in
``hm.meta``: plane normal and tilt, recovered offset and rotation, bead height and width
estimates, point counts and per-stage timings in ms.

Bead figures (:func:`bead_section`), measured on the map: cross-sections perpendicular to the
bead in its central part (the middle 60 % of a line bead; the middle 50 % of the N, E and S
sides of the square, away from corners and the start crater). A lap fillet's plate ramp
(the step prepare measured, ``hm.meta["plate_step_mm"]``, else the type's nominal one) is
removed. Height = median over sections of the section's maximum;
width = median over sections of the length of the section above 10 % of its own top.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from point_cloud.bead_geometry import plate_step_mm
from point_cloud.config import WeldTypeProfile, weld_type_profile
from point_cloud.errors import IdentityError
from point_cloud.kinds import kind_of
from point_cloud.prepare import prepare, project_prepared
from point_cloud.project import Reduce
from point_cloud.types import F32, Cloud, HeightMap

WIDTH_FRACTION = 0.1


@dataclass(frozen=True)
class BeadSection:
    """Bead height (mm above z = 0) and width (mm) measured on a map."""

    height_mm: float
    width_mm: float
    sections: int


def _sections(hm: HeightMap, profile: WeldTypeProfile) -> list[tuple[F32, npt.NDArray[np.float64]]]:
    """Cross-section stacks (sections x samples, NaN = invalid) with the offset in mm of
    each sample from the nominal centreline."""
    z = np.where(hm.valid, hm.z, np.nan).astype(np.float32)
    g, path = profile.geometry, kind_of(profile).path
    x, y = hm.xy_of(np.arange(hm.shape[0]), np.arange(hm.shape[1]))
    sections = path.map_sections(z, x, y, g)
    step = 0.0 if path.closed else plate_step_mm(hm, profile)
    if step:  # across a lap fillet's step: de-ramped from the south toe to the north one
        r = g.bead_width_mm / 2
        ramp = step * np.clip((y + r) / (2 * r), 0.0, 1.0)[None, :]
        sections = [(sec - ramp, across) for sec, across in sections]
    return sections


def bead_section(hm: HeightMap, profile: WeldTypeProfile) -> BeadSection:
    """Median bead height and width over central cross-sections (see the module doc);
    sections with less than 80 % of the nominal footprint measured are skipped."""
    half_w = profile.geometry.bead_width_mm / 2
    tops_all, widths = [], []
    for sec, across in _sections(hm, profile):
        if not sec.size:
            continue
        seen = np.isfinite(sec[:, np.abs(across) <= half_w]).mean(axis=1) >= 0.8
        if not seen.any():
            continue
        tops = np.nanmax(sec[seen], axis=1)
        above = np.nan_to_num(sec[seen], nan=-np.inf) >= WIDTH_FRACTION * tops[:, None]
        tops_all.append(tops)
        widths.append(above.sum(axis=1) * hm.mm_per_px)
    if not tops_all:
        return BeadSection(0.0, 0.0, 0)
    tops, width = np.concatenate(tops_all), np.concatenate(widths)
    return BeadSection(float(np.median(tops)), float(np.median(width)), int(tops.size))


def scan_to_heightmap(cloud: Cloud, profile: WeldTypeProfile | None = None, *,
                      how: Reduce = "max", mm_per_px: float | None = None) -> HeightMap:
    """Level, align, crop and project ``cloud`` (profile from its identity when None)."""
    if profile is None:
        if cloud.identity is None:
            raise IdentityError(cloud.source, "weld_type",
                                "a weld type (from the scan's identity or --type)", "none")
        profile = weld_type_profile(cloud.identity.weld_type)
    t0 = time.perf_counter()
    prep = prepare(cloud, profile)
    hm = project_prepared(cloud, prep, profile, how, mm_per_px)
    section = bead_section(hm, profile)
    hm.meta.update({"weld_type": profile.weld_type,
                    "bead_height_mm": round(section.height_mm, 3),
                    "bead_width_mm": round(section.width_mm, 3),
                    "total_ms": round((time.perf_counter() - t0) * 1e3, 2)})
    return hm


def read_and_project(path: str | Path, weld_type: int | None = None) -> HeightMap:
    """Read a scan file (any contract format) and turn it into a height map.

    ``weld_type`` overrides (and must agree with) the identity the file carries.
    """
    from point_cloud.read import read_scan

    cloud = read_scan(path)
    profile = weld_type_profile(weld_type) if weld_type is not None else None
    if weld_type is not None and cloud.identity is not None \
            and cloud.identity.weld_type != weld_type:
        from point_cloud.errors import IdentityConflictError

        raise IdentityConflictError(path, "weld_type", f"type {weld_type} (--type)",
                                    f"type {cloud.identity.weld_type} in the scan's identity")
    return scan_to_heightmap(cloud, profile)
