#!/bin/bash
# NormLIR's GPU checks on a machine lent through the `device` tool, from the
# .devcarry/ that scripts/device/prepare.sh made (this script is copied
# there). Writes at most 10 files under $OUT: log.txt, test_cuda.txt, py.txt,
# ab.txt, tune.txt, tune-bn.txt, tune.jsonl, bench.csv, bench.md, bench-cuda.log (the
# dynamic-vs-static table is appended to py.txt). Stages are time-boxed
# ($PYTEST_S, $DYN_S, $BENCH_S) so that a slow one leaves the others
# their results; $BENCH_CASES picks the bench's cases (a regex).
cd "$(dirname "$0")/.." || exit 1
R=$PWD D=$PWD/.devcarry L=/tmp/nl/lib T0=$(date +%s)
: "${OUT:?set OUT}"
exec > >(tee "$OUT/log.txt") 2>&1
stage() { echo; echo "=== $* (t=$(( $(date +%s) - T0 )) s)"; }

stage unpack
mkdir -p $L
xz -d -T0 -c $D/llvm.xz > $L/libLLVM.so.22.1 & p1=$!
xz -d -T0 -c $D/mlir.xz > $L/libMLIR.so.22.1 & p2=$!
wait $p1 $p2
# Only what the machine lacks: its own libraries serve its Python.
for f in $D/sys/* $D/stubs/*; do
  n=$(basename $f)
  ldconfig -p | grep -q "^\s*$n " || { cp $f $L/; echo "carried $n"; }
done
# The CPU JIT loads LLVM's OpenMP runtime by its Debian path.
# (Never over an existing one: running processes map it.)
[ -e /usr/lib/llvm-22/lib/libomp.so ] ||
  { mkdir -p /usr/lib/llvm-22/lib && cp $D/omp/libomp.so.5 /usr/lib/llvm-22/lib/libomp.so; }
export LD_LIBRARY_PATH=$L:$R/build/lib PATH=$PATH:/usr/local/cuda/bin
mkdir -p build && cp -a $D/build/. build/
command -v ptxas && ptxas --version | tail -1
python3 -c "import sys, torch, numpy; print(sys.version.split()[0], torch.__version__, numpy.__version__)"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv
ldd build/bin/normlir-run | grep "not found"

stage device-info
build/bin/normlir-run --device=cuda --device-info; echo "rc=$?"

stage aot
timeout 60 python3 $D/aot_check.py $D/libnorms_cuda.so; echo "rc=$?"

stage test_cuda
XDIST=$(python3 -c "import xdist" 2>/dev/null && echo "-n16")
NORMLIR_DEVICE=cuda timeout "${PYTEST_S:-200}" python3 -m pytest -q -p no:cacheprovider \
  $XDIST -rfE test/python/test_cuda.py > $OUT/test_cuda.txt 2>&1; echo "rc=$?"
grep -E "^(FAILED|ERROR)|passed|failed" $OUT/test_cuda.txt | tail -20

stage py
# The Python API on CUDA tensors, with the package prepare.sh built for the
# machine's Python (absent: skipped).
if [ -d $D/py/normlir ]; then
  NORMLIR_PYTHONPATH=$D/py timeout "${PY_S:-150}" python3 -m pytest -q -p no:cacheprovider \
    -rfEs test/python/test_py_cuda.py test/python/test_targets.py > $OUT/py.txt 2>&1; echo "rc=$?"
  grep -E "^(FAILED|ERROR|SKIPPED)|passed|failed|Error" $OUT/py.txt | tail -30
fi

stage ab
# This build against the baseline build ($D/base) on each spec of ab/, in
# alternation, ${AB_ROUNDS:-3} rounds: normlir-run's median of 200 calls.
if [ -x $D/base/normlir-run ]; then
  for round in $(seq ${AB_ROUNDS:-3}); do
    for spec in scripts/device/ab/*.mlir; do
      for which in base new; do
        exe=build/bin/normlir-run; [ $which = base ] && exe=$D/base/normlir-run
        t=$(timeout 60 $exe $spec --device=cuda --random-inputs --discard-results \
              --repeat=200 --warmup=20 2>&1 | sed -n 's/.*median \([0-9.]*\) ms.*/\1 ms/p')
        echo "ab $round $(basename $spec .mlir) $which $t" | tee -a $OUT/ab.txt
      done
    done
  done
fi

stage tune
I=test/tools/normlir-tune/Inputs/layer_norm.mlir
timeout 90 build/bin/normlir-tune $I --target=cuda --repeat=2 --rounds=1 --warmup=1 \
  --max-candidates=3 --db=$OUT/tune.jsonl > $OUT/tune.txt 2>&1; echo "rc=$?"
cat $OUT/tune.txt
timeout 30 build/bin/normlir-run $I --device=cuda --tuning-db=$OUT/tune.jsonl \
  --random-inputs --discard-results; echo "rc=$?"

# The column strategy's schedules on channels-last BatchNorm training.
timeout ${TUNE_BN_S:-90} build/bin/normlir-tune scripts/device/ab/${TUNE_BN_SPEC:-bn_train_nhwc_32x64x56x56}.mlir \
  --target=cuda --repeat=20 --rounds=1 --warmup=3 --max-candidates=${TUNE_BN_CANDIDATES:-10} \
  --db=$OUT/tune.jsonl > $OUT/tune-bn.txt 2>&1; echo "rc=$?"
tail -15 $OUT/tune-bn.txt

stage dynamic
# Issue 16: the dynamic kernels against the static ones on the GPU (the
# channel norms' dynamic kernels take scalar accesses over dynamic runs;
# normlir.functional keeps them per shape on CUDA until this is measured).
if [ -d $D/py/normlir ]; then
  NORMLIR_PYTHONPATH=$D/py timeout "${DYN_S:-90}" python3 bench/dynamic.py --device cuda \
    --rounds 3 --repeat 50 ${DYN_ONLY:+--only $DYN_ONLY} 2>&1 | tee -a $OUT/py.txt; echo "rc=$?"
fi

stage bench
# About 25 s per case (normlir-run's random inputs are made on the host).
NORMLIR_BENCH_NO_REEXEC=1 timeout "${BENCH_S:-170}" python3 bench/normlir-bench --device=cuda \
  --systems "${BENCH_SYSTEMS:-normlir,torch}" --rounds 2 --repeat 50 --warmup 5 --out /tmp/bench \
  --cases "${BENCH_CASES:-(ln|rms)_(f32|bf16)_32768x(1024|4096)$|gn_|bn_train|in_}"; echo "rc=$?"
cp /tmp/bench/cuda-*.csv $OUT/bench.csv; cp /tmp/bench/cuda-*.md $OUT/bench.md
cp /tmp/bench/bench-cuda.log $OUT/bench-cuda.log
stage done
