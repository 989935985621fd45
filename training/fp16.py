"""Half-size bundles: ONNX weights stored as float16, computed at their own precision.

Every large float32 initializer is replaced by its float16 copy and a ``Cast`` back to
float32 at the graph's start, so the file halves while onnxruntime still computes in
float32 (it folds the casts once, at session start). The rounding (relative 2^-11) moves
outputs by about 1e-3 of their scale; the committee is calibrated on the converted files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

MIN_ELEMENTS = 256
"""Smaller tensors (biases, shapes, scalars) stay as they are: they cost nothing."""
WIDE = (TensorProto.FLOAT, TensorProto.DOUBLE)
"""Stored as float16 and cast back to their own type (the anomaly bank is float64)."""


def store_weights_fp16(path: Path, min_elements: int = MIN_ELEMENTS) -> int:
    """Rewrite ``path`` in place with its large float32 weights as float16; bytes saved."""
    before = path.stat().st_size
    model = onnx.load(str(path))
    graph = model.graph
    casts = []
    for init in graph.initializer:
        kind = init.data_type
        if kind not in WIDE or int(np.prod(init.dims)) < min_elements:
            continue
        name = init.name
        half = numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16),
                                       f"{name}__fp16")
        init.CopyFrom(half)
        casts.append(helper.make_node("Cast", [half.name], [name], to=kind,
                                      name=f"{name}__widen"))
    for node in graph.node:   # large Constant nodes too (the anomaly member's memory bank)
        attr = next((a for a in node.attribute if a.name == "value"), None)
        if node.op_type != "Constant" or attr is None or attr.t.data_type not in WIDE \
                or int(np.prod(attr.t.dims)) < min_elements:
            continue
        kind, out = attr.t.data_type, node.output[0]
        attr.t.CopyFrom(numpy_helper.from_array(
            numpy_helper.to_array(attr.t).astype(np.float16), f"{out}__fp16"))
        node.output[0] = f"{out}__fp16"
        casts.append(helper.make_node("Cast", [node.output[0]], [out], to=kind,
                                      name=f"{out}__widen"))
    consts = [n for n in graph.node if n.op_type == "Constant"]
    rest = [n for n in graph.node if n.op_type != "Constant"]
    del graph.node[:]
    graph.node.extend([*consts, *casts, *rest])   # topological: constants, casts, the rest
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return before - path.stat().st_size
