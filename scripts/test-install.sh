#!/usr/bin/env bash
# Installs NormLIR from an existing build into a temporary prefix, then
# builds and runs, against that prefix only, what the docs tell users to do:
#   examples/host   C++ API, CMake find_package(NormLIR)     docs/cpp-api.md
#   examples/c      C API with cc                             docs/c-api.md
#   examples/aot    normlir-compile: .so, .o, CUDA (link)     docs/c-api.md
#   python          the installed package imports and runs    docs/python.md
#   scripts/test-install.sh        (after scripts/build.sh)
# Environment: BUILD_DIR (default build), CC (default cc), PYTHON (default
# /usr/bin/python3), KEEP=1 keeps the temporary directory.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
CC=${CC:-cc}
PYTHON=${PYTHON:-/usr/bin/python3}
LLVM_LIB=${LLVM_LIB:-/usr/lib/llvm-22/lib}   # libomp, for the .o variant
CFLAGS=(-std=c99 -O2 -Wall -Wextra -Werror)

if [ ! -f "$BUILD_DIR/cmake_install.cmake" ]; then
  echo "error: no build in $BUILD_DIR (run scripts/build.sh first)" >&2
  exit 1
fi
BUILD_DIR=$(cd "$BUILD_DIR" && pwd)

T=$(mktemp -d "${TMPDIR:-/tmp}/normlir-install.XXXXXX")
cleanup() {
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
P=$T/prefix
# A private disk cache: no entry from another run answers a compile here.
export NORMLIR_CACHE_DIR=$T/cache

step() { echo "== $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

step "install $BUILD_DIR into $P"
cmake --install "$BUILD_DIR" --prefix "$P" >"$T/install.log" ||
  { cat "$T/install.log"; exit 1; }
for f in include/normlir-c/NormLIR.h include/normlir/NormLIR.h \
         lib/libNormLIR.so lib/libNormLIRRuntime.so \
         lib/cmake/NormLIR/NormLIRConfig.cmake \
         bin/normlir-opt bin/normlir-run bin/normlir-compile; do
  [ -e "$P/$f" ] || fail "the install lacks $f"
done

step "installed binaries do not refer to the build tree"
for f in "$P"/lib/*.so* "$P"/bin/* "$P"/python_packages/normlir/*.so; do
  readelf -h "$f" >/dev/null 2>&1 || continue   # not ELF
  rpath=$(readelf -d "$f" | grep -E 'R(UN)?PATH' || true)
  case "$rpath" in
    *"$BUILD_DIR"*) fail "$f has an RPATH into $BUILD_DIR: $rpath" ;;
  esac
done

step "examples/host: C++ API, find_package(NormLIR) with CMAKE_PREFIX_PATH"
cmake -G Ninja -S examples/host -B "$T/host" -DCMAKE_PREFIX_PATH="$P" \
  >"$T/host-configure.log" || { cat "$T/host-configure.log"; exit 1; }
cmake --build "$T/host"
"$T/host/layer_norm"
[ -n "$(find "$NORMLIR_CACHE_DIR" -type f 2>/dev/null)" ] ||
  fail "the JIT wrote nothing into NORMLIR_CACHE_DIR=$NORMLIR_CACHE_DIR"

step "examples/host: find_package(NormLIR) with NormLIR_DIR"
cmake -G Ninja -S examples/host -B "$T/host2" \
  -DNormLIR_DIR="$P/lib/cmake/NormLIR" >/dev/null
cmake --build "$T/host2" >/dev/null

step "examples/c: C API with $CC"
"$CC" "${CFLAGS[@]}" examples/c/layer_norm.c -I"$P/include" -L"$P/lib" \
  -lNormLIR -Wl,-rpath,"$P/lib" -lm -o "$T/layer_norm_c"
"$T/layer_norm_c"

step "examples/c again: the module comes from the disk cache"
"$T/layer_norm_c" >"$T/c2.log" || { cat "$T/c2.log"; exit 1; }
grep '^cache:' "$T/c2.log"
grep -qE '^cache: .*disk_hits=[1-9]' "$T/c2.log" ||
  fail "the second run did not load the module from $NORMLIR_CACHE_DIR"

step "examples/aot: normlir-compile to a shared library"
mkdir -p "$T/aot"
"$P/bin/normlir-compile" examples/aot/layer_norm.mlir \
  -o "$T/aot/libnorms.so" --header="$T/aot/norms.h"
grep -q 'ln(' "$T/aot/norms.h" || fail "norms.h does not declare ln"
"$CC" "${CFLAGS[@]}" examples/aot/main.c -I"$T/aot" -L"$T/aot" -lnorms \
  -Wl,-rpath,"$T/aot" -lm -o "$T/aot/ln-aot"
"$T/aot/ln-aot"

step "examples/aot: normlir-compile to an object file (default header name)"
mkdir -p "$T/aot-obj"
"$P/bin/normlir-compile" examples/aot/layer_norm.mlir -o "$T/aot-obj/norms.o"
[ -f "$T/aot-obj/norms.h" ] || fail "-o norms.o wrote no norms.h beside it"
"$CC" "${CFLAGS[@]}" examples/aot/main.c "$T/aot-obj/norms.o" -I"$T/aot-obj" \
  -L"$LLVM_LIB" -lomp -Wl,-rpath,"$LLVM_LIB" -lm -o "$T/aot-obj/ln-aot"
"$T/aot-obj/ln-aot"

step "examples/aot: --target=cuda builds and links (not run: main.c passes host memory)"
mkdir -p "$T/aot-cuda"
"$P/bin/normlir-compile" examples/aot/layer_norm.mlir --target=cuda \
  --chip=sm_90 -o "$T/aot-cuda/libnorms.so" --header="$T/aot-cuda/norms.h"
grep -q 'const char \*norms_last_error(void);' "$T/aot-cuda/norms.h" ||
  fail "the CUDA header does not declare norms_last_error"
case "$(readelf -d "$T/aot-cuda/libnorms.so")" in
  *libNormLIRRuntime*) ;;
  *) fail "the CUDA library does not record libNormLIRRuntime.so" ;;
esac
"$CC" "${CFLAGS[@]}" examples/aot/main.c -I"$T/aot-cuda" -L"$T/aot-cuda" \
  -lnorms -Wl,-rpath,"$T/aot-cuda" -Wl,-rpath-link,"$P/lib" -lm \
  -o "$T/aot-cuda/ln-aot"

step "python: the installed package ($P/python_packages)"
PYTHONPATH="$P/python_packages" "$PYTHON" - "$P" <<'EOF'
import sys
import numpy as np
import normlir
from normlir import functional as F

assert normlir.__file__.startswith(sys.argv[1]), normlir.__file__
x = np.random.default_rng(0).standard_normal((8, 6, 3, 4)).astype(np.float32)
w = np.linspace(0.5, 1.5, 12, dtype=np.float32).reshape(3, 4)
b = np.linspace(-0.5, 0.5, 12, dtype=np.float32).reshape(3, 4)
y = F.layer_norm(x, (3, 4), w, b, eps=1e-5)
xd = x.astype(np.float64)
m = xd.mean(axis=(2, 3), keepdims=True)
v = xd.var(axis=(2, 3), keepdims=True)
err = np.abs(y - ((xd - m) / np.sqrt(v + 1e-5) * w + b)).max()
assert isinstance(y, np.ndarray) and y.dtype == np.float32, type(y)
assert err < 1e-5, err
print(f"normlir.functional.layer_norm: max error {err:.3g}")
EOF

echo "== all install tests passed"
