"""The committee: ONNX members and the norm gauge, a calibrated logistic combination, one
operating point.

``Committee.from_bundle(dir).decide(hm, report)`` returns a :class:`~inspector.verdict.Verdict`.
``report`` is the map's :func:`~inspector.decision.gauge.gauge_weld`, whose margin the gauge
member weighs (:mod:`inspector.decision.members`); it is measured here if not given. The score
arithmetic (:func:`siamese_distance`, :func:`member_feature`, :func:`combine`) lives here and
training imports it, so calibration and inference cannot drift apart.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from inspector.decision.bundle import BundleError, ModelCard, load_bundle, load_gallery
from inspector.decision.gauge import GaugeReport, gauge_weld
from inspector.decision.members import GAUGE
from inspector.decision.model_input import model_input
from inspector.verdict import Verdict
from point_cloud.config import WeldTypeProfile, weld_type_profile
from point_cloud.threads import pool
from point_cloud.types import HeightMap

log = logging.getLogger(__name__)

def sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, np.float64)))


def siamese_distance(emb: np.ndarray, gallery: np.ndarray, k: int) -> np.ndarray:
    """Mean Euclidean distance of each embedding (B, D) to its ``k`` nearest gallery rows."""
    e = np.asarray(emb, np.float64)
    g = np.asarray(gallery, np.float64)
    d2 = (e * e).sum(1)[:, None] - 2.0 * e @ g.T + (g * g).sum(1)[None, :]
    k = max(1, min(k, g.shape[0]))
    nearest = np.partition(np.maximum(d2, 0.0), k - 1, axis=1)[:, :k]
    return np.asarray(np.sqrt(nearest).mean(1))


def standardise(raw: np.ndarray, mean: float, std: float) -> np.ndarray:
    return (np.asarray(raw, np.float64) - mean) / std


LOG_FLOOR = 1e-6   # distances are >= 0; the log transform clips them here


def transform_raw(raw: np.ndarray, transform: str) -> np.ndarray:
    """A member's raw score on the scale it is standardised on ("log" for distances)."""
    r = np.asarray(raw, np.float64)
    return np.log(np.maximum(r, LOG_FLOOR)) if transform == "log" else r


def member_feature(card: ModelCard, name: str, raw: np.ndarray) -> np.ndarray:
    """The member's standardised (transformed) score: what the committee and Platt act on."""
    m = card.members[name]
    return standardise(transform_raw(raw, m.transform), m.mean, m.std)


def committee_probability(features: np.ndarray, weights: tuple[float, ...] | np.ndarray,
                          bias: float) -> np.ndarray:
    """P(bad) from standardised member scores (B, M): the one formula calibration and
    inference share (bit-identical, so a threshold set on a score keeps that sample)."""
    return sigmoid(np.asarray(features, np.float64) @ np.asarray(weights, np.float64) + bias)


def combine(card: ModelCard, raw: dict[str, np.ndarray]) -> np.ndarray:
    """Committee P(bad) from raw member scores (each (B,))."""
    c = card.committee
    feats = np.stack([member_feature(card, n, raw[n]) for n in c.members], -1)
    return committee_probability(feats, c.weights, c.bias)


def member_probability(card: ModelCard, name: str, raw: np.ndarray) -> np.ndarray:
    """A member's own calibrated P(bad) (Platt scaling on its standardised score)."""
    a, b = card.members[name].platt
    return sigmoid(a * member_feature(card, name, raw) + b)


def pick_providers(requested: list[str] | None = None) -> list[str]:
    """CUDA when onnxruntime offers it (else CPU), unless ``requested`` says otherwise."""
    if requested:
        return requested
    available = ort.get_available_providers()
    if "CUDAExecutionProvider" in available:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


MemberOutputs = tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]
"""What the learned members give a batch: raw scores per member, class probs (B, C) and
anomaly maps (B, H, W) (:func:`member_raw_scores`)."""


def member_raw_scores(sessions: dict[str, ort.InferenceSession], gallery: np.ndarray, k: int,
                      z: np.ndarray, valid: np.ndarray) -> MemberOutputs:
    """Run the three members: (raw scores per member, class probs (B,C), anomaly map (B,H,W))."""
    feed = {"z": z.astype(np.float32), "valid": valid.astype(np.float32)}
    bad_logit, class_probs = sessions["classifier"].run(["bad_logit", "class_probs"], feed)
    (emb,) = sessions["siamese"].run(["embedding"], feed)
    an_score, an_map = sessions["anomaly"].run(["score", "anomaly_map"], feed)
    raw = {"classifier": bad_logit.astype(np.float64),
           "siamese": siamese_distance(emb, gallery, k),
           "anomaly": an_score.astype(np.float64)}
    return raw, class_probs, an_map.astype(np.float32)


def open_sessions(files: dict[str, Path], providers: list[str] | None = None
                  ) -> dict[str, ort.InferenceSession]:
    """One ONNX Runtime session per member file.

    Idle intra-op threads sleep instead of spinning: the daemon's own numpy work (read,
    prepare, project) shares the cores with ONNX Runtime, and three sessions' spinning
    pools slowed projection by 1.6x and inference by 2x (bench/bench_end_to_end.py)."""
    chosen = pick_providers(providers)
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return {name: ort.InferenceSession(str(f), opts, providers=chosen) for name, f in files.items()}


def _margins(reports: list[GaugeReport] | None) -> np.ndarray | None:
    return None if reports is None else np.array([r.margin for r in reports])


@dataclass
class BatchScores:
    """Vectorised outputs for a batch of maps."""

    raw: dict[str, np.ndarray]          # raw member scores (B,)
    score: np.ndarray                   # committee P(bad) (B,)
    class_probs: np.ndarray             # (B, C)
    anomaly_map: np.ndarray             # (B, H, W) float32


class Committee:
    """A loaded bundle: ONNX sessions + card + gallery."""

    def __init__(self, bundle: Path, card: ModelCard, sessions: dict[str, ort.InferenceSession],
                 gallery: np.ndarray, profile: WeldTypeProfile) -> None:
        self.bundle = bundle
        self.card = card
        self.sessions = sessions
        self.gallery = gallery
        self.profile = profile
        self.spec = card.input_spec

    @classmethod
    def from_bundle(cls, bundle: str | Path, providers: list[str] | None = None,
                    profile: WeldTypeProfile | None = None) -> Committee:
        """Load and validate a bundle against the configured profile of its weld type."""
        bundle = Path(bundle)
        card = load_bundle(bundle, profile)
        prof = profile if profile is not None else weld_type_profile(card.weld_type)
        sessions = open_sessions({n: bundle / m.file for n, m in card.members.items()
                                  if m.file is not None}, providers)
        used = sessions[next(iter(sessions))].get_providers()[0]
        log.info("bundle %s (type %d) on %s", bundle, card.weld_type, used)
        return cls(bundle, card, sessions, load_gallery(bundle), prof)

    # ------------------------------------------------------------------ scoring
    @property
    def needs_gauge(self) -> bool:
        """Whether the committee weighs the gauge's margin (then scoring needs it)."""
        return GAUGE in self.card.committee.members

    def _run_members(self, z: np.ndarray, valid: np.ndarray) -> MemberOutputs:
        """The learned members on a (B,1,H,W) batch (:func:`member_raw_scores`)."""
        k = int(self.card.members["siamese"].extra.get("k", 1))
        return member_raw_scores(self.sessions, self.gallery, k, z, valid)

    def _run_members_on(self, maps: list[HeightMap]) -> MemberOutputs:
        feed = model_input(maps, self.spec)
        return self._run_members(feed["z"], feed["valid"])

    def score_arrays(self, z: np.ndarray, valid: np.ndarray,
                     gauge_margin: np.ndarray | None = None) -> BatchScores:
        """Score a batch given as (B,1,H,W) float32 ``z`` and ``valid`` arrays, with each
        map's :attr:`GaugeReport.margin` (B,) where :attr:`needs_gauge`."""
        return self._with_gauge(self._run_members(z, valid), gauge_margin)

    def _with_gauge(self, outputs: MemberOutputs,
                    gauge_margin: np.ndarray | None) -> BatchScores:
        """The committee's scores from the members' ``outputs`` and the gauge's margins."""
        raw, class_probs, amap = outputs
        raw = dict(raw)
        if self.needs_gauge:
            if gauge_margin is None:
                raise BundleError(f"{self.bundle}: its committee weighs the norm gauge: "
                                  "score the maps with their gauge reports")
            raw[GAUGE] = np.asarray(gauge_margin, np.float64).reshape(len(class_probs))
        return BatchScores(raw=raw, score=combine(self.card, raw), class_probs=class_probs,
                           anomaly_map=amap)

    def score_maps(self, maps: list[HeightMap],
                   reports: list[GaugeReport] | None = None) -> BatchScores:
        return self._with_gauge(self._run_members_on(maps), _margins(reports))

    # ------------------------------------------------------------------ decision
    def decide(self, hm: HeightMap, report: GaugeReport | None = None) -> Verdict:
        """PASS/FAIL for one map with member scores, defect guess, anomaly map and location
        (``report``: the map's gauge report where made already; measured here when the
        committee weighs it and none is given).

        Whole-map capture checks (too little valid data -> ERROR "capture_failure", no bead ->
        "no_weld") live in one place only, :func:`inspector.quality_gate.check`, which the
        pipeline runs before the committee; this method never returns ERROR.
        """
        return self._verdict(hm, self._run_members_on([hm]), report)

    def start(self, hm: HeightMap) -> Callable[[GaugeReport | None], Verdict]:
        """Begin :meth:`decide` on ``hm``: the learned members run on a worker thread (ONNX
        Runtime releases the GIL) while the caller's thread gates and gauges the map; the
        function returned waits for them and decides with the gauge's report. On 2 cores
        this takes the members' 12 ms off a type-7 scan's time
        (bench/bench_end_to_end.py)."""
        outputs = pool("committee-members", 1).submit(self._run_members_on, [hm])
        return lambda report: self._verdict(hm, outputs.result(), report)

    def _verdict(self, hm: HeightMap, outputs: MemberOutputs,
                 report: GaugeReport | None) -> Verdict:
        thr = self.card.committee.threshold
        if report is None and self.needs_gauge:
            report = gauge_weld(hm, self.profile)
        s = self._with_gauge(outputs, _margins(None if report is None else [report]))
        score = float(s.score[0])
        members = {name: float(member_probability(self.card, name, s.raw[name])[0])
                   for name in self.card.committee.members}
        probs = {c: float(p) for c, p in zip(self.card.classes, s.class_probs[0], strict=True)}
        amap = s.anomaly_map[0]
        r, c = np.unravel_index(int(np.argmax(amap)), amap.shape)
        x, y = hm.xy_of(float(r), float(c))
        verdict = Verdict("FAIL" if score >= thr else "PASS", score, thr, member_scores=members,
                          defect_probs=probs, location_mm=(float(x), float(y)),
                          anomaly_map=amap, bundle_version=self.card.bundle_version)
        if verdict.decision == "FAIL":
            verdict.defect = max(self.card.bad_classes, key=lambda k: probs.get(k, 0.0))
        return verdict
