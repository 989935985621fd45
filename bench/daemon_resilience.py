"""Does the daemon lose results across a broker outage or ``kill -9``? Measured, as in the plant.

    .venv/bin/python bench/daemon_resilience.py --scenario outage --rate 5 --outage-s 60 \\
        --before-s 20 --after-s 40
    .venv/bin/python bench/daemon_resilience.py --scenario kills --kills 21 --scans 700 --rate 5

Plant IT's figures against a real mosquitto: a 60 s broker outage at 4-6 scans/s lost 0 of
480-720 results; 21 ``kill -9`` mid-burst lost 0 of 701 scans; SQLite ``integrity_check``
passed after each of 26 kills.

Everything is real but the committee (``weld_test_deciders:load``: FAIL above a height):
mosquitto (the runtime's LocalBroker, persistence on), ``inspector run`` as a process,
simulated scans delivered into the spool by a scanner thread at ``--rate`` (1 in 3 with a
2 mm ball, which FAILs), SQLite in WAL mode, a persistent-session subscriber
(``clean_session=False``) collecting the results.

- ``outage``: scan for ``--before-s``; stop mosquitto for ``--outage-s`` while scanning goes
  on; start it again on the same port; scan ``--after-s`` more; wait until every scan has a
  result. Reports lost / duplicated results, whether they came in outbox order, the DB rows
  and how long the backlog took to drain once the broker was back.
- ``kills``: the scanner writes ``--scans`` scans; meanwhile the daemon is SIGKILLed
  ``--kills`` times at seeded random moments and restarted at once. After each kill the DB
  as the kill left it (a copy of the file and its WAL, so the restarted daemon still does
  its own recovery) gets ``PRAGMA integrity_check``, and the live DB once more at the end.
  Reports lost scans, ids with two decisions, scans stored twice, the checks, what is left
  in the spool and the daemon's exit code on the final SIGTERM.

A progress line per phase, a markdown table, JSON in ``--out`` (one key per scenario).
"Decisions other than drawn" is informational: on 30k-point clouds the hole gauge FAILs
some scans drawn without a ball (the same file gets the same decision every time).

Exit code 1 when anything was lost or damaged: a scan without a result (published or in
the DB), an inspection with two decisions, a scan stored twice, a failed integrity check,
results out of outbox order, scans left in ``work/``, a non-zero exit code on SIGTERM.
Duplicate deliveries of one result are at-least-once by design: counted, not a failure.
The temporary folder (daemon and broker logs) is kept with ``--keep`` or when something
failed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "inspector")]

from broker import Broker, Subscriber  # noqa: E402
from daemon_helpers import start_daemon, write_line_config, write_scan  # noqa: E402

RESULTS_DIR = ROOT / "bench" / "results"
TOPICS = ["welds/L1/S1/result", "welds/L1/S1/status"]
PLANT = {
    "outage": "60 s broker outage at 4-6 scans/s: 0 of 480-720 results lost",
    "kills": "21 kill -9 mid-burst: 0 of 701 scans lost; integrity_check ok after each of "
             "26 kills",
}
SIDE_SUFFIXES = (".json",)        # sidecars, trigger and in-flight marks in work/


def default_out() -> tuple[Path, str | None]:
    """bench/results/daemon_resilience.json when git ignores it, else /tmp (with a note)."""
    target = RESULTS_DIR / "daemon_resilience.json"
    try:
        ignored = subprocess.run(["git", "check-ignore", "-q", str(target)], cwd=ROOT,
                                 capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        ignored = False
    if ignored:
        return target, None
    fallback = Path(tempfile.gettempdir()) / "daemon_resilience.json"
    return fallback, f"{RESULTS_DIR} is not git-ignored: writing to {fallback} instead"


# ================================================================== the scanner
@dataclass(frozen=True)
class Written:
    serial: str
    at: float                 # time.monotonic() when the scan was in the spool
    ball: bool


class Scanner:
    """A thread delivering simulated scans into the spool at ``rate`` per second (absolute
    schedule: a slow write is caught up, never skipped); ``count`` None = until stopped."""

    def __init__(self, spool: Path, rate: float, count: int | None, points: int,
                 seed: int, prefix: str) -> None:
        self.spool, self.rate, self.count, self.points = spool, rate, count, points
        self.seed, self.prefix = seed, prefix
        self.written: list[Written] = []
        self.errors: list[str] = []
        self.max_late_s = 0.0
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, name="scanner", daemon=True)
        self.started_at = 0.0

    def start(self) -> None:
        self.started_at = time.monotonic()
        self.thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(60)

    @property
    def done(self) -> bool:
        return not self.thread.is_alive()

    def serials(self) -> list[str]:
        with self.lock:
            return [w.serial for w in self.written]

    def snapshot(self) -> list[Written]:
        with self.lock:
            return list(self.written)

    def _run(self) -> None:
        i = 0
        while self.count is None or i < self.count:
            due = self.started_at + i / self.rate
            if self.stop_event.wait(max(0.0, due - time.monotonic())):
                return
            serial, ball = f"{self.prefix}{i:05d}", i % 3 == 0
            try:
                write_scan(self.spool, self.seed + i, serial=serial, ball=ball,
                           points=self.points)
            except Exception as exc:      # reported, the cell goes on scanning
                self.errors.append(f"{serial}: {exc!r}")
            else:
                with self.lock:
                    self.written.append(Written(serial, time.monotonic(), ball))
            self.max_late_s = max(self.max_late_s, time.monotonic() - due)
            i += 1

    def achieved_rate(self) -> float:
        w = self.snapshot()
        if len(w) < 2:
            return 0.0
        return (len(w) - 1) / max(w[-1].at - w[0].at, 1e-9)


# ================================================================== the daemon process
class DaemonProcess:
    """``inspector run`` as a child process: start, SIGKILL, SIGTERM (by its PID only)."""

    def __init__(self, config: Path, log: Path) -> None:
        self.config, self.log = config, log
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.proc = start_daemon(self.config, self.log)
        self.starts += 1

    def exited(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def kill(self) -> int | None:
        """SIGKILL; the exit status (-9), or the code it had exited with by itself."""
        assert self.proc is not None
        code = self.proc.poll()
        if code is not None:
            return code
        os.kill(self.proc.pid, signal.SIGKILL)
        return self.proc.wait(30)

    def terminate(self, timeout: float = 90.0) -> int | None:
        """SIGTERM and its exit code (None: it had to be SIGKILLed after ``timeout``)."""
        if self.proc is None:
            return None
        proc, self.proc = self.proc, None
        if proc.poll() is not None:
            return proc.returncode
        os.kill(proc.pid, signal.SIGTERM)
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
            return None

    def log_count(self, text: str) -> int:
        try:
            return self.log.read_text(errors="replace").count(text)
        except OSError:
            return 0

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


# ================================================================== the DB, read directly
def query(db: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """A read on the daemon's SQLite file (plain sqlite3: nothing migrated, nothing written)."""
    con = sqlite3.connect(str(db), timeout=30, isolation_level=None)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def integrity_check(db: Path) -> str:
    con = sqlite3.connect(str(db), timeout=30, isolation_level=None)
    try:
        return "; ".join(str(r[0]) for r in con.execute("PRAGMA integrity_check").fetchall())
    finally:
        con.close()


def snapshot_db(db: Path, dest: Path) -> Path:
    """Copy the DB file and its WAL / journal as they are (the daemon is dead: nobody writes)."""
    dest.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-journal"):
        src = db.with_name(db.name + suffix)
        if src.exists():
            shutil.copy2(src, dest / (db.name + suffix))
    return dest / db.name


def db_rows(db: Path) -> list[tuple[str, str | None, str]]:
    """(id, part_serial, decision) of every inspection."""
    return [(str(i), s, str(d)) for i, s, d in
            query(db, "SELECT id, part_serial, decision FROM inspections")]


def outbox_ids(db: Path, pending_only: bool = False) -> list[str]:
    where = " WHERE delivered_at IS NULL AND dead_at IS NULL" if pending_only else ""
    return [str(r[0]) for r in
            query(db, f"SELECT inspection_id FROM outbox{where} ORDER BY seq")]


def count_rows(db: Path, table: str, where: str = "") -> int:
    return int(query(db, f"SELECT count(*) FROM {table} {where}")[0][0])


def first_seen(ids: list[str]) -> list[str]:
    return list(dict.fromkeys(ids))


# ================================================================== shared plumbing
class Run:
    """One scenario's world: a temp folder, mosquitto, the line config, the subscriber."""

    def __init__(self, tmp: Path, args: argparse.Namespace) -> None:
        self.tmp, self.args = tmp, args
        self.broker = Broker(tmp / "broker")
        self.broker.start()
        self.config = write_line_config(tmp / "line", self.broker.port)
        self.db = tmp / "line" / "inspections.db"
        self.spool = tmp / "line" / "spool"
        self.sub = Subscriber(self.broker.port, TOPICS, client_id=f"resilience-{os.getpid()}")
        self.daemon = DaemonProcess(self.config, tmp / "daemon.log")
        self.scanner: Scanner | None = None
        self.t0 = time.monotonic()

    def close(self) -> None:
        if self.scanner is not None:
            self.scanner.stop()
        self.daemon.terminate(30)
        self.sub.close()
        self.broker.stop()

    def elapsed(self) -> float:
        return time.monotonic() - self.t0

    def onlines(self) -> int:
        return self.sub.payloads("/status").count(b"online")

    def wait_online(self, before: int, timeout: float) -> bool:
        """Until the daemon announced ``online`` once more than ``before`` times."""
        return self.sub.wait_for(lambda s: s.payloads("/status").count(b"online") > before,
                                 timeout)

    def results(self) -> list[dict[str, Any]]:
        return self.sub.results()

    def published_serials(self) -> set[str]:
        return {str(r.get("part_serial")) for r in self.results()}

    def progress(self, phase: str, extra: str = "") -> None:
        written = len(self.scanner.serials()) if self.scanner else 0
        res = self.results()
        try:
            rows = count_rows(self.db, "inspections")
            pending = count_rows(self.db, "outbox",
                                 "WHERE delivered_at IS NULL AND dead_at IS NULL")
            db = f"DB rows {rows:4d}  outbox pending {pending:4d}"
        except sqlite3.Error as exc:
            db = f"DB not readable ({exc})"
        print(f"[{self.elapsed():7.1f} s] {phase:<8} written {written:4d}  results "
              f"{len({r['inspection_id'] for r in res}):4d}  {db}{extra}", flush=True)

    def phase(self, name: str, seconds: float,
              tick: Callable[[], None] | None = None,
              until: Callable[[], bool] | None = None) -> bool:
        """Let ``seconds`` pass (or until ``until()``), calling ``tick`` every 0.1 s and
        printing a progress line every ``--progress-s`` and at the end of the phase."""
        end = time.monotonic() + seconds
        next_line = time.monotonic() + self.args.progress_s
        met = False
        while time.monotonic() < end:
            if tick is not None:
                tick()
            if until is not None and until():
                met = True
                break
            if time.monotonic() >= next_line:
                self.progress(name)
                next_line += self.args.progress_s
            time.sleep(0.1)
        if tick is not None:
            tick()
        self.progress(name, "  (end of phase)")
        return met or (until is not None and until())

    def all_in(self) -> bool:
        """Every written scan has a published result and a DB row (scanner finished)."""
        if self.scanner is None or not self.scanner.done:
            return False
        want = set(self.scanner.serials())
        if not want <= self.published_serials():
            return False
        try:
            return want <= {s for _, s, _ in db_rows(self.db)}
        except sqlite3.Error:
            return False


def decisions_of(results: list[dict[str, Any]],
                 rows: list[tuple[str, str | None, str]]) -> dict[str, set[str]]:
    """Every decision seen per inspection id, published or stored."""
    seen: dict[str, set[str]] = {}
    for r in results:
        seen.setdefault(str(r["inspection_id"]), set()).add(str(r["decision"]))
    for i, _, d in rows:
        seen.setdefault(i, set()).add(d)
    return seen


def common_figures(run: Run) -> dict[str, Any]:
    """Loss, duplicates and decisions, from the scanner, the subscriber and the DB."""
    assert run.scanner is not None
    written = run.scanner.snapshot()
    serials = [w.serial for w in written]
    results = run.results()
    rows = db_rows(run.db)
    published = {str(r.get("part_serial")) for r in results}
    stored = Counter(s for _, s, _ in rows)
    ids = [str(r["inspection_id"]) for r in results]
    two = {i: sorted(d) for i, d in decisions_of(results, rows).items() if len(d) > 1}
    by_serial = {s: d for _, s, d in rows}
    expected = {w.serial: ("FAIL" if w.ball else "PASS") for w in written}
    unexpected = {s: (by_serial[s], e) for s, e in expected.items()
                  if s in by_serial and by_serial[s] != e}
    return {
        "scans_written": len(serials),
        "scanner_errors": run.scanner.errors,
        "scan_rate_achieved_per_s": round(run.scanner.achieved_rate(), 2),
        "scanner_max_late_s": round(run.scanner.max_late_s, 2),
        "results_received": len(results),
        "results_unique": len(set(ids)),
        "duplicates": len(ids) - len(set(ids)),
        "lost": sorted(set(serials) - published),
        "not_in_db": sorted(set(serials) - set(stored)),
        "stored_twice": sorted(s for s, n in stored.items() if s is not None and n > 1),
        "db_rows": len(rows),
        "two_decisions": two,
        "decisions": dict(Counter(d for _, _, d in rows)),
        "unexpected_decisions": {s: f"{got} (expected {want})"
                                 for s, (got, want) in sorted(unexpected.items())},
        "outbox_pending_end": count_rows(run.db, "outbox",
                                         "WHERE delivered_at IS NULL AND dead_at IS NULL"),
        "outbox_dead_end": count_rows(run.db, "outbox", "WHERE dead_at IS NOT NULL"),
    }


def spool_left(spool: Path) -> tuple[list[str], list[str]]:
    """(scans still waiting at the top of the spool, entries left in work/)."""
    def scans(folder: Path) -> list[str]:
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir()
                      if p.is_file() and not p.name.endswith(SIDE_SUFFIXES))
    return scans(spool), scans(spool / "work")


# ================================================================== scenario 1: outage
def scenario_outage(run: Run) -> tuple[dict[str, Any], list[str]]:
    a = run.args
    run.daemon.start()
    if not run.wait_online(0, 120):
        raise SystemExit("daemon did not come online:\n" + run.daemon.log_tail())
    run.progress("start", "  (daemon online)")
    scanner = run.scanner = Scanner(run.spool, a.rate, None, a.points, a.seed * 100_000, "O")
    scanner.start()
    run.phase("before", a.before_s)

    run.broker.stop()
    t_down = time.monotonic()
    print(f"[{run.elapsed():7.1f} s] broker stopped (port {run.broker.port})", flush=True)
    run.phase("outage", a.outage_s)
    held = outbox_ids(run.db, pending_only=True)
    serials_at_restart = set(scanner.serials())
    run.broker.start()
    t_up = time.monotonic()
    print(f"[{run.elapsed():7.1f} s] broker started again on port {run.broker.port} after "
          f"{t_up - t_down:.1f} s; {len(held)} results held in the outbox, "
          f"{len(serials_at_restart)} scans written so far", flush=True)

    drained: dict[str, float | None] = {"held": None, "caught_up": None}

    def tick() -> None:
        now = time.monotonic() - t_up
        if drained["held"] is None or drained["caught_up"] is None:
            res = run.results()
            got_ids = {str(r["inspection_id"]) for r in res}
            if drained["held"] is None and set(held) <= got_ids:
                drained["held"] = now
            if drained["caught_up"] is None and serials_at_restart <= {
                    str(r.get("part_serial")) for r in res}:
                drained["caught_up"] = now

    run.phase("after", a.after_s, tick)
    scanner.stop()
    settled = run.phase("settle", a.settle_s, tick, until=run.all_in)
    code = run.daemon.terminate()
    run.sub.wait_for(lambda s: s.payloads("/status")[-1:] == [b"offline"], 10)

    f = common_figures(run)
    order_ids = first_seen(outbox_ids(run.db))
    seen = first_seen([str(r["inspection_id"]) for r in run.results()])
    mismatch = next((k for k, (x, y) in enumerate(zip(seen, order_ids, strict=False))
                     if x != y), None)
    in_order = seen == order_ids
    left, work = spool_left(run.spool)
    f.update({
        "broker_down_s": round(t_up - t_down, 1),
        "held_in_outbox_at_restart": len(held),
        "scans_written_before_restart": len(serials_at_restart),
        "drain_held_s": None if drained["held"] is None else round(drained["held"], 2),
        "drain_caught_up_s": (None if drained["caught_up"] is None
                              else round(drained["caught_up"], 2)),
        "in_outbox_order": in_order,
        "first_order_mismatch_at": mismatch if not in_order else None,
        "all_in_before_timeout": settled,
        "left_in_spool": len(left),
        "left_in_work": work,
        "exit_code_sigterm": code,
    })
    problems = loss_problems(f)
    if not in_order:
        problems.append(f"results not in outbox order (first difference at position "
                        f"{mismatch}; {len(seen)} seen vs {len(order_ids)} in the outbox)")
    return f, problems


def loss_problems(f: dict[str, Any]) -> list[str]:
    p = []
    if f["lost"]:
        p.append(f"{len(f['lost'])} scans never published: {f['lost'][:20]}")
    if f["not_in_db"]:
        p.append(f"{len(f['not_in_db'])} scans without a DB row: {f['not_in_db'][:20]}")
    if f["stored_twice"]:
        p.append(f"{len(f['stored_twice'])} scans stored twice: {f['stored_twice'][:20]}")
    if f["two_decisions"]:
        two = dict(list(f["two_decisions"].items())[:10])
        p.append(f"inspection ids with two decisions: {two}")
    if f["left_in_work"]:
        p.append(f"left in spool/work: {f['left_in_work'][:20]}")
    if f["exit_code_sigterm"] != 0:
        p.append(f"exit code on SIGTERM: {f['exit_code_sigterm']}")
    if f["scanner_errors"]:
        p.append(f"scanner errors: {f['scanner_errors'][:5]}")
    return p


# ================================================================== scenario 2: kills
def scenario_kills(run: Run) -> tuple[dict[str, Any], list[str]]:
    a = run.args
    rng = random.Random(a.seed)
    run.daemon.start()
    if not run.wait_online(0, 120):
        raise SystemExit("daemon did not come online:\n" + run.daemon.log_tail())
    run.progress("start", "  (daemon online)")
    scanner = run.scanner = Scanner(run.spool, a.rate, a.scans, a.points, a.seed * 100_000, "K")
    mean_gap = a.scans / a.rate / max(a.kills, 1)
    scanner.start()
    kills: list[dict[str, Any]] = []
    checks: list[str] = []
    restarted_at, onlines_at_restart = time.monotonic(), run.onlines() - 1   # up already
    for k in range(a.kills):
        due = restarted_at + rng.uniform(0.2, 1.8) * mean_gap
        run.phase(f"to k{k + 1}", max(0.0, due - time.monotonic()))
        was_online = run.onlines() > onlines_at_restart
        status = run.daemon.kill()
        t_kill = run.elapsed()
        backlog, work = spool_left(run.spool)
        flying = len(work)
        copy = snapshot_db(run.db, run.tmp / "checks" / f"kill{k + 1:02d}")
        run.daemon.start()                                    # at once, like systemd
        restarted_at, onlines_at_restart = time.monotonic(), run.onlines()
        verdict = integrity_check(copy)
        checks.append(verdict)
        rows = count_rows(copy, "inspections")
        kills.append({"at_s": round(t_kill, 1), "status": status, "in_flight": flying,
                      "waiting_in_spool": len(backlog), "online_before_kill": was_online,
                      "db_rows": rows, "integrity": verdict})
        print(f"[{t_kill:7.1f} s] SIGKILL {k + 1}/{a.kills}: exit status {status}, "
              f"{'online' if was_online else 'still starting'}, {flying} scans in work/, "
              f"{len(backlog)} waiting, {rows} DB rows, integrity_check: {verdict}; "
              "restarted", flush=True)
        shutil.rmtree(copy.parent, ignore_errors=True)
    settled = run.phase("settle", a.settle_s, until=run.all_in)
    # SIGTERM once the last start is through (its handler is set before it goes online):
    # a SIGTERM while Python is still importing ends it with -15 before any claim
    online = run.wait_online(onlines_at_restart, 120)
    code = run.daemon.terminate()
    final = integrity_check(run.db)
    checks.append(final)
    print(f"[{run.elapsed():7.1f} s] SIGTERM: exit code {code}; final integrity_check: {final}",
          flush=True)

    f = common_figures(run)
    left, work = spool_left(run.spool)
    quarantined = sorted(p.name for p in (run.spool / "quarantine").glob("*.reason.json"))
    f.update({
        "kills": len(kills),
        "kills_with_scans_in_flight": sum(1 for k in kills if k["in_flight"]),
        "kills_before_online": sum(1 for k in kills if not k["online_before_kill"]),
        "kills_with_backlog": sum(1 for k in kills if k["waiting_in_spool"]),
        "last_start_online": online,
        "killed_not_by_sigkill": [k for k in kills if k["status"] != -signal.SIGKILL],
        "integrity_passed": sum(1 for c in checks if c == "ok"),
        "integrity_run": len(checks),
        "integrity_failures": [c for c in checks if c != "ok"],
        "daemon_starts": run.daemon.starts,
        "recorded_before_restart": run.daemon.log_count("was recorded before a restart"),
        "quarantined": quarantined,
        "all_in_before_timeout": settled,
        "left_in_spool": len(left),
        "left_in_work": work,
        "exit_code_sigterm": code,
        "kill_log": kills,
    })
    problems = loss_problems(f)
    if f["integrity_failures"]:
        problems.append(f"integrity_check failed: {f['integrity_failures']}")
    if f["killed_not_by_sigkill"]:
        problems.append(f"daemon had exited by itself before a kill: {f['killed_not_by_sigkill']}")
    return f, problems


# ================================================================== report
def table(scenario: str, f: dict[str, Any], problems: list[str]) -> str:
    def n(key: str) -> int:
        v = f[key]
        return len(v) if isinstance(v, list | dict) else int(v)

    lines: list[tuple[str, Any]] = [
        ("scans written", f"{f['scans_written']} (at {f['scan_rate_achieved_per_s']}/s)"),
        ("results received (unique inspection ids)", f["results_unique"]),
        ("lost (written, never published)", n("lost")),
        ("scans without a DB row", n("not_in_db")),
        ("duplicate deliveries", f["duplicates"]),
        ("DB rows", f["db_rows"]),
        ("scans stored twice", n("stored_twice")),
        ("inspection ids with two decisions", n("two_decisions")),
        ("decisions", ", ".join(f"{k} {v}" for k, v in sorted(f["decisions"].items()))),
        ("decisions other than drawn (informational)", n("unexpected_decisions")),
    ]
    if scenario == "outage":
        lines += [
            ("broker down", f"{f['broker_down_s']} s"),
            ("held in the outbox at restart", f["held_in_outbox_at_restart"]),
            ("in outbox order", "yes" if f["in_outbox_order"] else "NO"),
            ("drain after the broker returned: held results", _s(f["drain_held_s"])),
            ("drain: every scan written before the restart", _s(f["drain_caught_up_s"])),
        ]
    else:
        lines += [
            ("SIGKILLs", f["kills"]),
            ("... with scans in work/ (in flight)", f["kills_with_scans_in_flight"]),
            ("... with scans waiting in the spool", f["kills_with_backlog"]),
            ("... while still starting (not online yet)", f["kills_before_online"]),
            ("integrity_check ok / run", f"{f['integrity_passed']} / {f['integrity_run']}"),
            ("re-processed scans (first decision kept)", f["recorded_before_restart"]),
            ("quarantined", n("quarantined")),
        ]
    lines += [
        ("left in spool / in work/", f"{f['left_in_spool']} / {n('left_in_work')}"),
        ("outbox pending / dead at the end",
         f"{f['outbox_pending_end']} / {f['outbox_dead_end']}"),
        ("exit code on SIGTERM", f["exit_code_sigterm"]),
        ("verdict", "OK" if not problems else "FAILED: " + "; ".join(problems)),
    ]
    out = [f"| {scenario}: figure | value |", "|---|---|"]
    out += [f"| {k} | {v} |" for k, v in lines]
    return "\n".join(out)


def write_report(out: Path, scenario: str, report: dict[str, Any]) -> None:
    """``{scenario: report}``; the other scenario's last report in the file is kept."""
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        data = json.loads(out.read_text())
    except (OSError, ValueError):
        data = {}
    if not isinstance(data, dict) or not set(data) <= {"outage", "kills"}:
        data = {}
    data[scenario] = report
    out.write_text(json.dumps(data, indent=1, default=str))


def _s(v: float | None) -> str:
    return "not within the run" if v is None else f"{v:.1f} s"


def main(argv: list[str] | None = None) -> int:
    out_default, out_note = default_out()
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", choices=("outage", "kills"), required=True)
    ap.add_argument("--rate", type=float, default=5.0, help="scans per second")
    ap.add_argument("--points", type=int, default=30_000, help="points per simulated scan")
    ap.add_argument("--outage-s", type=float, default=60.0)
    ap.add_argument("--before-s", type=float, default=20.0)
    ap.add_argument("--after-s", type=float, default=40.0)
    ap.add_argument("--kills", type=int, default=21)
    ap.add_argument("--scans", type=int, default=700, help="kills: scans to write")
    ap.add_argument("--settle-s", type=float, default=300.0,
                    help="at most this long for every scan's result at the end")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--progress-s", type=float, default=10.0)
    ap.add_argument("--out", type=Path, default=out_default,
                    help=f"JSON results (default {out_default})")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = ap.parse_args(argv)
    if out_note and args.out == out_default:
        print(f"note: {out_note}", flush=True)

    tmp = Path(tempfile.mkdtemp(prefix=f"weld-resilience-{args.scenario}-"))
    print(f"{args.scenario}: working in {tmp}; plant figure: {PLANT[args.scenario]}", flush=True)
    started = time.monotonic()
    run = Run(tmp, args)
    problems: list[str]
    try:
        if args.scenario == "outage":
            figures, problems = scenario_outage(run)
        else:
            figures, problems = scenario_kills(run)
    except BaseException:
        print(f"aborted; daemon log tail:\n{run.daemon.log_tail()}", file=sys.stderr)
        run.close()
        print(f"kept {tmp}", file=sys.stderr)
        raise
    run.close()

    print()
    print(table(args.scenario, figures, problems))
    if problems:
        print(f"\n{len(problems)} problem(s); daemon log tail:\n{run.daemon.log_tail(4000)}")
    keep = args.keep or bool(problems)
    report = {
        "scenario": args.scenario,
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "plant_claim": PLANT[args.scenario],
        "ok": not problems,
        "problems": problems,
        "figures": figures,
        "wall_s": round(time.monotonic() - started, 1),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": {"cpus": os.cpu_count(), "load_avg": os.getloadavg(),
                 "python": platform.python_version()},
        "folder": str(tmp) if keep else None,
    }
    write_report(args.out, args.scenario, report)
    print(f"\nJSON: {args.out} (key {args.scenario!r})")
    if keep:
        print(f"kept {tmp} (daemon.log, broker/mosquitto.log, line/)")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
