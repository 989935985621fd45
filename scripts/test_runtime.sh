#!/usr/bin/env bash
# CI step: the daemon's tests in a runtime-only venv, .venv-runtime (what a line PC gets from
# `scripts/setup.sh --runtime`: no torch, no timm), so that a runtime import of the training
# stack fails here even though .venv has it. .venv is not touched.
#   bash scripts/test_runtime.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
export VENV=.venv-runtime HF_HUB_OFFLINE=1
start=$SECONDS
bash scripts/setup.sh --runtime
"$VENV/bin/python" - <<'PY'
import importlib.util
import sys

found = [m for m in ("torch", "torchvision", "timm") if importlib.util.find_spec(m)]
if found:
    sys.exit(f"test_runtime: {', '.join(found)} importable in the runtime venv")
print("test_runtime: torch, torchvision, timm are not importable (as on a line PC)")
PY
# Not the postgres-marked tests: the PostgreSQL driver (psycopg) is in the dev extra only.
"$VENV/bin/python" -m pytest -q -p no:cacheprovider -m "not postgres" \
  tests/inspector/test_daemon.py tests/inspector/test_daemon_process.py \
  tests/inspector/test_intake.py tests/inspector/test_store.py \
  tests/inspector/test_systemd_seccomp.py tests/inspector/test_daemon_fuzz.py "$@"
echo "test_runtime: ok in $((SECONDS - start)) s"
