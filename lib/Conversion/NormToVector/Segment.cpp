//===- Segment.cpp - the "segment" strategy of convert-norm-to-vector -----===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// Statistics of each contiguous R2 segment in parallel (two passes over the
// segment in cache, results in f64), a combine over R1 per statistic in a
// fixed order in f64 (the statistics core's combine: Chan et al.'s merge of
// the partials about their mean), then an apply pass: two passes over
// memory.
//
//===----------------------------------------------------------------------===//

#include "VectorEmitter.h"

using namespace mlir;
using namespace normlir;
using namespace normlir::norm;
using namespace normlir::normtovector;

using Run = KernelLayout::Run;

namespace {

class SegmentEmitter : public VectorEmitter {
public:
  using VectorEmitter::VectorEmitter;

  void emit() {
    if (stats) {
      allocateScratch();
      emitSegmentStats();
      emitCombine();
    }
    emitApply();
  }

private:
  /// The combined statistics the apply reads and the per-segment partials.
  void allocateScratch();
  /// Per segment, in f64: the mean and M2 (moments) or the mean square.
  void emitSegmentStats();
  /// Per statistic: its R1 segments combined in order, in f64
  /// (StatisticsBuilder::combine); the statistics outs and the apply's
  /// copies written.
  void emitCombine();
  /// The apply, one task per segment.
  void emitApply();
  /// The statistic index (p0, p1) of segment `s`.
  Value segmentStat(Value s);

  /// Per-segment partials (f64): the mean and M2, or the mean square in
  /// segA alone.
  Value segA, segB;
  /// The combined statistics the apply reads, kept apart from the outs,
  /// which may share one buffer when the op's statistics results are
  /// unused.
  Value statMean, statRstd;
};

} // namespace

void SegmentEmitter::allocateScratch() {
  statMean = allocScratch(numStatsLen(), f32Type);
  statRstd = allocScratch(numStatsLen(), f32Type);
  segA = allocScratch(numSegmentsLen(), b.getF64Type());
  segB = allocScratch(numSegmentsLen(), b.getF64Type());
}

void SegmentEmitter::emitSegmentStats() {
  parallelLoop(numSegmentsLen(), [&](Value s) {
    Value base = imul(s, r2Len);
    if (centered) {
      auto [m, v] = runMoments(base, r2Len, /*wide=*/true);
      storeScalar(m, segA, s);
      storeScalar(v, segB, s);
    } else {
      storeScalar(toF64(runMeanSquare(base, r2Len)), segA, s);
    }
  });
}

void SegmentEmitter::emitCombine() {
  int64_t p1 = l.size[Run::P1];
  Extent count = emul(r1Len, r2Len);
  parallelLoop(numStatsLen(), [&](Value t) {
    Value first = iadd(imul(idiv(t, p1), emul(r1Len, p1)), irem(t, p1));
    // Segment k holds R2 values: its mean and variance (moments) or mean
    // square.
    Moments m = statistics.combine(
        b.getF64Type(), {r1Len}, count,
        [&](ValueRange k, bool withM2) -> Moments {
          Value sk = iadd(first, imul(k[0], p1));
          // Its count, as f64.
          Value n = r2Len.isStatic()
                        ? cD(double(r2Len.fixed))
                        : arith::UIToFPOp::create(
                              b, loc, b.getF64Type(),
                              arith::IndexCastUIOp::create(
                                  b, loc, b.getI64Type(), r2Len.value))
                              .getResult();
          if (!centered)
            return {n, Value(), fmul(loadWide(segA, sk), n)};
          Value mean = loadWide(segA, sk);
          return {n, mean, withM2 ? fmul(loadWide(segB, sk), n) : Value()};
        });
    Statistics st = statistics.finalize(m, count);
    statistics.store(st, ArrayRef<Value>(outs).drop_front(), t);
    if (centered)
      storeScalar(st.mean, statMean, t);
    storeScalar(st.rstd, statRstd, t);
  });
}

void SegmentEmitter::emitApply() {
  Value meanBuf = stats ? (centered ? statMean : Value()) : inMean;
  Value rstdBuf = stats ? statRstd : inRstd;
  parallelLoop(numSegmentsLen(), [&](Value s) {
    Value t = segmentStat(s);
    Value mean = meanBuf ? loadScalar(meanBuf, t) : Value();
    applySegment(s, imul(s, r2Len), mean, loadScalar(rstdBuf, t));
  });
}

Value SegmentEmitter::segmentStat(Value s) {
  int64_t p1 = l.size[Run::P1];
  if (r1Len.isStatic() && r1Len.fixed == 1)
    return s;
  return iadd(imul(idiv(s, emul(r1Len, p1)), p1), irem(s, p1));
}

LogicalResult
LowerSegmentKernel::matchAndRewrite(KernelOp op,
                                    PatternRewriter &rewriter) const {
  std::optional<VectorKernel> kernel =
      matchVectorKernel(op, norm::Strategy::Segment, rewriter,
                        /*dynamicSizes=*/true);
  if (!kernel)
    return failure();
  rewriter.setInsertionPoint(op);
  SegmentEmitter(rewriter, op, kernel->layout, kernel->schedule).emit();
  rewriter.eraseOp(op);
  return success();
}
