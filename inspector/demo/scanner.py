"""A simulated robot cell: good and defective welds written into the spool like a scanner.

The scanner writes ``<name>.tmp`` and renames it (atomic), the sidecar first; every scan's
ground truth (good, or the defect class drawn) is kept so the demo can score the line.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from point_cloud.config import weld_type_profile
from point_cloud.identity import sidecar_path
from point_cloud.simulator import SurfaceEdit, simulate_weld
from point_cloud.types import Cloud, ScanIdentity
from point_cloud.write import write_scan

DEMO_DEFECTS = ("ball", "cut", "hole", "deviation", "excess", "lack", "no_weld")
"""Defect classes the demo draws (capture failures come from the scanner's own noise)."""


def deliver_scan(cloud: Cloud, folder: Path, name: str) -> Path:
    """Write ``cloud`` to ``folder/name`` the way the scanner does: staged, sidecar first,
    then an atomic rename, so the daemon never sees a half-written file."""
    folder.mkdir(parents=True, exist_ok=True)
    staging = folder.parent / f".staging-{folder.name}"
    scan = write_scan(cloud, staging / name)
    side = sidecar_path(scan)
    if side.exists():
        os.replace(side, folder / side.name)
    os.replace(scan, folder / name)
    return folder / name


@dataclass(frozen=True)
class ScanPlan:
    """One scan to make: which weld, and its truth (``None`` = good)."""

    index: int
    identity: ScanIdentity
    defect: str | None
    seed: int


@dataclass
class SimulatedScanner:
    """Writes ``count`` scans into ``spool`` at ``rate_hz`` (0 = as fast as possible)."""

    spool: Path
    types: list[int]
    count: int
    rate_hz: float = 1.0
    defect_rate: float = 0.4
    seed: int = 0
    points: int = 200_000
    fmt: str = ".npy"
    on_scan: Callable[[ScanPlan], None] | None = None
    truth: dict[str, ScanPlan] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    _thread: threading.Thread | None = None

    def plan(self) -> list[ScanPlan]:
        """The seeded sequence of welds: types in turn, defects drawn at ``defect_rate``."""
        rng = np.random.default_rng(self.seed)
        out = []
        for i in range(self.count):
            bad = rng.random() < self.defect_rate
            defect = str(rng.choice(DEMO_DEFECTS)) if bad else None
            ident = ScanIdentity(f"D{self.seed:03d}{i:05d}", "W1", self.types[i % len(self.types)])
            out.append(ScanPlan(i, ident, defect, self.seed * 100_000 + i))
        return out

    def make(self, p: ScanPlan) -> Path:
        """Simulate and deliver one scan."""
        profile = weld_type_profile(p.identity.weld_type)
        edit: SurfaceEdit | None = None
        if p.defect is not None:
            from synth_defects.scan_defects import defect_edit  # only the demo needs it
            edit, _ = defect_edit(p.identity.weld_type, p.seed, p.defect, self.points, profile)
        sim = simulate_weld(p.identity.weld_type, p.seed, points=self.points,
                            identity=p.identity, profile=profile, edit=edit)
        return deliver_scan(sim.cloud, self.spool, p.identity.stem() + self.fmt)

    def run(self, stop: threading.Event) -> None:
        """Deliver the plan at the configured rate until done or ``stop`` is set."""
        period = 1.0 / self.rate_hz if self.rate_hz > 0 else 0.0
        next_at = time.monotonic()
        for p in self.plan():
            if stop.wait(max(0.0, next_at - time.monotonic())):
                return
            next_at += period
            self.truth[p.identity.part_serial] = p
            try:
                self.make(p)
            except Exception as exc:   # a simulator fault must not end the demo
                self.errors.append(f"{p.identity.stem()}: {exc}")
                continue
            if self.on_scan is not None:
                self.on_scan(p)

    def start(self, stop: threading.Event) -> threading.Thread:
        self._thread = threading.Thread(target=self.run, args=(stop,), name="demo-scanner",
                                        daemon=True)
        self._thread.start()
        return self._thread

    def summary(self) -> dict[str, Any]:
        return {"planned": self.count, "delivered": len(self.truth) - len(self.errors),
                "errors": self.errors}
