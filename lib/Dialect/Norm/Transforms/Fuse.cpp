//===- Fuse.cpp - statistics + rstd + apply into one norm.kernel ----------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// `norm-fuse`: each norm.apply, with the norm.moments / norm.mean_square and
// norm.rstd that feed it from the same input, becomes one norm.kernel. The
// kernel's statistics results replace those of the fused ops, so other users
// (running-statistics updates, returned mean/rstd) read them unchanged.
//
//===----------------------------------------------------------------------===//

#include "normlir/Dialect/Norm/Transforms/Passes.h"

#include "normlir/Dialect/Norm/Utils/KernelLayout.h"

#include "mlir/IR/Dominance.h"
#include "mlir/IR/PatternMatch.h"

namespace normlir::norm {
#define GEN_PASS_DEF_NORMFUSE
#include "normlir/Dialect/Norm/Transforms/Passes.h.inc"
} // namespace normlir::norm

using namespace mlir;
using namespace normlir::norm;

namespace {

/// Fuses one apply; failure leaves the IR untouched.
static LogicalResult fuseApply(RewriterBase &rewriter, DominanceInfo &dom,
                               ApplyOp apply) {
  Value x = apply.getInput();
  auto xType = cast<RankedTensorType>(x.getType());
  auto rstdOp = apply.getRstd().getDefiningOp<RstdOp>();
  MomentsOp moments;
  MeanSquareOp meanSquare;
  if (rstdOp) {
    moments = rstdOp.getVariance().getDefiningOp<MomentsOp>();
    meanSquare = rstdOp.getVariance().getDefiningOp<MeanSquareOp>();
  }
  // The statistics must be of this apply's input, and the apply must centre
  // with the same moments' mean (or not at all, for mean_square).
  if (moments && (moments.getInput() != x ||
                  rstdOp.getVariance() != moments.getVariance() ||
                  apply.getMean() != moments.getMean()))
    moments = {};
  if (meanSquare && (meanSquare.getInput() != x || apply.getMean()))
    meanSquare = {};

  SmallVector<int64_t> axes;
  if (moments)
    axes.assign(moments.getAxes().begin(), moments.getAxes().end());
  else if (meanSquare)
    axes.assign(meanSquare.getAxes().begin(), meanSquare.getAxes().end());
  else {
    // Apply only: the broadcast dimensions of rstd are the reduced ones; the
    // mean must broadcast the same way.
    auto rstdType = cast<RankedTensorType>(apply.getRstd().getType());
    if (apply.getMean() && apply.getMean().getType() != rstdType)
      return failure();
    for (int64_t d = 0; d < xType.getRank(); ++d)
      if (rstdType.getDimSize(d) == 1 && xType.getDimSize(d) != 1)
        axes.push_back(d);
    SmallVector<int64_t> expected(xType.getShape());
    for (int64_t a : axes)
      expected[a] = 1;
    if (rstdType.getShape() != ArrayRef<int64_t>(expected))
      return failure();
  }
  if (!analyzeKernelLayout(xType.getShape(), axes, apply.getParamAxes()))
    return failure();
  // The kernel takes the apply's place: every other user of the fused
  // statistics must come after it.
  for (Operation *fused : {moments.getOperation(), meanSquare.getOperation(),
                           rstdOp.getOperation()}) {
    if (!fused || (!moments && !meanSquare))
      continue;
    for (Operation *user : fused->getUsers())
      if (user != apply && user != moments && user != meanSquare &&
          user != rstdOp && !dom.properlyDominates(apply.getOperation(), user))
        return failure();
  }

  Location loc = apply.getLoc();
  rewriter.setInsertionPoint(apply);
  SmallVector<int64_t> statShape(xType.getShape());
  for (int64_t a : axes)
    statShape[a] = 1;
  unsigned numOuts = moments ? 4 : meanSquare ? 3 : 1;
  SmallVector<Value> outs = {tensor::EmptyOp::create(
      rewriter, loc, xType.getShape(), xType.getElementType())};
  for (unsigned i = 1; i < numOuts; ++i)
    outs.push_back(tensor::EmptyOp::create(rewriter, loc, statShape,
                                           rewriter.getF32Type()));
  bool applyOnly = numOuts == 1;
  auto kernel = KernelOp::create(
      rewriter, loc, TypeRange(ValueRange(outs)), x,
      applyOnly ? apply.getMean() : Value(),
      applyOnly ? apply.getRstd() : Value(), apply.getWeight(), apply.getBias(),
      outs, rewriter.getDenseI64ArrayAttr(axes), apply.getParamAxesAttr(),
      applyOnly ? FloatAttr() : rstdOp.getEpsilonAttr(),
      apply->getAttrOfType<ScheduleAttr>("schedule"));
  rewriter.replaceOp(apply, kernel.getResult(0));
  if (moments) {
    rewriter.replaceOp(rstdOp, kernel.getResult(3));
    rewriter.replaceOp(moments, {kernel.getResult(1), kernel.getResult(2)});
  } else if (meanSquare) {
    rewriter.replaceOp(rstdOp, kernel.getResult(2));
    rewriter.replaceOp(meanSquare, kernel.getResult(1));
  }
  return success();
}

struct NormFusePass : public normlir::norm::impl::NormFuseBase<NormFusePass> {
  void runOnOperation() override {
    SmallVector<ApplyOp> applies;
    getOperation()->walk([&](ApplyOp op) { applies.push_back(op); });
    IRRewriter rewriter(&getContext());
    DominanceInfo dom(getOperation());
    for (ApplyOp apply : applies)
      (void)fuseApply(rewriter, dom, apply);
  }
};

} // namespace
