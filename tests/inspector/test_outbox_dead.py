"""A result the broker never accepts goes dead instead of blocking the outbox.

Real mosquitto with a small ``max_packet_size`` (it drops a client that sends a bigger
packet), the real daemon draining a real SQLite outbox, the ``inspector outbox`` CLI.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from broker import Broker, Subscriber
from factories import make_record

from inspector.cli import main as cli
from inspector.commands.outbox import state
from inspector.config import load_line_config
from inspector.service.daemon import Daemon
from inspector.service.deciders import load_deciders
from inspector.store import open_store
from inspector.store.outbox import dead_count, outbox_depth, outbox_rows, record_inspection
from inspector.verdict import Verdict

LIMIT = 4096                                   # bytes; a normal result is about 700


def set_packet_limit(broker: Broker, limit: int | None) -> None:
    """Restart the broker with (or without) a ``max_packet_size``."""
    lines = [ln for ln in broker.conf.read_text().splitlines()
             if not ln.startswith("max_packet_size")]
    broker.conf.write_text("\n".join(lines + ([f"max_packet_size {limit}"] if limit else []))
                           + "\n")
    broker.restart()


def oversize_drops(broker: Broker) -> int:
    return broker.log.read_text().count("disconnected due to oversize packet")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = cli(list(args))
    return code, capsys.readouterr().out


def test_a_refused_result_goes_dead_and_later_results_still_arrive_in_order(
        line_config: Callable[..., Path], broker: Broker, capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture) -> None:
    set_packet_limit(broker, LIMIT)
    config = line_config(mqtt={"dead_after_attempts": 2})
    cfg = load_line_config(config)
    engine, factory = open_store(cfg.db_url)
    huge = make_record(4, verdict=Verdict("ERROR", 1.0, 0.5, reason="x" * 2 * LIMIT))
    bad_topic = make_record(8)
    bad_topic.topic = "welds/L1/S1/#"               # paho refuses it locally: permanent
    for rec in [*map(make_record, (1, 2, 3)), huge, *map(make_record, (5, 6, 7)), bad_topic]:
        assert record_inspection(factory, rec)
    seq = {r.inspection_id: r.seq for r in outbox_rows(factory)}
    sub = Subscriber(broker.port, ["welds/L1/S1/result"], client_id="dead-sub")
    caplog.set_level(logging.ERROR, logger="inspector.service.publisher")
    d = Daemon(cfg, load_deciders(cfg))
    d.start()
    try:
        assert sub.wait_for(lambda s: len(s.results()) >= 6 and dead_count(factory) == 2, 30)
        normal = [f"{n:032x}" for n in (1, 2, 3, 5, 6, 7)]
        assert [r["inspection_id"] for r in sub.results()] == normal   # in order, once each
        assert outbox_depth(factory) == 0
        dead = {r.inspection_id: r for r in outbox_rows(factory, dead_only=True)}
        assert sorted(dead) == [huge.inspection_id, bad_topic.inspection_id]
        assert dead[huge.inspection_id].delivered_at is None
        assert "2 attempts on 2 connections" in str(dead[huge.inspection_id].dead_reason)
        assert "refused by the MQTT client" in str(dead[bad_topic.inspection_id].dead_reason)
        assert oversize_drops(broker) == 2              # one drop per attempt, then no replay
        errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
        assert len(errors) == 2
        assert huge.inspection_id in errors[0]
        assert bad_topic.inspection_id in errors[1]
        sample = d.metrics.registry.get_sample_value
        assert sample("weld_outbox_dead_letters_total") == 2.0
        assert (sample("weld_outbox_dead"), sample("weld_outbox_depth")) == (2.0, 0.0)

        base = ["outbox", "--db", cfg.db_url]
        code, out = run(capsys, *base, "list", "--dead")
        assert code == 0
        listed = [ln.split()[:3] for ln in out.splitlines()[1:]]
        assert listed == [[str(seq[huge.inspection_id]), huge.inspection_id, "dead"],
                          [str(seq[bad_topic.inspection_id]), bad_topic.inspection_id, "dead"]]
        code, out = run(capsys, *base, "list")
        assert [ln.split()[2] for ln in out.splitlines()[1:]] == ["delivered"] * 3 + [
            "dead"] + ["delivered"] * 3 + ["dead"]
        assert run(capsys, *base, "retry", str(seq[f"{1:032x}"]))[0] == 2   # not dead

        set_packet_limit(broker, None)                  # the operator lifts the limit ...
        code, out = run(capsys, *base, "retry", str(seq[huge.inspection_id]))   # ... re-queues
        assert (code, out.split()) == (0, ["re-queued", "1:", str(seq[huge.inspection_id])])
        assert sub.wait_for(lambda s: len(s.results()) >= 7, 20)
        assert sub.results()[6]["inspection_id"] == huge.inspection_id
        assert len(sub.results()[6]["reason"]) == 2 * LIMIT
        assert sub.wait_for(lambda s: outbox_depth(factory) == 0, 5)
        assert dead_count(factory) == 1                 # the bad topic stays set aside
        states = {r.inspection_id: state(r) for r in outbox_rows(factory)}
        assert list(states.values()).count("delivered") == 7
        assert states[huge.inspection_id] == "delivered"
    finally:
        d.stop()
        sub.close()
        engine.dispose()
