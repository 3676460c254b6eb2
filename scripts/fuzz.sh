#!/usr/bin/env bash
# Fuzzes the NormLIR compiler with libFuzzer: tools/normlir-fuzz parses and
# verifies a spec, then runs norm-select-schedule, the CPU or the CUDA pipeline, or the
# whole compile to an object, with options taken from the input's first line.
#
#   scripts/fuzz.sh [SECONDS] [JOBS]     (default: 600 seconds, 1 job)
#
# Builds build-asan/ if needed (scripts/build.sh --sanitize: ASan + UBSan +
# coverage), writes the seed corpus (fuzz/make-corpus.py: examples/ and the
# .mlir tests with mode lines) into build-asan/fuzz/seeds, then fuzzes with
# fuzz/normlir.dict in libFuzzer's fork mode, which goes on after a finding.
# Inputs that reach new code are kept in fuzz/corpus/ (reused by the next
# run); every crash, sanitizer report, leak, timeout or out-of-memory input is
# written to fuzz/crashes/ (crash-*, leak-*, timeout-*, oom-*, slow-unit-*),
# and the script exits 1 when the run added any.
#
#   build-asan/bin/normlir-fuzz fuzz/crashes/crash-...     reproduce one
#   NORMLIR_FUZZ_VERBOSE=1 build-asan/bin/normlir-fuzz ...  with diagnostics
#   build-asan/bin/normlir-fuzz -minimize_crash=1 -runs=20000 \
#     -exact_artifact_path=fuzz/regressions/NAME fuzz/crashes/crash-...
#
# Once its bug is fixed, a minimized input goes into fuzz/regressions/, which
# test/fuzz/regressions.test (scripts/test.sh) runs with the seeds.
#
# Environment:
#   NORMLIR_FUZZ_RESTRICT=1  stay away from crashes known and being fixed:
#       no number above 1024 on the option line, CUDA chips sm_50 to sm_99
#       only, no features= (see tools/normlir-fuzz/normlir-fuzz.cpp)
#   CORPUS_DIR (fuzz/corpus), CRASH_DIR (fuzz/crashes), ASAN_BUILD_DIR
#   (build-asan), BUILD_JOBS (ninja -j of the rebuild; default JOBS)
#   FUZZ_FLAGS  more libFuzzer flags (e.g. -max_len=8192 -use_value_profile=1)
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN=${1:-600}
JOBS=${2:-1}
ASAN_BUILD_DIR=${ASAN_BUILD_DIR:-build-asan}
CORPUS_DIR=${CORPUS_DIR:-fuzz/corpus}
CRASH_DIR=${CRASH_DIR:-fuzz/crashes}
export ASAN_BUILD_DIR

if [ ! -x "$ASAN_BUILD_DIR/bin/normlir-fuzz" ]; then
  scripts/setup.sh --sanitize
else
  # Rebuild what changed (cheap when nothing did).
  ninja -C "$ASAN_BUILD_DIR" -j "${BUILD_JOBS:-$JOBS}" normlir-fuzz
fi

SEEDS=$ASAN_BUILD_DIR/fuzz/seeds
/usr/bin/python3 fuzz/make-corpus.py "$SEEDS"
mkdir -p "$CORPUS_DIR" "$CRASH_DIR"

if [ "${NORMLIR_FUZZ_RESTRICT:-0}" = 1 ]; then
  export NORMLIR_FUZZ_MAX_OPTION_INT=${NORMLIR_FUZZ_MAX_OPTION_INT:-1024}
  export NORMLIR_FUZZ_SAFE_CUDA=${NORMLIR_FUZZ_SAFE_CUDA:-1}
fi
# The fuzzer sets allow_user_poisoning=0 itself (see scripts/test.sh).
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

before=$(find "$CRASH_DIR" -type f | wc -l)
# -timeout: the slowest seed (a compile) takes 0.7 s instrumented; 20 s is
# a hang or a blowup. -rss_limit_mb: the fuzzer settles at about 800 MB;
# 2 GB (libFuzzer's default, also the limit of one malloc) is a runaway
# allocation. -max_len: the seeds are under 1.3 KB.
# shellcheck disable=SC2086
"$ASAN_BUILD_DIR/bin/normlir-fuzz" \
  -fork="$JOBS" -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
  -max_total_time="$SECONDS_TO_RUN" -timeout=20 -rss_limit_mb=2048 \
  -max_len=4096 -dict=fuzz/normlir.dict -print_final_stats=1 \
  -artifact_prefix="$CRASH_DIR/" ${FUZZ_FLAGS:-} \
  "$CORPUS_DIR" "$SEEDS" fuzz/regressions
after=$(find "$CRASH_DIR" -type f | wc -l)
if [ "$after" -gt "$before" ]; then
  echo "fuzz: $((after - before)) new finding(s) in $CRASH_DIR:" >&2
  find "$CRASH_DIR" -type f -newer "$SEEDS" | sort >&2
  exit 1
fi
echo "fuzz: no findings"
