"""The spool: claiming scans (from the watcher or a trigger), recovery, done/ and quarantine/.

Layout under the spool folder::

    <name>.tmp, <name>.part, .<name>   being written (left alone until abandoned)
    <name>.<ext>          ready: the watcher claims it (with its <stem>.json sidecar)
    <folder>/             sub-folders (e.g. incoming/ for triggered scans) are not watched
    work/                 claimed, in flight; re-queued at start-up after a crash
    done/                 processed
    quarantine/           unusable, each with <name>.reason.json

A claim is an atomic rename into ``work/``; whoever renames first owns the entry. Every
top-level entry ends in done/ or quarantine/ with a result: a directory named like a scan,
a FIFO, a socket or a symbolic link is claimed and refused as ``not_a_regular_file``
without ever being opened or followed, and a partial, hidden or orphan-sidecar entry
untouched for ``abandon_after_s`` is refused as ``abandoned``. Links are never followed
out of the spool: entries are examined with ``lstat`` and scans opened with
``O_NOFOLLOW``. A scan that was in flight when the daemon died :data:`POISON_AFTER` times
is refused as ``poison`` without being read again.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import stat
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from inspector.service.messages import inspection_id
from inspector.service.triggers import Trigger, TriggerError, parse_trigger, shown_path
from point_cloud.errors import (
    NotRegularFileError,
    PoisonScanError,
    ScanError,
    SidecarError,
)
from point_cloud.read import SUPPORTED_EXTENSIONS
from point_cloud.types import ScanIdentity

log = logging.getLogger(__name__)

WORK, DONE, QUARANTINE = "work", "done", "quarantine"
RESERVED = (WORK, DONE, QUARANTINE)
TRIGGER_SUFFIX = ".trigger.json"
INFLIGHT_SUFFIX = ".inflight.json"
ORPHAN_SUFFIX = ".orphan"
PARTIAL_SUFFIXES = (".tmp", ".part")
POISON_AFTER = 3
_KINDS = ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a directory"),
          (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


class AbandonedEntryError(ScanError):
    """A partial, hidden or orphan entry that nobody completed in time."""

    reason = "abandoned"


@dataclass(frozen=True)
class ScanJob:
    """A claimed entry: its path in ``work/``, its delivered name and any trigger identity.

    ``problem`` is set when the entry must be refused without reading it (not a regular
    file, abandoned, poison); ``display`` is the name made safe for messages and logs.
    """

    path: Path
    name: str
    identity: ScanIdentity | None
    inspection_id: str
    source: str          # "spool", "trigger" or "recovered"
    problem: ScanError | None = field(default=None, compare=False)

    @property
    def display(self) -> str:
        return display_name(self.name)


def display_name(name: str) -> str:
    """A file name as valid UTF-8 text (undecodable bytes as U+FFFD), for messages."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _kind(mode: int) -> str | None:
    """What a non-regular file is ("a directory", ...); None for a regular file."""
    return next((what for test, what in _KINDS if test(mode)), None)


def _free_name(folder: Path, name: str) -> Path:
    """``folder/name``, or ``folder/<stem>.<n><suffix>`` when taken."""
    target = folder / name
    n = 1
    while os.path.lexists(target):
        p = Path(name)
        target = folder / f"{p.stem}.{n}{p.suffix}"
        n += 1
    return target


def sidecar_of(scan: Path) -> Path:
    return scan.with_suffix(".json")


def _is_pending(name: str) -> bool:
    """Being written (or a sidecar waiting for its scan): claimed only once abandoned."""
    return name.startswith(".") or name.endswith(PARTIAL_SUFFIXES) or name.endswith(".json")


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except OSError:                     # gone since the listing, or unreadable
        return None


class Spool:
    """File moves of the spool; all moves are renames within one file system."""

    def __init__(self, root: Path, abandon_after_s: float = 900.0) -> None:
        self.root = root.resolve()
        self.abandon_after_s = abandon_after_s
        for sub in RESERVED:
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    # ------------------------------------------------------------------ discovery
    def ready(self, now: float | None = None) -> list[Path]:
        """Top-level entries to claim, oldest first: scans, and anything that can never be
        one (see the module doc). Nothing here opens or follows an entry."""
        now = datetime.now(UTC).timestamp() if now is None else now
        found = []
        with os.scandir(self.root) as it:
            for e in it:
                st = _lstat(Path(e.path))
                if st is None or e.name in RESERVED:
                    continue
                if stat.S_ISDIR(st.st_mode) and not e.name.lower().endswith(SUPPORTED_EXTENSIONS):
                    continue                                  # a sub-folder, not an entry
                if _is_pending(e.name) and now - st.st_mtime < self.abandon_after_s:
                    continue
                found.append((st.st_mtime_ns, e.name))
        return [self.root / n for _, n in sorted(found)]

    def in_work(self) -> list[Path]:
        """Entries claimed before a crash (to re-queue at start-up). A crash between moving
        a finished entry out and removing its marks leaves the marks alone in ``work/``;
        they are removed here."""
        with os.scandir(self.root / WORK) as it:
            names = {e.name for e in it}
        found = []
        for name in names:
            path = self.root / WORK / name
            st = _lstat(path)
            mark = next((s for s in (TRIGGER_SUFFIX, INFLIGHT_SUFFIX) if name.endswith(s)), None)
            if mark is not None and name.removesuffix(mark) not in names:
                path.unlink(missing_ok=True)
            elif st is not None and not name.endswith(".json"):
                found.append((st.st_mtime_ns, name))
        return [self.root / WORK / n for _, n in sorted(found)]

    # ------------------------------------------------------------------ claims
    def claim(self, path: Path, identity: ScanIdentity | None = None,
              source: str = "spool", now: float | None = None) -> ScanJob | None:
        """Move ``path`` (and its sidecar) into ``work/``; None if someone else took it."""
        work_name = path.name + ORPHAN_SUFFIX if path.name.endswith(".json") else path.name
        target = _free_name(self.root / WORK, work_name)
        try:
            os.rename(path, target)
        except FileNotFoundError:
            return None
        side = sidecar_of(path)
        if not path.name.endswith(".json") and os.path.lexists(side):
            os.replace(side, sidecar_of(target))
        if identity is not None:
            trig = target.with_name(target.name + TRIGGER_SUFFIX)
            trig.write_text(json.dumps(identity.to_dict()))
        return self._job(target, path.name, identity, source, now)

    def recover(self, path: Path) -> ScanJob:
        """A job for an entry left in ``work/`` (its trigger identity, if any, was saved)."""
        identity = None
        trig = path.with_name(path.name + TRIGGER_SUFFIX)
        with contextlib.suppress(OSError, ValueError, TypeError):   # none, or torn by a crash
            identity = ScanIdentity(**json.loads(trig.read_text()))
        name = path.name.removesuffix(ORPHAN_SUFFIX)
        job = self._job(path, name, identity, "recovered")
        attempts = self.attempts(path)
        if job.problem is None and attempts >= POISON_AFTER:
            problem = PoisonScanError(
                job.display, "processing", "a scan the daemon can finish",
                f"in flight at {attempts} abnormal stops of the daemon; not read again")
            job = ScanJob(path, name, identity, job.inspection_id, "recovered", problem)
        return job

    def _job(self, path: Path, name: str, identity: ScanIdentity | None, source: str,
             now: float | None = None) -> ScanJob:
        """Look at a claimed entry (never following it) and decide if it can be read."""
        problem = self._problem(path, name, now)
        try:
            key = inspection_id(path, name, identity, readable=problem is None)
        except OSError as exc:                  # replaced or removed under our feet
            problem = NotRegularFileError(display_name(name), "file", "a readable regular "
                                          "file", exc.strerror or type(exc).__name__)
            key = inspection_id(path, name, identity, readable=False)
        return ScanJob(path, name, identity, key, source, problem)

    def _problem(self, path: Path, name: str, now: float | None) -> ScanError | None:
        shown = display_name(name)
        st = _lstat(path)
        kind = "gone" if st is None else _kind(st.st_mode)
        if kind is not None:
            return NotRegularFileError(shown, "file type", "a regular file (links are not "
                                       "followed)", kind)
        if _is_pending(name):
            return AbandonedEntryError(shown, "name", "a complete scan (temporary, hidden or "
                                       "sidecar names are left alone while being written)",
                                       f"untouched for over {self.abandon_after_s:g} s")
        side = _lstat(sidecar_of(path))
        side_kind = None if side is None else _kind(side.st_mode)
        if side_kind is not None:
            return SidecarError(display_name(sidecar_of(Path(name)).name), "file type",
                                "a regular file (links are not followed)", side_kind)
        return None

    # ------------------------------------------------------------------ poison marks
    def attempts(self, path: Path) -> int:
        """How many times processing of this work entry started (a crash leaves the mark)."""
        try:
            return int(path.with_name(path.name + INFLIGHT_SUFFIX).read_text())
        except (OSError, ValueError):
            return 0

    def mark_inflight(self, job: ScanJob) -> None:
        """Count one more start of processing (removed when the job is finished). A job
        finished meanwhile (moved out of ``work/``, e.g. recovered after a restart while
        also queued) leaves no mark behind: it is checked again after the write."""
        mark = job.path.with_name(job.path.name + INFLIGHT_SUFFIX)
        mark.write_text(str(self.attempts(job.path) + 1))
        if not os.path.lexists(job.path):
            mark.unlink(missing_ok=True)

    # ------------------------------------------------------------------ endings
    def _move_out(self, job: ScanJob, folder: str) -> Path:
        dest = _free_name(self.root / folder, job.name)
        if os.path.lexists(job.path):
            os.replace(job.path, dest)
        side = sidecar_of(job.path)
        if not job.path.name.endswith(ORPHAN_SUFFIX) and os.path.lexists(side):
            os.replace(side, sidecar_of(dest))
        for suffix in (TRIGGER_SUFFIX, INFLIGHT_SUFFIX):
            job.path.with_name(job.path.name + suffix).unlink(missing_ok=True)
        return dest

    def finish(self, job: ScanJob) -> Path:
        """Processed: move to ``done/``."""
        return self._move_out(job, DONE)

    def quarantine(self, job: ScanJob, reason: dict[str, Any]) -> Path:
        """Unusable: move to ``quarantine/`` and write ``<name>.reason.json`` beside it."""
        dest = self._move_out(job, QUARANTINE)
        body = {"scan": job.display, "inspection_id": job.inspection_id,
                "time": datetime.now(UTC).isoformat(), **reason}
        dest.with_name(dest.name + ".reason.json").write_text(json.dumps(body, indent=1))
        log.warning("quarantined %s (inspection %s): %s", job.display, job.inspection_id,
                    reason.get("reason"))
        return dest

    # ------------------------------------------------------------------ triggers
    def locate(self, trigger: Trigger) -> Path:
        """The spool file a parsed trigger names: inside the spool, not reserved, a file."""
        rel = trigger.file
        try:
            candidate = (self.root / rel).resolve()
            inside = candidate.is_relative_to(self.root)
            inner = candidate.relative_to(self.root).parts if inside else ()
            st = _lstat(candidate) if inside else None
        except (OSError, RuntimeError, ValueError):     # too long, a link loop, ...
            raise TriggerError("bad_path", f"file: {shown_path(rel)} cannot be resolved") from None
        if not inside:
            raise TriggerError("path_escapes_spool",
                               f"file: {shown_path(rel)} resolves outside the spool {self.root}")
        if not inner or inner[0] in RESERVED:
            raise TriggerError("bad_path", f"file: {shown_path(rel)} names a reserved folder")
        if st is None or not stat.S_ISREG(st.st_mode):
            raise TriggerError("not_found", f"file: {shown_path(rel)} is no file in the spool")
        return candidate

    def resolve_trigger(self, payload: bytes) -> tuple[Path, ScanIdentity]:
        """Validate a trigger message and locate its file (see :mod:`.triggers`)."""
        trigger = parse_trigger(payload)
        return self.locate(trigger), trigger.identity
