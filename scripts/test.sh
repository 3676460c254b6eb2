#!/usr/bin/env bash
# Sets up, builds, and runs the whole NormLIR test suite: lit/FileCheck tests
# of the dialect, passes and tools, then the pytest execution tests (float64
# reference and PyTorch).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
BUILD_DIR=${BUILD_DIR:-build}

echo "== lit (dialect, passes, tools)"
/usr/lib/llvm-22/bin/lit -sv "$BUILD_DIR/test"

echo "== install tree: find_package(NormLIR), C/C++/AOT examples, Python package"
BUILD_DIR="$BUILD_DIR" scripts/test-install.sh

echo "== pytest (execution against float64 and PyTorch; the normlir package)"
NORMLIR_BUILD_DIR="$BUILD_DIR" /usr/bin/python3 -m pytest -q -p no:cacheprovider test/python
