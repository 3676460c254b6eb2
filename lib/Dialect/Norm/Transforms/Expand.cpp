//===- Expand.cpp - named norm ops to statistics + apply ------------------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// `norm-expand`: every named normalization becomes reductions over an axis set
// (norm.moments / norm.mean_square), norm.rstd and norm.apply. Statistics keep
// reduced dims as size 1; the (C)- or (N, G)-shaped side results PyTorch
// returns are collapses of them.
//
//===----------------------------------------------------------------------===//

#include "normlir/Dialect/Norm/Transforms/Passes.h"
#include "normlir/Dialect/Norm/Utils/Utils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace normlir::norm {
#define GEN_PASS_DEF_NORMEXPAND
#include "normlir/Dialect/Norm/Transforms/Passes.h.inc"
} // namespace normlir::norm

using namespace mlir;
using namespace normlir::norm;

namespace {

RankedTensorType f32Tensor(MLIRContext *ctx, ArrayRef<int64_t> shape) {
  return RankedTensorType::get(shape, Float32Type::get(ctx));
}

/// The input's shape with `axes` set to 1.
SmallVector<int64_t> keepDims(ArrayRef<int64_t> shape, ArrayRef<int64_t> axes) {
  SmallVector<int64_t> out(shape);
  for (int64_t a : axes)
    out[a] = 1;
  return out;
}

/// Statistics of `x` over `axes`: (mean, rstd) with reduced dims kept, and
/// the biased variance.
struct Stats {
  Value mean, variance, rstd;
};

/// `zeroDegenerate`: PyTorch's InvStd for batch statistics (norm.rstd).
Stats buildMoments(OpBuilder &b, Location loc, Value x, ArrayRef<int64_t> axes,
                   FloatAttr eps, bool zeroDegenerate = false) {
  auto xType = cast<RankedTensorType>(x.getType());
  auto statType = f32Tensor(b.getContext(), keepDims(xType.getShape(), axes));
  auto moments = MomentsOp::create(b, loc, statType, statType, x, axes);
  Value rstd = RstdOp::create(b, loc, statType, moments.getVariance(), eps,
                              zeroDegenerate ? b.getUnitAttr() : UnitAttr());
  return {moments.getMean(), moments.getVariance(), rstd};
}

/// The mean PyTorch's LayerNorm and GroupNorm kernels report: they compute
/// moments with Welford's update, whose mean is NaN once a slice holds +-inf
/// (inf - inf), where a sum gives +-inf. Exactly then the variance is NaN, so
/// the reported mean is NaN where the variance is. (BatchNorm sums: its
/// saved mean stays +-inf.) Outputs are NaN either way.
Value welfordReportedMean(OpBuilder &b, Location loc, Value mean,
                          Value variance) {
  return buildMap(b, loc, ValueRange{mean, variance},
                  cast<RankedTensorType>(mean.getType()),
                  [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                    Value isNaN = arith::CmpFOp::create(
                        nb, l, arith::CmpFPredicate::UNO, a[1], a[1]);
                    return arith::SelectOp::create(nb, l, isNaN, a[1], a[0]);
                  });
}

Value buildApply(OpBuilder &b, Location loc, Value x, Value mean, Value rstd,
                 Value weight, Value bias, ArrayRef<int64_t> paramAxes) {
  ArrayRef<int64_t> axes = (weight || bias) ? paramAxes : ArrayRef<int64_t>();
  return ApplyOp::create(b, loc, x.getType(), x, mean, rstd, weight, bias,
                         axes);
}

/// A (C)-shaped float tensor as f32.
Value toF32(OpBuilder &b, Location loc, Value v) {
  auto type = cast<RankedTensorType>(v.getType());
  if (type.getElementType().isF32())
    return v;
  return buildMap(b, loc, v, f32Tensor(b.getContext(), type.getShape()),
                  [](OpBuilder &nb, Location l, ValueRange args) {
                    return castFloat(nb, l, args[0], nb.getF32Type());
                  });
}

/// The unbiased variance's factor n / (n - 1) for `n` values per statistic:
/// the product of `x`'s dimensions `dims`, as an f32 scalar (computed at
/// run time where one of them is dynamic).
Value buildBesselFactor(OpBuilder &b, Location loc, Value x,
                        ArrayRef<int64_t> dims) {
  auto type = cast<RankedTensorType>(x.getType());
  bool dynamic =
      llvm::any_of(dims, [&](int64_t d) { return type.isDynamicDim(d); });
  if (!dynamic) {
    double n = 1;
    for (int64_t d : dims)
      n *= static_cast<double>(type.getDimSize(d));
    return arith::ConstantOp::create(
        b, loc, b.getF32FloatAttr(static_cast<float>(n / (n - 1.0))));
  }
  // In f64 as the static factor, rounded once.
  Value count = buildDimsProduct(b, loc, x, dims);
  Value n = arith::UIToFPOp::create(
      b, loc, b.getF64Type(),
      arith::IndexCastUIOp::create(b, loc, b.getI64Type(), count));
  Value one = arith::ConstantOp::create(b, loc, b.getF64FloatAttr(1.0));
  Value factor =
      arith::DivFOp::create(b, loc, n, arith::SubFOp::create(b, loc, n, one));
  return arith::TruncFOp::create(b, loc, b.getF32Type(), factor);
}

/// `new = (1 - m) * running + m * (stat * scale)`, in f32, stored in the
/// running statistic's type. `m` and `scale` (null: 1) are f32 scalars.
Value buildRunningUpdate(OpBuilder &b, Location loc, Value running, Value stat,
                         Value m, Value scale = {}) {
  auto type = cast<RankedTensorType>(running.getType());
  return buildMap(
      b, loc, ValueRange{running, stat}, type,
      [&](OpBuilder &nb, Location l, ValueRange args) {
        Type f32 = nb.getF32Type();
        Value r = castFloat(nb, l, args[0], f32);
        Value s = args[1];
        if (scale)
          s = arith::MulFOp::create(nb, l, s, scale);
        Value one = arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(1.0f));
        Value keep = arith::SubFOp::create(nb, l, one, m);
        Value v =
            arith::AddFOp::create(nb, l, arith::MulFOp::create(nb, l, m, s),
                                  arith::MulFOp::create(nb, l, keep, r));
        return castFloat(nb, l, v, type.getElementType());
      });
}

/// Mean over the first dim of an (N, C) f32 tensor: (C).
Value buildMeanOverBatch(OpBuilder &b, Location loc, Value nc) {
  auto type = cast<RankedTensorType>(nc.getType());
  int64_t n = type.getDimSize(0), c = type.getDimSize(1);
  Value init = buildZeros(b, loc, {c});
  MLIRContext *ctx = b.getContext();
  AffineMap in = AffineMap::getMultiDimIdentityMap(2, ctx);
  AffineMap out = AffineMap::get(2, 0, {getAffineDimExpr(1, ctx)}, ctx);
  auto sum = linalg::GenericOp::create(
      b, loc, init.getType(), nc, init, ArrayRef<AffineMap>{in, out},
      ArrayRef<utils::IteratorType>{utils::IteratorType::reduction,
                                    utils::IteratorType::parallel},
      [](OpBuilder &nb, Location l, ValueRange args) {
        linalg::YieldOp::create(
            nb, l, arith::AddFOp::create(nb, l, args[1], args[0]).getResult());
      });
  // The batch size, known at run time when it is dynamic.
  Value count;
  if (ShapedType::isDynamic(n)) {
    Value size = tensor::DimOp::create(b, loc, nc, 0);
    count = arith::UIToFPOp::create(
        b, loc, b.getF32Type(),
        arith::IndexCastUIOp::create(b, loc, b.getI64Type(), size));
  } else {
    count = arith::ConstantOp::create(b, loc,
                                      b.getF32FloatAttr(static_cast<float>(n)));
  }
  return buildMap(
      b, loc, sum.getResult(0), cast<RankedTensorType>(init.getType()),
      [&](OpBuilder &nb, Location l, ValueRange args) {
        return arith::DivFOp::create(nb, l, args[0], count).getResult();
      });
}

/// `updated`, or `kept` where the i1 `empty` holds (null: `updated`): the
/// running statistics an input of no values leaves as they are.
Value keepWhereEmpty(OpBuilder &b, Location loc, Value updated, Value kept,
                     Value empty) {
  if (!empty)
    return updated;
  return buildMap(b, loc, ValueRange{updated, kept},
                  cast<RankedTensorType>(kept.getType()),
                  [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                    return arith::SelectOp::create(nb, l, empty, a[1], a[0]);
                  });
}

/// Appends the updated running mean and variance of `op` (BatchNorm or
/// InstanceNorm) from the batch's `mean` and biased `variance` (made
/// unbiased by the Bessel factor of `axes`) with momentum `m`, each kept as
/// it is where `empty` holds.
template <typename OpT>
static void appendRunningUpdates(OpBuilder &b, Location loc, OpT op, Value mean,
                                 Value variance, Value m,
                                 ArrayRef<int64_t> axes, Value empty,
                                 SmallVectorImpl<Value> &results) {
  results.push_back(keepWhereEmpty(
      b, loc, buildRunningUpdate(b, loc, op.getRunningMean(), mean, m),
      op.getRunningMean(), empty));
  results.push_back(keepWhereEmpty(
      b, loc,
      buildRunningUpdate(b, loc, op.getRunningVar(), variance, m,
                         buildBesselFactor(b, loc, op.getInput(), axes)),
      op.getRunningVar(), empty));
}

/// num_batches_tracked + 1, as a rank-0 tensor.
Value buildIncrement(OpBuilder &b, Location loc, Value counter) {
  Value count = tensor::ExtractOp::create(b, loc, counter, ValueRange{});
  Value one = arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(1));
  Value next = arith::AddIOp::create(b, loc, count, one);
  return tensor::FromElementsOp::create(b, loc, counter.getType(),
                                        ValueRange{next});
}

struct ExpandLayerNorm : OpRewritePattern<LayerNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(LayerNormOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    int64_t rank = op.getInput().getType().getRank();
    int64_t k = op.getNormalizedShape().size();
    SmallVector<int64_t> axes =
        llvm::to_vector(llvm::seq<int64_t>(rank - k, rank));
    Stats s =
        buildMoments(rewriter, loc, op.getInput(), axes, op.getEpsilonAttr());
    Value y = buildApply(rewriter, loc, op.getInput(), s.mean, s.rstd,
                         op.getWeight(), op.getBias(), axes);
    rewriter.replaceOp(
        op,
        {y, welfordReportedMean(rewriter, loc, s.mean, s.variance), s.rstd});
    return success();
  }
};

struct ExpandRMSNorm : OpRewritePattern<RMSNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(RMSNormOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    int64_t rank = op.getInput().getType().getRank();
    int64_t k = op.getNormalizedShape().size();
    SmallVector<int64_t> axes =
        llvm::to_vector(llvm::seq<int64_t>(rank - k, rank));
    Type statType = op.getRstd().getType();
    Value ms =
        MeanSquareOp::create(rewriter, loc, statType, op.getInput(), axes);
    Value rstd =
        RstdOp::create(rewriter, loc, statType, ms,
                       rewriter.getF64FloatAttr(op.getEffectiveEpsilon()));
    Value y = buildApply(rewriter, loc, op.getInput(), Value(), rstd,
                         op.getWeight(), Value(), axes);
    rewriter.replaceOp(op, {y, rstd});
    return success();
  }
};

struct ExpandGroupNorm : OpRewritePattern<GroupNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(GroupNormOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto inType = op.getInput().getType();
    int64_t rank = inType.getRank();
    int64_t c = op.getChannelAxis();
    int64_t channels = inType.getDimSize(c);
    int64_t groups = op.getNumGroups();

    // Split the channel axis into (G, C/G): x' has rank + 1 dims.
    SmallVector<int64_t> splitShape(inType.getShape());
    splitShape[c] = channels / groups;
    splitShape.insert(splitShape.begin() + c, groups);
    SmallVector<ReassociationIndices> reassoc;
    for (int64_t d = 0; d < rank; ++d) {
      if (d < c)
        reassoc.push_back({d});
      else if (d == c)
        reassoc.push_back({d, d + 1});
      else
        reassoc.push_back({d + 1});
    }
    auto splitType = RankedTensorType::get(splitShape, inType.getElementType());
    Value xg = tensor::ExpandShapeOp::create(rewriter, loc, splitType,
                                             op.getInput(), reassoc);

    // Reduce over everything but the batch and group axes.
    SmallVector<int64_t> axes = getComplementAxes(rank + 1, {0, c});
    Stats s = buildMoments(rewriter, loc, xg, axes, op.getEpsilonAttr());

    // Per-channel parameters become (G, C/G).
    auto splitParam = [&](Value p) -> Value {
      if (!p)
        return p;
      auto pt = cast<RankedTensorType>(p.getType());
      auto t = RankedTensorType::get({groups, channels / groups},
                                     pt.getElementType());
      return tensor::ExpandShapeOp::create(
          rewriter, loc, t, p, ArrayRef<ReassociationIndices>{{0, 1}});
    };
    Value yg = buildApply(rewriter, loc, xg, s.mean, s.rstd,
                          splitParam(op.getWeight()), splitParam(op.getBias()),
                          {c, c + 1});
    Value y =
        tensor::CollapseShapeOp::create(rewriter, loc, inType, yg, reassoc);
    Value mean = welfordReportedMean(rewriter, loc, s.mean, s.variance);
    rewriter.replaceOp(op, {y, collapseToAxes(rewriter, loc, mean, {0, c}),
                            collapseToAxes(rewriter, loc, s.rstd, {0, c})});
    return success();
  }
};

/// Normalization with stored running statistics (BatchNorm eval, and
/// InstanceNorm eval with tracked statistics): mean/rstd come from the
/// (C)-shaped running statistics, broadcast along every other axis.
Value buildEvalFromRunning(OpBuilder &b, Location loc, Value x, Value rm,
                           Value rv, Value weight, Value bias, int64_t c,
                           FloatAttr eps) {
  auto xType = cast<RankedTensorType>(x.getType());
  int64_t channels = xType.getDimSize(c);
  auto keptType = f32Tensor(
      b.getContext(),
      keepDims(xType.getShape(), getComplementAxes(xType.getRank(), {c})));
  Value mean = expandFromAxes(b, loc, toF32(b, loc, rm), keptType, {c});
  Value rstdC =
      RstdOp::create(b, loc, f32Tensor(b.getContext(), {channels}), rv, eps);
  Value rstd = expandFromAxes(b, loc, rstdC, keptType, {c});
  return buildApply(b, loc, x, mean, rstd, weight, bias, {c});
}

struct ExpandBatchNorm : OpRewritePattern<BatchNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(BatchNormOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto inType = op.getInput().getType();
    int64_t c = op.getChannelAxis();
    if (!op.getTraining()) {
      Value y = buildEvalFromRunning(
          rewriter, loc, op.getInput(), op.getRunningMean(), op.getRunningVar(),
          op.getWeight(), op.getBias(), c, op.getEpsilonAttr());
      rewriter.replaceOp(op, y);
      return success();
    }

    Value nbt = op.getNumBatchesTracked();
    bool dynamic = !inType.hasStaticShape();
    if (!dynamic && inType.getNumElements() == 0) {
      // PyTorch: an empty batch gives an empty output and leaves the running
      // statistics alone (num_batches_tracked still counts the call).
      SmallVector<Value> results = {
          tensor::EmptyOp::create(rewriter, loc, inType.getShape(),
                                  inType.getElementType()),
          buildZeros(rewriter, loc, {inType.getDimSize(c)}),
          buildZeros(rewriter, loc, {inType.getDimSize(c)})};
      if (op.getRunningMean())
        results.append({op.getRunningMean(), op.getRunningVar()});
      if (nbt)
        results.push_back(buildIncrement(rewriter, loc, nbt));
      rewriter.replaceOp(op, results);
      return success();
    }

    SmallVector<int64_t> axes = getComplementAxes(inType.getRank(), {c});
    // With dynamic dimensions, what C4 and the empty batch decide
    // statically is decided at run time: n values per channel.
    Value empty;
    if (dynamic) {
      Value n = buildDimsProduct(rewriter, loc, op.getInput(), axes);
      Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
      Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
      // (C4) PyTorch raises "Expected more than 1 value per channel when
      // training".
      CheckOp::create(
          rewriter, loc,
          arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::ne, n,
                                one),
          rewriter.getStringAttr(
              op->getName().getStringRef() +
              ": expected more than 1 value per channel when training"));
      empty = arith::CmpIOp::create(rewriter, loc, arith::CmpIPredicate::eq, n,
                                    zero);
    }
    // Batch statistics follow PyTorch's InvStd (rstd 0 for a constant
    // channel with eps = 0).
    Stats s = buildMoments(rewriter, loc, op.getInput(), axes,
                           op.getEpsilonAttr(), /*zeroDegenerate=*/true);
    Value y = buildApply(rewriter, loc, op.getInput(), s.mean, s.rstd,
                         op.getWeight(), op.getBias(), {c});
    Value saveMean = collapseToAxes(rewriter, loc, s.mean, {c});
    Value saveRstd = collapseToAxes(rewriter, loc, s.rstd, {c});
    // An empty batch (at run time) leaves the running statistics alone and
    // saves zeros, as the static case.
    if (empty) {
      Value zeros = buildZeros(rewriter, loc, {inType.getDimSize(c)});
      saveMean = keepWhereEmpty(rewriter, loc, saveMean, zeros, empty);
      saveRstd = keepWhereEmpty(rewriter, loc, saveRstd, zeros, empty);
    }
    SmallVector<Value> results = {y, saveMean, saveRstd};

    Value newNbt = nbt ? buildIncrement(rewriter, loc, nbt) : Value();
    if (op.getRunningMean()) {
      // momentum=None: m = 1 / num_batches_tracked, after the increment.
      Value m;
      if (op.getCumulativeAverage()) {
        Value count = arith::SIToFPOp::create(
            rewriter, loc, rewriter.getF32Type(),
            tensor::ExtractOp::create(rewriter, loc, newNbt, ValueRange{}));
        Value one = arith::ConstantOp::create(rewriter, loc,
                                              rewriter.getF32FloatAttr(1.0f));
        m = arith::DivFOp::create(rewriter, loc, one, count);
      } else {
        m = arith::ConstantOp::create(
            rewriter, loc,
            rewriter.getF32FloatAttr(op.getMomentum().convertToDouble()));
      }
      // The running variance is updated with the unbiased variance.
      Value varC = collapseToAxes(rewriter, loc, s.variance, {c});
      appendRunningUpdates(rewriter, loc, op, saveMean, varC, m, axes, empty,
                           results);
    }
    if (newNbt)
      results.push_back(newNbt);
    rewriter.replaceOp(op, results);
    return success();
  }
};

struct ExpandInstanceNorm : OpRewritePattern<InstanceNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(InstanceNormOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto inType = op.getInput().getType();
    int64_t c = op.getChannelAxis();
    bool running = op.getRunningMean() != nullptr;
    if (running && !op.getTraining()) {
      Value y = buildEvalFromRunning(
          rewriter, loc, op.getInput(), op.getRunningMean(), op.getRunningVar(),
          op.getWeight(), op.getBias(), c, op.getEpsilonAttr());
      rewriter.replaceOp(op, y);
      return success();
    }

    SmallVector<int64_t> axes = getComplementAxes(inType.getRank(), {0, c});
    // (C3) at run time where a spatial dimension is dynamic: PyTorch raises
    // "Expected more than 1 spatial element when training".
    if (llvm::any_of(axes, [&](int64_t a) { return inType.isDynamicDim(a); }))
      CheckOp::create(
          rewriter, loc,
          arith::CmpIOp::create(
              rewriter, loc, arith::CmpIPredicate::ne,
              buildDimsProduct(rewriter, loc, op.getInput(), axes),
              arith::ConstantIndexOp::create(rewriter, loc, 1)),
          rewriter.getStringAttr(op->getName().getStringRef() +
                                 ": expected more than 1 spatial element "
                                 "when normalizing with input statistics"));
    // PyTorch computes InstanceNorm as BatchNorm over (1, N*C): InvStd too.
    Stats s = buildMoments(rewriter, loc, op.getInput(), axes,
                           op.getEpsilonAttr(), /*zeroDegenerate=*/true);
    Value y = buildApply(rewriter, loc, op.getInput(), s.mean, s.rstd,
                         op.getWeight(), op.getBias(), {c});
    SmallVector<Value> results = {y};
    if (running) {
      // PyTorch updates a per-(n, c) copy of the running statistics and
      // averages it over the batch: the same as updating with the batch
      // average of the per-(n, c) statistics.
      Value meanC = buildMeanOverBatch(
          rewriter, loc, collapseToAxes(rewriter, loc, s.mean, {0, c}));
      Value varC = buildMeanOverBatch(
          rewriter, loc, collapseToAxes(rewriter, loc, s.variance, {0, c}));
      Value m = arith::ConstantOp::create(
          rewriter, loc,
          rewriter.getF32FloatAttr(op.getMomentum().convertToDouble()));
      // No spatial values (N > 0): PyTorch's BatchNorm over (1, N * C, 0)
      // leaves the running statistics alone (N = 0 averages over nothing:
      // NaN, as PyTorch).
      Value empty;
      bool spatialDynamic =
          llvm::any_of(axes, [&](int64_t a) { return inType.isDynamicDim(a); });
      bool spatialZero = llvm::any_of(
          axes, [&](int64_t a) { return inType.getDimSize(a) == 0; });
      if (spatialDynamic || spatialZero) {
        Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
        auto isZero = [&](ArrayRef<int64_t> dims) -> Value {
          return arith::CmpIOp::create(
              rewriter, loc, arith::CmpIPredicate::eq,
              buildDimsProduct(rewriter, loc, op.getInput(), dims), zero);
        };
        // No spatial values, and a batch (N = 0 stays NaN).
        empty = arith::AndIOp::create(
            rewriter, loc, isZero(axes),
            arith::XOrIOp::create(
                rewriter, loc, isZero({0}),
                arith::ConstantOp::create(rewriter, loc,
                                          rewriter.getBoolAttr(true))));
      }
      // The values per (n, c): the spatial dimensions.
      appendRunningUpdates(rewriter, loc, op, meanC, varC, m, axes, empty,
                           results);
    }
    rewriter.replaceOp(op, results);
    return success();
  }
};

struct NormExpandPass
    : public normlir::norm::impl::NormExpandBase<NormExpandPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateNormExpandPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void normlir::norm::populateNormExpandPatterns(RewritePatternSet &patterns) {
  patterns.add<ExpandLayerNorm, ExpandRMSNorm, ExpandGroupNorm, ExpandBatchNorm,
               ExpandInstanceNorm>(patterns.getContext());
}
