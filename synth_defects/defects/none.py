"""No defect: the source weld's map as it is (augmentation, if any, comes after)."""

from __future__ import annotations

import numpy as np

from synth_defects.frame import BeadFrame, Edited
from synth_defects.params import DefectRanges


def make(frame: BeadFrame, rng: np.random.Generator, ranges: DefectRanges) -> Edited:
    hm = frame.hm
    return Edited(hm.with_z(hm.z), np.zeros(hm.shape, bool), {})
