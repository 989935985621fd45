"""Analytic weld shapes with known truth: the norm gauge's independent test material.

Nothing here comes from ``synth_defects`` or ``point_cloud/simulator.py``: the bead, the plate
and every defect are closed-form height fields written for this benchmark, sampled the way
a line scanner samples (profile by profile, on a grid fixed to the *scanner*, not the weld),
with the contract's scanner effects and pose (shared SCANS.md). Each scan comes with its
:class:`Truth`: the defect class, the size of the quantity the weld norm limits (mm) and
where it is, (x, y) in the weld frame (bead along +X, centred on the origin).

Weld frame (mm, noiseless)
--------------------------
Bead: a straight bead along +X from ``-L/2`` to ``+L/2`` (``L`` = the type's
``bead_length_mm``), width ``w`` in 5-7 mm, height ``H`` in 1.5-2.5 mm. Cross-section
``H (1 - |u|^n)^m`` with ``u`` the offset from the centreline over ``w/2``: ``n`` in 2-6
(2 = parabolic, 6 = flat-topped), ``m`` in 0.6-1.0 (below 1 the toe gets steeper). The
ends are half-ellipses of semi-axis ``c`` in 0.6-1.2 x ``w/2`` along X (``u`` is then the
normalised elliptical radius). End craters (40 %): a Gaussian dip of 0.1-0.35 mm, sigma
0.6-1.2 mm, centred 0.6-1.0 x ``w/2`` inside each tip, scaled with the local height so it
never digs below the plate. Optional weave ripples (70 %): crescent-shaped
(``cos(2 pi (x - k u^2) / pitch)``), pitch 0.8-2 mm, amplitude 0.01-0.08 mm, fading to 0
at the toes; a slow height wave of up to 0.05 mm.

Plate: the plane ``z = 0`` around the bead for the plate types (4, 5), one side's plate
cropped 1.5-4 mm beyond the toe in a fifth of the scans; for the isolated types (3, 10,
11) it is there half the time (scanners may or may not remove it): without it, only points
more than 0.02-0.1 mm above ``z = 0`` are emitted. A lap fillet (2, 8, 9): the upper plate's
top face 1-3 mm above the lower plate north of the nominal centreline, its edge hidden
under the bead, which stands on the ramp from its south toe's plate to its north toe's
(the ramp spans the footprint's local width, so the rounded ends meet both plates); beyond
the bead's ends and in a cut the plates and the edge show. The lower plate removed (no
point within 0.02-0.1 mm of it), cropped beyond the toe or whole, a third each; the upper
one cropped in a fifth of the scans with the lower whole; a deviated bead keeps each toe
on its own plate (``LAP_STRADDLE_MM``). Type 7's square ring: bench/analytic_square.py.

Defects (the truth is the drawn size; sizes from half to three times the norm's limit):

* ``hole``: a cylindrical pit (vertical wall, bottom parallel to the surface or flat) or a
  conical pit (wall slope 1-3, flat bottom where the cone is deeper than ``d``), diameter
  ``D`` (at most ``w - 1``) at the rim, depth ``d`` 0.4-1.5 mm, clipped at the plate
  (through holes show the plate); a quarter of them have an unseen bottom (no points
  inside the bottom disc). Anywhere on the bead clear of the end caps. Size: ``D``.
* ``ball``: added on the bead surface: a spherical cap of base ``D`` and height ``h``, a
  flattened (half-ellipsoid) cap, or, for ``h > D/2``, a sphere of diameter ``D`` standing
  ``h`` above the surface (its silhouette seen from above is ``D``). On the top (half),
  the flank (a quarter) or across the toe (a quarter). Size: ``D``; ``extra`` holds ``h``
  and its height above the local bead top (the norm's second condition).
* ``cut``: a box gap across the whole bead, length ``G`` along X (vertical walls; the plate
  shows in the gap, or nothing where the plate was removed). Size: ``G``.
* ``deviation``: the centreline bent by ``A`` (sign drawn) over the start, the middle or the
  end (at most 35 % of the bead between its end caps): a raised-cosine bump with a plateau
  of 1.5-4 mm in the middle, or a linear / raised-cosine ramp then a hold (1.5 mm or more
  clear of the end cap) to the bead's end. ``A`` is capped so that the bent bead's toe stays
  0.8 mm inside the ROI (3.7-4.7 mm for the default 16 mm ROI). Size: ``|A|``.
* ``excess``: a north/south imbalance of ``e`` over a plateau of 5-15 mm along X (1 mm
  raised-cosine tapers outside it): one half raised by ``e/2`` and the other lowered by
  ``e/2``, or one half raised by ``e`` (the heights at a quarter width either side of the
  centreline differ by exactly ``e`` anywhere between 1/4 and 3/4 of the half width).
  Size: ``e``.
* ``good``: none of these (the natural variation above only).

Scanner and pose (scanner frame, as SCANS.md)
---------------------------------------------
Grid: profiles along the scanner's X at spacing ``sx``, points along its Y at ``sy``, each
drawn in 0.05-0.2 mm (anisotropic), with +-10 % jitter; spacing is scaled up (to 0.2 mm at
most) so that the cloud stays under ``max_points``. The grid is fixed to the scanner, so it
is turned against the weld by the pose's rotation. Pose: rotation about Z +-5 deg, plate tilt
up to 3 deg (random direction), X/Y offset +-3 mm, Z offset +-100 mm. Z noise 0.01-0.05 mm
(1 sigma, along scanner Z), outliers 0-3 % moved 1-8 mm above or below. Shadows (half the
scans): a camera 10-35 deg off vertical on one side occludes what the surface hides from
it (the far flank, the plate beside the toe, a pit's wall); type 5 also loses one side's
plate band (20-40 % of the ROI). Shadows and removed plates give no points, never zeros.

Use::

    scan = make_shape("hole", weld_type=4, seed=7)
    scan.cloud          # point_cloud.types.Cloud, scanner frame
    scan.truth          # Truth(defect="hole", size_mm=..., location_mm=(x, y), ...)
    scan.params         # every number drawn (JSON-ready)
    make_shape("hole", 4, 7, size_mm=1.2, defect_overrides={"cone": 0.0},
               scan_overrides={"shadow": False}, plate=True)   # pin what you investigate
    make_shape("hole", 4, 7, defect_free=True)   # the same scan without the hole (a twin)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from point_cloud.config import WeldTypeProfile, weld_type_profile
from point_cloud.types import Cloud, ScanIdentity

F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]

CLASSES: tuple[str, ...] = ("good", "hole", "ball", "cut", "deviation", "excess")
DEFECTS: tuple[str, ...] = CLASSES[1:]
SUPPORTED_TYPES: tuple[int, ...] = (2, 3, 4, 5, 7, 8, 9, 10, 11)
QUANTITY: dict[str, str] = {
    "good": "none", "hole": "hole_diameter", "ball": "ball_diameter", "cut": "cut_length",
    "deviation": "deviation_offset", "excess": "excess_imbalance",
}
SIZE_RANGE = (0.5, 3.0)
"""Defect sizes are drawn from this range times the norm's limit."""
SPACING_MM = (0.05, 0.2)
MAX_POINTS = 600_000
MARGIN_MM = 1.5
"""The scan covers the type's ROI plus this much on every side (in the weld frame)."""
ROI_EDGE_MM = 0.8
"""A deviated bead's toe stays this far inside the ROI's long edge."""
SCAN_KEYS: tuple[str, ...] = ("spacing_mm", "rotation_deg", "tilt_deg", "offset_mm",
                              "z_offset_mm", "noise_mm", "outlier_fraction", "shadow",
                              "camera_side", "camera_deg", "band_mm")
"""Scanner and pose values ``make_shape(scan_overrides=...)`` can fix."""
LAP_STRADDLE_MM = 0.5
"""A lap fillet's deviated bead keeps each toe this far on its own plate (the model of a
bead standing on the ramp between its toes' plates holds while it straddles the joint)."""
SHADOW_AUX_MM = (0.2, 0.05)
"""Grid (along X, across Y) on which occlusion is worked out before the lookup per point."""


# --------------------------------------------------------------------------- truth
@dataclass(frozen=True)
class Truth:
    """What an analytic scan holds: the class, the norm's quantity and where it is."""

    defect: str
    quantity: str
    size_mm: float
    location_mm: tuple[float, float] | None
    limit_mm: float
    exceeds: bool
    """Beyond the norm's limit (a ball: diameter and height above the local bead top)."""
    extra: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"defect": self.defect, "quantity": self.quantity,
                "size_mm": round(self.size_mm, 4),
                "location_mm": (None if self.location_mm is None
                                else [round(v, 3) for v in self.location_mm]),
                "limit_mm": self.limit_mm, "exceeds": self.exceeds,
                "extra": {k: round(v, 4) for k, v in self.extra.items()}}


@dataclass
class AnalyticScan:
    """An analytic weld scan: the cloud, its truth, the profile to project it with."""

    cloud: Cloud
    truth: Truth
    profile: WeldTypeProfile
    params: dict[str, Any]


# --------------------------------------------------------------------------- bead
@dataclass(frozen=True)
class Bead:
    """The straight bead and its natural variation (weld frame, mm)."""

    length_mm: float
    width_mm: float
    height_mm: float
    n_exp: float
    m_exp: float
    cap_mm: float
    ripple_amp_mm: float
    ripple_pitch_mm: float
    ripple_bend_mm: float
    ripple_phase: float
    crater_depth_mm: float
    crater_sigma_mm: float
    crater_inset_mm: float
    wave_amp_mm: float
    wave_len_mm: float
    wave_phase: float

    @property
    def half(self) -> float:
        return 0.5 * self.width_mm

    @property
    def straight_end(self) -> float:
        """|x| where the straight part ends and the elliptical caps begin."""
        return 0.5 * self.length_mm - self.cap_mm

    def across(self, u: F64) -> F64:
        """Normalised cross-section (1 on the centreline, 0 at and beyond the toes)."""
        a = np.minimum(np.abs(u), 1.0)
        return np.asarray((1.0 - a**self.n_exp) ** self.m_exp, np.float64)

    def top(self, x: F64) -> F64:
        """Crest height along X (the slow height wave included)."""
        return self.height_mm + self.wave_amp_mm * np.sin(
            2 * np.pi * x / self.wave_len_mm + self.wave_phase)

    def surface(self, x: F64, v: F64) -> F64:
        """Bead height at ``x`` and offset ``v`` from the (possibly bent) centreline."""
        u = v / self.half
        dx = np.maximum(np.abs(x) - self.straight_end, 0.0) / self.cap_mm
        rho = np.sqrt(u * u + dx * dx)
        core = self.across(rho)
        z = self.top(x) * core
        if self.ripple_amp_mm > 0:
            phase = 2 * np.pi * (x - self.ripple_bend_mm * u * u) / self.ripple_pitch_mm
            z = z + self.ripple_amp_mm * np.cos(phase + self.ripple_phase) * core
        if self.crater_depth_mm > 0:
            xc = 0.5 * self.length_mm - self.crater_inset_mm
            d2 = (np.abs(x) - xc) ** 2 + v * v
            dip = self.crater_depth_mm / self.height_mm * np.exp(
                -d2 / (2 * self.crater_sigma_mm**2))
            z = z * (1.0 - np.minimum(dip, 0.9))
        return np.asarray(z, np.float64)


def _draw_bead(rng: np.random.Generator, length: float) -> Bead:
    w = rng.uniform(5.0, 7.0)
    rip = rng.random() < 0.7
    crater = rng.random() < 0.4
    return Bead(
        length_mm=length, width_mm=w, height_mm=rng.uniform(1.5, 2.5),
        n_exp=rng.uniform(2.0, 6.0), m_exp=rng.uniform(0.6, 1.0),
        cap_mm=rng.uniform(0.6, 1.2) * w / 2,
        ripple_amp_mm=rng.uniform(0.01, 0.08) if rip else 0.0,
        ripple_pitch_mm=rng.uniform(0.8, 2.0), ripple_bend_mm=rng.uniform(-1.0, 1.0),
        ripple_phase=rng.uniform(0, 2 * np.pi),
        crater_depth_mm=rng.uniform(0.1, 0.35) if crater else 0.0,
        crater_sigma_mm=rng.uniform(0.6, 1.2), crater_inset_mm=rng.uniform(0.6, 1.0) * w / 2,
        wave_amp_mm=rng.uniform(0.0, 0.05), wave_len_mm=rng.uniform(15.0, 40.0),
        wave_phase=rng.uniform(0, 2 * np.pi),
    )


# --------------------------------------------------------------------------- defects
def _smooth_step(t: F64) -> F64:
    """0 -> 1 over t in [0, 1], raised cosine."""
    return np.asarray(0.5 - 0.5 * np.cos(np.pi * np.clip(t, 0.0, 1.0)), np.float64)


@dataclass
class Scene:
    """The noiseless world: bead, plate and one defect, as ``surface(x, y) -> (z, seen)``."""

    bead: Bead
    plate: bool
    isolation_mm: float
    crop_side: int  # 0: none; +1 / -1: the plate beyond ``crop_mm`` on that side is cropped
    crop_mm: float
    defect: str
    p: dict[str, float]
    step_mm: float = 0.0
    """A lap fillet's upper plate: its top face this far above the lower plate, north of
    the nominal centreline (``y >= 0``); 0 for one plate."""
    lower_removed: bool = False
    """A lap fillet's lower plate removed by the scanner's software: no point within
    ``isolation_mm`` of its plane."""

    # ----------------------------------------------------------------- centreline
    def centreline(self, x: F64) -> F64:
        """Offset of the bead centreline from the straight nominal path (deviation)."""
        if self.defect != "deviation":
            return np.zeros_like(x)
        p = self.p
        a = p["offset_mm"] * p["sign"]
        if p["bump"]:  # middle: bump with a plateau
            d = np.abs(x - p["x_mm"]) - p["plateau_mm"] / 2
            return np.asarray(a * (1.0 - _smooth_step(d / p["ramp_mm"])), np.float64)
        # start (-1) or end (+1): ramp from x_ramp towards that end, then hold
        t = (x - p["x_ramp_mm"]) * p["where"] / p["ramp_mm"]
        ramp = np.clip(t, 0.0, 1.0) if p["linear"] else _smooth_step(t)
        return np.asarray(a * ramp, np.float64)

    # ----------------------------------------------------------------- frames
    def to_weld(self, x: Any, y: Any) -> tuple[Any, Any]:
        """Weld-frame (x, y) of a point given in the defect's line frame (the bead along
        +X through the origin): the same for a line bead."""
        return x, y

    def frame(self, x: F64, y: F64) -> tuple[F64, F64, F64]:
        """At weld-frame points: y in the defect's line frame, the offset from the (bent)
        centreline (north +) and the defect-free bead's height above its base."""
        v = y - self.centreline(x)
        return y, v, self.bead.surface(x, v)

    def defect_region(self, x: F64, y: F64) -> B:
        """Where the defect may change the surface: anywhere on a line bead."""
        return np.ones(x.shape, bool)

    # ----------------------------------------------------------------- plates
    def plates(self, x: F64, y: F64) -> F64:
        """The plates' top face: 0, and the upper plate's ``step_mm`` north of its edge."""
        return np.where(y >= 0.0, self.step_mm, 0.0) if self.step_mm else np.zeros_like(y)

    def base(self, x: F64, y: F64) -> F64:
        """What the bead stands on: the plates, and under a lap fillet the ramp from the
        plate's level at its south toe to the plate's at its north toe (the upper plate's
        edge hidden beneath it); the ramp spans the footprint's local width (the rounded
        ends narrow it), so the surface meets each plate at the toes."""
        if not self.step_mm:
            return np.zeros_like(x)
        b = self.bead
        yc = self.centreline(x)
        dx = np.maximum(np.abs(x) - b.straight_end, 0.0) / b.cap_mm
        h = b.half * np.sqrt(np.clip(1.0 - dx * dx, 0.0, None))
        south, north = self.plates(x, yc - h), self.plates(x, yc + h)
        ramp = south + (north - south) * np.clip((y - yc + h) / np.maximum(2 * h, 1e-9), 0, 1)
        return np.asarray(np.where(np.abs(y - yc) < h, ramp, self.plates(x, y)), np.float64)

    # ----------------------------------------------------------------- surface
    def surface(self, x: F64, y: F64) -> tuple[F64, B]:
        """Noiseless height above the lower plate and whether the scanner can get a point
        there."""
        z, seen = self._above_base(x, y)
        base = self.base(x, y)
        if self.defect == "cut":   # the plates show in the gap, a step's edge too
            gap = (np.abs(x - self.p["x_mm"]) < self.p["size_mm"] / 2) & self.defect_region(x, y)
            base = np.where(gap, self.plates(x, y), base)
        z = base + z
        if self.lower_removed:
            seen &= (y >= 0.0) | (z > self.isolation_mm)
        return np.asarray(z, np.float64), seen

    def _above_base(self, x: F64, y: F64) -> tuple[F64, B]:
        """Height above :meth:`base` and whether the scanner can get a point there."""
        b = self.bead
        yl, v, bead_z = self.frame(x, y)
        z = bead_z
        seen = np.ones(x.shape, bool)
        p = self.p
        if self.defect == "excess":
            z = self._excess(x, v, z)
        elif self.defect == "cut":
            z = np.where(np.abs(x - p["x_mm"]) < p["size_mm"] / 2, 0.0, z)
        elif self.defect == "ball":
            z = z + self._ball_add(x, yl)
        elif self.defect == "hole":
            z, seen = self._hole(x, yl, z)
        region = self.defect_region(x, y)
        z, seen = np.where(region, z, bead_z), seen | ~region
        if not self.plate:
            seen &= z > self.isolation_mm
        if self.crop_side:
            seen &= (self.crop_side * v <= b.half + self.crop_mm) | (z > self.isolation_mm)
        return z, seen

    def _excess(self, x: F64, v: F64, z: F64) -> F64:
        b, p = self.bead, self.p
        u = v / b.half
        a = np.abs(u)
        core_q = float(b.across(np.array([0.75]))[0])
        s = np.where(a <= 0.25, np.sin(0.5 * np.pi * np.clip(a / 0.25, 0, 1)),
                     np.where(a <= 0.75, 1.0, b.across(u) / core_q))
        s = s * np.sign(u)  # odd: +1 on the north half's plateau, -1 on the south's
        d = np.abs(x - p["x_mm"]) - p["section_mm"] / 2
        window = 1.0 - _smooth_step(d / 1.0)
        side = p["side"]
        if p["one_sided"]:
            delta = p["size_mm"] * np.maximum(side * s, 0.0)
        else:
            delta = 0.5 * p["size_mm"] * side * s
        new = z + delta * window
        return np.asarray(np.maximum(new, 0.3 * z), np.float64)

    def _ball_add(self, x: F64, y: F64) -> F64:
        p = self.p
        r = np.hypot(x - p["x_mm"], y - p["y_mm"])
        a, h = p["size_mm"] / 2, p["height_mm"]
        kind = p["kind"]
        if kind == 1.0:  # flattened: half ellipsoid of semi-axes a, h
            return np.asarray(h * np.sqrt(np.clip(1 - (r / a) ** 2, 0, None)), np.float64)
        if h <= a:  # spherical cap of base radius a, height h
            rs = (a * a + h * h) / (2 * h)
            add = np.sqrt(np.clip(rs * rs - r * r, 0, None)) - (rs - h)
            return np.asarray(np.where(r < a, np.maximum(add, 0.0), 0.0), np.float64)
        # a sphere of radius a standing h above the surface (seen from above: diameter 2a)
        add = (h - a) + np.sqrt(np.clip(a * a - r * r, 0, None))
        return np.asarray(np.where(r < a, add, 0.0), np.float64)

    def _hole(self, x: F64, y: F64, z: F64) -> tuple[F64, B]:
        p = self.p
        r = np.hypot(x - p["x_mm"], y - p["y_mm"])
        R, d = p["size_mm"] / 2, p["depth_mm"]
        inside = r < R
        if p["cone"]:
            depth = np.minimum(d, p["slope"] * (R - r))
            r_bottom = max(0.0, R - d / p["slope"])
        else:
            depth = np.full_like(r, d)
            r_bottom = R
        # a flat bottom lies ``d`` below the rim's lowest point, else it follows the surface
        new = np.minimum(z, p["rim_z_mm"] - depth) if p["flat"] else z - depth
        z = np.where(inside, np.maximum(new, 0.0), z)
        seen = ~(bool(p["unseen"]) & (r < r_bottom))
        return np.asarray(z, np.float64), seen

    def stats_of_ball(self) -> tuple[float, float]:
        """(highest point of the ball above the plate, its height above the local crest)."""
        p = self.p
        a = p["size_mm"] / 2
        g = np.linspace(-a, a, 81)
        gx, gy = np.meshgrid(p["x_mm"] + g, p["y_mm"] + g)
        z, _ = self.surface(*self.to_weld(gx.ravel(), gy.ravel()))
        top = float(z.max())
        # the crest: the highest point of the bead's section there without the ball (on a
        # step's ramp it lies off the centreline, and above the ramp's middle)
        v = np.linspace(-self.bead.half, self.bead.half, 241)
        x = np.full_like(v, p["x_mm"])
        bare, _ = replace(self, defect="good").surface(*self.to_weld(x, v + self.centreline(x)))
        return top, top - float(bare.max())


# --------------------------------------------------------------------------- draws
def size_range(defect: str, profile: WeldTypeProfile) -> tuple[float, float]:
    """The drawn size range of a defect class: SIZE_RANGE x the norm's limit (mm)."""
    lim = limit_of(defect, profile)
    return SIZE_RANGE[0] * lim, SIZE_RANGE[1] * lim


def limit_of(defect: str, profile: WeldTypeProfile) -> float:
    lim = profile.limits
    return {"good": 0.0, "hole": lim.hole_reject_diameter_mm,
            "ball": lim.ball_reject_diameter_mm, "cut": lim.cut_reject_mm,
            "deviation": lim.deviation_reject_mm,
            "excess": lim.excess_reject_imbalance_mm}[defect]


def _draw_defect(defect: str, rng: np.random.Generator, bead: Bead, profile: WeldTypeProfile,
                 size: float | None) -> dict[str, float]:
    lo, hi = size_range(defect, profile) if defect != "good" else (0.0, 0.0)
    s = float(rng.uniform(lo, hi)) if size is None else float(size)
    L, half = bead.length_mm, bead.half
    # clear of the rounded ends by any definition (the cap's length or half the width)
    end = max(bead.cap_mm, half) + 0.3
    room = 0.5 * L - end
    usable = L - 2 * end
    p: dict[str, float] = {"size_mm": s}
    if defect == "hole":
        s = min(s, bead.width_mm - 1.0)
        R = s / 2
        p.update(size_mm=s, depth_mm=rng.uniform(0.4, 1.5), cone=float(rng.random() < 0.5),
                 slope=rng.uniform(1.0, 3.0), flat=float(rng.random() < 0.3),
                 unseen=float(rng.random() < 0.25))
        xr = max(0.0, room - R - 0.5)
        yr = max(0.0, 0.7 * (half - R))
        p.update(x_mm=rng.uniform(-xr, xr), y_mm=rng.uniform(-yr, yr))
        ang = np.linspace(0, 2 * np.pi, 72, endpoint=False)
        rim = bead.surface(p["x_mm"] + R * np.cos(ang), p["y_mm"] + R * np.sin(ang))
        p["rim_z_mm"] = float(rim.min())  # a flat bottom lies d below the rim's lowest point
    elif defect == "ball":
        a = s / 2
        h = rng.uniform(0.25, max(0.4, min(s, 2.0)))
        kind = float(rng.choice([0.0, 1.0], p=[0.7, 0.3]))
        if kind == 1.0:
            h = min(h, 1.2 * a)
        where = rng.random()
        if where < 0.5:
            y = rng.uniform(-0.3, 0.3) * half
        elif where < 0.75:
            y = rng.choice([-1, 1]) * rng.uniform(0.3, 0.7) * half
        else:
            y = rng.choice([-1, 1]) * (half + rng.uniform(-0.4, 0.3) * a)
        xr = max(0.0, room - a - 0.5)
        p.update(height_mm=h, kind=kind, x_mm=rng.uniform(-xr, xr), y_mm=float(y),
                 where=float(where))
    elif defect == "cut":
        xr = max(0.0, room - s / 2 - 1.5)
        p.update(x_mm=rng.uniform(-xr, xr))
    elif defect == "deviation":
        s = min(s, 0.5 * profile.roi.width_mm - ROI_EDGE_MM - half)
        if profile.geometry.plate in ("upper", "square"):  # the bead straddles the joint
            s = min(s, half - LAP_STRADDLE_MM)
        where = float(rng.choice([-1.0, 0.0, 1.0]))
        if profile.geometry.path == "square":   # a closed path: a bump, no end to hold to
            where = 0.0
        bent = 0.35 * usable  # at most this much of the bead between its end caps is bent
        p.update(size_mm=s, offset_mm=s, sign=float(rng.choice([-1.0, 1.0])),
                 linear=float(rng.random() < 0.4))
        if where == 0.0:  # a bump: plateau between two raised-cosine ramps
            plateau = rng.uniform(1.5, 4.0)
            rmax = max(1.0, (bent - plateau) / 2)
            ramp = rng.uniform(min(3.0, rmax), rmax)
            xr = max(0.0, room - plateau / 2 - ramp)
            p.update(bump=1.0, x_mm=rng.uniform(-xr, xr), ramp_mm=ramp, plateau_mm=plateau,
                     linear=0.0)
            p["location_x_mm"] = p["x_mm"]
        else:  # a ramp, then the bent offset held to the bead's end
            hold = rng.uniform(1.5, 1.5 + 0.15 * usable)  # held stretch clear of the end cap
            rmax = max(1.0, bent - hold)
            ramp = rng.uniform(min(3.0, rmax), rmax)
            p.update(bump=0.0, where=where, ramp_mm=ramp,
                     x_ramp_mm=where * (0.5 * L - end - hold - ramp))
            p["location_x_mm"] = where * (0.5 * L - end - hold / 2)
    elif defect == "excess":
        base_q = float(bead.height_mm - bead.wave_amp_mm - bead.ripple_amp_mm) * float(
            bead.across(np.array([0.75]))[0])
        one_sided = float(s / 2 > 0.7 * base_q or rng.random() < 0.3)
        section = rng.uniform(5.0, max(5.0, min(15.0, 0.5 * usable)))
        xr = max(0.0, room - section / 2 - 1.0)
        p.update(section_mm=section, one_sided=one_sided, side=float(rng.choice([-1.0, 1.0])),
                 x_mm=rng.uniform(-xr, xr))
    return {k: float(v) for k, v in p.items()}


def _draw_lap(scene: Scene, rng: np.random.Generator, step_range: tuple[float, float]) -> None:
    """A lap fillet's plates: the upper one ``step_range`` above the lower; the lower plate
    absent (the scanner's software removed it), cropped 1.5-4 mm beyond the toe or whole, a
    third of the scans each; with the lower plate whole, the upper one cropped in a fifth."""
    scene.step_mm = float(rng.uniform(*step_range))
    lower = int(rng.integers(0, 3))        # 0 removed, 1 cropped, 2 whole
    scene.lower_removed = lower == 0
    if lower == 1:
        scene.crop_side = -1
    elif lower == 2 and rng.random() < 0.2:
        scene.crop_side = 1
    else:
        scene.crop_side = 0


# --------------------------------------------------------------------------- pose
def _rot_x(deg: float) -> F64:
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def _rot_y(deg: float) -> F64:
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def _rot_z(deg: float) -> F64:
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _occluded(scene: Scene, x_range: tuple[float, float], y_range: tuple[float, float],
              side: int, cot: float) -> tuple[B, float, float, float, float]:
    """Occlusion on an auxiliary weld-frame grid: a camera towards ``side`` (+1 north, -1
    south) at angle ``atan(1/cot)`` off vertical sees (y, z) unless the surface ahead of it
    rises above the line of sight: max over y' ahead of (z' - side y' cot) > z - side y cot."""
    dx, dy = SHADOW_AUX_MM
    xs = np.arange(x_range[0], x_range[1] + dx, dx)
    ys = np.arange(y_range[0], y_range[1] + dy, dy)
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    z, _ = scene.surface(gx.ravel(), gy.ravel())
    g = z.reshape(gx.shape) - side * gy * cot
    if side > 0:  # ahead = larger y: running max from the right, excluding the point itself
        ahead = np.maximum.accumulate(g[:, ::-1], axis=1)[:, ::-1]
        ahead = np.concatenate([ahead[:, 1:], np.full((len(xs), 1), -np.inf)], axis=1)
    else:
        ahead = np.maximum.accumulate(g, axis=1)
        ahead = np.concatenate([np.full((len(xs), 1), -np.inf), ahead[:, :-1]], axis=1)
    return ahead > g + 0.02, xs[0], ys[0], dx, dy


def _grid(rng: np.random.Generator, half_x: float, half_y: float, rot_deg: float,
          offset: F64, sx: float, sy: float) -> tuple[F64, F64]:
    """Scanner-grid positions (profiles along scanner X) mapped back to weld-frame X/Y
    (rotation about Z and offset undone; the tilt's sub-0.2 % effect on X/Y ignored);
    only those inside the scanned rectangle ``|x| <= half_x, |y| <= half_y``."""
    corners = np.array([[sx_, sy_] for sx_ in (-half_x, half_x) for sy_ in (-half_y, half_y)])
    rz = _rot_z(rot_deg)[:2, :2]
    sc = corners @ rz.T + offset
    lo, hi = sc.min(axis=0), sc.max(axis=0)
    xs = np.arange(lo[0], hi[0] + sx, sx)
    xs = xs + rng.uniform(-0.1, 0.1, len(xs)) * sx
    ys = np.arange(lo[1], hi[1] + sy, sy)
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    gy = gy + rng.uniform(-0.1, 0.1, gy.shape) * sy
    rel = np.stack([gx.ravel() - offset[0], gy.ravel() - offset[1]], axis=1)
    nom = rel @ rz  # inverse rotation
    keep = (np.abs(nom[:, 0]) <= half_x) & (np.abs(nom[:, 1]) <= half_y)
    return nom[keep, 0], nom[keep, 1]


# --------------------------------------------------------------------------- the scan
def make_shape(defect: str, weld_type: int, seed: int, *, size_mm: float | None = None,
               max_points: int = MAX_POINTS, plate: bool | None = None,
               profile: WeldTypeProfile | None = None,
               defect_overrides: Mapping[str, float] | None = None,
               scan_overrides: Mapping[str, Any] | None = None,
               defect_free: bool = False) -> AnalyticScan:
    """One analytic scan of class ``defect`` for ``weld_type``, fully determined by ``seed``.

    ``size_mm`` fixes the defect's size (else drawn from half to 3x the limit); ``plate``
    forces the isolated types' plate on or off (else drawn); ``max_points`` caps the cloud
    (coarser spacing, at most 0.2 mm). Overrides replace drawn values after every draw (so
    the rest of the scan stays the same): ``defect_overrides`` the defect's parameters
    (``params["defect_params"]``, e.g. ``{"cone": 0.0}``), ``scan_overrides`` any of
    :data:`SCAN_KEYS`. ``defect_free`` gives the same scan (bead, grid, pose, noise draws)
    without the defect: a twin to measure against; the truth is still the defect's."""
    if defect not in CLASSES:
        raise ValueError(f"defect: expected one of {CLASSES}, found {defect!r}")
    if weld_type not in SUPPORTED_TYPES:
        raise ValueError(f"weld_type: expected one of {SUPPORTED_TYPES}, found {weld_type}")
    prof = profile or weld_type_profile(weld_type)
    g = prof.geometry
    rng = np.random.default_rng([seed, weld_type, CLASSES.index(defect)])
    ring = g.path == "square"
    bead = _draw_bead(rng, g.square_side_mm if ring else g.bead_length_mm)
    isolated = g.plate == "isolated"
    has_plate = (rng.random() < 0.5 if plate is None else plate) if isolated else True
    crop_side = int(rng.choice([-1, 1])) if (not isolated and rng.random() < 0.2) else 0
    p = _draw_defect(defect, rng, bead, prof, size_mm)
    p.update({k: float(v) for k, v in (defect_overrides or {}).items()})
    scene = Scene(bead=bead, plate=bool(has_plate), isolation_mm=float(rng.uniform(0.02, 0.1)),
                  crop_side=crop_side, crop_mm=float(rng.uniform(1.5, 4.0)), defect=defect, p=p)
    if g.plate == "upper":
        _draw_lap(scene, rng, g.plate_step_mm)
    if ring:
        from bench.analytic_square import ring_scene  # it builds on this module's Scene

        scene = ring_scene(scene, rng, g.square_side_mm, g.plate_step_mm,
                           g.outer_plate_tilt_deg)

    # scanner: spacing, pose, noise, outliers, shadows
    half_x = prof.roi.length_mm / 2 + MARGIN_MM
    half_y = prof.roi.width_mm / 2 + MARGIN_MM
    sx, sy = (float(v) for v in rng.uniform(*SPACING_MM, 2))
    area = 4 * half_x * half_y
    if area / (sx * sy) > max_points:
        k = math.sqrt(area / (sx * sy) / max_points)
        sx, sy = min(SPACING_MM[1], sx * k), min(SPACING_MM[1], sy * k)
    rot = float(rng.uniform(-5.0, 5.0))
    tilt = float(rng.uniform(0.0, 3.0))
    tilt_dir = float(rng.uniform(0.0, 2 * np.pi))
    tilt_x, tilt_y = tilt * math.cos(tilt_dir), tilt * math.sin(tilt_dir)  # tilt <= 3 deg
    offset = rng.uniform(-3.0, 3.0, 2)
    z_off = float(rng.uniform(-100.0, 100.0))
    noise = float(rng.uniform(0.01, 0.05))
    outliers = float(rng.uniform(0.0, 0.03))
    shadow = bool(rng.random() < 0.5) or weld_type == 5
    cam_side = int(rng.choice([-1, 1]))
    cam_deg = float(rng.uniform(10.0, 35.0))
    band_mm = float(rng.uniform(0.0, 1.5))
    sc: dict[str, Any] = {"spacing_mm": (sx, sy), "rotation_deg": rot, "tilt_deg": (tilt_x, tilt_y),
                          "offset_mm": (float(offset[0]), float(offset[1])), "z_offset_mm": z_off,
                          "noise_mm": noise, "outlier_fraction": outliers, "shadow": shadow,
                          "camera_side": cam_side, "camera_deg": cam_deg, "band_mm": band_mm}
    unknown = set(scan_overrides or {}) - set(SCAN_KEYS)
    if unknown:
        raise ValueError(f"scan_overrides: unknown keys {sorted(unknown)} (known: {SCAN_KEYS})")
    sc.update(scan_overrides or {})
    sx, sy = (float(v) for v in sc["spacing_mm"])
    rot, (tilt_x, tilt_y) = float(sc["rotation_deg"]), (float(v) for v in sc["tilt_deg"])
    offset = np.asarray(sc["offset_mm"], np.float64)
    z_off, noise = float(sc["z_offset_mm"]), float(sc["noise_mm"])
    outliers, shadow = float(sc["outlier_fraction"]), bool(sc["shadow"])
    cam_side, cam_deg = int(sc["camera_side"]), float(sc["camera_deg"])
    band_mm = float(sc["band_mm"])
    if defect_free:
        scene.defect = "good"

    x, y = _grid(rng, half_x, half_y, rot, offset, sx, sy)
    z, seen = scene.surface(x, y)
    if shadow:
        occ, x0, y0, dx, dy = _occluded(scene, (-half_x, half_x), (-half_y, half_y), cam_side,
                                        1.0 / math.tan(math.radians(cam_deg)))
        ix = np.clip(np.rint((x - x0) / dx).astype(np.int64), 0, occ.shape[0] - 1)
        iy = np.clip(np.rint((y - y0) / dy).astype(np.int64), 0, occ.shape[1] - 1)
        seen &= ~occ[ix, iy]
        if weld_type == 5:  # 20-40 % of the ROI: the plate band on the camera's far side
            v = y - scene.centreline(x)
            seen &= ~((-cam_side * v > bead.half + band_mm) & (z < 0.05))
    # noise and outliers drawn per grid sample, so a defect-free twin gets the same draws
    dz = rng.normal(0.0, noise, len(x))
    spur = rng.random(len(x)) < outliers
    dz[spur] += rng.choice([-1.0, 1.0], int(spur.sum())) * rng.uniform(1.0, 8.0, int(spur.sum()))
    pts = np.stack([x[seen], y[seen], z[seen]], axis=1)
    rot_m = _rot_z(rot) @ _rot_y(tilt_y) @ _rot_x(tilt_x)
    pts = pts @ rot_m.T + np.array([offset[0], offset[1], z_off])
    pts[:, 2] += dz[seen]

    scene.defect = defect
    truth = _truth(scene, prof)
    identity = ScanIdentity(part_serial=f"AN-{seed}", weld_id=f"{defect}{seed}",
                            weld_type=weld_type)
    params: dict[str, Any] = {
        "weld_type": weld_type, "seed": seed, "defect": defect,
        "bead": {k: round(float(v), 4) for k, v in vars(bead).items()},
        "plate": bool(has_plate), "crop_side": scene.crop_side,
        "crop_mm": round(scene.crop_mm, 3), "step_mm": round(scene.step_mm, 3),
        "lower_removed": scene.lower_removed,
        "patch_mm": round(float(getattr(scene, "patch_mm", 0.0)), 3),
        "outer_tilt_deg": round(math.degrees(math.atan(getattr(scene, "outer_slope", 0.0))), 2),
        "defect_params": {k: round(v, 4) for k, v in p.items()},
        "spacing_mm": [round(sx, 4), round(sy, 4)], "rotation_deg": round(rot, 3),
        "tilt_deg": [round(tilt_x, 3), round(tilt_y, 3)],
        "offset_mm": [round(float(v), 3) for v in offset], "z_offset_mm": round(z_off, 3),
        "defect_free": defect_free,
        "noise_mm": round(noise, 4), "outlier_fraction": round(outliers, 4),
        "shadow": shadow, "camera_side": cam_side, "camera_deg": round(cam_deg, 2),
        "points": len(pts),
    }
    return AnalyticScan(Cloud(points=pts.astype(np.float32), identity=identity, source=None),
                        truth, prof, params)


def _truth(scene: Scene, profile: WeldTypeProfile) -> Truth:
    d, p = scene.defect, scene.p
    lim = limit_of(d, profile)
    if d == "good":
        return Truth("good", "none", 0.0, None, 0.0, False)
    size = p["size_mm"]
    extra: dict[str, float] = {}
    if d == "hole":
        loc = scene.to_weld(p["x_mm"], p["y_mm"])
        extra = {"depth_mm": p["depth_mm"]}
        exceeds = size >= lim
    elif d == "ball":
        loc = scene.to_weld(p["x_mm"], p["y_mm"])
        _, above_top = scene.stats_of_ball()
        extra = {"height_mm": p["height_mm"], "above_top_mm": above_top,
                 "height_limit_mm": profile.limits.ball_reject_height_mm}
        exceeds = size >= lim and above_top >= profile.limits.ball_reject_height_mm
    elif d == "cut":
        loc = scene.to_weld(p["x_mm"], 0.0)
        exceeds = size >= lim
    elif d == "deviation":
        x = p["location_x_mm"]
        loc = scene.to_weld(x, float(scene.centreline(np.array([x]))[0]))
        exceeds = size >= lim
    else:  # excess
        loc = scene.to_weld(p["x_mm"], 0.0)
        extra = {"section_mm": p["section_mm"]}
        exceeds = (size >= lim
                   and p["section_mm"] >= profile.limits.excess_reject_length_mm)
    return Truth(d, QUANTITY[d], float(size), (float(loc[0]), float(loc[1])), float(lim),
                 bool(exceeds), extra)
