#!/usr/bin/env bash
# Configures (once) and builds NormLIR into build/ with clang-22 and Ninja.
#   scripts/build.sh              build/ (Release)
#   scripts/build.sh --sanitize   build-asan/ ($ASAN_BUILD_DIR): NormLIR's code
#                                 with AddressSanitizer + UBSan at -O1, and the
#                                 normlir-fuzz libFuzzer target
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}

if [ "${1:-}" = --sanitize ]; then
  BUILD_DIR=${ASAN_BUILD_DIR:-build-asan}
  # -O1 and line tables: readable sanitizer stacks at a fraction of -g's
  # compile and link time. ccache only where it is already installed.
  LAUNCHER=()
  if command -v ccache >/dev/null; then
    LAUNCHER=(-DCMAKE_C_COMPILER_LAUNCHER=ccache
      -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  fi
  CONFIG=(-DCMAKE_BUILD_TYPE=RelWithDebInfo
    "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only -DNDEBUG"
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only -DNDEBUG"
    -DNORMLIR_BUILD_FUZZER=ON "${LAUNCHER[@]}")
elif [ $# -eq 0 ]; then
  BUILD_DIR=${BUILD_DIR:-build}
  CONFIG=(-DCMAKE_BUILD_TYPE=Release)
else
  echo "usage: scripts/build.sh [--sanitize]" >&2
  exit 2
fi

if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -G Ninja -S . -B "$BUILD_DIR" "${CONFIG[@]}" \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit \
    -DNORMLIR_PYTHON=/usr/bin/python3
fi
ninja -C "$BUILD_DIR" -j "$JOBS" all mlir-doc
