"""How a training run uses its device, resolved once from the config and the device.

On the CPU every option is off and the training loop runs as it always did: the same
random draws, the same batches, the same figures. On a GPU (``config.accelerator``): the
maps live on the device and augmentation draws its random numbers there, batches are
``batch_factor`` times larger with the learning rate scaled, bf16 autocast and
channels_last. ``forced`` applies the GPU options on any device (the tests run that path on
the CPU).
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from training.config import AcceleratorCfg, OptimCfg


@dataclass(frozen=True)
class Accel:
    """The effective options of one training run on ``device``."""

    device: torch.device
    data_on_device: bool = False
    amp_dtype: torch.dtype | None = None
    channels_last: bool = False
    batch_factor: int = 1
    lr_scale: float = 1.0

    @classmethod
    def for_device(cls, device: torch.device, cfg: AcceleratorCfg) -> Accel:
        """The CPU path (every option off) unless ``device`` is a GPU."""
        return cls.forced(device, cfg) if device.type == "cuda" else cls(device)

    @classmethod
    def forced(cls, device: torch.device, cfg: AcceleratorCfg) -> Accel:
        """``cfg``'s options on ``device``, whatever it is."""
        gpu = device.type == "cuda"
        amp: torch.dtype | None = None                 # no fp16 autocast off a GPU
        if cfg.bf16 and (not gpu or torch.cuda.is_bf16_supported()):
            amp = torch.bfloat16
        elif gpu:
            amp = torch.float16                        # with a grad scaler
        scale = {"sqrt": math.sqrt(cfg.batch_factor), "linear": float(cfg.batch_factor),
                 "none": 1.0}[cfg.lr_rule]
        return cls(device, cfg.data_on_device, amp, cfg.channels_last, cfg.batch_factor, scale)

    def optim(self, optim: OptimCfg) -> OptimCfg:
        """A member's optimiser settings at this run's batch size and learning rate."""
        return optim.model_copy(update={"batch_size": optim.batch_size * self.batch_factor,
                                        "lr": optim.lr * self.lr_scale})

    @property
    def grad_scaler(self) -> bool:
        """fp16 autocast needs loss scaling; bf16 and fp32 do not."""
        return self.amp_dtype is torch.float16

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def prepare(self, model: nn.Module) -> nn.Module:
        """``model`` in this run's memory format (in place)."""
        if self.channels_last:
            model.to(memory_format=torch.channels_last)
        return model

    def generator(self, seed: int) -> torch.Generator:
        """A generator of augmentation draws where the maps are augmented."""
        dev = self.device if self.data_on_device else torch.device("cpu")
        return torch.Generator(device=dev).manual_seed(seed)

    def as_dict(self) -> dict[str, Any]:
        """What the model card records."""
        return {"device": str(self.device), "data_on_device": self.data_on_device,
                "autocast": None if self.amp_dtype is None else str(self.amp_dtype),
                "channels_last": self.channels_last, "batch_factor": self.batch_factor,
                "lr_scale": round(self.lr_scale, 4)}
