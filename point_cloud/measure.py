"""Defect measurements in mm from height maps (runtime-safe: numpy/opencv only).

Each function measures one quantity of the weld norm, either on a map alone or against a
reference good map of the same weld (the bead is then analysed along the reference's
nominal path, so offsets and toes compare sample by sample). The generator's tests and the
inspector's reports ("cut 2.4 mm, limit 2.0") use these, never the generator's parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np
import numpy.typing as npt

from point_cloud.bead_geometry import (
    MIN_BEAD_RUN_MM,
    BeadGeometry,
    analyse_bead,
    drop_short_runs,
)
from point_cloud.config import WeldTypeProfile
from point_cloud.errors import NoBeadFoundError
from point_cloud.kinds import kind_of
from point_cloud.types import HeightMap

B = npt.NDArray[np.bool_]
F64 = npt.NDArray[np.float64]
CLIFF_TOP_FRACTION = 0.7  # square path: a cliff this much lower than the bead is no bead
SLIVER_WIDTH_FRACTION = 0.4  # square path: a section narrower than this share is no bead
CHANGE_MM = 0.05


def changed_region(good: HeightMap, bad: HeightMap, threshold_mm: float = CHANGE_MM) -> B:
    """Cells whose height moved by more than ``threshold_mm`` or whose validity flipped."""
    both = good.valid & bad.valid
    return (both & (np.abs(bad.z - good.z) > threshold_mm)) | (good.valid != bad.valid)


def compare(good: HeightMap, bad: HeightMap,
            profile: WeldTypeProfile) -> tuple[BeadGeometry, BeadGeometry]:
    """Bead geometry of both maps along the good map's nominal path."""
    g = analyse_bead(good, profile)
    return g, analyse_bead(bad, profile, path=g.path)


# --------------------------------------------------------------------------- gaps (cuts)
def runs(flags: B) -> list[tuple[int, int]]:
    """[start, end) index pairs of the True runs of a 1-D array."""
    d = np.diff(np.concatenate(([0], flags.astype(np.int8), [0])))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist(), strict=True))


@dataclass(frozen=True)
class Gap:
    """A stretch of the path without bead material between bead on both sides."""

    length_mm: float
    s_start_mm: float
    s_end_mm: float


def gaps(geom: BeadGeometry) -> list[Gap]:
    """Gaps inside the bead (line: between its start and end; square: anywhere, wrapping).
    Shadowed stretches are not gaps: only bead seen to be missing counts. Specks beyond a
    line bead's ends are left out first by :func:`without_specks` where it matters (the
    gauge). A shadow shorter than :data:`~point_cloud.bead_geometry.MIN_BEAD_RUN_MM` inside
    a gap does not split it: no bead could hide there (sparse sampling leaves a section of
    a gap just under half seen)."""
    present = bead_sections(geom)
    if not present.any():
        return []
    step = geom.path.step_mm
    unseen = drop_short_runs(~geom.measured, round(MIN_BEAD_RUN_MM / step))
    seen_or_bead = present | unseen  # a shadow is not evidence of a gap
    if geom.path.closed:
        n = len(seen_or_bead)
        k = int(np.argmax(present))  # rotate so the sequence starts on bead
        rolled = np.roll(~seen_or_bead, -k)
        return [Gap((e - s) * step, ((s + k) % n) * step, ((e + k) % n) * step)
                for s, e in runs(rolled)]
    idx = np.flatnonzero(present)
    inner = ~seen_or_bead[idx[0]: idx[-1] + 1]
    return [Gap((e - s) * step, (s + idx[0]) * step, (e + idx[0]) * step) for s, e in runs(inner)]


def bead_sections(geom: BeadGeometry) -> B:
    """Path samples holding bead: present, and around a closed path (whose plates step
    under the bead) no section lower than :data:`CLIFF_TOP_FRACTION` of the bead's median
    top that is a cliff, nor a sliver narrower than :data:`SLIVER_WIDTH_FRACTION` of its
    median width (whatever its height: a patch's corner in a cut stood 0.75 of the bead's
    top and split a 2.5 mm cut), over :data:`~point_cloud.bead_geometry.MIN_BEAD_RUN_MM` or
    more (with the gap beside them, if any): in a cut
    through a bead across a step, the step's bare edge, bridged toe to toe, stands over the
    line between them (``BeadGeometry.crest_centred``), and where the edge lies under the
    bead's middle, its corner stands over the plates read beside it as a ridge a pixel or
    two wide; a section or two through a pit is no cut."""
    if not geom.path.closed:
        return geom.present
    low = geom.top_mm < CLIFF_TOP_FRACTION * geom.median_top_mm
    gone = drop_short_runs(low & ~geom.crest_centred | _slivers(geom) | ~geom.present,
                           round(MIN_BEAD_RUN_MM / geom.path.step_mm))  # with a gap beside
    return np.asarray(geom.present & ~gone)


def _slivers(geom: BeadGeometry) -> B:
    """Sections narrower than :data:`SLIVER_WIDTH_FRACTION` of the bead's median width with
    both toes inside the bead's usual toes by a quarter of that width: a ridge in the
    bead's middle, not a flank beside a pit (whose outer toe stays where the bead's is)."""
    ok = geom.present & np.isfinite(geom.width_mm)
    if not ok.any():
        return np.zeros(len(geom.present), bool)
    w = geom.median_width_mm
    pos, neg = np.median(geom.toe_pos_mm[ok]), np.median(geom.toe_neg_mm[ok])
    with np.errstate(invalid="ignore"):
        return np.asarray(ok & (geom.width_mm < SLIVER_WIDTH_FRACTION * w)
                          & (geom.toe_pos_mm < pos - 0.25 * w)
                          & (geom.toe_neg_mm > neg + 0.25 * w))


def without_specks(geom: BeadGeometry, half_length_mm: float) -> BeadGeometry:
    """A line bead's geometry without the stretches of "bead" lying wholly beyond
    ``half_length_mm`` from the line's middle (a high plate's edge or spatter past the
    bead's end): no bead there, so no gap runs to them, and the bead's start and
    end (hence its end caps, :func:`off_end_caps`) are the bead's own. ``geom`` itself
    when there are none (or a square path)."""
    if geom.path.closed:
        return geom
    within = np.abs(geom.path.xy[:, 0] - float(np.mean(geom.path.xy[:, 0]))) <= half_length_mm
    present = geom.present.copy()
    for a, e in runs(present):
        if not within[a:e].any():
            present[a:e] = False
    if not present.any() or (present == geom.present).all():
        return geom
    nan = np.full(len(present), np.nan)
    s = geom.s_mm[present]
    return replace(geom, present=present,
                   offset_mm=np.where(present, geom.offset_mm, nan),
                   width_mm=np.where(present, geom.width_mm, nan),
                   top_mm=np.where(present, geom.top_mm, 0.0),
                   toe_pos_mm=np.where(present, geom.toe_pos_mm, nan),
                   toe_neg_mm=np.where(present, geom.toe_neg_mm, nan),
                   start_s_mm=float(s[0]), end_s_mm=float(s[-1]))


def longest_gap_mm(geom: BeadGeometry) -> float:
    g = gaps(geom)
    return max((x.length_mm for x in g), default=0.0)


@dataclass(frozen=True)
class Continuity:
    """Bead continuity: its span along the path, the share of it holding bead, the worst gap."""

    length_mm: float
    present_fraction: float
    longest_gap_mm: float


def bead_continuity(hm: HeightMap, profile: WeldTypeProfile) -> Continuity:
    geom = analyse_bead(hm, profile)
    idx = np.flatnonzero(geom.present)
    span = geom.present[idx[0]: idx[-1] + 1] if idx.size else geom.present[:0]
    return Continuity(length_mm=float(len(span) * geom.path.step_mm),
                      present_fraction=float(span.mean()) if span.size else 0.0,
                      longest_gap_mm=longest_gap_mm(geom))


# --------------------------------------------------------------------------- blobs
@dataclass(frozen=True)
class Blob:
    """A raised (ball) or sunk (hole) patch: equivalent diameter, peak change, roundness."""

    diameter_mm: float
    peak_mm: float
    area_mm2: float
    centre_xy: tuple[float, float]
    circularity: float  # area / area of the enclosing circle (1 = disc)


def blob(good: HeightMap, bad: HeightMap, sign: int = 1,
         threshold_mm: float = CHANGE_MM) -> Blob | None:
    """The largest patch raised (``sign=+1``) or sunk (``-1``) by more than the threshold;
    cells that lost their measurement (through holes) count as sunk, cells that gained one
    (a lump on a removed plate) as raised."""
    both = good.valid & bad.valid
    delta = np.where(both, (bad.z - good.z) * sign, 0.0)
    cells = delta > threshold_mm
    cells |= (good.valid & ~bad.valid) if sign < 0 else (bad.valid & ~good.valid)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(cells.astype(np.uint8), connectivity=8)
    if n <= 1:
        return None
    k = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    comp = labels == k
    area_px = int(comp.sum())
    pts = np.column_stack(np.nonzero(comp)[::-1]).astype(np.float32)
    (_, _), radius = cv2.minEnclosingCircle(pts)
    mpp = good.mm_per_px
    r, c = np.nonzero(comp)
    x, y = good.xy_of(r.mean(), c.mean())
    return Blob(diameter_mm=float(2 * np.sqrt(area_px / np.pi) * mpp),
                peak_mm=float(np.where(both, delta, bad.z * (sign > 0))[comp].max()),
                area_mm2=float(area_px * mpp * mpp), centre_xy=(float(x), float(y)),
                circularity=float(area_px / (np.pi * (radius + 0.5) ** 2)))


def window_nanmedian(a: npt.NDArray[np.floating], k: int, axis: int = 0, stride: int = 1,
                     wrap: bool = False) -> npt.NDArray[np.floating]:
    """Median over ``k`` samples centred on each index along ``axis``, NaN = missing (NaN
    where fewer than half a window is known). Computed every ``stride`` samples and held in
    between; the ends are padded with the edge sample, or wrap around (a closed path)."""
    x = np.moveaxis(a, axis, 0)
    pad = k // 2
    if wrap:
        padded = np.concatenate([x[len(x) - pad:], x, x[:pad]]) if pad else x
    else:
        padded = np.pad(x, [(pad, pad)] + [(0, 0)] * (x.ndim - 1), mode="edge")
    win = np.sort(np.lib.stride_tricks.sliding_window_view(padded, k, axis=0)[::stride], -1)
    n = np.isfinite(win).sum(axis=-1)
    lo = np.take_along_axis(win, np.maximum((n - 1) // 2, 0)[..., None], -1)[..., 0]
    hi = np.take_along_axis(win, np.maximum(n // 2, 0)[..., None], -1)[..., 0]
    med = np.where(n >= k // 2, 0.5 * (lo + hi), np.nan).astype(a.dtype)
    return np.moveaxis(np.repeat(med, stride, axis=0)[: len(x)], 0, axis)


REFERENCE_WINDOW_MM = 6.0  # along-X median window of the self-reference (wider than a lump)


def self_reference(hm: HeightMap, profile: WeldTypeProfile,
                   window_mm: float = REFERENCE_WINDOW_MM, *,
                   where_unseen: bool = False) -> HeightMap | None:
    """A stand-in good map for a line weld measured alone: each cell replaced by the median
    of its row over ``REFERENCE_WINDOW_MM`` along X (a bead is uniform along the weld, a
    lump or a pore is not). ``None`` for the square path (type 7)."""
    if kind_of(profile).path.closed:
        return None
    k = round(window_mm / hm.mm_per_px) | 1
    z = np.where(hm.valid, hm.z, np.nan).astype(np.float32)
    med = window_nanmedian(z, k, axis=1, stride=2)      # smooth along X: every other column
    seen = np.isfinite(med)
    # where_unseen: valid also on empty cells that their row's neighbours bridge (a pit
    # whose bottom the scanner did not see)
    return hm.with_z(np.nan_to_num(med), seen if where_unseen else hm.valid & seen)


def blob_on_map(hm: HeightMap, profile: WeldTypeProfile, sign: int = 1,
                threshold_mm: float = 0.2) -> Blob | None:
    """:func:`blob` against :func:`self_reference` (line welds measured without a good map)."""
    ref = self_reference(hm, profile)
    if ref is None:
        return None
    try:
        geom = analyse_bead(hm, profile)
    except NoBeadFoundError:
        return None
    # the bead's rounded ends are not uniform along X: leave them (and half a window) out
    margin = 0.5 * (geom.median_width_mm + REFERENCE_WINDOW_MM)
    x0 = geom.path.xy[0, 0]
    x = hm.xy_of(0, np.arange(hm.shape[1]))[0]
    inner = (x >= x0 + geom.start_s_mm + margin) & (x <= x0 + geom.end_s_mm - margin)
    keep = ref.valid & inner[None, :]
    return blob(ref.with_z(ref.z, keep), hm.with_z(hm.z, hm.valid & keep), sign, threshold_mm)


# --------------------------------------------------------------------------- centreline
@dataclass(frozen=True)
class Shift:
    """Largest centreline displacement against the reference (signed, + = north/outward)."""

    max_mm: float
    s_mm: float


def centreline_shift(good: HeightMap, bad: HeightMap, profile: WeldTypeProfile) -> Shift:
    g, b = compare(good, bad, profile)
    d = b.offset_mm - g.offset_mm
    ok = np.isfinite(d) & off_end_caps(g)
    if not ok.any():
        return Shift(0.0, 0.0)
    i = int(np.nanargmax(np.where(ok, np.abs(d), -1.0)))
    return Shift(float(d[i]), float(g.s_mm[i]))


def off_end_caps(geom: BeadGeometry) -> B:
    """Samples where a cross-section is well defined: clear of a line bead's rounded ends
    (half a bead width in from each end) or of a square path's corners (3/4 bead width)."""
    margin = 0.5 * geom.median_width_mm
    if geom.path.closed:
        side = 2 * geom.path.half_side_mm
        u = geom.s_mm % side
        return (u >= 1.5 * margin) & (u <= side - 1.5 * margin)
    return (geom.s_mm >= geom.start_s_mm + margin) & (geom.s_mm <= geom.end_s_mm - margin)


# --------------------------------------------------------------------------- imbalance
def profile_at(geom: BeadGeometry, t: F64, which: str = "profiles") -> F64:
    """Per sample i, the cross-section ``geom.<which>[i]`` interpolated at offset t[i]."""
    t0, dt = geom.profile_t_mm[0], geom.profile_t_mm[1] - geom.profile_t_mm[0]
    u = np.clip((np.nan_to_num(t) - t0) / dt, 0, len(geom.profile_t_mm) - 1.001)
    j = np.floor(u).astype(int)
    f = u - j
    rows = np.arange(len(t))
    p = np.asarray(getattr(geom, which), np.float64)
    return (1 - f) * p[rows, j] + f * p[rows, j + 1]


def imbalance_profile(geom: BeadGeometry) -> F64:
    """Per sample: height at a quarter width north of the bead's middle minus a quarter width
    south (between the toes). NaN where the cross-section is not seen whole."""
    mid = 0.5 * (geom.toe_pos_mm + geom.toe_neg_mm)
    q = 0.25 * geom.width_mm
    out = profile_at(geom, mid + q) - profile_at(geom, mid - q)
    # between the toes: their own samples straddle the bead's last measured cell where a
    # removed plate lies beyond
    return np.where(whole_sections(geom, toes=False) & off_end_caps(geom), out, np.nan)


def whole_sections(geom: BeadGeometry, margin_mm: float = 0.0, width_tol: float = 0.15,
                   toes: bool = True) -> B:
    """Cross-sections seen whole: every point from toe to toe measured (``toes``: the toes'
    own samples too), and a width near the bead's median (a shadow can truncate a section
    at a false toe)."""
    t = geom.profile_t_mm[None, :]
    lo, hi = geom.toe_neg_mm[:, None] - margin_mm, geom.toe_pos_mm[:, None] + margin_mm
    band = (t >= lo) & (t <= hi) if toes else (t > lo) & (t < hi)
    unseen = (band & (geom.seen_profiles < 0.99)).any(axis=1)
    width_ok = np.abs(geom.width_mm - geom.median_width_mm) <= width_tol * geom.median_width_mm
    return geom.present & ~unseen & np.nan_to_num(width_ok).astype(bool)


@dataclass(frozen=True)
class Imbalance:
    """Strongest north-minus-south imbalance averaged over ``length_mm`` of bead."""

    imbalance_mm: float
    s_mm: float
    length_mm: float


def imbalance(bad: HeightMap, profile: WeldTypeProfile, good: HeightMap | None = None,
              length_mm: float | None = None) -> Imbalance:
    """Imbalance over sections of ``length_mm`` (default: the norm's), optionally as the
    change against a reference good map."""
    if good is not None:
        g, b = compare(good, bad, profile)
        d = imbalance_profile(b) - imbalance_profile(g)
    else:
        b = analyse_bead(bad, profile)
        d = imbalance_profile(b)
    L = profile.limits.excess_reject_length_mm if length_mm is None else length_mm
    n = max(1, round(L / b.path.step_mm))
    ok = np.isfinite(d)
    dz = np.where(ok, d, 0.0)
    k = np.ones(n)
    sums, cnt = np.convolve(dz, k, "same"), np.convolve(ok.astype(float), k, "same")
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(cnt >= 0.8 * n, sums / cnt, 0.0)
    i = int(np.argmax(np.abs(mean)))
    return Imbalance(float(mean[i]), float(b.s_mm[i]), n * b.path.step_mm)


# --------------------------------------------------------------------------- toes (lack)
TOE_SMOOTH_MM = 1.0  # toe positions are compared as running medians over this length


def running_median(a: F64, k: int) -> F64:
    """Median over a window of ``k`` samples (NaNs ignored; all-NaN windows give NaN)."""
    pad = np.pad(np.asarray(a, np.float64), k // 2, mode="edge")
    win = np.lib.stride_tricks.sliding_window_view(pad, k)
    out = np.full(len(a), np.nan)
    ok = np.isfinite(win).any(axis=1)
    out[ok] = np.nanmedian(win[ok], axis=1)
    return out

@dataclass(frozen=True)
class ToeRetreat:
    """How far one toe stops short of where the reference's toe was, and over what length."""

    side: str  # "north" (+normal / outward) or "south"
    max_mm: float
    length_mm: float


def _retreat(north_mm: F64, south_mm: F64, geom: BeadGeometry,
             min_retreat_mm: float) -> ToeRetreat:
    """The side whose toe retreats most (smoothed along the bead, end caps left out)."""
    keep = off_end_caps(geom)
    k = max(3, round(TOE_SMOOTH_MM / geom.path.step_mm) | 1)
    north = np.where(keep, np.nan_to_num(running_median(north_mm, k)), 0.0)
    south = np.where(keep, np.nan_to_num(running_median(south_mm, k)), 0.0)
    side, r = max((("north", north), ("south", south)), key=lambda kv: float(kv[1].max()))
    run = max(((e - s) for s, e in runs(r > min_retreat_mm)), default=0)
    return ToeRetreat(side, float(r.max()), float(run * geom.path.step_mm))


def toe_retreat(good: HeightMap, bad: HeightMap, profile: WeldTypeProfile,
                min_retreat_mm: float = 0.5) -> ToeRetreat:
    g, b = compare(good, bad, profile)
    return _retreat(g.toe_pos_mm - b.toe_pos_mm, b.toe_neg_mm - g.toe_neg_mm, g, min_retreat_mm)


def toe_retreat_on_map(hm: HeightMap, profile: WeldTypeProfile,
                       min_retreat_mm: float = 0.5) -> ToeRetreat:
    """:func:`toe_retreat` against the bead's own median toe lines (a bead is uniform along
    the weld; lack of material pulls one toe in over a stretch)."""
    b = analyse_bead(hm, profile)
    keep = off_end_caps(b) & np.isfinite(b.toe_pos_mm) & np.isfinite(b.toe_neg_mm)
    if not keep.any():
        return ToeRetreat("north", 0.0, 0.0)
    pos, neg = float(np.median(b.toe_pos_mm[keep])), float(np.median(b.toe_neg_mm[keep]))
    return _retreat(pos - b.toe_pos_mm, b.toe_neg_mm - neg, b, min_retreat_mm)
