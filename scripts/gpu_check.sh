#!/usr/bin/env bash
# The GPU check (issue 15): one command on a GPU machine, under 5 minutes.
#
#   bash scripts/gpu_check.sh --fetch-wheels   # here, where pip reaches the index: .whl/
#   bash scripts/gpu_check.sh [--quick]        # there (Python 3.12, torch, timm, onnx,
#                                              # onnxruntime; no network), .whl/ carried along
#
# There it installs the Python packages it lacks from the wheels in .whl/ (into
# $GPU_CHECK_SITE, default /tmp/gpu-check-site, never into the system), then, each step
# timed into $OUT/gpu_check.json (else bench/results/gpu_check.json):
#   1. the environment: python, torch, the device torch trains on, what was installed;
#   2. a small set end to end: 24 type-3 source welds (synth-defects generate), a committee
#      of compact nets (config/training_gpu_check.yaml): every member on the device,
#      validation scoring, the anomaly bank, calibration, ONNX export and parity; then
#      weld-train evaluate on 8 other source welds;
#   3. unless --quick, a full type: 420 source welds of type 3 x 6 defects (5,040 maps) on
#      every core, trained with the starters' config (config/training_line.yaml): the
#      committee's wall time, the issue's <= 60 s target.
# Without a GPU it runs on the CPU (a check of the script itself; --quick keeps it short).
set -euo pipefail
cd "$(dirname "$0")/.."
WHEELS=.whl
SITE=${GPU_CHECK_SITE:-/tmp/gpu-check-site}
PY=${PYTHON:-python3}
NEEDS="pydantic==2.14.4 pydantic-core==2.50.5 annotated-types==0.8.0 typing-inspection==0.4.5"

if [[ "${1:-}" == "--fetch-wheels" ]]; then
  mkdir -p "$WHEELS"
  grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
  # shellcheck disable=SC2086
  "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 -d "$WHEELS" $NEEDS
  ls -la "$WHEELS"
  exit 0
fi
QUICK=0
[[ "${1:-}" == "--quick" ]] && QUICK=1
RESULTS=${OUT:-bench/results}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1 PYTHONPATH="$SITE:$PWD${PYTHONPATH:+:$PYTHONPATH}"

installed=""
if ! "$PY" -c "import pydantic, yaml, cv2, tqdm, torch, onnx, onnxruntime" 2>/dev/null; then
  if ! compgen -G "$WHEELS/*.whl" >/dev/null; then
    echo "gpu_check: missing Python packages and no wheels in $WHEELS/;" \
         "run 'bash scripts/gpu_check.sh --fetch-wheels' where pip reaches the index" >&2
    exit 2
  fi
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target "$SITE" "$WHEELS"/*.whl
  installed=$(cd "$WHEELS" && ls -1 ./*.whl | tr '\n' ' ')
fi

now() { date +%s.%N; }
gen() {  # types sources per_good seed out
  "$PY" -m synth_defects.cli generate --simulate "$2" --types "$1" --per-good "$3" \
    --seed "$4" --vary --out "$5" --workers "$(nproc)" >/dev/null
}
train() {  # data config out
  "$PY" -m training.cli train --data "$1" --types 3 --out "$3" --config "$2" >"$3.log" 2>&1 \
    || { tail -20 "$3.log" >&2; exit 1; }
}

t0=$(now); gen 3 24 2 1 "$WORK/small"; t1=$(now)
train "$WORK/small" config/training_gpu_check.yaml "$WORK/small-models"; t2=$(now)
gen 3 8 2 7 "$WORK/small-test"
"$PY" -m training.cli evaluate --models "$WORK/small-models" --data "$WORK/small-test" \
  --types 3 --report "$WORK/small-report" >/dev/null 2>&1; t3=$(now)
a=$t3 b=$t3 c=$t3
if [[ $QUICK == 0 ]]; then
  a=$(now); gen 3 420 6 1 "$WORK/full"; b=$(now)
  train "$WORK/full" config/training_line.yaml "$WORK/full-models"; c=$(now)
fi
mkdir -p "$RESULTS"
"$PY" - "$WORK" "$RESULTS/gpu_check.json" "$installed" "$t0" "$t1" "$t2" "$t3" "$a" "$b" "$c" \
  <<'PYEOF'
import json, platform, sys
from pathlib import Path
import torch
work, out, installed = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3].split()
t0, t1, t2, t3, a, b, c = (float(v) for v in sys.argv[4:11])
small_gen, small_train, small_eval = t1 - t0, t2 - t1, t3 - t2
full_gen, full_train = (b - a, c - b) if c > b else (None, None)
card = json.loads((work / "small-models" / "type3" / "model.json").read_text())
dev = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
report = (work / "small-report" / "report.md").read_text()
line = next((l for l in report.splitlines() if l.startswith("| committee + gauge")), "")
result = {
    "python": platform.python_version(), "torch": torch.__version__, "device": dev,
    "trained_on": card["training"]["device"], "installed_from_wheels": installed,
    "small": {"generate_s": round(small_gen, 1), "train_s": round(small_train, 1),
              "evaluate_s": round(small_eval, 1),
              "onnx_parity_max_abs": {k: m["metrics"]["onnx_parity_max_abs"]
                                      for k, m in card["members"].items()},
              "line_decision_test": line},
    "full_type": None if full_train is None else {
        "maps": 5040, "generate_s": round(full_gen, 1), "train_s": round(full_train, 1),
        "target_train_s": 60},
}
out.write_text(json.dumps(result, indent=2) + "\n")
print(json.dumps(result, indent=2))
PYEOF
