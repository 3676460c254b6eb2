//===- Row.cpp - the "row" strategy of convert-norm-to-vector -------------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// One task per range of rows (R1 = 1: each statistic's R2 elements are one
// contiguous row), normalized row by row: one pass reads the row from memory
// and sums it about the mean of its first vector (the two passes of
// runMoments follow only where that shift is far from the mean), the apply
// reads it again from cache. Measured on LayerNorm f32 65536x1024 (2-core
// Zen 3, one thread, interleaved), the one pass took the kernel from 68% to
// 84% of a copy (median of 6): the second pass over the row from L1 cost a
// core as much time as the memory pass it overlaps. The apply
// prefetches a later row of the range (`prefetch` rows ahead): a core's
// demand loads alone keep too few reads in flight to reach the memory
// bandwidth. This beat fusing pass 1 of the next row into the apply
// (software pipelining, the previous design): measured on 65536x1024 f32
// RMSNorm, 2-core Zen 3, a hand-written kernel of each kind ran at 63% (one
// thread) and 82% (two) of a copy as a plain two-pass, 82% and 95% with the
// prefetch; the generated pipelined kernel at 59% and 73%.
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
    // Every row reads the whole weight and bias: converted once.
    if (w)
      w = widenToF32(w);
    if (bias)
      bias = widenToF32(bias);
    preparePairs();
    if (!stats)
      emitApplyOnly();
    else
      emitRows();
  }

private:
  /// An apply-only kernel: one task per row, statistics read from inputs.
  void emitApplyOnly();
  /// Rows split into `rowTasks` contiguous ranges, each a loop over its
  /// rows (emitRow).
  void emitRows();
  /// Row `s` of a range ending at `last`: its statistics (one pass,
  /// runMomentsOnePass, or the sum of squares) and the apply, which
  /// prefetches row min(s + prefetch, last).
  void emitRow(Value s, Value last);
};

} // namespace

void RowEmitter::emitApplyOnly() {
  const Extent &n = r2Len;
  auto body = [&](Value s) {
    applySegment(s, imul(s, n), inMean ? loadScalar(inMean, s) : Value(),
                 loadScalar(inRstd, s));
  };
  parallelLoop(numSegmentsLen(), body);
}

void RowEmitter::emitRows() {
  if (!numSegmentsLen().isStatic()) {
    // The same split as below at run time: at most rowTasks ranges of
    // ceil(rows / rowTasks) rows (none for 0 rows).
    Value rows = numSegmentsLen().value;
    Value one = cI(1);
    Value chunk = arith::MaxUIOp::create(
        b, loc, arith::CeilDivUIOp::create(b, loc, rows, cI(rowTasks)), one);
    Value tasks = arith::CeilDivUIOp::create(b, loc, rows, chunk);
    parallelLoop(tasks, [&](Value t) {
      Value lo = arith::MulIOp::create(b, loc, t, chunk);
      Value hi = arith::MinUIOp::create(
          b, loc, arith::AddIOp::create(b, loc, lo, chunk), rows);
      Value last = arith::SubIOp::create(b, loc, hi, one);
      forLoop(lo, hi, {}, [&](Value s, ValueRange) {
        emitRow(s, last);
        return SmallVector<Value>{};
      });
    });
    return;
  }
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
    forLoop(lo, hi, {}, [&](Value s, ValueRange) {
      emitRow(s, last);
      return SmallVector<Value>{};
    });
  });
}

void RowEmitter::emitRow(Value s, Value last) {
  const Extent &n = r2Len;
  Value base = imul(s, n);
  Value mean, rstd;
  if (centered) {
    auto [m, v] = runMomentsOnePass(base, n);
    std::tie(mean, rstd) = storeStats(s, m, v);
  } else {
    std::tie(mean, rstd) = storeStats(s, Value(), runMeanSquare(base, n));
  }
  // The prefetched row stays inside the range (and the buffer).
  Value ahead;
  if (prefetch > 0)
    ahead = imul(arith::MinUIOp::create(b, loc, iadd(s, prefetch), last), n);
  applySegment(s, base, mean, rstd, ahead);
}

LogicalResult LowerRowKernel::matchAndRewrite(KernelOp op,
                                              PatternRewriter &rewriter) const {
  std::optional<VectorKernel> kernel =
      matchVectorKernel(op, norm::Strategy::Row, rewriter,
                        /*dynamicSizes=*/true);
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
