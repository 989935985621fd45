"""``synth-defects``: generate a dataset of synthetic defects, preview it, count it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from point_cloud.config import ConfigError, parse_weld_types
from point_cloud.errors import ScanError
from synth_defects.dataset import DatasetError
from synth_defects.generate import SELECTABLE, ConfigValueError, GenerateConfig, generate_dataset
from synth_defects.sources import SourceError


def _ints(text: str) -> tuple[int, ...]:
    """A comma list (or ``all``) of weld types configured in the weld-types file."""
    try:
        return parse_weld_types(text)
    except ValueError as exc:            # ConfigError too: an unreadable weld-types file
        raise argparse.ArgumentTypeError(str(exc)) from None


def _defects(text: str) -> tuple[str, ...]:
    if text.strip() == "all":
        return SELECTABLE
    names = tuple(t.strip() for t in text.split(",") if t.strip())
    unknown = [n for n in names if n not in SELECTABLE]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown defect {', '.join(unknown)}; expected 'all' or "
                                         f"names from {', '.join(SELECTABLE)}")
    return names


def _balance(text: str) -> tuple[int, int]:
    try:
        g, b = (int(p) for p in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected GOOD:BAD (e.g. 1:2), found {text!r}") from None
    return g, b


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="synth-defects", description=__doc__)
    sub = ap.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="generate a dataset from good welds")
    src = gen.add_mutually_exclusive_group(required=True)
    src.add_argument("--from", dest="from_dir", type=Path, help="folder of height maps or scans")
    src.add_argument("--simulate", type=int, metavar="N", help="N simulated good welds per type")
    gen.add_argument("--types", type=_ints, required=True, help="e.g. 2,3,7")
    gen.add_argument("--per-good", type=int, required=True, metavar="K",
                     help="defective samples per good source weld")
    gen.add_argument("--defects", type=_defects, default=SELECTABLE, help="all or a list")
    gen.add_argument("--balance", type=_balance, default=(1, 1), metavar="GOOD:BAD",
                     help="good samples per bad ones (goods: the plain source, augmented "
                          "copies and acceptable cuts); default 1:1")
    gen.add_argument("--seed", type=int, required=True)
    gen.add_argument("--out", type=Path, required=True)
    gen.add_argument("--workers", type=int, default=1)
    gen.add_argument("--points", type=int, default=300_000, help="points per simulated weld")
    gen.add_argument("--near-limit", action="store_true",
                     help="also draw sizes in the margin band next to the limits")
    gen.add_argument("--vary", action="store_true",
                     help="draw simulated welds from the contract's whole variation space "
                          "(point_cloud.variation: plates, steps, bead shape, spacing, noise, "
                          "shadows)")
    gen.add_argument("--hold-out", default="", metavar="AXIS=SETTING,...",
                     help="with --vary: never draw these settings (train for leave-one-out)")
    gen.add_argument("--only", default="", metavar="AXIS=SETTING,...",
                     help="with --vary: always draw these settings (a held-out test set)")
    prev = sub.add_parser("preview", help="contact sheet of type x defect")
    prev.add_argument("dataset", type=Path)
    prev.add_argument("--out", type=Path, required=True)
    st = sub.add_parser("stats", help="counts per type, label and defect")
    st.add_argument("dataset", type=Path)
    return ap


def _generate(args: argparse.Namespace) -> int:
    cfg = GenerateConfig(types=args.types, per_good=args.per_good, seed=args.seed,
                         simulate=args.simulate,
                         from_dir=str(args.from_dir.resolve()) if args.from_dir else None,
                         defects=args.defects, balance=args.balance, near_limit=args.near_limit,
                         points=args.points, vary=args.vary,
                         hold_out=tuple(t for t in args.hold_out.split(",") if t.strip()),
                         only=tuple(t for t in args.only.split(",") if t.strip()))
    s = generate_dataset(cfg, args.out, workers=args.workers)
    print(f"{s.root}: {s.samples} samples ({s.written} written, {s.kept} kept), "
          f"fingerprint {s.fingerprint[:12]}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "generate":
            return _generate(args)
        if args.command == "preview":
            from synth_defects.preview import write_contact_sheet

            print(write_contact_sheet(args.dataset, args.out))
            return 0
        from synth_defects.stats import format_stats

        print(format_stats(args.dataset))
        return 0
    except (ConfigValueError, DatasetError, SourceError, ScanError, ConfigError) as exc:
        print(f"synth-defects: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
