"""Classifier member: P(bad) and a defect-class guess over ``synth_defects.classes``.

Exported outputs: ``bad_logit`` (B,) = logsumexp(bad-class logits) - logsumexp(good-class
logits), i.e. logit P(bad); ``class_probs`` (B, C) softmax over ``ALL_CLASSES``.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as nnf
from torch import nn

from inspector.decision.model_input import InputSpec
from synth_defects.classes import ALL_CLASSES, GOOD_CLASSES
from training.accel import Accel
from training.config import AugmentCfg, ClassifierCfg
from training.data import MapSet, class_weights
from training.loop import batched_scores, device_of, fit
from training.nets import Preprocess, make_encoder

N_GOOD = len(GOOD_CLASSES)  # ALL_CLASSES = GOOD_CLASSES + BAD_CLASSES


class ClassifierNet(nn.Module):
    def __init__(self, spec: InputSpec, cfg: ClassifierCfg) -> None:
        super().__init__()
        self.pre = Preprocess(spec)
        self.encoder = make_encoder(cfg.backbone, len(ALL_CLASSES), cfg.width)

    def logits(self, z: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.encoder(self.pre(z, valid))
        return out

    def forward(self, z: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        lg = self.logits(z, valid)
        bad_logit = torch.logsumexp(lg[:, N_GOOD:], 1) - torch.logsumexp(lg[:, :N_GOOD], 1)
        return bad_logit, torch.softmax(lg, 1)


def bad_logits(model: nn.Module, ms: MapSet) -> np.ndarray:
    return batched_scores(lambda z, v: model(z, v)[0], ms, device=device_of(model))


def train_classifier(spec: InputSpec, cfg: ClassifierCfg, aug: AugmentCfg, train: MapSet,
                     val: MapSet, seed: int,
                     accel: Accel) -> tuple[ClassifierNet, dict[str, float]]:
    """Class-balanced cross-entropy over all classes; best epoch by validation false-accept.
    The model stays on ``accel``'s device."""
    device = accel.device
    torch.manual_seed(seed)
    model = ClassifierNet(spec, cfg).to(device)
    weights = class_weights(train.cls).to(device)
    targets = torch.from_numpy(train.cls).to(device)

    def loss_fn(_: nn.Module, z: torch.Tensor, v: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        logits = model.logits(z, v).float()
        return nnf.cross_entropy(logits, targets[idx.to(device)], weight=weights)

    info = fit(model, train, val, loss_fn, bad_logits, cfg.optim, aug, seed, "classifier", accel)
    return model, info
