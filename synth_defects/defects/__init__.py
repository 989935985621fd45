"""One module per sample class; :data:`MAKERS` maps a class name to its maker, as the
class's :class:`~synth_defects.classes.DefectSpec` names it.

A maker takes the good map's :class:`~synth_defects.frame.BeadFrame`, a random generator and
the type's :class:`~synth_defects.params.DefectRanges`, and returns an
:class:`~synth_defects.frame.Edited` (map, exact change mask, parameters in mm).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

import numpy as np

from synth_defects.classes import DEFECTS, DefectSpec
from synth_defects.frame import BeadFrame, Edited
from synth_defects.params import DefectRanges

Maker = Callable[[BeadFrame, np.random.Generator, DefectRanges], Edited]


def maker_of(spec: DefectSpec) -> Maker:
    """The function ``spec.maker`` names (``module:function`` in this package)."""
    module, _, name = spec.maker.partition(":")
    fn: Maker = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    return fn


MAKERS: dict[str, Maker] = {d.name: maker_of(d) for d in DEFECTS}
