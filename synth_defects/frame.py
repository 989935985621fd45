"""The bead's own frame for every pixel of a good map, and the common way to apply an edit.

A defect is written as a change of the surface in mm in this frame: arc position ``s`` along
the found centreline, offset ``t`` across it (positive north / outward), with the local bead
width and top height at hand. :func:`apply_surface` turns new heights into a defective map
and the exact mask of the cells it changed.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from point_cloud.bead_geometry import BEAD_THRESHOLD_MM, BeadGeometry, analyse_bead
from point_cloud.config import WeldTypeProfile, scanner_model
from point_cloud.kinds import kind_of
from point_cloud.types import HeightMap

F64 = npt.NDArray[np.float64]
F32 = npt.NDArray[np.float32]
B = npt.NDArray[np.bool_]

CHANGE_MM = 0.05  # a cell whose height moved more than this is "changed" (mask)
ISOLATED_MIN_EXCESS_MM = 0.05  # isolated maps keep only cells standing above the plate
PLATE_BAND_MM = (0.5, 1.5)  # a plate is in the scan when this band beyond the toe is measured
TOE_REACH_PX = 2  # a toe's plate level is read this many cells beyond the toe
LOCAL_WINDOW_MM = 2.5  # a section cut short is read from the sections this far either side
MIN_LOCAL_SECTIONS = 3
SHORT_SECTION_SHARE = 0.6


@dataclass
class BeadFrame:
    """Per-pixel bead coordinates of a good map (see module docstring)."""

    hm: HeightMap
    profile: WeldTypeProfile
    geom: BeadGeometry
    s: F64  # (H, W) arc position, mm
    t: F64  # (H, W) offset from the found centreline, mm
    nx: F64  # (H, W) unit normal of the nearest path sample
    ny: F64
    half_width: F64  # (H, W) local half width of the bead, mm
    top: F64  # (H, W) local top height of the bead, mm

    @property
    def closed(self) -> bool:
        return self.geom.path.closed

    @property
    def path_length_mm(self) -> float:
        p = self.geom.path
        return float(len(p.xy) * p.step_mm) if self.closed else float(p.s_mm[-1])

    @property
    def z_fill(self) -> F32:
        """Heights with invalid cells bridged (plate base plus the bridged bead material)."""
        g = self.geom
        return np.where(self.hm.valid, self.hm.z, g.base + g.excess).astype(np.float32)

    def arc_offset(self, s: F64, s0: float) -> F64:
        """Signed arc distance of arc positions ``s`` from ``s0`` (periodic on a closed
        path)."""
        d = s - s0
        if self.closed:
            L = self.path_length_mm
            d = (d + 0.5 * L) % L - 0.5 * L
        return d

    def ds(self, s0: float) -> F64:
        """Signed arc distance of every pixel from ``s0`` (periodic on a closed path)."""
        return self.arc_offset(self.s, s0)

    def bead_span(self, margin_mm: float = 0.0) -> tuple[float, float]:
        """(first, last) arc position of bead material, shrunk by ``margin_mm`` at both ends."""
        if self.closed:
            return 0.0, self.path_length_mm
        return self.geom.start_s_mm + margin_mm, self.geom.end_s_mm - margin_mm

    def draw_s(self, rng: np.random.Generator, extent_mm: float, margin_mm: float = 1.0) -> float:
        """Arc position of the middle of a defect ``extent_mm`` long: inside the bead, clear of
        its ends by ``margin_mm`` and, on a square path, clear of the corners."""
        half = 0.5 * extent_mm + margin_mm
        if self.closed:
            side = self.path_length_mm / 4
            lo, hi = 0.25 * side + half, 0.75 * side - half  # middle half of a side
            k = int(rng.integers(4))
            return k * side + float(rng.uniform(lo, max(lo, hi))) if hi >= lo else (k + 0.5) * side
        lo, hi = self.bead_span(half)
        return float(rng.uniform(lo, max(lo, hi)))

    def xy_at(self, s: float, t: float) -> tuple[float, float]:
        """Physical (x, y) of arc position ``s`` (wrapped on a closed path) and offset ``t``."""
        g = self.geom
        L = self.path_length_mm
        i = round((s % L if self.closed else s) / g.path.step_mm)
        i = min(max(i, 0), len(g.s_mm) - 1)
        off = float(g.at(np.array([g.s_mm[i]]), g.offset_mm)[0])
        p = g.path.xy[i] + (off + t) * g.path.normal[i]
        return float(p[0]), float(p[1])

    def local(self, s: float) -> tuple[float, float]:
        """(half width, top height) of the bead at arc position ``s``; where a shadow cut that
        section short (its width or top under :data:`SHORT_SECTION_SHARE` of the median of the
        sections present within :data:`LOCAL_WINDOW_MM`), those medians: a ball's apex laid
        on such a section's top stood under the bead's real crest (an acceptable lump
        labelled bad)."""
        half, top, near = self._section(s)
        return near if near is not None and self._short(half, top, near) else (half, top)

    def is_short(self, s: float) -> bool:
        """Whether a shadow cut the section at arc position ``s`` short (see :meth:`local`)."""
        return self._short(*self._section(s))

    @staticmethod
    def _short(half: float, top: float, near: tuple[float, float] | None) -> bool:
        return near is not None and (half < SHORT_SECTION_SHARE * near[0]
                                     or top < SHORT_SECTION_SHARE * near[1])

    def _section(self, s: float) -> tuple[float, float, tuple[float, float] | None]:
        """(half width, top) of the section at ``s``, and the medians of the sections
        within :data:`LOCAL_WINDOW_MM` (None where fewer than :data:`MIN_LOCAL_SECTIONS`)."""
        g = self.geom
        s_at = s % self.path_length_mm if self.closed else s
        s_arr = np.array([s_at])
        half = float(0.5 * g.at(s_arr, g.width_mm)[0])
        top = float(g.at(s_arr, np.where(g.present, g.top_mm, np.nan))[0])
        near = (np.abs(self.arc_offset(g.s_mm, s_at)) <= LOCAL_WINDOW_MM) & g.present
        if near.sum() < MIN_LOCAL_SECTIONS:
            return half, top, None
        return half, top, (float(0.5 * np.median(g.width_mm[near])),
                           float(np.median(g.top_mm[near])))


def bead_frame(hm: HeightMap, profile: WeldTypeProfile,
               geom: BeadGeometry | None = None) -> BeadFrame:
    """Analyse ``hm`` (unless ``geom`` is given) and attach bead coordinates to every pixel."""
    g = geom if geom is not None else analyse_bead(hm, profile)
    r, c = np.indices(hm.shape)
    x, y = hm.xy_of(r, c)
    s, t, nx, ny = g.path.frame_of(x.astype(np.float64), y.astype(np.float64))
    s_flat = s.ravel()
    off = g.at(s_flat, g.offset_mm).reshape(s.shape)
    hw = 0.5 * g.at(s_flat, g.width_mm).reshape(s.shape)
    top = g.at(s_flat, np.where(g.present, g.top_mm, np.nan)).reshape(s.shape)
    return BeadFrame(hm=hm, profile=profile, geom=g, s=s, t=t - off, nx=nx, ny=ny,
                     half_width=hw, top=top)


def smooth_window(d: F64, half_len: float, ramp: float) -> F64:
    """1 where |d| <= half_len, cosine falling to 0 over ``ramp`` mm beyond."""
    u = np.clip((np.abs(d) - half_len) / max(ramp, 1e-9), 0.0, 1.0)
    return 0.5 * (1.0 + np.cos(np.pi * u))


def displaced_excess(frame: BeadFrame, shift_n_mm: F64) -> F32:
    """Bead material moved by ``shift_n_mm`` (per pixel) along the path normal: the excess
    over the plate is resampled from where it came from (plates stay put)."""
    return _resampled(frame, frame.geom.excess, shift_n_mm, cv2.BORDER_CONSTANT)


def _resampled(frame: BeadFrame, image: F32, shift_n_mm: F64,
               border: int = cv2.BORDER_REPLICATE) -> F32:
    """``image`` moved by ``shift_n_mm`` (per pixel) along the path normal: each cell reads
    the value from ``shift_n_mm`` behind it (beyond the map: ``border``, constant 0)."""
    px = frame.hm.mm_per_px
    r, c = np.indices(image.shape).astype(np.float32)
    src_r = r + (shift_n_mm * frame.ny / px).astype(np.float32)
    src_c = c - (shift_n_mm * frame.nx / px).astype(np.float32)
    out = cv2.remap(np.asarray(image, np.float32), src_c, src_r, cv2.INTER_LINEAR,
                    borderMode=border, borderValue=0.0)
    return np.asarray(out, np.float32)


def _spans_step(frame: BeadFrame) -> bool:
    """A straight bead laid across a plate step (a lap fillet: its toes on two levels)."""
    return not frame.closed and kind_of(frame.profile).nominal_step_mm != 0.0


def bare_plates(frame: BeadFrame) -> F32:
    """The plates with the bead taken away. Under a bead across a step (a lap fillet) each
    side of the centreline is its own toe's plate, the step's edge under the centreline;
    the base (:attr:`BeadGeometry.base`) bridges the toes in a ramp instead, which is the
    line the bead stands on, not what a moved bead leaves bare. Elsewhere: the base."""
    g = frame.geom
    if not _spans_step(frame):
        return np.asarray(g.base, np.float32)
    reach = frame.half_width + TOE_REACH_PX * frame.hm.mm_per_px
    south = _resampled(frame, g.base, frame.t + reach)   # the base at the south toe
    north = _resampled(frame, g.base, frame.t - reach)   # ... at the north toe
    under = np.abs(frame.t) <= reach
    return np.where(under, np.where(frame.t < 0, south, north), g.base).astype(np.float32)


def moved_bead(frame: BeadFrame, shift_n_mm: F64) -> tuple[F32, B | None]:
    """Heights of the map with the bead moved by ``shift_n_mm`` (per pixel) along the path
    normal, the plates staying put, and the cells measured (None: as
    :func:`apply_surface` keeps them). On a flat plate the excess is moved over the base
    (:func:`displaced_excess`). Across a step the whole bead is moved, ramp and all; where it
    left, its toe's plate shows (:func:`bare_plates`), as on a real lap, and a plate the
    scan does not hold is not measured there, while the bead is wherever it went."""
    g = frame.geom
    excess = displaced_excess(frame, shift_n_mm)
    if not _spans_step(frame):
        return np.asarray(g.base + excess, np.float32), None
    bare = bare_plates(frame)
    ground = _moved_ground(frame, bare, shift_n_mm)
    on = excess > BEAD_THRESHOLD_MM          # beyond its toes, the plates keep their noise
    z_new = np.where(on, np.maximum(bare, ground + excess), bare + excess).astype(np.float32)
    valid = frame.hm.valid.copy()
    changed = np.abs(z_new - frame.z_fill) > CHANGE_MM
    for side in (-1, 1):
        if not _plate_scanned(frame, side):
            here = changed & (side * frame.t > 0)
            valid[here] = (z_new - bare)[here] > ISOLATED_MIN_EXCESS_MM
    return z_new, valid


def _moved_ground(frame: BeadFrame, bare: F32, shift_n_mm: F64) -> F32:
    """What a bead moved by ``shift_n_mm`` across a step stands on: the line from its south
    toe's plate to its north toe's, each read where that toe went. A bead moved less than
    half its width keeps the ramp it stood on; one moved wholly onto a plate stands on it."""
    base = frame.geom.base
    reach = frame.half_width + TOE_REACH_PX * frame.hm.mm_per_px
    t = frame.t
    old_s, old_n = (_resampled(frame, base, t + reach), _resampled(frame, base, t - reach))
    hw = frame.half_width                    # the plates at the moved toes themselves
    new_s = _resampled(frame, bare, t - shift_n_mm + hw)
    new_n = _resampled(frame, bare, t - shift_n_mm - hw)
    frac = np.clip((t - shift_n_mm + reach) / (2 * reach), 0.0, 1.0)
    ground = (_resampled(frame, base, shift_n_mm) + (1 - frac) * (new_s - old_s)
              + frac * (new_n - old_n))
    return np.asarray(ground, np.float32)


def _plate_scanned(frame: BeadFrame, side: int) -> bool:
    """Whether the scan holds the plate on ``side`` (+1 north, -1 south) of the bead: most
    cells of a band :data:`PLATE_BAND_MM` beyond its toe measured."""
    beyond = side * frame.t - frame.half_width
    band = (beyond > PLATE_BAND_MM[0]) & (beyond < PLATE_BAND_MM[1])
    return bool(band.any() and frame.hm.valid[band].mean() > 0.5)


def plate_noise(frame: BeadFrame, rng: np.random.Generator) -> F32:
    """Scanner-like noise (the configured 1-sigma) for freshly exposed plate."""
    return rng.normal(0.0, scanner_model().noise_mm, frame.hm.shape).astype(np.float32)


@dataclass
class Edited:
    """A defective (or acceptable) map, the mask of the cells changed and its parameters."""

    hm: HeightMap
    mask: B
    params: dict[str, float | int | str]
    visible_fraction: float = 1.0  # share of the edited surface the map actually shows


def apply_surface(frame: BeadFrame, z_new: F32, params: dict[str, float | int | str], *,
                  valid_new: B | None = None) -> Edited:
    """New heights -> map + mask. Cells keep their validity unless changed; on isolated maps
    (plate removed) a changed cell is measured only while it stands above the plate."""
    hm, base = frame.hm, frame.geom.base
    z_new = np.asarray(z_new, np.float32)
    z_old = frame.z_fill
    changed = np.abs(z_new - z_old) > CHANGE_MM
    if valid_new is None:
        if frame.geom.plate_visible:
            valid_new = hm.valid.copy()
        else:
            standing = (z_new - base) > ISOLATED_MIN_EXCESS_MM
            valid_new = np.where(changed, standing, hm.valid)
    mask = (changed & hm.valid & valid_new) | (hm.valid != valid_new)
    z_out = np.where(mask, z_new, hm.z)  # untouched cells keep their exact heights
    out = hm.with_z(z_out.astype(np.float32), valid_new)
    visible = float(mask.sum() / max(1, int((changed | mask).sum())))
    return Edited(out, mask, {k: _round(v) for k, v in params.items()}, visible)


def bead_cells(frame: BeadFrame, margin_mm: float = 0.0) -> B:
    """Cells of the bead (excess above threshold), optionally grown by ``margin_mm``."""
    cells = frame.geom.excess > BEAD_THRESHOLD_MM
    if margin_mm > 0:
        k = 2 * round(margin_mm / frame.hm.mm_per_px) + 1
        cells = cv2.dilate(cells.astype(np.uint8), np.ones((k, k), np.uint8)) > 0
    return cells


def _round(v: float | int | str) -> float | int | str:
    return round(float(v), 4) if isinstance(v, float | np.floating) else v
