//===- NormGradOps.cpp - norm dialect gradient ops: verifiers -------------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// Each check names the constraint (Cn) of the op's ODS description
// (NormGradOps.td) that it enforces; test/Dialect/Norm/IR/invalid-grad.mlir
// has a negative test per constraint.
//
//===----------------------------------------------------------------------===//

#include "normlir/Dialect/Norm/IR/Norm.h"

#include "Verify.h"

using namespace mlir;
using namespace normlir::norm;
using namespace normlir::norm::detail;

/// `grad` has the type of `x`.
static LogicalResult verifyGradType(Operation *op, Value x, Value grad) {
  if (grad.getType() != x.getType())
    return op->emitOpError() << "grad must have the input's type "
                             << x.getType() << ", got " << grad.getType();
  return success();
}

/// Parameter axes and the weight indexed by them, given together.
static LogicalResult verifyWeightAxes(Operation *op, RankedTensorType xType,
                                      ArrayRef<int64_t> paramAxes,
                                      Value weight) {
  // (param_axes range: C4 of grad_moments, C3 of apply_grad)
  if (failed(verifyAxes(op, paramAxes, xType.getRank(), "param axis")))
    return failure();
  // (Presence: C6 / C5) before the shape, which depends on the axes.
  if (paramAxes.empty() != !weight)
    return op->emitOpError("param_axes must be given exactly when weight is");
  // (Weight shape and type: C5 / C4)
  return verifyParam(op, weight, "weight",
                     selectShape(xType.getShape(), paramAxes),
                     xType.getElementType());
}

LogicalResult GradMomentsOp::verify() {
  auto xType = cast<RankedTensorType>(getX().getType());
  // (C1)
  if (failed(verifyAxes(*this, getAxes(), xType.getRank(), "axis")))
    return failure();
  if (getAxes().empty())
    return emitOpError("expects at least one reduction axis");
  // (C2)
  if (failed(verifyGradType(*this, getX(), getGrad())))
    return failure();
  // (C3) the forward's statistics over the same axes.
  auto statType =
      RankedTensorType::get(keepDimsShape(xType.getShape(), getAxes()),
                            Float32Type::get(getContext()));
  if (getMean() &&
      failed(verifyResultType(*this, getMean().getType(), statType, "mean")))
    return failure();
  if (failed(verifyResultType(*this, getRstd().getType(), statType, "rstd")))
    return failure();
  // (C4)-(C6)
  if (failed(verifyWeightAxes(*this, xType, getParamAxes(), getWeight())))
    return failure();
  // (C7)
  if (failed(verifyResultType(*this, getMeanG().getType(), statType, "result")))
    return failure();
  // (C8)
  if (bool(getEpsilonAttr()) != getInputStatistics())
    return emitOpError("expects epsilon (the forward's) iff "
                       "input_statistics");
  if (getZeroDegenerate() && !getInputStatistics())
    return emitOpError("zero_degenerate needs input_statistics");
  // (C9)
  if (auto eps = getEpsilonAttr(); eps && eps.getValueAsDouble() < 0)
    return emitOpError() << "epsilon must not be negative, got "
                         << eps.getValueAsDouble();
  return success();
}

LogicalResult ApplyGradOp::verify() {
  auto xType = cast<RankedTensorType>(getX().getType());
  ArrayRef<int64_t> shape = xType.getShape();
  // (C1)
  if (failed(verifyGradType(*this, getX(), getGrad())))
    return failure();
  // (C2)
  if (failed(verifyBroadcastStat(*this, getMean(), "mean", shape)) ||
      failed(verifyBroadcastStat(*this, getRstd(), "rstd", shape)) ||
      failed(verifyBroadcastStat(*this, getMeanG(), "mean_g", shape)) ||
      failed(verifyBroadcastStat(*this, getMeanGxhat(), "mean_gxhat", shape)))
    return failure();
  // (C3)-(C5)
  if (failed(verifyWeightAxes(*this, xType, getParamAxes(), getWeight())))
    return failure();
  // (C6)
  return verifyResultType(*this, getResult().getType(), xType, "result");
}

LogicalResult ParamGradOp::verify() {
  auto xType = cast<RankedTensorType>(getX().getType());
  ArrayRef<int64_t> shape = xType.getShape();
  // (C1)
  if (failed(verifyGradType(*this, getX(), getGrad())))
    return failure();
  // (C2)
  if (failed(verifyBroadcastStat(*this, getMean(), "mean", shape)) ||
      failed(verifyBroadcastStat(*this, getRstd(), "rstd", shape)))
    return failure();
  // (C3)
  if (failed(verifyAxes(*this, getParamAxes(), xType.getRank(), "param axis")))
    return failure();
  if (getParamAxes().empty())
    return emitOpError("expects at least one param axis");
  // (C4)
  auto resultType = cast<RankedTensorType>(getWeightGrad().getType());
  SmallVector<int64_t> expected = selectShape(shape, getParamAxes());
  if (resultType.getShape() != ArrayRef<int64_t>(expected))
    return emitOpError() << "weight_grad shape "
                         << shapeStr(resultType.getShape())
                         << " does not match the expected "
                         << shapeStr(expected);
  return success();
}

LogicalResult GradKernelOp::verify() {
  // (C7) ranked, static, f32/f16/bf16 operands of fewer than 2^62 bytes
  // (the lowering indexes in int64 and rounds runs up to whole vectors).
  for (Value v : getOperands()) {
    auto type = dyn_cast<ShapedType>(v.getType());
    if (!type || !type.hasStaticShape())
      return emitOpError() << "operands must be statically shaped, got "
                           << v.getType();
    Type elt = type.getElementType();
    if (!elt.isF32() && !elt.isF16() && !elt.isBF16())
      return emitOpError() << "operands must have f32, f16 or bf16 elements, "
                              "got "
                           << v.getType();
    uint64_t bytes = elt.getIntOrFloatBitWidth() / 8;
    for (int64_t d : type.getShape()) {
      if (d != 0 && bytes > (uint64_t(1) << 62) / uint64_t(d))
        return emitOpError()
               << "operand " << v.getType() << " holds 2^62 bytes or more";
      bytes *= uint64_t(d);
    }
  }
  auto inType = cast<ShapedType>(getInput().getType());
  ArrayRef<int64_t> shape = inType.getShape();
  int64_t rank = inType.getRank();
  // (C1)
  ArrayRef<int64_t> axes = getAxes();
  if (axes.empty())
    return emitOpError("expects at least one reduction axis");
  if (failed(verifyAxes(*this, axes, rank, "axis")))
    return failure();
  // (C3), the axes
  if (getParamAxes() &&
      failed(verifyAxes(*this, *getParamAxes(), rank, "parameter axis")))
    return failure();
  SmallVector<int64_t> paramShape = selectShape(shape, getWeightAxes());
  auto sameShapeElt = [](ShapedType a, ShapedType b) {
    return a.getShape() == b.getShape() &&
           a.getElementType() == b.getElementType();
  };
  // (C2)
  if (!sameShapeElt(cast<ShapedType>(getGrad().getType()), inType))
    return emitOpError("grad must have the input's shape and element type");
  // (C3)
  if (getWeight() && cast<ShapedType>(getWeight().getType()).getShape() !=
                         ArrayRef<int64_t>(paramShape))
    return emitOpError() << "weight must have the shape "
                         << shapeStr(paramShape);
  // (C4)
  if (getOuts().size() != 1 && getOuts().size() != 3)
    return emitOpError() << "expects 1 or 3 outs, got " << getOuts().size();
  if (!sameShapeElt(cast<ShapedType>(getOuts()[0].getType()), inType))
    return emitOpError("outs[0] must have the input's shape and element type");
  if (getOuts().size() == 3) {
    auto dw = cast<ShapedType>(getOuts()[1].getType());
    auto db = cast<ShapedType>(getOuts()[2].getType());
    if (dw.getShape() != ArrayRef<int64_t>(paramShape) || !sameShapeElt(dw, db))
      return emitOpError() << "outs[1] and outs[2] must have the shape "
                           << shapeStr(paramShape) << " and one element type";
  }
  // (C5)
  if (getEpsilon().convertToDouble() < 0)
    return emitOpError() << "epsilon must not be negative, got "
                         << getEpsilon().convertToDouble();
  // (C8)
  if (getRstd()) {
    if (bool(getMean()) != getCentered())
      return emitOpError("with saved statistics, expects a mean iff "
                         "centered");
    SmallVector<int64_t> statShape(shape);
    for (int64_t a : axes)
      statShape[a] = 1;
    for (Value v : {getMean(), getRstd()}) {
      auto type = v ? cast<ShapedType>(v.getType()) : ShapedType();
      if (type && (!type.getElementType().isF32() ||
                   type.getShape() != ArrayRef<int64_t>(statShape)))
        return emitOpError() << "saved statistics must be f32 of shape "
                             << shapeStr(statShape) << ", got " << v.getType();
    }
  } else if (getMean()) {
    return emitOpError("expects a saved mean only with a saved rstd");
  }
  // (C9)
  if (getConstantStatistics() && !getRstd())
    return emitOpError("constant_statistics needs the statistics as "
                       "operands (rstd)");
  // (C10)
  if (getInputStatistics() && (!getRstd() || getConstantStatistics()))
    return emitOpError("input_statistics needs the statistics as operands "
                       "(rstd) and excludes constant_statistics");
  // (C12) The prefetch and nontemporal half depends on the kernel's form, which
  // the layout analysis decides (NormLIRNormUtils, above this library): the
  // lowering and norm-select-schedule check it.
  if (GradScheduleAttr schedule = getScheduleAttr();
      schedule && schedule.getStatistics() == GradStatistics::Recomputed &&
      !getInputStatistics())
    return emitOpError("a schedule recomputes the statistics only with "
                       "input_statistics (the input's own, saved)");
  // (C11)
  if (Value r = getResidualGrad();
      r && !sameShapeElt(cast<ShapedType>(r.getType()), inType))
    return emitOpError("residual_grad must have the input's shape and "
                       "element type");
  // (C6)
  bool tensors = isa<RankedTensorType>(inType);
  for (Value v : getOperands())
    if (isa<RankedTensorType>(v.getType()) != tensors)
      return emitOpError("operands must be all tensors or all memrefs");
  if (tensors != (getNumResults() == getOuts().size()) ||
      (!tensors && getNumResults() != 0))
    return emitOpError("results must be the outs' types on tensors, none "
                       "on memrefs");
  if (tensors)
    for (auto [r, o] : llvm::zip(getResults(), getOuts()))
      if (r.getType() != o.getType())
        return emitOpError("results must have the types of the outs");
  return success();
}

void GradKernelOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  addKernelEffects(*this, effects);
}
