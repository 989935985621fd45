#!/usr/bin/env bash
# Commissioning a layout the defaults do not have, end to end, timed, then tested on
# independent scans of that layout.
#   1. SCANS good scans (default 300) of a new weld type 12: a 30 mm lap fillet, 7 mm wide,
#      2.4 mm high (bench/new_layout.py), written as PLY files;
#   2. weld-train commission (its default config/training_commission.yaml, 2 workers);
#   3. TEST_SCANS (default 60) other good scans of the layout, their synthetic defects
#      (synth-defects generate --from, seed 2), weld-train evaluate: false accept and false
#      reject of the line's decision (committee + gauge) on welds it never saw.
#   SCANS=300 bash bench/commission_e2e.sh          # ~15 min on 2 cores
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1
SCANS=${SCANS:-300}
TEST_SCANS=${TEST_SCANS:-60}
OUT=${OUT:-/tmp/commission-e2e}
BIN=.venv/bin
rm -rf "$OUT" && mkdir -p "$OUT"
cp config/weld_types.yaml "$OUT/weld_types.yaml"
$BIN/python bench/new_layout.py "$OUT/goods" "$SCANS" 0
$BIN/python bench/new_layout.py "$OUT/independent" "$TEST_SCANS" 100000
start=$(date +%s)
$BIN/weld-train commission --scans "$OUT/goods" --type 12 --weld-types "$OUT/weld_types.yaml" \
    --out "$OUT/models" --workers 2 2>&1 \
    | grep -v "it/s\]\|weld/s\]\|scan/s\]" | tail -20
echo "commission of $SCANS scans: $(( $(date +%s) - start )) s"
export WELD_TYPES_FILE="$OUT/weld_types.yaml"
$BIN/synth-defects generate --from "$OUT/independent" --types 12 --per-good 6 --seed 2 \
    --out "$OUT/test" --workers 2 2>/dev/null | tail -1
$BIN/weld-train evaluate --models "$OUT/models" --data "$OUT/test" --types 12 \
    --report "$OUT/report" 2>/dev/null | tail -1
grep -A7 "^| model" "$OUT/report/report.md"
