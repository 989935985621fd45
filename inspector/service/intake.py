"""The spool: claiming scans (from the watcher or a trigger), recovery, done/ and quarantine/.

Layout under the spool folder::

    <name>.tmp            being written by the scanner (ignored)
    <name>.<ext>          ready: the watcher claims it (with its <stem>.json sidecar)
    work/                 claimed, in flight; re-queued at start-up after a crash
    done/                 processed
    quarantine/           unusable, each with <name>.reason.json

A claim is an atomic rename into ``work/``; whoever renames first owns the scan. The
watcher looks at the top level only: a cell that sends MQTT triggers (whose identity must
win over the file name) writes its files into a sub-folder, e.g. ``incoming/``. The scanner
writes a scan's ``<stem>.json`` sidecar before renaming the scan into place.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from inspector.service.messages import inspection_id
from point_cloud.config import WELD_TYPES
from point_cloud.types import ScanIdentity

log = logging.getLogger(__name__)

WORK, DONE, QUARANTINE = "work", "done", "quarantine"
RESERVED = (WORK, DONE, QUARANTINE)
TRIGGER_SUFFIX = ".trigger.json"
IGNORED_SUFFIXES = (".tmp", ".json", ".part")


class TriggerError(ValueError):
    """A trigger message that cannot be honoured; ``reason`` is a short code."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        super().__init__(f"{reason}: {detail}")


@dataclass(frozen=True)
class ScanJob:
    """A claimed scan: its file in ``work/``, its delivered name and any trigger identity."""

    path: Path
    name: str
    identity: ScanIdentity | None
    inspection_id: str
    source: str          # "spool", "trigger" or "recovered"


def _free_name(folder: Path, name: str) -> Path:
    """``folder/name``, or ``folder/<stem>.<n><suffix>`` when taken."""
    target = folder / name
    n = 1
    while target.exists():
        p = Path(name)
        target = folder / f"{p.stem}.{n}{p.suffix}"
        n += 1
    return target


def sidecar_of(scan: Path) -> Path:
    return scan.with_suffix(".json")


class Spool:
    """File moves of the spool; all moves are renames within one file system."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        for sub in RESERVED:
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    # ------------------------------------------------------------------ discovery
    def ready(self) -> list[Path]:
        """Complete scans at the top level, oldest first."""
        files = []
        with os.scandir(self.root) as it:
            for e in it:
                if (e.is_file() and not e.name.startswith(".")
                        and not e.name.endswith(IGNORED_SUFFIXES)):
                    files.append((e.stat().st_mtime_ns, e.name))
        return [self.root / n for _, n in sorted(files)]

    def in_work(self) -> list[Path]:
        """Scans claimed before a crash (to re-queue at start-up)."""
        work = self.root / WORK
        files = [p for p in work.iterdir()
                 if p.is_file() and not p.name.endswith(IGNORED_SUFFIXES)]
        return sorted(files, key=lambda p: (p.stat().st_mtime_ns, p.name))

    # ------------------------------------------------------------------ claims
    def claim(self, path: Path, identity: ScanIdentity | None = None,
              source: str = "spool") -> ScanJob | None:
        """Move ``path`` (and its sidecar) into ``work/``; None if someone else took it."""
        target = _free_name(self.root / WORK, path.name)
        try:
            os.rename(path, target)
        except FileNotFoundError:
            return None
        side = sidecar_of(path)
        if side.is_file():
            os.replace(side, sidecar_of(target))
        if identity is not None:
            trig = target.with_name(target.name + TRIGGER_SUFFIX)
            trig.write_text(json.dumps(identity.to_dict()))
        return ScanJob(target, path.name, identity, inspection_id(target, path.name, identity),
                       source)

    def recover(self, path: Path) -> ScanJob:
        """A job for a file left in ``work/`` (its trigger identity, if any, was saved)."""
        trig = path.with_name(path.name + TRIGGER_SUFFIX)
        identity = ScanIdentity(**json.loads(trig.read_text())) if trig.is_file() else None
        return ScanJob(path, path.name, identity, inspection_id(path, path.name, identity),
                       "recovered")

    # ------------------------------------------------------------------ endings
    def _move_out(self, job: ScanJob, folder: str) -> Path:
        dest = _free_name(self.root / folder, job.name)
        if job.path.exists():
            os.replace(job.path, dest)
        side = sidecar_of(job.path)
        if side.is_file():
            os.replace(side, sidecar_of(dest))
        job.path.with_name(job.path.name + TRIGGER_SUFFIX).unlink(missing_ok=True)
        return dest

    def finish(self, job: ScanJob) -> Path:
        """Processed: move to ``done/``."""
        return self._move_out(job, DONE)

    def quarantine(self, job: ScanJob, reason: dict[str, Any]) -> Path:
        """Unusable: move to ``quarantine/`` and write ``<name>.reason.json`` beside it."""
        dest = self._move_out(job, QUARANTINE)
        body = {"scan": job.name, "inspection_id": job.inspection_id,
                "time": datetime.now(UTC).isoformat(), **reason}
        dest.with_name(dest.name + ".reason.json").write_text(json.dumps(body, indent=1))
        return dest

    # ------------------------------------------------------------------ triggers
    def resolve_trigger(self, payload: bytes) -> tuple[Path, ScanIdentity]:
        """Validate a trigger message: a file inside the spool and a well-formed identity."""
        try:
            msg = json.loads(payload)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise TriggerError("bad_json", f"expected a JSON object ({exc})") from exc
        if not isinstance(msg, dict):
            raise TriggerError("bad_json", "expected a JSON object")
        missing = [k for k in ("file", "weld_id", "weld_type", "part_serial") if k not in msg]
        if missing:
            raise TriggerError("missing_field", f"expected fields {missing}")
        rel = msg["file"]
        if not isinstance(rel, str) or not rel or "\0" in rel:
            raise TriggerError("bad_path", f"file: expected a relative path, found {rel!r}")
        candidate = (self.root / rel).resolve()
        if Path(rel).is_absolute() or not candidate.is_relative_to(self.root):
            raise TriggerError("path_escapes_spool",
                                  f"file: {rel!r} resolves outside the spool {self.root}")
        inner = candidate.relative_to(self.root).parts
        if not inner or inner[0] in RESERVED:
            raise TriggerError("bad_path", f"file: {rel!r} names a reserved spool folder")
        if not candidate.is_file():
            raise TriggerError("not_found", f"file: {rel!r} does not exist in the spool")
        wt = msg["weld_type"]
        if not isinstance(wt, int) or isinstance(wt, bool) or wt not in WELD_TYPES:
            raise TriggerError("bad_identity", f"weld_type: expected one of {WELD_TYPES}, "
                                                  f"found {wt!r}")
        for key in ("weld_id", "part_serial"):
            v = msg[key]
            if not isinstance(v, str) or not ScanIdentity.is_safe_token(v):
                raise TriggerError("bad_identity", f"{key}: expected letters, digits, '.', "
                                                      f"'-', found {v!r}")
        return candidate, ScanIdentity(msg["part_serial"], msg["weld_id"], wt)
