"""Fuzzing the running daemon with hostile input (a generated corpus, see ``hostile.py``).

Real mosquitto, real SQLite, the real spool, reader and projection; only the committee is
the test stand-in. Each test mixes good scans into the hostile ones and checks that the
daemon is alive at the end, every bad item got a reason that quotes no content, and every
good scan was decided.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import paho.mqtt.client as mqtt
import pytest
from broker import Broker, Subscriber, publish_once
from daemon_helpers import start_daemon, write_scan
from hostile import ENTRY_KINDS, SECRET, TRIGGER_KINDS, hostile_trigger, make_entry

from inspector.config import load_line_config
from inspector.service.daemon import Daemon
from inspector.service.intake import POISON_AFTER, Spool, display_name
from inspector.service.triggers import parse_trigger

TOPIC = "welds/L1/S1/trigger"
N_TRIGGERS = 1000
N_ENTRIES = 300


@pytest.fixture
def subscriber(broker: Broker) -> Iterator[Subscriber]:
    sub = Subscriber(broker.port, ["welds/L1/S1/#"], client_id="fuzz-subscriber")
    yield sub
    sub.close()


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    """A file outside the spool that must never be read."""
    p = tmp_path / "secret.xyz"
    p.write_text(f"{SECRET} 1 2\n1 2 3\n")
    return p


def trigger_for(path: Path, serial: str) -> bytes:
    return json.dumps({"file": f"incoming/{path.name}", "weld_id": "W1", "weld_type": 3,
                       "part_serial": serial}).encode()


def publish_all(port: int, payloads: list[bytes]) -> None:
    """Publish a burst at QoS 1 on one connection and wait for every PUBACK."""
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="fuzz-publisher")
    c.max_inflight_messages_set(100)
    c.max_queued_messages_set(0)
    c.connect("127.0.0.1", port)
    c.loop_start()
    infos = [c.publish(TOPIC, p, qos=1) for p in payloads]
    for info in infos:
        info.wait_for_publish(60)
    c.disconnect()
    c.loop_stop()


@pytest.mark.slow
def test_a_flood_of_1000_hostile_triggers_refuses_each_and_decides_every_valid_one(
        line_config: Callable[..., Path], subscriber: Subscriber, broker: Broker,
        daemon_factory: Callable[[Path], Daemon], secret: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    config = line_config(spool={"watch": False})
    cfg = load_line_config(config)
    d = daemon_factory(config)
    incoming = cfg.spool.dir / "incoming"
    (incoming).mkdir(parents=True)
    (incoming / "secret_link.ply").symlink_to(secret)
    rng = np.random.default_rng(7)
    kinds = [TRIGGER_KINDS[i % len(TRIGGER_KINDS)] for i in range(N_TRIGGERS)]
    payloads = [hostile_trigger(k, rng) for k in kinds]
    good = [write_scan(incoming, 500 + i, serial=f"G{i}", ext=".ply", points=60_000)
            for i in range(5)]
    for i, scan in enumerate(good):                  # valid triggers spread through the flood
        payloads.insert(200 * i + 100, trigger_for(scan, f"G{i}"))
    publish_all(broker.port, payloads)

    assert subscriber.wait_for(lambda s: len(s.results()) >= 5
                               and len(s.payloads("/event")) >= N_TRIGGERS, 180)
    assert d.healthy()
    decided = {r["part_serial"]: r["decision"] for r in subscriber.results()}
    assert decided == {f"G{i}": "PASS" for i in range(5)}             # none dropped as busy
    events = [json.loads(p) for p in subscriber.payloads("/event")]
    assert len(events) == N_TRIGGERS                              # one refusal per bad one
    reasons = Counter(e["reason"] for e in events)
    assert set(reasons) <= {"bad_json", "missing_field", "bad_identity", "bad_path",
                            "path_escapes_spool", "not_found"}
    assert reasons["busy"] == 0
    assert all(e["message"] and len(e["message"]) < 300 for e in events)
    assert SECRET not in json.dumps(events) + caplog.text
    warnings = [r for r in caplog.records if "trigger rejected" in r.getMessage()]
    assert 0 < len(warnings) <= 3 * len(reasons)          # rate-limited, not one per message


@pytest.mark.slow
def test_300_hostile_spool_entries_get_error_results_and_good_scans_pass(
        line_config: Callable[..., Path], subscriber: Subscriber,
        daemon_factory: Callable[[Path], Daemon], secret: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    config = line_config()
    cfg = load_line_config(config)
    spool = cfg.spool.dir
    spool.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(11)
    bad: dict[str, str] = {}
    for i in range(N_ENTRIES):
        kind = ENTRY_KINDS[i % len(ENTRY_KINDS)]
        bad[display_name(make_entry(spool, kind, i, rng, secret))] = kind
    d = daemon_factory(config)
    good = [write_scan(spool, 600 + i, serial=f"G{i}", points=60_000).name for i in range(6)]

    n = N_ENTRIES + len(good)
    assert subscriber.wait_for(lambda s: len(s.results()) >= n, 300), \
        f"{len(subscriber.results())} of {n} results"
    assert d.healthy()
    by_scan = {r["scan"]: r for r in subscriber.results()}
    assert {name: by_scan[name]["decision"] for name in good} == dict.fromkeys(good, "PASS")
    missing = sorted(set(bad) - set(by_scan))
    assert missing == []
    not_error = {n: by_scan[n]["decision"] for n in bad if by_scan[n]["decision"] != "ERROR"}
    assert not_error == {}
    reasons = Counter(str(by_scan[n]["reason"]).split(":")[0] for n in bad)
    assert "internal_error" not in reasons                # each kind has its specific reason
    assert reasons["not_a_regular_file"] == sum(
        k in ("symlink_loop", "symlink_out", "dangling_link", "dir_named_ply", "fifo")
        for k in bad.values())
    assert reasons["abandoned"] == sum(k.endswith("_old") for k in bad.values())
    reason_files = list((spool / "quarantine").glob("*.reason.json"))
    assert len(reason_files) == N_ENTRIES
    everything = json.dumps(subscriber.results()) + caplog.text + "".join(
        p.read_text() for p in reason_files)
    assert SECRET not in everything                       # no file content is ever quoted
    assert sum("quarantined" in r.getMessage() for r in caplog.records) == N_ENTRIES
    left = sorted(os.listdir(spool))
    assert left == ["done", "quarantine", "work"]
    assert os.listdir(spool / "work") == []


def test_a_scan_in_flight_at_three_crashes_is_refused_without_reading(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    scan = spool.root / "work" / "P1_W1_t3.npy"
    scan.write_bytes(b"whatever crashed the reader")
    for _ in range(POISON_AFTER):                  # in flight at each of 3 crashes
        job = spool.recover(scan)
        assert job.problem is None
        spool.mark_inflight(job)
    job = spool.recover(scan)
    assert job.problem is not None
    assert job.problem.reason == "poison"
    assert "3 abnormal stops" in str(job.problem)


def test_trigger_parsing_stays_fast_on_a_deep_payload() -> None:
    from inspector.service.triggers import TriggerError
    with pytest.raises(TriggerError) as err:
        parse_trigger(b"[" * 500_000 + b"]" * 500_000)
    assert err.value.reason == "bad_json"
    assert "1000000 bytes" in str(err.value)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["deep_in_object", "huge_weld_type", "long_path"])
def test_a_retained_poison_trigger_survives_three_restarts(
        line_config: Callable[..., Path], subscriber: Subscriber, broker: Broker,
        tmp_path: Path, kind: str) -> None:
    config = line_config(spool={"watch": False})
    cfg = load_line_config(config)
    incoming = cfg.spool.dir / "incoming"
    incoming.mkdir(parents=True)
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="poisoner")
    c.connect("127.0.0.1", broker.port)
    c.loop_start()
    c.publish(TOPIC, hostile_trigger(kind, np.random.default_rng(3)), qos=1,
              retain=True).wait_for_publish(10)
    c.disconnect()
    c.loop_stop()
    log = tmp_path / "daemon.log"
    for run in range(3):
        proc = start_daemon(config, log)
        try:
            assert subscriber.wait_for(lambda s, r=run: len(s.payloads("/event")) > r, 60), \
                log.read_text()[-2000:]
            scan = write_scan(incoming, 700 + run, serial=f"R{run}", ext=".ply",
                              points=60_000)
            publish_once(broker.port, TOPIC, trigger_for(scan, f"R{run}"))
            assert subscriber.wait_for(lambda s, r=run: len(s.results()) > r, 60)
            time.sleep(0.5)
            assert proc.poll() is None                       # still alive
        finally:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGTERM)
            code = proc.wait(60)
        assert code == 0
    events = [json.loads(p) for p in subscriber.payloads("/event")]
    assert len(events) == 3
    assert {e["reason"] for e in events} <= {"bad_json", "bad_path"}
    assert [r["decision"] for r in subscriber.results()] == ["PASS"] * 3
