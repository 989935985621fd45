"""A model bundle on disk: ``model.json`` card + member ``.onnx`` files + the Siamese gallery.

Loading needs numpy and pydantic only. :func:`load_bundle` refuses a bundle of another
format version (:class:`BundleVersionError`) or whose card does not match the weld type's
configured profile (:class:`BundleMismatchError`, listing every difference).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from inspector.decision.model_input import InputSpec
from point_cloud.config import WeldTypeProfile, weld_type_profile
from point_cloud.errors import PermanentError

BUNDLE_FORMAT = "weld-bundle/1"
CARD_NAME = "model.json"
GALLERY_NAME = "gallery.npy"


class BundleError(PermanentError, ValueError):
    """A bundle cannot be used; the message names the bundle path and what is wrong."""

    reason = "bad_bundle"


class BundleVersionError(BundleError):
    """The card's ``format`` is not the one this inspector reads."""


class BundleMismatchError(BundleError):
    """The card disagrees with the configured weld-type profile."""

    def __init__(self, path: Path, differences: list[str]) -> None:
        self.differences = differences
        super().__init__(f"{path}: bundle does not match the configuration: "
                         + "; ".join(differences))


class _Card(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MemberCard(_Card):
    """One member: its file, how its raw score is standardised, and its own figures."""

    file: str | None = None              # its ONNX graph; None: measured at run time (gauge)
    raw_score: str                       # what the raw score is (e.g. "logit P(bad)")
    transform: Literal["identity", "log"] = "identity"   # applied to the raw score first
    mean: float                          # standardisation (of the transformed score) on val
    std: float = Field(gt=0)
    platt: tuple[float, float]           # calibrated P(bad) = sigmoid(a * standardised + b)
    threshold: float                     # member's own operating threshold on P(bad)
    metrics: dict[str, Any] = {}
    extra: dict[str, Any] = {}           # member-specific settings (e.g. gallery k)


class CommitteeCard(_Card):
    """Logistic combination of standardised member scores and its operating point:
    P(bad) = sigmoid(bias + sum(weight * standardised member score))."""

    members: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float
    threshold: float                     # FAIL when committee score >= threshold
    target_false_accept: float
    false_reject_budget: float = 0.0     # validation FR the threshold may spend on FA margin
    metrics: dict[str, Any] = {}


class ModelCard(_Card):
    """``model.json``: everything needed to use and audit a bundle."""

    format: str
    bundle_version: str
    weld_type: int
    input: dict[str, Any]
    classes: tuple[str, ...]
    bad_classes: tuple[str, ...]
    members: dict[str, MemberCard]
    committee: CommitteeCard
    training: dict[str, Any] = {}        # dataset fingerprint, config, split sizes
    test_metrics: dict[str, Any] = {}
    versions: dict[str, str] = {}

    @property
    def input_spec(self) -> InputSpec:
        return InputSpec.from_dict(self.input)


def read_card(bundle: str | Path) -> ModelCard:
    """Parse and version-check ``bundle/model.json``."""
    path = Path(bundle) / CARD_NAME
    if not path.is_file():
        raise BundleError(f"{path}: missing model card (expected a weld-train bundle)")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise BundleError(f"{path}: invalid JSON: {exc}") from exc
    found = data.get("format") if isinstance(data, dict) else None
    if found != BUNDLE_FORMAT:
        raise BundleVersionError(f"{path}: format: expected {BUNDLE_FORMAT!r}, found {found!r} "
                                 "(retrain or use a matching inspector)")
    try:
        return ModelCard.model_validate(data)
    except ValidationError as exc:
        raise BundleError(f"{path}: invalid model card: {exc}") from exc


def card_differences(card: ModelCard, profile: WeldTypeProfile) -> list[str]:
    """Human-readable differences between a card and the configured profile."""
    spec = card.input_spec
    diffs = []
    if card.weld_type != profile.weld_type:
        diffs.append(f"weld type: bundle {card.weld_type}, config {profile.weld_type}")
    if spec.shape != profile.roi.shape_px:
        diffs.append(f"map shape (rows, cols): bundle {spec.shape}, config {profile.roi.shape_px}")
    if abs(spec.mm_per_px - profile.roi.mm_per_px) > 1e-9:
        diffs.append(f"mm_per_px: bundle {spec.mm_per_px}, config {profile.roi.mm_per_px}")
    return diffs


def load_bundle(bundle: str | Path, profile: WeldTypeProfile | None = None) -> ModelCard:
    """Read the card, check files exist and that it matches ``profile`` (default: configured)."""
    bundle = Path(bundle)
    card = read_card(bundle)
    prof = profile if profile is not None else weld_type_profile(card.weld_type)
    diffs = card_differences(card, prof)
    if diffs:
        raise BundleMismatchError(bundle, diffs)
    missing = [m.file for m in card.members.values()
               if m.file is not None and not (bundle / m.file).is_file()]
    if "siamese" in card.members and not (bundle / GALLERY_NAME).is_file():
        missing.append(GALLERY_NAME)
    if missing:
        raise BundleError(f"{bundle}: missing bundle files: {', '.join(missing)}")
    return card


def load_gallery(bundle: str | Path) -> np.ndarray:
    """The Siamese gallery: (G, D) float32 embeddings of good references."""
    return np.load(Path(bundle) / GALLERY_NAME).astype(np.float32)
