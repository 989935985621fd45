#!/usr/bin/env bash
# One-shot set-up for a fresh Debian machine: system packages, a venv in .venv, the project
# with its runtime, dev and training extras. Idempotent; safe to run again.
#   bash scripts/setup.sh            # runtime + dev + train (CPU onnxruntime)
#   bash scripts/setup.sh --runtime  # line PC: runtime only (no torch) + the daemon tests' tools
#   VENV=.venv-runtime bash scripts/setup.sh --runtime   # the same in another venv (CI:
#                                    # scripts/test_runtime.sh); .venv stays as it is
#   bash scripts/setup.sh --gpu      # runtime with onnxruntime-gpu instead of onnxruntime
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-full}"
VENV="${VENV:-.venv}"
export HF_HUB_OFFLINE=1 PIP_DISABLE_PIP_VERSION_CHECK=1

need_apt=()
for pkg in libusb-1.0-0 mosquitto systemd libseccomp2; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ "$mode" = "full" ]; then
  for pkg in chromium postgresql; do dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg"); done
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: apt-get install ${need_apt[*]}"
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    "${need_apt[@]}" >/tmp/weld-inspector-apt.log 2>&1 \
    || { tail -30 /tmp/weld-inspector-apt.log; exit 1; }
fi
# The Debian mosquitto package starts a system broker on :1883; the project starts its own.
if command -v systemctl >/dev/null 2>&1; then systemctl disable --now mosquitto >/dev/null 2>&1 || true; fi

PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null 2>&1 || PY=python3
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
# a venv of another name keeps itself out of git (.venv is in .gitignore)
[ "$VENV" = .venv ] || [ -e "$VENV/.gitignore" ] || echo '*' > "$VENV/.gitignore"
"$VENV/bin/python" -m pip install -q --upgrade pip setuptools wheel
case "$mode" in
  --runtime)
    "$VENV/bin/python" -m pip install -q -e ".[postgres]"
    # The test tools the daemon's tests need, as pinned in the dev extra (pytest,
    # pytest-timeout, httpx, jsonschema): nothing of the training stack.
    mapfile -t test_reqs < <("$VENV/bin/python" - <<'PY'
import re
import tomllib
with open("pyproject.toml", "rb") as f:
    dev = tomllib.load(f)["project"]["optional-dependencies"]["dev"]
want = {"pytest", "pytest-timeout", "httpx", "jsonschema"}
print("\n".join(r for r in dev if re.split(r"[\s\[<>=!~;]", r, maxsplit=1)[0].lower() in want))
PY
)
    "$VENV/bin/python" -m pip install -q "${test_reqs[@]}" ;;
  --gpu)
    "$VENV/bin/python" -m pip install -q -e .
    "$VENV/bin/python" -m pip uninstall -y -q onnxruntime
    "$VENV/bin/python" -m pip install -q onnxruntime-gpu ;;
  *) "$VENV/bin/python" -m pip install -q -e ".[dev,train]" ;;
esac
echo "setup: ok ($("$VENV/bin/python" --version) in $VENV, mode=$mode)"
