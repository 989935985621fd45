"""One scan through the decision pipeline: read -> prepare/project -> quality gate -> committee.

This module is the seam between the service plumbing and the decision core: it knows
nothing of MQTT or the database. A :class:`Decider` (one per weld type) turns a height map
into a :class:`~inspector.verdict.Verdict`; the real one is the ONNX committee bundle.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from inspector import quality_gate
from inspector.decision.gauge import GaugeReport, gauge_weld, vote
from inspector.verdict import Verdict
from point_cloud.bead_geometry import find_bead
from point_cloud.config import WeldTypeProfile, weld_type_profile
from point_cloud.errors import IdentityError, NoBeadFoundError, ScanError
from point_cloud.identity import load_sidecar, resolve_identity
from point_cloud.pipeline import scan_to_heightmap
from point_cloud.read import read_scan
from point_cloud.threads import quiet_blas
from point_cloud.types import Cloud, HeightMap, ScanIdentity


@runtime_checkable
class Decider(Protocol):
    """Decides one weld type: a height map (and the norm gauge's report of it) in, a verdict
    out."""

    def decide(self, hm: HeightMap, report: GaugeReport | None = None) -> Verdict: ...


@runtime_checkable
class OverlappingDecider(Decider, Protocol):
    """A decider that can begin on a map before its gauge report exists: ``start`` sets its
    own work going (the committee's learned members, on a worker thread) and returns what
    finishes the decision once the gate and the gauge have measured the map."""

    def start(self, hm: HeightMap) -> Callable[[GaugeReport | None], Verdict]: ...


Deciders = Mapping[int, Decider]


@dataclass
class InspectionResult:
    """What one scan produced: identity, map (None when the bead was missing), verdict, timings."""

    identity: ScanIdentity | None
    heightmap: HeightMap | None
    verdict: Verdict
    timings_ms: dict[str, float] = field(default_factory=dict)
    measurements: dict[str, float] = field(default_factory=dict)   # the gauge's, in mm


class _Stopwatch:
    def __init__(self) -> None:
        self.timings_ms: dict[str, float] = {}
        self._t0 = time.perf_counter()

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        t = time.perf_counter()
        try:
            yield
        finally:
            self.timings_ms[name] = round((time.perf_counter() - t) * 1000.0, 3)

    def total(self) -> dict[str, float]:
        self.timings_ms["total"] = round((time.perf_counter() - self._t0) * 1000.0, 3)
        return self.timings_ms


def scan_identity(path: Path, cloud: Cloud, given: ScanIdentity | None) -> ScanIdentity:
    """Merge the trigger's identity with the sidecar's and the file name's (all must agree)."""
    ident = resolve_identity(path, given, load_sidecar(path)) or cloud.identity
    if ident is None:
        raise IdentityError(path, "identity",
                            "a sidecar <stem>.json, a name <serial>_<weld>_t<type>.<ext> or a "
                            "trigger message")
    return ident


def known_identity(path: Path, given: ScanIdentity | None) -> ScanIdentity | None:
    """Best-effort identity of a scan that could not be read (for its ERROR result)."""
    try:
        return resolve_identity(path, given, load_sidecar(path))
    except (ScanError, OSError):
        return given


def _default_reader(path: Path) -> Cloud:
    return read_scan(path)


def _default_projector(cloud: Cloud, profile: WeldTypeProfile) -> HeightMap:
    return scan_to_heightmap(cloud, profile)


Reader = Callable[[Path], Cloud]
Projector = Callable[[Cloud, WeldTypeProfile], HeightMap]


def inspect_scan(path: str | Path, deciders: Deciders, identity: ScanIdentity | None = None,
                 *, types_file: Path | None = None, reader: Reader | None = None,
                 projector: Projector | None = None) -> InspectionResult:
    """Run one scan file through the pipeline.

    Raises the specific :class:`~point_cloud.errors.ScanError` for an unusable scan (the
    caller quarantines it); a missing bead is a FAIL verdict, not an exception.
    """
    quiet_blas()                          # once per process: see point_cloud.threads
    path = Path(path)
    watch = _Stopwatch()
    with watch.stage("read"):
        cloud = (reader or _default_reader)(path)
    ident = scan_identity(path, cloud, identity)
    if ident.weld_type not in deciders:
        raise IdentityError(path, "weld_type",
                            f"one of the configured types {sorted(deciders)}", str(ident.weld_type))
    profile = weld_type_profile(ident.weld_type, types_file)
    hm: HeightMap | None = None
    try:
        with watch.stage("project"):
            hm = (projector or _default_projector)(cloud, profile)
            hm.identity = ident
    except NoBeadFoundError as exc:
        verdict = quality_gate.no_weld(f"no_bead: {exc}")
        return InspectionResult(ident, None, verdict, watch.total())
    decider = deciders[ident.weld_type]
    # the learned members run beside the gate and the gauge where the decider can
    finish = decider.start(hm) if isinstance(decider, OverlappingDecider) else None
    with watch.stage("gate"):
        bead = find_bead(hm, profile)       # once: the gate and the gauge both need it
        gate = quality_gate.check(hm, profile, bead)
    if gate is not None:
        return InspectionResult(ident, hm, gate, watch.total())
    with watch.stage("gauge"):
        report = gauge_weld(hm, profile, bead)
    with watch.stage("decide"):  # what the members still take, and the vote
        verdict = vote(finish(report) if finish else decider.decide(hm, report), report)
    return InspectionResult(ident, hm, verdict, watch.total(), report.values())
