#!/usr/bin/env bash
# The normlir package's tests under pip's PyTorch 2.x, in a venv
# (.venv-torch2, or $TORCH2_VENV): what users install, and what the
# PyTorch-native features need (torch.library, torch.compile, torch.export,
# ONNX export, ml_dtypes).
# Debian's python3-torch 1.13 runs the rest of the suite (scripts/test.sh).
#
# The venv comes from pip: PyTorch's CPU index where it is reachable, else
# PyPI (its wheel carries the CUDA libraries: about 5.4 GB, 70 s here).
# Without network the stage says so and is skipped, unless
# NORMLIR_REQUIRE_TORCH2=1 (then it fails).
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
VENV=${TORCH2_VENV:-.venv-torch2}
log() { echo "[test-torch2] $*"; }
give_up() {
  if [ "${NORMLIR_REQUIRE_TORCH2:-0}" = 1 ]; then
    log "ERROR: $*"
    exit 1
  fi
  log "SKIPPED: $* (NORMLIR_REQUIRE_TORCH2=1 makes this an error)"
  exit 0
}

start=$SECONDS
if [ ! -x "$VENV/bin/python" ]; then
  /usr/bin/python3 -m venv "$VENV" || give_up "python3 -m venv failed"
fi
PY="$VENV/bin/python"
if ! "$PY" -c "import torch, numpy, pytest, ml_dtypes, onnx, onnxscript, onnxruntime" >/dev/null 2>&1; then
  log "pip install torch numpy pytest ml_dtypes onnx onnxscript onnxruntime"
  # ONNX export is checked with the standard ops in onnxruntime
  # (test_py_onnx.py): about 120 MB more.
  "$PY" -m pip install -q --timeout 30 --retries 1 numpy pytest ml_dtypes \
      onnx onnxscript onnxruntime \
    || give_up "pip cannot install numpy, pytest, ml_dtypes, onnx"
  "$PY" -m pip install -q --timeout 30 --retries 1 torch \
      --index-url https://download.pytorch.org/whl/cpu 2>/dev/null \
    || "$PY" -m pip install -q --timeout 60 --retries 2 torch \
    || give_up "pip cannot install torch"
fi
log "$("$PY" -c 'import torch; print("torch", torch.__version__)') ready in $((SECONDS - start)) s"

# The package's own tests (test_py_*), and the differentiation tests that
# run the backward through it.
NORMLIR_BUILD_DIR="$BUILD_DIR" "$PY" -m pytest -q -p no:cacheprovider \
  test/python/test_py_*.py test/python/test_differentiate.py
