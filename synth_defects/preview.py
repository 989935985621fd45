"""``synth-defects preview``: a contact sheet, one row per weld type, one column per class.

Each cell shows the first sample of that type and class (sorted by id) as an 8-bit height
preview with its defect mask outlined in red."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from point_cloud.heightmap_io import preview_u8
from synth_defects.classes import ALL_CLASSES
from synth_defects.dataset import DatasetError, read_dataset

CELL_W, CELL_H, LABEL_H, HEAD_W = 240, 120, 18, 40


def tile(img: np.ndarray, mask: np.ndarray) -> np.ndarray:
    rgb = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(rgb, contours, -1, (0, 0, 255), 1)
    scale = min(CELL_W / rgb.shape[1], CELL_H / rgb.shape[0])
    size = (max(1, int(rgb.shape[1] * scale)), max(1, int(rgb.shape[0] * scale)))
    small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    cell = np.full((CELL_H, CELL_W, 3), 40, np.uint8)
    cell[: size[1], : size[0]] = small
    return cell


def write_contact_sheet(root: str | Path, out: str | Path) -> Path:
    """Write the sheet to ``out`` (PNG) and return its path."""
    dset = read_dataset(root)
    types = sorted({int(r["weld_type"]) for r in dset.records})
    classes = [c for c in ALL_CLASSES if any(r["defect"] == c for r in dset.records)]
    if not types or not classes:
        raise DatasetError(f"{dset.root}: no samples to preview")
    first: dict[tuple[int, str], dict] = {}
    for r in sorted(dset.records, key=lambda r: r["id"]):
        first.setdefault((int(r["weld_type"]), r["defect"]), r)
    size = (LABEL_H + len(types) * CELL_H, HEAD_W + len(classes) * CELL_W, 3)
    sheet = np.full(size, 255, np.uint8)
    for j, c in enumerate(classes):
        cv2.putText(sheet, c, (HEAD_W + j * CELL_W + 4, LABEL_H - 5), cv2.FONT_HERSHEY_SIMPLEX,
                    0.45, (0, 0, 0), 1, cv2.LINE_AA)
    for i, t in enumerate(types):
        y0 = LABEL_H + i * CELL_H
        cv2.putText(sheet, f"t{t}", (4, y0 + CELL_H // 2), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                    (0, 0, 0), 1, cv2.LINE_AA)
        for j, c in enumerate(classes):
            rec = first.get((t, c))
            if rec is None:
                continue
            hm = dset.load_map(rec)
            img = preview_u8(hm, -0.5, 3.5)
            x0 = HEAD_W + j * CELL_W
            sheet[y0:y0 + CELL_H, x0:x0 + CELL_W] = tile(img, dset.load_mask(rec))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out), sheet)
    return out
