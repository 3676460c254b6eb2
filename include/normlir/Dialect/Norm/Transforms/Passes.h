//===- Passes.h - norm dialect passes ---------------------------*- C++ -*-===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//

#ifndef NORMLIR_DIALECT_NORM_TRANSFORMS_PASSES_H
#define NORMLIR_DIALECT_NORM_TRANSFORMS_PASSES_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Pass/Pass.h"
#include "normlir/Dialect/Norm/IR/Norm.h"

namespace normlir::norm {

#define GEN_PASS_DECL
#include "normlir/Dialect/Norm/Transforms/Passes.h.inc"

/// Adds the patterns of `norm-expand` (named ops to core ops) to `patterns`.
void populateNormExpandPatterns(mlir::RewritePatternSet &patterns);

#define GEN_PASS_REGISTRATION
#include "normlir/Dialect/Norm/Transforms/Passes.h.inc"

} // namespace normlir::norm

#endif // NORMLIR_DIALECT_NORM_TRANSFORMS_PASSES_H
