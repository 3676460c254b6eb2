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
/usr/bin/python3 examples/make_inputs.py "$OUT" >/dev/null
mapfile -t ARGS < <(/usr/bin/python3 examples/make_inputs.py --args "$NAME" "$OUT")
echo "+ $BUILD_DIR/bin/normlir-run examples/$NAME.mlir ${ARGS[*]}" >&2
"$BUILD_DIR/bin/normlir-run" "examples/$NAME.mlir" "${ARGS[@]}"
echo "result[0] written to $OUT/$NAME.$(/usr/bin/python3 -c "import sys; sys.path.insert(0, 'examples'); import make_inputs as m; print(m.EXAMPLES['$NAME'][2][0])").npy" >&2
