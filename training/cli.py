"""``weld-train``: train per-type committees into ONNX bundles, and evaluate them.

    weld-train train --data DATASET --types 3,7 --out MODELS [--config FILE]
    weld-train evaluate --models MODELS --data TESTSET --report DIR

Runs on the CPU by default and on CUDA with mixed precision when a GPU is present. Several
GPUs: run one type per GPU (``CUDA_VISIBLE_DEVICES=i weld-train train --types T``); the
loop itself is single-process (DDP under torchrun is not wired in yet).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _types(text: str) -> list[int]:
    try:
        return [int(t) for t in text.split(",") if t.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated weld types, got {text!r}") from exc


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="weld-train", description=__doc__.split("\n")[0])
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train committees and write one bundle per type")
    t.add_argument("--data", type=Path, required=True)
    t.add_argument("--types", type=_types, default=None, help="e.g. 3,7 (default: all in data)")
    t.add_argument("--out", type=Path, required=True)
    t.add_argument("--config", type=Path, default=None)
    e = sub.add_parser("evaluate", help="evaluate bundles on a test set; write a report")
    e.add_argument("--models", type=Path, required=True)
    e.add_argument("--data", type=Path, required=True)
    e.add_argument("--report", type=Path, required=True)
    e.add_argument("--types", type=_types, default=None)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from point_cloud.config import ConfigError
    from training.data import DatasetError, read_dataset, require_types

    try:
        ds = read_dataset(args.data)
        types = args.types or ds.types()
        require_types(ds, types)
        if args.command == "train":
            from training.config import load_train_config
            from training.train import train_type

            cfg = load_train_config(args.config)
            for t in types:
                print(train_type(ds, t, cfg, args.out))
        else:
            from inspector.decision.bundle import BundleError
            from training.evaluate import evaluate

            try:
                print(evaluate(args.models, ds, types, args.report))
            except BundleError as exc:
                print(f"weld-train: {exc}", file=sys.stderr)
                return 2
    except (DatasetError, ConfigError) as exc:
        print(f"weld-train: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
