"""Train one weld type's committee end to end and write its bundle.

dataset -> split by source weld -> classifier, Siamese, anomaly -> ONNX export (+ parity)
-> raw member scores on validation *through onnxruntime* -> calibration -> ``model.json``.
:func:`calibrate_type` re-runs only the last two steps on an existing bundle.
"""

from __future__ import annotations

import hashlib
import importlib.metadata as md
import json
import logging
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from inspector.decision.bundle import (
    BUNDLE_FORMAT,
    CARD_NAME,
    GALLERY_NAME,
    CommitteeCard,
    MemberCard,
    ModelCard,
    load_bundle,
    load_gallery,
)
from inspector.decision.committee import member_raw_scores, open_sessions
from inspector.decision.members import GAUGE, MEMBER_SPECS
from inspector.decision.model_input import InputSpec, input_spec_for
from inspector.quality_gate import expected_region
from point_cloud.config import WeldTypeProfile, weld_type_profile
from point_cloud.project import project
from synth_defects.classes import ALL_CLASSES, BAD_CLASSES
from training import distributed
from training.accel import Accel
from training.calibrate import calibrate_committee, calibrate_member
from training.config import TrainConfig
from training.data import (
    Dataset,
    DatasetError,
    MapSet,
    check_classes,
    load_maps,
    read_dataset,
    split_by_key,
)
from training.export import export_member, parity
from training.fp16 import store_weights_fp16
from training.line_vote import GaugeReadings, gauge_readings
from training.members.anomaly import fit_anomaly
from training.members.classifier import train_classifier
from training.members.siamese import train_siamese
from training.metrics import bad_maps_needed

log = logging.getLogger(__name__)

PACKAGES = ("weld-inspector", "torch", "timm", "onnx", "onnxruntime", "numpy")


def package_versions() -> dict[str, str]:
    out = {}
    for p in PACKAGES:
        try:
            out[p] = md.version(p)
        except md.PackageNotFoundError:
            out[p] = "absent"
    return out


def type_spec(weld_type: int, cfg: TrainConfig) -> InputSpec:
    prof = weld_type_profile(weld_type)
    margin = cfg.input.bead_band_margin_mm
    band = bead_band(prof, margin) if margin > 0 and cfg.input.base_window_mm > 0 else None
    return input_spec_for(prof.roi.shape_px, prof.roi.mm_per_px, cfg.input.net_mm_per_px,
                          cfg.input.z_ref_mm, cfg.input.base_window_mm, band)


def bead_band(prof: WeldTypeProfile, margin_mm: float) -> np.ndarray:
    """The type's nominal bead band (the quality gate's expected region) on its map grid,
    ``margin_mm`` wider on each side."""
    g = prof.geometry
    wide = prof.model_copy(update={"geometry": g.model_copy(
        update={"bead_width_mm": g.bead_width_mm + 2 * margin_mm})})
    return expected_region(project(np.empty((0, 3), np.float32), prof.roi), wide)


def split_type(ds: Dataset, weld_type: int,
               cfg: TrainConfig) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Train/validation records of one type, split by source weld; both need both labels."""
    recs = ds.of_type(weld_type)
    where = f"{ds.root / 'manifest.jsonl'}: type {weld_type}"
    check_classes(recs, where)
    train, val = split_by_key(recs, cfg.val_fraction, cfg.seed)
    check_classes(train, where + " training split")
    check_classes(val, where + " validation split (raise val_fraction or add source welds)")
    return train, val


def sources_digest(records: list[dict[str, Any]]) -> str:
    """A digest of the source welds (``split_key``) records come from: a dataset generated
    again from the same sources (a newer generator) splits the same way."""
    keys = sorted({str(r["split_key"]) for r in records})
    return hashlib.sha256("\n".join(keys).encode()).hexdigest()


@dataclass(frozen=True)
class TypeMaps:
    """One type's training and validation maps, split by source weld."""

    weld_type: int
    train_records: list[dict[str, Any]]
    val_records: list[dict[str, Any]]
    train: MapSet
    val: MapSet


def load_type(ds: Dataset, weld_type: int, cfg: TrainConfig) -> TypeMaps:
    """Split ``weld_type``'s records and read their maps."""
    train_r, val_r = split_type(ds, weld_type, cfg)
    return TypeMaps(weld_type, train_r, val_r,
                    load_maps(ds, train_r, weld_type, desc="train maps"),
                    load_maps(ds, val_r, weld_type, desc="val maps"))


def train_types(ds: Dataset, types: list[int], cfg: TrainConfig,
                out_root: Path) -> Iterator[Path]:
    """Train the types one after the other in this process, each bundle as it is written.

    The next type's maps are read while the current one trains, so the device does not
    wait on the disk between types."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = [pool.submit(load_type, ds, types[0], cfg)] if types else []
        for i in range(len(types)):
            maps = pending.pop().result()
            if i + 1 < len(types):
                pending.append(pool.submit(load_type, ds, types[i + 1], cfg))
            yield train_type(ds, maps.weld_type, cfg, out_root, maps)


def train_type(ds: Dataset, weld_type: int, cfg: TrainConfig, out_root: Path,
               maps: TypeMaps | None = None) -> Path:
    """Train, export and calibrate the committee of ``weld_type``; return the bundle folder.
    ``maps``: the type's maps when already read (else read here)."""
    t0 = time.perf_counter()
    cfg = cfg.for_type(weld_type)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    spec = type_spec(weld_type, cfg)
    maps = maps or load_type(ds, weld_type, cfg)
    train_r, val_r, train, val = maps.train_records, maps.val_records, maps.train, maps.val
    device = distributed.local_device()
    accel = Accel.for_device(device, cfg.accelerator)
    log.info("type %d: %d train / %d val maps on %s, net input %s", weld_type, len(train),
             len(val), device, spec.net_shape)
    clf, clf_info = train_classifier(spec, cfg.classifier, cfg.augment, train, val, cfg.seed,
                                     accel)
    sia, gallery, sia_info = train_siamese(spec, cfg.siamese, cfg.augment, train, val, cfg.seed,
                                           accel)
    out = out_root / f"type{weld_type}"
    if not distributed.is_main():
        return out  # under torchrun: rank 0 fits the anomaly bank and writes the bundle
    goods = train.subset(np.flatnonzero(train.bad == 0))
    source = clf if cfg.anomaly.features == "classifier" else sia
    ano = fit_anomaly(spec, cfg.anomaly, goods, cfg.seed, source.encoder)
    t_fit = time.perf_counter() - t0

    out.mkdir(parents=True, exist_ok=True)
    models = {"classifier": clf.cpu(), "siamese": sia.cpu(), "anomaly": ano.cpu()}
    files = {n: export_member(m, n, spec, out / f"{n}.onnx") for n, m in models.items()}
    if cfg.export.weights == "fp16":
        for f in files.values():
            store_weights_fp16(f)
    np.save(out / GALLERY_NAME, gallery)
    zv, vv = val.tensors()
    probe = slice(0, min(8, len(val)))
    par = {n: parity(m, files[n], zv[probe].numpy(), vv[probe].numpy()) for n, m in models.items()}

    fit_info = {"classifier": clf_info, "siamese": sia_info,
                "anomaly": {"features": cfg.anomaly.features, "bank": ano.bank_size}}
    notes = {n: {"fit": fit_info[n], "onnx_parity_max_abs": par[n]} for n in models}
    members, committee = calibrate_members(files, gallery, cfg, val, notes,
                                           line_readings(ds, val, weld_type, cfg))
    card = ModelCard(
        format=BUNDLE_FORMAT,
        bundle_version=bundle_version(weld_type, ds.fingerprint, cfg.model_dump(mode="json"),
                                      committee),
        weld_type=weld_type, input=spec.to_dict(), classes=ALL_CLASSES, bad_classes=BAD_CLASSES,
        members=members, committee=committee,
        training={"dataset": str(ds.root), "fingerprint": ds.fingerprint,
                  "generator_version": ds.meta.get("generator_version"),
                  "variation": {k: ds.meta.get("config", {}).get(k)
                                for k in ("vary", "hold_out")},
                  "n_train": len(train), "n_val": len(val),
                  "n_train_sources": len({r["split_key"] for r in train_r}),
                  "n_val_sources": len({r["split_key"] for r in val_r}),
                  "sources_sha256": sources_digest(train_r + val_r),
                  "device": str(device), "world_size": distributed.world()[1],
                  "accelerator": accel.as_dict(),
                  "seconds": round(time.perf_counter() - t0, 1),
                  "seconds_fitting": round(t_fit, 1),
                  "config": cfg.model_dump(mode="json")},
        versions=package_versions())
    (out / CARD_NAME).write_text(json.dumps(card.model_dump(mode="json"), indent=1))
    log.info("type %d: bundle %s in %.0f s; committee val %s", weld_type, out,
             time.perf_counter() - t0, committee.metrics["val"])
    return out


def line_readings(ds: Dataset, val: MapSet, weld_type: int,
                  cfg: TrainConfig) -> GaugeReadings | None:
    """The gauge's readings of the validation maps where calibration uses them (its vote:
    ``calibrate_with_gauge``; its margin: ``gauge_member``), else None."""
    if not (cfg.calibrate_with_gauge or cfg.gauge_member):
        return None
    return gauge_readings(ds.root, val.records, weld_type)


def calibrate_members(files: dict[str, Path], gallery: np.ndarray, cfg: TrainConfig,
                      val: MapSet, notes: dict[str, dict[str, Any]],
                      readings: GaugeReadings | None = None
                      ) -> tuple[dict[str, MemberCard], CommitteeCard]:
    """Member and committee calibration on the validation split, scored through onnxruntime,
    with the norm gauge as a member (``gauge_member``) and the committee's operating point
    set on the line's decision (``calibrate_with_gauge``), from the gauge's ``readings``."""
    raw, _, _ = onnx_scores(files, gallery, cfg.siamese.k, val)
    if cfg.gauge_member and readings is not None:
        raw[GAUGE] = readings.margins
    specs = {n: MEMBER_SPECS[n] for n in raw}
    members = {n: calibrate_member(raw[n], val.bad, cfg.target_false_accept,
                                   files[n].name if spec.network else None, spec.raw_score,
                                   {"k": cfg.siamese.k} if n == "siamese" else {},
                                   transform=spec.transform, fr_budget=cfg.false_reject_budget)
               for n, spec in specs.items()}
    for n, m in members.items():
        m.metrics.update(notes.get(n, {}))
    votes = readings.votes if cfg.calibrate_with_gauge and readings is not None else None
    committee = calibrate_committee(members, raw, val.bad, cfg.target_false_accept,
                                    cfg.false_reject_budget, votes)
    n_bad, need = int(np.sum(val.bad)), bad_maps_needed(cfg.target_false_accept)
    committee.metrics["val_bad_maps"] = n_bad
    if n_bad < need:
        log.warning("%d bad validation maps: the %.2g %% false-accept operating point rests "
                    "on the lowest of them; %d or more rest it on several (generate the set "
                    "again from the same source welds with more --per-good and run weld-train "
                    "calibrate on it)", n_bad, 100 * cfg.target_false_accept, need)
    return members, committee


def bundle_version(weld_type: int, fingerprint: str, config: dict[str, Any],
                   committee: CommitteeCard) -> str:
    """``t<type>-<training data>-<config and operating point>``: a retrain on other data or
    with another config, and a recalibration, each get a new version (it is published and
    stored with every result)."""
    blob = json.dumps({"config": config, "committee": committee.model_dump(mode="json")},
                      sort_keys=True)
    return (f"t{weld_type}-{fingerprint[:12] or 'nofp'}-"
            f"{hashlib.sha256(blob.encode()).hexdigest()[:8]}")


def calibrate_type(ds: Dataset, weld_type: int, cfg: TrainConfig, models_root: Path) -> Path:
    """Re-set an existing bundle's calibration and operating point (no retraining).

    Uses the validation split of the dataset the bundle was trained on, or of one generated
    again from the same source welds (same sources, seed and ``val_fraction``: the same
    split, so no training weld can leak into it); the card's test figures are dropped, as
    they belong to the old operating point."""
    cfg = cfg.for_type(weld_type)
    out = models_root / f"type{weld_type}"
    card = load_bundle(out)
    tr = card.training
    want = (tr.get("config", {}).get("seed"), tr.get("config", {}).get("val_fraction"))
    if want != (cfg.seed, cfg.val_fraction) or not _same_sources(ds, weld_type, tr):
        raise DatasetError(f"{ds.root}: (sources, seed, val_fraction) differ from those bundle "
                           f"{out} was trained with ({tr.get('dataset')}, {want}): calibrate "
                           "on its own dataset or one generated again from its sources")
    _, val_r = split_type(ds, weld_type, cfg)
    val = load_maps(ds, val_r, weld_type, desc="val maps")
    files = {n: out / m.file for n, m in card.members.items() if m.file is not None}
    keep = ("fit", "onnx_parity_max_abs")
    notes = {n: {k: m.metrics[k] for k in keep if k in m.metrics}
             for n, m in card.members.items()}
    members, committee = calibrate_members(files, load_gallery(out), cfg, val, notes,
                                           line_readings(ds, val, weld_type, cfg))
    config = {**tr.get("config", {}), "target_false_accept": cfg.target_false_accept,
              "false_reject_budget": cfg.false_reject_budget,
              "calibrate_with_gauge": cfg.calibrate_with_gauge,
              "gauge_member": cfg.gauge_member}
    version = bundle_version(weld_type, ds.fingerprint, config, committee)
    calibrated = {"dataset": str(ds.root), "fingerprint": ds.fingerprint,
                  "generator_version": ds.meta.get("generator_version")}
    new = card.model_copy(update={"members": members, "committee": committee,
                                  "training": {**tr, "config": config,
                                               "calibrated_on": calibrated},
                                  "test_metrics": {},
                                  "bundle_version": version})
    (out / CARD_NAME).write_text(json.dumps(new.model_dump(mode="json"), indent=1))
    log.info("type %d: recalibrated %s; committee val %s", weld_type, out,
             committee.metrics["val"])
    return out


def _same_sources(ds: Dataset, weld_type: int, training: dict[str, Any]) -> bool:
    """``ds`` holds the source welds the bundle was trained on: the same dataset, or the
    same sources (the card's digest; for older cards, that of the dataset it names, when
    it is still here)."""
    if ds.fingerprint and ds.fingerprint == training.get("fingerprint"):
        return True
    digest = training.get("sources_sha256")
    if digest is None:
        try:
            digest = sources_digest(read_dataset(training["dataset"]).of_type(weld_type))
        except (KeyError, DatasetError, OSError):
            return False
    return bool(digest == sources_digest(ds.of_type(weld_type)))


def onnx_scores(files: dict[str, Path], gallery: np.ndarray, k: int, ms: MapSet,
                batch: int = 128) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Raw member scores of a MapSet through onnxruntime (what the inspector will compute)."""
    sessions = open_sessions(files)
    z, v = ms.z[:, None], ms.valid[:, None].astype(np.float32)
    parts = [member_raw_scores(sessions, gallery, k, z[i:i + batch], v[i:i + batch])
             for i in range(0, len(ms), batch)]
    raw = {n: np.concatenate([p[0][n] for p in parts]) for n in parts[0][0]}
    return raw, np.concatenate([p[1] for p in parts]), np.concatenate([p[2] for p in parts])
