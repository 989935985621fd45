"""Scan simulator: realistic good welds of every type as point clouds in the scanner frame.

Frames
------
*Nominal frame* (mm): the weld's own frame. X runs along the weld, Y across it (+Y = north),
Z is the height above the **reference plate** (the lower plate, ``z = 0``). The nominal weld
centre is the origin. *Scanner frame*: what a scan file holds. A point goes from nominal to
scanner coordinates with the :class:`SimPose`::

    p_scanner = Rz(rot_deg) @ Ry(tilt_y_deg) @ Rx(tilt_x_deg) @ p_nominal + (dx, dy, z_offset)

(:meth:`SimPose.to_scanner` / :meth:`SimPose.to_nominal`). Scanner noise is added along the
scanner's Z after the pose.

Surface (noiseless, nominal frame; :meth:`WeldShape.surface`)
-------------------------------------------------------------
Bead: width ``w`` (nominal 6 mm, +-4 % per scan), height ``h`` (nominal 2 mm, +-5 %),
rounded cap ``h * (1 - rho^2) ** 0.8`` where ``rho`` is the normalised distance from the
centreline (``rho = 1`` at the toes). Line beads run from ``x = -L/2`` to ``+L/2`` (``L`` =
``geometry.bead_length_mm``) with semicircular ends (radius ``w/2``) and a crater at each
end (a Gaussian dip of 0.25-0.4 mm, sigma 1 mm, centred ``0.9 * w/2`` inside each tip). The
centreline wanders by at most 0.15 mm (a slow sine), far below the 1.5 mm deviation limit.
Weave ripples: crescent-shaped, pitch 1.0-1.6 mm, amplitude 0.05-0.10 mm, fading to 0 at
the toes. Plates per ``geometry.plate``:

* ``"isolated"`` (types 3, 10, 11): the plate plane was removed; only bead points whose
  noiseless height is above ``ISOLATION_MM`` (0.05 mm) are emitted. No plane in the cloud.
* ``"upper"`` (types 2, 8, 9): lap fillet. The upper plate's top face is the plane
  ``z = UPPER_PLATE_MM`` (1.5 mm, :mod:`point_cloud.kinds.upper`) for ``y >= 0`` (its edge
  is the straight line ``y = 0``), extending north to the scan edge and along the whole
  scan length. The bead sits on a ramp from the lower plate (south toe, ``z = 0`` at
  ``y = -w/2``) to the upper plate (north toe, ``z = 1.5`` at ``y = +w/2``):
  ``z = ramp + cap`` (peak about ``0.75 + h``). The lower plate south of the bead is NOT
  emitted (nothing with ``y < 0`` outside the bead footprint). So the only visible plane
  is at ``+1.5 mm``.
* ``"lower"`` (types 4, 5): the lower plate ``z = 0`` is emitted on both sides of the bead
  over the whole scan area; the bead is added on top.
* ``"square"`` (type 7): the bead follows a square centreline of side
  ``geometry.square_side_mm`` (20 mm) centred on the origin (Euclidean distance to the
  square outline, so the outer corners are rounded). The patch inside is the plate
  ``z = 0``. Outside the bead's outer toe the outer plate is level (``z = 0``) or slopes
  DOWN away from the bead: ``z = -tan(alpha) * (d - w/2)`` with ``d`` the distance outside
  the centreline square; ``alpha`` is the low end of ``geometry.outer_plate_tilt_deg``
  with probability 1/2 (level sub-kind), else uniform in its upper two thirds (oblique
  sub-kind: 5-15 deg by default). One crater on the west side
  ``(-S/2, 0)`` where the loop starts and ends.

Plate layouts (``layout=``; :class:`Layout`)
--------------------------------------------
The above is each kind's *default* layout: what this project's line delivers, and what
``simulate_weld`` draws without ``layout`` (byte for byte as before layouts existed). Scans
from other lines lay their plates out otherwise (shared SCANS.md, "What varies"); a
:class:`Layout` draws them, ``layout="random"`` draws one from the contract's ranges
(:func:`random_layout`, on its own random stream: the pose, grid, shadows and noise stay
those of the default scan of the same seed):

* ``step_mm``: the stepped plate's height above the reference plate at ``z = 0``: the
  upper plate north of ``y = 0`` (kind "upper", 1-3 mm; default 1.5), or type 7's patch
  inside the square (> 0 a patch plate raised on the outer one, < 0 recessed, 0 level;
  default 0). Its edge runs under the bead's centreline.
* ``bead_on``: how the bead meets a step: ``"ramp"`` (default, the lap fillet above: the
  cap on a ramp from one plate's level at one toe to the other's at the other) or
  ``"lower"`` (the cap standing on the lower plate, the stepped plate's edge under its
  centreline: where the step is higher than the cap the plate shows).
* ``outer_tilt_deg``: type 7's outer plate beyond the bead's outer toe, > 0 falling away
  from the bead, < 0 rising (default: drawn as above).
* ``keep_mm``: (south or inside, north or outside) how far from the nominal centreline each
  plate is in the scan: ``ALL`` (``inf``) all of it, a number a plate cropped that far out,
  0 the plate removed. Beyond it only points more than ``ISOLATION_MM`` above that plate
  are emitted (:meth:`WeldShape.emitted`). Defaults: "isolated" ``(0, 0)`` (the plate
  plane removed), "upper" ``(0, ALL)`` (the lower plate not scanned), else ``(ALL, ALL)``.

:meth:`WeldShape.drawn_bead` gives the drawn bead's width and height above the straight line
between its toes, the figures a layout-independent analysis should find.

Scan area and sampling
----------------------
Samples cover the type's ROI plus the pose margin in the nominal frame:
``x in +-(roi.length/2 + max_offset + roi.width/2 * sin(max_rot))`` and
``y in +-(roi.width/2 + max_offset + roi.length/2 * sin(max_rot))``, so after undoing any
pose within the SCANS.md tolerances the whole ROI is covered. Positions form a jittered
regular grid (jitter +-30 % of the pitch) ordered profile by profile (rows along X, points
along Y), as a line profiler delivers them. Default pitch: the fine end of
``scanner.point_spacing_mm`` (0.05 mm, ~0.6 M samples for a 40 mm type); ``points=``
sets the number of samples instead (the pitch follows from the area). Removed plates and
shadows make the emitted cloud smaller than the sample count.

Scanner effects (in this order, after the optional ``edit``)
------------------------------------------------------------
1. Shadows: missing points, never zeros. A smooth random field with a bias towards one
   side (north or south, drawn) is thresholded so that exactly the drawn fraction
   (``geometry.shadow_fraction``) of the **ROI area** is shadowed: blobs and bands on one
   side, as a scanner looking in at an angle sees. Type 5: 20-40 %. Shadows are decided
   per cell of the ROI pixel grid (``roi.mm_per_px``, cell edges on the ROI edges), so a
   height map projected on that grid loses exactly that fraction of its pixels.
2. Pose (:func:`random_pose`: +-3 mm X/Y, +-5 deg about Z, plate tilt up to 3 deg, Z
   offset +-25 mm), then Gaussian noise ``scanner.noise_mm`` along scanner Z.
3. Outliers: each point independently with probability ``scanner.outlier_fraction`` is
   moved 1-8 mm above or below the surface along Z.

Seeded and deterministic: every random draw comes from ``SeedSequence([seed, weld_type])``
split into independent streams (pose, shape, sampling, shadow, noise), so passing an
explicit pose does not change the rest of the scan.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

import cv2
import numpy as np
import numpy.typing as npt

from point_cloud.config import ScannerModel, WeldTypeProfile, scanner_model, weld_type_profile
from point_cloud.kinds import PATHS, PathShape, kind_of
from point_cloud.layout import ALL, BeadOn, Layout
from point_cloud.types import Cloud, ScanIdentity

if TYPE_CHECKING:
    from point_cloud.variation import Variation, VariationRule

F64 = npt.NDArray[np.float64]
BoolArr = npt.NDArray[np.bool_]

SurfaceEdit = Callable[[np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
"""``edit(x, y, z) -> (z_new, keep)`` in the nominal frame (mm), before pose/noise/shadows.

It sees every sample of the scan area, removed plates included (``z`` is the full noiseless
surface). Afterwards the removed-plate rule (:meth:`WeldShape.emitted`) is applied to
``z_new``: material an edit adds on a removed plate appears, and a hole cut down to the
plate of an isolated bead disappears. ``keep=False`` removes points anywhere (through holes
in a type with a visible plate)."""

ISOLATION_MM = 0.05
CAP_EXPONENT = 0.8
Z_OFFSET_RANGE_MM = 25.0
OUTLIER_RANGE_MM = (1.0, 8.0)
JITTER = 0.3
OCCLUSION_SLACK_MM = 0.02    # hidden where the surface ahead rises this far over the sight line
SHADOW_FREE_SHARE = 0.5      # no blob shadow falls on the bead's upper half (WeldShape.crest)
TOE_MM = 0.01
"""The drawn bead's toe: where its surface stands this far above the plate."""


# --------------------------------------------------------------------------- pose
def _rot_x(deg: float) -> F64:
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]], dtype=np.float64)


def _rot_y(deg: float) -> F64:
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]], dtype=np.float64)


def _rot_z(deg: float) -> F64:
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]], dtype=np.float64)


@dataclass(frozen=True)
class SimPose:
    """The true placement of the part in the scanner frame (see the module docstring)."""

    dx_mm: float = 0.0
    dy_mm: float = 0.0
    rot_deg: float = 0.0
    tilt_x_deg: float = 0.0
    tilt_y_deg: float = 0.0
    z_offset_mm: float = 0.0

    def rotation(self) -> F64:
        """3x3 rotation, nominal -> scanner."""
        return _rot_z(self.rot_deg) @ _rot_y(self.tilt_y_deg) @ _rot_x(self.tilt_x_deg)

    def translation(self) -> F64:
        return np.array([self.dx_mm, self.dy_mm, self.z_offset_mm], dtype=np.float64)

    def matrix(self) -> F64:
        """4x4 homogeneous transform, nominal -> scanner."""
        m = np.eye(4)
        m[:3, :3] = self.rotation()
        m[:3, 3] = self.translation()
        return m

    def to_scanner(self, pts: npt.ArrayLike) -> F64:
        p = np.asarray(pts, dtype=np.float64)
        return p @ self.rotation().T + self.translation()

    def to_nominal(self, pts: npt.ArrayLike) -> F64:
        p = np.asarray(pts, dtype=np.float64)
        return (p - self.translation()) @ self.rotation()


def random_pose(rng: np.random.Generator, scanner: ScannerModel) -> SimPose:
    """A pose within the scan contract's tolerances (tilt magnitude <= max_tilt_deg)."""
    dx, dy = rng.uniform(-scanner.max_offset_mm, scanner.max_offset_mm, 2)
    rot = rng.uniform(-scanner.max_rotation_deg, scanner.max_rotation_deg)
    tilt = scanner.max_tilt_deg * math.sqrt(rng.uniform())
    azimuth = rng.uniform(0.0, 2.0 * math.pi)
    z_off = rng.uniform(-Z_OFFSET_RANGE_MM, Z_OFFSET_RANGE_MM)
    return SimPose(float(dx), float(dy), float(rot), tilt * math.cos(azimuth),
                   tilt * math.sin(azimuth), float(z_off))


# --------------------------------------------------------------------------- layout
__all__ = ["ALL", "BeadOn", "Layout"]  # re-exported: the layout is the simulator's input


def random_layout(profile: WeldTypeProfile, rng: np.random.Generator) -> Layout:
    """A plate layout drawn from the contract's variations for the type's kind (shared
    SCANS.md, "What varies"): isolated beads with or without their plate; a plate of the
    "lower" kind partly (``geometry.crop_beyond_toe_mm`` beyond the toe) or wholly cropped
    on one side, or neither; the upper plate ``geometry.plate_step_mm`` above the lower,
    the lower plate absent, partly or wholly in the scan, the upper one partly or wholly
    cropped while the lower is there; type 7's patch level, raised or recessed by
    ``plate_step_mm``, its outer plate level or falling or rising by
    ``outer_plate_tilt_deg`` (high end), partly or wholly cropped or not."""
    g = profile.geometry
    step = float(rng.uniform(*g.plate_step_mm))   # drawn for every kind: one random stream
    return kind_of(profile).random_layout(g, rng, step)


# --------------------------------------------------------------------------- shape
@dataclass(frozen=True)
class WeldShape:
    """The drawn, noiseless geometry of one simulated weld (nominal frame, mm)."""

    plate: str
    path: str
    bead_length_mm: float
    width_mm: float
    height_mm: float
    ripple_amp_mm: float
    ripple_pitch_mm: float
    ripple_phase: float
    ripple_bend: float
    crater_depth_mm: float
    wander_amp_mm: float
    wander_period_mm: float
    wander_phase: float
    square_side_mm: float = 20.0
    outer_tilt_deg: float = 0.0
    step_mm: float = 0.0
    keep_mm: tuple[float, float] = (math.inf, math.inf)
    bead_on: BeadOn = "ramp"
    cap_exponent: float = CAP_EXPONENT
    top_exponent: float = 2.0     # the cap h * (1 - |rho| ** n) ** e: n = 2 rounded, 6 flat

    def with_layout(self, layout: Layout) -> WeldShape:
        """This weld with its plates laid out as ``layout`` (None fields: as drawn)."""
        return replace(self, **{k: v for k, v in vars(layout).items() if v is not None})

    @property
    def path_shape(self) -> PathShape:
        """The drawn centreline's shape (:mod:`point_cloud.kinds`)."""
        return PATHS[self.path]

    @staticmethod
    def draw(profile: WeldTypeProfile, rng: np.random.Generator) -> WeldShape:
        g = profile.geometry
        kind = kind_of(profile)
        lo, hi = g.outer_plate_tilt_deg
        oblique = kind.outer_tilt and hi > 0 and rng.uniform() < 0.5
        outer = float(rng.uniform(lo + (hi - lo) / 3, hi)) if oblique else float(lo)
        return WeldShape(
            plate=g.plate, path=g.path, bead_length_mm=g.bead_length_mm,
            width_mm=g.bead_width_mm * float(rng.uniform(0.96, 1.04)),
            height_mm=g.bead_height_mm * float(rng.uniform(0.95, 1.05)),
            ripple_amp_mm=float(rng.uniform(0.05, 0.10)),
            ripple_pitch_mm=float(rng.uniform(1.0, 1.6)),
            ripple_phase=float(rng.uniform(0, 2 * math.pi)),
            ripple_bend=float(rng.uniform(0.05, 0.15)),
            crater_depth_mm=float(rng.uniform(0.25, 0.40)),
            wander_amp_mm=float(rng.uniform(0.0, 0.15)),
            wander_period_mm=float(rng.uniform(25.0, 60.0)),
            wander_phase=float(rng.uniform(0, 2 * math.pi)),
            square_side_mm=g.square_side_mm, outer_tilt_deg=outer,
            step_mm=kind.nominal_step_mm, keep_mm=kind.default_keep_mm,
        )

    # -- pieces (the path shapes build the bead from them) -----------------------------
    def wander(self, t: F64) -> F64:
        """The centreline's slow sideways wander at arc position ``t``."""
        phase = 2 * np.pi * t / self.wander_period_mm + self.wander_phase
        return self.wander_amp_mm * np.sin(phase)

    def rippled_cap(self, across: F64, along: F64, rho2: F64) -> F64:
        """Rounded cap with ripples; ``across`` = signed distance from the centreline."""
        inside = np.clip(1.0 - rho2 ** (0.5 * self.top_exponent), 0.0, None)  # rho ** n
        cap = self.height_mm * inside**self.cap_exponent
        phase = 2 * np.pi * (along + self.ripple_bend * across**2) / self.ripple_pitch_mm
        return cap + self.ripple_amp_mm * np.cos(phase + self.ripple_phase) * inside

    def crater(self, dx: F64, dy: F64, rho2: F64) -> F64:
        """An end crater's dip at (``dx``, ``dy``) from its centre."""
        dip = self.crater_depth_mm * np.exp(-(dx**2 + dy**2) / 2.0)
        return dip * np.sqrt(np.clip(1.0 - rho2, 0.0, None))

    # -- surface ------------------------------------------------------------------------
    def offset(self, x: F64, y: F64) -> F64:
        """Signed offset (mm) from the nominal centreline: north of the line, or outside
        the square path."""
        return self.path_shape.offset(self, x, y)

    def plates(self, d: F64) -> F64:
        """Height of the plates alone (no bead) at offset ``d`` (:meth:`offset`), mm: the
        stepped plate (north of a line, inside the square) at ``step_mm``, the other at 0
        (type 7: sloping by ``outer_tilt_deg`` beyond the bead's outer toe)."""
        return self.path_shape.plates(self, d)

    def surface(self, x: npt.ArrayLike, y: npt.ArrayLike) -> tuple[F64, BoolArr]:
        """Noiseless height (mm above the reference plate) and the emitted-point mask."""
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        d = self.offset(x, y)
        plate = self.plates(d)
        cap, rho2, across, rising = self.path_shape.cap(self, x, y, d)
        bead = cap
        if self.step_mm and self.bead_on == "lower":
            bead = np.maximum(plate, min(0.0, self.step_mm) + cap)
        elif self.step_mm or not self.path_shape.closed:  # on a ramp from plate to plate
            r = self.width_mm / 2
            ramp = self.step_mm * np.clip((rising * across + r) / (2 * r), 0.0, 1.0)
            low = min(0.0, self.step_mm)
            fade = np.clip((1.0 - rho2) / 0.25, 0.0, 1.0)
            bead = np.maximum(plate, low + (ramp - low) * fade + cap)
        z = np.where(rho2 < 1.0, bead, plate)
        return z, self.emitted(x, y, z)

    def crest(self, x: F64, y: F64) -> BoolArr:
        """Where the bead's own cap (its relief over the plate or the ramp it stands on)
        reaches :data:`SHADOW_FREE_SHARE` of its height: its convex upper part, which a
        camera over it always sees."""
        cap = self.path_shape.cap(self, x, y, self.offset(x, y))[0]
        return np.asarray(cap > SHADOW_FREE_SHARE * self.height_mm)

    def drawn_bead(self, threshold_mm: float, step_mm: float = 0.01) -> tuple[float, float]:
        """(width, height) in mm of the drawn bead's relief above the straight line between
        its toes (where the noiseless surface leaves each plate), the width where it exceeds
        ``threshold_mm``: medians over cross-sections of the straight middle of a line bead,
        or of the square's north and east sides (away from the crater)."""
        t = np.arange(-self.width_mm, self.width_mm + step_mm / 2, step_mm)
        x, y = self.path_shape.cross_section_points(self, t)
        z = self.surface(x, y)[0]
        plate = self.plates(self.offset(x, y))
        on = z > plate + TOE_MM
        rows = np.arange(len(z))
        first, last = on.argmax(axis=1), t.size - 1 - on[:, ::-1].argmax(axis=1)
        frac = (t - t[first][:, None]) / (t[last] - t[first])[:, None]
        low, high = plate[rows, first][:, None], plate[rows, last][:, None]
        line = low + frac * (high - low)
        relief = np.where((frac >= 0) & (frac <= 1), z - line, 0.0)
        width = (relief > threshold_mm).sum(axis=1) * step_mm
        return float(np.median(width)), float(np.median(relief.max(axis=1)))

    def emitted(self, x: F64, y: F64, z: F64) -> BoolArr:
        """Which surface points the scan holds. Each plate is in the scan up to ``keep_mm``
        (the plate at negative, then positive :meth:`offset`) from the nominal centreline;
        beyond that (everywhere for "isolated", south of the upper plate's edge ``y = 0``
        for "upper") only points more than ``ISOLATION_MM`` above the plate are emitted.
        Re-applied after an ``edit``."""
        d = self.offset(x, y)
        removed = (d < -self.keep_mm[0]) | (d >= self.keep_mm[1])
        if not removed.any():
            return np.ones(np.shape(z), dtype=bool)
        return ~removed | (z > self.plates(d) + ISOLATION_MM)


# --------------------------------------------------------------------------- sampling
Extent = tuple[float, float, float, float]


def scan_extent(profile: WeldTypeProfile, scanner: ScannerModel) -> Extent:
    """(x_min, x_max, y_min, y_max) of the sampled area in the nominal frame (mm)."""
    half_l, half_w = profile.roi.length_mm / 2, profile.roi.width_mm / 2
    s = math.sin(math.radians(scanner.max_rotation_deg))
    mx = half_l + scanner.max_offset_mm + half_w * s
    my = half_w + scanner.max_offset_mm + half_l * s
    return (-mx, mx, -my, my)


def _sample_grid(extent: Extent, pitch: float,
                 rng: np.random.Generator, aspect: float = 1.0) -> tuple[F64, F64]:
    """Jittered grid points, X-major (sample ``i`` is column ``i // ny``, row ``i % ny``,
    as :func:`_occluded` takes them); ``aspect``: spacing along X over spacing across (the
    pitch is their geometric mean)."""
    x0, x1, y0, y1 = extent
    px, py = pitch * math.sqrt(aspect), pitch / math.sqrt(aspect)
    nx = max(2, math.ceil((x1 - x0) / px))
    ny = max(2, math.ceil((y1 - y0) / py))
    gx = x0 + (np.arange(nx) + 0.5) * (x1 - x0) / nx
    gy = y0 + (np.arange(ny) + 0.5) * (y1 - y0) / ny
    x = np.repeat(gx, ny) + rng.uniform(-JITTER, JITTER, nx * ny) * px
    y = np.tile(gy, nx) + rng.uniform(-JITTER, JITTER, nx * ny) * py
    return x, y


def _occluded(y: F64, z: F64, grid: tuple[int, int], camera_side: float,
              camera_deg: float) -> BoolArr:
    """True where the surface hides a sample from a camera ``camera_deg`` off vertical
    towards ``camera_side`` (+1 north): some sample ahead of it, towards the camera, rises
    above its line of sight (max over y' ahead of z' - side y' cot > z - side y cot). The
    plate behind the bead's far toe, the far side of a lump and the inside of a pit give no
    points; a convex crest is always seen."""
    nx, ny = grid
    cot = 1.0 / math.tan(math.radians(camera_deg))
    g = (z - camera_side * y * cot).reshape(nx, ny)
    if camera_side > 0:        # ahead = larger y: the running max from the north end
        ahead = np.maximum.accumulate(g[:, ::-1], axis=1)[:, ::-1]
        ahead = np.concatenate([ahead[:, 1:], np.full((nx, 1), -np.inf)], axis=1)
    else:
        ahead = np.maximum.accumulate(g, axis=1)
        ahead = np.concatenate([np.full((nx, 1), -np.inf), ahead[:, :-1]], axis=1)
    return np.asarray((ahead > g + OCCLUSION_SLACK_MM).ravel())


def _shadow_mask(x: F64, y: F64, fraction: float, extent: Extent,
                 profile: WeldTypeProfile, rng: np.random.Generator,
                 side_of: float | None = None,
                 spared: Callable[[F64, F64], BoolArr] | None = None) -> BoolArr:
    """True where a point is shadowed: ``fraction`` of the ROI area, biased to one side.

    The shadow is decided per cell of the ROI's pixel grid (``roi.mm_per_px``, edges on the
    ROI's edges), so ``fraction`` of the ROI's pixels lose all their points, less those
    whose centre ``spared(x, y)`` holds (the bead's crest: see the caller).
    """
    if fraction <= 0:
        return np.zeros(x.shape, dtype=bool)
    roi = profile.roi
    cell = roi.mm_per_px
    nr, nc = roi.shape_px
    pad_c = math.ceil((extent[1] - roi.length_mm / 2) / cell) + 1
    pad_r = math.ceil((extent[3] - roi.width_mm / 2) / cell) + 1
    rows_n, cols_n = nr + 2 * pad_r, nc + 2 * pad_c
    coarse = rng.standard_normal((max(2, rows_n // 15), max(2, cols_n // 15)))
    field_ = cv2.resize(coarse.astype(np.float32), (cols_n, rows_n),
                        interpolation=cv2.INTER_CUBIC).astype(np.float64)
    field_ /= field_.std() + 1e-9
    gy = roi.width_mm / 2 - (np.arange(rows_n) - pad_r + 0.5) * cell     # row 0 = north
    side = rng.choice([-1.0, 1.0])
    side = side if side_of is None else side_of   # +1: north (drawn either way: same stream)
    field_ += rng.uniform(1.0, 2.5) * side * gy[:, None] / (roi.width_mm / 2)
    inside = field_[pad_r:pad_r + nr, pad_c:pad_c + nc]
    shadow = field_ > np.quantile(inside, 1.0 - fraction)
    if spared is not None:
        cx = (np.arange(cols_n) - pad_c + 0.5) * cell - roi.length_mm / 2
        gx, gyy = np.meshgrid(cx, gy)
        shadow &= ~spared(gx.ravel(), gyy.ravel()).reshape(shadow.shape)
    rows = np.floor((roi.width_mm / 2 - y) / cell).astype(np.intp) + pad_r
    cols = np.floor((x + roi.length_mm / 2) / cell).astype(np.intp) + pad_c
    return shadow[np.clip(rows, 0, rows_n - 1), np.clip(cols, 0, cols_n - 1)]


def _add_noise_and_outliers(pts: F64, scanner: ScannerModel, rng: np.random.Generator) -> int:
    """In place: Gaussian Z noise on every point, then far outliers; the outlier count."""
    n = pts.shape[0]
    pts[:, 2] += rng.normal(0.0, scanner.noise_mm, n)
    outlier = np.asarray(rng.uniform(size=n) < scanner.outlier_fraction, dtype=bool)
    k = int(outlier.sum())
    pts[outlier, 2] += rng.uniform(*OUTLIER_RANGE_MM, k) * rng.choice([-1.0, 1.0], k)
    return k


# --------------------------------------------------------------------------- public API
@dataclass
class SimulatedScan:
    """A simulated scan and its truth: the pose, the drawn geometry (``shape.surface`` gives
    the noiseless height anywhere) and ``params``: ``pitch_mm``, ``samples`` (grid positions
    before removed plates and shadows), ``shadow_fraction`` (of the ROI area),
    ``outlier_count``, ``outer_tilt_deg`` (type 7; else 0) and the plate layout's
    ``step_mm``, ``keep_south_mm`` and ``keep_north_mm`` (:class:`Layout`)."""

    cloud: Cloud
    pose: SimPose
    profile: WeldTypeProfile
    shape: WeldShape | None = None
    params: dict[str, float] = field(default_factory=dict)
    variation: dict[str, str] = field(default_factory=dict)  # axis -> setting, when drawn


def default_identity(weld_type: int, seed: int) -> ScanIdentity:
    """``SIM-<seed>`` / ``W<type>``: a valid contract identity for a simulated scan."""
    return ScanIdentity(part_serial=f"SIM-{seed:06d}", weld_id=f"W{weld_type:02d}",
                        weld_type=weld_type)


def simulate_weld(weld_type: int, seed: int, *, points: int | None = None,
                  pose: SimPose | None = None, edit: SurfaceEdit | None = None,
                  identity: ScanIdentity | None = None,
                  profile: WeldTypeProfile | None = None,
                  scanner: ScannerModel | None = None,
                  layout: Layout | Literal["random"] | None = None,
                  variation: Variation | VariationRule | None = None) -> SimulatedScan:
    """Simulate one good weld of ``weld_type`` (see the module docstring for the model).

    ``layout``: the plates' layout (:class:`Layout`), ``"random"`` for one drawn from the
    contract's variations (:func:`random_layout`, its own random stream), None for the
    type's default (what this project's line delivers).

    ``variation``: a point of the contract's whole variation space
    (:mod:`point_cloud.variation`: layout, bead cross-section, point spacing along and
    across, noise, outliers, shadow side), or a :class:`~point_cloud.variation.VariationRule`
    to draw one from its own random stream; it overrides ``layout`` and ``points`` (the
    spacing is part of it). The drawn settings are in ``SimulatedScan.variation``."""
    profile = profile if profile is not None else weld_type_profile(weld_type)
    if profile.weld_type != weld_type:
        raise ValueError(f"simulate_weld: profile is for type {profile.weld_type}, "
                         f"not {weld_type}")
    scanner = scanner if scanner is not None else scanner_model()
    r_pose, r_shape, r_grid, r_shadow, r_noise, r_layout, r_vary = (
        np.random.default_rng(s) for s in np.random.SeedSequence([seed, weld_type]).spawn(7))
    pose = pose if pose is not None else random_pose(r_pose, scanner)
    shape = WeldShape.draw(profile, r_shape)
    if layout is not None:
        shape = shape.with_layout(random_layout(profile, r_layout) if layout == "random"
                                  else layout)
    extent = scan_extent(profile, scanner)
    area = (extent[1] - extent[0]) * (extent[3] - extent[2])
    pitch = scanner.point_spacing_mm[0] if points is None else math.sqrt(area / max(points, 1))
    aspect, shadow_side = 1.0, None
    vary = _variation_of(variation, profile, r_vary)
    if vary is not None:
        if vary.bead_mm is not None:
            shape = replace(shape, width_mm=vary.bead_mm[0], height_mm=vary.bead_mm[1])
        shape = replace(shape.with_layout(vary.layout), cap_exponent=vary.cap_exponent,
                        top_exponent=vary.top_exponent,
                        ripple_amp_mm=shape.ripple_amp_mm * vary.ripple_scale,
                        crater_depth_mm=shape.crater_depth_mm * vary.crater_scale)
        scanner = scanner.model_copy(update={"noise_mm": vary.noise_mm,
                                             "outlier_fraction": vary.outlier_fraction})
        pitch = math.sqrt(vary.pitch_mm[0] * vary.pitch_mm[1])
        aspect, shadow_side = vary.pitch_mm[0] / vary.pitch_mm[1], vary.shadow_side
    x, y = _sample_grid(extent, pitch, r_grid, aspect)
    z, keep = shape.surface(x, y)
    if edit is not None:
        z_new, keep_new = edit(x, y, z)
        z = np.asarray(z_new, dtype=np.float64)
        keep = shape.emitted(x, y, z) & np.asarray(keep_new, dtype=bool)
    lo, hi = profile.geometry.shadow_fraction
    shadow_fraction = float(r_shadow.uniform(lo, hi))
    # the blobs fall on the plates and the bead's flanks (a fixture's or the part's
    # shadow), not on its convex crest, which a camera over it always sees. (A camera's
    # occlusion, _occluded, is not drawn yet: with it, a small flat-topped lap bead is
    # not found, e.g. type 9 seed 2 on the whole variation space)
    blobs = _shadow_mask(x, y, shadow_fraction, extent, profile, r_shadow, shadow_side,
                         spared=shape.crest)
    keep &= ~blobs

    pts = pose.to_scanner(np.column_stack((x[keep], y[keep], z[keep])))
    k = _add_noise_and_outliers(pts, scanner, r_noise)

    ident = identity if identity is not None else default_identity(weld_type, seed)
    params = {"pitch_mm": pitch, "samples": float(x.size), "shadow_fraction": shadow_fraction,
              "outlier_count": float(k), "outer_tilt_deg": shape.outer_tilt_deg,
              "step_mm": shape.step_mm, "keep_south_mm": shape.keep_mm[0],
              "keep_north_mm": shape.keep_mm[1]}
    return SimulatedScan(cloud=Cloud(points=pts.astype(np.float32), identity=ident),
                         pose=pose, profile=profile, shape=shape, params=params,
                         variation=dict(vary.settings) if vary is not None else {})


def _variation_of(variation: Variation | VariationRule | None, profile: WeldTypeProfile,
                  rng: np.random.Generator) -> Variation | None:
    """``variation`` as given, or drawn from ``rng`` when it is a rule."""
    from point_cloud.variation import VariationRule, draw_variation

    if isinstance(variation, VariationRule):
        return draw_variation(profile, rng, variation)
    return variation


def samples_for_points(weld_type: int, points: int, seed: int = 0, probe: int = 200_000) -> int:
    """Scanner samples that leave about ``points`` points in the simulated cloud of
    ``weld_type`` and ``seed`` (what is left after removed plates and shadows)."""
    kept = len(simulate_weld(weld_type, seed, points=probe).cloud.points)
    return round(probe * points / max(kept, 1))
