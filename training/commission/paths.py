"""What commissioning does differently per path shape: one strategy per
:class:`point_cloud.kinds.PathShape`, registered by its name.

A strategy makes the provisional profile a rough look is measured with, picks the bead's
straight middle, measures one scan's figures on it, turns the pooled figures into the
type's geometry and region of interest, and names the geometry kind the scans show. Adding
a path shape to the product means adding its strategy here beside its kind module.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from point_cloud.bead_geometry import BeadGeometry, square_plates
from point_cloud.config import Geometry, Roi
from point_cloud.kinds import PathShape, kind_named
from point_cloud.kinds.isolated import ISOLATED
from point_cloud.kinds.line import LINE
from point_cloud.kinds.lower import LOWER
from point_cloud.kinds.square import SQUARE, SQUARE_PATH
from point_cloud.kinds.upper import UPPER
from point_cloud.types import HeightMap
from training.commission.learn import (
    MIN_ROI_WIDTH_MM,
    PLATE_SEEN_SHARE,
    STEP_MM,
    Spread,
    step_range,
    whole_px,
)
from training.commission.survey import (
    END_ALLOWANCE_MM,
    MIDDLE_SHARE,
    ROI_MARGIN_MM,
    RoughShape,
    ScanSurvey,
    bead_run_mm,
    relief_figures,
    sections_across,
    side_level,
)

Mask = npt.NDArray[np.bool_]
Figures = tuple[dict[str, float], tuple[bool, bool]]
"""A scan's figures and which plates are seen (south, north; patch, outer plate)."""


class PathSurvey(ABC):
    """Commissioning's steps that depend on the bead's path shape."""

    path: ClassVar[PathShape]

    @abstractmethod
    def provisional(self, rough: RoughShape, width_mm: float,
                    height_mm: float) -> tuple[Geometry, Roi]:
        """The geometry and region the measurement pass runs with, from the rough look."""

    @abstractmethod
    def middle(self, geom: BeadGeometry) -> Mask:
        """Path samples of the bead's straight middle (before presence and measurement)."""

    @abstractmethod
    def figures(self, hm: HeightMap, geom: BeadGeometry, middle: Mask) -> Figures:
        """One scan's figures on its middle (:data:`survey.FIGURES` keys)."""

    @abstractmethod
    def learned(self, f: dict[str, Spread], plate: str, width_mm: float, height_mm: float,
                shadow: tuple[float, float]) -> tuple[Geometry, Roi]:
        """The type's geometry and region of interest from the pooled figures."""

    @abstractmethod
    def plate_kind(self, surveys: Sequence[ScanSurvey]) -> str:
        """The geometry kind the scans show (a registered kind's name)."""


class LineSurvey(PathSurvey):
    """A straight bead: its length, and its plates' kind from the step between its toes
    and the plates seen beside it."""

    path = LINE

    def provisional(self, rough: RoughShape, width_mm: float,
                    height_mm: float) -> tuple[Geometry, Roi]:
        kind = UPPER if rough.plate_plane else ISOLATED
        geo = Geometry(path=self.path.name, bead_length_mm=rough.length_mm,
                       bead_width_mm=width_mm, bead_height_mm=height_mm, plate=kind.name)
        return geo, Roi(length_mm=rough.length_mm + 2 * ROI_MARGIN_MM,
                        width_mm=max(16.0, width_mm + 2 * ROI_MARGIN_MM))

    def middle(self, geom: BeadGeometry) -> Mask:
        """The central part of the bead's run."""
        s = geom.s_mm
        on = s[geom.present]
        mid = float(np.median(on)) if on.size else 0.0
        return np.asarray(np.abs(s - mid) <= MIDDLE_SHARE * bead_run_mm(geom))

    def figures(self, hm: HeightMap, geom: BeadGeometry, middle: Mask) -> Figures:
        zs, t = sections_across(hm, geom, middle)
        step = float(hm.meta.get("plate_step_mm", 0.0))  # the pipeline's: south toe at 0
        (south, s_seen), (north, n_seen) = (
            side_level(zs, t, float(np.nanmedian(toe)), sign, unseen)
            for toe, sign, unseen in ((geom.toe_neg_mm[middle], -1.0, 0.0),
                                      (geom.toe_pos_mm[middle], 1.0, step)))
        width, height = relief_figures(zs, t, south, north)
        length = bead_run_mm(geom) + 2 * END_ALLOWANCE_MM
        return ({"bead_length_mm": length, "bead_width_mm": width, "bead_height_mm": height,
                 "plate_south_mm": south, "plate_north_mm": north,
                 "plate_step_mm": north - south}, (s_seen, n_seen))

    def learned(self, f: dict[str, Spread], plate: str, width_mm: float, height_mm: float,
                shadow: tuple[float, float]) -> tuple[Geometry, Roi]:
        length = f["bead_length_mm"].median
        stepped = {"plate_step_mm": step_range(f["plate_step_mm"])} \
            if kind_named(plate).nominal_step_mm else {}
        geo = Geometry(path=self.path.name, bead_length_mm=round(length, 1),
                       bead_width_mm=round(width_mm, 2), bead_height_mm=round(height_mm, 2),
                       plate=plate, shadow_fraction=shadow, **stepped)
        return geo, Roi(length_mm=whole_px(length + 2 * ROI_MARGIN_MM),
                        width_mm=whole_px(max(MIN_ROI_WIDTH_MM, width_mm + 2 * ROI_MARGIN_MM)))

    def plate_kind(self, surveys: Sequence[ScanSurvey]) -> str:
        """``upper``: the toes stand more than ``STEP_MM`` apart (a lap fillet); ``lower``:
        a plate seen beside the bead in most scans; ``isolated``: none seen."""
        step = float(np.median([abs(s.figures["plate_step_mm"]) for s in surveys]))
        if step > STEP_MM:
            return UPPER.name
        seen = np.mean([any(s.plates_seen) for s in surveys])
        return LOWER.name if seen >= PLATE_SEEN_SHARE else ISOLATED.name


class SquareSurvey(PathSurvey):
    """A square ring: its side, its patch and outer plate (figures, not kinds)."""

    path = SQUARE_PATH

    def provisional(self, rough: RoughShape, width_mm: float,
                    height_mm: float) -> tuple[Geometry, Roi]:
        geo = Geometry(path=self.path.name, square_side_mm=rough.length_mm,
                       bead_width_mm=width_mm, bead_height_mm=height_mm, plate=SQUARE.name,
                       outer_plate_tilt_deg=(0.0, 15.0))
        span = rough.length_mm + width_mm + 2 * ROI_MARGIN_MM
        return geo, Roi(length_mm=span, width_mm=span)

    def middle(self, geom: BeadGeometry) -> Mask:
        """The middle of each side, clear of the corners."""
        a = geom.path.half_side_mm
        return np.asarray(np.abs(geom.s_mm % (2 * a) - a) <= 0.5 * a)

    def figures(self, hm: HeightMap, geom: BeadGeometry, middle: Mask) -> Figures:
        width0 = float(np.nanmedian(geom.width_mm[middle]))
        patch, outer, slope, _ = square_plates(hm, geom.path, width0, 1.7 * width0)
        zs, t = sections_across(hm, geom, middle)
        outer_toe = outer + slope * width0 / 2
        width, height = relief_figures(zs, t, patch, outer_toe)
        sides = tuple(side_level(zs, t, float(np.nanmedian(toe)), sign, 0.0)[1]
                      for toe, sign in ((geom.toe_neg_mm[middle], -1.0),
                                        (geom.toe_pos_mm[middle], 1.0)))
        return ({"square_side_mm": 2 * geom.path.half_side_mm, "bead_width_mm": width,
                 "bead_height_mm": height, "plate_step_mm": patch - outer_toe,
                 "outer_tilt_deg": math.degrees(math.atan(-slope))}, (sides[0], sides[1]))

    def learned(self, f: dict[str, Spread], plate: str, width_mm: float, height_mm: float,
                shadow: tuple[float, float]) -> tuple[Geometry, Roi]:
        side = f["square_side_mm"].median
        tilt = max(abs(f["outer_tilt_deg"].p5), abs(f["outer_tilt_deg"].p95))
        geo = Geometry(path=self.path.name, square_side_mm=round(side, 2), plate=plate,
                       bead_length_mm=round(4 * side, 1), bead_width_mm=round(width_mm, 2),
                       bead_height_mm=round(height_mm, 2), shadow_fraction=shadow,
                       outer_plate_tilt_deg=(0.0, round(tilt, 1)),
                       plate_step_mm=step_range(f["plate_step_mm"]))
        span = whole_px(side + width_mm + 2 * ROI_MARGIN_MM)
        return geo, Roi(length_mm=span, width_mm=span)

    def plate_kind(self, surveys: Sequence[ScanSurvey]) -> str:
        return SQUARE.name


SURVEYS: dict[str, PathSurvey] = {s.path.name: s for s in (LineSurvey(), SquareSurvey())}
"""Each path shape's commissioning strategy, by the shape's name."""
