"""ONNX export of the members (opset 17, dynamic batch) and the torch-vs-ONNX parity check."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from torch import nn

from inspector.decision.model_input import INPUT_NAMES, InputSpec

OPSET = 17
OUTPUTS: dict[str, tuple[str, ...]] = {
    "classifier": ("bad_logit", "class_probs"),
    "siamese": ("embedding",),
    "anomaly": ("score", "anomaly_map"),
}


def export_member(model: nn.Module, name: str, spec: InputSpec, path: Path) -> Path:
    """Write ``model`` (inputs ``z``, ``valid`` at the native map size) to ``path``."""
    model = model.cpu().eval()
    z = torch.zeros(2, 1, spec.rows, spec.cols)
    v = torch.ones(2, 1, spec.rows, spec.cols)
    outs = OUTPUTS[name]
    axes = {n: {0: "batch"} for n in (*INPUT_NAMES, *outs)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (z, v), str(path), input_names=list(INPUT_NAMES),
                          output_names=list(outs), dynamic_axes=axes, opset_version=OPSET,
                          dynamo=False)
    return path


def torch_outputs(model: nn.Module, z: np.ndarray, v: np.ndarray) -> list[np.ndarray]:
    with torch.inference_mode():
        out = model.cpu().eval()(torch.from_numpy(z), torch.from_numpy(v))
    outs = out if isinstance(out, tuple) else (out,)
    return [o.numpy() for o in outs]


def parity(model: nn.Module, path: Path, z: np.ndarray, v: np.ndarray) -> float:
    """Largest |torch - onnxruntime| over every output for the batch (z, v)."""
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"z": z.astype(np.float32), "valid": v.astype(np.float32)})
    ref = torch_outputs(model, z.astype(np.float32), v.astype(np.float32))
    return max(float(np.abs(a - b).max()) for a, b in zip(ref, got, strict=True))
