"""Decision core: height map -> model input -> ONNX committee -> Verdict.

Runtime code: numpy, opencv and onnxruntime only (never torch, timm or ``training``).
"""
