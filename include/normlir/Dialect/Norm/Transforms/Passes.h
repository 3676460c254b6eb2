//===- Passes.h - norm dialect passes ---------------------------*- C++ -*-===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//

#ifndef NORMLIR_DIALECT_NORM_TRANSFORMS_PASSES_H
#define NORMLIR_DIALECT_NORM_TRANSFORMS_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Pass/Pass.h"
#include "normlir/Dialect/Norm/IR/Norm.h"
#include "llvm/Support/Error.h"

namespace normlir::norm {

#define GEN_PASS_DECL
#include "normlir/Dialect/Norm/Transforms/Passes.h.inc"

/// Checks norm-select-schedule's options against the constraints of the
/// schedule they override (`#norm.schedule` C1-C2 for target=cpu,
/// `#norm.gpu_schedule` C1-C4 for target=cuda), so that no value reaches the
/// heuristic or the lowering that the attribute's verifier would reject. 0 (and
/// "" / "auto") means "chosen per kernel". Options of the other target are
/// checked for their own range and otherwise ignored, so that one schedule
/// string can be used for both targets. Returns an error naming the option and
/// the rule.
llvm::Error
checkNormSelectScheduleOptions(const NormSelectScheduleOptions &options);

/// Adds the patterns of `norm-expand` (named ops to core ops) to `patterns`.
void populateNormExpandPatterns(mlir::RewritePatternSet &patterns);

#define GEN_PASS_REGISTRATION
#include "normlir/Dialect/Norm/Transforms/Passes.h.inc"

} // namespace normlir::norm

#endif // NORMLIR_DIALECT_NORM_TRANSFORMS_PASSES_H
