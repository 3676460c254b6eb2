#!/usr/bin/env bash
# Installs what normlir-bench needs and builds the C++ peers. Idempotent: a
# second run only checks and rebuilds the (small) peer programs.
#   apt:   g++, libdnnl-dev (oneDNN 2.6), python3-venv, python3-numpy
#   venv:  bench/.venv with numpy, matplotlib, torch 2.x (CPU use), and
#          iree-base-compiler + iree-base-runtime
#   build: bench/build/{copy,cloop,dnnl}
# NormLIR itself is built by scripts/setup.sh (build/bin/normlir-run).
# Environment: BENCH_SKIP_TORCH=1 / BENCH_SKIP_IREE=1 to leave them out.
set -uo pipefail
BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$BENCH/.venv"
PY=/usr/bin/python3
log() { echo "[bench/setup] $*"; }

# --- apt -------------------------------------------------------------------
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
missing=()
for p in g++ libdnnl-dev python3-venv python3-numpy; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "apt-get install ${missing[*]}"
  $SUDO apt-get update -qq && \
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    || log "WARNING: apt-get failed; the peers that need ${missing[*]} will be n/a"
fi

# --- venv ------------------------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
  log "creating $VENV"
  "$PY" -m venv "$VENV" || { log "ERROR: python3 -m venv failed"; exit 1; }
  "$VENV/bin/pip" install -q --upgrade pip
fi
VPIP="$VENV/bin/pip"
VPY="$VENV/bin/python"
have() { "$VPY" -c "import $1" >/dev/null 2>&1; }

have numpy && have matplotlib || "$VPIP" install -q numpy matplotlib \
  || log "WARNING: numpy/matplotlib did not install (no chart)"

if [ -z "${BENCH_SKIP_TORCH:-}" ] && ! have torch; then
  # 1. The CPU-only wheels (small). 2. PyPI's default wheel: it pulls the
  # CUDA libraries (~5 GB) but runs on the CPU. 3. Give up: normlir-bench then
  # uses Debian's python3-torch 1.13 (eager only; torch.compile is n/a).
  log "pip install torch (CPU index)"
  if ! "$VPIP" install -q --timeout 30 --retries 1 torch \
        --index-url https://download.pytorch.org/whl/cpu; then
    log "CPU index unreachable; pip install torch from PyPI (CUDA build, used on CPU)"
    "$VPIP" install -q torch \
      || log "WARNING: no pip torch; falling back to Debian's python3-torch (1.13, no torch.compile)"
  fi
fi

if [ -z "${BENCH_SKIP_IREE:-}" ] && \
   ! { [ -x "$VENV/bin/iree-compile" ] && [ -x "$VENV/bin/iree-benchmark-module" ]; }; then
  log "pip install iree-base-compiler iree-base-runtime"
  "$VPIP" install -q iree-base-compiler iree-base-runtime \
    || log "WARNING: IREE did not install; the iree peer will be n/a"
fi

# --- C++ peers -------------------------------------------------------------
mkdir -p "$BENCH/build"
CXX="${CXX:-g++}"
FLAGS=(-O3 -march=native -fopenmp -std=c++17 -Wall)
build() { # name, extra libs...
  local name=$1; shift
  local src="$BENCH/peers/$name.cpp" out="$BENCH/build/$name"
  if [ ! -x "$out" ] || [ "$src" -nt "$out" ] || [ "$BENCH/peers/common.h" -nt "$out" ]; then
    log "building bench/build/$name"
    "$CXX" "${FLAGS[@]}" -o "$out" "$src" "$@" || log "WARNING: $name did not build"
  fi
}
build copy
build cloop
if [ -f /usr/include/oneapi/dnnl/dnnl.hpp ]; then
  build dnnl -ldnnl
else
  log "WARNING: no oneDNN headers; the onednn peer will be n/a"
fi

# --- summary ---------------------------------------------------------------
log "versions:"
"$VPY" - <<'EOF'
import importlib, subprocess, os, sys
for m in ("torch", "numpy", "matplotlib"):
    try:
        print(f"  {m} {importlib.import_module(m).__version__}")
    except Exception:
        print(f"  {m}: missing")
try:
    from importlib.metadata import version
    for p in ("iree-base-compiler", "iree-base-runtime"):
        print(f"  {p} {version(p)}")
except Exception:
    print("  iree: missing")
EOF
grep -h "define DNNL_VERSION_M\|define DNNL_VERSION_PATCH" /usr/include/oneapi/dnnl/dnnl_version.h 2>/dev/null \
  | awk '{printf "%s%s", (NR>1?".":"  oneDNN "), $3} END {print ""}'
[ -x "$BENCH/../build/bin/normlir-run" ] || log "note: build/bin/normlir-run missing (scripts/setup.sh builds it)"
log "done: run bench/normlir-bench --quick"
