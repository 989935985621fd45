"""Prometheus metrics on a private registry, served on 127.0.0.1 when a port is set."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)


class Metrics:
    """Inspections by decision and type, end-to-end latency, outbox depth and dead letters."""

    def __init__(self, outbox_depth: Callable[[], float],
                 outbox_dead: Callable[[], float]) -> None:
        self.registry = CollectorRegistry()
        self.inspections = Counter("weld_inspections", "Inspections by decision and weld type",
                                   ["decision", "weld_type"], registry=self.registry)
        self.latency = Histogram("weld_inspection_latency_seconds",
                                 "Time from claim to commit per scan", buckets=LATENCY_BUCKETS,
                                 registry=self.registry)
        self.quarantined = Counter("weld_quarantined_scans", "Scans moved to quarantine",
                                   ["reason"], registry=self.registry)
        self.outbox = Gauge("weld_outbox_depth", "Results not yet acknowledged by the broker",
                            registry=self.registry)
        self.outbox.set_function(outbox_depth)
        self.dead = Gauge("weld_outbox_dead", "Results set aside as undeliverable (awaiting "
                          "'inspector outbox retry')", registry=self.registry)
        self.dead.set_function(outbox_dead)
        self.dead_letters = Counter("weld_outbox_dead_letters",
                                    "Results given up on by the publisher since start",
                                    registry=self.registry)

    def serve(self, port: int) -> Any:
        """Serve /metrics on 127.0.0.1:port; returns (server, thread)."""
        return start_http_server(port, addr="127.0.0.1", registry=self.registry)

    def observe(self, decision: str, weld_type: int | None, latency_s: float) -> None:
        self.inspections.labels(decision, str(weld_type) if weld_type else "unknown").inc()
        self.latency.observe(latency_s)
