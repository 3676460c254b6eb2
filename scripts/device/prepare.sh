#!/bin/bash
# Prepares .devcarry/, what a GPU machine lent through the `device` tool
# needs to run NormLIR's GPU checks: that machine has CUDA, Python 3.12 and
# PyTorch but no LLVM, so this build's tools travel with libLLVM and libMLIR
# (xz, ~44 MB of the 64 MiB a call may carry), the small libraries they
# need that the machine may lack, a stub libz3.so.4 and libxml2.so.2 (LLVM
# links them; NormLIR never calls them), LLVM's libomp for the CPU
# comparisons, and an AOT CUDA library for check.sh's AOT test.
#
#   scripts/device/prepare.sh [BUILD_DIR]     # default: build
#   NORMLIR_DEVICE_BASE=old/normlir-run scripts/device/prepare.sh  # + A/B
#   then, through the device tool: run(command="OUT=$OUT bash .devcarry/check.sh",
#                                      carry=[".devcarry"])
# check.sh's stages are timed by $PYTEST_S, $BENCH_S and $BENCH_CASES.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${1:-build} D=.devcarry LLVM=/usr/lib/llvm-22/lib
rm -rf $D/build $D/sys $D/stubs $D/omp $D/src
mkdir -p $D/build/bin $D/build/lib $D/sys $D/stubs $D/omp $D/src
cp $B/bin/{normlir-run,normlir-opt,normlir-tune,normlir-compile} $D/build/bin/
cp $B/lib/libNormLIRRuntime.so $D/build/lib/
strip $D/build/bin/* $D/build/lib/*.so
for lib in LLVM MLIR; do
  src=$(readlink -f $LLVM/lib$lib.so.22.1)
  if [ ! -f $D/${lib,,}.xz ] || [ $D/${lib,,}.xz -ot "$src" ]; then
    xz -9e -T2 -c "$src" > $D/${lib,,}.xz
  fi
done
for f in libedit.so.2 libbsd.so.0 libmd.so.0 libtinfo.so.6 libffi.so.8; do
  cp -L /lib/x86_64-linux-gnu/$f $D/sys/
done
cp -L $LLVM/libomp.so $D/omp/libomp.so.5
# Stubs: every symbol libLLVM takes from libz3 / libxml2, with libxml2's
# symbol versions (so the loader does not warn on every run).
nm -D --undefined-only $LLVM/libLLVM.so.22.1 | awk '{print $2}' | sed 's/@.*//' | sort -u > $D/src/undefined.txt
for L in libz3.so.4 libxml2.so.2; do
  nm -D --defined-only /lib/x86_64-linux-gnu/$L | awk '{sub(/@.*/,"",$3); print $2, $3}' |
    awk 'NR==FNR{u[$1]=1;next} ($2 in u){ if ($1=="T"||$1=="W"||$1=="i") print "void " $2 "(void){__builtin_trap();}"; else print "void *" $2 " = 0;"}' \
      $D/src/undefined.txt - > $D/src/${L%%.so*}.c
done
objdump -T $LLVM/libLLVM.so.22.1 | awk '/\*UND\*/ && /LIBXML2/ {gsub(/[()]/,"",$(NF-1)); print $(NF-1), $NF}' | sort -u > $D/src/xmlver.txt
python3 - $D/src/xmlver.txt > $D/src/xml.map <<'PY'
import sys
versions = {}
for line in open(sys.argv[1]):
    version, name = line.split()
    versions.setdefault(version, []).append(name)
previous = None
for i, version in enumerate(sorted(versions)):
    body = "".join(f"  {n};\n" for n in versions[version])
    local = "  local: *;\n" if i == 0 else ""
    print(f"{version} {{\n global:\n{body}{local}}}{' ' + previous if previous else ''};")
    previous = version
PY
clang-22 -shared -fPIC -O1 -o $D/stubs/libz3.so.4 -Wl,-soname,libz3.so.4 $D/src/libz3.c
clang-22 -shared -fPIC -O1 -o $D/stubs/libxml2.so.2 -Wl,-soname,libxml2.so.2 -Wl,--version-script=$D/src/xml.map $D/src/libxml2.c
$B/bin/normlir-compile examples/aot/layer_norm.mlir --target=cuda --chip=sm_90 -o $D/libnorms_cuda.so --header=$D/norms_cuda.h
# The Python package for the machine's Python (3.12 there): the extension
# rebuilt against that version's headers (a pyenv 3.12 here; skipped when
# there is none), over this build's libNormLIR.
PY=${NORMLIR_DEVICE_PYTHON:-$(ls /root/.pyenv/versions/3.12*/bin/python3.12 2>/dev/null | head -1)}
rm -rf $D/py
if [ -n "$PY" ]; then
  mkdir -p $D/py/normlir $D/src/py
  cp $B/lib/libNormLIR.so $D/build/lib/ && strip $D/build/lib/libNormLIR.so
  cp python/normlir/*.py $D/py/normlir/
  INC=$($PY -c "import sysconfig; print(sysconfig.get_paths()['include'])")
  EXT=$($PY -c "import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))")
  FLAGS="-std=gnu++17 -O2 -DNDEBUG -fPIC -fvisibility=hidden -I/usr/lib/llvm-22/include -Iinclude -I$B/include
    -isystem $INC -isystem /usr/lib/python3/dist-packages/pybind11/include"
  for f in NormLIRModule HostCache; do
    clang++-22 $FLAGS -c python/$f.cpp -o $D/src/py/$f.o &
  done
  wait
  clang++-22 -shared -o $D/py/normlir/_normlir$EXT $D/src/py/*.o -Wl,-z,nodelete \
    $B/lib/libNormLIR.so $LLVM/libLLVM.so.1
  strip $D/py/normlir/_normlir$EXT
fi
# An A/B baseline for check.sh's ab stage: another build's normlir-run
# (e.g. the last commit's), compared with this one on scripts/device/ab.
rm -rf $D/base
if [ -n "${NORMLIR_DEVICE_BASE:-}" ]; then
  mkdir -p $D/base && cp "$NORMLIR_DEVICE_BASE" $D/base/normlir-run && strip $D/base/normlir-run
fi
cp scripts/device/check.sh scripts/device/aot_check.py $D/
du -sh $D
