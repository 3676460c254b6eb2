#!/usr/bin/env bash
# Regenerates docs/reference from ODS (dialect and pass reference).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
ninja -C "$BUILD_DIR" mlir-doc
cp "$BUILD_DIR/docs/Dialects/NormDialect.md" docs/reference/
cp "$BUILD_DIR/docs/Passes/NormPasses.md" "$BUILD_DIR/docs/Passes/NormConversionPasses.md" docs/reference/
