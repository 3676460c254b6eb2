//===- Segment.cpp - the "segment" strategy of convert-norm-to-gpu --------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// Rows too long for registers and long contiguous runs (NCHW BatchNorm):
// each contiguous R2 segment is split into `chunks` pieces, each reduced by
// a block to partial moments (each thread sums deviations from its first
// element, threads merge with Chan et al.'s update); then the combine and
// apply launches of Combine.cpp.
//
//===----------------------------------------------------------------------===//

#include "GPUEmitter.h"

#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace normlir;
using namespace normlir::norm;
using namespace normlir::normtogpu;

using Run = KernelLayout::Run;

namespace {

class SegmentEmitter : public GPUEmitter {
public:
  SegmentEmitter(OpBuilder &b, KernelOp op, const KernelLayout &layout,
                 GPUScheduleAttr schedule);

  void emit() {
    if (!stats) {
      emitApply();
      return;
    }
    emitTwoStage(numPartials, [&](Value partials) { emitPartials(partials); });
  }

private:
  /// Per block: one chunk of one contiguous R2 segment reduced to partial
  /// moments, stored at partial index r1 * chunks + chunk of its statistic.
  void emitPartials(Value partials);
  /// One block's chunk.
  void emitChunk(Value bid, Value tid, ArrayRef<BlockArgument> shared,
                 Value partials);
  /// The moments of the thread's elements of x[start, start + len) (from
  /// `first`, step threads * vl), about the first of them.
  Moments threadMoments(Value start, Value len, Value first);
  /// Stores the chunk's partial (thread 0, the block's merged moments).
  void storeChunkPartial(Value seg, Value chunk, Moments total, Value partials);

  int64_t r1, p1, r2;
  int64_t threads;
  /// Elements per chunk (a multiple of vl), chunks per segment, elements of
  /// the last chunk.
  int64_t chunkLen, numChunks, lastLen;
  /// Warps per block.
  int64_t warps;
  /// Partials per statistic: one per chunk of each of its R1 segments.
  int64_t numPartials;
};

} // namespace

SegmentEmitter::SegmentEmitter(OpBuilder &b, KernelOp op,
                               const KernelLayout &layout,
                               GPUScheduleAttr schedule)
    : GPUEmitter(b, op, layout, schedule), r1(l.size[Run::R1]),
      p1(l.size[Run::P1]), r2(l.size[Run::R2]), threads(schedule.getThreads()) {
  int64_t r2Len = std::max<int64_t>(r2, 1);
  chunkLen = llvm::alignTo(
      ceilDiv(r2Len, std::clamp<int64_t>(schedule.getChunks(), 1, r2Len)), vl);
  numChunks = std::max<int64_t>(ceilDiv(r2, chunkLen), 1);
  lastLen = r2 - (numChunks - 1) * chunkLen;
  warps = ceilDiv(threads, kWarpSize);
  numPartials = r1 * numChunks;
}

void SegmentEmitter::emitPartials(Value partials) {
  launch(l.numSegments() * numChunks, threads, {warps, warps, warps},
         [&](Value bid, Value tid, ArrayRef<BlockArgument> sh) {
           emitChunk(bid, tid, sh, partials);
         });
}

void SegmentEmitter::emitChunk(Value bid, Value tid,
                               ArrayRef<BlockArgument> shared, Value partials) {
  Value seg = idiv(bid, numChunks);
  Value chunk = irem(bid, numChunks);
  Value len = numChunks == 1 ? cI(r2)
                             : select(ieq(chunk, numChunks - 1), cI(lastLen),
                                      cI(chunkLen));
  Value start = iadd(imul(seg, r2), imul(chunk, chunkLen));
  Value first = imul(tid, vl);
  statistics.blockMerge(
      threadMoments(start, len, first), threads, tid, shared,
      [&](Moments total) { storeChunkPartial(seg, chunk, total, partials); });
}

GPUEmitter::Moments SegmentEmitter::threadMoments(Value start, Value len,
                                                  Value first) {
  // Each thread sums deviations from its first element (0 without
  // centering), which keeps the sums small for data far from 0.
  Value shift = cF(0.0);
  if (centered) {
    shift = ifElse(
        ult(first, len), f32Type,
        [&] {
          Value v = vector::ExtractOp::create(
              b, loc, loadVec(x, iadd(start, first)), ArrayRef<int64_t>{0});
          return select(isFinite(v), v, cF(0.0));
        },
        [&] { return cF(0.0); });
  }
  Value shiftV = splat(shift);
  SmallVector<Value> acc = forLoop(
      first, len, threads * vl, {zeroV(), zeroV(), cF(0.0)},
      [&](Value j, ValueRange a) -> SmallVector<Value> {
        Value v = loadVec(x, iadd(start, j));
        Value d = centered ? fsub(v, shiftV) : v;
        return {fadd(a[0], d), fma(d, d, a[1]), fadd(a[2], cF(double(vl)))};
      });
  return statistics.momentsFromShiftedSums(acc[2], shift, hsum(acc[0]),
                                           hsum(acc[1]));
}

void SegmentEmitter::storeChunkPartial(Value seg, Value chunk, Moments total,
                                       Value partials) {
  // Segment s = (p0, r1, p1): statistic (p0, p1), partial r1, chunk.
  Value p0 = idiv(seg, r1 * p1);
  Value r1c = irem(idiv(seg, p1), r1);
  Value p1c = irem(seg, p1);
  Value g = iadd(imul(p0, p1), p1c);
  Value at =
      imul(iadd(imul(g, numPartials), iadd(imul(r1c, numChunks), chunk)), 3);
  storeScalar(toF64(total.n), partials, at);
  storeScalar(toF64(total.mean), partials, iadd(at, 1));
  storeScalar(toF64(total.m2), partials, iadd(at, 2));
}

LogicalResult
LowerSegmentKernel::matchAndRewrite(KernelOp op,
                                    PatternRewriter &rewriter) const {
  std::optional<GPUKernel> kernel =
      matchGPUKernel(op, norm::Strategy::Segment, rewriter);
  if (!kernel)
    return failure();
  const KernelLayout &l = kernel->layout;
  int64_t vl = kernel->schedule.getVectorWidth();
  // Vector accesses must stay inside one contiguous run and be aligned.
  if (failed(checkContiguousRuns(op, l, vl, l.size[Run::R2])) ||
      failed(checkColumns(op, l, vl)))
    return failure();
  rewriter.setInsertionPoint(op);
  SegmentEmitter(rewriter, op, l, kernel->schedule).emit();
  rewriter.eraseOp(op);
  return success();
}
