"""Read a scan file in any format of the scan contract into a :class:`Cloud`.

Formats (by extension, case-insensitive):

* ``.ply`` (ascii/binary) and ``.pcd``: extra properties are ignored. The header is checked
  first, because open3d returns a zero-filled or empty cloud rather than raising for many
  truncated files: a body shorter than the header declares is a :class:`CorruptScanError`.
  The scanner's own layout (little-endian binary with fixed-size fields: binary PLY with
  the vertex element first, binary PCD) is then read straight into numpy from the checked
  header (5-10x faster than open3d at 2 M points, the same values); everything else
  (ASCII, big-endian, compressed PCD) goes through open3d.
* ``.xyz``, ``.csv``, ``.txt``: ``x y z`` or ``x,y,z`` per line, an optional header line,
  extra columns ignored, ``#`` comments skipped.
* ``.npy`` / ``.npz``: a real array of shape (N, 3) (or a structured array with fields
  ``x``, ``y``, ``z``); an NPZ holds it under ``points`` or as its only array.
* Profile grids (:mod:`point_cloud.profile_grid`): ``.npy`` whose sidecar has the grid keys,
  or a 16-bit ``.png`` / ``.tif`` / ``.tiff`` (which always needs that sidecar).

A height-map PNG written by :mod:`point_cloud.heightmap_io` (sidecar ``"format":
"weld-heightmap/1"``) is NOT a scan: it is refused with an
:class:`UnsupportedFormatError` that points at ``read_heightmap`` (it is already levelled,
aligned and cropped; re-projecting it would silently lose its frame).

Non-finite points are dropped; all-NaN is :class:`NoFinitePointsError`, fewer than
``min_points`` finite points (default ``scanner_model().min_points``) is
:class:`TooFewPointsError`. The identity comes from :mod:`point_cloud.identity`.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import open3d as o3d

from point_cloud.arrays import select_rows
from point_cloud.config import scanner_model
from point_cloud.errors import (
    CoordinateRangeError,
    CorruptScanError,
    NoFinitePointsError,
    ScanError,
    ScanNotFoundError,
    ScanShapeError,
    ScanTooLargeError,
    SidecarError,
    TooFewPointsError,
    UnsupportedFormatError,
)
from point_cloud.heightmap_io import FORMAT as HEIGHTMAP_FORMAT
from point_cloud.identity import load_sidecar, resolve_identity, sidecar_path
from point_cloud.profile_grid import GridSpec
from point_cloud.types import Cloud, ScanIdentity

F32 = npt.NDArray[np.float32]
Sidecar = dict[str, Any] | None

_PLY_TYPES = {"char": "i1", "uchar": "u1", "int8": "i1", "uint8": "u1", "short": "i2",
              "ushort": "u2", "int16": "i2", "uint16": "u2", "int": "i4", "uint": "u4",
              "int32": "i4", "uint32": "u4", "float": "f4", "float32": "f4", "double": "f8",
              "float64": "f8"}
_PLY_SIZES = {k: int(v[1]) for k, v in _PLY_TYPES.items()}
_HEADER_LIMIT = 1 << 16
_XYZ_F32 = np.dtype([("x", "<f4"), ("y", "<f4"), ("z", "<f4")])


# --------------------------------------------------------------------------- point arrays
def as_points(arr: npt.NDArray[Any], path: Path, what: str = "array") -> F32:
    """Check an (N, 3) real array (or x/y/z structured array) and return it as float32."""
    if arr.dtype.names and {"x", "y", "z"} <= set(arr.dtype.names):
        arr = np.column_stack([arr["x"].ravel(), arr["y"].ravel(), arr["z"].ravel()])
    if arr.dtype.kind not in "fiu":
        raise ScanShapeError(path, f"{what} dtype", "a real (float or integer) array",
                             str(arr.dtype))
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise ScanShapeError(path, f"{what} shape", "(N, 3) points", str(arr.shape))
    return np.ascontiguousarray(arr, dtype=np.float32)


def _finite(points: F32, path: Path, limit_mm: float) -> F32:
    """Drop points with a NaN, infinite or out-of-range coordinate. The common case, every
    point fine, costs two flat reductions and no temporary: a NaN makes the minimum NaN,
    which fails the test as an infinity or an out-of-range value does."""
    if points.size and -limit_mm < points.min() and points.max() < limit_mm:
        return points
    fin = np.abs(points) < limit_mm                 # False for NaN and inf too
    ok = fin[:, 0] & fin[:, 1] & fin[:, 2]
    if points.shape[0] and not ok.any():
        if not np.isfinite(points).any():
            raise NoFinitePointsError(path, "points", "at least one finite (x, y, z)",
                                      f"{points.shape[0]} points, all NaN or infinite")
        raise CoordinateRangeError(path, "points", f"coordinates within +-{limit_mm:g} mm",
                                   f"{points.shape[0]} points, none in range (wrong byte "
                                   "order or units?)")
    return points if ok.all() else select_rows(points, ok)


# errors a third-party parser (numpy, open3d, opencv, zipfile) raises on a malformed file
_PARSER_ERRORS = (ValueError, TypeError, OverflowError, IndexError, KeyError, EOFError,
                  OSError, RuntimeError, MemoryError, zipfile.BadZipFile, zlib.error, cv2.error)


def _small_int(text: str) -> int:
    """A header count: a whole number of at most 12 digits."""
    if not text.isdigit() or len(text) > 12:
        raise ValueError("not a small whole number")
    return int(text)


def _check_count(path: Path, count: int, header_bytes: int, min_item_bytes: int) -> None:
    """A declared point count must be within bounds and, for a text body of at least
    ``min_item_bytes`` per point, possible for the file's size."""
    limit = scanner_model().max_points
    if count > limit:
        raise ScanTooLargeError(path, "point count", f"at most {limit} points", str(count))
    if not min_item_bytes:               # binary bodies are checked byte-exactly later
        return
    room = (path.stat().st_size - header_bytes) // min_item_bytes
    if count > room + 1:
        raise CorruptScanError(path, "point count", f"at most {room + 1} points for the file's "
                               "size", f"{count} declared (truncated or corrupt)")


_NOT_A_NUMBER = re.compile(r"at row (\d+), column (\d+)")


def _where_not_a_number(message: str) -> str:
    """Where numpy's loadtxt found a non-number, without quoting the offending text."""
    m = _NOT_A_NUMBER.search(message)
    return (f"a non-numeric value at data row {int(m[1]) + 1}, column {int(m[2]) + 1}" if m
            else "a non-numeric or missing value")


# --------------------------------------------------------------------------- open3d formats
def _header(path: Path, end: bytes) -> tuple[list[str], int]:
    """Header lines up to and including the line starting with ``end``; its byte length."""
    with path.open("rb") as fh:
        head = fh.read(_HEADER_LIMIT)
    pos = 0
    lines: list[str] = []
    while True:
        nl = head.find(b"\n", pos)
        if nl < 0:
            raise CorruptScanError(path, "header", f"a header ending with '{end.decode()}'",
                                   "end of file (truncated or not this format)")
        line = head[pos:nl].decode("latin-1").strip()
        lines.append(line)
        pos = nl + 1
        if line.encode("latin-1").startswith(end):
            return lines, pos


def _body_lines(path: Path, start: int) -> int:
    """Number of non-empty-terminated lines in the file after ``start`` bytes."""
    data = path.read_bytes()[start:]
    n = data.count(b"\n")
    return n + (1 if data and not data.endswith(b"\n") else 0)


@dataclass
class _PlyElement:
    name: str
    count: int
    fixed_bytes: int = 0          # bytes of the scalar properties of one item
    list_bytes: int = 0           # bytes of the list-length fields of one item (lower bound)
    props: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)  # numpy codes of scalar properties

    def record_dtype(self) -> np.dtype[Any] | None:
        """Little-endian record of one item; None when it has list or unknown properties."""
        if self.list_bytes or len(self.types) != len(self.props):
            return None
        return np.dtype([(n, "<" + t) for n, t in zip(self.props, self.types, strict=True)])


@dataclass(frozen=True)
class _BinaryLayout:
    """Where a checked binary body's records lie: header length, record dtype, count."""

    offset: int
    dtype: np.dtype[Any]
    count: int


def _ply_elements(lines: list[str], path: Path) -> list[_PlyElement]:
    elements: list[_PlyElement] = []
    for ln in lines:
        parts = ln.split()
        if parts[:1] == ["element"] and len(parts) == 3:
            if not parts[2].isdigit() or len(parts[2]) > 12:
                raise CorruptScanError(path, "header", "a whole-number element count",
                                       "another value")
            elements.append(_PlyElement(parts[1], int(parts[2])))
        elif parts[:1] == ["property"] and elements and len(parts) >= 3:
            el = elements[-1]
            if parts[1] == "list":
                el.list_bytes += _PLY_SIZES.get(parts[2], 1)
            else:
                el.fixed_bytes += _PLY_SIZES.get(parts[1], 0)
                if parts[1] in _PLY_TYPES:
                    el.types.append(_PLY_TYPES[parts[1]])
            el.props.append(parts[-1])
    return elements


def _check_ply(path: Path) -> tuple[int, _BinaryLayout | None]:
    """Validate a PLY header against the file size: the declared vertex count, and the
    layout of the vertices when numpy can read them directly."""
    lines, hdr_len = _header(path, b"end_header")
    if lines[0] != "ply":
        raise CorruptScanError(path, "magic", "'ply' on the first line", "another line")
    fmt = next((ln.split()[1] for ln in lines if ln.startswith("format ")), "")
    elements = _ply_elements(lines, path)
    vertex = next((e for e in elements if e.name == "vertex"), None)
    if vertex is None or not {"x", "y", "z"} <= set(vertex.props):
        raise ScanShapeError(path, "vertex properties", "an element 'vertex' with x, y, z",
                             f"{len(vertex.props)} other properties" if vertex
                             else "no vertex element")
    _check_count(path, vertex.count, hdr_len, 6 if fmt == "ascii" else 0)
    if fmt.startswith("binary"):
        need = hdr_len + sum(e.count * (e.fixed_bytes + e.list_bytes) for e in elements)
        have = path.stat().st_size
        if have < need:
            raise CorruptScanError(path, "body", f"at least {need} bytes for the declared "
                                   f"{vertex.count} vertices", f"{have} bytes (truncated)")
        dtype = vertex.record_dtype()
        if fmt == "binary_little_endian" and elements[0] is vertex and dtype is not None:
            return vertex.count, _BinaryLayout(hdr_len, dtype, vertex.count)
    elif fmt == "ascii":
        need_lines = sum(e.count for e in elements)
        have_lines = _body_lines(path, hdr_len)
        if have_lines < need_lines:
            raise CorruptScanError(path, "body", f"{need_lines} data lines",
                                   f"{have_lines} (truncated)")
    else:
        raise CorruptScanError(path, "format", "ascii or binary_*_endian",
                               "another format" if fmt else "none")
    return vertex.count, None


_PCD_KINDS = {"F": "f", "U": "u", "I": "i"}


def _check_pcd(path: Path) -> tuple[int, _BinaryLayout | None]:
    """Validate a PCD header against the file size: the declared point count, and the
    layout of the points when numpy can read them directly."""
    lines, hdr_len = _header(path, b"DATA")
    keys = {ln.split()[0]: ln.split()[1:] for ln in lines if ln and not ln.startswith("#")}
    fields = keys.get("FIELDS", [])
    if not {"x", "y", "z"} <= set(fields):
        raise ScanShapeError(path, "FIELDS", "x, y and z",
                             f"{len(fields)} other fields" if fields else "none")
    try:
        n = _small_int(keys["POINTS"][0])
        sizes = [_small_int(s) for s in keys["SIZE"]]
        counts = [_small_int(c) for c in keys.get("COUNT", ["1"] * len(sizes))]
        data = keys["DATA"][0]
    except (KeyError, IndexError, ValueError) as exc:
        raise CorruptScanError(path, "header", "POINTS, SIZE and DATA entries",
                               f"a missing or malformed entry ({type(exc).__name__})") from None
    if any(sz not in (1, 2, 4, 8) for sz in sizes) or any(c < 1 for c in counts):
        raise CorruptScanError(path, "SIZE/COUNT", "sizes of 1, 2, 4 or 8 bytes, counts >= 1",
                               "another size or count")
    _check_count(path, n, hdr_len, 6 if data == "ascii" else 0)
    if data == "binary":
        need = hdr_len + n * sum(s * c for s, c in zip(sizes, counts, strict=False))
        if path.stat().st_size < need:
            raise CorruptScanError(path, "body", f"at least {need} bytes for {n} points",
                                   f"{path.stat().st_size} bytes (truncated)")
        kinds = [_PCD_KINDS.get(t, "") for t in keys.get("TYPE", [])]
        scalar_xyz = all(counts[fields.index(a)] == 1 for a in "xyz") if \
            len(counts) == len(fields) else False
        if len(kinds) == len(fields) == len(sizes) == len(counts) and all(kinds) and scalar_xyz:
            dtype = np.dtype([(f, f"<{k}{s}", (c,)) if c > 1 else (f, f"<{k}{s}")
                              for f, k, s, c in zip(fields, kinds, sizes, counts, strict=True)])
            return n, _BinaryLayout(hdr_len, dtype, n)
    elif data == "ascii" and _body_lines(path, hdr_len) < n:
        raise CorruptScanError(path, "body", f"{n} data lines", "fewer (truncated)")
    return n, None


def _read_binary(path: Path, layout: _BinaryLayout) -> F32:
    """x, y, z of a checked binary body, read straight into an (N, 3) float32 array."""
    if layout.dtype == _XYZ_F32:                      # the contract's own layout: no copy
        flat = np.fromfile(path, dtype="<f4", count=3 * layout.count, offset=layout.offset)
        return flat.reshape(-1, 3)
    rec = np.fromfile(path, dtype=layout.dtype, count=layout.count, offset=layout.offset)
    out = np.empty((rec.shape[0], 3), np.float32)
    for i, axis in enumerate("xyz"):
        out[:, i] = rec[axis]
    return out


def _read_ply_pcd(path: Path, sidecar: Sidecar) -> F32:
    """Check the header; numpy for the plain binary layout, open3d for everything else."""
    ext = path.suffix.lower()
    declared, layout = _check_ply(path) if ext == ".ply" else _check_pcd(path)
    if layout is not None:
        return _read_binary(path, layout)
    pc = o3d.io.read_point_cloud(path, format=ext[1:], remove_nan_points=False,
                                 remove_infinite_points=False)
    pts = np.asarray(pc.points)
    if pts.shape[0] != declared:
        raise CorruptScanError(path, "points", f"{declared} points as the header declares",
                               f"{pts.shape[0]} read by open3d (corrupt body)")
    return as_points(pts, path)


# --------------------------------------------------------------------------- text
def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _read_text(path: Path, sidecar: Sidecar) -> F32:
    with path.open("r", errors="replace") as fh:
        first, skip = "", 0
        for line in fh:
            if line.strip() and not line.lstrip().startswith("#"):
                first = line
                break
            skip += 1
        second = next((ln for ln in fh if ln.strip() and not ln.lstrip().startswith("#")), "")
    if not first:
        raise CorruptScanError(path, "text", "lines of 'x y z' or 'x,y,z'", "no data lines")
    delimiter = "," if "," in first else None
    tokens = [t.strip() for t in first.split(delimiter)]
    header = not all(_is_number(t) for t in tokens[:3])
    data_line = second if header else first
    if header and not data_line:
        raise CorruptScanError(path, "text", "data lines after the header", "none")
    ncols = len([t for t in data_line.split(delimiter) if t.strip()])
    if ncols < 3:
        raise ScanShapeError(path, "columns", "at least 3 (x, y, z) per line", str(ncols))
    try:
        arr = np.loadtxt(path, delimiter=delimiter, skiprows=skip + int(header),
                         usecols=(0, 1, 2), dtype=np.float64, ndmin=2, comments="#")
    except ValueError as exc:
        raise CorruptScanError(path, "text", "numbers 'x y z' on every line",
                               _where_not_a_number(str(exc))) from None
    return as_points(arr, path)


# --------------------------------------------------------------------------- arrays, grids
def _grid_points(arr: npt.NDArray[Any], path: Path, sidecar: Sidecar) -> F32:
    side = sidecar_path(path)
    if not GridSpec.is_grid_sidecar(sidecar):
        raise SidecarError(side, "x_pitch_mm", "a profile-grid sidecar beside " + path.name,
                           "no sidecar" if sidecar is None else "no grid keys")
    assert sidecar is not None
    spec = GridSpec.from_sidecar(sidecar, side)
    if arr.ndim != 2 or arr.dtype.kind not in "fiu":
        raise ScanShapeError(path, "grid", "a 2-D real array (profiles x points)",
                             f"{arr.dtype} with shape {arr.shape}")
    return spec.to_points(arr)


def _read_npy(path: Path, sidecar: Sidecar) -> F32:
    try:
        arr = np.load(path, allow_pickle=False)
    except (ValueError, EOFError, OSError) as exc:
        raise CorruptScanError(path, "npy", "a complete NPY array",
                               f"unreadable ({type(exc).__name__})") from None
    if GridSpec.is_grid_sidecar(sidecar):
        return _grid_points(arr, path, sidecar)
    return as_points(arr, path)


def _read_npz(path: Path, sidecar: Sidecar) -> F32:
    try:
        with np.load(path, allow_pickle=False) as npz:
            keys = list(npz.keys())
            if "points" in keys:
                key = "points"
            elif len(keys) == 1:
                key = keys[0]
            else:
                raise ScanShapeError(path, "arrays", "'points' or a single array",
                                     f"{len(keys)} other arrays" if keys else "none")
            arr = npz[key]
    except (ValueError, EOFError, OSError, zipfile.BadZipFile) as exc:
        if isinstance(exc, ScanShapeError):
            raise
        raise CorruptScanError(path, "npz", "a complete NPZ archive",
                               f"unreadable ({type(exc).__name__})") from None
    if not isinstance(arr, np.ndarray):           # a member that is no .npy comes as bytes
        raise CorruptScanError(path, f"array '{key}'", "an NPY array in the NPZ archive",
                               f"{type(arr).__name__}")
    return as_points(arr, path, f"array '{key}'")


def _png_pixels(path: Path) -> int | None:
    """Width x height from a PNG's IHDR chunk (None for other files)."""
    with path.open("rb") as fh:
        head = fh.read(24)
    if len(head) < 24 or not head.startswith(b"\x89PNG\r\n\x1a\n"):
        return None
    return int.from_bytes(head[16:20], "big") * int.from_bytes(head[20:24], "big")


def _read_image_grid(path: Path, sidecar: Sidecar) -> F32:
    pixels = _png_pixels(path)
    if pixels is not None and pixels > scanner_model().max_points:
        raise ScanTooLargeError(path, "image size", f"at most {scanner_model().max_points} "
                                "pixels", str(pixels))
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise CorruptScanError(path, "image", "a readable 16-bit PNG/TIFF", "undecodable")
    if img.ndim != 2:
        raise ScanShapeError(path, "image", "a single-channel grid", f"shape {img.shape}")
    return _grid_points(img, path, sidecar)


_READERS: dict[str, Callable[[Path, Sidecar], F32]] = {
    ".ply": _read_ply_pcd, ".pcd": _read_ply_pcd,
    ".xyz": _read_text, ".csv": _read_text, ".txt": _read_text,
    ".npy": _read_npy, ".npz": _read_npz,
    ".png": _read_image_grid, ".tif": _read_image_grid, ".tiff": _read_image_grid,
}
SUPPORTED_EXTENSIONS = tuple(_READERS)


def _read(path: Path) -> tuple[F32, Sidecar]:
    if not path.is_file():
        raise ScanNotFoundError(path, "file", "an existing scan file")
    ext = path.suffix.lower()
    reader = _READERS.get(ext)
    if reader is None:
        raise UnsupportedFormatError(path, "extension", "one of " + " ".join(SUPPORTED_EXTENSIONS),
                                     repr(ext[:12]) if ext else "none")
    size_mb = path.stat().st_size / 2**20
    if size_mb > scanner_model().max_file_mb:
        raise ScanTooLargeError(path, "file size", f"at most {scanner_model().max_file_mb:g} MB",
                                f"{size_mb:.0f} MB")
    sidecar = load_sidecar(path)
    if sidecar is not None and sidecar.get("format") == HEIGHTMAP_FORMAT:
        raise UnsupportedFormatError(
            path, "content", "a scan (point cloud or profile grid)",
            f"a height map ({HEIGHTMAP_FORMAT} sidecar): read it with "
            "point_cloud.heightmap_io.read_heightmap")
    try:
        return reader(path, sidecar), sidecar
    except ScanError:
        raise
    except _PARSER_ERRORS as exc:            # a parser's own error: name its type, not content
        raise CorruptScanError(path, "content", f"a readable {ext[1:]} scan",
                               f"unparseable ({type(exc).__name__})") from None


def read_points(path: str | Path) -> F32:
    """The raw (N, 3) float32 points of a scan file (non-finite ones included)."""
    return _read(Path(path))[0]


def read_scan(path: str | Path, *, identity: ScanIdentity | None = None,
              min_points: int | None = None) -> Cloud:
    """Read a scan file (any contract format) with its identity; see the module doc."""
    path = Path(path)
    points, sidecar = _read(path)
    ident = resolve_identity(path, identity, sidecar)
    points = _finite(points, path, scanner_model().max_abs_coordinate_mm)
    minimum = scanner_model().min_points if min_points is None else min_points
    if points.shape[0] < minimum:
        raise TooFewPointsError(path, "points", f"at least {minimum} finite points",
                                str(points.shape[0]))
    return Cloud(points=points, identity=ident, source=path)
