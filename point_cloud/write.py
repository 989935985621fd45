"""Write a :class:`Cloud` in any scan-contract format, with its identity sidecar.

``write_scan(cloud, path, fmt)``; ``fmt`` (default: from the extension) is one of
:data:`FORMATS`:

* ``ply``: binary little-endian, ``float x, y, z``; ``pcd``: binary, ``F 4`` x y z. Both are
  written here with numpy (byte-for-byte deterministic) and read back through open3d.
* ``xyz`` (``.xyz``/``.txt``, space separated) and ``csv`` (``x,y,z`` header line): '%.9g',
  enough digits for an exact float32 round trip.
* ``npy``: float32 (N, 3); ``npz``: the same under ``points`` in a zip with fixed
  timestamps (deterministic bytes).
* ``grid``: a profile grid (:mod:`point_cloud.profile_grid`) rasterised in the cloud's own
  frame, as ``.png``/``.tif``/``.tiff`` (uint16, 1 µm per count, 0 = invalid) or ``.npy``
  (float32 mm, invalid = -9999); lossy by nature (one point per cell).

The sidecar ``<stem>.json`` gets the identity (and the grid keys for ``grid``); a file name
of the form ``<part-serial>_<weld-id>_t<type>`` that names another weld than the cloud's
identity is refused (:class:`IdentityConflictError`) before anything is written. Round trips
are exact for ply, pcd, npy, npz, xyz and csv.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from point_cloud.errors import UnsupportedFormatError
from point_cloud.identity import resolve_identity, write_sidecar
from point_cloud.profile_grid import NPY_INVALID, GridSpec, encode_u16, rasterise
from point_cloud.types import Cloud

FORMATS = ("ply", "pcd", "xyz", "csv", "npy", "npz", "grid")
EXTENSIONS: dict[str, tuple[str, ...]] = {
    "ply": (".ply",), "pcd": (".pcd",), "xyz": (".xyz", ".txt"), "csv": (".csv",),
    "npy": (".npy",), "npz": (".npz",), "grid": (".png", ".tif", ".tiff", ".npy"),
}
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
TEXT_BLOCK = 100_000
F32 = npt.NDArray[np.float32]


def default_extension(fmt: str) -> str:
    """The extension ``write_scan`` uses for ``fmt`` when it names the file itself."""
    return EXTENSIONS[fmt][0]


def format_of(path: str | Path) -> str:
    """The write format implied by a file extension (``.npy`` means points, not grid)."""
    ext = Path(path).suffix.lower()
    for fmt in FORMATS:
        if ext in EXTENSIONS[fmt]:
            return fmt
    raise UnsupportedFormatError(path, "extension", "one of " + " ".join(
        sorted({e for exts in EXTENSIONS.values() for e in exts})), repr(ext))


def _write_ply(points: F32, path: Path) -> None:
    header = ("ply\nformat binary_little_endian 1.0\ncomment weld-inspector scan\n"
              f"element vertex {points.shape[0]}\nproperty float x\nproperty float y\n"
              "property float z\nend_header\n")
    with path.open("wb") as fh:
        fh.write(header.encode("ascii"))
        fh.write(points.astype("<f4").tobytes())


def _write_pcd(points: F32, path: Path) -> None:
    n = points.shape[0]
    header = ("# .PCD v0.7 - Point Cloud Data file format\nVERSION 0.7\nFIELDS x y z\n"
              "SIZE 4 4 4\nTYPE F F F\nCOUNT 1 1 1\n"
              f"WIDTH {n}\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS {n}\nDATA binary\n")
    with path.open("wb") as fh:
        fh.write(header.encode("ascii"))
        fh.write(points.astype("<f4").tobytes())


def _write_text(points: F32, path: Path, sep: str, header: str = "") -> None:
    """'%.9g' text, formatted a block at a time (3x faster than np.savetxt's row loop)."""
    row = sep.join(["%.9g"] * 3) + "\n"
    with path.open("w") as fh:
        fh.write(header)
        for start in range(0, points.shape[0], TEXT_BLOCK):
            block = points[start:start + TEXT_BLOCK]
            fh.write((row * block.shape[0]) % tuple(block.ravel().tolist()))


def _write_xyz(points: F32, path: Path) -> None:
    _write_text(points, path, " ")


def _write_csv(points: F32, path: Path) -> None:
    _write_text(points, path, ",", "x,y,z\n")


def _write_npy(points: F32, path: Path) -> None:
    np.save(path, points, allow_pickle=False)


def _write_npz(points: F32, path: Path) -> None:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, points, allow_pickle=False)
    info = zipfile.ZipInfo("points.npy", date_time=_ZIP_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(info, buf.getvalue())


def write_grid(points: F32, path: Path, pitch_mm: float | None = None) -> GridSpec:
    """Rasterise ``points`` to a profile grid at ``path`` (.png/.tif/.tiff/.npy)."""
    z, valid, spec = rasterise(points, pitch_mm)
    if path.suffix.lower() == ".npy":
        np.save(path, np.where(valid, z, NPY_INVALID).astype(np.float32), allow_pickle=False)
        return GridSpec(spec.x_pitch_mm, spec.y_pitch_mm, 1.0, 0.0, NPY_INVALID,
                        spec.x0_mm, spec.y0_mm)
    counts, spec = encode_u16(z, valid, spec)
    if not cv2.imwrite(str(path), counts):
        raise OSError(f"{path}: could not write the 16-bit grid image")
    return spec


_WRITERS: dict[str, Callable[[F32, Path], None]] = {
    "ply": _write_ply, "pcd": _write_pcd, "xyz": _write_xyz, "csv": _write_csv,
    "npy": _write_npy, "npz": _write_npz,
}


def write_scan(cloud: Cloud, path: str | Path, fmt: str | None = None, *,
               grid_pitch_mm: float | None = None) -> Path:
    """Write ``cloud`` to ``path`` as ``fmt`` (see the module doc) plus its sidecar."""
    path = Path(path)
    fmt = format_of(path) if fmt is None else fmt
    if fmt not in FORMATS:
        raise UnsupportedFormatError(path, "format", "one of " + ", ".join(FORMATS), repr(fmt))
    if path.suffix.lower() not in EXTENSIONS[fmt]:
        raise UnsupportedFormatError(path, "extension", f"one of {EXTENSIONS[fmt]} for {fmt}",
                                     repr(path.suffix))
    if cloud.identity is not None:
        resolve_identity(path, cloud.identity)      # a contract name must name this weld
    path.parent.mkdir(parents=True, exist_ok=True)
    extra: dict[str, Any] | None = None
    if fmt == "grid":
        extra = write_grid(cloud.points, path, grid_pitch_mm).to_sidecar()
    else:
        _WRITERS[fmt](cloud.points, path)
    write_sidecar(path, cloud.identity, extra)
    return path
