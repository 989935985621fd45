"""The norm gauge's vote on a set of generated maps, as the line casts it.

On the line a measured exceedance beyond limit and uncertainty fails a weld whatever the
committee says (:func:`inspector.decision.gauge.vote`). Evaluation scores the line's
decision that way, and calibration sets the committee's operating point on it: a bad map the
gauge fails needs no committee threshold low enough to catch it, and a good map the gauge
fails counts against the false-reject budget either way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from point_cloud.config import weld_type_profile

GAUGE_VOTE = 1e6
"""The score a map gets when the norm gauge fails it (above any committee threshold)."""


def gauge_votes(root: Path, records: list[dict[str, Any]], weld_type: int) -> np.ndarray:
    """Per record (a dataset map under ``root``), whether the norm gauge fails it."""
    from inspector.decision.gauge import gauge_weld
    from point_cloud.heightmap_io import read_heightmap

    profile = weld_type_profile(weld_type)
    return np.array([bool(gauge_weld(read_heightmap(root / r["path"]), profile).exceeding)
                     for r in tqdm(records, desc=f"t{weld_type} gauge", leave=False)], bool)


def with_votes(score: np.ndarray, votes: np.ndarray | None) -> np.ndarray:
    """``score`` raised above any threshold where the gauge fails the map."""
    if votes is None:
        return np.asarray(score)
    return np.where(votes, GAUGE_VOTE, score)
