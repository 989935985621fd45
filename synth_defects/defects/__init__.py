"""One module per defect class; :data:`MAKERS` maps a class name to its maker.

A maker takes the good map's :class:`~synth_defects.frame.BeadFrame`, a random generator and
the type's :class:`~synth_defects.params.DefectRanges`, and returns an
:class:`~synth_defects.frame.Edited` (map, exact change mask, parameters in mm).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from synth_defects.defects import ball, capture_failure, cut, deviation, excess, hole, lack, no_weld
from synth_defects.frame import BeadFrame, Edited
from synth_defects.params import DefectRanges

Maker = Callable[[BeadFrame, np.random.Generator, DefectRanges], Edited]

MAKERS: dict[str, Maker] = {
    "deviation": deviation.make,
    "excess": excess.make,
    "ball": ball.make,
    "cut": cut.make_bad,
    "cut_ok": cut.make_ok,
    "hole": hole.make,
    "lack": lack.make,
    "no_weld": no_weld.make,
    "capture_failure": capture_failure.make,
}
