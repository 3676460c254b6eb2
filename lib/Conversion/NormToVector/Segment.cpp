//===- Segment.cpp - the "segment" strategy of convert-norm-to-vector -----===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// Statistics of each contiguous R2 segment in parallel (two passes over the
// segment in cache, results in f64), a combine over R1 per statistic in a
// fixed order in f64 (Chan et al.), then an apply pass: two passes over
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
  /// Per statistic: its R1 segments combined in order, in f64; the
  /// statistics outs and the apply's copies written.
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
  auto statType =
      MemRefType::get({std::max<int64_t>(l.numStats(), 1)}, f32Type);
  statMean = memref::AllocOp::create(b, loc, statType);
  statRstd = memref::AllocOp::create(b, loc, statType);
  auto scratch =
      MemRefType::get({std::max<int64_t>(l.numSegments(), 1)}, b.getF64Type());
  segA = memref::AllocOp::create(b, loc, scratch);
  segB = memref::AllocOp::create(b, loc, scratch);
}

void SegmentEmitter::emitSegmentStats() {
  int64_t n = l.size[Run::R2];
  parallelLoop(l.numSegments(), [&](Value s) {
    Value base = imul(s, n);
    if (centered) {
      auto [m, v] = runMoments(base, n, /*wide=*/true);
      storeScalar(m, segA, s);
      storeScalar(v, segB, s);
    } else {
      storeScalar(toF64(runMeanSquare(base, n)), segA, s);
    }
  });
}

void SegmentEmitter::emitCombine() {
  int64_t r1 = l.size[Run::R1], p1 = l.size[Run::P1];
  parallelLoop(l.numStats(), [&](Value t) {
    Value first = iadd(imul(idiv(t, p1), r1 * p1), irem(t, p1));
    auto segIndex = [&](Value k) { return iadd(first, imul(k, p1)); };
    Value sum = forLoop(cI(0), cI(r1), {cD(0.0)},
                        [&](Value k, ValueRange acc) -> SmallVector<Value> {
                          return {fadd(acc[0], loadWide(segA, segIndex(k)))};
                        })[0];
    Value mean = fdiv(sum, cD(double(r1)));
    if (!centered) {
      storeScalar(storeStats(t, Value(), toF32(mean)).second, statRstd, t);
      return;
    }
    // Chan et al.: M2 = sum(M2_k) + n * sum((mean_k - mean)^2).
    Value m2 = forLoop(cI(0), cI(r1), {cD(0.0)},
                       [&](Value k, ValueRange acc) -> SmallVector<Value> {
                         Value sk = segIndex(k);
                         Value dm = fsub(loadWide(segA, sk), mean);
                         Value vk = loadWide(segB, sk);
                         return {fadd(acc[0], fadd(vk, fmul(dm, dm)))};
                       })[0];
    Value var = toF32(fdiv(m2, cD(double(r1))));
    auto [m, rstd] = storeStats(t, toF32(mean), var);
    storeScalar(m, statMean, t);
    storeScalar(rstd, statRstd, t);
  });
}

void SegmentEmitter::emitApply() {
  int64_t n = l.size[Run::R2];
  Value meanBuf = stats ? (centered ? statMean : Value()) : inMean;
  Value rstdBuf = stats ? statRstd : inRstd;
  parallelLoop(l.numSegments(), [&](Value s) {
    Value t = segmentStat(s);
    Value mean = meanBuf ? loadScalar(meanBuf, t) : Value();
    applySegment(s, imul(s, n), mean, loadScalar(rstdBuf, t));
  });
}

Value SegmentEmitter::segmentStat(Value s) {
  int64_t r1 = l.size[Run::R1], p1 = l.size[Run::P1];
  if (r1 == 1)
    return s;
  return iadd(imul(idiv(s, r1 * p1), p1), irem(s, p1));
}

LogicalResult
LowerSegmentKernel::matchAndRewrite(KernelOp op,
                                    PatternRewriter &rewriter) const {
  std::optional<VectorKernel> kernel =
      matchVectorKernel(op, norm::Strategy::Segment, rewriter);
  if (!kernel)
    return failure();
  rewriter.setInsertionPoint(op);
  SegmentEmitter(rewriter, op, kernel->layout, kernel->schedule).emit();
  rewriter.eraseOp(op);
  return success();
}
