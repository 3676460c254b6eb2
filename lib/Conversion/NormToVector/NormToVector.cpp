//===- NormToVector.cpp - norm.kernel to threaded vector loops ------------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// Lowers a bufferized norm.kernel, following its #norm.schedule, to
// scf.parallel loops (threads) around scf.for loops of vector code. All
// buffers are flattened to 1-D; trip counts are static except along the
// dynamic dimensions of a kernel (a dynamic number of rows), whose
// `variants` become a branch on that number. Each strategy is
// a rewrite pattern (Row.cpp, Segment.cpp, Column.cpp) over the shared
// machinery of VectorEmitter.h.
//
//===----------------------------------------------------------------------===//

#include "normlir/Conversion/NormToVector/NormToVector.h"

#include "VectorEmitter.h"

#include "normlir/Dialect/Norm/IR/Norm.h"
#include "normlir/Dialect/Norm/Utils/EmitterBase.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Rewrite/FrozenRewritePatternSet.h"
#include "mlir/Rewrite/PatternApplicator.h"

namespace normlir {
#define GEN_PASS_DEF_CONVERTNORMTOVECTOR
#include "normlir/Conversion/Passes.h.inc"
} // namespace normlir

using namespace mlir;
using namespace normlir;
using namespace normlir::norm;

void normlir::populateNormToVectorPatterns(RewritePatternSet &patterns) {
  patterns.add<normtovector::LowerRowKernel, normtovector::LowerSegmentKernel,
               normtovector::LowerColumnKernel>(patterns.getContext());
}

namespace {
struct ConvertNormToVectorPass
    : public normlir::impl::ConvertNormToVectorBase<ConvertNormToVectorPass> {
  LogicalResult initialize(MLIRContext *context) override {
    RewritePatternSet set(context);
    populateNormToVectorPatterns(set);
    patterns = FrozenRewritePatternSet(std::move(set));
    return success();
  }

  /// Lowers the kernels one at a time, in order, and stops at the first
  /// that cannot be lowered: no pattern driver that folds, erases dead ops
  /// or revisits new ones, so the loops come out exactly as built.
  void runOnOperation() override {
    PatternApplicator applicator(patterns);
    applicator.applyDefaultCostModel();
    PatternRewriter rewriter(&getContext());
    SmallVector<KernelOp> kernels;
    getOperation()->walk([&](KernelOp k) { kernels.push_back(k); });
    // A kernel with variants becomes a branch between copies of it, one
    // per schedule.
    SmallVector<KernelOp> scheduled;
    for (KernelOp k : kernels) {
      if (!k.getVariantsAttr()) {
        scheduled.push_back(k);
        continue;
      }
      std::string why;
      std::optional<KernelLayout> layout = getKernelLayout(k, &why);
      if (failed(checkBufferizedKernel(k, /*diagnose=*/true)))
        return signalPassFailure();
      if (!layout) {
        k.emitError() << "cannot vectorize: " << why;
        return signalPassFailure();
      }
      expandKernelVariants(rewriter, k, scheduled);
    }
    for (KernelOp k : scheduled) {
      if (failed(checkKernel(k)) ||
          failed(applyKernelPatterns(k, applicator, rewriter)))
        return signalPassFailure();
    }
    // Backward kernels: one lowering, which reports its own errors.
    SmallVector<GradKernelOp> gradKernels;
    getOperation()->walk([&](GradKernelOp k) { gradKernels.push_back(k); });
    for (GradKernelOp k : gradKernels) {
      rewriter.setInsertionPoint(k);
      if (failed(normtovector::LowerGradKernel(&getContext())
                     .matchAndRewrite(k, rewriter)))
        return signalPassFailure();
    }
  }

  /// What every strategy needs, with a located error when it is missing.
  static LogicalResult checkKernel(KernelOp k) {
    if (failed(checkBufferizedKernel(k, /*diagnose=*/true)))
      return failure();
    if (isa_and_nonnull<GPUScheduleAttr>(k.getScheduleAttr()))
      return k.emitError(
          "has a GPU schedule; lower it with "
          "convert-norm-to-gpu, or re-run norm-select-schedule with "
          "force");
    if (!isa_and_nonnull<ScheduleAttr>(k.getScheduleAttr()))
      return k.emitError("has no schedule; run norm-select-schedule first");
    std::string why;
    if (!getKernelLayout(k, &why))
      return k.emitError() << "cannot vectorize: " << why;
    return success();
  }

  FrozenRewritePatternSet patterns;
};
} // namespace
