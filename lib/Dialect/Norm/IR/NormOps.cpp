//===- NormOps.cpp - norm dialect ops: verifiers and folds ----------------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// Every verifier of the dialect lives here. Each check names the constraint
// (Cn) of the op's ODS description that it enforces.
//
//===----------------------------------------------------------------------===//

#include "normlir/Dialect/Norm/IR/Norm.h"

#include "Verify.h"

#include "llvm/Support/MathExtras.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "llvm/ADT/STLExtras.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace normlir::norm;
using namespace normlir::norm::detail;

//===----------------------------------------------------------------------===//
// Shared checks
//===----------------------------------------------------------------------===//

static LogicalResult verifyEpsilon(Operation *op, double eps) {
  // NaN and +inf pass, as PyTorch takes them (the outputs are NaN / bias).
  if (eps < 0.0)
    return op->emitOpError() << "epsilon must not be negative, got " << eps;
  return success();
}

static LogicalResult verifyMomentum(Operation *op, double m) {
  if (!(m >= 0.0 && m <= 1.0))
    return op->emitOpError() << "momentum must be in [0, 1], got " << m;
  return success();
}

/// The normalized shape is the trailing part of the input's shape, -1 (or
/// kDynamic) where the input's dimension is dynamic.
static LogicalResult verifyNormalizedShape(Operation *op,
                                           ArrayRef<int64_t> inShape,
                                           ArrayRef<int64_t> normalized) {
  if (normalized.empty() || normalized.size() > inShape.size())
    return op->emitOpError()
           << "normalized_shape must have between 1 and rank(input) = "
           << inShape.size() << " dimensions, got " << normalized.size();
  ArrayRef<int64_t> trailing = inShape.take_back(normalized.size());
  for (auto [have, want] : llvm::zip(trailing, normalized)) {
    bool wantDynamic = want == -1 || ShapedType::isDynamic(want);
    if (ShapedType::isDynamic(have) ? !wantDynamic : have != want)
      return op->emitOpError()
             << "normalized_shape " << shapeStr(normalized)
             << " does not match the trailing dimensions of the input shape "
             << shapeStr(inShape) << " (-1 stands for a dynamic dimension)";
  }
  return success();
}

/// The parameters' shape: the input's normalized (trailing) dimensions.
static ArrayRef<int64_t> normalizedDims(RankedTensorType in,
                                        ArrayRef<int64_t> normalized) {
  return in.getShape().take_back(normalized.size());
}

static LogicalResult verifyChannelAxis(Operation *op, int64_t axis,
                                       int64_t rank, int64_t minRank) {
  if (rank < minRank)
    return op->emitOpError() << "expects an input of rank >= " << minRank
                             << ", got rank " << rank;
  if (axis != 1 && axis != rank - 1) {
    if (rank == 2)
      return op->emitOpError() << "channel_axis must be 1, got " << axis;
    return op->emitOpError() << "channel_axis must be 1 (NC...) or " << rank - 1
                             << " (channels-last), got " << axis;
  }
  return success();
}

/// The channel dimension of BatchNorm, InstanceNorm and GroupNorm is static:
/// the parameters and statistics are sized by it.
static LogicalResult verifyStaticChannels(Operation *op, RankedTensorType in,
                                          int64_t axis) {
  if (in.isDynamicDim(axis))
    return op->emitOpError()
           << "the channel dimension (axis " << axis
           << ") must be static, got input shape " << shapeStr(in.getShape());
  return success();
}

//===----------------------------------------------------------------------===//
// Core ops
//===----------------------------------------------------------------------===//

template <typename StatsOp> static LogicalResult verifyStatsOp(StatsOp op) {
  auto inType = cast<RankedTensorType>(op.getInput().getType());
  // (C1) axes in range, distinct, ascending.
  if (failed(verifyAxes(op, op.getAxes(), inType.getRank(), "axis")))
    return failure();
  if (op.getAxes().empty())
    return op.emitOpError("expects at least one reduction axis");
  // (C2) keep-dims result shape.
  auto expected =
      RankedTensorType::get(keepDimsShape(inType.getShape(), op.getAxes()),
                            Float32Type::get(op.getContext()));
  for (Value r : op->getResults())
    if (failed(verifyResultType(op, r.getType(), expected, "result")))
      return failure();
  return success();
}

LogicalResult MomentsOp::verify() { return verifyStatsOp(*this); }
LogicalResult MeanSquareOp::verify() { return verifyStatsOp(*this); }

LogicalResult RstdOp::verify() {
  // (C1)
  return verifyEpsilon(*this, getEpsilon().convertToDouble());
}

LogicalResult ApplyOp::verify() {
  auto inType = cast<RankedTensorType>(getInput().getType());
  ArrayRef<int64_t> shape = inType.getShape();
  // (C1) statistics broadcast against the input.
  if (failed(verifyBroadcastStat(*this, getMean(), "mean", shape)) ||
      failed(verifyBroadcastStat(*this, getRstd(), "rstd", shape)))
    return failure();
  // (C2) parameter axes.
  if (failed(verifyAxes(*this, getParamAxes(), inType.getRank(), "param axis")))
    return failure();
  // (C3) parameter shapes.
  SmallVector<int64_t> paramShape;
  for (int64_t a : getParamAxes())
    paramShape.push_back(shape[a]);
  if (failed(verifyParam(*this, getWeight(), "weight", paramShape,
                         inType.getElementType())) ||
      failed(verifyParam(*this, getBias(), "bias", paramShape,
                         inType.getElementType())))
    return failure();
  // (C4) axes only with parameters.
  if (getParamAxes().empty() != (!getWeight() && !getBias()))
    return emitOpError(
        "param_axes must be given exactly when weight or bias is");
  // (C5)
  return verifyResultType(*this, getResult().getType(), inType, "result");
}

namespace {
/// Drops a weight that is a splat 1.0 and a bias that is a splat -0.0: the
/// apply computes the same values, bit for bit, without reading them. A +0.0
/// bias is not an identity (it turns a -0.0 result into +0.0) and stays.
struct DropIdentityParams : public OpRewritePattern<ApplyOp> {
  using OpRewritePattern::OpRewritePattern;

  static bool isSplat(Value v, double value) {
    if (!v)
      return false;
    DenseFPElementsAttr attr;
    if (!matchPattern(v, m_Constant(&attr)) || !attr.isSplat())
      return false;
    double splat = attr.getSplatValue<APFloat>().convertToDouble();
    return splat == value && std::signbit(splat) == std::signbit(value);
  }

  LogicalResult matchAndRewrite(ApplyOp op,
                                PatternRewriter &rewriter) const override {
    bool dropW = isSplat(op.getWeight(), 1.0);
    bool dropB = isSplat(op.getBias(), -0.0);
    if (!dropW && !dropB)
      return failure();
    Value w = dropW ? Value() : op.getWeight();
    Value b = dropB ? Value() : op.getBias();
    ArrayRef<int64_t> axes = (w || b) ? op.getParamAxes() : ArrayRef<int64_t>();
    rewriter.replaceOpWithNewOp<ApplyOp>(op, op.getType(), op.getInput(),
                                         op.getMean(), op.getRstd(), w, b,
                                         axes);
    return success();
  }
};
} // namespace

void ApplyOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                          MLIRContext *context) {
  results.add<DropIdentityParams>(context);
}

//===----------------------------------------------------------------------===//
// Named ops
//===----------------------------------------------------------------------===//

/// The (*B, 1, ..., 1) f32 type of LayerNorm/RMSNorm side results.
static RankedTensorType rowStatType(RankedTensorType in, size_t normRank) {
  SmallVector<int64_t> shape(in.getShape());
  for (size_t i = shape.size() - normRank; i < shape.size(); ++i)
    shape[i] = 1;
  return RankedTensorType::get(shape, Float32Type::get(in.getContext()));
}

LogicalResult LayerNormOp::verify() {
  auto inType = cast<RankedTensorType>(getInput().getType());
  // (C1)
  if (failed(verifyNormalizedShape(*this, inType.getShape(),
                                   getNormalizedShape())))
    return failure();
  // (C2)
  ArrayRef<int64_t> paramShape = normalizedDims(inType, getNormalizedShape());
  if (failed(verifyParam(*this, getWeight(), "weight", paramShape,
                         inType.getElementType())) ||
      failed(verifyParam(*this, getBias(), "bias", paramShape,
                         inType.getElementType())))
    return failure();
  // (C3)
  auto statType = rowStatType(inType, getNormalizedShape().size());
  if (failed(
          verifyResultType(*this, getOutput().getType(), inType, "output")) ||
      failed(verifyResultType(*this, getMean().getType(), statType, "mean")) ||
      failed(verifyResultType(*this, getRstd().getType(), statType, "rstd")))
    return failure();
  // (C4)
  return verifyEpsilon(*this, getEpsilon().convertToDouble());
}

double RMSNormOp::getEffectiveEpsilon() {
  if (auto eps = getEpsilon())
    return eps->convertToDouble();
  // PyTorch computes f16/bf16 RMSNorm in float and, for eps=None, uses
  // std::numeric_limits<float>::epsilon() (rms_norm_composite in ATen's
  // layer_norm.cpp), not finfo of the input dtype.
  return std::numeric_limits<float>::epsilon();
}

LogicalResult RMSNormOp::verify() {
  auto inType = cast<RankedTensorType>(getInput().getType());
  // (C1)
  if (failed(verifyNormalizedShape(*this, inType.getShape(),
                                   getNormalizedShape())))
    return failure();
  // (C2)
  if (failed(verifyParam(*this, getWeight(), "weight",
                         normalizedDims(inType, getNormalizedShape()),
                         inType.getElementType())))
    return failure();
  // (C3)
  if (failed(
          verifyResultType(*this, getOutput().getType(), inType, "output")) ||
      failed(verifyResultType(*this, getRstd().getType(),
                              rowStatType(inType, getNormalizedShape().size()),
                              "rstd")))
    return failure();
  // (C4)
  if (auto eps = getEpsilon())
    return verifyEpsilon(*this, eps->convertToDouble());
  return success();
}

/// Checks shared by BatchNorm and InstanceNorm: channel axis, parameter and
/// running-statistic shapes, epsilon and momentum.
template <typename OpT>
static LogicalResult verifyRunningStatsCommon(OpT op, int64_t minRank) {
  auto inType = cast<RankedTensorType>(op.getInput().getType());
  int64_t rank = inType.getRank();
  if (failed(verifyChannelAxis(op, op.getChannelAxis(), rank, minRank)) ||
      failed(verifyStaticChannels(op, inType, op.getChannelAxis())))
    return failure();
  int64_t c = inType.getDimSize(op.getChannelAxis());
  Type elt = inType.getElementType();
  if (failed(verifyParam(op, op.getWeight(), "weight", {c}, elt)) ||
      failed(verifyParam(op, op.getBias(), "bias", {c}, elt)) ||
      failed(verifyParam(op, op.getRunningMean(), "running_mean", {c}, elt)) ||
      failed(verifyParam(op, op.getRunningVar(), "running_var", {c}, elt)))
    return failure();
  if (static_cast<bool>(op.getRunningMean()) !=
      static_cast<bool>(op.getRunningVar()))
    return op.emitOpError(
        "running_mean and running_var must be given together");
  if (op.getRunningMean() &&
      op.getRunningMean().getType() != op.getRunningVar().getType())
    return op.emitOpError(
        "running_mean and running_var must have the same type");
  if (failed(verifyEpsilon(op, op.getEpsilon().convertToDouble())) ||
      failed(verifyMomentum(op, op.getMomentum().convertToDouble())))
    return failure();
  return verifyResultType(op, op.getOutput().getType(), inType, "output");
}

/// Compares the variadic side results against the list the op's attributes
/// and operands call for.
static LogicalResult verifySideResults(Operation *op, ValueRange actual,
                                       ArrayRef<Type> expected,
                                       StringRef listing) {
  if (actual.size() != expected.size())
    return op->emitOpError()
           << "expects " << expected.size() << " side results (" << listing
           << "), got " << actual.size();
  for (auto [i, v, t] : llvm::enumerate(actual, expected))
    if (v.getType() != t)
      return op->emitOpError() << "side result " << i << " must have type " << t
                               << ", got " << v.getType();
  return success();
}

/// Number of values reduced per channel (all axes but the channel axis,
/// and the batch axis unless `withBatch` is false); std::nullopt when one of
/// them is dynamic (norm-expand checks it at run time).
static std::optional<int64_t> valuesPerChannel(RankedTensorType t,
                                               int64_t channelAxis,
                                               bool withBatch = true) {
  int64_t n = 1;
  for (int64_t d = withBatch ? 0 : 1; d < t.getRank(); ++d) {
    if (d == channelAxis)
      continue;
    if (t.isDynamicDim(d))
      return std::nullopt;
    n *= t.getDimSize(d);
  }
  return n;
}

LogicalResult BatchNormOp::verify() {
  // (C1, C2, C7)
  if (failed(verifyRunningStatsCommon(*this, /*minRank=*/2)))
    return failure();
  auto inType = cast<RankedTensorType>(getInput().getType());
  bool running = getRunningMean() != nullptr;
  // (C3)
  if (!getTraining() && !running)
    return emitOpError("eval mode (no 'training') requires running_mean and "
                       "running_var");
  // (C4) PyTorch: "Expected more than 1 value per channel when training".
  // An empty batch is not an error: PyTorch returns an empty output.
  if (getTraining() && valuesPerChannel(inType, getChannelAxis()) == 1)
    return emitOpError("expected more than 1 value per channel when training, "
                       "got input shape ")
           << shapeStr(inType.getShape());
  // (C5)
  if (getCumulativeAverage() && !(getTraining() && getNumBatchesTracked()))
    return emitOpError("cumulative_average (momentum=None) requires "
                       "'training' and num_batches_tracked");
  if (getNumBatchesTracked() && !(getTraining() && running))
    return emitOpError("num_batches_tracked is only counted in training with "
                       "running statistics");
  // (C6)
  SmallVector<Type> expected;
  if (getTraining()) {
    auto stat = RankedTensorType::get({inType.getDimSize(getChannelAxis())},
                                      Float32Type::get(getContext()));
    expected.append({stat, stat});
    if (running)
      expected.append({getRunningMean().getType(), getRunningVar().getType()});
    if (getNumBatchesTracked())
      expected.push_back(getNumBatchesTracked().getType());
  }
  return verifySideResults(*this, getSideResults(), expected,
                           "training: save_mean, save_rstd, then updated "
                           "running_mean, running_var and "
                           "num_batches_tracked when given; eval: none");
}

LogicalResult InstanceNormOp::verify() {
  // (C1, C2, C6)
  if (failed(verifyRunningStatsCommon(*this, /*minRank=*/3)))
    return failure();
  auto inType = cast<RankedTensorType>(getInput().getType());
  bool running = getRunningMean() != nullptr;
  // (C4)
  if (getNumBatchesTracked() || getCumulativeAverage())
    return emitOpError("instance_norm does not count batches: PyTorch's "
                       "InstanceNorm uses momentum=None as 0");
  // (C3) PyTorch: "Expected more than 1 spatial element when training".
  bool inputStats = getTraining() || !running;
  if (inputStats &&
      valuesPerChannel(inType, getChannelAxis(), /*withBatch=*/false) == 1)
    return emitOpError("expected more than 1 spatial element when "
                       "normalizing with input statistics, got input shape ")
           << shapeStr(inType.getShape());
  // (C5)
  SmallVector<Type> expected;
  if (getTraining() && running)
    expected.append({getRunningMean().getType(), getRunningVar().getType()});
  return verifySideResults(*this, getSideResults(), expected,
                           "updated running_mean and running_var in training "
                           "with running statistics; none otherwise");
}

LogicalResult GroupNormOp::verify() {
  auto inType = cast<RankedTensorType>(getInput().getType());
  // (C1)
  if (failed(verifyChannelAxis(*this, getChannelAxis(), inType.getRank(), 2)) ||
      failed(verifyStaticChannels(*this, inType, getChannelAxis())))
    return failure();
  int64_t c = inType.getDimSize(getChannelAxis());
  int64_t g = getNumGroups();
  // (C2)
  if (g <= 0)
    return emitOpError() << "num_groups must be positive, got " << g;
  if (c % g != 0)
    return emitOpError() << "expected the number of channels " << c
                         << " to be divisible by num_groups " << g;
  // (C3)
  Type elt = inType.getElementType();
  if (failed(verifyParam(*this, getWeight(), "weight", {c}, elt)) ||
      failed(verifyParam(*this, getBias(), "bias", {c}, elt)))
    return failure();
  // (C4)
  auto statType = RankedTensorType::get({inType.getDimSize(0), g},
                                        Float32Type::get(getContext()));
  if (failed(
          verifyResultType(*this, getOutput().getType(), inType, "output")) ||
      failed(verifyResultType(*this, getMean().getType(), statType, "mean")) ||
      failed(verifyResultType(*this, getRstd().getType(), statType, "rstd")))
    return failure();
  // (C5)
  return verifyEpsilon(*this, getEpsilon().convertToDouble());
}

//===----------------------------------------------------------------------===//
// KernelOp
//===----------------------------------------------------------------------===//

Type KernelOp::getNormalizedElementType() {
  if (!getPrologue().empty())
    return getPrologue().front().getTerminator()->getOperand(0).getType();
  return cast<ShapedType>(getInput().getType()).getElementType();
}

/// (C7)/(C8): a region of one block taking `args` and yielding `result`.
static LogicalResult verifyElementwiseRegion(KernelOp op, Region &region,
                                             StringRef name, TypeRange args,
                                             function_ref<bool(Type)> result,
                                             StringRef resultWhat) {
  if (!region.hasOneBlock())
    return op.emitOpError() << name << " must have one block";
  Block &block = region.front();
  if (block.getArgumentTypes() != args) {
    auto diag = op.emitOpError() << name << " block arguments must be (";
    llvm::interleaveComma(args, diag);
    return diag << ")";
  }
  auto yield = dyn_cast<YieldOp>(block.getTerminator());
  if (!yield)
    return op.emitOpError() << name << " must end with norm.yield";
  if (!result(yield.getValue().getType()))
    return op.emitOpError() << name << " must yield " << resultWhat << ", got "
                            << yield.getValue().getType();
  return success();
}

/// Whether shapes `a` and `b` agree where both are static (the kernel
/// verifier's comparisons: a cast folded into a kernel leaves a static and
/// a dynamic dimension that are equal at run time).
static bool compatible(ArrayRef<int64_t> a, ArrayRef<int64_t> b) {
  return succeeded(verifyCompatibleShape(a, b));
}

LogicalResult KernelOp::verify() {
  auto inType = cast<ShapedType>(getInput().getType());
  // (C9) The lowerings index elements and bytes in int64 and round runs up
  // to whole vectors: a size near 2^63 would wrap around.
  if (inType.hasStaticShape()) {
    int64_t bytes = std::max<int64_t>(inType.getElementTypeBitWidth() / 8, 1);
    bool overflow = false;
    for (int64_t d : inType.getShape())
      overflow |= llvm::MulOverflow(bytes, d, bytes);
    if (overflow || bytes >= (int64_t(1) << 62))
      return emitOpError("input of ")
             << inType << " is too large: a kernel's input must hold fewer "
             << "than 2^62 bytes";
  }
  // (C7)
  if (!getPrologue().empty()) {
    SmallVector<Type> args;
    SmallVector<Value> inputs = {getInput()};
    llvm::append_range(inputs, getExtraInputs());
    for (Value v : inputs) {
      auto t = cast<ShapedType>(v.getType());
      if (!compatible(t.getShape(), inType.getShape()))
        return emitOpError("prologue inputs must all have the input's shape");
      args.push_back(t.getElementType());
    }
    if (failed(verifyElementwiseRegion(
            *this, getPrologue(), "prologue", args,
            [](Type t) {
              return isa<Float32Type, Float16Type, BFloat16Type>(t);
            },
            "f32, f16 or bf16")))
      return failure();
  } else if (!getExtraInputs().empty()) {
    return emitOpError("extra inputs need a prologue");
  }
  Type normType = getNormalizedElementType();
  if (!isa<Float32Type, Float16Type, BFloat16Type>(normType))
    return emitOpError("input must have an f32, f16 or bf16 element type");
  ArrayRef<int64_t> shape = inType.getShape();
  int64_t rank = inType.getRank();
  bool onTensors = isa<RankedTensorType>(inType);
  // (C6) tensors or memrefs throughout.
  for (Value v : getOperands())
    if (isa<RankedTensorType>(v.getType()) != onTensors ||
        !isa<RankedTensorType, MemRefType>(v.getType()))
      return emitOpError("operands must be all ranked tensors or all memrefs");
  if (onTensors ? TypeRange(getResults().getTypes()) != getOuts().getTypes()
                : !getResults().empty())
    return emitOpError(onTensors ? "results must have the types of outs"
                                 : "has no results on memrefs");
  // (C1)
  if (failed(verifyAxes(*this, getAxes(), rank, "axis")))
    return failure();
  // (C2)
  if (failed(verifyAxes(*this, getParamAxes(), rank, "param axis")))
    return failure();
  SmallVector<int64_t> paramShape;
  for (int64_t a : getParamAxes())
    paramShape.push_back(shape[a]);
  auto checkShaped = [&](Value v, StringRef name, ArrayRef<int64_t> expected,
                         bool stat) -> LogicalResult {
    auto t = cast<ShapedType>(v.getType());
    Type elt = t.getElementType();
    bool eltOk =
        stat ? elt.isF32() : (elt == inType.getElementType() || elt.isF32());
    if (!compatible(t.getShape(), expected) || !eltOk)
      return emitOpError() << name << " must have shape " << shapeStr(expected)
                           << " and " << (stat ? "f32" : "the input's or f32")
                           << " elements, got " << t;
    return success();
  };
  for (auto [v, name] : {std::pair<Value, StringRef>{getWeight(), "weight"},
                         {getBias(), "bias"}})
    if (v && failed(checkShaped(v, name, paramShape, false)))
      return failure();
  if (getParamAxes().empty() != (!getWeight() && !getBias()))
    return emitOpError(
        "param_axes must be given exactly when weight or bias is");
  // (C3)
  size_t numOuts = getOuts().size();
  if (numOuts != getNumOutsOf(getKind()) &&
      (getPrologue().empty() || numOuts != getNumOutsOf(getKind()) + 1))
    return emitOpError() << "of kind " << stringifyKernelKind(getKind())
                         << " expects " << getNumOutsOf(getKind())
                         << (getKind() == KernelKind::Apply ? " out" : " outs")
                         << ", got " << numOuts
                         << " (with a prologue, one more may hold its value)";
  // (C10)
  if (Value h = getPrologueResult()) {
    auto t = cast<ShapedType>(h.getType());
    if (!compatible(t.getShape(), inType.getShape()) ||
        t.getElementType() != normType)
      return emitOpError() << "the prologue's out must have the input's shape "
                              "and the prologue's element type "
                           << normType << ", got " << t;
  }
  auto outType = cast<ShapedType>(getOuts()[0].getType());
  // (C8)
  if (!getEpilogue().empty()) {
    if (failed(verifyElementwiseRegion(
            *this, getEpilogue(), "epilogue", TypeRange{normType},
            [&](Type t) { return t == outType.getElementType(); },
            "the element type of outs[0]")))
      return failure();
  } else if (outType.getElementType() != normType) {
    return emitOpError() << "outs[0] must have the input's shape and element "
                            "type, got "
                         << outType;
  }
  if (!compatible(outType.getShape(), shape))
    return emitOpError() << "outs[0] must have the input's shape and element "
                            "type, got "
                         << outType;
  SmallVector<int64_t> statShape = keepDimsShape(shape, getAxes());
  for (Value v : getOuts().drop_front().take_front(getNumOutsOf(getKind()) - 1))
    if (failed(checkShaped(v, "statistics out", statShape, true)))
      return failure();
  // (C4)
  if (!computesStatistics() && !getRstd())
    return emitOpError("an apply-only kernel (1 out) needs rstd");
  if (computesStatistics() && (getMean() || getRstd()))
    return emitOpError("mean and rstd operands are only allowed with 1 out");
  for (auto [v, name] :
       {std::pair<Value, StringRef>{getMean(), "mean"}, {getRstd(), "rstd"}})
    if (v && failed(checkShaped(v, name, statShape, true)))
      return failure();
  // (C5)
  if (computesStatistics() != getEpsilon().has_value())
    return emitOpError("epsilon must be given exactly when statistics are "
                       "computed");
  if (getZeroDegenerate() && !computesStatistics())
    return emitOpError("zero_degenerate needs statistics computed by the "
                       "kernel");
  if (getEpsilon() &&
      failed(verifyEpsilon(*this, getEpsilon()->convertToDouble())))
    return failure();
  // (C11)
  if (ArrayAttr variants = getVariantsAttr()) {
    if (getScheduleAttr())
      return emitOpError("has both a schedule and variants");
    if (variants.empty())
      return emitOpError("variants must not be empty");
    int64_t previous = -1;
    bool cpu = false;
    for (auto [i, v] : llvm::enumerate(variants.getAsRange<VariantAttr>())) {
      if ((i == 0) != (v.getFrom() == 0) || v.getFrom() <= previous)
        return emitOpError("variants' from must ascend strictly from 0");
      previous = v.getFrom();
      bool isCPU = isa<ScheduleAttr>(v.getSchedule());
      if (i > 0 && isCPU != cpu)
        return emitOpError("variants must be all CPU or all GPU schedules");
      cpu = isCPU;
    }
  }
  return success();
}

namespace {
/// Absorbs a tensor.cast from a more static type into the kernel's operand
/// (results refined likewise, cast back for their users). Upstream's
/// FoldTensorCastProducerOp would otherwise clone the kernel, which MLIR 22
/// cannot do for an op with an empty region and a listener (a crash).
struct FoldCastsIntoKernel : public OpRewritePattern<KernelOp> {
  FoldCastsIntoKernel(MLIRContext *context)
      : OpRewritePattern<KernelOp>(context, /*benefit=*/2) {}

  LogicalResult matchAndRewrite(KernelOp op,
                                PatternRewriter &rewriter) const override {
    SmallVector<std::pair<OpOperand *, Value>> sources;
    for (OpOperand &operand : op->getOpOperands())
      if (auto cast = operand.get().getDefiningOp<tensor::CastOp>();
          cast && tensor::canFoldIntoConsumerOp(cast))
        sources.push_back({&operand, cast.getSource()});
    if (sources.empty())
      return failure();
    rewriter.setInsertionPointAfter(op);
    SmallVector<std::pair<OpResult, Type>> retyped;
    rewriter.modifyOpInPlace(op, [&] {
      for (auto [operand, source] : sources)
        operand->set(source);
      // On tensors the results have the types of outs (C6).
      for (auto [result, out] : llvm::zip(op->getResults(), op.getOuts()))
        if (result.getType() != out.getType()) {
          retyped.push_back({cast<OpResult>(result), result.getType()});
          result.setType(out.getType());
        }
    });
    for (auto [result, type] : retyped) {
      auto back = tensor::CastOp::create(rewriter, op.getLoc(), type, result);
      rewriter.replaceAllUsesExcept(result, back, back);
    }
    return success();
  }
};

/// A check whose condition is a constant true never fails.
struct EraseTrueCheck : public OpRewritePattern<CheckOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(CheckOp op,
                                PatternRewriter &rewriter) const override {
    if (!matchPattern(op.getCondition(), m_One()))
      return failure();
    rewriter.eraseOp(op);
    return success();
  }
};
} // namespace

void KernelOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                           MLIRContext *context) {
  results.add<FoldCastsIntoKernel>(context);
}

void CheckOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                          MLIRContext *context) {
  results.add<EraseTrueCheck>(context);
}

LogicalResult CheckOp::verify() {
  // (C1)
  if (getMessage().empty())
    return emitOpError("needs a message");
  // (C2)
  if (!isa_and_nonnull<FunctionOpInterface>((*this)->getParentOp()))
    return emitOpError("must be in the body of a function, not nested in "
                       "another op's region");
  return success();
}

void KernelOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  addKernelEffects(*this, effects);
}

#define GET_OP_CLASSES
#include "normlir/Dialect/Norm/IR/NormOps.cpp.inc"
