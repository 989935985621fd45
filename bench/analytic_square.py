"""Type 7's square ring as an analytic shape (bench/analytic_shapes.py's line bead, closed).

Weld frame (mm, noiseless): the bead's centreline is a square of side ``S`` (the type's
``square_side_mm``) centred on the origin; a point's offset ``t`` is its signed distance
outside that square (corners rounded outside, sharp inside). The bead's section is the line
bead's ``H (1 - |u|^n)^m`` with ``u = t / (w/2)``, its ripples running along the ring. The
plates: the patch inside the square (``t < 0``) stands ``patch_mm`` above the outer plate
(raised, level or recessed by 1-3 mm); the outer plate is flat under the bead and tilts by up
to 15 deg beyond its outer toe, rising or falling away from it. Under the bead, the base is
the ramp from the patch's level at the inner toe to the outer plate's at the outer toe (the
patch's edge lies hidden beneath the bead, on the centreline). In a fifth of the scans the
outer plate is cropped 1.5-4 mm beyond the outer toe.

Every defect sits on the south side (``y = -S/2``), clear of the corners, where the ring is
the line bead of the line frame ``(x, y + S/2)``, north (inward) positive: the same defects,
drawn the same way (a deviation is a bump of that side: a closed path has no ends to hold
a bend to). A deviated bead keeps each toe on its own plate, as a lap fillet's does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from bench.analytic_shapes import F64, B, Scene

OUTER_CROP_MM = (1.5, 4.0)


@dataclass
class RingScene(Scene):
    """A square ring bead around a patch, one defect on its south side."""

    half_side_mm: float = 10.0
    patch_mm: float = 0.0
    """The patch's top face above the outer plate's level at the bead."""
    outer_slope: float = 0.0
    """Rise of the outer plate per mm away from the bead's outer toe (negative: falling)."""

    # ----------------------------------------------------------------- frames
    def to_weld(self, x: Any, y: Any) -> tuple[Any, Any]:
        """The south side's line frame is the weld frame shifted north by half the side."""
        return x, y - self.half_side_mm

    def ring_offset(self, x: F64, y: F64) -> F64:
        """Signed distance outside the centreline square (the undeviated ring)."""
        a = self.half_side_mm
        qx, qy = np.abs(x) - a, np.abs(y) - a
        return np.asarray(np.hypot(np.clip(qx, 0, None), np.clip(qy, 0, None))
                          + np.minimum(np.maximum(qx, qy), 0.0), np.float64)

    def defect_region(self, x: F64, y: F64) -> B:
        """The south side's triangle: the points nearest to it."""
        return np.asarray((-y >= np.abs(x)) & (np.abs(x) <= self.half_side_mm))

    def offset(self, x: F64, y: F64) -> F64:
        """Signed distance outside the bead's (deviated) centreline."""
        t = self.ring_offset(x, y)
        return np.asarray(np.where(self.defect_region(x, y), t + self.centreline(x), t),
                          np.float64)

    def frame(self, x: F64, y: F64) -> tuple[F64, F64, F64]:
        b = self.bead
        v = -self.offset(x, y)                       # north of the south side: inward
        s = (np.arctan2(y, x) + np.pi) * 4 * self.half_side_mm / (2 * np.pi)
        core = b.across(v / b.half)
        z = b.top(s) * core
        if b.ripple_amp_mm > 0:
            u = v / b.half
            phase = 2 * np.pi * (s - b.ripple_bend_mm * u * u) / b.ripple_pitch_mm
            z = z + b.ripple_amp_mm * np.cos(phase + b.ripple_phase) * core
        return y + self.half_side_mm, v, np.asarray(z, np.float64)

    # ----------------------------------------------------------------- plates
    def plates(self, x: F64, y: F64) -> F64:
        """The patch inside the centreline square; the outer plate beyond it, tilting
        beyond the bead's outer toe."""
        t = self.ring_offset(x, y)
        outer = self.outer_slope * np.clip(t - self.bead.half, 0.0, None)
        return np.asarray(np.where(t < 0.0, self.patch_mm, outer), np.float64)

    def base(self, x: F64, y: F64) -> F64:
        """Under the bead the ramp from the patch at its inner toe to the outer plate at
        its outer toe, else the plates."""
        h = self.bead.half
        t = self.offset(x, y)
        inner, outer = self.patch_mm, 0.0
        ramp = inner + (outer - inner) * (t + h) / (2 * h)
        return np.asarray(np.where(np.abs(t) < h, ramp, self.plates(x, y)), np.float64)


def ring_scene(scene: Scene, rng: np.random.Generator, side_mm: float,
               step_range: tuple[float, float], tilt_range: tuple[float, float]) -> RingScene:
    """``scene``'s bead and defect on type 7's ring: the patch level, raised or recessed by
    ``step_range``; the outer plate flat, rising or falling by up to ``tilt_range``'s high
    end (a third each); the outer plate cropped in a fifth of the scans."""
    patch = float(rng.uniform(*step_range)) * float(rng.choice([0.0, 1.0, -1.0]))
    tilt = float(rng.uniform(0.0, tilt_range[1])) * float(rng.choice([0.0, 1.0, -1.0]))
    crop = rng.random() < 0.2
    return RingScene(bead=scene.bead, plate=True, isolation_mm=scene.isolation_mm,
                     crop_side=-1 if crop else 0, crop_mm=float(rng.uniform(*OUTER_CROP_MM)),
                     defect=scene.defect, p=scene.p, half_side_mm=side_mm / 2,
                     patch_mm=patch, outer_slope=float(np.tan(np.radians(tilt))))
