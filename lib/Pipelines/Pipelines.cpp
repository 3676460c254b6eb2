//===- Pipelines.cpp - NormLIR named pass pipelines -----------------------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//

#include "normlir/Pipelines/Pipelines.h"
#include "normlir/Conversion/Passes.h"
#include "normlir/Dialect/Norm/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"

#include <mutex>

using namespace mlir;
using namespace normlir;

// The pipelines are built in C++ from typed pass options, as upstream's
// GPUToNVVMPipeline.cpp: no option value is ever re-parsed as pipeline text
// (`normlir-opt --dump-pass-pipeline` prints the whole as text).
//   0. norm-attach-{cpu,cuda}-target records the target on the module: every
//      later decision reads it from there, never from the machine.
//   1. norm-expand, then norm-fuse and norm-select-schedule: each
//      normalization becomes one norm.kernel with a recorded schedule; what
//      cannot be fused goes through convert-norm-to-linalg.
//   2. one-shot-bufferize with function boundaries and identity layouts, then
//      results become caller-owned out-parameters (static result allocations
//      are hoisted into them, dynamic ones folded into them after a check of
//      their sizes, so no copy; a buffer returned twice is first split so
//      that each result has its own).
//   3. Kernels -> scf.parallel + vector loops; after deallocation, runtime
//      checks (dynamic shapes) -> an early return of a status at the start
//      of the function (norm-lower-checks); linalg -> loops; scf.parallel
//      -> OpenMP; then everything to LLVM. bf16 extf/truncf are expanded to
//      integer ops unless the target converts natively (norm-legalize-bf16),
//      and f16/bf16 masked loads/stores move i16 vectors, since the host C
//      runtime need not provide the conversion functions.

/// Stage 1 (both pipelines): named ops to core ops, fused into kernels.
/// `returnedPrologue`: a residual add whose sum is also returned joins the
/// kernel, which writes the sum (the CPU lowering does; the GPU's not yet).
static void addFusionPasses(OpPassManager &pm, bool returnedPrologue) {
  // The input's linalg ops, before norm-expand adds its own.
  pm.addNestedPass<func::FuncOp>(norm::createNormCheckShapes());
  pm.addPass(norm::createNormExpand());
  norm::NormFuseOptions fuse;
  fuse.returnedPrologue = returnedPrologue;
  pm.addPass(norm::createNormFuse(fuse));
}

/// Stage 2 (both pipelines): the rest to linalg, then bufferization with
/// out-parameters.
static void addBufferizationPasses(OpPassManager &pm) {
  pm.addPass(createConvertNormToLinalg());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  pm.addNestedPass<func::FuncOp>(norm::createNormUniquifyReturnedBuffers());
  bufferization::BufferResultsToOutParamsPassOptions outParams;
  outParams.hoistStaticAllocs = true;
  outParams.modifyPublicFunctions = true;
  pm.addPass(bufferization::createBufferResultsToOutParamsPass(outParams));
  pm.addNestedPass<func::FuncOp>(norm::createNormFoldResultCopies());
}

/// Both pipelines: host code (memrefs, math, control flow, functions) to the
/// LLVM dialect.
static void addHostToLLVMPasses(OpPassManager &pm) {
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
}

/// Stage 3 of the CPU pipeline: kernels to vector loops on OpenMP threads,
/// then everything to LLVM.
static void addCPUCodegenPasses(OpPassManager &pm) {
  pm.addPass(createConvertNormToVector());
  bufferization::buildBufferDeallocationPipeline(pm);
  pm.addPass(createCanonicalizerPass());
  // Runtime checks (dynamic shapes) move to the start of their function
  // and return a status there, before anything is allocated (after the
  // canonicalizer has folded the sizes of allocations to their operands).
  pm.addPass(norm::createNormLowerChecks());
  pm.addNestedPass<func::FuncOp>(norm::createNormParallelizeElementwise());
  pm.addPass(createConvertLinalgToLoopsPass());
  pm.addPass(createConvertSCFToOpenMPPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(arith::createArithExpandOpsPass());
  pm.addPass(norm::createNormLegalizeBF16());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createConvertVectorToLLVMPass());
  pm.addPass(createNormLegalizeHalfMaskedMemory());
  addHostToLLVMPasses(pm);
  pm.addPass(createConvertOpenMPToLLVMPass());
  pm.addPass(createConvertNormTargetToLLVM());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

// The GPU pipeline shares stages 0-2 with the CPU one, then:
//   4. convert-norm-to-gpu: kernels -> gpu.launch (outlined at once, before
//      the greedy passes below could hoist their constants out of them);
//      norm-host-buffers-to-device: temporaries -> gpu.alloc, copies ->
//      gpu.memcpy.
//   5. The remaining linalg ops (running-statistics updates) -> parallel
//      loops tiled by 256 -> gpu.launch (blocks x threads) -> outlined.
//   6. One stream per call (gpu-async-region), kernels -> NVVM -> PTX ->
//      cubin (ptxas) or PTX for the driver to compile; host -> LLVM calling
//      the mgpu* runtime functions (NormLIR's own CUDA runtime provides
//      them).

/// Stages 4-5: kernels and the remaining host code to outlined launches.
static void addGPUKernelPasses(OpPassManager &pm) {
  pm.addPass(createConvertNormToGPU());
  pm.addPass(createNormHostBuffersToDevice());
  pm.addPass(createGpuKernelOutliningPass());
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToParallelLoopsPass());
  pm.addNestedPass<func::FuncOp>(createParallelLoopTilingPass(
      /*tileSize=*/{256}, /*noMinMaxBounds=*/true));
  pm.addNestedPass<func::FuncOp>(createGpuMapParallelLoopsPass());
  pm.addNestedPass<func::FuncOp>(createConvertParallelLoopToGpuPass());
  pm.addPass(createGpuKernelOutliningPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(norm::createNormLowerChecks());
  pm.addNestedPass<func::FuncOp>(createGpuAsyncRegionPass());
}

/// Stage 6, device side: the outlined kernels to NVVM.
static void addGPUDevicePasses(OpPassManager &pm) {
  OpPassManager &device = pm.nest<gpu::GPUModuleOp>();
  device.addPass(createSCFToControlFlowPass());
  device.addPass(createConvertGpuOpsToNVVMOps());
  device.addPass(createCanonicalizerPass());
  device.addPass(createCSEPass());
  device.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createGpuToLLVMConversionPass());
}

/// Stage 6, host side: launches and buffers to LLVM calls of the runtime.
static void addGPUHostPasses(OpPassManager &pm) {
  pm.addPass(createSCFToControlFlowPass());
  addHostToLLVMPasses(pm);
  pm.addPass(createConvertNormTargetToLLVM());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

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

norm::NormSelectScheduleOptions
normlir::CUDAPipelineOptions::getScheduleOptions() const {
  norm::NormSelectScheduleOptions o;
  o.target = "cuda";
  o.strategy = strategy;
  o.threads = threads;
  o.rows = rows;
  o.vectorWidth = vectorWidth;
  o.chunks = chunks;
  o.force = force;
  o.tuningDB = tuningDB;
  return o;
}

norm::NormSelectScheduleOptions
normlir::CPUPipelineOptions::getScheduleOptions() const {
  norm::NormSelectScheduleOptions o;
  o.strategy = strategy;
  o.vectorWidth = vectorWidth;
  o.unroll = unroll;
  o.chunks = chunks;
  o.rowTasks = rowTasks;
  o.prefetch = prefetch;
  o.nontemporal = nontemporal;
  o.parallel = parallel;
  o.gradStatistics = gradStatistics;
  o.force = force;
  o.tuningDB = tuningDB;
  return o;
}

/// norm-attach-cpu-target built from `target`.
static std::unique_ptr<Pass> createAttachCPUTarget(const CPUTarget &target) {
  norm::NormAttachCPUTargetOptions options;
  options.cpu = target.cpu;
  options.features = target.features;
  return norm::createNormAttachCPUTarget(options);
}

/// The integer and string options of a schedule and their fields.
static constexpr std::pair<llvm::StringLiteral,
                           int64_t norm::NormSelectScheduleOptions::*>
    kIntegerOptions[] = {
        {"vector-width", &norm::NormSelectScheduleOptions::vectorWidth},
        {"unroll", &norm::NormSelectScheduleOptions::unroll},
        {"chunks", &norm::NormSelectScheduleOptions::chunks},
        {"row-tasks", &norm::NormSelectScheduleOptions::rowTasks},
        {"prefetch", &norm::NormSelectScheduleOptions::prefetch},
        {"threads", &norm::NormSelectScheduleOptions::threads},
        {"rows", &norm::NormSelectScheduleOptions::rows}};
static constexpr std::pair<llvm::StringLiteral,
                           std::string norm::NormSelectScheduleOptions::*>
    kStringOptions[] = {
        {"strategy", &norm::NormSelectScheduleOptions::strategy},
        {"nontemporal", &norm::NormSelectScheduleOptions::nontemporal},
        {"parallel", &norm::NormSelectScheduleOptions::parallel},
        {"grad-statistics", &norm::NormSelectScheduleOptions::gradStatistics}};

llvm::Expected<norm::NormSelectScheduleOptions>
normlir::parseScheduleOptions(llvm::StringRef schedule,
                              llvm::StringRef target) {
  norm::NormSelectScheduleOptions o;
  o.target = target.str();
  llvm::SmallVector<llvm::StringRef> words;
  llvm::SplitString(schedule, words);
  for (llvm::StringRef word : words) {
    std::pair<llvm::StringRef, llvm::StringRef> keyValue = word.split('=');
    llvm::StringRef key = keyValue.first, value = keyValue.second;
    bool hasValue = word.contains('=');
    auto bad = [&](const llvm::Twine &why) {
      return llvm::createStringError("invalid schedule option '" + word +
                                     "': " + why);
    };
    // Radix 0 (0x10, 010, 0b10) as llvm::cl reads the textual pipelines'
    // options, so both spellings mean the same.
    auto integer = [&](int64_t &out) -> llvm::Error {
      if (!hasValue || value.getAsInteger(/*Radix=*/0, out))
        return bad("expected an integer");
      return llvm::Error::success();
    };
    auto string = [&](std::string &out) -> llvm::Error {
      if (!hasValue)
        return bad("expected a value");
      out = value.str();
      return llvm::Error::success();
    };
    auto parse = [&]() -> llvm::Error {
      for (auto [name, member] : kIntegerOptions)
        if (key == name)
          return integer(o.*member);
      for (auto [name, member] : kStringOptions)
        if (key == name)
          return string(o.*member);
      if (key == "target") {
        // Accepted for symmetry with norm-select-schedule's options; it must
        // agree.
        if (!hasValue || value != target)
          return bad("the schedule is for target=" + target);
        return llvm::Error::success();
      }
      if (key == "force") {
        if (!hasValue || value == "true" || value == "1")
          o.force = true;
        else if (value == "false" || value == "0")
          o.force = false;
        else
          return bad("expected true or false");
        return llvm::Error::success();
      }
      return bad(
          "unknown option '" + key +
          "' (strategy, vector-width, unroll, chunks, row-tasks, prefetch, "
          "nontemporal, parallel, grad-statistics, threads, rows, force)");
    };
    llvm::Error err = parse();
    if (err)
      return std::move(err);
  }
  if (llvm::Error err = norm::checkNormSelectScheduleOptions(o))
    return llvm::createStringError("invalid schedule '" + schedule.str() +
                                   "': " + llvm::toString(std::move(err)));
  return o;
}

/// Checks `tile` for `target` and appends norm-select-schedule built from it.
static llvm::Error appendSelectSchedule(OpPassManager &pm,
                                        norm::NormSelectScheduleOptions tile,
                                        llvm::StringRef target) {
  tile.target = target.str();
  if (llvm::Error err = norm::checkNormSelectScheduleOptions(tile))
    return llvm::createStringError("invalid schedule option: " +
                                   llvm::toString(std::move(err)));
  pm.addPass(norm::createNormSelectSchedule(tile));
  return llvm::Error::success();
}

llvm::Error
normlir::buildCUDAPipeline(OpPassManager &pm, const CUDATarget &target,
                           const norm::NormSelectScheduleOptions &tile) {
  std::string format = target.format;
  if (format != "auto" && format != "bin" && format != "isa" &&
      format != "fatbin")
    return llvm::createStringError("format must be auto, bin, isa or fatbin, "
                                   "got '" +
                                   format + "'");
  if (target.optLevel > 3)
    return llvm::createStringError("opt-level must be 0 to 3, got " +
                                   std::to_string(target.optLevel));
  std::string toolkit;
  std::optional<unsigned> ptxasMax;
  if (format != "isa") {
    std::string ptxas = findPtxas();
    if (ptxas.empty() && format != "auto")
      return llvm::createStringError(
          "format=" + format +
          " needs ptxas (CUDA toolkit): none found in $CUDA_ROOT, "
          "$CUDA_HOME, $CUDA_PATH, /usr/local/cuda or PATH");
    if (!ptxas.empty()) {
      // gpu-module-to-binary looks for <toolkit>/bin/ptxas.
      toolkit =
          llvm::sys::path::parent_path(llvm::sys::path::parent_path(ptxas))
              .str();
      ptxasMax = getPtxasMaxPTXVersion(ptxas);
      if (format == "auto")
        format = "bin";
    } else {
      format = "isa";
    }
  }
  auto features = resolvePTXFeatures(target.chip, target.features, ptxasMax);
  if (!features)
    return features.takeError();
  if (target.multiprocessors < 0)
    return llvm::createStringError("multiprocessors must not be negative, "
                                   "got " +
                                   std::to_string(target.multiprocessors));

  norm::NormAttachCUDATargetOptions attachTarget;
  attachTarget.chip = target.chip;
  attachTarget.multiprocessors = target.multiprocessors;
  pm.addPass(norm::createNormAttachCUDATarget(attachTarget));
  addFusionPasses(pm, /*returnedPrologue=*/false);
  if (auto err = appendSelectSchedule(pm, tile, "cuda"))
    return err;
  addBufferizationPasses(pm);
  addGPUKernelPasses(pm);
  GpuNVVMAttachTargetOptions attach;
  attach.chip = target.chip;
  attach.features = *features;
  attach.optLevel = target.optLevel;
  pm.addPass(createGpuNVVMAttachTarget(attach));
  addGPUDevicePasses(pm);
  GpuModuleToBinaryPassOptions binary;
  binary.compilationTarget = format;
  binary.toolkitPath = toolkit;
  pm.addPass(createGpuModuleToBinaryPass(binary));
  addGPUHostPasses(pm);
  return llvm::Error::success();
}

llvm::Error
normlir::buildCPUPipeline(OpPassManager &pm,
                          const norm::NormSelectScheduleOptions &tile,
                          const CPUTarget &target) {
  pm.addPass(createAttachCPUTarget(target));
  addFusionPasses(pm, /*returnedPrologue=*/true);
  // Backward row norms (norm-differentiate's functions) as fused kernels;
  // the GPU takes the gradient ops through linalg.
  pm.addPass(norm::createNormFuseGrad());
  if (auto err = appendSelectSchedule(pm, tile, "cpu"))
    return err;
  addBufferizationPasses(pm);
  addCPUCodegenPasses(pm);
  return llvm::Error::success();
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
  // Registered with an error handler rather than PassPipelineRegistration,
  // whose builder cannot fail: a bad option (an unknown chip, a schedule
  // value out of range) is an error, not an abort.
  mlir::registerPassPipeline(
      "normlir-cpu-pipeline",
      "Lower norm ops on tensors to LLVM for the host CPU (results become "
      "out-parameters); the options override norm-select-schedule's schedule "
      "choice",
      [](OpPassManager &pm, StringRef optionsStr,
         function_ref<LogicalResult(const Twine &)> errorHandler) {
        normlir::CPUPipelineOptions options;
        if (failed(options.parseFromString(optionsStr)))
          return failure();
        normlir::CPUTarget target;
        target.cpu = options.targetCPU;
        target.features = options.targetFeatures;
        if (llvm::Error err = normlir::buildCPUPipeline(
                pm, options.getScheduleOptions(), target))
          return errorHandler("normlir-cpu-pipeline: " +
                              llvm::toString(std::move(err)));
        return success();
      },
      [](function_ref<void(const mlir::detail::PassOptions &)> optHandler) {
        optHandler(normlir::CPUPipelineOptions());
      });
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
        target.multiprocessors = options.multiprocessors;
        if (llvm::Error err = normlir::buildCUDAPipeline(
                pm, target, options.getScheduleOptions()))
          return errorHandler("normlir-cuda-pipeline: " +
                              llvm::toString(std::move(err)));
        return success();
      },
      [](function_ref<void(const mlir::detail::PassOptions &)> optHandler) {
        optHandler(normlir::CUDAPipelineOptions());
      });
}
