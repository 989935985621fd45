"""Parameter ranges of every defect class, in mm, drawn relative to a weld type's limits.

Bad examples are drawn clearly beyond the reject limit (x ``BAD_MARGIN``), acceptable ones
(a short cut, and every ``*_ok`` imperfection: a small pore or lump, a slight bend or
imbalance, a short lack) clearly within the limit (x ``OK_MARGIN``, a pixel's worth under
it): nothing lands in the margin band between the two unless ``near_limit`` is asked for
(then ranges reach the limits).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from point_cloud.config import WeldTypeProfile
from point_cloud.kinds import kind_of

BAD_MARGIN = 1.25
OK_MARGIN = 0.7
OK_FLOOR = 0.3
"""Acceptable imperfections are drawn from this share of their limit up to OK_MARGIN of it
(smaller ones look like the bead's own ripples and noise)."""


@dataclass(frozen=True)
class Range:
    """A closed interval [lo, hi] drawn uniformly."""

    lo: float
    hi: float

    def draw(self, rng: np.random.Generator) -> float:
        return float(rng.uniform(self.lo, self.hi)) if self.hi > self.lo else float(self.lo)

    def clamp_hi(self, hi: float) -> Range:
        return Range(min(self.lo, hi), min(self.hi, hi))


@dataclass(frozen=True)
class DefectRanges:
    """All ranges for one weld type (mm unless named otherwise)."""

    cut_mm: Range
    cut_ok_mm: Range
    cut_end_mm: Range  # length of the rounded bead ends at a cut
    hole_diameter_mm: Range
    hole_depth_frac: Range  # of the local bead height; >= 1 goes through to the plate
    ball_diameter_mm: Range
    ball_height_mm: Range  # above the local bead top
    deviation_mm: Range
    deviation_bend_frac: Range  # length of the bend as a fraction of the bead length
    excess_imbalance_mm: Range
    excess_section_mm: Range
    lack_length_mm: Range
    lack_retreat_mm: Range  # how far the toe stops short of the plate
    capture_valid_frac: Range  # of the source's valid cells kept by a failed capture
    # acceptable imperfections (the ``*_ok`` classes): clearly within the norm's limits
    hole_ok_diameter_mm: Range
    ball_ok_diameter_mm: Range
    ball_ok_height_mm: Range
    deviation_ok_mm: Range
    excess_ok_imbalance_mm: Range
    lack_ok_length_mm: Range

    def within_limits(self, rng: np.random.Generator) -> DefectRanges:
        """These ranges with every limited size drawn clearly within its limit: what an
        acceptable imperfection's maker draws (``make_ok``). The norm rejects a ball only
        when it is both wide and high, so an acceptable one is small or low (a coin)."""
        small = bool(rng.random() < 0.5)
        return replace(
            self, cut_mm=self.cut_ok_mm, hole_diameter_mm=self.hole_ok_diameter_mm,
            ball_diameter_mm=self.ball_ok_diameter_mm if small else self.ball_diameter_mm,
            ball_height_mm=self.ball_height_mm if small else self.ball_ok_height_mm,
            deviation_mm=self.deviation_ok_mm, excess_imbalance_mm=self.excess_ok_imbalance_mm,
            lack_length_mm=self.lack_ok_length_mm)


def ranges_for(profile: WeldTypeProfile, near_limit: bool = False) -> DefectRanges:
    """Ranges for ``profile``'s limits and geometry."""
    lim, geo = profile.limits, profile.geometry
    bad = 1.0 if near_limit else BAD_MARGIN
    ok = 1.0 if near_limit else OK_MARGIN
    length = kind_of(profile).path.length_mm(geo)
    width = geo.bead_width_mm
    return DefectRanges(
        cut_mm=Range(bad * lim.cut_reject_mm,
                     max(2.5 * lim.cut_reject_mm, bad * lim.cut_reject_mm)),
        cut_ok_mm=Range(OK_FLOOR * lim.cut_ok_mm, ok * lim.cut_ok_mm),
        cut_end_mm=Range(0.3, 0.8),
        hole_diameter_mm=Range(bad * lim.hole_reject_diameter_mm,
                               min(3.0 * lim.hole_reject_diameter_mm, 0.6 * width)),
        hole_depth_frac=Range(0.5, 1.3),
        ball_diameter_mm=Range(bad * lim.ball_reject_diameter_mm,
                               max(2.2, bad) * lim.ball_reject_diameter_mm),
        ball_height_mm=Range(bad * lim.ball_reject_height_mm, 2.0 * lim.ball_reject_height_mm),
        deviation_mm=Range(bad * lim.deviation_reject_mm,
                           min(2.3 * lim.deviation_reject_mm,
                               profile.roi.width_mm / 2 - width / 2 - 1.0)),
        deviation_bend_frac=Range(0.25, 0.45),
        excess_imbalance_mm=Range(bad * lim.excess_reject_imbalance_mm,
                                  min(2.2 * lim.excess_reject_imbalance_mm,
                                      0.8 * geo.bead_height_mm)),
        excess_section_mm=Range(min(1.5 * lim.excess_reject_length_mm, 0.6 * length), 0.6 * length),
        lack_length_mm=Range(min(1.5 * lim.lack_reject_length_mm, 0.5 * length), 0.5 * length),
        lack_retreat_mm=Range(0.25 * width, 0.4 * width),
        capture_valid_frac=Range(0.0, 0.8 * lim.min_valid_fraction),
        hole_ok_diameter_mm=Range(OK_FLOOR * lim.hole_reject_diameter_mm,
                                  ok * lim.hole_reject_diameter_mm),
        ball_ok_diameter_mm=Range(OK_FLOOR * lim.ball_reject_diameter_mm,
                                  ok * lim.ball_reject_diameter_mm),
        ball_ok_height_mm=Range(OK_FLOOR * lim.ball_reject_height_mm,
                                ok * lim.ball_reject_height_mm),
        deviation_ok_mm=Range(OK_FLOOR * lim.deviation_reject_mm, ok * lim.deviation_reject_mm),
        excess_ok_imbalance_mm=Range(OK_FLOOR * lim.excess_reject_imbalance_mm,
                                     ok * lim.excess_reject_imbalance_mm),
        lack_ok_length_mm=Range(OK_FLOOR * lim.lack_reject_length_mm,
                                ok * lim.lack_reject_length_mm),
    )
