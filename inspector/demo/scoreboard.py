"""The demo's live view: each result as it arrives over MQTT, scored against the truth."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import TextIO

from pydantic import ValidationError

from inspector.demo.scanner import ScanPlan
from inspector.service.messages import ResultMessage

log = logging.getLogger(__name__)


@dataclass
class Scoreboard:
    """Tallies results against the scanner's truth and prints one line per result."""

    truth: dict[str, ScanPlan]
    out: TextIO
    results: list[ResultMessage] = field(default_factory=list)
    tally: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @staticmethod
    def outcome(truth_bad: bool | None, decision: str) -> str:
        """``caught`` / ``passed`` (correct), ``false-reject`` / ``escape`` (wrong), ``error``."""
        if decision == "ERROR":
            return "error"
        if truth_bad is None:
            return "unknown"
        if truth_bad:
            return "caught" if decision == "FAIL" else "escape"
        return "false-reject" if decision == "FAIL" else "passed"

    def on_message(self, topic: str, payload: bytes) -> None:
        """Score one MQTT message; a payload that is not a valid result is logged and skipped."""
        if not topic.endswith("/result"):
            return
        try:
            r = ResultMessage.model_validate_json(payload)
        except ValidationError as exc:
            log.warning("demo: not a valid result on %s: %s", topic, exc)
            return
        plan = self.truth.get(str(r.part_serial))
        truth = None if plan is None else (plan.defect or "good")
        kind = self.outcome(None if plan is None else plan.defect is not None, r.decision)
        with self.lock:
            self.results.append(r)
            self.tally[kind] += 1
            n = len(self.results)
        defect = r.defect or "-"
        if r.size:
            defect += f" {r.size.value_mm:.1f}/{r.size.limit_mm:.1f} mm"
        self.out.write(
            f"[{n:4d}] {r.part_serial} t{r.weld_type!s:<2} truth {truth or '?':<10} -> "
            f"{r.decision:<5} {defect:<24} score {r.score:.3f}/{r.threshold:.3f} "
            f"{r.timings_ms.get('total', float('nan')):6.0f} ms  {_mark(kind)}\n")
        self.out.flush()

    def count(self) -> int:
        with self.lock:
            return len(self.results)

    def report(self) -> str:
        """The closing summary: decisions, correctness against truth, latency."""
        with self.lock:
            rs = list(self.results)
            tally = dict(self.tally)
        decisions = Counter(r.decision for r in rs)
        lat = sorted(r.timings_ms.get("total", 0.0) for r in rs)
        p50 = lat[len(lat) // 2] if lat else 0.0
        p95 = lat[min(len(lat) - 1, int(0.95 * len(lat)))] if lat else 0.0
        good = tally.get("passed", 0) + tally.get("false-reject", 0)
        bad = tally.get("caught", 0) + tally.get("escape", 0)
        by_decision = ", ".join(f"{k} {v}" for k, v in sorted(decisions.items()))
        return "\n".join([
            f"results     {len(rs)}  ({by_decision})",
            f"good welds  {good}: passed {tally.get('passed', 0)}, "
            f"falsely rejected {tally.get('false-reject', 0)}",
            f"bad welds   {bad}: caught {tally.get('caught', 0)}, "
            f"escaped {tally.get('escape', 0)}",
            f"errors      {tally.get('error', 0)} (capture failures and unusable scans)",
            f"latency     p50 {p50:.0f} ms, p95 {p95:.0f} ms (read -> decision)",
        ])


def _mark(kind: str) -> str:
    return {"passed": "ok", "caught": "ok", "false-reject": "FALSE REJECT",
            "escape": "ESCAPE", "error": "error"}.get(kind, "")
