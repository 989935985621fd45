"""The commissioning report: ``commission.md`` and its PNGs.

- the learned geometry with its spread over the scans (table and ``geometry.png``), the
  kinds, and the weld-types entry's diff;
- contact sheets of the source scans (``sources.png``) and of their synthetic defects
  (``defects.png``);
- validation per defect class on the held-back scans (``validation/``, by
  ``weld-train evaluate``);
- the operating point from the bundle's card; the time each step took.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from point_cloud.config import WeldTypeProfile
from point_cloud.heightmap_io import preview_u8
from point_cloud.types_file_edit import EntryChange
from synth_defects.dataset import read_dataset
from synth_defects.preview import CELL_H, CELL_W, tile, write_contact_sheet
from training.commission.learn import LearnedGeometry
from training.commission.survey import FIGURES

if TYPE_CHECKING:
    from training.commission.run import CommissionJob

SHEET_COLUMNS = 6
SHEET_SCANS = 24


def geometry_plot(learned: LearnedGeometry, values: dict[str, list[float]], out: Path) -> Path:
    """One histogram per figure over the scans, the learned (median) value marked."""
    keys = [k for k in FIGURES if k in values]
    cols = 3
    rows = (len(keys) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 2.6 * rows), squeeze=False)
    for ax, key in zip(axes.flat, keys, strict=False):
        ax.hist(values[key], bins=20, color="#4a7ab0")
        ax.axvline(learned.figures[key].median, color="#c0392b", lw=2)
        ax.set_title(FIGURES[key], fontsize=8)
    for ax in list(axes.flat)[len(keys):]:
        ax.axis("off")
    fig.suptitle(f"type {learned.weld_type}: geometry over {learned.scans} good scans "
                 "(red: learned)")
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out


def source_sheet(dataset: Path, out: Path) -> Path:
    """The first ``SHEET_SCANS`` good source maps of a generated set, in a grid."""
    ds = read_dataset(dataset)
    goods = sorted((r for r in ds.records if r["defect"] == "none"), key=lambda r: r["id"])
    goods = goods[:SHEET_SCANS]
    rows = max(1, (len(goods) + SHEET_COLUMNS - 1) // SHEET_COLUMNS)
    sheet = np.full((rows * CELL_H, SHEET_COLUMNS * CELL_W, 3), 255, np.uint8)
    for i, rec in enumerate(goods):
        hm = ds.load_map(rec)
        r, c = divmod(i, SHEET_COLUMNS)
        sheet[r * CELL_H:(r + 1) * CELL_H, c * CELL_W:(c + 1) * CELL_W] = tile(
            preview_u8(hm, -0.5, 3.5), np.zeros(hm.shape, bool))
    cv2.imwrite(str(out), sheet)
    return out


def _table(learned: LearnedGeometry) -> list[str]:
    lines = ["| figure | learned (median) | 5-95 % of the scans | MAD |", "|---|---|---|---|"]
    for key, what in FIGURES.items():
        s = learned.figures.get(key)
        if s is not None:
            lines.append(f"| {what} | {s.median:.3f} | {s.p5:.3f} to {s.p95:.3f} | "
                         f"{s.mad:.3f} |")
    return lines


def _relinked(line: str) -> str:
    """A line of the validation report, one heading level down, its images relinked."""
    if line.startswith("#"):
        return "#" + line
    return line.replace("](", "](validation/") if line.startswith("![") else line


def _operating_point(bundle: Path) -> list[str]:
    card: dict[str, Any] = json.loads((bundle / "model.json").read_text())
    com = card["committee"]
    m = com.get("metrics", {})
    return [f"- committee score >= {com['threshold']:.5f} fails a weld (target false accept "
            f"{100 * com['target_false_accept']:.2f} %, false-reject budget "
            f"{100 * com['false_reject_budget']:.2f} %);",
            f"- on the training set's validation split: false accept "
            f"{100 * m.get('false_accept', float('nan')):.2f} %, false reject "
            f"{100 * m.get('false_reject', float('nan')):.2f} %, AUROC "
            f"{m.get('auroc', float('nan')):.4f};",
            "- the norm gauge fails any weld whose measured defect exceeds the weld norm's "
            "limit by more than its uncertainty, whatever the score."]


def write_report(job: CommissionJob, learned: LearnedGeometry, profile: WeldTypeProfile,
                 change: EntryChange, bundle: Path, datasets: dict[str, Path],
                 times: dict[str, float], out: Path,
                 values: dict[str, list[float]] | None = None) -> Path:
    """Write ``out/commission.md`` and its PNGs; return the markdown's path."""
    out.mkdir(parents=True, exist_ok=True)
    if values:
        geometry_plot(learned, values, out / "geometry.png")
    source_sheet(datasets["train"], out / "sources.png")
    write_contact_sheet(datasets["train"], out / "defects.png")
    g = profile.geometry
    lines = [f"# Commissioning weld type {job.weld_type}", "",
             f"From {learned.scans} good scans in `{job.scans}`; bundle `{bundle.name}`, "
             f"weld types `{job.weld_types}`.", "",
             "## Learned geometry", "",
             f"Path: **{g.path}**, plates: **{g.plate}**.", "", *_table(learned), ""]
    if values:
        lines += ["![geometry](geometry.png)", ""]
    if learned.dropped:
        lines += [f"Left out ({len(learned.dropped)}, `--drop-bad`):", ""]
        lines += [f"- `{f}`: {why}" for f, why in sorted(learned.dropped.items())] + [""]
    lines += ["## The weld-types entry", "", f"`{change.path}` ({change.action}):", "",
              "```diff", change.diff.rstrip() or "(no change)", "```", "",
              "## Source scans and their synthetic defects", "",
              "![sources](sources.png)", "", "![defects](defects.png)", "",
              "## Validation on held-back scans", "",
              f"Every {job.val_every}th scan (by name) was held back from training; its "
              "synthetic defects make the validation set. Per defect class and per model: "
              "[validation/report.md](validation/report.md).", ""]
    val = out / "validation" / "report.md"
    if val.is_file():
        body = val.read_text().split("\n")
        lines += [_relinked(ln) for ln in body[1:]] + [""]
    lines += ["## Operating point", "", *_operating_point(bundle), "",
              "## Time", "", "| step | s |", "|---|---|"]
    lines += [f"| {k} | {v:.1f} |" for k, v in times.items()]
    md = out / "commission.md"
    md.write_text("\n".join(lines) + "\n")
    return md
