"""How the plates around a bead lie in one scan: the simulator's :class:`Layout`.

Shared by the simulator, the variation axes and the geometry kinds (each kind draws its own
layouts, :meth:`point_cloud.kinds.GeometryKind.random_layout`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

ALL = math.inf
"""``Layout.keep_mm``: the whole plate is in the scan."""
BeadOn = Literal["ramp", "lower"]


@dataclass(frozen=True)
class Layout:
    """How the plates around the bead lie in one scan (see :mod:`point_cloud.simulator`'s
    docstring); a None field keeps what the type's default draw gives.

    ``step_mm``: the stepped plate's height above the reference plate: the upper plate
    (kind "upper", north of ``y = 0``) or type 7's patch inside the square (> 0 raised,
    < 0 recessed, 0 level). ``outer_tilt_deg``: type 7's outer plate, > 0 falling away
    from the bead, < 0 rising. ``keep_mm``: how far from the bead's nominal centreline
    each plate is in the scan (south, north; type 7: inside, outside the square); ``ALL``:
    all of it, 0: the plate wholly removed or cropped (only the bead's own points).
    ``bead_on``: how a bead meets a step (``step_mm`` != 0): ``"ramp"``, its cap on a ramp
    from one plate's level at one toe to the other's at the other (a lap fillet); ``"lower"``,
    standing on the lower plate, the stepped plate's edge under its centreline."""

    step_mm: float | None = None
    outer_tilt_deg: float | None = None
    keep_mm: tuple[float, float] | None = None
    bead_on: BeadOn | None = None
