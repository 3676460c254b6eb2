//===- ParallelizeElementwise.cpp - threads for large elementwise ops -----===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// `norm-parallelize-elementwise`: the CPU pipeline lowers the linalg ops
// left outside norm kernels (a residual add whose sum is also returned, a
// cast of a gradient, an unfused epilogue) to sequential loops, which LLVM
// vectorizes but which run on one thread. This pass lowers the large
// elementwise ones (every loop parallel) to scf.parallel instead, which
// convert-scf-to-openmp then runs on the OpenMP threads, as the kernels.
// Ops with a reduction loop stay sequential (their sums keep one order, so
// results do not depend on the thread count), and so do small ones (waking
// threads costs microseconds).
//
//===----------------------------------------------------------------------===//

#include "normlir/Dialect/Norm/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

namespace normlir::norm {
#define GEN_PASS_DEF_NORMPARALLELIZEELEMENTWISE
#include "normlir/Dialect/Norm/Transforms/Passes.h.inc"
} // namespace normlir::norm

using namespace mlir;

namespace {

/// A bufferized linalg op whose loops are all parallel, with static bounds
/// spanning at least `minElements` iterations, not already inside a
/// parallel loop.
bool worthThreads(linalg::LinalgOp op, int64_t minElements) {
  if (!op.hasPureBufferSemantics() ||
      op.getNumParallelLoops() != op.getNumLoops() || op.getNumLoops() == 0 ||
      op->getParentOfType<scf::ParallelOp>())
    return false;
  int64_t iterations = 1;
  for (int64_t d : op.getStaticLoopRanges()) {
    if (ShapedType::isDynamic(d))
      return false;
    iterations *= d;
    if (iterations >= minElements)
      return true;
  }
  return iterations >= minElements;
}

struct NormParallelizeElementwisePass
    : public normlir::norm::impl::NormParallelizeElementwiseBase<
          NormParallelizeElementwisePass> {
  using NormParallelizeElementwiseBase::NormParallelizeElementwiseBase;

  void runOnOperation() override {
    SmallVector<linalg::LinalgOp> ops;
    getOperation()->walk([&](linalg::LinalgOp op) {
      if (worthThreads(op, minElements))
        ops.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::LinalgOp op : ops) {
      rewriter.setInsertionPoint(op);
      if (failed(linalg::linalgOpToParallelLoops(rewriter, op))) {
        op->emitError("norm-parallelize-elementwise: cannot lower to "
                      "parallel loops");
        return signalPassFailure();
      }
      rewriter.eraseOp(op);
    }
  }
};

} // namespace
