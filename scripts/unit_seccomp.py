#!/usr/bin/env python3
"""Run a command under the syscall filter of a systemd unit, without systemd.

    python3 scripts/unit_seccomp.py systemd/weld-inspector.service --print
    python3 scripts/unit_seccomp.py systemd/weld-inspector.service -- \\
        .venv/bin/inspector run --config /etc/weld-inspector/line.yaml

The unit's ``SystemCallFilter=`` lines are read in order and combined the way systemd does:
the first line decides between an allow list (the default action applies to every other call;
systemd adds ``@default`` to it) and a deny list (``~``); later lines add to the set, or
remove from it when they are of the other kind; an empty assignment resets. The ``@groups`` are
expanded with ``systemd-analyze syscall-filter`` (so they are the groups of the installed
systemd, nested groups included). The filter is built with libseccomp (ctypes over
``libseccomp.so.2``, no Python binding needed), loaded into this process (with
``no_new_privs``, as ``NoNewPrivileges=yes``), and the command is exec'ed under it.

Default action (``--action``): ``kill`` (SIGSYS, as systemd without ``SystemCallErrorNumber=``)
is the strict check: any call outside the list ends the process, where ``EPERM`` would let a
library fail quietly. ``unit`` does what the unit's ``SystemCallErrorNumber=`` says.

Only the syscall filter is modelled: not the other seccomp-based settings
(``RestrictAddressFamilies=``, ``RestrictNamespaces=``, ``MemoryDenyWriteExecute=``, ...), which
fail calls with an errno rather than kill, nor the mount or user settings.
Exit status 3: no systemd-analyze or no libseccomp.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import errno
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

SCMP_ACT_KILL_PROCESS = 0x80000000
SCMP_ACT_ALLOW = 0x7FFF0000
NR_SCMP_ERROR = -1          # libseccomp: a name it does not know at all


def scmp_act_errno(code: int) -> int:
    return 0x00050000 | (code & 0xFFFF)


class SetupError(RuntimeError):
    """No systemd-analyze, no libseccomp, or a unit this script cannot read."""


# ----------------------------------------------------------------------------------- the unit
def unit_settings(unit: Path, section: str = "Service") -> list[tuple[str, str]]:
    """``(key, value)`` of one section, in order, repeated keys kept (systemd's unit syntax:
    ``#``/``;`` comments, a trailing backslash continues the line)."""
    out: list[tuple[str, str]] = []
    current = ""
    pending = ""
    for raw in unit.read_text().splitlines():
        line = raw.strip()
        if pending:
            line = pending + " " + line
            pending = ""
        if line.endswith("\\"):
            pending = line[:-1].rstrip()
            continue
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1]
            continue
        if current == section and "=" in line:
            key, _, value = line.partition("=")
            out.append((key.strip(), value.strip()))
    return out


def filter_lines(unit: Path) -> list[str]:
    """The unit's ``SystemCallFilter=`` values, in order."""
    return [v for k, v in unit_settings(unit) if k == "SystemCallFilter"]


def error_number(unit: Path) -> int | None:
    """``SystemCallErrorNumber=`` as an errno (``None``: unset or ``kill``: SIGSYS)."""
    values = [v for k, v in unit_settings(unit) if k == "SystemCallErrorNumber"]
    if not values or values[-1] in ("", "kill"):
        return None
    value = values[-1]
    if value.isdigit():
        return int(value)
    code = getattr(errno, value, None)
    if not isinstance(code, int):
        raise SetupError(f"{unit}: SystemCallErrorNumber={value}: unknown errno name")
    return code


# ---------------------------------------------------------------------------------- the groups
def systemd_analyze() -> str:
    exe = shutil.which("systemd-analyze")
    if exe is None:
        raise SetupError("systemd-analyze not found (Debian: apt-get install systemd)")
    return exe


def syscall_groups(exe: str | None = None) -> dict[str, list[str]]:
    """Every ``@group`` and its members (calls and nested groups), from
    ``systemd-analyze syscall-filter``."""
    res = subprocess.run([exe or systemd_analyze(), "syscall-filter", "--no-pager"],
                         capture_output=True, text=True, check=True)
    groups: dict[str, list[str]] = {}
    name: str | None = None
    for line in res.stdout.splitlines():
        if line.startswith("@"):
            name = line.split()[0]
            groups[name] = []
        elif name is not None and line.startswith(" "):
            word = line.strip()
            if word and not word.startswith("#"):
                groups[name].append(word)
        elif not line.strip():
            name = None
    if "@default" not in groups or "@system-service" not in groups:
        raise SetupError(f"systemd-analyze syscall-filter printed no groups: {res.stdout[:200]!r}")
    return groups


def expand(items: list[str], groups: dict[str, list[str]]) -> set[str]:
    """Calls named by ``items`` (groups expanded, recursively; ``name:errno`` suffixes cut)."""
    out: set[str] = set()
    for item in items:
        name = item.split(":", 1)[0]
        if name.startswith("@"):
            if name not in groups:
                raise SetupError(f"unknown syscall group {name}")
            out |= expand(groups[name], groups)
        else:
            out.add(name)
    return out


@dataclass(frozen=True)
class Filter:
    allow_list: bool               # True: only ``syscalls`` run; False: ``syscalls`` are denied
    syscalls: frozenset[str]


def resolve(lines: list[str], groups: dict[str, list[str]]) -> Filter | None:
    """Combine ``SystemCallFilter=`` values as systemd does (``None``: no filter)."""
    allow_list: bool | None = None
    calls: set[str] = set()
    for line in lines:
        if not line.strip():                  # an empty assignment resets the list
            allow_list, calls = None, set()
            continue
        invert = line.startswith("~")
        words = (line[1:] if invert else line).split()
        if allow_list is None:
            allow_list = not invert
            if allow_list:
                calls |= expand(["@default"], groups)
        names = expand(words, groups)
        if allow_list != invert:              # same kind as the first line: add
            calls |= names
        else:                                 # the other kind: remove
            calls -= names
    return None if allow_list is None else Filter(allow_list, frozenset(calls))


# ------------------------------------------------------------------------------- libseccomp
def _libseccomp() -> ctypes.CDLL:
    name = ctypes.util.find_library("seccomp") or "libseccomp.so.2"
    try:
        lib = ctypes.CDLL(name, use_errno=True)
    except OSError as exc:
        raise SetupError(f"libseccomp not found ({exc}; Debian: apt-get install "
                         "libseccomp2)") from exc
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_syscall_resolve_name.restype = ctypes.c_int
    lib.seccomp_rule_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int,
                                     ctypes.c_uint]
    lib.seccomp_rule_add.restype = ctypes.c_int
    lib.seccomp_load.argtypes = [ctypes.c_void_p]
    lib.seccomp_load.restype = ctypes.c_int
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    lib.seccomp_release.restype = None
    return lib


def load_filter(flt: Filter, deny_action: int, errno_for: dict[str, int] | None = None
                ) -> None:
    """Load ``flt`` into this process (and so into what it execs).

    ``deny_action``: what a denied call gets. ``errno_for``: denied calls that get this errno
    instead. Names libseccomp does not know, and calls of other architectures (negative
    pseudo numbers: ``setuid32`` on x86-64), are skipped, as systemd does."""
    lib = _libseccomp()
    ctx = lib.seccomp_init(deny_action if flt.allow_list else SCMP_ACT_ALLOW)
    if not ctx:
        raise SetupError("seccomp_init failed")
    try:
        def add(name: str, action: int) -> None:
            nr = lib.seccomp_syscall_resolve_name(name.encode())
            if nr == NR_SCMP_ERROR:
                return
            rc = lib.seccomp_rule_add(ctx, action, nr, 0)
            if rc < 0 and nr >= 0:
                raise SetupError(f"seccomp_rule_add({name}): {os.strerror(-rc)}")

        for name in sorted(flt.syscalls):
            if flt.allow_list:
                add(name, SCMP_ACT_ALLOW)
            elif name not in (errno_for or {}):
                add(name, deny_action)
        for name, code in (errno_for or {}).items():
            if (name in flt.syscalls) != flt.allow_list:   # denied: fail it softly
                add(name, scmp_act_errno(code))
        rc = lib.seccomp_load(ctx)
        if rc < 0:
            raise SetupError(f"seccomp_load: {os.strerror(-rc)}")
    finally:
        lib.seccomp_release(ctx)


# -------------------------------------------------------------------------------------- CLI
def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command: list[str] = []
    if "--" in argv:
        at = argv.index("--")
        argv, command = argv[:at], argv[at + 1:]
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("unit", type=Path, help="the .service file")
    ap.add_argument("--filter", action="append", metavar="LINE",
                    help="SystemCallFilter= values to use instead of the unit's (repeatable)")
    ap.add_argument("--action", choices=["kill", "unit"], default="kill",
                    help="denied calls: kill (SIGSYS, default) or as SystemCallErrorNumber= says")
    ap.add_argument("--errno", action="append", default=[], metavar="CALL",
                    help="this denied call fails with EPERM instead (repeatable)")
    ap.add_argument("--print", action="store_true", dest="show",
                    help="print the resolved filter as JSON and exit")
    args = ap.parse_args(argv)
    try:
        lines = args.filter if args.filter is not None else filter_lines(args.unit)
        flt = resolve(lines, syscall_groups())
        code = error_number(args.unit) if args.action == "unit" else None
        if args.show:
            print(json.dumps({"lines": lines, "allow_list": flt.allow_list if flt else None,
                              "syscalls": sorted(flt.syscalls) if flt else [],
                              "error_number": code}, indent=1))
            return 0
        if not command:
            ap.error("no command after --")
        if flt is not None:
            deny = SCMP_ACT_KILL_PROCESS if code is None else scmp_act_errno(code)
            load_filter(flt, deny, {name: errno.EPERM for name in args.errno})
    except SetupError as exc:
        print(f"unit_seccomp: {exc}", file=sys.stderr)
        return 3
    try:
        os.execvp(command[0], command)
    except OSError as exc:
        print(f"unit_seccomp: {command[0]}: {exc}", file=sys.stderr)
    return 127


if __name__ == "__main__":
    sys.exit(main())
