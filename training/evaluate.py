"""``weld-train evaluate``: run the exported bundles (through onnxruntime, as the inspector
does) on a test set and write a markdown report with PNG figures and ``metrics.json``.

The test figures are also stored in each bundle card (``test_metrics``). Per type: every
member alone and the committee (AUROC, false accept / false reject at the
operating point, error rate), a per-defect-class table, a confusion matrix (rows = true
class, columns = PASS or the guessed defect), ROC curves, a contact sheet of the
highest-loss maps, localisation of the anomaly maps against the generator's masks, and a
table against the study's published figures, and every map's decision
(``type<T>_decisions.csv``: committee score, the gauge's vote and margin, the line's decision
and whether it was right), with the maps the line got wrong named in the report.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import cv2
import matplotlib.pyplot as plt
import numpy as np
from tqdm import tqdm

from inspector.decision.bundle import CARD_NAME, BundleError
from inspector.decision.committee import Committee, member_probability
from point_cloud.config import weld_type_profile
from synth_defects.classes import ALL_CLASSES, BAD_CLASSES
from training.data import Dataset, MapSet, load_maps
from training.line_vote import GaugeReadings, gauge_readings, with_votes
from training.metrics import summary

# Best published validation error per type (WELDS.md, after cleaning; ResNet18), in %.
STUDY_ERROR_PCT = {2: 0.0, 3: 0.10, 4: 0.30, 5: 0.20, 7: 0.89, 8: 0.40, 9: 0.0, 10: 0.0, 11: 0.0}
STUDY_TYPE7 = {"committee (ResNet34+50+101)": 0.285, "siamese (30 epochs)": 0.4,
               "autoencoder": 48.0}


@dataclass
class TypeResult:
    weld_type: int
    ms: MapSet
    member_p: dict[str, np.ndarray]
    member_thr: dict[str, float]
    score: np.ndarray
    threshold: float
    guess: np.ndarray            # predicted class, index into ALL_CLASSES (PASS -> -1)
    amap: np.ndarray             # (N, H, W)


def score_type(com: Committee, ms: MapSet, margins: np.ndarray | None = None,
               batch: int = 64) -> TypeResult:
    """The bundle's scores of every map (``margins``: each map's gauge margin, which a
    committee with the gauge member needs)."""
    parts = []
    for i in tqdm(range(0, len(ms), batch), desc=f"t{com.card.weld_type} scoring", leave=False):
        parts.append(com.score_arrays(ms.z[i:i + batch, None],
                                      ms.valid[i:i + batch, None].astype(np.float32),
                                      None if margins is None else margins[i:i + batch]))
    names = com.card.committee.members
    raw = {n: np.concatenate([p.raw[n] for p in parts]) for n in names}
    score = np.concatenate([p.score for p in parts])
    probs = np.concatenate([p.class_probs for p in parts])
    thr = com.card.committee.threshold
    # the bundle's own class order (a bundle trained before a class was added has fewer)
    bad = com.card.bad_classes
    cols = np.array([com.card.classes.index(c) for c in bad])
    as_now = np.array([ALL_CLASSES.index(c) for c in bad])
    guess = np.where(score >= thr, as_now[np.argmax(probs[:, cols], 1)], -1)
    return TypeResult(com.card.weld_type, ms,
                      {n: member_probability(com.card, n, raw[n]) for n in names},
                      {n: com.card.members[n].threshold for n in names}, score, thr, guess,
                      np.concatenate([p.anomaly_map for p in parts]))


def localisation(res: TypeResult) -> dict[str, dict[str, float]]:
    """Per bad class: mean IoU of the binarised anomaly map with the generator's mask, and the
    share of maps whose anomaly peak lies within 1 mm of the mask."""
    out: dict[str, dict[str, float]] = {}
    masks = res.ms.masks
    if masks is None:
        return out
    px = max(1, round(1.0 / weld_type_profile(res.weld_type).roi.mm_per_px))
    kernel = np.ones((2 * px + 1, 2 * px + 1), np.uint8)
    for ci in sorted(set(res.ms.cls[res.ms.bad == 1].tolist())):
        idx = [i for i in np.flatnonzero(res.ms.cls == ci) if masks[i].any()]
        if not idx:
            continue
        ious, hits = [], []
        for i in idx:
            a = res.amap[i]
            pred = a >= max(2.0, 0.5 * float(a.max()))
            inter = np.logical_and(pred, masks[i]).sum()
            ious.append(inter / max(1, np.logical_or(pred, masks[i]).sum()))
            near = cv2.dilate(masks[i].astype(np.uint8), kernel) > 0
            hits.append(bool(near.flat[int(np.argmax(a))]))
        out[ALL_CLASSES[ci]] = {"n": len(idx), "iou": float(np.mean(ious)),
                                "peak_hit": float(np.mean(hits))}
    return out


def per_class(res: TypeResult) -> dict[str, dict[str, float]]:
    """Per true class: count and share failed by each member and the committee."""
    rows: dict[str, dict[str, float]] = {}
    for ci in sorted(set(res.ms.cls.tolist())):
        sel = res.ms.cls == ci
        row = {"n": int(sel.sum()),
               "committee_fail": float((res.score[sel] >= res.threshold).mean())}
        for n in res.member_p:
            row[f"{n}_fail"] = float((res.member_p[n][sel] >= res.member_thr[n]).mean())
        rows[ALL_CLASSES[ci]] = row
    return rows


def plot_confusion(res: TypeResult, path: Path) -> None:
    true = sorted(set(res.ms.cls.tolist()))
    cols = ["PASS", *BAD_CLASSES]
    m = np.zeros((len(true), len(cols)), int)
    for r, ci in enumerate(true):
        g = res.guess[res.ms.cls == ci]
        m[r, 0] = int((g < 0).sum())
        for j, c in enumerate(cols[1:], 1):
            m[r, j] = int((g == ALL_CLASSES.index(c)).sum())
    fig, ax = plt.subplots(figsize=(1 + 0.7 * len(cols), 1 + 0.5 * len(true)))
    ax.imshow(m / np.maximum(m.sum(1, keepdims=True), 1), cmap="Blues", vmin=0, vmax=1)
    for (r, c), v in np.ndenumerate(m):
        if v:
            ax.text(c, r, str(v), ha="center", va="center", fontsize=8)
    ax.set_xticks(range(len(cols)), cols, rotation=45, ha="right")
    ax.set_yticks(range(len(true)), [ALL_CLASSES[c] for c in true])
    ax.set_title(f"type {res.weld_type}: committee at the operating point")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_roc(res: TypeResult, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(5, 4))
    y = res.ms.bad.astype(bool)
    for name, s in [*res.member_p.items(), ("committee", res.score)]:
        order = np.argsort(-s, kind="stable")
        tpr = np.r_[0, np.cumsum(y[order]) / max(1, y.sum())]
        fpr = np.r_[0, np.cumsum(~y[order]) / max(1, (~y).sum())]
        ax.plot(fpr, tpr, label=name, lw=2 if name == "committee" else 1)
    ax.set_xlabel("false reject (good failed)")
    ax.set_ylabel("bad caught (1 - false accept)")
    ax.set_xscale("symlog", linthresh=0.01)
    ax.legend(loc="lower right")
    ax.set_title(f"type {res.weld_type}: ROC")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_worst(res: TypeResult, path: Path, n: int = 12) -> list[str]:
    """Contact sheet of the highest-loss maps (committee log-loss), anomaly map beside each."""
    y = res.ms.bad.astype(bool)
    p = np.clip(np.where(y, res.score, 1 - res.score), 1e-12, 1)
    worst = np.argsort(np.log(p))[:n]
    fig, axes = plt.subplots(len(worst), 2, figsize=(8, 1.2 * len(worst) + 0.5), squeeze=False)
    for row, i in enumerate(worst):
        z = np.where(res.ms.valid[i], res.ms.z[i], np.nan)
        axes[row, 0].imshow(z, cmap="gray", vmin=-0.5, vmax=3.0)
        axes[row, 1].imshow(res.amap[i], cmap="magma")
        axes[row, 0].set_title(f"{res.ms.ids[i]} score {res.score[i]:.3f}", fontsize=7)
        for a in axes[row]:
            a.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return [res.ms.ids[i] for i in worst]


def record_test_metrics(bundle: Path, ds: Dataset, figures: dict[str, Any]) -> None:
    """Store the test figures in the bundle's card (``test_metrics``), naming the test set."""
    path = bundle / CARD_NAME
    card = json.loads(path.read_text())
    card["test_metrics"] = {"dataset": str(ds.root), "fingerprint": ds.fingerprint, **figures}
    path.write_text(json.dumps(card, indent=1))


def with_gauge(res: TypeResult, votes: np.ndarray) -> TypeResult:
    """The line's decision: the committee's score, raised above any threshold where the
    gauge fails the map (``votes``, :mod:`training.line_vote`)."""
    return replace(res, score=with_votes(res.score, votes))


def per_variation(res: TypeResult, held_out: list[str]) -> dict[str, dict[str, Any]]:
    """Per setting of each variation axis the test maps were drawn with (records'
    ``variation``): good and bad counts, false accept and false reject at the operating
    point, and whether training held the setting out (leave-one-out)."""
    out: dict[str, dict[str, Any]] = {}
    failed = res.score >= res.threshold
    keys = [_settings(r) for r in res.ms.records]
    for key in sorted({k for ks in keys for k in ks}):
        sel = np.array([key in ks for ks in keys])
        good, bad = sel & (res.ms.bad == 0), sel & (res.ms.bad == 1)
        out[key] = {"n_good": int(good.sum()), "n_bad": int(bad.sum()),
                    "false_accept": float((~failed[bad]).mean()) if bad.any() else float("nan"),
                    "false_reject": float(failed[good].mean()) if good.any() else float("nan"),
                    "held_out": key in held_out}
    return out


def _settings(record: dict[str, Any]) -> list[str]:
    """A test map's variation settings, ``axis=setting`` each."""
    return [f"{a}={s}" for a, s in record.get("variation", {}).items()]


def _variation_lines(rows: dict[str, dict[str, Any]]) -> list[str]:
    if not rows:
        return []
    lines = ["", "Per variation setting, the line's decision (committee + gauge; leave one "
             "out: a setting training never drew is marked **held out**):", "",
             "| setting | in training | good | bad | false accept | false reject |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {k} | {'**held out**' if r['held_out'] else 'seen'} | {r['n_good']} | "
              f"{r['n_bad']} | {_pct(r['false_accept'])} | {_pct(r['false_reject'])} |"
              for k, r in rows.items()]
    return lines


DECISION_FIELDS = ("id", "true_class", "label", "committee_score", "gauge_fails",
                   "gauge_margin", "line", "committee_guess", "outcome", "source", "variation")
WRONG_LISTED = 20
"""The report names at most this many wrongly decided maps of each kind (the CSV has all)."""


def decision_rows(res: TypeResult, line: TypeResult, readings: GaugeReadings
                  ) -> list[dict[str, Any]]:
    """Per map: the committee's score, the gauge's vote and margin, the line's decision
    (PASS / FAIL at the operating point), the committee's guess of the class (PASS where
    its score passes) and the outcome (``ok``, ``false accept``, ``false reject``)."""
    rows = []
    failed = line.score >= line.threshold
    for i, rec in enumerate(res.ms.records):
        bad = bool(res.ms.bad[i])
        rows.append({
            "id": res.ms.ids[i], "true_class": ALL_CLASSES[int(res.ms.cls[i])],
            "label": "bad" if bad else "good", "committee_score": round(float(res.score[i]), 4),
            "gauge_fails": bool(readings.votes[i]),
            "gauge_margin": round(float(readings.margins[i]), 3),
            "line": "FAIL" if failed[i] else "PASS",
            "committee_guess": ALL_CLASSES[int(res.guess[i])] if res.guess[i] >= 0 else "PASS",
            "outcome": ("ok" if failed[i] == bad else
                        "false accept" if bad else "false reject"),
            "source": rec.get("source", ""),
            "variation": ";".join(_settings(rec))})
    return rows


def write_decisions(rows: list[dict[str, Any]], path: Path) -> None:
    """Write ``rows`` (:func:`decision_rows`) as CSV."""
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=DECISION_FIELDS)
        w.writeheader()
        w.writerows(rows)


def wrong_ids(rows: list[dict[str, Any]]) -> dict[str, list[str]]:
    """The ids of the wrongly decided maps of ``rows``, per kind of error."""
    return {kind: [r["id"] for r in rows if r["outcome"] == kind]
            for kind in ("false accept", "false reject")}


def _wrong_lines(wrong: dict[str, list[str]], csv_name: str) -> list[str]:
    lines = ["", f"Maps the line decided wrongly (every map's decision: `{csv_name}`):", ""]
    for kind, ids in wrong.items():
        shown = ", ".join(f"`{i}`" for i in ids[:WRONG_LISTED])
        more = f" and {len(ids) - WRONG_LISTED} more" if len(ids) > WRONG_LISTED else ""
        lines.append(f"- {kind}: {len(ids)}" + (f": {shown}{more}" if ids else ""))
    return lines


def _pct(v: float) -> str:
    return "n/a" if v != v else f"{100 * v:.2f} %"


def evaluate(models: str | Path, ds: Dataset, types: list[int], report: str | Path) -> Path:
    """Evaluate ``models/type<T>`` bundles on ``ds``; write ``report/report.md``."""
    models, report = Path(models), Path(report)
    report.mkdir(parents=True, exist_ok=True)
    lines = ["# weld-train evaluation", "", f"Test set: `{ds.root}` (fingerprint "
             f"`{ds.fingerprint[:12]}`), models: `{models}`.", "",
             "Scores come from the ONNX bundles through onnxruntime (as on the line). False "
             "accept = bad welds passed / bad welds; false reject = good welds failed / good.", ""]
    all_metrics: dict[str, Any] = {}
    study_rows = []
    for t in types:
        bundle = models / f"type{t}"
        if not bundle.is_dir():
            raise BundleError(f"{bundle}: no bundle for weld type {t} (train it first)")
        com = Committee.from_bundle(bundle)
        ms = load_maps(ds, ds.of_type(t), t, with_masks=True, desc="test maps")
        readings = gauge_readings(ds.root, ms.records, t)
        res = score_type(com, ms, readings.margins)
        y = ms.bad
        figures = {n: summary(res.member_p[n], y, res.member_thr[n]) for n in res.member_p}
        figures["committee"] = summary(res.score, y, res.threshold)
        line = with_gauge(res, readings.votes)
        figures["committee + gauge"] = summary(line.score, y, res.threshold)
        classes = per_class(res)
        loc = localisation(res)
        held = (com.card.training.get("variation") or {}).get("hold_out") or []
        varied = per_variation(line, list(held))
        plot_confusion(res, report / f"type{t}_confusion.png")
        plot_roc(res, report / f"type{t}_roc.png")
        worst = plot_worst(res, report / f"type{t}_worst.png")
        csv_name = f"type{t}_decisions.csv"
        rows = decision_rows(res, line, readings)
        write_decisions(rows, report / csv_name)
        wrong = wrong_ids(rows)
        all_metrics[str(t)] = {"members": figures, "per_class": classes, "localisation": loc,
                               "per_variation": varied, "wrong": wrong,
                               "worst": worst, "bundle_version": com.card.bundle_version,
                               "validation": com.card.committee.metrics.get("val", {})}
        lines += [f"## Type {t}", "", f"Bundle `{com.card.bundle_version}`, "
                  f"{figures['committee']['n_good']} good / {figures['committee']['n_bad']} bad "
                  f"maps, operating point: committee score >= {res.threshold:.4g} (set on "
                  f"validation: target false accept "
                  f"{_pct(com.card.committee.target_false_accept)}, lowered within a "
                  f"{_pct(com.card.committee.false_reject_budget)} false-reject budget).", "",
                  "| model | AUROC | false accept | false reject | error | FAR @ 1 % FRR |",
                  "|---|---|---|---|---|---|"]
        for name, f in figures.items():
            lines.append(f"| {name} | {f['auroc']:.4f} | {_pct(f['false_accept'])} | "
                         f"{_pct(f['false_reject'])} | {_pct(f['error_rate'])} | "
                         f"{_pct(f['far_at_frr_1pct'])} |")
        lines += ["", "| true class | n | committee failed | "
                  + " | ".join(res.member_p) + " |", "|---|---|---|" + "---|" * len(res.member_p)]
        for c, r in classes.items():
            lines.append(f"| {c} | {r['n']} | {_pct(r['committee_fail'])} | "
                         + " | ".join(_pct(r[f"{n}_fail"]) for n in res.member_p) + " |")
        lines += _wrong_lines(wrong, csv_name)
        lines += _variation_lines(varied)
        if loc:
            lines += ["", "Anomaly-map localisation vs the generator's masks (IoU of the map "
                      "binarised at max(2, half its peak); peak within 1 mm of the mask):", "",
                      "| defect | n | IoU | peak hit |", "|---|---|---|---|"]
            lines += [f"| {c} | {r['n']} | {r['iou']:.3f} | {_pct(r['peak_hit'])} |"
                      for c, r in loc.items()]
        lines += ["", f"![confusion](type{t}_confusion.png) ![roc](type{t}_roc.png)", "",
                  "Highest-loss maps (height | anomaly map):", "", f"![worst](type{t}_worst.png)",
                  ""]
        study_rows.append((t, figures["committee"]))
        record_test_metrics(bundle, ds, figures)
    lines += ["## Against the study", "",
              "| type | study best error | committee: lowest error at any threshold | error at "
              "the operating point | false accept | false reject |",
              "|---|---|---|---|---|---|"]
    for t, f in study_rows:
        lines.append(f"| {t} | {STUDY_ERROR_PCT.get(t, float('nan')):.3f} % | "
                     f"{_pct(f['min_error_rate'])} | {_pct(f['error_rate'])} | "
                     f"{_pct(f['false_accept'])} | "
                     f"{_pct(f['false_reject'])} |")
    lines += ["", "Study, type 7 (test error): " + ", ".join(
        f"{k} {v} %" for k, v in STUDY_TYPE7.items()) + ". The study reports plain error "
        "rates; the operating point here is set for a very low false-accept rate, so its error "
        "carries the false rejects that choice costs.", ""]
    (report / "metrics.json").write_text(json.dumps(all_metrics, indent=1))
    out = report / "report.md"
    out.write_text("\n".join(lines))
    return out
