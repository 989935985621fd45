"""The ``weld-dataset/1`` layout: card (``dataset.json``), manifest and per-sample files.

Shared by the generator, ``preview``, ``stats`` and training. Manifest lines are sorted by
id and written with sorted keys, so the same records give the same bytes and fingerprint.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from point_cloud.heightmap_io import read_heightmap
from point_cloud.types import HeightMap

FORMAT = "weld-dataset/1"
CARD = "dataset.json"
MANIFEST = "manifest.jsonl"
RECORD_FIELDS = ("id", "path", "mask", "weld_type", "label", "defect", "params", "source",
                 "split_key", "seed", "generator_version")


class DatasetError(ValueError):
    """A dataset folder is missing, malformed, or conflicts with a request."""


class DatasetConflictError(DatasetError):
    """The output folder holds a dataset made with another configuration."""


def sample_paths(weld_type: int, label: str, defect: str, sample_id: str) -> tuple[str, str]:
    """(map, mask) paths of a sample relative to the dataset root (POSIX)."""
    stem = f"{weld_type}/{label}/{defect}/{sample_id}"
    return f"{stem}.png", f"{stem}.mask.png"


def manifest_text(records: list[dict[str, Any]]) -> str:
    lines = [json.dumps(r, sort_keys=True, separators=(",", ":"))
             for r in sorted(records, key=lambda r: r["id"])]
    return "".join(line + "\n" for line in lines)


def fingerprint(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def write_card(root: Path, card: dict[str, Any]) -> None:
    tmp = root / (CARD + ".tmp")
    tmp.write_text(json.dumps(card, indent=1, sort_keys=True) + "\n")
    tmp.replace(root / CARD)


def read_card(root: Path) -> dict[str, Any]:
    p = root / CARD
    if not p.is_file():
        raise DatasetError(f"{p}: missing (expected a synth-defects dataset folder)")
    try:
        card = json.loads(p.read_text())
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{p}: invalid JSON: {exc}") from exc
    if card.get("format") != FORMAT:
        raise DatasetError(f"{p}: format: expected {FORMAT!r}, found {card.get('format')!r}")
    return card


def write_manifest(root: Path, records: list[dict[str, Any]]) -> str:
    """Write the sorted manifest; returns its fingerprint."""
    text = manifest_text(records)
    tmp = root / (MANIFEST + ".tmp")
    tmp.write_text(text)
    tmp.replace(root / MANIFEST)
    return fingerprint(text)


@dataclass(frozen=True)
class Dataset:
    """A dataset's card and its records."""

    root: Path
    card: dict[str, Any]
    records: list[dict[str, Any]]

    def load_map(self, rec: dict[str, Any]) -> HeightMap:
        return read_heightmap(self.root / rec["path"])

    def load_mask(self, rec: dict[str, Any]) -> np.ndarray:
        m = cv2.imread(str(self.root / rec["mask"]), cv2.IMREAD_UNCHANGED)
        if m is None:
            raise DatasetError(f"{self.root / rec['mask']}: mask: expected a uint8 PNG")
        return m > 0


def read_dataset(root: str | Path) -> Dataset:
    """Read a complete dataset; clear errors for a missing card/manifest or bad records."""
    root = Path(root)
    card = read_card(root)
    man = root / MANIFEST
    if not man.is_file():
        raise DatasetError(f"{man}: missing (the generation did not finish; run it again)")
    records = []
    for n, line in enumerate(man.read_text().splitlines(), 1):
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{man}:{n}: invalid JSON: {exc}") from exc
        missing = [f for f in RECORD_FIELDS if f not in rec]
        if missing:
            raise DatasetError(f"{man}:{n}: record lacks {', '.join(missing)}")
        records.append(rec)
    return Dataset(root, card, records)
