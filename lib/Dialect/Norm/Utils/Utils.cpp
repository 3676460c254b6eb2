//===- Utils.cpp - builders shared by norm passes -------------------------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//

#include "normlir/Dialect/Norm/Utils/Utils.h"
#include "normlir/Dialect/Norm/Utils/KernelLayout.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;

namespace normlir::norm {

SmallVector<int64_t> getComplementAxes(int64_t rank, ArrayRef<int64_t> axes) {
  SmallVector<int64_t> out;
  for (int64_t d = 0; d < rank; ++d)
    if (!llvm::is_contained(axes, d))
      out.push_back(d);
  return out;
}

SmallVector<ReassociationIndices>
getKeptAxesReassociation(int64_t rank, ArrayRef<int64_t> keptAxes) {
  SmallVector<ReassociationIndices> groups;
  ReassociationIndices pending;
  for (int64_t d = 0; d < rank; ++d) {
    pending.push_back(d);
    if (llvm::is_contained(keptAxes, d)) {
      groups.push_back(pending);
      pending.clear();
    }
  }
  // Trailing unit dims join the last group; with no kept axes the collapse
  // is to rank 0, whose reassociation is empty.
  if (!pending.empty() && !groups.empty())
    groups.back().append(pending.begin(), pending.end());
  return groups;
}

Value collapseToAxes(OpBuilder &b, Location loc, Value value,
                     ArrayRef<int64_t> keptAxes) {
  auto type = cast<RankedTensorType>(value.getType());
  if (static_cast<int64_t>(keptAxes.size()) == type.getRank())
    return value;
  SmallVector<int64_t> shape;
  for (int64_t a : keptAxes)
    shape.push_back(type.getDimSize(a));
  auto resultType = RankedTensorType::get(shape, type.getElementType());
  return tensor::CollapseShapeOp::create(
      b, loc, resultType, value,
      getKeptAxesReassociation(type.getRank(), keptAxes));
}

Value expandFromAxes(OpBuilder &b, Location loc, Value value,
                     RankedTensorType type, ArrayRef<int64_t> keptAxes) {
  if (value.getType() == type)
    return value;
  return tensor::ExpandShapeOp::create(
      b, loc, type, value, getKeptAxesReassociation(type.getRank(), keptAxes));
}

Value buildRstd(OpBuilder &b, Location loc, Value var, double eps,
                bool zeroDegenerate) {
  auto f32 = [&](double v) -> Value {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
  };
  Value sqrt = math::SqrtOp::create(
      b, loc, arith::AddFOp::create(b, loc, var, f32(eps)));
  Value rstd = arith::DivFOp::create(b, loc, f32(1.0), sqrt);
  if (!zeroDegenerate || eps != 0.0)
    return rstd;
  Value zero = f32(0.0);
  Value degenerate =
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, var, zero);
  return arith::SelectOp::create(b, loc, degenerate, zero, rstd);
}

bool isElementwiseMap(linalg::GenericOp g) {
  return g.getNumDpsInits() == 1 && g->getNumResults() == 1 &&
         g.getNumReductionLoops() == 0 &&
         llvm::all_of(g.getIndexingMapsArray(),
                      [](AffineMap m) { return m.isIdentity(); }) &&
         g.getRegion().front().getArguments().back().use_empty();
}

Value castFloat(OpBuilder &b, Location loc, Value v, Type to) {
  Type from = v.getType();
  if (from == to)
    return v;
  if (from.getIntOrFloatBitWidth() < to.getIntOrFloatBitWidth())
    return arith::ExtFOp::create(b, loc, to, v);
  return arith::TruncFOp::create(b, loc, to, v);
}

Value buildMap(OpBuilder &b, Location loc, ValueRange inputs,
               RankedTensorType resultType, MapBodyFn body) {
  int64_t rank = resultType.getRank();
  Value init = tensor::EmptyOp::create(b, loc, resultType.getShape(),
                                       resultType.getElementType());
  SmallVector<AffineMap> maps(inputs.size() + 1,
                              b.getMultiDimIdentityMap(rank));
  SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      b, loc, resultType, inputs, init, maps, iters,
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        Value r = body(nb, nloc, args.drop_back());
        linalg::YieldOp::create(nb, nloc, r);
      });
  return generic.getResult(0);
}

Value buildZeros(OpBuilder &b, Location loc, ArrayRef<int64_t> shape) {
  Type f32 = b.getF32Type();
  Value empty = tensor::EmptyOp::create(b, loc, shape, f32);
  Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f));
  return linalg::FillOp::create(b, loc, zero, empty).getResult(0);
}

Value applyRegionOnVectors(OpBuilder &b, Location loc, Region &region,
                           ArrayRef<Value> args, int64_t lanes) {
  Block &block = region.front();
  IRMapping map;
  for (auto [arg, v] : llvm::zip(block.getArguments(), args))
    map.map(arg, v);
  auto vectorOf = [&](Type t) { return VectorType::get({lanes}, t); };
  for (Operation &op : block.without_terminator()) {
    Attribute value;
    if (op.hasTrait<OpTrait::ConstantLike>() &&
        matchPattern(&op, m_Constant(&value)) && isa<TypedAttr>(value)) {
      Type t = op.getResult(0).getType();
      map.map(op.getResult(0),
              arith::ConstantOp::create(
                  b, loc, DenseElementsAttr::get(vectorOf(t), value)));
      continue;
    }
    OperationState state(loc, op.getName());
    for (Value v : op.getOperands()) {
      Value mapped = map.lookupOrNull(v);
      state.addOperands(
          mapped ? mapped
                 : vector::BroadcastOp::create(b, loc, vectorOf(v.getType()), v)
                       .getResult());
    }
    for (Type t : op.getResultTypes())
      state.addTypes(vectorOf(t));
    state.addAttributes(op.getAttrs());
    Operation *vectorOp = b.create(state);
    map.map(op.getResults(), vectorOp->getResults());
  }
  return map.lookup(block.getTerminator()->getOperand(0));
}

Value flattenMemRef(OpBuilder &b, Location loc, Value mem) {
  if (!mem)
    return {};
  auto type = cast<MemRefType>(mem.getType());
  if (type.getRank() == 1)
    return mem;
  if (type.getRank() == 0)
    return memref::ExpandShapeOp::create(
        b, loc, MemRefType::get({1}, type.getElementType()), mem,
        ArrayRef<ReassociationIndices>{});
  ReassociationIndices all;
  for (int64_t i = 0; i < type.getRank(); ++i)
    all.push_back(i);
  return memref::CollapseShapeOp::create(b, loc, mem,
                                         ArrayRef<ReassociationIndices>{all});
}

Value buildRunParamOffset(OpBuilder &b, Location loc,
                          const KernelLayout &layout, int run, Value coord) {
  if (!coord)
    return {};
  auto cst = [&](int64_t v) {
    return arith::ConstantIndexOp::create(b, loc, v).getResult();
  };
  Value sum;
  int64_t inner = 1;
  ArrayRef<int64_t> dims = layout.dims[run];
  for (int64_t i = dims.size() - 1; i >= 0; --i) {
    int64_t d = dims[i];
    if (layout.paramStride[d] != 0) {
      // (coord / inner) % size(d) * stride(d); the outermost needs no %.
      Value idx =
          inner == 1
              ? coord
              : arith::DivUIOp::create(b, loc, coord, cst(inner)).getResult();
      if (i != 0)
        idx = arith::RemUIOp::create(b, loc, idx, cst(layout.shape[d]));
      if (layout.paramStride[d] != 1)
        idx = arith::MulIOp::create(b, loc, idx, cst(layout.paramStride[d]));
      sum = sum ? arith::AddIOp::create(b, loc, sum, idx).getResult() : idx;
    }
    inner *= layout.shape[d];
  }
  return sum;
}

} // namespace normlir::norm

Value normlir::norm::buildBF16RoundedBits(OpBuilder &b, Location loc, Value v) {
  Type i32 = b.getI32Type();
  Type bitsType = i32;
  if (auto vt = dyn_cast<VectorType>(v.getType()))
    bitsType = vt.clone(i32);
  auto constant = [&](int64_t c) -> Value {
    TypedAttr attr = b.getI32IntegerAttr(c);
    if (auto vt = dyn_cast<VectorType>(bitsType))
      attr = DenseElementsAttr::get(vt, attr);
    return arith::ConstantOp::create(b, loc, bitsType, attr);
  };
  Value bits = arith::BitcastOp::create(b, loc, bitsType, v);
  Value lsb = arith::AndIOp::create(
      b, loc, arith::ShRUIOp::create(b, loc, bits, constant(16)), constant(1));
  Value rounded = arith::AddIOp::create(
      b, loc, bits, arith::AddIOp::create(b, loc, lsb, constant(0x7fff)));
  Value isNaN = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO, v, v);
  return arith::SelectOp::create(b, loc, isNaN, constant(0x7fc00000), rounded);
}
