"""How much the daemon's plumbing adds on top of the bare pipeline, as ratios in one run.

    .venv/bin/python bench/daemon_overhead.py [--scans 20] [--points 120000] [--messages 500]

1. baseline: ``inspect_scan`` on N scans serially in this process (read + project + gate +
   a trivial decider); daemon: the same N scans dropped into the spool of a running daemon
   until every result arrived at an MQTT subscriber. Ratio = daemon wall time / baseline.
2. outbox: M rows drained by the publisher (QoS 1, one PUBACK at a time, DB ack writes)
   vs a bare paho loop publishing M QoS-1 messages and waiting for each PUBACK.
Needs mosquitto; uses a temporary folder. Results go to stdout.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "inspector")]

from broker import Broker, Subscriber  # noqa: E402
from daemon_helpers import write_line_config, write_scan  # noqa: E402
from weld_test_deciders import HeightDecider  # noqa: E402

from inspector.config import load_line_config  # noqa: E402
from inspector.inspection import inspect_scan  # noqa: E402
from inspector.service.daemon import Daemon  # noqa: E402
from inspector.service.messages import result_message  # noqa: E402
from inspector.store.outbox import InspectionRecord, record_inspection  # noqa: E402
from inspector.verdict import Verdict  # noqa: E402
from point_cloud.types import ScanIdentity  # noqa: E402


def bench_pipeline(tmp: Path, broker: Broker, n: int, points: int) -> tuple[float, float]:
    src = tmp / "scans"
    scans = [write_scan(src, 1000 + i, serial=f"B{i:04d}", ball=i % 4 == 0, points=points)
             for i in tqdm(range(n), desc="simulate")]
    deciders = {3: HeightDecider(), 10: HeightDecider()}
    inspect_scan(scans[0], deciders)                          # warm-up (imports, caches)
    t = time.perf_counter()
    for s in tqdm(scans, desc="baseline"):
        inspect_scan(s, deciders)
    base = time.perf_counter() - t
    cfg = load_line_config(write_line_config(tmp / "line", broker.port))
    sub = Subscriber(broker.port, ["welds/L1/S1/result"], client_id="bench-sub")
    d = Daemon(cfg, deciders)
    d.start()
    t = time.perf_counter()
    for s in scans:
        shutil.copy2(s, cfg.spool.dir / (s.name + ".tmp"))
        (cfg.spool.dir / (s.name + ".tmp")).rename(cfg.spool.dir / s.name)
    sub.wait_for(lambda x: len(x.results()) >= n, 600)
    daemon = time.perf_counter() - t
    d.stop()
    sub.close()
    return base, daemon


def bench_outbox(tmp: Path, broker: Broker, m: int) -> tuple[float, float]:
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-raw")
    c.connect("127.0.0.1", broker.port)
    c.loop_start()
    t = time.perf_counter()
    for _ in range(m):
        c.publish("bench/raw", b"x" * 600, qos=1).wait_for_publish(10)
    raw = time.perf_counter() - t
    c.disconnect()
    c.loop_stop()
    cfg = load_line_config(write_line_config(tmp / "outbox", broker.port,
                                             spool={"watch": False}))
    d = Daemon(cfg, {3: HeightDecider()})
    for i in range(m):
        msg = result_message(inspection_id=f"{i:032x}", line="L1", station="S1",
                             scan_name="x.npy", identity=ScanIdentity("P", "W", 3),
                             verdict=Verdict("PASS", 0.1, 0.5), timings_ms={})
        record_inspection(d.factory, InspectionRecord(msg, cfg.topic("result")))
    sub = Subscriber(broker.port, ["welds/L1/S1/result"], client_id="bench-sub2")
    t = time.perf_counter()
    d.start()
    sub.wait_for(lambda x: len(x.results()) >= m, 600)
    drained = time.perf_counter() - t
    d.stop()
    sub.close()
    return raw, drained


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scans", type=int, default=20)
    ap.add_argument("--points", type=int, default=120_000)
    ap.add_argument("--messages", type=int, default=500)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="weld-bench-"))
    broker = Broker(tmp / "broker")
    broker.start()
    try:
        base, daemon = bench_pipeline(tmp, broker, args.scans, args.points)
        raw, drained = bench_outbox(tmp, broker, args.messages)
    finally:
        broker.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    n, m = args.scans, args.messages
    print(f"pipeline  baseline {base / n * 1e3:7.1f} ms/scan   daemon {daemon / n * 1e3:7.1f} "
          f"ms/scan   ratio {daemon / base:5.2f}")
    print(f"outbox    bare paho {raw / m * 1e3:6.2f} ms/msg    publisher {drained / m * 1e3:6.2f} "
          f"ms/msg    ratio {drained / raw:5.2f}")


if __name__ == "__main__":
    main()
