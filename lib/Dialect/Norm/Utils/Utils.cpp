//===- Utils.cpp - builders shared by norm passes -------------------------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//

#include "normlir/Dialect/Norm/Utils/Utils.h"
#include "normlir/Dialect/Norm/IR/Norm.h"
#include "normlir/Dialect/Norm/Utils/KernelLayout.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/PatternMatch.h"

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

Value buildEmpty(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
                 Type elementType, Value like) {
  SmallVector<Value> sizes;
  for (auto [d, size] : llvm::enumerate(shape))
    if (ShapedType::isDynamic(size))
      sizes.push_back(tensor::DimOp::create(b, loc, like, d));
  return tensor::EmptyOp::create(
      b, loc, RankedTensorType::get(shape, elementType), sizes);
}

Value buildMap(OpBuilder &b, Location loc, ValueRange inputs,
               RankedTensorType resultType, MapBodyFn body) {
  int64_t rank = resultType.getRank();
  // The inputs have the result's shape (an elementwise map).
  Value init =
      buildEmpty(b, loc, resultType.getShape(), resultType.getElementType(),
                 inputs.empty() ? Value() : inputs.front());
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
  // The type spelled out: a static 0 beside a dynamic dimension is dynamic
  // (the verifier's rule), which the inferred type would make 0.
  int64_t size =
      type.hasStaticShape() ? type.getNumElements() : ShapedType::kDynamic;
  return memref::CollapseShapeOp::create(
      b, loc, MemRefType::get({size}, type.getElementType()), mem,
      ArrayRef<ReassociationIndices>{all});
}

std::optional<std::pair<Value, int64_t>> traceReshapedDim(Value v, int64_t d) {
  // A group whose other dimensions are all static 1s keeps the size of
  // its one other dimension (a statistic's kept unit dimensions).
  auto onlyOther = [](ArrayRef<int64_t> group,
                      MemRefType type) -> std::optional<int64_t> {
    std::optional<int64_t> other;
    for (int64_t g : group) {
      if (type.getDimSize(g) != 1) {
        if (other)
          return std::nullopt;
        other = g;
      }
    }
    return other;
  };
  while (true) {
    if (auto c = v.getDefiningOp<memref::CollapseShapeOp>()) {
      SmallVector<ReassociationIndices> groups = c.getReassociationIndices();
      if (d >= int64_t(groups.size()))
        return std::nullopt;
      if (groups[d].size() == 1) {
        d = groups[d][0];
      } else {
        std::optional<int64_t> other = onlyOther(groups[d], c.getSrcType());
        if (!other)
          return std::nullopt;
        d = *other;
      }
      v = c.getSrc();
    } else if (auto e = v.getDefiningOp<memref::ExpandShapeOp>()) {
      // Result dimension d lies in one source dimension's group.
      SmallVector<ReassociationIndices> groups = e.getReassociationIndices();
      auto it = llvm::find_if(groups, [&](const ReassociationIndices &g) {
        return llvm::is_contained(g, d);
      });
      if (it == groups.end() || llvm::any_of(*it, [&](int64_t g) {
            return g != d && e.getResultType().getDimSize(g) != 1;
          }))
        return std::nullopt;
      d = it - groups.begin();
      v = e.getSrc();
    } else {
      return std::make_pair(v, d);
    }
  }
}

Value buildDimsProduct(OpBuilder &b, Location loc, Value shaped,
                       ArrayRef<int64_t> dims) {
  auto type = cast<ShapedType>(shaped.getType());
  int64_t fixed = 1;
  Value dynamic;
  for (int64_t d : dims) {
    if (!type.isDynamicDim(d)) {
      fixed *= type.getDimSize(d);
      continue;
    }
    Value size = isa<MemRefType>(type)
                     ? memref::DimOp::create(b, loc, shaped, d).getResult()
                     : tensor::DimOp::create(b, loc, shaped, d).getResult();
    dynamic = dynamic ? arith::MulIOp::create(b, loc, dynamic, size).getResult()
                      : size;
  }
  Value c = arith::ConstantIndexOp::create(b, loc, fixed);
  if (!dynamic)
    return c;
  return fixed == 1 ? dynamic
                    : arith::MulIOp::create(b, loc, dynamic, c).getResult();
}

Value buildNumSegments(OpBuilder &b, Location loc, KernelOp op,
                       const KernelLayout &layout) {
  SmallVector<int64_t> dims;
  for (int run : {KernelLayout::P0, KernelLayout::R1, KernelLayout::P1})
    llvm::append_range(dims, layout.dims[run]);
  return buildDimsProduct(b, loc, op.getInput(), dims);
}

void expandKernelVariants(RewriterBase &rewriter, KernelOp op,
                          SmallVectorImpl<KernelOp> &copies) {
  Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  // The variants are chosen by the input's number of elements.
  Value n = buildDimsProduct(
      rewriter, loc, op.getInput(),
      llvm::to_vector(llvm::seq<int64_t>(
          0, cast<ShapedType>(op.getInput().getType()).getRank())));
  auto variants = op.getVariantsAttr().getAsRange<VariantAttr>();
  SmallVector<VariantAttr> list(variants.begin(), variants.end());
  auto copyWith = [&](VariantAttr v) {
    auto copy = cast<KernelOp>(rewriter.clone(*op));
    copy.removeVariantsAttr();
    copy->setAttr(copy.getScheduleAttrName(), v.getSchedule());
    copies.push_back(copy);
  };
  // if (n >= from[k]) variant k else (if (n >= from[k-1]) ...) variant 0.
  for (size_t k = list.size(); k-- > 1;) {
    Value take = arith::CmpIOp::create(
        rewriter, loc, arith::CmpIPredicate::uge, n,
        arith::ConstantIndexOp::create(rewriter, loc, list[k].getFrom()));
    auto branch = scf::IfOp::create(rewriter, loc, take, /*withElse=*/true);
    rewriter.setInsertionPoint(branch.thenBlock()->getTerminator());
    copyWith(list[k]);
    rewriter.setInsertionPoint(branch.elseBlock()->getTerminator());
  }
  copyWith(list.front());
  rewriter.eraseOp(op);
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
    // No parameter axis lies outside a dynamic dimension of its run
    // (analyzeKernelLayout): `inner` is not needed past one.
    if (ShapedType::isDynamic(layout.shape[d]))
      break;
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
