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
#include "normlir/Dialect/Norm/Utils/Utils.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/IRMapping.h"
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
  SmallVector<Value> outs = {
      buildEmpty(rewriter, loc, xType.getShape(), xType.getElementType(), x)};
  for (unsigned i = 1; i < numOuts; ++i)
    outs.push_back(
        buildEmpty(rewriter, loc, statShape, rewriter.getF32Type(), x));
  bool applyOnly = numOuts == 1;
  auto kernel = KernelOp::create(
      rewriter, loc, TypeRange(ValueRange(outs)), x, ValueRange{},
      applyOnly ? apply.getMean() : Value(),
      applyOnly ? apply.getRstd() : Value(), apply.getWeight(), apply.getBias(),
      outs, rewriter.getDenseI64ArrayAttr(axes), apply.getParamAxesAttr(),
      applyOnly ? FloatAttr() : rstdOp.getEpsilonAttr(),
      applyOnly ? UnitAttr() : rstdOp.getZeroDegenerateAttr(),
      KernelKindAttr::get(rewriter.getContext(), moments ? KernelKind::Moments
                                                 : meanSquare
                                                     ? KernelKind::MeanSquare
                                                     : KernelKind::Apply),
      apply->getAttr("schedule"), ArrayAttr());
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

/// True for a linalg.generic that maps elements to elements: all loops
/// parallel, identity indexing maps, one result, a body of arith/math ops
/// that does not read the output's initial value.
static bool isElementwise(linalg::GenericOp g) {
  if (!isElementwiseMap(g))
    return false;
  for (Operation &op : g.getRegion().front().without_terminator())
    if (op.getNumRegions() != 0 ||
        !isa<arith::ArithDialect, math::MathDialect>(op.getDialect()))
      return false;
  return true;
}

/// Moves the body of `g` into `region` (its block takes the elements of
/// `g`'s inputs) and terminates it with norm.yield.
static void moveBody(RewriterBase &rewriter, linalg::GenericOp g,
                     Region &region) {
  Block &body = g.getRegion().front();
  Block *block = rewriter.createBlock(&region);
  IRMapping map;
  for (BlockArgument arg : body.getArguments().drop_back())
    map.map(arg, block->addArgument(arg.getType(), arg.getLoc()));
  rewriter.setInsertionPointToStart(block);
  for (Operation &op : body.without_terminator()) {
    // Constants captured from above are copied in.
    for (Value v : op.getOperands())
      if (!map.contains(v) && v.getParentRegion() != &g.getRegion())
        if (Operation *def = v.getDefiningOp();
            def && def->hasTrait<OpTrait::ConstantLike>())
          map.map(v, rewriter.clone(*def)->getResult(0));
    rewriter.clone(op, map);
  }
  Value yielded = map.lookup(body.getTerminator()->getOperand(0));
  YieldOp::create(rewriter, g.getLoc(), yielded);
}

/// An elementwise consumer that is the only user of the kernel's output
/// (an activation, a cast) becomes the kernel's epilogue.
static LogicalResult fuseEpilogue(RewriterBase &rewriter, DominanceInfo &dom,
                                  KernelOp k) {
  Value y = k.getResult(0);
  if (!k.getEpilogue().empty() || !y.hasOneUse())
    return failure();
  auto g = dyn_cast<linalg::GenericOp>(*y.getUsers().begin());
  if (!g || !isElementwise(g) || g.getNumDpsInputs() != 1 ||
      !g.getDpsInits()[0].getDefiningOp<tensor::EmptyOp>() ||
      cast<ShapedType>(g.getResult(0).getType()).getShape() !=
          cast<ShapedType>(y.getType()).getShape())
    return failure();
  // Values the body captures must be available at the kernel (constants
  // are copied).
  WalkResult captured = g.getRegion().walk([&](Operation *op) {
    for (Value v : op->getOperands()) {
      if (v.getParentRegion() == &g.getRegion())
        continue;
      Operation *def = v.getDefiningOp();
      if (def && def->hasTrait<OpTrait::ConstantLike>())
        continue;
      if (!dom.properlyDominates(v, k))
        return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  if (captured.wasInterrupted())
    return failure();
  // The kernel writes a fresh output of the consumer's type.
  rewriter.setInsertionPoint(k);
  auto outType = cast<RankedTensorType>(g.getResult(0).getType());
  Value init = buildEmpty(rewriter, k.getLoc(), outType.getShape(),
                          outType.getElementType(), y);
  rewriter.modifyOpInPlace(k, [&] {
    k.getOutsMutable()[0].assign(init);
    k.getResult(0).setType(outType);
  });
  moveBody(rewriter, g, k.getEpilogue());
  rewriter.replaceOp(g, k.getResult(0));
  return success();
}

/// An elementwise producer of the kernel's input that nothing else uses (a
/// residual add, a cast) becomes the kernel's prologue: the kernel reads
/// the producer's inputs instead. With `returned`, so does one that ops
/// after the kernel also read (a residual stream's sum): the kernel gets
/// one more out for it (C10) and they read that.
static LogicalResult fusePrologue(RewriterBase &rewriter, KernelOp k,
                                  bool returned) {
  Value x = k.getInput();
  auto g = x.getDefiningOp<linalg::GenericOp>();
  if (!k.getPrologue().empty() || !g || !isElementwise(g) ||
      g.getNumDpsInputs() < 1)
    return failure();
  bool escapes = !x.hasOneUse();
  if (escapes && (!returned || k.getPrologueResult() ||
                  llvm::any_of(x.getUses(), [&](OpOperand &use) {
                    Operation *user = use.getOwner();
                    return user == k ? use.getOperandNumber() != 0
                                     : user->getBlock() != k->getBlock() ||
                                           !k->isBeforeInBlock(user);
                  })))
    return failure();
  SmallVector<Value> inputs(g.getDpsInputs());
  if (llvm::any_of(inputs, [&](Value v) {
        auto t = dyn_cast<RankedTensorType>(v.getType());
        return !t || t.getShape() != cast<ShapedType>(x.getType()).getShape();
      }))
    return failure();
  if (escapes) {
    // The same kernel with one more out, for the prologue's value.
    auto xType = cast<RankedTensorType>(x.getType());
    rewriter.setInsertionPoint(k);
    SmallVector<Value> outs(k.getOuts());
    outs.push_back(buildEmpty(rewriter, k.getLoc(), xType.getShape(),
                              xType.getElementType(), x));
    auto wide = KernelOp::create(
        rewriter, k.getLoc(), TypeRange(ValueRange(outs)), k.getInput(),
        k.getExtraInputs(), k.getMean(), k.getRstd(), k.getWeight(),
        k.getBias(), outs, k.getAxesAttr(), k.getParamAxesAttr(),
        k.getEpsilonAttr(), k.getZeroDegenerateAttr(), k.getKindAttr(),
        k.getScheduleAttr(), k.getVariantsAttr());
    rewriter.inlineRegionBefore(k.getEpilogue(), wide.getEpilogue(),
                                wide.getEpilogue().end());
    rewriter.replaceUsesWithIf(
        x, wide.getResults().back(), [&](OpOperand &use) {
          return use.getOwner() != k && use.getOwner() != wide;
        });
    rewriter.replaceOp(k, wide.getResults().drop_back());
    k = wide;
  }
  rewriter.modifyOpInPlace(k, [&] {
    k.getInputMutable().assign(inputs.front());
    k.getExtraInputsMutable().assign(ArrayRef<Value>(inputs).drop_front());
  });
  moveBody(rewriter, g, k.getPrologue());
  rewriter.eraseOp(g);
  return success();
}

struct NormFusePass : public normlir::norm::impl::NormFuseBase<NormFusePass> {
  using NormFuseBase::NormFuseBase;

  void runOnOperation() override {
    SmallVector<ApplyOp> applies;
    getOperation()->walk([&](ApplyOp op) { applies.push_back(op); });
    IRRewriter rewriter(&getContext());
    DominanceInfo dom(getOperation());
    for (ApplyOp apply : applies)
      (void)fuseApply(rewriter, dom, apply);
    // Elementwise neighbours: a consumer of the output, a producer of the
    // input.
    SmallVector<KernelOp> kernels;
    getOperation()->walk([&](KernelOp k) { kernels.push_back(k); });
    for (KernelOp k : kernels) {
      if (!k.getResults().empty()) {
        (void)fuseEpilogue(rewriter, dom, k);
        (void)fusePrologue(rewriter, k, returnedPrologue);
      }
    }
  }
};

} // namespace
