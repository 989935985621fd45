#!/usr/bin/env bash
# The starter bundles (models/typeN) for the nine weld types, as committed, and their
# leave-one-out test sets. Each type trains on SOURCES simulated good welds drawn from the
# contract's whole variation space with one setting of every axis held out (HOLD_OUT), and is
# then tested on welds of every setting (weld-train evaluate marks the held-out ones).
#   TYPES=3,7 SOURCES=200 bash scripts/train_starters.sh     # ~7 min per type on 2 cores
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1
TYPES=${TYPES:-2,3,4,5,7,8,9,10,11}
SOURCES=${SOURCES:-200}
TEST_SOURCES=${TEST_SOURCES:-60}
DATA=${DATA:-/work/data/starters}
MODELS=${MODELS:-models}
REPORT=${REPORT:-$DATA/report}
HOLD_OUT=${HOLD_OUT-plates=part,step=high,patch=raised,tilt=rising,bead=flat,spacing=anisotropic,noise=high,shadow=north}
BIN=.venv/bin
for t in ${TYPES//,/ }; do
  $BIN/synth-defects generate --simulate "$SOURCES" --types "$t" --per-good 6 --seed 1 --vary \
      --hold-out "$HOLD_OUT" --out "$DATA/train-t$t" --workers 2
  $BIN/weld-train train --data "$DATA/train-t$t" --types "$t" --out "$MODELS" \
      --config config/training_line.yaml
  $BIN/synth-defects generate --simulate "$TEST_SOURCES" --types "$t" --per-good 6 --seed 2 \
      --vary --out "$DATA/test-t$t" --workers 2
  $BIN/weld-train evaluate --models "$MODELS" --data "$DATA/test-t$t" --types "$t" \
      --report "$REPORT/type$t"
done
