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
/// parallel loop. "Parallel" iterators are not enough: every output must
/// be written once per element (its indexing map a permutation of the
/// loops, so that no two iterations write one element), and an input that
/// is also an output must be read where it is written (no in-place
/// transpose), else threads would race where sequential loops do not.
bool worthThreads(linalg::LinalgOp op, int64_t minElements) {
  if (!op.hasPureBufferSemantics() ||
      op.getNumParallelLoops() != op.getNumLoops() || op.getNumLoops() == 0 ||
      op->getParentOfType<scf::ParallelOp>())
    return false;
  for (OpOperand &out : op.getDpsInitsMutable()) {
    AffineMap map = op.getMatchingIndexingMap(&out);
    if (!map.isPermutation())
      return false;
    for (OpOperand *in : op.getDpsInputOperands())
      if (in->get() == out.get() && op.getMatchingIndexingMap(in) != map)
        return false;
  }
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
    if (int64_t(minElements) < 0) {
      getOperation()->emitError()
          << "norm-parallelize-elementwise: min-elements must not be "
             "negative, got "
          << int64_t(minElements);
      return signalPassFailure();
    }
    SmallVector<linalg::LinalgOp> ops;
    getOperation()->walk([&](linalg::LinalgOp op) {
      if (worthThreads(op, int64_t(minElements)))
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
