"""``weld-train``: train per-type committees into ONNX bundles, and evaluate them.

    weld-train train --data DATASET --types 3,7 --out MODELS [--config FILE]
    weld-train calibrate --models MODELS --data DATASET [--types 3,7] [--config FILE]
    weld-train evaluate --models MODELS --data TESTSET --report DIR
    weld-train commission --scans GOODS --type N --weld-types FILE --out MODELS [--work DIR]

``commission`` teaches the product a weld type from its good scans alone: it learns the
geometry, writes the type's entry into the weld-types file (comments kept, the diff shown),
grows the training set, trains, calibrates and exports ``MODELS/typeN`` and writes a report
(``MODELS/typeN/commission/commission.md``); it refuses, naming the files, scans that are too
few, of another type or layout, defective or failed captures (``training.commission``).

``calibrate`` re-sets an existing bundle's operating point (``target_false_accept``,
``false_reject_budget`` from the config) on its training set's validation split, without
retraining.

Runs on the CPU by default and on CUDA with mixed precision when a GPU is present. Several
GPUs, data-parallel (DDP, one process per GPU, the batch split between them):

    torchrun --standalone --nproc_per_node=4 -m training.cli train --data D --types 7 --out M

or one type per GPU: ``CUDA_VISIBLE_DEVICES=i weld-train train --types T`` in parallel.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _types(text: str) -> list[int]:
    """A comma list of weld types; ``all``: every type in the dataset (an empty list)."""
    if text.strip() == "all":
        return []
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
    t.add_argument("--types", type=_types, default=None,
                   help="e.g. 3,7 or all (default: all in data)")
    t.add_argument("--out", type=Path, required=True)
    t.add_argument("--config", type=Path, default=None)
    c = sub.add_parser("calibrate", help="re-set the operating point of existing bundles")
    c.add_argument("--models", type=Path, required=True)
    c.add_argument("--data", type=Path, required=True)
    c.add_argument("--types", type=_types, default=None)
    c.add_argument("--config", type=Path, default=None)
    e = sub.add_parser("evaluate", help="evaluate bundles on a test set; write a report")
    e.add_argument("--models", type=Path, required=True)
    e.add_argument("--data", type=Path, required=True)
    e.add_argument("--report", type=Path, required=True)
    e.add_argument("--types", type=_types, default=None)
    m = sub.add_parser("commission", help="learn a weld type from its good scans, train it")
    m.add_argument("--scans", type=Path, required=True, help="folder of good scans")
    m.add_argument("--type", type=int, required=True, dest="weld_type")
    m.add_argument("--weld-types", type=Path, required=True, help="weld-types YAML to update")
    m.add_argument("--out", type=Path, required=True, help="models folder")
    m.add_argument("--work", type=Path, default=None,
                   help="working folder (default: OUT/.commission-typeN)")
    m.add_argument("--config", type=Path, default=None,
                   help="training config (default: config/training_commission.yaml)")
    m.add_argument("--reviewed", type=Path, default=None,
                   help="operators' reviews (inspector review export) to add")
    m.add_argument("--drop-bad", action="store_true",
                   help="leave out defective or unusable scans instead of refusing")
    m.add_argument("--min-scans", type=int, default=None)
    m.add_argument("--per-good", type=int, default=10,
                   help="synthetic defects per good scan (default 10)")
    m.add_argument("--workers", type=int, default=1)
    return p


def _commission(args: argparse.Namespace) -> int:
    from training.commission.learn import MIN_SCANS, CommissionError
    from training.commission.run import CommissionJob, commission

    job = CommissionJob(
        scans=args.scans, weld_type=args.weld_type, weld_types=args.weld_types, out=args.out,
        work=args.work or args.out / f".commission-type{args.weld_type}",
        min_scans=args.min_scans or MIN_SCANS, drop_bad=args.drop_bad,
        reviewed=args.reviewed, train_config=args.config, per_good=args.per_good,
        workers=args.workers)
    try:
        res = commission(job)
    except CommissionError as exc:
        print(f"weld-train commission: refused: {exc}", file=sys.stderr)
        return 2
    print(res.change.diff or f"{res.change.path}: type {args.weld_type} unchanged")
    print(f"bundle {res.bundle}\nreport {res.report}")
    print("time: " + ", ".join(f"{k} {v:.0f} s" for k, v in res.timings_s.items()))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from inspector.decision.bundle import BundleError
    from point_cloud.config import ConfigError
    from training.data import DatasetError, read_dataset, require_types

    if args.command == "commission":
        try:
            return _commission(args)
        except (DatasetError, ConfigError, BundleError) as exc:
            print(f"weld-train: {exc}", file=sys.stderr)
            return 2
    try:
        ds = read_dataset(args.data)
        types = args.types or ds.types()
        require_types(ds, types)
        if args.command == "train":
            from training import distributed
            from training.config import load_train_config
            from training.train import train_types

            cfg = load_train_config(args.config)
            distributed.init()
            for bundle in train_types(ds, types, cfg, args.out):
                if distributed.is_main():
                    print(bundle)
            distributed.shutdown()
        elif args.command == "calibrate":
            from training.config import load_train_config
            from training.train import calibrate_type

            cfg = load_train_config(args.config)
            for t in types:
                print(calibrate_type(ds, t, cfg, args.models))
        else:
            from training.evaluate import evaluate

            print(evaluate(args.models, ds, types, args.report))
    except (DatasetError, ConfigError, BundleError) as exc:
        print(f"weld-train: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
