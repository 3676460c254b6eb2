//===- Verify.cpp - checks shared by the norm dialect's verifiers ---------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//

#include "Verify.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace normlir::norm::detail {

std::string shapeStr(ArrayRef<int64_t> shape) {
  std::string s = "[";
  llvm::raw_string_ostream os(s);
  llvm::interleaveComma(shape, os, [&](int64_t d) {
    if (ShapedType::isDynamic(d))
      os << "?";
    else
      os << d;
  });
  os << "]";
  return s;
}

/// Axes lie in [0, rank), are distinct and ascending.
LogicalResult verifyAxes(Operation *op, ArrayRef<int64_t> axes, int64_t rank,
                         StringRef what) {
  for (auto [i, a] : llvm::enumerate(axes)) {
    if (a < 0 || a >= rank)
      return op->emitOpError()
             << what << " " << a << " is out of range [0, " << rank << ")";
    if (i > 0 && axes[i - 1] >= a)
      return op->emitOpError()
             << what << " must be distinct and ascending, got "
             << shapeStr(axes);
  }
  return success();
}

/// A parameter (weight, bias, running statistic) has exactly `shape` and an
/// element type of f32 or the input's.
LogicalResult verifyParam(Operation *op, Value param, StringRef name,
                          ArrayRef<int64_t> shape, Type inputElt) {
  if (!param)
    return success();
  auto type = cast<RankedTensorType>(param.getType());
  if (type.getShape() != shape)
    return op->emitOpError()
           << name << " shape " << shapeStr(type.getShape())
           << " does not match the expected " << shapeStr(shape);
  Type elt = type.getElementType();
  if (!elt.isF32() && elt != inputElt)
    return op->emitOpError() << name << " element type " << elt
                             << " must be f32 or the input's " << inputElt;
  return success();
}

/// The shape of a statistic: the input's shape with `axes` set to 1.
SmallVector<int64_t> keepDimsShape(ArrayRef<int64_t> shape,
                                   ArrayRef<int64_t> axes) {
  SmallVector<int64_t> out(shape);
  for (int64_t a : axes)
    out[a] = 1;
  return out;
}

LogicalResult verifyResultType(Operation *op, Type actual,
                               RankedTensorType expected, StringRef name) {
  if (actual != expected)
    return op->emitOpError()
           << name << " must have type " << expected << ", got " << actual;
  return success();
}

LogicalResult verifyBroadcastStat(Operation *op, Value stat, StringRef name,
                                  ArrayRef<int64_t> shape) {
  if (!stat)
    return success();
  auto st = cast<RankedTensorType>(stat.getType());
  if (st.getRank() != int64_t(shape.size()))
    return op->emitOpError() << name << " must have the input's rank "
                             << shape.size() << ", got " << st.getRank();
  for (auto [d, s] : llvm::enumerate(st.getShape()))
    if (s != 1 && s != shape[d])
      return op->emitOpError() << name << " dimension " << d << " is " << s
                               << "; it must be 1 or the input's " << shape[d];
  return success();
}

SmallVector<int64_t> selectShape(ArrayRef<int64_t> shape,
                                 ArrayRef<int64_t> axes) {
  SmallVector<int64_t> out;
  for (int64_t a : axes)
    out.push_back(shape[a]);
  return out;
}

void addKernelEffects(
    DestinationStyleOpInterface op,
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  for (OpOperand &operand : op->getOpOperands()) {
    if (!isa<MemRefType>(operand.get().getType()))
      continue;
    if (op.isDpsInit(&operand))
      effects.emplace_back(MemoryEffects::Write::get(), &operand,
                           SideEffects::DefaultResource::get());
    else
      effects.emplace_back(MemoryEffects::Read::get(), &operand,
                           SideEffects::DefaultResource::get());
  }
}

} // namespace normlir::norm::detail
