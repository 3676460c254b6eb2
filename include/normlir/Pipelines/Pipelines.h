//===- Pipelines.h - NormLIR named pass pipelines ---------------*- C++ -*-===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//

#ifndef NORMLIR_PIPELINES_PIPELINES_H
#define NORMLIR_PIPELINES_PIPELINES_H

#include "normlir/Dialect/Norm/Transforms/Passes.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <optional>
#include <string>
#include <vector>

namespace normlir {

/// Appends the `normlir-cpu-pipeline` to `pm` (a builtin.module pass
/// manager): norm (named or core ops) on tensors in, LLVM dialect out, with
/// function results as trailing out-parameter memrefs.
/// Options of `normlir-cpu-pipeline`: overrides of norm-select-schedule's
/// schedule heuristic (unset options leave the choice to it).
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
  Option<int64_t> prefetch{
      *this, "prefetch",
      llvm::cl::desc("Rows ahead the row strategy prefetches (-1: chosen "
                     "per kernel, 0: none; not with strategy=segment or "
                     "column)"),
      llvm::cl::init(-1)};
  Option<std::string> nontemporal{*this, "nontemporal",
                                  llvm::cl::desc("on, off or auto"),
                                  llvm::cl::init("auto")};
  Option<std::string> parallel{*this, "parallel",
                               llvm::cl::desc("on, off or auto"),
                               llvm::cl::init("auto")};
  Option<std::string> gradStatistics{
      *this, "grad-statistics",
      llvm::cl::desc("Backward kernels given the input's saved statistics: "
                     "saved, recomputed or auto"),
      llvm::cl::init("auto")};
  Option<bool> force{*this, "force",
                     llvm::cl::desc("Override schedules written in the input"),
                     llvm::cl::init(false)};
  Option<std::string> tuningDB{
      *this, "tuning-db",
      llvm::cl::desc("A tuning database (normlir-tune) consulted before the "
                     "heuristic"),
      llvm::cl::init("")};
  Option<std::string> targetCPU{
      *this, "target-cpu",
      llvm::cl::desc("host, or the LLVM CPU to compile for (x86-64-v3, "
                     "znver4, skylake-avx512, ...)"),
      llvm::cl::init("host")};
  Option<std::string> targetFeatures{
      *this, "target-features",
      llvm::cl::desc("LLVM features added to or removed from the CPU's "
                     "(+avx512bf16,-avx512f)"),
      llvm::cl::init("")};

  /// The options as norm-select-schedule's options (target=cpu).
  norm::NormSelectScheduleOptions getScheduleOptions() const;
};

/// The CPU a `normlir-cpu-pipeline` compiles for (norm-attach-cpu-target's
/// options); a target written on the module is kept.
struct CPUTarget {
  /// "host" or an LLVM CPU name.
  std::string cpu = "host";
  /// LLVM features added to or removed from the CPU's ("+avx512bf16").
  std::string features;
};

/// The GPU a `normlir-cuda-pipeline` compiles for.
struct CUDATarget {
  /// "sm_90", "sm_80", ... (getKnownCUDAChips()).
  std::string chip = "sm_90";
  /// The PTX ISA version ("+ptx86"); empty: chosen by resolvePTXFeatures.
  std::string features;
  /// "bin" (cubin, needs ptxas), "isa" (PTX, compiled by the driver at
  /// load), "fatbin", or "auto": bin where ptxas is found, else isa.
  std::string format = "auto";
  /// LLVM and ptxas optimization level.
  unsigned optLevel = 3;
  /// Streaming multiprocessors the schedules plan for (0: those of the
  /// chip's flagship part; the JIT passes its device's).
  int64_t multiprocessors = 0;
};

/// Options of `normlir-cuda-pipeline`: the target, and overrides of
/// norm-select-schedule's GPU schedule choice.
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
  Option<int64_t> multiprocessors{
      *this, "multiprocessors",
      llvm::cl::desc("Streaming multiprocessors (0: the chip's flagship "
                     "part)"),
      llvm::cl::init(0)};
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
  Option<std::string> tuningDB{
      *this, "tuning-db",
      llvm::cl::desc("A tuning database (normlir-tune) consulted before the "
                     "heuristic"),
      llvm::cl::init("")};

  /// The schedule options as norm-select-schedule's options (target=cuda).
  norm::NormSelectScheduleOptions getScheduleOptions() const;
};

/// Parses a schedule override, norm-select-schedule's options as text
/// ("vector-width=8 unroll=2 force": what `normlir-run --schedule`,
/// `normlir-compile
/// --schedule` and JITOptions::schedule take), for `target` ("cpu" or
/// "cuda"), and checks the values (norm::checkNormSelectScheduleOptions). The
/// error names the offending option.
llvm::Expected<norm::NormSelectScheduleOptions>
parseScheduleOptions(llvm::StringRef schedule, llvm::StringRef target);

/// Appends normlir-cuda-pipeline to `pm`, with `tile` as norm-select-schedule's
/// options (its target is set to cuda). Fails, without touching `pm`'s process,
/// when the chip is unknown, the PTX version does not suit the chip or ptxas,
/// the format needs ptxas and there is none, or an option is out of range.
llvm::Error buildCUDAPipeline(mlir::OpPassManager &pm, const CUDATarget &target,
                              const norm::NormSelectScheduleOptions &tile = {});

/// Path of the CUDA toolkit's ptxas ($CUDA_ROOT, $CUDA_HOME, $CUDA_PATH,
/// /usr/local/cuda, then PATH), or "" when there is none.
std::string findPtxas();

/// The GPU architectures normlir-cuda-pipeline compiles for (those of LLVM's
/// NVPTX backend): "sm_20" ... "sm_90a", "sm_100", "sm_120f", ...
std::vector<std::string> getKnownCUDAChips();
/// The oldest PTX ISA version (x10: 86 is PTX 8.6) LLVM emits for `chip`;
/// std::nullopt for an unknown chip.
std::optional<unsigned> getMinPTXVersion(llvm::StringRef chip);
/// The newest PTX ISA version (x10) the ptxas of CUDA `major.minor` accepts.
std::optional<unsigned> getMaxPTXVersionOfToolkit(unsigned major,
                                                  unsigned minor);
/// getMaxPTXVersionOfToolkit of the toolkit `ptxas --version` reports;
/// std::nullopt when it cannot be run or read. Cached per path.
std::optional<unsigned> getPtxasMaxPTXVersion(llvm::StringRef ptxasPath);
/// The PTX feature string for `chip`: `features` when given (one "+ptxNN"
/// that suits the chip and `ptxasMax`), else the newest of PTX 8.0 and the
/// chip's minimum, within `ptxasMax` (none: no ptxas involved). An error for
/// an unknown chip or an impossible combination.
llvm::Expected<std::string>
resolvePTXFeatures(llvm::StringRef chip, llvm::StringRef features,
                   std::optional<unsigned> ptxasMax);

/// Appends normlir-cpu-pipeline to `pm` (anchored on the module), with `tile`
/// as norm-select-schedule's options, compiling for `target`. Fails when an
/// option is out of range (an unknown CPU fails when the pipeline runs, located
/// at the module).
llvm::Error buildCPUPipeline(mlir::OpPassManager &pm,
                             const norm::NormSelectScheduleOptions &tile = {},
                             const CPUTarget &target = {});

/// Registers all NormLIR passes and named pipelines with the global registry.
void registerAllPasses();

} // namespace normlir

#endif // NORMLIR_PIPELINES_PIPELINES_H
