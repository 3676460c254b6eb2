//===- Row.cpp - the "row" strategy of convert-norm-to-vector -------------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// One task per range of rows (R1 = 1: each statistic's R2 elements are one
// contiguous row): statistics from the row, read from memory once and then
// from cache, and the apply, fused.
//
//===----------------------------------------------------------------------===//

#include "VectorEmitter.h"

using namespace mlir;
using namespace normlir;
using namespace normlir::norm;
using namespace normlir::normtovector;

using Run = KernelLayout::Run;

namespace {

class RowEmitter : public VectorEmitter {
public:
  using VectorEmitter::VectorEmitter;

  void emit() {
    if (!stats)
      emitApplyOnly();
    else
      emitPipelined();
  }

private:
  /// An apply-only kernel: one task per row, statistics read from inputs.
  void emitApplyOnly();
  /// Rows split into `rowTasks` contiguous ranges; within one, pass 1 of
  /// row s + 1 runs inside the apply of row s, so that memory streams the
  /// next row while this one is worked on from cache.
  void emitPipelined();
  /// Row `s` of a range ending at `last`, given its pass-1 accumulators:
  /// its statistics, then its apply with pass 1 of the next row fused in;
  /// returns the next row's accumulators.
  SmallVector<Value> emitRow(Value s, Value last, ValueRange pass1);
};

} // namespace

void RowEmitter::emitApplyOnly() {
  int64_t n = l.size[Run::R2];
  parallelLoop(l.numSegments(), [&](Value s) {
    applySegment(s, imul(s, n), inMean ? loadScalar(inMean, s) : Value(),
                 loadScalar(inRstd, s));
  });
}

void RowEmitter::emitPipelined() {
  int64_t n = l.size[Run::R2];
  int64_t rows = l.numSegments();
  if (rows == 0)
    return;
  int64_t wantTasks = std::clamp<int64_t>(rowTasks, 1, rows);
  int64_t chunk = (rows + wantTasks - 1) / wantTasks;
  int64_t tasks = (rows + chunk - 1) / chunk;
  parallelLoop(tasks, [&](Value t) {
    Value lo = imul(t, chunk);
    Value hi = arith::MinUIOp::create(b, loc, iadd(lo, chunk), cI(rows));
    Value last = arith::SubIOp::create(b, loc, hi, cI(1));
    SmallVector<Value> first = pass1Run(imul(lo, n), n);
    forLoop(lo, hi, first,
            [&](Value s, ValueRange args) { return emitRow(s, last, args); });
  });
}

SmallVector<Value> RowEmitter::emitRow(Value s, Value last, ValueRange pass1) {
  int64_t n = l.size[Run::R2];
  Value base = imul(s, n);
  Value sum = pass1Sum(SmallVector<Value>(pass1));
  Value mean, rstd;
  if (centered) {
    auto [m, v] = runMomentsFrom(base, n, fdiv(sum, cF(double(n))));
    std::tie(mean, rstd) = storeStats(s, m, v);
  } else {
    std::tie(mean, rstd) = storeStats(s, Value(), fdiv(sum, cF(double(n))));
  }
  // The last row of the range re-reads itself (from cache) as "next".
  Value next = arith::MinUIOp::create(b, loc, iadd(s, 1), last);
  SmallVector<Value> accs = pass1Inits();
  applySegment(s, base, mean, rstd, imul(next, n), &accs);
  return accs;
}

LogicalResult LowerRowKernel::matchAndRewrite(KernelOp op,
                                              PatternRewriter &rewriter) const {
  std::optional<VectorKernel> kernel =
      matchVectorKernel(op, norm::Strategy::Row, rewriter);
  if (!kernel)
    return failure();
  const KernelLayout &layout = kernel->layout;
  if (layout.size[Run::R1] != 1)
    return op.emitError() << "schedule strategy \"row\" needs R1 = 1, but "
                             "the kernel's layout is "
                          << layout.str();
  rewriter.setInsertionPoint(op);
  RowEmitter(rewriter, op, layout, kernel->schedule).emit();
  rewriter.eraseOp(op);
  return success();
}
