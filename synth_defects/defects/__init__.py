"""One module per sample class; :data:`MAKERS` maps a class name to its maker, and
:data:`CHECKS` to its label check where it has one, as the class's
:class:`~synth_defects.classes.DefectSpec` names them.

A maker takes the good map's :class:`~synth_defects.frame.BeadFrame`, a random generator and
the type's :class:`~synth_defects.params.DefectRanges`, and returns an
:class:`~synth_defects.frame.Edited` (map, exact change mask, parameters in mm).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import numpy as np

from synth_defects.classes import DEFECTS, DefectSpec
from synth_defects.frame import BeadFrame, Edited
from synth_defects.params import DefectRanges

Maker = Callable[[BeadFrame, np.random.Generator, DefectRanges], Edited]
Check = Callable[[BeadFrame, Edited], bool]
"""Whether a drawn sample shows its label on the map (the frame it was drawn on, the
sample)."""


def _function(ref: str) -> Any:
    """The function ``ref`` names (``module:function`` in this package)."""
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


def maker_of(spec: DefectSpec) -> Maker:
    """The function ``spec.maker`` names."""
    fn: Maker = _function(spec.maker)
    return fn


MAKERS: dict[str, Maker] = {d.name: maker_of(d) for d in DEFECTS}
CHECKS: dict[str, Check] = {d.name: _function(d.check) for d in DEFECTS if d.check}
