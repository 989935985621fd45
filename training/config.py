"""Training configuration: a strict pydantic model loaded from ``config/training.yaml``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from point_cloud.config import Strict, config_dir, load_yaml_model


class InputCfg(Strict):
    net_mm_per_px: float = Field(default=0.4, gt=0, description="resolution the networks see")
    z_ref_mm: float = Field(default=2.0, gt=0, description="heights are divided by this (mm)")
    base_window_mm: float = Field(
        default=0.0, ge=0, description="nets see the relief above the opening of the map over "
        "this window (mm; wider than any bead); 0 = heights above z = 0")
    bead_band_margin_mm: float = Field(
        default=0.0, ge=0, description="with the relief: no cell within this margin of the "
        "nominal bead band counts as plate, and the base is bridged across the band from toe "
        "to toe (a bead on a step higher than its crest); 0 = no band")


class AugmentCfg(Strict):
    """Augmentations that keep heights physical (all amounts in mm or fractions)."""

    flip_x: bool = True                 # reverse the bead direction
    flip_y: bool = False                # mirror north/south (not for one-sided plate types)
    shift_px: int = Field(default=2, ge=0)      # random roll in both axes
    noise_mm: float = Field(default=0.02, ge=0)
    dropout: float = Field(default=0.02, ge=0, le=0.5)   # fraction of pixels made invalid
    gain: float = Field(default=0.05, ge=0, lt=0.5)   # height gain 1 +- gain (bead spread)
    # Shadows on good maps: this share of them loses up to ``shadow_max`` of its cells in
    # blobs (a smooth random field thresholded, as scanners' shadows fall), so that a
    # shadow over a bead's flank is not learned as a defect. Bad maps keep theirs: a blob
    # could hide the defect their label names.
    shadows: float = Field(default=0.0, ge=0, le=1)
    shadow_max: float = Field(default=0.1, ge=0, le=0.5)


class OptimCfg(Strict):
    epochs: int = Field(default=12, ge=1)
    batch_size: int = Field(default=64, ge=2)
    lr: float = Field(default=3e-3, gt=0)
    weight_decay: float = Field(default=0.02, ge=0)


class ClassifierCfg(Strict):
    backbone: str = "mobilenetv3_small_050"   # a timm model name, or "compact" (tiny CNN)
    width: int = Field(default=16, ge=4, description="base width of the compact CNN")
    optim: OptimCfg = OptimCfg()


class SiameseCfg(Strict):
    backbone: str = "mobilenetv3_small_050"
    width: int = Field(default=16, ge=4)
    embedding_dim: int = Field(default=32, ge=2)
    margin: float = Field(default=1.0, gt=0)
    gallery_size: int = Field(default=256, ge=1)
    k: int = Field(default=3, ge=1, description="score = mean distance to the k nearest references")
    optim: OptimCfg = OptimCfg()


class AnomalyCfg(Strict):
    features: Literal["classifier", "siamese"] = Field(
        default="classifier", description="trained member whose frozen encoder gives the "
                                          "patch features")
    bank_size: int = Field(default=4096, ge=16, description="memory-bank coreset size")
    position_weight: float = Field(default=2.0, ge=0,
                                   description="feature units per mm of patch position")
    max_patches: int = Field(default=200_000, ge=1000,
                             description="patches sampled before the coreset")


class ExportCfg(Strict):
    weights: Literal["fp32", "fp16"] = Field(
        default="fp32", description="fp16: ONNX weights stored at half size, computed in "
                                    "float32 (training.fp16); calibrated on the stored files")


class AcceleratorCfg(Strict):
    """How training uses a GPU when it runs on one; the CPU path ignores every key."""

    batch_factor: int = Field(
        default=4, ge=1, description="on a GPU each member's batch is this many times its "
        "configured batch_size, and its learning rate is scaled by lr_rule")
    lr_rule: Literal["sqrt", "linear", "none"] = Field(
        default="sqrt", description="learning-rate scale for the larger batch: "
        "sqrt(batch_factor), batch_factor or 1")
    bf16: bool = Field(default=True, description="bf16 autocast (fp16 with a grad scaler "
                                                 "where the GPU lacks bf16)")
    channels_last: bool = Field(default=True, description="NHWC weights and activations")
    data_on_device: bool = Field(default=True, description="the training maps and their "
                                 "augmentation live on the GPU (no copy per step)")


class TrainConfig(Strict):
    seed: int = 0
    val_fraction: float = Field(default=0.2, gt=0, lt=1)
    target_false_accept: float = Field(default=0.001, gt=0, lt=1)
    false_reject_budget: float = Field(
        default=0.005, ge=0, lt=1,
        description="validation false reject the threshold may spend below the target-FA point")
    calibrate_with_gauge: bool = Field(
        default=True, description="set the committee's weights and operating point on the "
        "line's decision: validation maps the norm gauge fails count as failed")
    gauge_member: bool = Field(
        default=True, description="the norm gauge's margin (its largest measured exceedance, "
        "(value - limit) / limit) is a committee member beside the networks")
    threads: int = Field(default=0, ge=0, description="torch CPU threads; 0 = torch default")
    input: InputCfg = InputCfg()
    augment: AugmentCfg = AugmentCfg()
    classifier: ClassifierCfg = ClassifierCfg()
    siamese: SiameseCfg = SiameseCfg()
    anomaly: AnomalyCfg = AnomalyCfg()
    export: ExportCfg = ExportCfg()
    accelerator: AcceleratorCfg = AcceleratorCfg()
    type_overrides: dict[int, dict[str, Any]] = Field(
        default_factory=dict, description="per weld type, the keys that differ from the rest, "
        "e.g. the square kind's relief input: {7: {input: {base_window_mm: 9.0}}}; several "
        "types then train in one run (weld-train train --types all)")

    @model_validator(mode="after")
    def _overrides_are_valid(self) -> TrainConfig:
        for t in self.type_overrides:     # a wrong key is an error when the file is read
            self.for_type(t)
        return self

    def for_type(self, weld_type: int) -> TrainConfig:
        """This config with ``weld_type``'s overrides merged in (checked like the rest)."""
        over = self.type_overrides.get(weld_type)
        if not over:
            return self
        merged = _merge(self.model_dump(mode="json"), over)
        merged["type_overrides"] = {}
        return TrainConfig.model_validate(merged)


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``over``'s keys replaced, nested mappings merged key by key."""
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def load_train_config(path: str | Path | None = None) -> TrainConfig:
    """Load the training config (default ``config/training.yaml``)."""
    return load_yaml_model(Path(path) if path else config_dir() / "training.yaml", TrainConfig)
