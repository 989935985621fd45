"""A generated corpus of hostile inputs for the daemon: MQTT triggers and spool entries.

Every kind that once stopped the daemon, leaked content or was silently ignored is here,
with seeded random variations. A secret planted in files that must never be read
(:data:`SECRET`) lets a test prove that no result, reason file or log quotes content.
"""

from __future__ import annotations

import io
import json
import os
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

SECRET = "hunter2-db-password"
TRIGGER_KINDS = (
    "deep_bare", "deep_in_object", "long_name", "long_path", "huge_weld_type", "not_json",
    "not_utf8", "oversized", "nan", "array", "missing_field", "bool_type", "float_type",
    "string_type", "escape_dotdot", "escape_absolute", "reserved", "missing_file",
    "nul_in_path", "bad_serial", "nested_identity", "empty", "huge_float", "link_out")


def hostile_trigger(kind: str, rng: np.random.Generator) -> bytes:
    """One hostile trigger message of ``kind`` (varied by ``rng``)."""
    n = int(rng.integers(1, 10**6))
    base = {"file": f"incoming/none{n}.ply", "weld_id": "W1", "weld_type": 3,
            "part_serial": f"H{n}"}

    def msg(**kw: object) -> bytes:
        return json.dumps({**base, **kw}).encode()

    depth = int(rng.integers(2_000, 200_000))
    makers: dict[str, Callable[[], bytes]] = {
        "deep_bare": lambda: b"[" * depth + b"]" * depth,
        "deep_in_object": lambda: b'{"file": ' + b"[" * depth + b"]" * depth + b"}",
        "long_name": lambda: msg(file="incoming/" + "a" * int(rng.integers(256, 400)) + ".ply"),
        "long_path": lambda: msg(file="/".join(["d" * 50] * int(rng.integers(60, 120)))),
        "huge_weld_type": lambda: (b'{"file": "a.ply", "weld_id": "W1", "part_serial": "P",'
                                   b' "weld_type": ' + b"7" * int(rng.integers(4301, 9000))
                                   + b"}"),
        "not_json": lambda: bytes(rng.integers(32, 127, int(rng.integers(1, 300)), np.uint8)),
        "not_utf8": lambda: b'{"file": "\xff\xfe.ply"}',
        "oversized": lambda: msg(note="x" * int(rng.integers(5_000, 200_000))),
        "nan": lambda: msg().replace(b'"weld_type": 3', b'"weld_type": NaN'),
        "array": lambda: json.dumps([base]).encode(),
        "missing_field": lambda: json.dumps({k: v for k, v in base.items()
                                             if k != rng.choice(list(base))}).encode(),
        "bool_type": lambda: msg(weld_type=True),
        "float_type": lambda: msg(weld_type=3.0),
        "string_type": lambda: msg(weld_type="3"),
        "escape_dotdot": lambda: msg(file="../" * int(rng.integers(1, 9)) + "etc/passwd"),
        "escape_absolute": lambda: msg(file="/etc/passwd"),
        "reserved": lambda: msg(file=str(rng.choice(["work", "done", "quarantine"])) + "/x.ply"),
        "missing_file": lambda: msg(),
        "nul_in_path": lambda: msg(file="incoming/a\u0000b.ply"),
        "bad_serial": lambda: msg(part_serial="has_underscore" * int(rng.integers(1, 9))),
        "nested_identity": lambda: msg(weld_id={"a": [1, 2, {"b": None}]}),
        "empty": lambda: b"",
        "huge_float": lambda: msg().replace(b'"weld_type": 3', b'"weld_type": 1e999'),
        "link_out": lambda: msg(file="incoming/secret_link.ply"),
    }
    return makers[kind]()


# ------------------------------------------------------------------------------ spool
def _npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def _ply_binary(points: np.ndarray, endian: str = "little") -> bytes:
    head = (f"ply\nformat binary_{endian}_endian 1.0\nelement vertex {len(points)}\n"
            "property float x\nproperty float y\nproperty float z\nend_header\n").encode()
    return head + points.astype("<f4" if endian == "little" else ">f4").tobytes()


def _points(rng: np.random.Generator, n: int = 3000) -> np.ndarray:
    return rng.normal(0, 5, (n, 3)).astype(np.float32)


def _wrong_endian(rng: np.random.Generator) -> bytes:
    """Big-endian floats under a little-endian header."""
    body = _ply_binary(_points(rng))
    head_end = body.index(b"end_header\n") + len(b"end_header\n")
    return body[:head_end] + _points(rng).astype(">f4").tobytes()


def _pcd_size_zero(rng: np.random.Generator) -> bytes:
    n = 100
    return (f"# .PCD v0.7\nVERSION 0.7\nFIELDS x y z\nSIZE 0 0 0\nTYPE F F F\nCOUNT 1 1 1\n"
            f"WIDTH {n}\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS {n}\nDATA binary\n"
            ).encode() + _points(rng, n).tobytes()


def _npz_garbage(rng: np.random.Generator) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("points.npy", bytes(rng.integers(0, 256, 500, np.uint8)))
    return buf.getvalue()


def _png_bomb(_: np.random.Generator) -> bytes:
    ihdr = struct.pack(">IIBBBBB", 60_000, 60_000, 16, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr + b"\0" * 4


def _text_with_secret(rng: np.random.Generator) -> bytes:
    lines = [f"{x:.3f} {y:.3f} {z:.3f}" for x, y, z in _points(rng, 50)]
    lines.insert(int(rng.integers(0, 50)), f"{SECRET} 1 2")
    return "\n".join(lines).encode()


def _ply_huge_count(_: np.random.Generator) -> bytes:
    return (b"ply\nformat ascii 1.0\nelement vertex 99999999999\nproperty float x\n"
            b"property float y\nproperty float z\nend_header\n1 2 3\n")


FILE_KINDS: dict[str, tuple[str, Callable[[np.random.Generator], bytes]]] = {
    "scaled_1e30": (".npy", lambda r: _npy(_points(r) * np.float32(1e30))),
    "z_1e38": (".npy", lambda r: _npy(np.column_stack([_points(r)[:, :2],
                                                       np.full(3000, 1e38, np.float32)]))),
    "wrong_endian": (".ply", _wrong_endian),
    "pcd_size_zero": (".pcd", _pcd_size_zero),
    "npz_garbage": (".npz", _npz_garbage),
    "png_bomb": (".png", _png_bomb),
    "text_secret": (".xyz", _text_with_secret),
    "ply_huge_count": (".ply", _ply_huge_count),
    "random_bytes": (".ply", lambda r: bytes(r.integers(0, 256, 2000, np.uint8))),
    "empty": (".npy", lambda r: b""),
    "object_npy": (".npy", lambda r: b"\x93NUMPY\x01\x00v\x00{'descr': '|O', 'fortran_order':"
                   + f" False, 'shape': (3,), '{SECRET}': 1, }}".encode().ljust(118)
                   + b"\n"),
}
ENTRY_KINDS = (*FILE_KINDS, "symlink_loop", "symlink_out", "dangling_link", "dir_named_ply",
               "fifo", "non_utf8_name", "deep_sidecar", "sidecar_link_out", "hidden_old",
               "tmp_old", "orphan_sidecar_old")
OLD_S = 10_000.0           # back-dated this far: older than any abandon_after_s in tests


def make_entry(folder: Path, kind: str, i: int, rng: np.random.Generator, secret: Path
               ) -> str:
    """Create one hostile entry of ``kind`` at the spool's top level; return its name."""
    name = f"X{i:04d}_W1_t3"

    def back_date(p: Path) -> None:
        t = os.stat(p).st_mtime - OLD_S
        os.utime(p, (t, t))

    if kind in FILE_KINDS:
        ext, make = FILE_KINDS[kind]
        (folder / (name + ext)).write_bytes(make(rng))
        return name + ext
    if kind == "symlink_loop":
        (folder / (name + ".ply")).symlink_to(folder / (name + ".ply"))
    elif kind == "symlink_out":
        (folder / (name + ".xyz")).symlink_to(secret)
        return name + ".xyz"
    elif kind == "dangling_link":
        (folder / (name + ".ply")).symlink_to(folder / "nowhere" / "x.ply")
    elif kind == "dir_named_ply":
        (folder / (name + ".ply")).mkdir()
    elif kind == "fifo":
        os.mkfifo(folder / (name + ".ply"))
    elif kind == "non_utf8_name":
        raw = os.fsencode(folder) + b"/X" + str(i).encode() + b"\xff\xfe_W1_t3.npy"
        with open(raw, "wb") as fh:
            fh.write(_npy(_points(rng)))
        return os.fsdecode(raw).rsplit("/", 1)[1]
    elif kind == "deep_sidecar":
        (folder / (name + ".json")).write_bytes(b"[" * 200_000 + b"]" * 200_000)
        (folder / (name + ".npy")).write_bytes(_npy(_points(rng)))
        return name + ".npy"
    elif kind == "sidecar_link_out":
        (folder / (name + ".json")).symlink_to(secret)
        (folder / (name + ".npy")).write_bytes(_npy(_points(rng)))
        return name + ".npy"
    elif kind in ("hidden_old", "tmp_old", "orphan_sidecar_old"):
        fname = {"hidden_old": f".{name}.ply", "tmp_old": f"{name}.ply.tmp",
                 "orphan_sidecar_old": f"{name}.json"}[kind]
        (folder / fname).write_bytes(b"{}")
        back_date(folder / fname)
        return fname
    else:
        raise ValueError(kind)
    return name + ".ply"
