//===- FuseGrad.cpp - row-norm backward chains into norm.grad_kernel ------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// `norm-fuse-grad`: the backward norm-differentiate derives for a norm
// (statistics recomputed from x, saved by the forward, or constants of it
// such as BatchNorm eval's running statistics; grad_moments, apply_grad,
// param_grad) becomes one norm.grad_kernel: row
// norms (LayerNorm, RMSNorm) and channel norms (BatchNorm training,
// InstanceNorm, GroupNorm) in the layouts the CPU lowering takes
// (classifyGradKernel). The match starts at norm.apply_grad and checks that
// every piece reads the same input, gradient, statistics and weight;
// anything else is left alone. A kernel's dx that is then added to another
// gradient (a residual stream's, dh_out + dx) takes that gradient as its
// residual_grad (FuseResidualGrad).
//
//===----------------------------------------------------------------------===//

#include "normlir/Dialect/Norm/Transforms/Passes.h"

#include "normlir/Dialect/Norm/Utils/KernelLayout.h"
#include "normlir/Dialect/Norm/Utils/Utils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
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
    if (!xType)
      return rewriter.notifyMatchFailure(op, "not on tensors");
    SmallVector<int64_t> axes;
    bool centered = bool(mean);
    RstdOp rstdOp;
    bool refine = false; // Given statistics that are the input's own.
    // The parameter gradients of the same norm: one param_grad (dead
    // results were never built apart) reading the same statistics, along
    // the weight's axes.
    auto findParamGrad = [&](bool anyMean) {
      for (Operation *user : dy.getUsers())
        if (auto p = dyn_cast<ParamGradOp>(user))
          if (p.getX() == x && p.getGrad() == dy &&
              (anyMean || p.getMean() == mean) && p.getRstd() == rstd &&
              (!w || p.getParamAxes() == op.getParamAxes()))
            return p;
      return ParamGradOp();
    };
    ParamGradOp pg;
    // The backward statistics (absent with constant statistics).
    GradMomentsOp gm;
    bool constant = !op.getMeanGxhat();
    if (constant) {
      // Constant statistics (BatchNorm eval, InstanceNorm from running
      // statistics): dx = rstd * g; the mean, which only the parameter
      // gradients read, comes from their param_grad. The axes are those
      // along which the statistics broadcast.
      if (op.getMeanG())
        return rewriter.notifyMatchFailure(op, "mean_g without mean_gxhat");
      auto statType = cast<RankedTensorType>(rstd.getType());
      for (auto [i, d] : llvm::enumerate(statType.getShape()))
        if (d == 1 && xType.getDimSize(i) != 1)
          axes.push_back(int64_t(i));
      if (axes.empty())
        return rewriter.notifyMatchFailure(op, "statistics do not broadcast");
      pg = findParamGrad(/*anyMean=*/true);
      // The kernel takes the mean in rstd's shape (param_grad broadcasts
      // any): otherwise dx fuses alone.
      if (pg && pg.getMean() && pg.getMean().getType() != rstd.getType())
        pg = ParamGradOp();
      mean = pg ? pg.getMean() : Value();
      centered = bool(mean);
    } else {
      // The forward statistics: recomputed from x, or saved (any other
      // values; grad_moments' C3 gives them the kernel's reduced shape).
      gm = op.getMeanGxhat().getDefiningOp<GradMomentsOp>();
      if (!gm)
        return rewriter.notifyMatchFailure(op,
                                           "mean_gxhat is not grad_moments");
      llvm::append_range(axes, gm.getAxes());
      rstdOp = rstd.getDefiningOp<RstdOp>();
      if (rstdOp) {
        Value var = rstdOp.getVariance();
        ArrayRef<int64_t> statAxes;
        if (auto m = var.getDefiningOp<MomentsOp>()) {
          if (m.getInput() != x || m.getVariance() != var ||
              m.getMean() != mean)
            return rewriter.notifyMatchFailure(op, "moments of another value");
          statAxes = m.getAxes();
        } else if (auto ms = var.getDefiningOp<MeanSquareOp>()) {
          if (ms.getInput() != x || mean)
            return rewriter.notifyMatchFailure(op,
                                               "mean square of another value");
          statAxes = ms.getAxes();
        } else {
          return rewriter.notifyMatchFailure(op, "statistics not from x");
        }
        if (ArrayRef<int64_t>(axes) != statAxes)
          return rewriter.notifyMatchFailure(op, "grad_moments do not match");
      } else if (mean && mean.getDefiningOp<MomentsOp>()) {
        return rewriter.notifyMatchFailure(op, "a recomputed mean with a "
                                               "saved rstd");
      }
      // Its backward statistics.
      if (gm.getX() != x || gm.getGrad() != dy || gm.getMean() != mean ||
          gm.getRstd() != rstd || gm.getWeight() != w ||
          gm.getParamAxes() != op.getParamAxes() ||
          op.getMeanGxhat() != gm.getMeanGxhat() ||
          (centered ? op.getMeanG() != gm.getMeanG() : bool(op.getMeanG())))
        return rewriter.notifyMatchFailure(op, "grad_moments do not match");
      pg = findParamGrad(/*anyMean=*/false);
      refine = !rstdOp && gm.getInputStatistics();
    }
    // Statistics as operands: saved or constant.
    bool given = !rstdOp;
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
    // replaces comes later): a param_grad joins only if what only the other
    // op reads is defined before the first (the weight, which only the
    // apply_grad reads; with constant statistics the mean, which only the
    // param_grad does).
    if (pg && (pg->getBlock() != op->getBlock() ||
               (pg->isBeforeInBlock(op) ? !definedBefore(w, pg)
                                        : !definedBefore(mean, op)))) {
      pg = ParamGradOp();
      if (constant) {
        mean = Value();
        centered = false;
      }
    }

    // How the statistics are computed: by the kernel (recomputed), or, for
    // saved ones that are the input's own, by the forward (so that the
    // schedule may still recompute them); unused otherwise.
    FloatAttr epsilon = rewriter.getF64FloatAttr(0.0);
    UnitAttr zeroDegenerate;
    if (rstdOp) {
      epsilon = rstdOp.getEpsilonAttr();
      zeroDegenerate = rstdOp.getZeroDegenerateAttr();
    } else if (refine) {
      epsilon = gm.getEpsilonAttr();
      zeroDegenerate = gm.getZeroDegenerateAttr();
    }
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
        given ? mean : Value(), given ? rstd : Value(), w,
        /*residual_grad=*/Value(), outs, rewriter.getDenseI64ArrayAttr(axes),
        epsilon, centered ? rewriter.getUnitAttr() : UnitAttr(), zeroDegenerate,
        paramAxes == axes ? DenseI64ArrayAttr()
                          : rewriter.getDenseI64ArrayAttr(paramAxes),
        constant ? rewriter.getUnitAttr() : UnitAttr(),
        refine ? rewriter.getUnitAttr() : UnitAttr(),
        /*schedule=*/GradScheduleAttr());
    rewriter.replaceOp(op, kernel.getResult(0));
    if (pg)
      rewriter.replaceOp(pg, {kernel.getResult(1), kernel.getResult(2)});
    return success();
  }
};

/// The elementwise f32 sum of `g`'s two inputs rounded once to the output's
/// element type, `yield T(f32(a) + f32(b))` (the cotangent sum
/// norm-differentiate builds where a value has several uses), over
/// identity maps.
bool isRoundedSum(linalg::GenericOp g) {
  if (g.getNumDpsInputs() != 2 || !isElementwiseMap(g))
    return false;
  Block &body = g.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  Value v = yield.getOperand(0);
  if (auto t = v.getDefiningOp<arith::TruncFOp>())
    v = t.getIn();
  auto add = v.getDefiningOp<arith::AddFOp>();
  if (!add || !add.getType().isF32())
    return false;
  auto argOf = [&](Value s) -> int {
    if (auto e = s.getDefiningOp<arith::ExtFOp>())
      s = e.getIn();
    auto arg = dyn_cast<BlockArgument>(s);
    return arg && arg.getOwner() == &body ? int(arg.getArgNumber()) : -1;
  };
  int a = argOf(add.getLhs()), b = argOf(add.getRhs());
  if (!((a == 0 && b == 1) || (a == 1 && b == 0)))
    return false;
  // Nothing but the add, its casts and the yield.
  size_t ops = 1 + (add.getLhs() != body.getArgument(a)) +
               (add.getRhs() != body.getArgument(b)) +
               (yield.getOperand(0) != add.getResult());
  return llvm::range_size(body.without_terminator()) == ops;
}

/// dx + dresidual (a residual stream's gradient added to the kernel's dx,
/// possibly through the reshape of a norm-expand form, GroupNorm's channel
/// split) becomes the kernel's residual_grad (C11), so that dx is written
/// once.
struct FuseResidualGrad : OpRewritePattern<GradKernelOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(GradKernelOp k,
                                PatternRewriter &rewriter) const override {
    if (k.getResidualGrad() || k.getNumResults() == 0 ||
        !k.getResult(0).hasOneUse())
      return failure();
    Value dx = k.getResult(0);
    Operation *reshape = *dx.getUsers().begin();
    Value summand = dx;
    if (isa<tensor::CollapseShapeOp, tensor::ExpandShapeOp>(reshape)) {
      summand = reshape->getResult(0);
      if (!summand.hasOneUse())
        return failure();
    } else {
      reshape = nullptr;
    }
    auto g = dyn_cast<linalg::GenericOp>(*summand.getUsers().begin());
    // dx must be one of the sum's inputs (as its init it would be
    // overwritten, not added).
    if (!g || !isRoundedSum(g) || g.getDpsInits()[0] == summand)
      return rewriter.notifyMatchFailure(k, "dx is not added to a value");
    Value other = g.getDpsInputs()[g.getDpsInputs()[0] == summand ? 1 : 0];
    if (other == summand || other.getType() != summand.getType() ||
        g->getResult(0).getType() != summand.getType() ||
        !definedBefore(other, k))
      return rewriter.notifyMatchFailure(k, "not a residual gradient of dx's "
                                            "type available at the kernel");
    rewriter.setInsertionPoint(k);
    // The residual gradient in the kernel's shape: the inverse reshape.
    if (auto c = dyn_cast_or_null<tensor::CollapseShapeOp>(reshape))
      other = tensor::ExpandShapeOp::create(rewriter, k.getLoc(), dx.getType(),
                                            other, c.getReassociationIndices());
    else if (auto e = dyn_cast_or_null<tensor::ExpandShapeOp>(reshape))
      other =
          tensor::CollapseShapeOp::create(rewriter, k.getLoc(), dx.getType(),
                                          other, e.getReassociationIndices());
    auto fused = GradKernelOp::create(
        rewriter, k.getLoc(), k->getResultTypes(), k.getInput(), k.getGrad(),
        k.getMean(), k.getRstd(), k.getWeight(), other, k.getOuts(),
        k.getAxesAttr(), k.getEpsilonAttr(), k.getCenteredAttr(),
        k.getZeroDegenerateAttr(), k.getParamAxesAttr(),
        k.getConstantStatisticsAttr(), k.getInputStatisticsAttr(),
        k.getScheduleAttr());
    rewriter.replaceOp(g, summand);
    rewriter.replaceOp(k, fused.getResults());
    return success();
  }
};

struct NormFuseGradPass
    : public normlir::norm::impl::NormFuseGradBase<NormFuseGradPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseGrad, FuseResidualGrad>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
