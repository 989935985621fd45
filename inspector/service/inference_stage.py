"""The inference thread: one scan at a time through the decision pipeline, never raising.

A scan the spool already refused (``job.problem``), a :class:`ScanError`, and any other
exception all become an ERROR result marked for quarantine; the published reason names
the error's code and field, never the file's content (an unexpected error gives only its
type and the stage, with the traceback in the log).
"""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from inspector.config import LineConfig
from inspector.inspection import Deciders, InspectionResult, inspect_scan, known_identity
from inspector.service.artifacts import write_artifacts
from inspector.service.intake import ScanJob, Spool
from inspector.service.messages import result_message, unusable_verdict
from inspector.service.stage import Stage
from inspector.store.outbox import InspectionRecord
from inspector.verdict import Verdict
from point_cloud.errors import ScanError

log = logging.getLogger(__name__)

POLL_S = 0.1


@dataclass
class Outcome:
    """What the inference thread hands to the store thread for one scan."""

    job: ScanJob
    record: InspectionRecord
    quarantine: dict[str, Any] | None
    claimed_at: float


def scan_error_details(exc: ScanError) -> dict[str, Any]:
    """The quarantine reason file's fields for a scan error."""
    return {"reason": exc.reason, "message": str(exc), "field": exc.field,
            "expected": exc.expected, "found": exc.found}


class InferenceStage(Stage):
    """Turns each :class:`ScanJob` into an :class:`Outcome` for the store thread."""

    def __init__(self, cfg: LineConfig, deciders: Deciders, spool: Spool,
                 jobs: queue.Queue[ScanJob], outcomes: queue.Queue[Outcome],
                 inspect: Callable[..., InspectionResult] = inspect_scan,
                 **inspect_kw: Any) -> None:
        super().__init__("inference")
        self.cfg, self.deciders, self.spool = cfg, deciders, spool
        self.jobs, self.outcomes = jobs, outcomes
        self._inspect_scan, self._inspect_kw = inspect, inspect_kw

    def run(self) -> None:
        while not self.stop_event.is_set():
            self.beat()
            try:
                job = self.jobs.get(timeout=POLL_S)
            except queue.Empty:
                continue
            self.outcomes.put(self.process(job))

    def process(self, job: ScanJob) -> Outcome:
        """One job's outcome; never raises."""
        claimed = time.monotonic()
        if job.problem is not None:
            return self._unusable(job, claimed, job.problem)
        try:
            self.spool.mark_inflight(job)
        except OSError:
            log.warning("cannot mark %s in flight (poison detection is off for it)",
                        job.display, exc_info=True)
        try:
            return self._inspect(job, claimed)
        except ScanError as exc:
            return self._unusable(job, claimed, exc)
        except Exception as exc:          # one bad scan must never stop the daemon
            log.exception("internal error on %s", job.display)
            verdict = Verdict("ERROR", 1.0, 0.5,
                              reason=f"internal_error: {type(exc).__name__} while inspecting")
            return self._outcome(job, self._bare(job, verdict, claimed), {}, claimed, {
                "reason": "internal_error", "message": f"{type(exc).__name__} (see the log)"})

    def _inspect(self, job: ScanJob, claimed: float) -> Outcome:
        res = self._inspect_scan(job.path, self.deciders, job.identity,
                                 types_file=self.cfg.weld_types_file, **self._inspect_kw)
        artifacts = {}
        try:
            artifacts = write_artifacts(self.cfg.artifacts, job.inspection_id, res)
        except OSError:
            log.exception("could not write artifacts for %s", job.display)
        return self._outcome(job, res, artifacts, claimed, None)

    def _bare(self, job: ScanJob, verdict: Verdict, claimed: float) -> InspectionResult:
        """A result without a map, for a scan that was refused or broke."""
        ident = known_identity(job.path, job.identity) if job.problem is None else job.identity
        return InspectionResult(ident, None, verdict,
                                {"total": round((time.monotonic() - claimed) * 1e3, 3)})

    def _unusable(self, job: ScanJob, claimed: float, exc: ScanError) -> Outcome:
        res = self._bare(job, unusable_verdict(exc), claimed)
        return self._outcome(job, res, {}, claimed, scan_error_details(exc))

    def _outcome(self, job: ScanJob, res: InspectionResult, artifacts: dict[str, Any],
                 claimed: float, quarantine: dict[str, Any] | None) -> Outcome:
        msg = result_message(inspection_id=job.inspection_id, line=self.cfg.line,
                             station=self.cfg.station, scan_name=job.display,
                             identity=res.identity, verdict=res.verdict,
                             timings_ms=res.timings_ms)
        rec = InspectionRecord(msg, self.cfg.topic("result"), artifacts, res.measurements)
        return Outcome(job, rec, quarantine, claimed)
