//===- Pipelines.h - NormLIR named pass pipelines ---------------*- C++ -*-===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//

#ifndef NORMLIR_PIPELINES_PIPELINES_H
#define NORMLIR_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/StringRef.h"

namespace normlir {

/// Appends the `normlir-cpu-pipeline` to `pm` (a builtin.module pass
/// manager): norm (named or core ops) on tensors in, LLVM dialect out, with
/// function results as trailing out-parameter memrefs.
mlir::LogicalResult buildCPUPipeline(mlir::OpPassManager &pm);

/// Registers all NormLIR passes and named pipelines with the global registry.
void registerAllPasses();

} // namespace normlir

#endif // NORMLIR_PIPELINES_PIPELINES_H
