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
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"

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
/// Shared by both pipelines: the rest to linalg, then bufferization with
/// out-parameters.
#define NORMLIR_BUFFERIZE_PASSES                                               \
  "convert-norm-to-linalg,"                                                    \
  "canonicalize,cse,"                                                          \
  "one-shot-bufferize{bufferize-function-boundaries "                          \
  "function-boundary-type-conversion=identity-layout-map},"                    \
  "func.func(norm-uniquify-returned-buffers),"                                 \
  "buffer-results-to-out-params{hoist-static-allocs=true "                     \
  "modify-public-functions=true},"                                             \
  "func.func(norm-fold-result-copies),"
static constexpr llvm::StringLiteral kCPUPipelineTail =
    NORMLIR_BUFFERIZE_PASSES
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

// The GPU pipeline shares the head and bufferization with the CPU one, then:
//   4. convert-norm-to-gpu: kernels -> gpu.launch (outlined at once, before
//      the greedy passes below could hoist their constants out of them);
//      temporaries -> gpu.alloc, copies -> gpu.memcpy.
//   5. The remaining linalg ops (running-statistics updates) -> parallel
//      loops tiled by 256 -> gpu.launch (blocks x threads) -> outlined.
//   6. One stream per call (gpu-async-region), kernels -> NVVM -> PTX ->
//      cubin (ptxas) or PTX for the driver to compile; host -> LLVM calling
//      the mgpu* runtime functions (NormLIR's own CUDA runtime provides
//      them).
static constexpr llvm::StringLiteral kGPUPipelineMiddle =
    NORMLIR_BUFFERIZE_PASSES
    "convert-norm-to-gpu,"
    "gpu-kernel-outlining,"
    "func.func(convert-linalg-to-parallel-loops),"
    "func.func(scf-parallel-loop-tiling{parallel-loop-tile-sizes=256 "
    "no-min-max-bounds=true}),"
    "func.func(gpu-map-parallel-loops),"
    "func.func(convert-parallel-loops-to-gpu),"
    "gpu-kernel-outlining,"
    "canonicalize,cse,"
    "lower-affine,"
    "func.func(gpu-async-region),";
static constexpr llvm::StringLiteral kGPUPipelineDevice =
    "gpu.module(convert-scf-to-cf,convert-gpu-to-nvvm,canonicalize,cse,"
    "reconcile-unrealized-casts),"
    "gpu-to-llvm,";
static constexpr llvm::StringLiteral kGPUPipelineHost =
    "convert-scf-to-cf,"
    "expand-strided-metadata,"
    "lower-affine,"
    "finalize-memref-to-llvm,"
    "convert-math-to-llvm,"
    "convert-arith-to-llvm,"
    "convert-index-to-llvm,"
    "convert-cf-to-llvm,"
    "convert-func-to-llvm,"
    "reconcile-unrealized-casts";

std::string normlir::findPtxas() {
  auto isExecutable = [](const std::string &path) {
    return llvm::sys::fs::can_execute(path);
  };
  for (const char *env : {"CUDA_ROOT", "CUDA_HOME", "CUDA_PATH"})
    if (const char *root = std::getenv(env))
      if (isExecutable(std::string(root) + "/bin/ptxas"))
        return std::string(root) + "/bin/ptxas";
  if (isExecutable("/usr/local/cuda/bin/ptxas"))
    return "/usr/local/cuda/bin/ptxas";
  if (auto path = llvm::sys::findProgramByName("ptxas"))
    return *path;
  return "";
}

std::string normlir::CUDAPipelineOptions::getTileOptions() const {
  std::string s = " target=cuda";
  llvm::raw_string_ostream os(s);
  if (!strategy.empty())
    os << " strategy=" << strategy;
  if (threads > 0)
    os << " threads=" << threads;
  if (rows > 0)
    os << " rows=" << rows;
  if (vectorWidth > 0)
    os << " vector-width=" << vectorWidth;
  if (chunks > 0)
    os << " chunks=" << chunks;
  if (force)
    os << " force=true";
  return s;
}

LogicalResult normlir::buildCUDAPipeline(OpPassManager &pm,
                                         const CUDATarget &target,
                                         StringRef tileOptions) {
  static std::once_flag upstream;
  std::call_once(upstream, [] { mlir::registerAllPasses(); });
  normlir::registerAllPasses();
  std::string format = target.format;
  std::string toolkit;
  if (format == "auto" || format == "bin" || format == "fatbin") {
    std::string ptxas = findPtxas();
    if (ptxas.empty() && format != "auto") {
      llvm::errs() << "normlir-cuda-pipeline: format=" << format
                   << " needs ptxas (CUDA toolkit): none found in $CUDA_ROOT, "
                      "$CUDA_HOME, $CUDA_PATH, /usr/local/cuda or PATH\n";
      return failure();
    }
    if (!ptxas.empty()) {
      // gpu-module-to-binary looks for <toolkit>/bin/ptxas.
      toolkit =
          llvm::sys::path::parent_path(llvm::sys::path::parent_path(ptxas))
              .str();
      if (format == "auto")
        format = "bin";
    } else {
      format = "isa";
    }
  }
  if (format != "bin" && format != "isa" && format != "fatbin") {
    llvm::errs() << "normlir-cuda-pipeline: format must be auto, bin, isa or "
                    "fatbin, got '"
                 << format << "'\n";
    return failure();
  }
  std::string features = target.features;
  if (features.empty())
    features = "+ptx80";
  std::string text;
  llvm::raw_string_ostream os(text);
  os << kCPUPipelineHead << "norm-tile{" << tileOptions << "},"
     << kGPUPipelineMiddle << "nvvm-attach-target{chip=" << target.chip
     << " features=" << features << " O=" << target.optLevel << "},"
     << kGPUPipelineDevice << "gpu-module-to-binary{format=" << format;
  if (!toolkit.empty())
    os << " toolkit=" << toolkit;
  os << "}," << kGPUPipelineHost;
  return parsePassPipeline(text, pm, llvm::errs());
}

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
  // Registered without PassPipelineRegistration so that a bad option (an
  // unknown format, no ptxas for format=bin) is an error, not an abort.
  mlir::registerPassPipeline(
      "normlir-cuda-pipeline",
      "Lower norm ops on tensors to LLVM host code launching NVVM kernels "
      "(cubin with ptxas, else PTX for the driver); results become "
      "out-parameters. Buffers are device memory",
      [](OpPassManager &pm, StringRef optionsStr,
         function_ref<LogicalResult(const Twine &)> errorHandler) {
        normlir::CUDAPipelineOptions options;
        if (failed(options.parseFromString(optionsStr)))
          return failure();
        normlir::CUDATarget target;
        target.chip = options.chip;
        target.features = options.features;
        target.format = options.format;
        target.optLevel = options.optLevel;
        if (failed(normlir::buildCUDAPipeline(pm, target,
                                              options.getTileOptions())))
          return errorHandler("normlir-cuda-pipeline: invalid options");
        return success();
      },
      [](function_ref<void(const mlir::detail::PassOptions &)> optHandler) {
        optHandler(normlir::CUDAPipelineOptions());
      });
}
