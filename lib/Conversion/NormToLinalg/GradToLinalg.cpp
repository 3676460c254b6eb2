//===- GradToLinalg.cpp - norm gradient ops to linalg on tensors ----------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// The gradient half of `convert-norm-to-linalg`: norm.grad_moments and
// norm.param_grad become compensated linalg.generic reductions (as the
// forward's statistics do), norm.apply_grad an elementwise linalg.generic.
// Statistics and parameters are read through indexing maps that broadcast
// them; a result without uses is not built (RMSNorm's mean_g, a norm
// without bias).
//
//===----------------------------------------------------------------------===//

#include "Builders.h"

#include "normlir/Dialect/Norm/IR/Norm.h"
#include "normlir/Dialect/Norm/Utils/Utils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"

using namespace mlir;
using namespace normlir;
using namespace normlir::norm;
using namespace normlir::normtolinalg;

namespace {

/// The inputs of a generic over the input's iteration space, each with its
/// indexing map, and where each optional one sits among the block arguments.
struct Inputs {
  Inputs(OpBuilder &b, Location loc, RankedTensorType xType)
      : b(b), loc(loc), rank(xType.getRank()) {}

  /// A tensor of the input's shape; its block argument index.
  int add(Value v) {
    ins.push_back(v);
    maps.push_back(b.getMultiDimIdentityMap(rank));
    return int(ins.size()) - 1;
  }
  /// A statistic (the input's rank, size-1 dims broadcast): collapsed onto
  /// the dims it varies along. -1 for a null one.
  int addStat(Value stat) {
    if (!stat)
      return -1;
    auto st = cast<RankedTensorType>(stat.getType());
    SmallVector<int64_t> varying;
    for (int64_t d = 0; d < rank; ++d)
      if (st.getDimSize(d) != 1)
        varying.push_back(d);
    ins.push_back(collapseToAxes(b, loc, stat, varying));
    maps.push_back(selectDims(rank, varying, b.getContext()));
    return int(ins.size()) - 1;
  }
  /// A parameter indexed by `paramAxes`. -1 for a null one.
  int addParam(Value p, ArrayRef<int64_t> paramAxes) {
    if (!p)
      return -1;
    ins.push_back(p);
    maps.push_back(selectDims(rank, paramAxes, b.getContext()));
    return int(ins.size()) - 1;
  }

  OpBuilder &b;
  Location loc;
  int64_t rank;
  SmallVector<Value> ins;
  SmallVector<AffineMap> maps;
};

/// Where the shared quantities sit among a generic's block arguments.
struct Slots {
  int x = -1, grad = -1, mean = -1, rstd = -1, weight = -1;

  Value f32(OpBuilder &b, Location l, ValueRange args, int slot) const {
    return castFloat(b, l, args[slot], b.getF32Type());
  }
  /// g = f32(grad) * f32(weight) (f32(grad) without a weight).
  Value g(OpBuilder &b, Location l, ValueRange args) const {
    Value v = f32(b, l, args, grad);
    if (weight >= 0)
      v = arith::MulFOp::create(b, l, v, f32(b, l, args, weight));
    return v;
  }
  /// xhat = (f32(x) - mean) * rstd (no centring without a mean).
  Value xhat(OpBuilder &b, Location l, ValueRange args) const {
    Value v = f32(b, l, args, x);
    if (mean >= 0)
      v = arith::SubFOp::create(b, l, v, args[mean]);
    return arith::MulFOp::create(b, l, v, args[rstd]);
  }
};

struct LowerGradMoments : OpConversionPattern<GradMomentsOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(GradMomentsOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto xType = cast<RankedTensorType>(adaptor.getX().getType());
    ArrayRef<int64_t> axes = op.getAxes();
    Inputs in(rewriter, loc, xType);
    Slots s;
    s.x = in.add(adaptor.getX());
    s.grad = in.add(adaptor.getGrad());
    s.mean = in.addStat(adaptor.getMean());
    s.rstd = in.addStat(adaptor.getRstd());
    s.weight = in.addParam(adaptor.getWeight(), op.getParamAxes());
    double n = static_cast<double>(numReduced(xType, axes));
    auto statType = cast<RankedTensorType>(op.getMeanG().getType());
    SmallVector<int64_t> kept = getComplementAxes(xType.getRank(), axes);
    auto mean =
        [&](function_ref<Value(OpBuilder &, Location, ValueRange)> term) {
          Value sum =
              buildSumMapped(rewriter, loc, in.ins, in.maps, axes, term);
          return expandFromAxes(rewriter, loc,
                                divideByCount(rewriter, loc, sum, n), statType,
                                kept);
        };
    // RMSNorm's backward needs no E[g]: an unused result is left empty.
    Value meanG =
        op.getMeanG().use_empty()
            ? tensor::EmptyOp::create(rewriter, loc, statType.getShape(),
                                      statType.getElementType())
                  .getResult()
            : mean([&](OpBuilder &b, Location l, ValueRange args) {
                return s.g(b, l, args);
              });
    Value meanGxhat = mean([&](OpBuilder &b, Location l, ValueRange args) {
      return arith::MulFOp::create(b, l, s.g(b, l, args), s.xhat(b, l, args))
          .getResult();
    });
    rewriter.replaceOp(op, {meanG, meanGxhat});
    return success();
  }
};

struct LowerApplyGrad : OpConversionPattern<ApplyGradOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ApplyGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto xType = cast<RankedTensorType>(adaptor.getX().getType());
    Inputs in(rewriter, loc, xType);
    Slots s;
    int meanG = -1, meanGxhat = -1;
    // x and mean are read only for the xhat term.
    bool needXhat = static_cast<bool>(adaptor.getMeanGxhat());
    if (needXhat)
      s.x = in.add(adaptor.getX());
    s.grad = in.add(adaptor.getGrad());
    if (needXhat)
      s.mean = in.addStat(adaptor.getMean());
    s.rstd = in.addStat(adaptor.getRstd());
    s.weight = in.addParam(adaptor.getWeight(), op.getParamAxes());
    meanG = in.addStat(adaptor.getMeanG());
    meanGxhat = in.addStat(adaptor.getMeanGxhat());

    int64_t rank = xType.getRank();
    Value init = tensor::EmptyOp::create(rewriter, loc, xType.getShape(),
                                         xType.getElementType());
    in.maps.push_back(rewriter.getMultiDimIdentityMap(rank));
    SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
    auto generic = linalg::GenericOp::create(
        rewriter, loc, xType, in.ins, init, in.maps, iters,
        [&](OpBuilder &b, Location l, ValueRange args) {
          // rstd * (g - mean_g - xhat * mean_gxhat)
          Value t = s.g(b, l, args);
          if (meanG >= 0)
            t = arith::SubFOp::create(b, l, t, args[meanG]);
          if (meanGxhat >= 0)
            t = arith::SubFOp::create(b, l, t,
                                      arith::MulFOp::create(b, l,
                                                            s.xhat(b, l, args),
                                                            args[meanGxhat]));
          Value dx = arith::MulFOp::create(b, l, args[s.rstd], t);
          linalg::YieldOp::create(b, l,
                                  castFloat(b, l, dx, xType.getElementType()));
        });
    rewriter.replaceOp(op, generic.getResult(0));
    return success();
  }
};

struct LowerParamGrad : OpConversionPattern<ParamGradOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ParamGradOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto xType = cast<RankedTensorType>(adaptor.getX().getType());
    auto resultType = cast<RankedTensorType>(op.getWeightGrad().getType());
    // Summed over every axis but the parameters': the kept dims are
    // param_axes, in order, which is the parameters' shape.
    SmallVector<int64_t> axes =
        getComplementAxes(xType.getRank(), op.getParamAxes());
    Inputs in(rewriter, loc, xType);
    Slots s;
    s.x = in.add(adaptor.getX());
    s.grad = in.add(adaptor.getGrad());
    s.mean = in.addStat(adaptor.getMean());
    s.rstd = in.addStat(adaptor.getRstd());
    auto result =
        [&](Value used,
            function_ref<Value(OpBuilder &, Location, ValueRange)> term)
        -> Value {
      if (used.use_empty())
        return tensor::EmptyOp::create(rewriter, loc, resultType.getShape(),
                                       resultType.getElementType());
      Value sum = buildSumMapped(rewriter, loc, in.ins, in.maps, axes, term);
      if (resultType.getElementType().isF32())
        return sum;
      return buildMap(rewriter, loc, sum, resultType,
                      [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                        return castFloat(b, l, a[0],
                                         resultType.getElementType());
                      });
    };
    Value dw =
        result(op.getWeightGrad(),
               [&](OpBuilder &b, Location l, ValueRange args) -> Value {
                 return arith::MulFOp::create(b, l, s.f32(b, l, args, s.grad),
                                              s.xhat(b, l, args));
               });
    Value db = result(op.getBiasGrad(),
                      [&](OpBuilder &b, Location l, ValueRange args) -> Value {
                        return s.f32(b, l, args, s.grad);
                      });
    rewriter.replaceOp(op, {dw, db});
    return success();
  }
};

} // namespace

void normlir::normtolinalg::populateGradToLinalgPatterns(
    RewritePatternSet &patterns) {
  patterns.add<LowerGradMoments, LowerApplyGrad, LowerParamGrad>(
      patterns.getContext());
}
