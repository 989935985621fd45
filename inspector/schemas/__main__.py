"""``python -m inspector.schemas [--check]``: write ``result.schema.json`` from the model.

With ``--check``, write nothing and exit 1 when the shipped file differs from the model's.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from inspector.service.messages import result_schema_text

SHIPPED = Path(__file__).with_name("result.schema.json")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m inspector.schemas", description=__doc__)
    ap.add_argument("--check", action="store_true", help="only compare, exit 1 on a difference")
    args = ap.parse_args(argv)
    text = result_schema_text()
    if args.check:
        same = SHIPPED.read_text() == text
        print(f"{SHIPPED}: {'up to date' if same else 'differs from ResultMessage'}")
        return 0 if same else 1
    SHIPPED.write_text(text)
    print(f"wrote {SHIPPED}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
