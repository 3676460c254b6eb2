#!/usr/bin/env bash
# Sets up, builds, and runs the whole NormLIR test suite: lit/FileCheck tests
# of the dialect, passes and tools, then the pytest execution tests (float64
# reference and PyTorch), the package's tests again under pip's PyTorch 2.x
# (scripts/test-torch2.sh), the pip wheel (scripts/test-wheel.sh); then the
# sanitizer stage: an AddressSanitizer +
# UBSan build (build-asan/) running the lit tests (normlir-fuzz over its
# seeds and fuzz/regressions/ among them) and a representative part of pytest.
#   scripts/test.sh                both (CI)
#   scripts/test.sh --no-sanitize  the normal suite only (NORMLIR_SANITIZE=0)
#   scripts/test.sh --sanitize     the sanitizer stage only
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
ASAN_BUILD_DIR=${ASAN_BUILD_DIR:-build-asan}
export ASAN_BUILD_DIR

normal=1
sanitize=${NORMLIR_SANITIZE:-1}
case "${1:-}" in
  "") ;;
  --sanitize) normal=0 sanitize=1 ;;
  --no-sanitize) sanitize=0 ;;
  *) echo "usage: scripts/test.sh [--sanitize | --no-sanitize]" >&2; exit 2 ;;
esac

if [ "$normal" = 1 ]; then
  scripts/setup.sh

  echo "== lit (dialect, passes, tools)"
  /usr/lib/llvm-22/bin/lit -sv "$BUILD_DIR/test"

  echo "== install tree: find_package(NormLIR), C/C++/AOT examples, Python package"
  BUILD_DIR="$BUILD_DIR" scripts/test-install.sh

  echo "== pytest (execution against float64 and PyTorch; the normlir package)"
  NORMLIR_BUILD_DIR="$BUILD_DIR" /usr/bin/python3 -m pytest -q -p no:cacheprovider test/python

  echo "== pytest of the normlir package under pip's PyTorch 2.x (a venv)"
  BUILD_DIR="$BUILD_DIR" scripts/test-torch2.sh

  echo "== pip wheel . (pyproject.toml) and the wheel in a fresh venv"
  BUILD_DIR="$BUILD_DIR" scripts/test-wheel.sh
fi

[ "$sanitize" = 1 ] || exit 0

# The sanitizer stage. Only NormLIR's code is instrumented (libMLIR.so and
# libLLVM.so are Debian's; JIT-compiled kernels are not either). Any report
# fails the test that triggered it.
start=$SECONDS
step() { echo "== sanitizers [$((SECONDS - start)) s]: $*"; }
step "build $ASAN_BUILD_DIR (ASan + UBSan, normlir-fuzz)"
scripts/setup.sh --sanitize

# allow_user_poisoning=0: LLVM's allocators, inlined into our instrumented
# code, poison memory that the uninstrumented libMLIR.so then uses (a false
# use-after-poison). Leaks are checked in the tools (not under Python, below).
export ASAN_OPTIONS=allow_user_poisoning=0:detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# A disk cache of its own: the build id is a hash of the sources, so a
# cache filled by build/ would answer every compile of the instrumented one.
T=$(mktemp -d "${TMPDIR:-/tmp}/normlir-asan.XXXXXX")
trap 'rm -rf "$T"' EXIT
export NORMLIR_CACHE_DIR=$T/cache
ASAN_BIN=$(cd "$ASAN_BUILD_DIR" && pwd)/bin

step "lit (normlir-fuzz runs its seeds and fuzz/regressions)"
# lit passes ASAN_OPTIONS and UBSAN_OPTIONS through, not NORMLIR_CACHE_DIR:
# the tools find their cache under $HOME. The C programs of the tests (%cc)
# link the ASan runtime that libNormLIRRuntime.so (a CUDA AOT library's
# dependency) expects from its executable.
HOME=$T CC="clang-22 -fsanitize=address,undefined" \
  /usr/lib/llvm-22/bin/lit -sv "$ASAN_BUILD_DIR/test"

# pytest: what drives the compiler through many paths (every norm, dtype
# and layout; schedule overrides; fusion; error paths; NaN/Inf and empty
# tensors; the GPU lowering, run by test/python/gpu_interp.py's interpreter;
# the Python package and its recovery from bad input). Left out,
# for time: the comparisons with PyTorch (test_torch: the same compiles as
# test_execution), test_cuda (runs only on a GPU; its PTX paths are in lit
# and the fuzzer) and test_py_docs.
step "pytest through the instrumented normlir-run"
NORMLIR_RUN="$ASAN_BIN/normlir-run" NORMLIR_BUILD_DIR="$ASAN_BUILD_DIR" \
  /usr/bin/python3 -m pytest -q -p no:cacheprovider \
  test/python/test_execution.py test/python/test_schedules.py \
  test/python/test_errors.py test/python/test_fusion.py \
  test/python/test_kernels.py test/python/test_nonfinite_and_empty.py \
  test/python/test_examples.py test/python/test_gpu_interp.py

step "pytest of the normlir package (instrumented, in Python)"
# Python is not instrumented: the ASan runtime is preloaded. Python's own
# allocations at exit are not ours to report, hence no leak check.
# A failed allocation returns null, as libc's malloc does (the kernels'
# out-of-memory status is tested).
LD_PRELOAD=$(clang-22 -print-file-name=libclang_rt.asan-x86_64.so) \
  ASAN_OPTIONS=$ASAN_OPTIONS:detect_leaks=0:allocator_may_return_null=1 \
  NORMLIR_BUILD_DIR="$ASAN_BUILD_DIR" \
  /usr/bin/python3 -m pytest -q -p no:cacheprovider \
  test/python/test_py_compile.py test/python/test_py_functional.py \
  test/python/test_py_nn.py test/python/test_reliability.py \
  test/python/test_py_host_cache.py test/python/test_py_cache_info.py \
  test/python/test_py_dynamic.py
step "passed"
