"""Generate a training dataset from good welds: ``generate_dataset(cfg, out)``.

Every source weld (simulated or read from files) yields a fixed plan of variants: the plain
source, augmented goods and acceptable cuts, and ``per_good`` defective samples cycling
through the requested classes. Each sample draws from its own seed (derived from the run's
seed, the type, the source and the variant), so the bytes do not depend on the number of
workers or on the order of work. A sample is complete once its sidecar holds its record;
a re-run skips complete samples (resume) and refuses a folder made with another config.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import sys
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from tqdm import tqdm

from point_cloud.bead_geometry import BEAD_THRESHOLD_MM
from point_cloud.config import WELD_TYPE_EXPECTED, is_weld_type, weld_type_profile
from point_cloud.errors import ScanError
from point_cloud.heightmap_io import sidecar_path, write_heightmap
from point_cloud.variation import VariationRule
from synth_defects import dataset as ds
from synth_defects.augment import augment
from synth_defects.classes import ALL_CLASSES, BAD_CLASSES, GOOD_CLASSES, label_of
from synth_defects.defects import CHECKS, MAKERS
from synth_defects.frame import BeadFrame, Edited, bead_frame
from synth_defects.params import ranges_for
from synth_defects.sources import Source, SourceError, file_sources, load_source, simulated_sources

GENERATOR_VERSION = "synth-defects/1.12"
"""1.12: a bend of type 7's loop is recorded where it is (``x_mm``, ``y_mm``: the middle of
its first side; 1.11 gave a corner), its maps unchanged.
1.11: a lap bead bent off its path moves whole, ramp and all, and leaves its toe's plate
bare (1.10 moved its material over the ramp it stood on: a foot 0.1-0.3 mm high stayed where
the bead was, or a trench in the upper plate), and where the scan holds no plate on a side
the cells it left are not measured while the bead is measured wherever it went (1.10 kept
every cell's validity: the lower plate's cells stayed, at its level, and the bead was cut
off at the old edge). 1.10: a lap bead's frame stands on the plates where its toes really
meet them (the bead analysis bridged the lower plate to a toe up to 1.5 mm onto the upper
one, so an excess spread onto that plate), and a ball's height is over the crest the gauge
reads on a line bead (each crest row's median along the bead, then the highest). 1.9: a hole
is drawn again where less than half its disc lies in the bead (a 2.5 mm hole at a lap's end
cap dug 1 mm of cap: the map labelled bad showed an acceptable pore). 1.8: a ball is drawn
again where the surface under it stands near its apex (it added 0.08 mm beyond a bead's end
over a high plate's edge, and the map labelled bad was the good weld). 1.7: a ball's height
is over the crest its section shows (1.6: over the section's base plus the bead's top,
0.1-0.4 mm under it on laps and flat beads). 1.6: a ball's highest point stands its label
over the crest on a flank too (1.5: over its centre only, and a ball draped over a rising
flank stood up to 0.9 mm higher)."""
SELECTABLE = tuple(c for c in ALL_CLASSES if c != "none")
MAP_FACTS = ("plate_step_mm",)
"""Source-map meta kept in every sample's sidecar (read back by the gauge's bead analysis)."""
MIN_VISIBLE = 0.7  # a defect mostly hidden in a shadow is redrawn (it would be mislabelled)
MAX_DRAWS = 8
OK_EVERY = 2
"""Every second augmented good is an acceptable imperfection (a short cut, a small pore or
lump, a slight bend or imbalance, a short lack: the ``*_ok`` classes asked for, in turn).
A line's good welds carry them, and the norm accepts them: members that never saw one
reject it (analytic shapes, bench/line_on_analytic.py)."""


class ConfigValueError(ValueError):
    """A generation setting is invalid (unknown type or defect, bad count...)."""


@dataclass(frozen=True)
class GenerateConfig:
    """What to generate. ``workers`` is not part of it: it never changes the result."""

    types: tuple[int, ...]
    per_good: int
    seed: int
    simulate: int | None = None
    from_dir: str | None = None
    defects: tuple[str, ...] = SELECTABLE
    balance: tuple[int, int] = (1, 1)
    near_limit: bool = False
    points: int = 300_000
    vary: bool = False                 # simulated sources drawn from the variation space
    hold_out: tuple[str, ...] = ()     # axis=setting never drawn (leave-one-out training)
    only: tuple[str, ...] = ()         # axis=setting always drawn (a held-out test set)

    def __post_init__(self) -> None:
        if not self.types or not all(is_weld_type(t) for t in self.types):
            raise ConfigValueError(f"types: expected weld types, each {WELD_TYPE_EXPECTED}, "
                                   f"found {list(self.types)}")
        unknown = [d for d in self.defects if d not in SELECTABLE]
        if unknown or not self.defects:
            raise ConfigValueError(f"defects: expected 'all' or names from "
                                   f"{', '.join(SELECTABLE)}, "
                                   f"found {', '.join(unknown) or 'nothing'}")
        if self.per_good < 1:
            raise ConfigValueError(f"per_good: expected >= 1, found {self.per_good}")
        if (self.simulate is None) == (self.from_dir is None):
            raise ConfigValueError("source: expected exactly one of simulate N or from DIR")
        if self.simulate is not None and self.simulate < 1:
            raise ConfigValueError(f"simulate: expected >= 1 source welds, found {self.simulate}")
        g, b = self.balance
        if g < 0 or b < 0 or g + b == 0:
            raise ConfigValueError(f"balance: expected GOOD:BAD with non-negative parts, "
                                   f"found {g}:{b}")
        if (self.hold_out or self.only) and not (self.vary and self.simulate is not None):
            raise ConfigValueError("hold_out/only: expected with vary on simulated sources "
                                   "(--simulate N --vary)")
        self.variation_rule()   # unknown axes or settings: a ConfigError naming them

    def variation_rule(self) -> VariationRule | None:
        """The rule simulated sources are drawn under (None: the type's defaults)."""
        return VariationRule.parse(self.hold_out, self.only, "generate") if self.vary else None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(types=list(self.types), defects=list(self.defects), balance=list(self.balance),
                 hold_out=list(self.hold_out), only=list(self.only))
        d["source"] = {"simulate": self.simulate} if self.simulate else {"from": self.from_dir}
        del d["simulate"], d["from_dir"]
        return d

    @property
    def bad_defects(self) -> list[str]:
        return [d for d in self.defects if d in BAD_CLASSES]


@dataclass(frozen=True)
class Variant:
    """One planned sample of a source: class, its counter within the source, plan index."""

    defect: str
    k: int
    index: int
    augmented: bool


def plan_variants(cfg: GenerateConfig, src: Source) -> list[Variant]:
    """The samples of one source: goods first (the plain source, then augmented goods and
    acceptable imperfections, :data:`OK_EVERY`), then ``per_good`` bad samples cycling
    through the bad classes."""
    bad = cfg.bad_defects
    g, b = cfg.balance
    n_bad = cfg.per_good if bad and b > 0 else 0
    n_good = max(1, round(cfg.per_good * g / b)) if b > 0 else cfg.per_good
    if g == 0:
        n_good = 0
    ok = [d for d in cfg.defects if d in GOOD_CLASSES]
    kinds: list[str] = []
    for j in range(n_good):
        if ok and j % OK_EVERY == OK_EVERY - 1:
            kinds.append(ok[(src.index + j // OK_EVERY) % len(ok)])
        else:
            kinds.append("none")
    kinds += [bad[(src.index + j) % len(bad)] for j in range(n_bad)]
    seen: Counter[str] = Counter()
    out = []
    for i, kind in enumerate(kinds):
        plain = i == 0 and kind == "none"  # the source itself, as measured
        out.append(Variant(kind, seen[kind], i, augmented=not plain and kind != "capture_failure"))
        seen[kind] += 1
    return out


def sample_id(src: Source, v: Variant) -> str:
    return f"t{src.weld_type}-s{src.index:05d}-{v.defect}-{v.k:02d}"


def sample_seed(cfg: GenerateConfig, src: Source, v: Variant) -> int:
    seq = np.random.SeedSequence([cfg.seed, src.weld_type, src.index, v.index])
    return int(seq.generate_state(1)[0])


def shows_its_label(frame: BeadFrame, defect: str, edited: Edited) -> bool:
    """Whether the sample shows its label on the map: its class's check
    (:data:`~synth_defects.defects.CHECKS`: a cut's gap as measured, a ball standing out, a
    hole in the bead), where it has one."""
    check = CHECKS.get(defect)
    return check is None or check(frame, edited)


def make_sample(frame: BeadFrame, defect: str, rng: np.random.Generator, near_limit: bool,
                augmented: bool) -> Edited:
    """One sample from a good map's frame: the defect (if any), then the nuisances."""
    ranges = ranges_for(frame.profile, near_limit)
    if defect == "none":             # the source as it is: nothing to draw again
        edited = MAKERS[defect](frame, rng, ranges)
    else:
        for _ in range(MAX_DRAWS):
            edited = MAKERS[defect](frame, rng, ranges)
            if edited.visible_fraction >= MIN_VISIBLE and shows_its_label(frame, defect, edited):
                break
        edited.params["visible_frac"] = round(edited.visible_fraction, 4)
    if augmented:
        weld = frame.geom.excess > BEAD_THRESHOLD_MM
        out, mask, aug = augment(edited.hm, edited.mask, weld, rng)
        edited = Edited(out, mask, {**edited.params, **aug})
    return edited


def _record_of(png: Path) -> dict[str, Any] | None:
    """The record in a finished sample's sidecar (None if the sample is incomplete)."""
    side = sidecar_path(png)
    try:
        rec = json.loads(side.read_text()).get("record")
    except (OSError, ValueError):
        return None
    mask_done = png.with_name(png.stem + ".mask.png").is_file()
    return rec if isinstance(rec, dict) and mask_done else None


@dataclass
class SourceResult:
    records: list[dict[str, Any]]
    written: int
    skipped: str = ""     # a varied simulated source the pipeline refused: why


def generate_source(job: tuple[GenerateConfig, Source, str]) -> SourceResult:
    """All samples of one source weld (skipping those already complete on disk)."""
    cfg, src, root_s = job
    root = Path(root_s)
    plan = plan_variants(cfg, src)
    records: list[dict[str, Any]] = []
    todo: list[tuple[Variant, str]] = []
    for v in plan:
        sid = sample_id(src, v)
        png, _ = ds.sample_paths(src.weld_type, label_of(v.defect), v.defect, sid)
        rec = _record_of(root / png)
        if rec is not None:
            records.append(rec)
        else:
            todo.append((v, sid))
    if not todo:
        return SourceResult(records, 0)
    profile = weld_type_profile(src.weld_type)
    try:
        good = load_source(src, cfg.points, cfg.variation_rule())
        variation = good.meta.get("variation", {})
        # what the map needs to be read again (a lap fillet's measured plate step); not
        # timings or counts, which differ from run to run
        good.meta = {k: good.meta[k] for k in MAP_FACTS if k in good.meta}
        frame = bead_frame(good, profile)
    except ScanError as exc:
        if cfg.vary and not src.path:  # a pipeline gap, reported in the card, not a stop
            return SourceResult([], 0, skipped=f"{src.id}: {type(exc).__name__}")
        raise SourceError(f"{src.path or src.id}: bead: expected a good weld with a bead, "
                          f"found none ({exc})") from exc
    for v, sid in todo:
        seed = sample_seed(cfg, src, v)
        edited = make_sample(frame, v.defect, np.random.default_rng(seed), cfg.near_limit,
                             v.augmented)
        label = label_of(v.defect)
        png, mask = ds.sample_paths(src.weld_type, label, v.defect, sid)
        rec = {"id": sid, "path": png, "mask": mask, "weld_type": src.weld_type, "label": label,
               "defect": v.defect, "params": edited.params, "source": src.id,
               "split_key": f"t{src.weld_type}:{src.id}", "seed": seed,
               **({"variation": variation} if variation else {}),
               "generator_version": GENERATOR_VERSION}
        (root / mask).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(root / mask), edited.mask.astype(np.uint8) * 255)
        write_heightmap(edited.hm, root / png, preview=False, extra={"record": rec})
        records.append(rec)
    return SourceResult(records, len(todo))


@dataclass
class DatasetSummary:
    """What a generation produced."""

    root: Path
    samples: int
    written: int
    kept: int
    fingerprint: str
    counts: dict[str, int] = field(default_factory=dict)


def _prepare_out(cfg: GenerateConfig, out: Path) -> None:
    """Create the folder or accept a same-config (resumable) one; refuse anything else."""
    card_path = out / ds.CARD
    if card_path.is_file():
        old = ds.read_card(out).get("config", {})
        new = cfg.to_dict()
        diff = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
        if diff:
            detail = "; ".join(f"{k}: {old.get(k)!r} there, {new.get(k)!r} asked" for k in diff)
            raise ds.DatasetConflictError(f"{card_path}: config: the folder holds a dataset made "
                                          f"with another configuration ({detail}); choose "
                                          "another --out or delete it")
        return
    if out.exists() and any(out.iterdir()):
        raise ds.DatasetConflictError(f"{out}: expected an empty or new folder for the dataset, "
                                      "found other files (no dataset.json)")
    out.mkdir(parents=True, exist_ok=True)
    ds.write_card(out, {"format": ds.FORMAT, "generator_version": GENERATOR_VERSION,
                        "config": cfg.to_dict(), "complete": False})


def list_sources(cfg: GenerateConfig) -> list[Source]:
    if cfg.simulate is not None:
        return simulated_sources(list(cfg.types), cfg.simulate, cfg.seed)
    return file_sources(Path(str(cfg.from_dir)), list(cfg.types))


def generate_dataset(cfg: GenerateConfig, out: str | Path, workers: int = 1,
                     progress: bool = True) -> DatasetSummary:
    """Generate (or finish) the dataset in ``out``; see the module docstring."""
    out = Path(out)
    for t in cfg.types:                  # ConfigError naming the configured types
        weld_type_profile(t)
    sources = list_sources(cfg)
    _prepare_out(cfg, out)
    jobs = [(cfg, s, str(out)) for s in sources]
    results: list[SourceResult] = []
    bar = tqdm(total=len(jobs), desc="source welds", unit="weld", disable=not progress)
    workers = max(1, min(workers, len(jobs), os.cpu_count() or 1))
    if workers == 1:
        for job in jobs:
            results.append(generate_source(job))
            bar.update()
    else:
        with mp.get_context("spawn").Pool(workers) as pool:
            for res in pool.imap_unordered(generate_source, jobs):
                results.append(res)
                bar.update()
    bar.close()
    records = [r for res in results for r in res.records]
    skipped = sorted(res.skipped for res in results if res.skipped)
    if skipped:
        print(f"synth-defects: {len(skipped)} varied source welds the pipeline refused were "
              f"skipped (listed in {out / ds.CARD})", file=sys.stderr)
    fp = ds.write_manifest(out, records)
    counts = Counter(f"t{r['weld_type']}/{r['label']}/{r['defect']}" for r in records)
    ds.write_card(out, {"format": ds.FORMAT, "generator_version": GENERATOR_VERSION,
                        "config": cfg.to_dict(), "complete": True, "fingerprint": fp,
                        "samples": len(records), "counts": dict(sorted(counts.items())),
                        **({"skipped_sources": skipped} if skipped else {})})
    written = sum(r.written for r in results)
    return DatasetSummary(out, len(records), written, len(records) - written, fp, dict(counts))
