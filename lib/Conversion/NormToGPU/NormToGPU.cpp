//===- NormToGPU.cpp - norm.kernel to GPU kernels -------------------------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// Lowers a bufferized norm.kernel, following its #norm.gpu_schedule, to
// gpu.launch ops (norm-host-buffers-to-device, HostBuffersToDevice.cpp, then
// moves the rest of the function's buffers onto the device). All buffers are
// flattened to 1-D; every size is static, so each thread's share of the work is
// known when the kernel is generated. Each strategy is a rewrite pattern
// (Row.cpp, Segment.cpp, Column.cpp, sharing the combine and apply kernels of
// Combine.cpp) over the machinery of GPUEmitter.h.
//
//===----------------------------------------------------------------------===//

#include "normlir/Conversion/NormToGPU/NormToGPU.h"

#include "GPUEmitter.h"

#include "normlir/Dialect/Norm/IR/Norm.h"
#include "normlir/Dialect/Norm/Utils/EmitterBase.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Rewrite/FrozenRewritePatternSet.h"
#include "mlir/Rewrite/PatternApplicator.h"

namespace normlir {
#define GEN_PASS_DEF_CONVERTNORMTOGPU
#include "normlir/Conversion/Passes.h.inc"
} // namespace normlir

using namespace mlir;
using namespace normlir;
using namespace normlir::norm;

void normlir::populateNormToGPUPatterns(RewritePatternSet &patterns) {
  patterns.add<normtogpu::LowerRowKernel, normtogpu::LowerSegmentKernel,
               normtogpu::LowerColumnKernel>(patterns.getContext());
}

namespace {
struct ConvertNormToGPUPass
    : public normlir::impl::ConvertNormToGPUBase<ConvertNormToGPUPass> {
  LogicalResult initialize(MLIRContext *context) override {
    RewritePatternSet set(context);
    populateNormToGPUPatterns(set);
    patterns = FrozenRewritePatternSet(std::move(set));
    return success();
  }

  /// Lowers the kernels one at a time, in order, and stops at the first
  /// that cannot be lowered: no pattern driver that folds, erases dead ops
  /// or revisits new ones, so the launches come out exactly as built
  /// (gpu-kernel-outlining runs right after this pass, before a greedy pass
  /// could hoist the kernels' constants into kernel arguments).
  void runOnOperation() override {
    PatternApplicator applicator(patterns);
    applicator.applyDefaultCostModel();
    PatternRewriter rewriter(&getContext());
    SmallVector<KernelOp> kernels;
    getOperation()->walk([&](KernelOp k) { kernels.push_back(k); });
    for (KernelOp k : kernels)
      if (failed(checkKernel(k)) ||
          failed(applyKernelPatterns(k, applicator, rewriter)))
        return signalPassFailure();
    // The GPU takes the gradient ops through linalg (the CUDA pipeline does
    // not run norm-fuse-grad); a fused backward kernel has no GPU lowering.
    WalkResult grad = getOperation()->walk([](GradKernelOp k) {
      k.emitError("norm.grad_kernel has no GPU lowering; the CUDA pipeline "
                  "lowers the unfused gradient ops (norm.grad_moments, "
                  "norm.apply_grad, norm.param_grad) instead");
      return WalkResult::interrupt();
    });
    if (grad.wasInterrupted())
      return signalPassFailure();
    getOperation()->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                            UnitAttr::get(&getContext()));
  }

  /// What every strategy needs, with a located error when it is missing.
  static LogicalResult checkKernel(KernelOp k) {
    if (failed(checkBufferizedKernel(k, /*diagnose=*/true)))
      return failure();
    if (!isa_and_nonnull<GPUScheduleAttr>(k.getScheduleAttr()))
      return k.emitError(
          "has no GPU schedule; run norm-select-schedule{target=cuda} "
          "first");
    std::string why;
    if (!getKernelLayout(k, &why))
      return k.emitError() << "cannot map to the GPU: " << why;
    if (k.getPrologueResult())
      return k.emitError("writes its prologue's value (C10), which only the "
                         "CPU lowering does; the CUDA pipeline leaves a "
                         "returned prologue unfused");
    return success();
  }

  FrozenRewritePatternSet patterns;
};
} // namespace
