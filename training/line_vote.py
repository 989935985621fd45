"""The norm gauge's vote on a set of generated maps, as the line casts it, and its margin
(the committee's gauge member, :mod:`inspector.decision.members`).

On the line a measured exceedance beyond limit and uncertainty fails a weld whatever the
committee says (:func:`inspector.decision.gauge.vote`). Evaluation scores the line's
decision that way, and calibration sets the committee's operating point on it: a bad map the
gauge fails needs no committee threshold low enough to catch it, and a good map the gauge
fails counts against the false-reject budget either way.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from point_cloud.config import weld_type_profile

GAUGE_VOTE = 1e6
"""The score a map gets when the norm gauge fails it (above any committee threshold)."""
CHUNK = 64
"""Maps per job of the process pool."""
MIN_PARALLEL = 4 * CHUNK
"""Fewer maps than this are gauged in this process (a pool's start costs about a second)."""


@dataclass(frozen=True)
class GaugeReadings:
    """Per map: whether the gauge fails it, and its :attr:`GaugeReport.margin`."""

    votes: np.ndarray      # (N,) bool
    margins: np.ndarray    # (N,) float64


def _readings(job: tuple[str, list[str], int]) -> list[tuple[bool, float]]:
    """The gauge's (vote, margin) on each map (paths under a root) of one weld type."""
    from inspector.decision.gauge import gauge_weld
    from point_cloud.heightmap_io import read_heightmap

    root, paths, weld_type = job
    profile = weld_type_profile(weld_type)
    reports = (gauge_weld(read_heightmap(Path(root) / p), profile) for p in paths)
    return [(bool(r.exceeding), r.margin) for r in reports]


def gauge_readings(root: Path, records: list[dict[str, Any]], weld_type: int,
                   workers: int | None = None) -> GaugeReadings:
    """Per record (a dataset map under ``root``), the norm gauge's vote and margin; on
    ``workers`` processes (default: every core) when there are many maps."""
    paths = [str(r["path"]) for r in records]
    jobs = [(str(root), paths[i:i + CHUNK], weld_type) for i in range(0, len(paths), CHUNK)]
    n = min(workers or os.cpu_count() or 1, len(jobs))
    bar = tqdm(total=len(paths), desc=f"t{weld_type} gauge", leave=False)
    out: list[tuple[bool, float]] = []
    if n <= 1 or len(paths) < MIN_PARALLEL:
        for job in jobs:
            out += _readings(job)
            bar.update(len(job[1]))
    else:  # spawned: a forked copy of a process running torch's threads may hang
        with ProcessPoolExecutor(n, mp_context=get_context("spawn")) as pool:
            for job, read in zip(jobs, pool.map(_readings, jobs), strict=True):
                out += read
                bar.update(len(job[1]))
    bar.close()
    return GaugeReadings(np.array([v for v, _ in out], bool),
                         np.array([m for _, m in out], np.float64))


def with_votes(score: np.ndarray, votes: np.ndarray | None) -> np.ndarray:
    """``score`` raised above any threshold where the gauge fails the map."""
    if votes is None:
        return np.asarray(score)
    return np.where(votes, GAUGE_VOTE, score)
