"""``synth-defects stats``: sample counts per weld type, label and defect."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from synth_defects.classes import ALL_CLASSES
from synth_defects.dataset import read_dataset


def count(records: list[dict[str, Any]]) -> dict[int, Counter[str]]:
    """Per weld type: counts per defect class plus ``good``/``bad`` totals."""
    out: dict[int, Counter[str]] = {}
    for r in records:
        c = out.setdefault(int(r["weld_type"]), Counter())
        c[r["defect"]] += 1
        c[r["label"]] += 1
    return dict(sorted(out.items()))


def format_stats(root: str | Path) -> str:
    """A table: one row per type, columns good, bad and every class present."""
    dset = read_dataset(root)
    per_type = count(dset.records)
    classes = [c for c in ALL_CLASSES if any(c in v for v in per_type.values())]
    head = ["type", "good", "bad", *classes]
    rows = [[str(t), *(str(c[k]) for k in ("good", "bad", *classes))] for t, c in per_type.items()]
    total: Counter[str] = sum(per_type.values(), Counter())
    rows.append(["all", *(str(total[k]) for k in ("good", "bad", *classes))])
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = ["  ".join(x.rjust(w) for x, w in zip(r, widths, strict=True)) for r in [head, *rows]]
    fp = str(dset.card.get("fingerprint", ""))[:12]
    return "\n".join([f"{dset.root}: {len(dset.records)} samples, fingerprint {fp}", *lines])
