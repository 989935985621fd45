"""Good source welds: simulated ones, height-map PNGs or scans in any contract format."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from point_cloud.config import WeldTypeProfile, scanner_model, weld_type_profile
from point_cloud.errors import ScanError, ScanShapeError
from point_cloud.heightmap_io import FORMAT as HM_FORMAT
from point_cloud.heightmap_io import read_heightmap, sidecar_path
from point_cloud.identity import load_sidecar, resolve_identity
from point_cloud.project import project
from point_cloud.simulator import SurfaceEdit, simulate_weld
from point_cloud.types import HeightMap
from point_cloud.variation import VariationRule

HEIGHTMAP_SUFFIX = ".png"
SKIP_SUFFIXES = (".preview.png", ".mask.png")
SCAN_SUFFIXES = (".ply", ".pcd", ".xyz", ".csv", ".txt", ".npy", ".npz", ".tif", ".tiff")


class SourceError(ValueError):
    """The input for generation is empty or unusable; the message names the path."""


@dataclass(frozen=True)
class Source:
    """One good weld to derive samples from. ``index`` counts sources of its type (0..)."""

    id: str
    weld_type: int
    index: int
    seed: int = 0  # simulated sources
    path: str = ""  # file sources


def simulated_sources(types: list[int], n: int, seed: int) -> list[Source]:
    """``n`` simulated good welds per type, each with its own derived simulator seed."""
    out = []
    for t in types:
        for i in range(n):
            s = int(np.random.SeedSequence([seed, t, i, 0x5EED]).generate_state(1)[0])
            out.append(Source(id=f"sim-t{t}-{i:05d}", weld_type=t, index=i, seed=s))
    return out


def _is_heightmap(p: Path) -> bool:
    """A ``weld-heightmap/1`` PNG (a profile-grid PNG has another sidecar format)."""
    if p.suffix.lower() != HEIGHTMAP_SUFFIX or p.name.endswith(SKIP_SUFFIXES):
        return False
    side = sidecar_path(p)
    try:
        return side.is_file() and json.loads(side.read_text()).get("format") == HM_FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def file_sources(folder: Path, types: list[int]) -> list[Source]:
    """Height maps and scans under ``folder`` (recursively) of the requested types."""
    if not folder.is_dir():
        raise SourceError(f"{folder}: --from: expected a folder of height maps or scans")
    found: list[tuple[int, Path]] = []
    for p in sorted(folder.rglob("*")):
        if not p.is_file() or p.name.endswith(SKIP_SUFFIXES):
            continue
        if _is_heightmap(p):
            hm = read_heightmap(p)
            t = hm.identity.weld_type if hm.identity else None
        elif p.suffix.lower() in SCAN_SUFFIXES or (p.suffix.lower() == ".png"):
            t = _scan_type(p)
        else:
            continue
        if t is None:
            raise SourceError(f"{p}: identity.weld_type: expected a weld type in the sidecar or "
                              "the file name <serial>_<weld>_t<type>")
        if t in types:
            found.append((t, p))
    if not found:
        raise SourceError(f"{folder}: expected height maps (.png + .json) or scans of weld "
                          f"types {types}, found none")
    out, counters = [], {t: 0 for t in types}
    for t, p in found:
        rel = p.relative_to(folder).with_suffix("").as_posix().replace("/", "-")
        out.append(Source(id=rel, weld_type=t, index=counters[t], path=str(p)))
        counters[t] += 1
    return out


def _scan_type(p: Path) -> int | None:
    ident = resolve_identity(p, None, load_sidecar(p))
    return ident.weld_type if ident else None


def load_source(src: Source, points: int, vary: VariationRule | None = None) -> HeightMap:
    """The source's good height map on its type's ROI grid. ``vary``: simulated sources
    are drawn from the contract's variation space under this rule (the drawn settings in
    ``meta["variation"]``)."""
    profile = weld_type_profile(src.weld_type)
    if src.path:
        p = Path(src.path)
        hm = read_heightmap(p) if _is_heightmap(p) else _scan_to_map(p, profile)
    else:
        hm = simulate_map(src.weld_type, src.seed, points, profile, vary=vary)
    if hm.shape != profile.roi.shape_px:
        raise ScanShapeError(src.path or src.id, "shape", f"{profile.roi.shape_px} (type "
                             f"{src.weld_type} ROI grid)", str(hm.shape))
    return hm


def _scan_to_map(p: Path, profile: WeldTypeProfile) -> HeightMap:
    from point_cloud.pipeline import scan_to_heightmap
    from point_cloud.read import read_scan

    try:
        return scan_to_heightmap(read_scan(p), profile)
    except ScanError:
        raise
    except Exception as exc:  # pragma: no cover - reported with the file's name
        raise SourceError(f"{p}: could not be turned into a height map: {exc}") from exc


def simulate_map(weld_type: int, seed: int, points: int, profile: WeldTypeProfile,
                 edit: SurfaceEdit | None = None, *, pipeline: bool = True,
                 vary: VariationRule | None = None) -> HeightMap:
    """A simulated weld (good, or changed by ``edit``) through the real pipeline, or
    projected with the simulator's true pose (``pipeline=False``, or no pipeline installed).
    ``vary``: drawn from the variation space (through the pipeline only)."""
    try:
        from point_cloud.pipeline import scan_to_heightmap
    except ImportError:
        pipeline = False
    if not pipeline:
        return _truth_projection(weld_type, seed, points, profile, edit)
    scan = simulate_weld(weld_type, seed, points=points, profile=profile, edit=edit,
                         variation=vary)
    hm = scan_to_heightmap(scan.cloud, profile)
    if scan.variation:
        hm.meta["variation"] = scan.variation
    return hm


def _truth_projection(weld_type: int, seed: int, points: int, profile: WeldTypeProfile,
                      edit: SurfaceEdit | None) -> HeightMap:
    scanner = scanner_model().model_copy(update={"outlier_fraction": 0.0})
    scan = simulate_weld(weld_type, seed, points=points, profile=profile, scanner=scanner,
                         edit=edit)
    pts = scan.pose.to_nominal(scan.cloud.points.astype(np.float64)).astype(np.float32)
    return project(pts, profile.roi, identity=scan.cloud.identity, how="mean")
