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

#include <string>

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

/// The GPU a `normlir-cuda-pipeline` compiles for.
struct CUDATarget {
  /// "sm_90", "sm_80", ...
  std::string chip = "sm_90";
  /// PTX features ("+ptx80"); empty: +ptx80.
  std::string features;
  /// "bin" (cubin, needs ptxas), "isa" (PTX, compiled by the driver at
  /// load), "fatbin", or "auto": bin where ptxas is found, else isa.
  std::string format = "auto";
  /// LLVM and ptxas optimization level.
  unsigned optLevel = 3;
};

/// Options of `normlir-cuda-pipeline`: the target, and overrides of
/// norm-tile's GPU schedule choice.
struct CUDAPipelineOptions
    : public mlir::PassPipelineOptions<CUDAPipelineOptions> {
  Option<std::string> chip{*this, "chip",
                           llvm::cl::desc("GPU architecture (sm_90, sm_80)"),
                           llvm::cl::init("sm_90")};
  Option<std::string> features{*this, "features",
                               llvm::cl::desc("PTX features (+ptx80)"),
                               llvm::cl::init("")};
  Option<std::string> format{
      *this, "format",
      llvm::cl::desc("auto (cubin where ptxas is found, else PTX), bin, isa "
                     "or fatbin"),
      llvm::cl::init("auto")};
  Option<unsigned> optLevel{*this, "opt-level",
                            llvm::cl::desc("LLVM/ptxas optimization level"),
                            llvm::cl::init(3)};
  Option<std::string> strategy{*this, "strategy",
                               llvm::cl::desc("row, segment or column")};
  Option<int64_t> threads{*this, "threads",
                          llvm::cl::desc("Threads per row / per block"),
                          llvm::cl::init(0)};
  Option<int64_t> rows{*this, "rows",
                       llvm::cl::desc("Rows per block (row strategy)"),
                       llvm::cl::init(0)};
  Option<int64_t> vectorWidth{*this, "vector-width",
                              llvm::cl::desc("Elements per vector access"),
                              llvm::cl::init(0)};
  Option<int64_t> chunks{*this, "chunks",
                         llvm::cl::desc("Chunks per segment or of R1"),
                         llvm::cl::init(0)};
  Option<bool> force{*this, "force",
                     llvm::cl::desc("Override schedules written in the input"),
                     llvm::cl::init(false)};

  /// The schedule options as norm-tile's option string (" target=cuda ...").
  std::string getTileOptions() const;
};

/// Appends normlir-cuda-pipeline to `pm`; `tileOptions` are norm-tile's
/// options (they must include target=cuda). Fails (with a message on
/// stderr) when the format needs ptxas and there is none.
mlir::LogicalResult buildCUDAPipeline(mlir::OpPassManager &pm,
                                      const CUDATarget &target,
                                      llvm::StringRef tileOptions);

/// Path of the CUDA toolkit's ptxas ($CUDA_ROOT, $CUDA_HOME, $CUDA_PATH,
/// /usr/local/cuda, then PATH), or "" when there is none.
std::string findPtxas();

/// Appends normlir-cpu-pipeline to `pm` (anchored on the module);
/// `tileOptions` are norm-tile's options ("vector-width=8 strategy=row").
mlir::LogicalResult buildCPUPipeline(mlir::OpPassManager &pm,
                                     llvm::StringRef tileOptions = "");

/// Registers all NormLIR passes and named pipelines with the global registry.
void registerAllPasses();

} // namespace normlir

#endif // NORMLIR_PIPELINES_PIPELINES_H
