//===- FuseGrad.cpp - row-norm backward chains into norm.grad_kernel ------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// `norm-fuse-grad`: the backward norm-differentiate derives for a norm whose
// statistics come from its input (statistics recomputed from x or saved by
// the forward, grad_moments, apply_grad, param_grad) becomes one
// norm.grad_kernel: row
// norms (LayerNorm, RMSNorm) and channel norms (BatchNorm training,
// InstanceNorm, GroupNorm) in the layouts the CPU lowering takes
// (classifyGradKernel). The match starts at norm.apply_grad and checks that
// every piece reads the same input, gradient, statistics and weight;
// anything else is left alone.
//
//===----------------------------------------------------------------------===//

#include "normlir/Dialect/Norm/Transforms/Passes.h"

#include "normlir/Dialect/Norm/Utils/KernelLayout.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace normlir::norm {
#define GEN_PASS_DEF_NORMFUSEGRAD
#include "normlir/Dialect/Norm/Transforms/Passes.h.inc"
} // namespace normlir::norm

using namespace mlir;
using namespace normlir::norm;

namespace {

/// `v` (null: nothing) is available at `op`: a value of an enclosing
/// region, or defined earlier in `op`'s block.
bool definedBefore(Value v, Operation *op) {
  if (!v)
    return true;
  Operation *def = v.getDefiningOp();
  Block *block = def ? def->getBlock() : cast<BlockArgument>(v).getOwner();
  if (block != op->getBlock()) {
    Operation *ancestor = block->findAncestorOpInBlock(*op);
    return ancestor && (!def || def->isBeforeInBlock(ancestor));
  }
  return !def || def->isBeforeInBlock(op);
}

struct FuseGrad : OpRewritePattern<ApplyGradOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(ApplyGradOp op,
                                PatternRewriter &rewriter) const override {
    Value x = op.getX(), dy = op.getGrad(), mean = op.getMean();
    Value rstd = op.getRstd(), w = op.getWeight();
    auto xType = dyn_cast<RankedTensorType>(x.getType());
    if (!xType || !op.getMeanGxhat())
      return rewriter.notifyMatchFailure(op, "not a statistics-from-input "
                                             "backward on tensors");
    // The forward statistics: recomputed from x, or saved (any other
    // values; grad_moments' C3 gives them the kernel's reduced shape).
    auto gm = op.getMeanGxhat().getDefiningOp<GradMomentsOp>();
    if (!gm)
      return rewriter.notifyMatchFailure(op, "mean_gxhat is not grad_moments");
    ArrayRef<int64_t> axes = gm.getAxes();
    bool centered = bool(mean);
    auto rstdOp = rstd.getDefiningOp<RstdOp>();
    bool saved = !rstdOp;
    if (rstdOp) {
      Value var = rstdOp.getVariance();
      if (auto m = var.getDefiningOp<MomentsOp>()) {
        if (m.getInput() != x || m.getVariance() != var || m.getMean() != mean)
          return rewriter.notifyMatchFailure(op, "moments of another value");
        axes = m.getAxes();
      } else if (auto ms = var.getDefiningOp<MeanSquareOp>()) {
        if (ms.getInput() != x || mean)
          return rewriter.notifyMatchFailure(op,
                                             "mean square of another value");
        axes = ms.getAxes();
      } else {
        return rewriter.notifyMatchFailure(op, "statistics not from x");
      }
    } else {
      if (mean && mean.getDefiningOp<MomentsOp>())
        return rewriter.notifyMatchFailure(op, "a recomputed mean with a "
                                               "saved rstd");
    }
    // Its backward statistics.
    if (gm.getX() != x || gm.getGrad() != dy || gm.getMean() != mean ||
        gm.getRstd() != rstd || gm.getWeight() != w || gm.getAxes() != axes ||
        gm.getParamAxes() != op.getParamAxes() ||
        op.getMeanGxhat() != gm.getMeanGxhat() ||
        (centered ? op.getMeanG() != gm.getMeanG() : bool(op.getMeanG())))
      return rewriter.notifyMatchFailure(op, "grad_moments do not match");
    // The parameter gradients of the same norm, if any (one op; dead
    // results were never built apart), along the weight's axes.
    ParamGradOp pg;
    for (Operation *user : dy.getUsers())
      if (auto p = dyn_cast<ParamGradOp>(user))
        if (p.getX() == x && p.getGrad() == dy && p.getMean() == mean &&
            p.getRstd() == rstd &&
            (!w || p.getParamAxes() == op.getParamAxes())) {
          pg = p;
          break;
        }
    // Without parameters a row norm keeps the row form (parameter axes
    // = axes); any other norm has none.
    SmallVector<int64_t> paramAxes;
    if (w || pg)
      llvm::append_range(paramAxes, w ? op.getParamAxes() : pg.getParamAxes());
    else if (classifyGradKernel(xType.getShape(), axes, axes) == GradForm::Row)
      paramAxes.assign(axes.begin(), axes.end());
    std::string why;
    if (!classifyGradKernel(xType.getShape(), axes, paramAxes, &why))
      return rewriter.notifyMatchFailure(op, why);
    // The kernel goes before the first op it replaces (every use of what it
    // replaces comes later): a param_grad before the apply_grad joins only
    // if the weight, which only the apply_grad reads, is defined before it.
    if (pg && (pg->getBlock() != op->getBlock() ||
               (pg->isBeforeInBlock(op) && !definedBefore(w, pg))))
      pg = ParamGradOp();

    Location loc = op.getLoc();
    rewriter.setInsertionPoint(
        pg && pg->isBeforeInBlock(op) ? pg.getOperation() : op.getOperation());
    SmallVector<Value> outs = {tensor::EmptyOp::create(
        rewriter, loc, xType.getShape(), xType.getElementType())};
    if (pg) {
      auto pt = cast<RankedTensorType>(pg.getWeightGrad().getType());
      for (int i = 0; i < 2; ++i)
        outs.push_back(tensor::EmptyOp::create(rewriter, loc, pt.getShape(),
                                               pt.getElementType()));
    }
    auto kernel = GradKernelOp::create(
        rewriter, loc, ValueRange(outs).getTypes(), x, dy,
        saved ? mean : Value(), saved ? rstd : Value(), w, outs,
        rewriter.getDenseI64ArrayAttr(axes),
        saved ? rewriter.getF64FloatAttr(0.0) : rstdOp.getEpsilonAttr(),
        centered ? rewriter.getUnitAttr() : UnitAttr(),
        saved ? UnitAttr() : rstdOp.getZeroDegenerateAttr(),
        ArrayRef<int64_t>(paramAxes) == axes
            ? DenseI64ArrayAttr()
            : rewriter.getDenseI64ArrayAttr(paramAxes));
    rewriter.replaceOp(op, kernel.getResult(0));
    if (pg)
      rewriter.replaceOp(pg, {kernel.getResult(1), kernel.getResult(2)});
    return success();
  }
};

struct NormFuseGradPass
    : public normlir::norm::impl::NormFuseGradBase<NormFuseGradPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseGrad>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
