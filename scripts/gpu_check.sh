#!/usr/bin/env bash
# The GPU check (issue 15): one command on a GPU machine.
#
#   bash scripts/gpu_check.sh --fetch-wheels   # here, where pip reaches the index: .whl/
#   bash scripts/gpu_check.sh [--quick|--line] # there (Python 3.12, torch, timm, onnx,
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
#      committee's wall time, the issue's <= 60 s target (under 5 minutes in all);
#   4. with --line, the whole line instead: the nine types generated (LINE_SOURCES source
#      welds each, 6 defects per weld, the whole variation space), trained and calibrated,
#      type 3 alone first (the full type of step 3), then the other eight in LANES processes
#      sharing the GPU (weld-train train --types a,b,...: one process reads the next type's
#      maps while it trains the current one). The bundles come back as tar files beside the
#      JSON; DEADLINE (s, default 540) stops training in time to write them.
#   5. bench/bench_train_step.py: a training step's throughput per way of running it.
# Without a GPU it runs on the CPU (a check of the script itself; --quick keeps it short;
# LINE_SOURCES=6 LINE_CONFIG=config/training_gpu_check.yaml keeps --line short).
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
MODE=${1:-full}
RESULTS=$(realpath -m "${OUT:-bench/results}")
mkdir -p "$RESULTS"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1 PYTHONPATH="$SITE:$PWD${PYTHONPATH:+:$PYTHONPATH}"
DEADLINE=${DEADLINE:-540}
LANES=${LANES:-2}
LINE_SOURCES=${LINE_SOURCES:-420}
LINE_CONFIG=${LINE_CONFIG:-config/training_line.yaml}
LINE_TYPES=(3 7 2 4 5 8 9 10 11)
START=$(date +%s)

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
left() { echo $(( DEADLINE - ($(date +%s) - START) )); }
gen() {  # types sources per_good seed out
  "$PY" -m synth_defects.cli generate --simulate "$2" --types "$1" --per-good "$3" \
    --seed "$4" --vary --out "$5" --workers "$(nproc)" >/dev/null
}
train() {  # data config out types [log]
  local log=${5:-$3.log} t
  t=$(left)
  (( t > 0 )) || { echo "gpu_check: no time left to train $4 (DEADLINE)" >&2; return 1; }
  timeout "$t" "$PY" -m training.cli train --data "$1" --types "$4" --out "$3" \
    --config "$2" >"$log" 2>&1 || { echo "gpu_check: training $4 stopped (rc $?)" >&2;
                                      tail -20 "$log" >&2; return 1; }
}

t0=$(now); gen 3 24 2 1 "$WORK/small"; t1=$(now)
train "$WORK/small" config/training_gpu_check.yaml "$WORK/small-models" 3; t2=$(now)
gen 3 8 2 7 "$WORK/small-test"
"$PY" -m training.cli evaluate --models "$WORK/small-models" --data "$WORK/small-test" \
  --types 3 --report "$WORK/small-report" >/dev/null 2>&1; t3=$(now)
a=$t3 b=$t3 c=$t3 line_end=$t3
if [[ $MODE == full ]]; then
  a=$(now); gen 3 420 6 1 "$WORK/full"; b=$(now)
  train "$WORK/full" config/training_line.yaml "$WORK/full-models" 3; c=$(now)
elif [[ $MODE == --line ]]; then
  # Each lane a process of its own; CPU threads shared out between the lanes.
  cfg="$WORK/line.yaml"
  cp "$LINE_CONFIG" "$cfg"
  echo "threads: $(( $(nproc) / LANES > 0 ? $(nproc) / LANES : 1 ))" >> "$cfg"
  a=$(now)
  gen "$(IFS=,; echo "${LINE_TYPES[*]}")" "$LINE_SOURCES" 6 1 "$WORK/line"; b=$(now)
  train "$WORK/line" "$LINE_CONFIG" "$WORK/line-models" 3 "$RESULTS/train-t3.log" || true
  c=$(now)
  rest=("${LINE_TYPES[@]:1}")
  pids=()
  for ((l = 0; l < LANES; l++)); do
    mine=()
    for ((i = l; i < ${#rest[@]}; i += LANES)); do mine+=("${rest[i]}"); done
    (( ${#mine[@]} )) || continue
    types=$(IFS=,; echo "${mine[*]}")
    train "$WORK/line" "$cfg" "$WORK/line-models" "$types" "$RESULTS/train-lane$l.log" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || true; done
  line_end=$(now)
  mkdir -p "$RESULTS"
  (cd "$WORK/line-models" && tar cf "$RESULTS/bundles-a.tar" $(ls -d type3 type7 type2 type4 2>/dev/null) \
     && tar cf "$RESULTS/bundles-b.tar" $(ls -d type5 type8 type9 type10 type11 2>/dev/null)) || true
fi
if (( $(left) > 45 )); then
  timeout "$(( $(left) - 15 ))" "$PY" bench/bench_train_step.py --out "$WORK/step.json" \
    > "$WORK/step.log" 2>&1 || true
fi
mkdir -p "$RESULTS"
"$PY" - "$WORK" "$RESULTS/gpu_check.json" "$installed" "$t0" "$t1" "$t2" "$t3" "$a" "$b" "$c" \
  "$line_end" "$MODE" <<'PYEOF'
import json, platform, sys
from pathlib import Path
import torch
work, out, installed = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3].split()
t0, t1, t2, t3, a, b, c, line_end = (float(v) for v in sys.argv[4:12])
mode = sys.argv[12]


def card(root: Path, t: int) -> dict | None:
    f = root / f"type{t}" / "model.json"
    return json.loads(f.read_text()) if f.exists() else None


small = card(work / "small-models", 3)
dev = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
report = work / "small-report" / "report.md"
line = next((l for l in (report.read_text().splitlines() if report.exists() else [])
             if l.startswith("| committee + gauge")), "")
result = {
    "python": platform.python_version(), "torch": torch.__version__, "device": dev,
    "trained_on": small and small["training"]["device"], "installed_from_wheels": installed,
    "small": {"generate_s": round(t1 - t0, 1), "train_s": round(t2 - t1, 1),
              "evaluate_s": round(t3 - t2, 1),
              "onnx_parity_max_abs": small and {k: m["metrics"]["onnx_parity_max_abs"]
                                                for k, m in small["members"].items()},
              "line_decision_test": line},
}
if mode == "full":
    result["full_type"] = {"maps": 5040, "generate_s": round(b - a, 1),
                           "train_s": round(c - b, 1), "target_train_s": 60}
if mode == "--line":
    types = {}
    for t in (2, 3, 4, 5, 7, 8, 9, 10, 11):
        cd = card(work / "line-models", t)
        if cd is not None:
            tr = cd["training"]
            types[t] = {"n_train": tr["n_train"], "n_val": tr["n_val"],
                        "seconds": tr["seconds"], "seconds_fitting": tr.get("seconds_fitting"),
                        "accelerator": tr.get("accelerator"),
                        "committee_val": cd["committee"]["metrics"].get("val")}
    result["line"] = {"generate_s": round(b - a, 1), "type3_alone_s": round(c - b, 1),
                      "other_eight_s": round(line_end - c, 1),
                      "generate_train_calibrate_s": round(line_end - a, 1),
                      "target_s": 600, "types_done": sorted(types), "types": types}
step = work / "step.json"
if step.exists():
    result["train_step"] = json.loads(step.read_text())["rows"]
out.write_text(json.dumps(result, indent=2) + "\n")
print(json.dumps(result, indent=2))
PYEOF
