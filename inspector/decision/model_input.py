"""THE definition of "height map -> model input", shared by training and inference.

Every exported member takes two float32 tensors of shape ``(B, 1, rows, cols)`` at the weld
type's native map size: ``z`` (mm above the plate, 0 where invalid) and ``valid`` (1.0 / 0.0).
Normalisation and resizing happen inside the ONNX graph; :func:`normalise_reference` is the
numpy reference of that in-graph step (training's torch module is tested against it):

1. ``h = clip(z / z_ref_mm, z_clip_lo, z_clip_hi) * valid`` (heights stay in units of the
   nominal bead height; no per-image brightness normalisation),
2. channel 0 = ``h`` with each invalid cell filled by the mean of its valid 3x3 neighbours
   (0 when it has none): isolated scanner dropouts vanish, large holes stay holes.
   With ``base_window_mm`` > 0 it is the *relief* instead: ``h`` minus its base.
   Plate cells are valid cells within ``plate_tol`` of the morphological opening of the
   valid cells over a ``base_window_mm`` square (wider than any bead: the bead, its balls
   and its lumps stand above their opening). The base is ``h`` on plate cells and, elsewhere,
   the plate cells' heights carried across by a normalised Gaussian average
   (``base_sigma_mm``); where no plate cell is near, the opening, else ``h``. A plate at any
   level or tilt, a raised patch or an upper plate is its own base, so the nets see the bead
   and its defects alone (issue 14's invariance). The average runs on a ``BASE_POOL``-times
   coarser grid (block means, then bilinear back; the base is smooth) to cost little.
   With a *bead band* (``band_cells``: the nominal bead band of the weld type, widened), no
   cell in the band is plate, and the average weighs plate cells by the inverse cube of
   their distance instead (within ``3 * base_sigma_mm``), which bridges a straight band
   linearly from toe to toe. Without the band, the opening takes the lower half of a bead
   on a step higher than its crest for plate (a monotone ramp is its own opening), and the
   nets see half a bead. The relief is clipped like ``h``,
3. channel 1 = ``valid``,
4. channel 2 = pit depth at the *native* resolution: the morphological closing of ``h``
   over a ``pit_window_mm`` square minus ``h``, clipped to ``[0, pit_clip]`` and 0 where
   invalid. A pore of about 1 mm is only 2-3 net pixels wide; this channel keeps its depth
   (in units of the nominal bead height) through the resize,
5. all three resized bilinearly (half-pixel centres, no antialias) to
   ``(net_rows, net_cols)``, the native map seen at ``net_mm_per_px``.
"""

from __future__ import annotations

import base64
from dataclasses import asdict, dataclass
from functools import cached_property
from typing import Any

import cv2
import numpy as np

from point_cloud.errors import ScanShapeError
from point_cloud.types import HeightMap

INPUT_NAMES: tuple[str, str] = ("z", "valid")
N_CHANNELS = 3  # height, validity, pit depth
BASE_POOL = 4   # the relief's base is averaged on a grid this many times coarser


@dataclass(frozen=True)
class InputSpec:
    """Shape and scaling of a member's input (stored in the bundle card)."""

    rows: int
    cols: int
    mm_per_px: float
    net_rows: int
    net_cols: int
    z_ref_mm: float = 2.0
    z_clip_lo: float = -2.0
    z_clip_hi: float = 4.0
    pit_window_mm: float = 3.0
    pit_clip: float = 1.5
    base_window_mm: float = 0.0        # 0: heights above z = 0 (bundles before the relief)
    base_sigma_mm: float = 2.5
    plate_tol: float = 0.1             # in units of z_ref_mm
    band_cells: str = ""               # packed bead-band mask (:func:`pack_band`); "" none

    @property
    def pit_kernel_px(self) -> int:
        """Odd side of the square closing window, in native pixels (>= 3)."""
        return max(3, 2 * round(self.pit_window_mm / self.mm_per_px / 2) + 1)

    @property
    def base_kernel_px(self) -> int:
        """Odd side of the base's opening window in native pixels (0: no relief)."""
        if self.base_window_mm <= 0:
            return 0
        return max(3, 2 * round(self.base_window_mm / self.mm_per_px / 2) + 1)

    @property
    def base_taps(self) -> np.ndarray:
        """The base's 1-D Gaussian taps on the ``BASE_POOL``-times coarser grid (float32, odd
        length, 3 sigma each side)."""
        sigma = self.base_sigma_mm / (self.mm_per_px * BASE_POOL)
        r = max(1, int(np.ceil(3 * sigma)))
        x = np.arange(-r, r + 1, dtype=np.float64)
        g = np.exp(-0.5 * (x / sigma) ** 2)
        return (g / g.sum()).astype(np.float32)

    @cached_property
    def band(self) -> np.ndarray | None:
        """The bead band's cells (bool, rows x cols), or None."""
        return unpack_band(self.band_cells, self.shape) if self.band_cells else None

    @cached_property
    def band_kernel(self) -> np.ndarray:
        """The banded base's 2-D inverse-cube weights on the coarse grid (float32, odd side,
        ``3 * base_sigma_mm`` radius, the centre capped at half a cell, sum 1)."""
        cell = self.mm_per_px * BASE_POOL
        r = max(1, int(np.ceil(3 * self.base_sigma_mm / cell)))
        d = np.hypot(*np.mgrid[-r:r + 1, -r:r + 1]) * cell
        k = np.where(d <= r * cell, 1.0 / np.maximum(d, cell / 2) ** 3, 0.0)
        return (k / k.sum()).astype(np.float32)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.rows, self.cols)

    @property
    def net_shape(self) -> tuple[int, int]:
        return (self.net_rows, self.net_cols)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)   # fields only (the cached band is not one)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InputSpec:
        return cls(**data)


def input_spec_for(shape_px: tuple[int, int], mm_per_px: float, net_mm_per_px: float,
                   z_ref_mm: float = 2.0, base_window_mm: float = 0.0,
                   band: np.ndarray | None = None) -> InputSpec:
    """Spec for maps of ``shape_px`` at ``mm_per_px``, seen by the nets at ``net_mm_per_px``
    (``band``: the bead band's cells, for the relief)."""
    scale = mm_per_px / net_mm_per_px
    rows, cols = int(shape_px[0]), int(shape_px[1])
    return InputSpec(rows=rows, cols=cols, mm_per_px=float(mm_per_px),
                     net_rows=max(8, round(rows * scale)), net_cols=max(8, round(cols * scale)),
                     z_ref_mm=float(z_ref_mm), base_window_mm=float(base_window_mm),
                     band_cells="" if band is None else pack_band(band))


def pack_band(band: np.ndarray) -> str:
    """A bool mask as base64 of its packed bits (a 160 x 160 band: 4.3 kB of card)."""
    return base64.b64encode(np.packbits(np.asarray(band, bool).ravel()).tobytes()).decode()


def unpack_band(cells: str, shape: tuple[int, int]) -> np.ndarray:
    """The mask :func:`pack_band` packed, as ``shape``."""
    bits = np.unpackbits(np.frombuffer(base64.b64decode(cells), np.uint8))
    return bits[:shape[0] * shape[1]].reshape(shape).astype(bool)


def check_map(hm: HeightMap, spec: InputSpec, where: str = "<memory>") -> None:
    """Raise :class:`ScanShapeError` unless ``hm`` has the spec's shape and mm/px."""
    if hm.shape != spec.shape:
        raise ScanShapeError(where, "height map shape",
                             f"{spec.shape} (rows, cols) for this bundle", str(hm.shape))
    if abs(hm.mm_per_px - spec.mm_per_px) > 1e-6:
        raise ScanShapeError(where, "mm_per_px", f"{spec.mm_per_px}", f"{hm.mm_per_px}")


def model_input(maps: list[HeightMap] | HeightMap, spec: InputSpec) -> dict[str, np.ndarray]:
    """ONNX feed ``{"z": (B,1,H,W), "valid": (B,1,H,W)}`` float32 for one map or a list."""
    items = [maps] if isinstance(maps, HeightMap) else list(maps)
    for hm in items:
        check_map(hm, spec)
    z = np.stack([hm.z for hm in items])[:, None].astype(np.float32)
    valid = np.stack([hm.valid for hm in items])[:, None].astype(np.float32)
    return {"z": np.where(valid > 0, z, np.float32(0.0)), "valid": valid}


def normalise_reference(z: np.ndarray, valid: np.ndarray, spec: InputSpec) -> np.ndarray:
    """Numpy reference of the in-graph preprocessing: (3, net_rows, net_cols) float32."""
    v = np.asarray(valid, np.float32)
    h = np.clip(np.asarray(z, np.float32) / np.float32(spec.z_ref_mm), spec.z_clip_lo,
                spec.z_clip_hi) * v
    num = cv2.boxFilter(h, -1, (3, 3), normalize=False, borderType=cv2.BORDER_CONSTANT)
    den = cv2.boxFilter(v, -1, (3, 3), normalize=False, borderType=cv2.BORDER_CONSTANT)
    h = np.where(v > 0, h, num / np.maximum(den, np.float32(1.0))).astype(np.float32)
    if spec.base_kernel_px:
        h = _relief_reference(h, v, den, spec)
    k = spec.pit_kernel_px
    closed = cv2.morphologyEx(h, cv2.MORPH_CLOSE, np.ones((k, k), np.uint8))
    pit = (np.clip(closed - h, 0.0, spec.pit_clip) * v).astype(np.float32)
    size = (spec.net_cols, spec.net_rows)
    chans = [cv2.resize(c, size, interpolation=cv2.INTER_LINEAR) for c in (h, v, pit)]
    return np.stack(chans).astype(np.float32)


UNSEEN = 1.0e4  # stands in for "no valid cell" in the base's opening (heights are clipped)
NEAR = 1.0e-3   # least Gaussian weight of plate cells that carries their level across


def _relief_reference(h: np.ndarray, v: np.ndarray, den: np.ndarray,
                      spec: InputSpec) -> np.ndarray:
    """``h`` minus its base (see the module doc, step 2)."""
    ker = np.ones((spec.base_kernel_px,) * 2, np.uint8)
    low = cv2.erode(np.where(v > 0, h, np.float32(UNSEEN)).astype(np.float32), ker)
    low = np.where(low < UNSEEN / 2, low, np.float32(-UNSEEN)).astype(np.float32)
    opened = cv2.dilate(low, ker)
    has_open = opened > -UNSEEN / 2
    plate = (v > 0) & has_open & (h - opened <= spec.plate_tol)
    if spec.band is not None:
        plate &= ~spec.band
    m = plate.astype(np.float32)
    num, wsum = (_coarse_carry(img, spec) for img in (h * m, m))
    carried = num / np.maximum(wsum, np.float32(NEAR))
    base = np.where(plate, h, np.where(wsum > NEAR, carried, np.where(has_open, opened, h)))
    rel = np.clip(h - base, spec.z_clip_lo, spec.z_clip_hi) * (den > 0)
    return rel.astype(np.float32)


def _coarse_carry(img: np.ndarray, spec: InputSpec) -> np.ndarray:
    """The base's weighted average of ``img`` (zero beyond it) on the ``BASE_POOL``-times
    coarser grid: block means of the zero-padded image, the Gaussian's separable taps (or,
    with a band, the inverse-cube kernel), bilinear back, cropped."""
    rows, cols = img.shape
    f = BASE_POOL
    pr, pc = -(-rows // f) * f, -(-cols // f) * f
    pad = np.zeros((pr, pc), np.float32)
    pad[:rows, :cols] = img
    small = cv2.resize(pad, (pc // f, pr // f), interpolation=cv2.INTER_AREA)
    if spec.band is None:
        small = cv2.sepFilter2D(small, -1, spec.base_taps, spec.base_taps,
                                borderType=cv2.BORDER_CONSTANT)
    else:
        small = cv2.filter2D(small, -1, spec.band_kernel, borderType=cv2.BORDER_CONSTANT)
    return np.asarray(cv2.resize(small, (pc, pr), interpolation=cv2.INTER_LINEAR)[:rows, :cols],
                      np.float32)
