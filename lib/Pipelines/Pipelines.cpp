//===- Pipelines.cpp - NormLIR named pass pipelines -----------------------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//

#include "normlir/Pipelines/Pipelines.h"
#include "normlir/Conversion/Passes.h"
#include "normlir/Dialect/Norm/Transforms/Passes.h"

#include "mlir/InitAllPasses.h"
#include "mlir/Pass/PassRegistry.h"

#include <mutex>

using namespace mlir;

// The pipeline is kept as text so that `normlir-opt --dump-pass-pipeline` and
// the docs show exactly what runs, and upstream pass options are spelled as
// users spell them.
//   1. norm-expand, then norm-fuse and norm-tile: each normalization becomes
//      one norm.kernel with a recorded schedule; what cannot be fused goes
//      through convert-norm-to-linalg.
//   2. one-shot-bufferize with function boundaries and identity layouts, then
//      results become caller-owned out-parameters (static result allocations
//      are hoisted into them, so no copy; a buffer returned twice is first
//      split so that each result has its own).
//   3. Kernels -> scf.parallel + vector loops; linalg -> loops; scf.parallel
//      -> OpenMP; then everything to LLVM. bf16 extf/truncf are expanded to
//      integer ops, since the host C runtime need not provide them.
static constexpr llvm::StringLiteral kCPUPipelineHead = "norm-expand,"
                                                        "norm-fuse,";
static constexpr llvm::StringLiteral kCPUPipelineTail =
    "convert-norm-to-linalg,"
    "canonicalize,cse,"
    "one-shot-bufferize{bufferize-function-boundaries "
    "function-boundary-type-conversion=identity-layout-map},"
    "func.func(norm-uniquify-returned-buffers),"
    "buffer-results-to-out-params{hoist-static-allocs=true "
    "modify-public-functions=true},"
    "func.func(norm-fold-result-copies),"
    "convert-norm-to-vector,"
    "buffer-deallocation-pipeline,"
    "canonicalize,"
    "convert-linalg-to-loops,"
    "convert-scf-to-openmp,"
    "canonicalize,cse,"
    "lower-affine,"
    "arith-expand{include-bf16=true},"
    "convert-scf-to-cf,"
    "convert-vector-to-llvm,"
    "expand-strided-metadata,"
    "lower-affine,"
    "finalize-memref-to-llvm,"
    "convert-math-to-llvm,"
    "convert-arith-to-llvm,"
    "convert-index-to-llvm,"
    "convert-cf-to-llvm,"
    "convert-func-to-llvm,"
    "convert-openmp-to-llvm,"
    "reconcile-unrealized-casts";

std::string normlir::CPUPipelineOptions::getTileOptions() const {
  std::string s;
  llvm::raw_string_ostream os(s);
  if (!strategy.empty())
    os << " strategy=" << strategy;
  if (vectorWidth > 0)
    os << " vector-width=" << vectorWidth;
  if (unroll > 0)
    os << " unroll=" << unroll;
  if (chunks > 0)
    os << " chunks=" << chunks;
  if (rowTasks > 0)
    os << " row-tasks=" << rowTasks;
  if (nontemporal != "auto")
    os << " nontemporal=" << nontemporal;
  if (parallel != "auto")
    os << " parallel=" << parallel;
  if (force)
    os << " force=true";
  return s;
}

LogicalResult normlir::buildCPUPipeline(OpPassManager &pm,
                                        StringRef tileOptions) {
  // The text is resolved through the pass registry, which a host program
  // embedding the JIT has not necessarily filled.
  static std::once_flag upstream;
  std::call_once(upstream, [] { mlir::registerAllPasses(); });
  normlir::registerAllPasses();
  std::string text =
      (kCPUPipelineHead + "norm-tile{" + tileOptions + "}," + kCPUPipelineTail)
          .str();
  return parsePassPipeline(text, pm, llvm::errs());
}

static void registerAllPassesImpl();
void normlir::registerAllPasses() {
  // Idempotent: a pipeline registered twice is a fatal error upstream.
  static std::once_flag once;
  std::call_once(once, registerAllPassesImpl);
}

static void registerAllPassesImpl() {
  normlir::norm::registerNormPasses();
  normlir::registerNormConversionPasses();
  PassPipelineRegistration<normlir::CPUPipelineOptions>(
      "normlir-cpu-pipeline",
      "Lower norm ops on tensors to LLVM for the host CPU (results become "
      "out-parameters); the options override norm-tile's schedule choice",
      [](OpPassManager &pm, const normlir::CPUPipelineOptions &options) {
        if (failed(normlir::buildCPUPipeline(pm, options.getTileOptions())))
          llvm::report_fatal_error("normlir-cpu-pipeline failed to parse");
      });
}
