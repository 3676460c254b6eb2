//===- CheckShapes.cpp - runtime checks of dynamic linalg shapes ----------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// `norm-check-shapes`: a linalg op (the elementwise residual add before a
// norm, which norm-fuse makes a kernel's prologue) assumes that all its
// operands agree on the size of each loop; with dynamic dimensions only the
// call can tell. Each loop dimension whose sizes are not all static gets a
// norm.check that the operands' sizes along it are equal, so that a caller
// who passes a residual of another length gets an error status instead of
// reads past its end. A tensor.cast that makes a dynamic dimension static
// gets a check that the size is that one (the ops after it are compiled for
// it). The norm ops written in the input (norm.apply, norm.kernel) read
// their statistics and write their outs at the input's sizes: theirs are
// checked against the input's the same way, and so are their parameters
// (and LayerNorm's and RMSNorm's where the normalized dimensions are
// dynamic) along the parameter axes. An init that is a tensor.empty
// is compared through its size operands: where they are the input's sizes
// the check folds away.
//
//===----------------------------------------------------------------------===//

#include "normlir/Dialect/Norm/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace normlir::norm {
#define GEN_PASS_DEF_NORMCHECKSHAPES
#include "normlir/Dialect/Norm/Transforms/Passes.h.inc"
} // namespace normlir::norm

using namespace mlir;
using namespace normlir::norm;

namespace {

/// The size of dimension `d` of the tensor or buffer `v`; a tensor.empty's
/// is its size operand (or constant), so that a check of an init made from
/// the input's sizes folds away and the others read no allocation.
static Value dimOf(OpBuilder &b, Location loc, Value v, int64_t d) {
  if (auto empty = v.getDefiningOp<tensor::EmptyOp>()) {
    OpFoldResult size = empty.getMixedSizes()[d];
    if (auto value = dyn_cast<Value>(size))
      return value;
    return arith::ConstantIndexOp::create(
        b, loc, cast<IntegerAttr>(cast<Attribute>(size)).getInt());
  }
  if (isa<MemRefType>(v.getType()))
    return memref::DimOp::create(b, loc, v, d);
  return tensor::DimOp::create(b, loc, v, d);
}

/// How a message names operand `o` of a linalg op: by the function's
/// argument where it is one (what the caller passed).
static std::string describe(OpOperand *o, int64_t d) {
  std::string s;
  if (auto arg = dyn_cast<BlockArgument>(o->get()))
    s = "argument " + std::to_string(arg.getArgNumber());
  else
    s = "operand " + std::to_string(o->getOperandNumber());
  return s + " dimension " + std::to_string(d);
}

/// norm.check that a tensor.cast's dynamic source dimensions have the sizes
/// its result type gives them.
static LogicalResult checkCast(tensor::CastOp cast, func::FuncOp func) {
  auto from = dyn_cast<RankedTensorType>(cast.getSource().getType());
  auto to = dyn_cast<RankedTensorType>(cast.getType());
  if (!from || !to)
    return success();
  bool refines = false;
  for (int64_t d = 0; d < to.getRank(); ++d)
    refines |= from.isDynamicDim(d) && !to.isDynamicDim(d);
  if (!refines)
    return success();
  if (cast->getParentOp() != func.getOperation())
    return cast.emitError("norm-check-shapes: cannot check the dynamic sizes "
                          "of an op nested in a region");
  OpBuilder b(cast);
  Location loc = cast.getLoc();
  for (int64_t d = 0; d < to.getRank(); ++d) {
    if (!from.isDynamicDim(d) || to.isDynamicDim(d))
      continue;
    Value size = tensor::DimOp::create(b, loc, cast.getSource(), d);
    Value want = arith::ConstantIndexOp::create(b, loc, to.getDimSize(d));
    Value same =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, size, want);
    std::string what = "tensor.cast";
    if (auto arg = dyn_cast<BlockArgument>(cast.getSource()))
      what = "argument " + std::to_string(arg.getArgNumber());
    CheckOp::create(b, loc, same,
                    b.getStringAttr(what + " dimension " + llvm::Twine(d) +
                                    " must be " +
                                    llvm::Twine(to.getDimSize(d))));
  }
  return success();
}

/// norm.check, before `op`, that each dynamic dimension of `other` (or of
/// `input` where `other`'s is static) is `input`'s, except where `other`'s
/// is a static 1 that broadcasts (`broadcast`).
static void checkAgainstInput(OpBuilder &b, Operation *op, Value input,
                              Value other, StringRef name, bool broadcast) {
  auto in = dyn_cast<RankedTensorType>(input.getType());
  auto t = dyn_cast<RankedTensorType>(other.getType());
  if (!in || !t || t.getRank() != in.getRank())
    return;
  Location loc = op->getLoc();
  for (int64_t d = 0; d < t.getRank(); ++d) {
    if (!in.isDynamicDim(d) && !t.isDynamicDim(d))
      continue; // The verifier compared them.
    if (broadcast && t.getDimSize(d) == 1)
      continue;
    Value a = dimOf(b, loc, input, d);
    Value c = dimOf(b, loc, other, d);
    Value same = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, a, c);
    CheckOp::create(b, loc, same,
                    b.getStringAttr(op->getName().getStringRef() + ": " + name +
                                    " dimension " + llvm::Twine(d) +
                                    " does not match the input's"));
  }
}

/// norm.check, before `op`, that each dimension i of the parameter `param`
/// is `input`'s dimension axes[i] where either is dynamic: a weight shorter
/// than the row would be read past its end.
static void checkParam(OpBuilder &b, Operation *op, Value input, Value param,
                       ArrayRef<int64_t> axes, StringRef name) {
  if (!param)
    return;
  auto in = dyn_cast<RankedTensorType>(input.getType());
  auto t = dyn_cast<RankedTensorType>(param.getType());
  if (!in || !t || t.getRank() != int64_t(axes.size()))
    return;
  Location loc = op->getLoc();
  for (auto [i, axis] : llvm::enumerate(axes)) {
    if (!in.isDynamicDim(axis) && !t.isDynamicDim(i))
      continue; // The verifier compared them.
    Value same = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                       dimOf(b, loc, input, axis),
                                       dimOf(b, loc, param, i));
    CheckOp::create(b, loc, same,
                    b.getStringAttr(op->getName().getStringRef() + ": " + name +
                                    " dimension " + llvm::Twine(i) +
                                    " does not match the input's dimension " +
                                    llvm::Twine(axis)));
  }
}

/// The runtime checks of a norm.layer_norm or norm.rms_norm whose
/// normalized dimensions are dynamic: the parameters' sizes.
static LogicalResult checkRowNormOp(Operation *op, func::FuncOp func) {
  Value input, weight, bias;
  size_t k = 0;
  if (auto ln = dyn_cast<LayerNormOp>(op)) {
    input = ln.getInput(), weight = ln.getWeight(), bias = ln.getBias();
    k = ln.getNormalizedShape().size();
  } else if (auto rms = dyn_cast<RMSNormOp>(op)) {
    input = rms.getInput(), weight = rms.getWeight();
    k = rms.getNormalizedShape().size();
  } else {
    return success();
  }
  auto in = cast<RankedTensorType>(input.getType());
  int64_t rank = in.getRank();
  SmallVector<int64_t> axes =
      llvm::to_vector(llvm::seq<int64_t>(rank - int64_t(k), rank));
  if (llvm::none_of(axes, [&](int64_t a) { return in.isDynamicDim(a); }) ||
      (!weight && !bias))
    return success();
  if (op->getParentOp() != func.getOperation())
    return op->emitError("norm-check-shapes: cannot check the dynamic sizes "
                         "of an op nested in a region");
  OpBuilder b(op);
  checkParam(b, op, input, weight, axes, "weight");
  checkParam(b, op, input, bias, axes, "bias");
  return success();
}

/// The runtime checks of a norm.apply or norm.kernel of the input.
static LogicalResult checkNormOp(Operation *op, func::FuncOp func) {
  if (isa<LayerNormOp, RMSNormOp>(op))
    return checkRowNormOp(op, func);
  auto apply = dyn_cast<ApplyOp>(op);
  auto kernel = dyn_cast<KernelOp>(op);
  if (!apply && !kernel)
    return success();
  Value input = apply ? apply.getInput() : kernel.getInput();
  bool dynamic = llvm::any_of(op->getOperandTypes(), [](Type t) {
    auto shaped = dyn_cast<ShapedType>(t);
    return shaped && shaped.hasRank() && !shaped.hasStaticShape();
  });
  if (!dynamic || !isa<RankedTensorType>(input.getType()))
    return success();
  if (op->getParentOp() != func.getOperation())
    return op->emitError("norm-check-shapes: cannot check the dynamic sizes "
                         "of an op nested in a region");
  OpBuilder b(op);
  ArrayRef<int64_t> paramAxes =
      apply ? apply.getParamAxes() : kernel.getParamAxes();
  checkParam(b, op, input, apply ? apply.getWeight() : kernel.getWeight(),
             paramAxes, "weight");
  checkParam(b, op, input, apply ? apply.getBias() : kernel.getBias(),
             paramAxes, "bias");
  if (apply) {
    for (auto [v, name] : {std::pair<Value, StringRef>{apply.getMean(), "mean"},
                           {apply.getRstd(), "rstd"}})
      if (v)
        checkAgainstInput(b, op, input, v, name, /*broadcast=*/true);
    return success();
  }
  for (Value v : kernel.getExtraInputs())
    checkAgainstInput(b, op, input, v, "a prologue input", false);
  for (auto [v, name] : {std::pair<Value, StringRef>{kernel.getMean(), "mean"},
                         {kernel.getRstd(), "rstd"}})
    if (v)
      checkAgainstInput(b, op, input, v, name, /*broadcast=*/true);
  for (auto [i, v] : llvm::enumerate(kernel.getOuts()))
    checkAgainstInput(b, op, input, v, "out " + std::to_string(i),
                      /*broadcast=*/i != 0 && v != kernel.getPrologueResult());
  return success();
}

struct NormCheckShapesPass
    : public normlir::norm::impl::NormCheckShapesBase<NormCheckShapesPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    WalkResult norms = func.walk([&](Operation *op) {
      return failed(checkNormOp(op, func)) ? WalkResult::interrupt()
                                           : WalkResult::advance();
    });
    if (norms.wasInterrupted())
      return signalPassFailure();
    WalkResult casts = func.walk([&](tensor::CastOp cast) {
      return failed(checkCast(cast, func)) ? WalkResult::interrupt()
                                           : WalkResult::advance();
    });
    if (casts.wasInterrupted())
      return signalPassFailure();
    WalkResult result = func.walk([&](linalg::LinalgOp op) {
      // Each loop dimension: the (operand, dimension) pairs indexed by it
      // alone.
      SmallVector<SmallVector<std::pair<OpOperand *, int64_t>>> users(
          op.getNumLoops());
      bool dynamic = false;
      for (OpOperand &operand : op->getOpOperands()) {
        auto type = dyn_cast<ShapedType>(operand.get().getType());
        if (!type || !type.hasRank())
          continue;
        AffineMap map = op.getMatchingIndexingMap(&operand);
        for (auto [d, expr] : llvm::enumerate(map.getResults()))
          if (auto dim = dyn_cast<AffineDimExpr>(expr)) {
            users[dim.getPosition()].push_back({&operand, int64_t(d)});
            dynamic |= type.isDynamicDim(d);
          }
      }
      if (!dynamic)
        return WalkResult::advance();
      if (op->getParentOp() != func.getOperation()) {
        op->emitError("norm-check-shapes: cannot check the dynamic sizes of "
                      "an op nested in a region");
        return WalkResult::interrupt();
      }
      OpBuilder b(op);
      Location loc = op.getLoc();
      for (auto [loop, pairs] : llvm::enumerate(users)) {
        bool anyDynamic = llvm::any_of(pairs, [](auto p) {
          return cast<ShapedType>(p.first->get().getType())
              .isDynamicDim(p.second);
        });
        if (!anyDynamic || pairs.size() < 2)
          continue;
        auto [first, firstDim] = pairs.front();
        Value size = dimOf(b, loc, first->get(), firstDim);
        for (auto [operand, d] : llvm::drop_begin(pairs)) {
          Value other = dimOf(b, loc, operand->get(), d);
          Value same = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                             size, other);
          CheckOp::create(b, loc, same,
                          b.getStringAttr(op->getName().getStringRef() + ": " +
                                          describe(operand, d) +
                                          " does not match " +
                                          describe(first, firstDim)));
        }
      }
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
