"""Datasets written by synth-defects (``weld-dataset/1``): manifest, split, tensors, augments."""

from __future__ import annotations

import json
import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from point_cloud.config import weld_type_profile
from point_cloud.heightmap_io import read_heightmap
from synth_defects.classes import ALL_CLASSES, BAD_CLASSES, GOOD_CLASSES
from training.config import AugmentCfg

DATASET_FORMAT = "weld-dataset/1"
LOAD_THREADS = 16
"""Threads that read a dataset's maps (at most one per core)."""
RECORD_FIELDS = ("id", "path", "mask", "weld_type", "label", "defect", "source", "split_key")


class DatasetError(ValueError):
    """A dataset cannot be used for training; the message names the file and the problem."""


class ManifestNotFoundError(DatasetError, FileNotFoundError):
    """``dataset.json`` or ``manifest.jsonl`` is missing."""


class DatasetRecordError(DatasetError):
    """A manifest record lacks a field or holds an invalid value."""


class MissingTypesError(DatasetError):
    """Weld types were requested that the dataset does not hold."""


class EmptyClassError(DatasetError):
    """A weld type (or one of its splits) has no good or no bad samples."""


@dataclass(frozen=True)
class Dataset:
    """A dataset's card and its manifest records."""

    root: Path
    meta: dict[str, Any]
    records: list[dict[str, Any]]

    @property
    def fingerprint(self) -> str:
        return str(self.meta.get("fingerprint", ""))

    def types(self) -> list[int]:
        return sorted({int(r["weld_type"]) for r in self.records})

    def of_type(self, weld_type: int) -> list[dict[str, Any]]:
        return [r for r in self.records if int(r["weld_type"]) == weld_type]


def _check_record(rec: Any, where: str) -> dict[str, Any]:
    if not isinstance(rec, dict):
        raise DatasetRecordError(f"{where}: expected a JSON object per line")
    missing = [f for f in RECORD_FIELDS if f not in rec]
    if missing:
        raise DatasetRecordError(f"{where}: record {rec.get('id', '?')!r} lacks "
                                 f"{', '.join(missing)}")
    if rec["defect"] not in ALL_CLASSES:
        raise DatasetRecordError(f"{where}: defect: expected one of {', '.join(ALL_CLASSES)}, "
                                 f"found {rec['defect']!r}")
    expected = "good" if rec["defect"] in GOOD_CLASSES else "bad"
    if rec["label"] != expected:
        raise DatasetRecordError(f"{where}: label: expected {expected!r} for defect "
                                 f"{rec['defect']!r}, found {rec['label']!r}")
    return rec


def read_dataset(root: str | Path) -> Dataset:
    """Read ``dataset.json`` and ``manifest.jsonl`` with clear errors for missing/bad parts."""
    root = Path(root)
    card_path, man_path = root / "dataset.json", root / "manifest.jsonl"
    for p in (card_path, man_path):
        if not p.is_file():
            raise ManifestNotFoundError(f"{p}: missing (expected a synth-defects dataset folder "
                                        "with dataset.json and manifest.jsonl)")
    try:
        meta = json.loads(card_path.read_text())
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{card_path}: invalid JSON: {exc}") from exc
    if meta.get("format") != DATASET_FORMAT:
        raise DatasetError(f"{card_path}: format: expected {DATASET_FORMAT!r}, "
                           f"found {meta.get('format')!r}")
    records = []
    for n, line in enumerate(man_path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        where = f"{man_path}:{n}"
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetRecordError(f"{where}: invalid JSON: {exc}") from exc
        records.append(_check_record(rec, where))
    if not records:
        raise DatasetError(f"{man_path}: no records")
    return Dataset(root, meta, records)


def require_types(ds: Dataset, types: list[int]) -> None:
    missing = [t for t in types if t not in ds.types()]
    if missing:
        raise MissingTypesError(f"{ds.root / 'manifest.jsonl'}: weld types {missing} requested "
                                f"but the dataset holds only {ds.types()}")


def check_classes(records: list[dict[str, Any]], what: str) -> None:
    """Both labels must be present: an :class:`EmptyClassError` names the empty one."""
    labels = {r["label"] for r in records}
    for lab in ("good", "bad"):
        if lab not in labels:
            raise EmptyClassError(f"{what}: no {lab!r} samples ({len(records)} records); "
                                  "generate more source welds or defects")


def split_by_key(records: list[dict[str, Any]], val_fraction: float,
                 seed: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Split by ``split_key`` so no source weld is on both sides (deterministic)."""
    keys = sorted({str(r["split_key"]) for r in records})
    order = np.random.default_rng(seed).permutation(len(keys))
    n_val = max(1, round(val_fraction * len(keys)))
    val_keys = {keys[i] for i in order[:n_val]}
    train = [r for r in records if r["split_key"] not in val_keys]
    val = [r for r in records if r["split_key"] in val_keys]
    return train, val


@dataclass
class MapSet:
    """Height maps of one type in memory: z (N,H,W) mm, valid (N,H,W), labels and classes."""

    z: np.ndarray
    valid: np.ndarray
    bad: np.ndarray                 # (N,) 1 = bad
    cls: np.ndarray                 # (N,) index into ALL_CLASSES
    ids: list[str]
    masks: np.ndarray | None = None  # (N,H,W) bool generator masks, when loaded
    records: list[dict[str, Any]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, idx: np.ndarray) -> MapSet:
        return MapSet(self.z[idx], self.valid[idx], self.bad[idx], self.cls[idx],
                      [self.ids[i] for i in idx],
                      None if self.masks is None else self.masks[idx],
                      [self.records[i] for i in idx])

    def tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(N,1,H,W) float32 z and valid tensors (shared memory with numpy where possible)."""
        return (torch.from_numpy(self.z).unsqueeze(1),
                torch.from_numpy(self.valid.astype(np.float32)).unsqueeze(1))


def load_maps(ds: Dataset, records: list[dict[str, Any]], weld_type: int,
              with_masks: bool = False, desc: str = "maps") -> MapSet:
    """Read the maps of ``records`` and check shape and mm/px against the type's profile."""
    import cv2

    prof = weld_type_profile(weld_type)
    shape = prof.roi.shape_px
    n = len(records)
    z = np.zeros((n, *shape), np.float32)
    valid = np.zeros((n, *shape), bool)
    masks = np.zeros((n, *shape), bool) if with_masks else None
    def read(i: int) -> None:
        rec = records[i]
        png = ds.root / rec["path"]
        hm = read_heightmap(png)
        if hm.shape != shape or abs(hm.mm_per_px - prof.roi.mm_per_px) > 1e-9:
            raise DatasetRecordError(f"{png}: map: expected {shape} at {prof.roi.mm_per_px} mm/px "
                                     f"(type {weld_type}), found {hm.shape} at {hm.mm_per_px}")
        z[i], valid[i] = hm.z, hm.valid
        if masks is not None:
            m = cv2.imread(str(ds.root / rec["mask"]), cv2.IMREAD_UNCHANGED)
            masks[i] = m > 0 if m is not None and m.shape == shape else False

    # PNG decoding releases the GIL: threads read the maps on every core.
    with ThreadPoolExecutor(max_workers=min(LOAD_THREADS, os.cpu_count() or 1)) as pool:
        list(tqdm(pool.map(read, range(n)), total=n, desc=f"t{weld_type} {desc}", leave=False))
    bad = np.array([r["label"] == "bad" for r in records], np.int64)
    cls = np.array([ALL_CLASSES.index(r["defect"]) for r in records], np.int64)
    return MapSet(z, valid, bad, cls, [str(r["id"]) for r in records], masks, list(records))


def class_weights(cls: np.ndarray) -> torch.Tensor:
    """Per-class loss weights: good and bad halves weigh the same, classes equal within a half.

    Absent classes weigh 0; the mean weight over the samples is 1.
    """
    counts = np.bincount(cls, minlength=len(ALL_CLASSES)).astype(np.float64)
    is_good = np.array([c in GOOD_CLASSES for c in ALL_CLASSES])
    w = np.zeros(len(ALL_CLASSES))
    for part in (is_good, ~is_good):
        present = part & (counts > 0)
        if present.any():
            w[present] = len(cls) / 2.0 / present.sum() / counts[present]
    w = w / w[cls].mean()
    return torch.tensor(w, dtype=torch.float32)


SHADOW_CELL_PX = 15
"""Shadow blobs: a random field this many pixels per coarse cell (about 3 mm at 0.2 mm/px,
the simulator's shadows), upsampled and thresholded."""


def shadow_keep(shape: torch.Size, cfg: AugmentCfg, gen: torch.Generator,
                good: torch.Tensor) -> torch.Tensor:
    """(B,1,H,W) 1/0 mask on ``gen``'s device: cells kept; ``cfg.shadows`` of the ``good``
    maps lose a share drawn in (0, ``cfg.shadow_max``) of their cells in blobs."""
    b, _, h, w = shape
    dev = gen.device
    coarse = torch.randn(b, 1, max(2, h // SHADOW_CELL_PX), max(2, w // SHADOW_CELL_PX),
                         generator=gen, device=dev)
    field = torch.nn.functional.interpolate(coarse, size=(h, w), mode="bicubic",
                                            align_corners=False)
    field = (field - field.mean(dim=(2, 3), keepdim=True)) / (
        field.std(dim=(2, 3), keepdim=True) + 1e-6)
    share = torch.rand(b, 1, 1, 1, generator=gen, device=dev) * cfg.shadow_max
    level = math.sqrt(2.0) * torch.erfinv(1.0 - 2.0 * share.clamp(min=1e-4))
    hit = ((torch.rand(b, 1, 1, 1, generator=gen, device=dev) < cfg.shadows)
           & good.view(b, 1, 1, 1).to(dev))
    return (~((field > level) & hit)).float()


def augment(z: torch.Tensor, valid: torch.Tensor, cfg: AugmentCfg,
            gen: torch.Generator, good: torch.Tensor | None = None,
            host_gen: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Physical augmentations of a (B,1,H,W) batch: flips, shifts, gain, noise, dropout (mm),
    and shadows on the maps flagged ``good`` (B,) (none when not given).

    Per-map draws come from ``gen`` on its own device (the maps' on a GPU: nothing crosses
    per step); the batch's shift, a host integer, from ``host_gen`` (default ``gen``)."""
    b = z.shape[0]
    dev = z.device
    host_gen = host_gen or gen

    def draw(*shape: int) -> torch.Tensor:
        return torch.rand(*shape, generator=gen, device=gen.device).to(dev)

    def coin() -> torch.Tensor:
        return draw(b, 1, 1, 1) < 0.5

    if cfg.flip_x:
        f = coin()
        z, valid = torch.where(f, z.flip(-1), z), torch.where(f, valid.flip(-1), valid)
    if cfg.flip_y:
        f = coin()
        z, valid = torch.where(f, z.flip(-2), z), torch.where(f, valid.flip(-2), valid)
    if cfg.shift_px:
        shift = torch.randint(-cfg.shift_px, cfg.shift_px + 1, (2,), generator=host_gen,
                              device=host_gen.device)
        dy, dx = int(shift[0]), int(shift[1])
        z, valid = torch.roll(z, (dy, dx), (-2, -1)), torch.roll(valid, (dy, dx), (-2, -1))
    if cfg.gain:
        z = z * (1.0 + (draw(b, 1, 1, 1) * 2 - 1) * cfg.gain)
    if cfg.noise_mm:
        z = z + torch.randn(z.shape, generator=gen, device=gen.device).to(dev) * cfg.noise_mm
    if cfg.dropout:
        valid = valid * (draw(*z.shape) >= cfg.dropout)
    if cfg.shadows and good is not None:
        valid = valid * shadow_keep(z.shape, cfg, gen, good).to(dev)
    return z * valid, valid


__all__ = ["BAD_CLASSES", "DatasetError", "EmptyClassError", "ManifestNotFoundError",
           "MapSet", "MissingTypesError", "augment", "class_weights", "load_maps",
           "read_dataset", "split_by_key"]
