#!/usr/bin/env bash
# Installs NormLIR's dependencies on Debian 12 (apt) and builds it into build/
# (with --sanitize: into build-asan/, see scripts/build.sh).
# Idempotent: packages already installed are not fetched again.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  # LLVM/MLIR 22: libMLIR.so, mlir-tblgen, lit, FileCheck, not, clang.
  llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools clang-22
  # LLVM's OpenMP runtime: the JIT'd kernels run their loops on threads.
  libomp-22-dev
  cmake ninja-build
  # Tests: Debian's Python 3.11 with numpy, pytest, and PyTorch 1.13 (CPU)
  # as the reference. Debian's torch installs in ~30 s; pip's torch 2.x
  # would pull ~2.5 GB of CUDA wheels.
  python3 python3-numpy python3-pytest python3-torch
  # The venv of pip's PyTorch 2.x for the package's tests
  # (scripts/test-torch2.sh).
  python3-venv
  # The Python package's extension: pybind11 and the Python headers.
  python3-dev python3-pybind11 pybind11-dev
  # DLPack's header: the extension hands its cached host results to torch
  # as DLPack tensors (python/HostCache.h).
  libdlpack-dev
  # The sanitizer build (scripts/test.sh --sanitize, scripts/fuzz.sh):
  # ASan, UBSan and libFuzzer runtimes for clang-22.
  libclang-rt-22-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi

exec scripts/build.sh "$@"
