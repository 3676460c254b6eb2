//===- Pipelines.h - NormLIR named pass pipelines ---------------*- C++ -*-===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//

#ifndef NORMLIR_PIPELINES_PIPELINES_H
#define NORMLIR_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"
#include "llvm/ADT/StringRef.h"

namespace normlir {

/// Appends the `normlir-cpu-pipeline` to `pm` (a builtin.module pass
/// manager): norm (named or core ops) on tensors in, LLVM dialect out, with
/// function results as trailing out-parameter memrefs.
/// Options of `normlir-cpu-pipeline`: overrides of norm-tile's schedule
/// heuristic (unset options leave the choice to it).
struct CPUPipelineOptions
    : public mlir::PassPipelineOptions<CPUPipelineOptions> {
  Option<std::string> strategy{*this, "strategy",
                               llvm::cl::desc("row, segment or column")};
  Option<int64_t> vectorWidth{*this, "vector-width",
                              llvm::cl::desc("f32 lanes per vector"),
                              llvm::cl::init(0)};
  Option<int64_t> unroll{*this, "unroll",
                         llvm::cl::desc("Independent accumulators"),
                         llvm::cl::init(0)};
  Option<int64_t> chunks{*this, "chunks",
                         llvm::cl::desc("R1 chunks (column strategy)"),
                         llvm::cl::init(0)};
  Option<int64_t> rowTasks{*this, "row-tasks",
                           llvm::cl::desc("Row ranges (row strategy)"),
                           llvm::cl::init(0)};
  Option<std::string> nontemporal{*this, "nontemporal",
                                  llvm::cl::desc("on, off or auto"),
                                  llvm::cl::init("auto")};
  Option<std::string> parallel{*this, "parallel",
                               llvm::cl::desc("on, off or auto"),
                               llvm::cl::init("auto")};
  Option<bool> force{*this, "force",
                     llvm::cl::desc("Override schedules written in the input"),
                     llvm::cl::init(false)};

  /// The options as norm-tile's option string (" vector-width=8 ...").
  std::string getTileOptions() const;
};

/// Appends normlir-cpu-pipeline to `pm` (anchored on the module);
/// `tileOptions` are norm-tile's options ("vector-width=8 strategy=row").
mlir::LogicalResult buildCPUPipeline(mlir::OpPassManager &pm,
                                     llvm::StringRef tileOptions = "");

/// Registers all NormLIR passes and named pipelines with the global registry.
void registerAllPasses();

} // namespace normlir

#endif // NORMLIR_PIPELINES_PIPELINES_H
