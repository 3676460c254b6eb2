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
//   1. norm-expand, convert-norm-to-linalg: norm -> linalg on tensors.
//   2. one-shot-bufferize with function boundaries and identity layouts, then
//      results become caller-owned out-parameters (static result allocations
//      are hoisted into them, so no copy; a buffer returned twice is first
//      split so that each result has its own).
//   3. linalg -> loops -> cf -> LLVM. bf16 extf/truncf are expanded to integer
//      ops, since the host C runtime need not provide bf16 conversions.
static constexpr llvm::StringLiteral kCPUPipeline =
    "builtin.module("
    "norm-expand,"
    "convert-norm-to-linalg,"
    "canonicalize,cse,"
    "one-shot-bufferize{bufferize-function-boundaries "
    "function-boundary-type-conversion=identity-layout-map},"
    "func.func(norm-uniquify-returned-buffers),"
    "buffer-results-to-out-params{hoist-static-allocs=true "
    "modify-public-functions=true},"
    "buffer-deallocation-pipeline,"
    "canonicalize,"
    "convert-linalg-to-loops,"
    "lower-affine,"
    "arith-expand{include-bf16=true},"
    "convert-scf-to-cf,"
    "expand-strided-metadata,"
    "lower-affine,"
    "finalize-memref-to-llvm,"
    "convert-math-to-llvm,"
    "convert-arith-to-llvm,"
    "convert-index-to-llvm,"
    "convert-cf-to-llvm,"
    "convert-func-to-llvm,"
    "reconcile-unrealized-casts)";

LogicalResult normlir::buildCPUPipeline(OpPassManager &pm) {
  // The text is resolved through the pass registry, which a host program
  // embedding the JIT has not necessarily filled.
  static std::once_flag upstream;
  std::call_once(upstream, [] { mlir::registerAllPasses(); });
  normlir::registerAllPasses();
  // The text names the anchor; parse its body into `pm`.
  StringRef text = kCPUPipeline;
  text = text.drop_front(StringRef("builtin.module(").size()).drop_back();
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
  PassPipelineRegistration<>(
      "normlir-cpu-pipeline",
      "Lower norm ops on tensors to LLVM for the host CPU (results become "
      "out-parameters)",
      [](OpPassManager &pm) {
        if (failed(normlir::buildCPUPipeline(pm)))
          llvm::report_fatal_error("normlir-cpu-pipeline failed to parse");
      });
}
