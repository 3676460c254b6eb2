#!/usr/bin/env bash
# Sets up, builds, and runs the main job: JIT-compile an example norm spec
# and run it on generated inputs.
#   scripts/run-example.sh [layer_norm|rms_norm|batch_norm|instance_norm|group_norm]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >&2
NAME=${1:-layer_norm}
BUILD_DIR=${BUILD_DIR:-build}
OUT=${OUT_DIR:-$BUILD_DIR/example-out}
mkdir -p "$OUT"
/usr/bin/python3 examples/make_inputs.py "$OUT" >&2
mapfile -t ARGS < <(/usr/bin/python3 examples/make_inputs.py --args "$NAME" "$OUT")
echo "+ normlir-run examples/$NAME.mlir ${ARGS[*]}" >&2
"$BUILD_DIR/bin/normlir-run" "examples/$NAME.mlir" "${ARGS[@]}"
