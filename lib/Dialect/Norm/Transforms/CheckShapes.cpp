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
// reads past its end.
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

/// The size of dimension `d` of the tensor or buffer `v`.
static Value dimOf(OpBuilder &b, Location loc, Value v, int64_t d) {
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

struct NormCheckShapesPass
    : public normlir::norm::impl::NormCheckShapesBase<NormCheckShapesPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
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
