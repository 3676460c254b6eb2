//===- NormToLinalg.cpp - norm core ops to linalg on tensors --------------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// `convert-norm-to-linalg`: statistics become linalg.generic reductions with
// f32 accumulators, rstd and apply become elementwise linalg.generic ops.
// Statistics carry reduced dims as size 1; here they are collapsed onto the
// dims they vary along, which the generic's indexing maps broadcast.
//
//===----------------------------------------------------------------------===//

#include "normlir/Conversion/NormToLinalg/NormToLinalg.h"
#include "normlir/Dialect/Norm/IR/Norm.h"
#include "normlir/Dialect/Norm/Utils/Utils.h"

#include "Builders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"

#include <limits>

namespace normlir {
#define GEN_PASS_DEF_CONVERTNORMTOLINALG
#include "normlir/Conversion/Passes.h.inc"
} // namespace normlir

using namespace mlir;
using namespace normlir;
using namespace normlir::norm;
using namespace normlir::normtolinalg;

namespace normlir::normtolinalg {

/// Indexing map selecting `dims` of a `rank`-dim iteration space.
AffineMap selectDims(int64_t rank, ArrayRef<int64_t> dims, MLIRContext *ctx) {
  SmallVector<AffineExpr> exprs;
  for (int64_t d : dims)
    exprs.push_back(getAffineDimExpr(d, ctx));
  return AffineMap::get(rank, 0, exprs, ctx);
}

Value f32Const(OpBuilder &b, Location loc, double v) {
  return arith::ConstantOp::create(b, loc,
                                   b.getF32FloatAttr(static_cast<float>(v)));
}

Value buildSumMapped(
    OpBuilder &b, Location loc, ValueRange ins, ArrayRef<AffineMap> inMaps,
    ArrayRef<int64_t> axes,
    function_ref<Value(OpBuilder &, Location, ValueRange)> term) {
  auto xType = cast<RankedTensorType>(ins.front().getType());
  int64_t rank = xType.getRank();
  SmallVector<int64_t> kept = getComplementAxes(rank, axes);
  SmallVector<int64_t> keptShape;
  for (int64_t d : kept)
    keptShape.push_back(xType.getDimSize(d));
  AffineMap keptMap = selectDims(rank, kept, b.getContext());
  SmallVector<AffineMap> maps(inMaps);
  maps.append({keptMap, keptMap});
  SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
  for (int64_t a : axes)
    iters[a] = utils::IteratorType::reduction;
  // Zeros of the kept dims' sizes (from x where dynamic).
  auto zeros = [&]() -> Value {
    if (!llvm::any_of(keptShape, ShapedType::isDynamic))
      return buildZeros(b, loc, keptShape);
    SmallVector<Value> sizes;
    for (int64_t d : kept)
      if (xType.isDynamicDim(d))
        sizes.push_back(tensor::DimOp::create(b, loc, ins.front(), d));
    Value empty = tensor::EmptyOp::create(
        b, loc, RankedTensorType::get(keptShape, b.getF32Type()), sizes);
    Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f));
    return linalg::FillOp::create(b, loc, zero, empty).getResult(0);
  };
  Value sumInit = zeros();
  Value compInit = zeros();
  Type accType = sumInit.getType();
  size_t numIns = ins.size();
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{accType, accType}, ins, ValueRange{sumInit, compInit},
      maps, iters, [&](OpBuilder &nb, Location l, ValueRange args) {
        Value t = term(nb, l, args.take_front(numIns));
        Value sum = args[numIns], comp = args[numIns + 1];
        // Kahan: y = t - c; s = sum + y; c = (s - sum) - y.
        Value y = arith::SubFOp::create(nb, l, t, comp);
        Value next = arith::AddFOp::create(nb, l, sum, y);
        Value lost = arith::SubFOp::create(
            nb, l, arith::SubFOp::create(nb, l, next, sum), y);
        // Once the sum is +-inf the compensation would be inf - inf = NaN
        // and turn an infinite mean into NaN; PyTorch keeps it infinite.
        Value inf = arith::ConstantOp::create(
            nb, l, nb.getF32FloatAttr(std::numeric_limits<float>::infinity()));
        Value finite =
            arith::CmpFOp::create(nb, l, arith::CmpFPredicate::ONE,
                                  math::AbsFOp::create(nb, l, next), inf);
        Value zero = arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(0.0f));
        lost = arith::SelectOp::create(nb, l, finite, lost, zero);
        linalg::YieldOp::create(nb, l, ValueRange{next, lost});
      });
  return generic.getResult(0);
}

Value buildSum(
    OpBuilder &b, Location loc, Value x, ArrayRef<int64_t> axes,
    ValueRange extras,
    function_ref<Value(OpBuilder &, Location, Value, ValueRange)> term) {
  int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
  AffineMap keptMap =
      selectDims(rank, getComplementAxes(rank, axes), b.getContext());
  SmallVector<Value> ins = {x};
  ins.append(extras.begin(), extras.end());
  SmallVector<AffineMap> maps = {b.getMultiDimIdentityMap(rank)};
  maps.append(extras.size(), keptMap);
  return buildSumMapped(
      b, loc, ins, maps, axes,
      [&](OpBuilder &nb, Location l, ValueRange args) -> Value {
        Value xf = castFloat(nb, l, args[0], nb.getF32Type());
        return term(nb, l, xf, args.drop_front());
      });
}

/// Elementwise `f(v)` on an f32 tensor.
Value mapF32(OpBuilder &b, Location loc, ValueRange vs,
             function_ref<Value(OpBuilder &, Location, ValueRange)> f) {
  auto type = cast<RankedTensorType>(vs.front().getType());
  return buildMap(b, loc, vs,
                  RankedTensorType::get(type.getShape(), b.getF32Type()), f);
}

/// `sum / n`, elementwise: a sum over the reduced elements becomes a mean.
Value divideByCount(OpBuilder &b, Location loc, Value sum, double n) {
  return mapF32(b, loc, sum,
                [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                  return arith::DivFOp::create(nb, l, a[0], f32Const(nb, l, n));
                });
}

Value divideByReducedCount(OpBuilder &b, Location loc, Value sum, Value x,
                           ArrayRef<int64_t> axes) {
  auto xType = cast<RankedTensorType>(x.getType());
  if (llvm::none_of(axes, [&](int64_t a) { return xType.isDynamicDim(a); }))
    return divideByCount(b, loc, sum,
                         static_cast<double>(numReduced(xType, axes)));
  Value count = arith::UIToFPOp::create(
      b, loc, b.getF32Type(),
      arith::IndexCastUIOp::create(b, loc, b.getI64Type(),
                                   buildDimsProduct(b, loc, x, axes)));
  return mapF32(b, loc, sum,
                [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
                  return arith::DivFOp::create(nb, l, a[0], count);
                });
}

int64_t numReduced(RankedTensorType t, ArrayRef<int64_t> axes) {
  int64_t n = 1;
  for (int64_t a : axes)
    n *= t.getDimSize(a);
  return n;
}

} // namespace normlir::normtolinalg

namespace {

struct LowerMoments : OpConversionPattern<MomentsOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(MomentsOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    auto xType = cast<RankedTensorType>(x.getType());
    ArrayRef<int64_t> axes = op.getAxes();
    SmallVector<int64_t> kept = getComplementAxes(xType.getRank(), axes);

    // The mean is a compensated (Kahan) sum divided by the count: accurate
    // to the f32 rounding of the mean itself, whatever the magnitude of the
    // values or of any one of them (a shift by the slice's first element, as
    // used before, lost digits when that element was an outlier).
    Value sum = buildSum(rewriter, loc, x, axes, ValueRange{},
                         [](OpBuilder &, Location, Value xf,
                            ValueRange) -> Value { return xf; });
    Value mean = divideByReducedCount(rewriter, loc, sum, x, axes);
    // Second reduction: squared deviations from the mean (biased variance).
    Value sq = buildSum(
        rewriter, loc, x, axes, mean,
        [](OpBuilder &b, Location l, Value xf, ValueRange extra) -> Value {
          Value d = arith::SubFOp::create(b, l, xf, extra[0]);
          return arith::MulFOp::create(b, l, d, d);
        });
    Value var = divideByReducedCount(rewriter, loc, sq, x, axes);
    auto statType = cast<RankedTensorType>(op.getMean().getType());
    rewriter.replaceOp(op,
                       {expandFromAxes(rewriter, loc, mean, statType, kept),
                        expandFromAxes(rewriter, loc, var, statType, kept)});
    return success();
  }
};

struct LowerMeanSquare : OpConversionPattern<MeanSquareOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(MeanSquareOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    auto xType = cast<RankedTensorType>(x.getType());
    ArrayRef<int64_t> axes = op.getAxes();
    Value sum =
        buildSum(rewriter, loc, x, axes, {},
                 [](OpBuilder &b, Location l, Value xf, ValueRange) -> Value {
                   return arith::MulFOp::create(b, l, xf, xf);
                 });
    Value ms = divideByReducedCount(rewriter, loc, sum, x, axes);
    rewriter.replaceOp(
        op,
        expandFromAxes(rewriter, loc, ms, cast<RankedTensorType>(op.getType()),
                       getComplementAxes(xType.getRank(), axes)));
    return success();
  }
};

struct LowerRstd : OpConversionPattern<RstdOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(RstdOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    double eps = op.getEpsilon().convertToDouble();
    Value r =
        mapF32(rewriter, op.getLoc(), adaptor.getVariance(),
               [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                 return buildRstd(b, l, castFloat(b, l, a[0], b.getF32Type()),
                                  eps, op.getZeroDegenerate());
               });
    rewriter.replaceOp(op, r);
    return success();
  }
};

struct LowerApply : OpConversionPattern<ApplyOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ApplyOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    auto xType = cast<RankedTensorType>(op.getInput().getType());
    int64_t rank = xType.getRank();

    SmallVector<Value> ins = {adaptor.getInput()};
    SmallVector<AffineMap> maps = {rewriter.getMultiDimIdentityMap(rank)};
    // Statistics: collapse the broadcast (size-1) dims away and index the
    // rest by the matching loop dims.
    auto addStat = [&](Value stat) {
      auto st = cast<RankedTensorType>(stat.getType());
      SmallVector<int64_t> varying;
      for (int64_t d = 0; d < rank; ++d)
        if (st.getDimSize(d) != 1)
          varying.push_back(d);
      ins.push_back(collapseToAxes(rewriter, loc, stat, varying));
      maps.push_back(selectDims(rank, varying, ctx));
    };
    bool hasMean = static_cast<bool>(adaptor.getMean());
    if (hasMean)
      addStat(adaptor.getMean());
    addStat(adaptor.getRstd());
    AffineMap paramMap = selectDims(rank, op.getParamAxes(), ctx);
    for (Value p : {adaptor.getWeight(), adaptor.getBias()}) {
      if (!p)
        continue;
      ins.push_back(p);
      maps.push_back(paramMap);
    }
    bool hasWeight = static_cast<bool>(adaptor.getWeight());
    bool hasBias = static_cast<bool>(adaptor.getBias());

    Value init = buildEmpty(rewriter, loc, xType.getShape(),
                            xType.getElementType(), adaptor.getInput());
    maps.push_back(rewriter.getMultiDimIdentityMap(rank));
    SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
    auto generic = linalg::GenericOp::create(
        rewriter, loc, xType, ins, init, maps, iters,
        [&](OpBuilder &b, Location l, ValueRange args) {
          Type f32 = b.getF32Type();
          unsigned i = 0;
          Value v = castFloat(b, l, args[i++], f32);
          if (hasMean)
            v = arith::SubFOp::create(b, l, v, args[i++]);
          v = arith::MulFOp::create(b, l, v, args[i++]);
          if (hasWeight)
            v = arith::MulFOp::create(b, l, v, castFloat(b, l, args[i++], f32));
          if (hasBias)
            v = arith::AddFOp::create(b, l, v, castFloat(b, l, args[i++], f32));
          linalg::YieldOp::create(b, l,
                                  castFloat(b, l, v, xType.getElementType()));
        });
    rewriter.replaceOp(op, generic.getResult(0));
    return success();
  }
};

struct ConvertNormToLinalgPass
    : public normlir::impl::ConvertNormToLinalgBase<ConvertNormToLinalgPass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    ConversionTarget target(*ctx);
    target.addLegalDialect<arith::ArithDialect, linalg::LinalgDialect,
                           math::MathDialect, tensor::TensorDialect>();
    // Named ops are illegal too: they must be expanded first, and a leftover
    // one is reported rather than silently kept.
    target.addIllegalDialect<NormDialect>();
    // Fused kernels are lowered after bufferization (convert-norm-to-vector).
    target.addLegalOp<KernelOp, GradKernelOp, YieldOp, CheckOp>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    RewritePatternSet patterns(ctx);
    populateNormToLinalgPatterns(patterns);
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void normlir::populateNormToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerMoments, LowerMeanSquare, LowerRstd, LowerApply>(
      patterns.getContext());
  populateGradToLinalgPatterns(patterns);
}
