"""Where a straight bead ends: the centre of each rounded end cap, from its flank.

A bead's end is a rounded cap. On its flank, below the ripples and where it is steep, each
point's height says how far it lies from the cap's centre (the nominal cap shape,
:data:`CAP_EXPONENT`). A circle fit with those per-point radii gives the centre to a few
hundredths of a millimetre, far steadier than where the crest band ends (ripples and the
end crater move that by +-0.1 mm). A wrong nominal width or height moves both caps' centres
alike, in opposite directions, so the bead's centre (their midpoint) keeps its accuracy.

Coordinates are the bead frame: ``u`` along the bead, ``v`` across it.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]

CAP_EXPONENT = 0.8
"""Nominal cap: height = H (1 - rho^2) ** CAP_EXPONENT, rho = distance from the centreline
(on the cap: from the cap's centre) over the half width, as the simulator draws it."""
CAP_CONTOUR = (0.2, 0.6)
"""Flank heights used, as fractions of the nominal bead height."""
CAP_AXIAL = 0.866
"""Only flank points within 60 deg of the bead axis (|v| < this x their radius): further
round, the flank runs into the straight bead's sides."""
CAP_WINDOW_MM = (-1.5, 2.5)
"""Cap flank points lie this far from the crest band's end (inward, outward)."""
MIN_CAP_POINTS = 8
FIT_ITERATIONS = 6
TRIM_AFTER = 2
"""Circle-fit iteration after which points over 3 robust sigmas off are dropped."""
MAX_FIT_SHIFT_MM = 1.0


def circle_centre(pts: F64, radii: F64, start: F64) -> F64 | None:
    """Centre c minimising sum (|p_i - c| - r_i)^2 (Gauss-Newton from ``start``, trimmed
    once), or None if it wanders off or runs out of points."""
    c = np.asarray(start, dtype=np.float64).copy()
    keep = np.ones(len(pts), dtype=bool)
    for it in range(FIT_ITERATIONS):
        d = pts - c
        dist = np.maximum(np.hypot(d[:, 0], d[:, 1]), 1e-9)
        resid = dist - radii
        if it == TRIM_AFTER:
            dev = np.abs(resid - np.median(resid))
            keep = dev <= 3.0 * 1.4826 * float(np.median(dev)) + 1e-6
            if int(keep.sum()) < MIN_CAP_POINTS:
                return None
        jx, jy, r = -d[keep, 0] / dist[keep], -d[keep, 1] / dist[keep], resid[keep]
        normal = np.array([[jx @ jx, jx @ jy], [jx @ jy, jy @ jy]])  # Gauss-Newton, 2 x 2
        try:
            c = c - np.linalg.solve(normal, np.array([jx @ r, jy @ r]))
        except np.linalg.LinAlgError:
            return None
    if not np.all(np.isfinite(c)) or np.hypot(*(c - start)) > MAX_FIT_SHIFT_MM:
        return None
    return c


def on_flank(height: F64, usable: Mask, bead_height: float) -> Mask:
    """Where a point may be on a cap's flank: usable, at ``CAP_CONTOUR`` of the bead height."""
    frac = height / bead_height
    return usable & (frac >= CAP_CONTOUR[0]) & (frac <= CAP_CONTOUR[1])


def cap_centre(uv: F64, height: F64, usable: Mask, sign: float, band_end: float,
               half_width: float, bead_height: float) -> float | None:
    """``u`` of the centre of the end cap at the ``sign`` end (-1 or +1), or None with too
    few flank points there (a shadow over the cap).

    ``height``: each point's height above the bead's base; ``usable``: where that height is
    the bead cap's alone; ``band_end``: where the crest band ends at this end."""
    outward = sign * (uv[:, 0] - band_end)
    near = (on_flank(height, usable, bead_height)
            & (outward > CAP_WINDOW_MM[0]) & (outward < CAP_WINDOW_MM[1]))
    radius = half_width * np.sqrt(1.0 - (height[near] / bead_height) ** (1.0 / CAP_EXPONENT))
    pts = uv[near]
    axial = np.abs(pts[:, 1]) < CAP_AXIAL * radius
    if int(axial.sum()) < MIN_CAP_POINTS:
        return None
    pts, radius = pts[axial], radius[axial]
    reach = np.sqrt(radius**2 - pts[:, 1] ** 2)
    start = np.array([float(np.median(pts[:, 0] - sign * reach)), 0.0])
    centre = circle_centre(pts, radius, start)
    return None if centre is None else float(centre[0])
