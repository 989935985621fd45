"""The commissioning job, all or nothing.

1. **Survey** every scan in the goods folder (:mod:`.survey`); **learn** the type's geometry
   and refuse what cannot commission it (:mod:`.learn`).
2. Write the type's entry into a **working copy** of the weld-types file, which the rest of
   the job reads (``WELD_TYPES_FILE``), and **screen** every scan with it the way the line
   will: the quality gate and the norm gauge must pass it (else a capture failure or an
   obvious defect, named).
3. **Hold back** every ``1 / val_share``-th scan (sorted by name); grow the training set from
   the others and a validation set from the held-back ones (``synth_defects``); add the
   operators' reviewed welds (``--reviewed``: false rejects as good sources, confirmed
   escapes as bad samples); **train**, calibrate and export the bundle (``training``), and
   evaluate it on the held-back scans' set.
4. Write the **report** (:mod:`.report`), then **publish**: the bundle to
   ``MODELS_DIR/typeN`` (the old one replaced in one rename), the report beside it, the entry
   into the weld-types file (comments kept, the diff printed).

Everything before step 4 happens in the work folder; a refusal or a failure leaves the
models folder and the weld-types file as they were.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from point_cloud.config import ConfigError, WeldTypeProfile, config_dir, load_types_file
from point_cloud.errors import ScanError
from point_cloud.types_file_edit import EntryChange, upsert_type_entry
from synth_defects.sources import SCAN_SUFFIXES
from training.commission.learn import (
    MIN_SCANS,
    CommissionError,
    LearnedGeometry,
    check_identity,
    learn_geometry,
)
from training.commission.survey import ScanSurvey, survey_file

log = logging.getLogger(__name__)

COMMISSION_CONFIG = "training_commission.yaml"
"""The training config a commissioning uses unless given one (in the config folder)."""


@dataclass(frozen=True)
class CommissionJob:
    """What ``weld-train commission`` was asked to do."""

    scans: Path
    weld_type: int
    weld_types: Path
    out: Path
    work: Path
    min_scans: int = MIN_SCANS
    drop_bad: bool = False
    reviewed: Path | None = None
    train_config: Path | None = None
    per_good: int = 10
    val_every: int = 5
    workers: int = 1
    seed: int = 0


@dataclass
class CommissionResult:
    """What the job learned, made and wrote."""

    learned: LearnedGeometry
    profile: WeldTypeProfile
    change: EntryChange
    bundle: Path
    report: Path
    timings_s: dict[str, float] = field(default_factory=dict)


def scan_files(folder: Path) -> list[Path]:
    """The scans under ``folder`` (any contract format), sorted."""
    if not folder.is_dir():
        raise CommissionError(f"{folder}: --scans: expected a folder of good scans")
    return sorted(p for p in folder.rglob("*")
                  if p.is_file() and p.suffix.lower() in SCAN_SUFFIXES
                  and not p.name.endswith(".json"))


def _survey_one(path: Path) -> ScanSurvey | tuple[str, str]:
    try:
        return survey_file(path)
    except (ScanError, ValueError) as exc:
        return str(path), f"{type(exc).__name__}: {exc}"


def _map(fn: Callable[[Any], Any], items: list[Any], workers: int, desc: str) -> list[Any]:
    """``fn`` over ``items`` with a progress bar, in ``workers`` processes when > 1."""
    if workers <= 1 or len(items) < 2:
        return [fn(i) for i in tqdm(items, desc=desc, unit="scan")]
    with mp.get_context("spawn").Pool(min(workers, len(items))) as pool:
        return list(tqdm(pool.imap(fn, items), total=len(items), desc=desc, unit="scan"))


def survey_all(files: list[Path], workers: int = 1
               ) -> tuple[list[ScanSurvey], dict[str, str]]:
    """(surveys, {file: why it could not be surveyed})."""
    found = _map(_survey_one, files, workers, "survey")
    surveys = [s for s in found if isinstance(s, ScanSurvey)]
    failed = {s[0]: s[1] for s in found if not isinstance(s, ScanSurvey)}
    return surveys, failed


def screen_file(job: tuple[Path, WeldTypeProfile]) -> tuple[str, str | None]:
    """(file, why the line would not pass it as a good weld, or None)."""
    from inspector import quality_gate
    from inspector.decision.gauge import gauge_weld
    from point_cloud.bead_geometry import find_bead
    from point_cloud.pipeline import scan_to_heightmap
    from point_cloud.read import read_scan

    path, profile = job
    try:
        hm = scan_to_heightmap(read_scan(path), profile)
    except (ScanError, ValueError) as exc:
        return str(path), f"{type(exc).__name__}: {exc}"
    bead = find_bead(hm, profile)
    gate = quality_gate.check(hm, profile, bead)
    if gate is not None:
        return str(path), f"quality gate: {gate.defect} ({gate.reason})"
    over = gauge_weld(hm, profile, bead).exceeding
    if over:
        f = over[0]
        return str(path), (f"norm gauge: {f.defect} {f.quantity} {f.value_mm:.2f} mm "
                           f"(limit {f.limit_mm:.2f})")
    return str(path), None


def _refuse_or_drop(bad: dict[str, str], what: str, drop: bool) -> None:
    if bad and not drop:
        lines = "\n  ".join(f"{f}: {why}" for f, why in sorted(bad.items())[:20])
        more = f"\n  ... and {len(bad) - 20} more" if len(bad) > 20 else ""
        raise CommissionError(
            f"{len(bad)} scan(s) are {what}; remove them from the goods folder or pass "
            f"--drop-bad to leave them out:\n  {lines}{more}")


@contextmanager
def types_file_env(path: Path) -> Iterator[None]:
    """Every weld-type lookup in this process (and its workers) reads ``path``."""
    old = os.environ.get("WELD_TYPES_FILE")
    os.environ["WELD_TYPES_FILE"] = str(path)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("WELD_TYPES_FILE", None)
        else:
            os.environ["WELD_TYPES_FILE"] = old


def _existing(types_file: Path, weld_type: int) -> WeldTypeProfile | None:
    if not types_file.is_file():
        return None
    return next((p for p in load_types_file(types_file).types if p.weld_type == weld_type), None)


def _link_sources(files: list[Path], folder: Path) -> Path:
    """A folder of symlinks to ``files`` (and their sidecars): a generator source."""
    folder.mkdir(parents=True, exist_ok=True)
    for f in files:
        for p in (f, f.with_name(f.stem + ".json")):
            if p.is_file():
                (folder / p.name).symlink_to(p.resolve())
    return folder


def _add_reviewed(reviewed: Path, train_src: Path, weld_type: int) -> list[dict[str, Any]]:
    """Operators' reviews (``inspector review export``): false rejects' maps become good
    sources; confirmed escapes are returned as bad samples to add to the training set."""
    from synth_defects.dataset import read_dataset

    ds = read_dataset(reviewed)
    bad = []
    for rec in ds.records:
        if int(rec["weld_type"]) != weld_type:
            continue
        png = ds.root / rec["path"]
        if rec["label"] == "good":
            for p in (png, png.with_suffix(".json")):
                (train_src / f"reviewed-{rec['id']}{''.join(p.suffixes)}").symlink_to(
                    p.resolve())
        else:
            bad.append({**rec, "_root": str(ds.root)})
    return bad


def _merge_bad(train_ds: Path, bad: list[dict[str, Any]]) -> None:
    """Copy reviewed bad samples into the generated training set and re-index it."""
    from synth_defects import dataset as dsm

    if not bad:
        return
    ds = dsm.read_dataset(train_ds)
    records = list(ds.records)
    for rec in bad:
        root = Path(rec.pop("_root"))
        for key in ("path", "mask"):
            src = root / rec[key]
            if src.is_file():
                dst = train_ds / rec[key]
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dst)
                if key == "path":
                    shutil.copy2(src.with_suffix(".json"), dst.with_suffix(".json"))
        records.append(rec)
    fp = dsm.write_manifest(train_ds, records)
    card = dsm.read_card(train_ds)
    dsm.write_card(train_ds, {**card, "fingerprint": fp, "samples": len(records),
                              "reviewed_bad": len(bad)})


def _stage(bundle: Path, report: Path, out: Path, weld_type: int) -> Path:
    """The bundle and its report copied beside ``out/typeN`` (a hidden folder)."""
    out.mkdir(parents=True, exist_ok=True)
    staged = out / f".type{weld_type}.new"
    shutil.rmtree(staged, ignore_errors=True)
    shutil.copytree(bundle, staged)
    shutil.copytree(report, staged / "commission")
    return staged


def _swap(staged: Path, dest: Path) -> None:
    """``staged`` becomes ``dest``; an old ``dest`` is replaced (renames only)."""
    old = dest.with_name(f".{dest.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if dest.exists():
        dest.rename(old)
    staged.rename(dest)
    shutil.rmtree(old, ignore_errors=True)


def commission(job: CommissionJob) -> CommissionResult:
    """Run the job (module doc); :class:`CommissionError` when the scans cannot do it."""
    from synth_defects.generate import GenerateConfig, generate_dataset
    from training.commission.report import write_report
    from training.config import load_train_config
    from training.data import read_dataset
    from training.evaluate import evaluate
    from training.train import train_type

    times: dict[str, float] = {}
    t0 = time.perf_counter()
    files = scan_files(job.scans)
    if len(files) < job.min_scans:
        raise CommissionError(f"{job.scans}: {len(files)} scans; commissioning needs at "
                                f"least {job.min_scans} good scans of the type")
    if job.work.exists():
        shutil.rmtree(job.work)
    job.work.mkdir(parents=True)
    surveys, failed = survey_all(files, job.workers)
    check_identity(surveys, job.weld_type)
    _refuse_or_drop(failed, "unusable (capture failures)", job.drop_bad)
    learned = learn_geometry(surveys, job.weld_type, job.min_scans)
    times["learn"] = time.perf_counter() - t0

    base = _existing(job.weld_types, job.weld_type)
    profile = learned.profile(base)
    work_types = job.work / "weld_types.yaml"
    if job.weld_types.is_file():
        shutil.copy2(job.weld_types, work_types)
    comment = (f"learned by weld-train commission from {learned.scans} good scans in "
               f"{job.scans}")
    upsert_type_entry(work_types, profile, comment=comment)
    with types_file_env(work_types):
        t1 = time.perf_counter()
        usable = [Path(s.file) for s in surveys]
        screened = _map(screen_file, [(f, profile) for f in usable], job.workers, "screen")
        bad = {f: why for f, why in screened if why is not None}
        _refuse_or_drop(bad, "not good welds by the learned geometry", job.drop_bad)
        dropped = {**failed, **bad}
        keep = [f for f in usable if str(f) not in bad]
        if len(keep) < job.min_scans:
            raise CommissionError(f"{len(keep)} good scans left; commissioning needs at "
                                    f"least {job.min_scans}")
        times["screen"] = time.perf_counter() - t1
        learned = LearnedGeometry(learned.weld_type, learned.path, learned.plate,
                                  learned.figures, len(keep), dropped)

        t2 = time.perf_counter()
        val = keep[job.val_every - 1::job.val_every]
        train = [f for f in keep if f not in set(val)]
        train_src = _link_sources(train, job.work / "sources" / "train")
        val_src = _link_sources(val, job.work / "sources" / "validation")
        reviewed_bad = (_add_reviewed(job.reviewed, train_src, job.weld_type)
                        if job.reviewed else [])
        datasets = {}
        for name, src, seed in (("train", train_src, job.seed),
                                ("validation", val_src, job.seed + 1)):
            cfg = GenerateConfig(types=(job.weld_type,), per_good=job.per_good, seed=seed,
                                 from_dir=str(src))
            generate_dataset(cfg, job.work / f"data-{name}", workers=job.workers)
            datasets[name] = job.work / f"data-{name}"
        _merge_bad(datasets["train"], reviewed_bad)
        times["generate"] = time.perf_counter() - t2

        t3 = time.perf_counter()
        tcfg = load_train_config(job.train_config or config_dir() / COMMISSION_CONFIG)
        bundle = train_type(read_dataset(datasets["train"]), job.weld_type, tcfg,
                            job.work / "models")
        times["train"] = time.perf_counter() - t3
        t4 = time.perf_counter()
        evaluate(job.work / "models", read_dataset(datasets["validation"]), [job.weld_type],
                 job.work / "report" / "validation")
        times["validate"] = time.perf_counter() - t4
        change = upsert_type_entry(job.weld_types, profile, comment=comment, dry_run=True)
        values = {k: [s.figures[k] for s in surveys if k in s.figures]
                  for k in learned.figures}
        report = write_report(job, learned, profile, change, bundle, datasets, times,
                              job.work / "report", values)
    staged = _stage(bundle, job.work / "report", job.out, job.weld_type)
    try:
        change = upsert_type_entry(job.weld_types, profile, comment=comment)
    except (ConfigError, OSError):
        shutil.rmtree(staged)     # the entry could not be written: no bundle without it
        raise
    dest = job.out / f"type{job.weld_type}"
    _swap(staged, dest)
    times["total"] = time.perf_counter() - t0
    return CommissionResult(learned, profile, change, dest, dest / "commission" / report.name,
                            times)
