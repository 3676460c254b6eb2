//===- UniquifyReturnedBuffers.cpp - one buffer per returned memref -------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// `norm-uniquify-returned-buffers`: a memref returned more than once by a
// func.return gets a fresh allocation and a copy for every repeat, so that
// each function result owns a distinct buffer before results become
// out-parameters.
//
//===----------------------------------------------------------------------===//

#include "normlir/Dialect/Norm/Transforms/Passes.h"

#include "llvm/ADT/DenseSet.h"

namespace normlir::norm {
#define GEN_PASS_DEF_NORMUNIQUIFYRETURNEDBUFFERS
#include "normlir/Dialect/Norm/Transforms/Passes.h.inc"
} // namespace normlir::norm

using namespace mlir;

namespace {
struct NormUniquifyReturnedBuffersPass
    : public normlir::norm::impl::NormUniquifyReturnedBuffersBase<
          NormUniquifyReturnedBuffersPass> {
  void runOnOperation() override {
    bool failedToCopy = false;
    getOperation().walk([&](func::ReturnOp ret) {
      llvm::SmallDenseSet<Value> seen;
      OpBuilder b(ret);
      for (OpOperand &operand : ret->getOpOperands()) {
        Value v = operand.get();
        auto type = dyn_cast<MemRefType>(v.getType());
        if (!type || seen.insert(v).second)
          continue;
        // Only identity-layout, static buffers can be allocated here; that
        // is what one-shot-bufferize produces at function boundaries with
        // identity-layout-map.
        if (!type.hasStaticShape() || !type.getLayout().isIdentity()) {
          ret.emitError("cannot split a returned buffer of type ")
              << type << ": it needs a static shape and identity layout";
          failedToCopy = true;
          continue;
        }
        Value copy = memref::AllocOp::create(b, ret.getLoc(), type);
        memref::CopyOp::create(b, ret.getLoc(), v, copy);
        operand.set(copy);
      }
    });
    if (failedToCopy)
      signalPassFailure();
  }
};
} // namespace
