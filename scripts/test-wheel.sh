#!/usr/bin/env bash
# The pip packaging (pyproject.toml, scikit-build-core): builds a wheel with
# `pip wheel .` from the existing build tree (-C build-dir: the wheel's
# targets are already built, so this packs rather than compiles), installs
# it into a second, fresh venv and runs normlir there, outside the source
# tree: the package, its extension and libNormLIR come from the wheel, LLVM
# and MLIR from the system; without them the import names what is missing.
#
#   scripts/test-wheel.sh        (after scripts/build.sh; BUILD_DIR=build)
#
# scikit-build-core comes from pip: without network the stage says so and
# is skipped, unless NORMLIR_REQUIRE_WHEEL=1 (then it fails). The build
# tree's CMake cache is restored afterwards (pip's configure writes its
# temporary paths into it).
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
log() { echo "[test-wheel] $*"; }
fail() { log "FAIL: $*"; exit 1; }
give_up() {
  if [ "${NORMLIR_REQUIRE_WHEEL:-0}" = 1 ]; then fail "$*"; fi
  log "SKIPPED: $* (NORMLIR_REQUIRE_WHEEL=1 makes this an error)"
  exit 0
}
[ -f "$BUILD_DIR/CMakeCache.txt" ] || fail "no build in $BUILD_DIR"
BUILD=$(cd "$BUILD_DIR" && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/normlir-wheel.XXXXXX")
cp "$BUILD/CMakeCache.txt" "$T/CMakeCache.txt"
restore() {
  cp "$T/CMakeCache.txt" "$BUILD/CMakeCache.txt"
  cmake "$BUILD" >/dev/null 2>&1
  rm -rf "$T"
}
trap restore EXIT
start=$SECONDS

# The venv that builds: Debian's python with its pybind11 (as the build
# tree's), plus scikit-build-core.
/usr/bin/python3 -m venv --system-site-packages "$T/build-venv" ||
  give_up "python3 -m venv failed"
"$T/build-venv/bin/python" -m pip install -q --timeout 30 --retries 1 \
    -U pip scikit-build-core >"$T/pip.log" 2>&1 ||
  give_up "pip cannot install scikit-build-core"
log "pip wheel . (reusing $BUILD_DIR)"
"$T/build-venv/bin/python" -m pip wheel . --no-build-isolation --no-deps \
    -C build-dir="$BUILD" -w "$T/dist" >"$T/wheel.log" 2>&1 ||
  { cat "$T/wheel.log"; fail "pip wheel ."; }
WHEEL=$(ls "$T"/dist/normlir-*.whl) || fail "no wheel in $T/dist"
log "built $(basename "$WHEEL") in $((SECONDS - start)) s"
"$T/build-venv/bin/python" -m zipfile -l "$WHEEL" >"$T/contents.txt"
for f in normlir/__init__.py normlir/nn.py normlir/_ops.py \
         normlir/lib/libNormLIR.so normlir/lib/libNormLIRRuntime.so; do
  grep -q "^$f " "$T/contents.txt" || fail "$f is not in the wheel"
done
grep -q "^normlir/_normlir\..*\.so " "$T/contents.txt" ||
  fail "the extension is not in the wheel"

# A second venv: the wheel alone (numpy and torch from the system).
/usr/bin/python3 -m venv --system-site-packages "$T/venv" || fail "venv"
"$T/venv/bin/python" -m pip install -q --no-deps "$WHEEL" ||
  fail "pip install the wheel"
cd "$T"
NORMLIR_CACHE_DIR="$T/cache" "$T/venv/bin/python" - <<'PY' || fail "the installed package"
import numpy as np
import torch

import normlir
import normlir.functional as F
import normlir.nn as nn

assert normlir.__file__.startswith(__import__("sys").prefix), normlir.__file__
x = torch.randn(4, 6, 5, 5)
m = nn.GroupNorm(3, 6)
ref = torch.nn.GroupNorm(3, 6)
ref.load_state_dict(m.state_dict())
torch.testing.assert_close(m(x), ref(x), rtol=1e-5, atol=1e-5)
y = F.layer_norm(np.ones((2, 8), np.float32), (8,))
assert y.shape == (2, 8) and np.allclose(y, 0)
print("[test-wheel] the installed package runs:", normlir.__file__)
PY
# Without LLVM's libraries (hidden in a private mount namespace, where
# unshare is allowed): a clear ImportError.
mkdir -p "$T/empty"
out=$(unshare -m sh -c "mount --bind '$T/empty' /usr/lib/llvm-22/lib \
       2>/dev/null || exit 99; '$T/venv/bin/python' -c 'import normlir'" 2>&1)
rc=$?
if [ $rc = 99 ] || ! unshare -m true 2>/dev/null; then
  log "no private mount namespace here: the missing-library message is not checked"
else
  echo "$out" | grep -q "normlir needs the shared libraries of LLVM/MLIR 22" ||
    { echo "$out"; fail "no clear error without LLVM's libraries"; }
  log "without LLVM's libraries: a clear ImportError"
fi
log "passed in $((SECONDS - start)) s"
