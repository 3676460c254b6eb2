//===- Segment.cpp - the "segment" strategy of convert-norm-to-gpu --------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// Rows too long for registers and long contiguous runs (NCHW BatchNorm):
// each contiguous R2 segment is split into `chunks` pieces, or (`rows` > 1,
// short runs) `rows` consecutive R1 segments of one statistic are taken
// together; each piece is reduced by a block to partial moments (each
// thread sums deviations from its first element in f32, its moments and
// the block's merge, Chan et al.'s update, are f64); then the combine and
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
  /// One block's group of `runs` R1 segments of one statistic.
  void emitRuns(Value bid, Value tid, ArrayRef<BlockArgument> shared,
                Value partials);
  /// The moments of the thread's elements j in [first, len) (step
  /// threads * vl) of a piece, element j at x[at(j)], about the first of
  /// them.
  Moments threadMoments(function_ref<Value(Value)> at, Value len, Value first);
  /// Stores the chunk's partial (thread 0, the block's merged moments).
  void storeChunkPartial(Value seg, Value chunk, Moments total, Value partials);
  /// Stores `total` as partial `index` (of all statistics' partials).
  void storePartial(Moments total, Value partials, Value index);

  int64_t r1, p1, r2;
  int64_t threads;
  /// Elements per chunk (a multiple of vl), chunks per segment, elements of
  /// the last chunk: computed at run time where the sizes are dynamic.
  Extent chunkLen = 1, numChunks = 1, lastLen = 1;
  /// Warps per block.
  int64_t warps;
  /// R1 segments per block (rows > 1: chunks is 1), groups of them.
  int64_t runs, numGroups;
  /// Partials per statistic: one per chunk of each of its R1 segments, or
  /// per group.
  Extent numPartials = 1;
};

} // namespace

SegmentEmitter::SegmentEmitter(OpBuilder &b, KernelOp op,
                               const KernelLayout &layout,
                               GPUScheduleAttr schedule)
    : GPUEmitter(b, op, layout, schedule), r1(l.size[Run::R1]),
      p1(l.size[Run::P1]), r2(l.size[Run::R2]), threads(schedule.getThreads()) {
  warps = ceilDiv(threads, kWarpSize);
  runs = numGroups = 1;
  if (l.hasDynamicSize() && stats) {
    // The schedule's chunks are the blocks wanted in all: each run takes
    // its share of them, pieces of at most kGPUSegmentChunk elements, at
    // least 32 vectors each (as the selection does for static sizes).
    Extent byLength = ceilDivE(r2Len, kGPUSegmentChunk);
    Extent byBlocks = ceilDivE(schedule.getChunks(), maxE(numSegmentsLen(), 1));
    Extent most = maxE(divE(r2Len, 32 * vl), 1);
    Extent k = minE(maxE(maxE(byLength, byBlocks), 1), most);
    chunkLen = emul(ceilDivE(ceilDivE(maxE(r2Len, 1), k), vl), vl);
    // Empty runs have no pieces (no launch; the combine's statistics of no
    // values are NaN): a grid of one block per empty run could pass the
    // launch limit.
    numChunks = ceilDivE(r2Len, chunkLen);
    lastLen = subE(r2Len, emul(subE(numChunks, 1), chunkLen));
    numPartials = emul(r1Len, numChunks);
    return;
  }
  if (l.hasDynamicSize())
    return; // An apply-only kernel: the apply launch alone.
  int64_t r2Max = std::max<int64_t>(r2, 1);
  int64_t chunk = llvm::alignTo(
      ceilDiv(r2Max, std::clamp<int64_t>(schedule.getChunks(), 1, r2Max)), vl);
  int64_t chunks = std::max<int64_t>(ceilDiv(r2, chunk), 1);
  chunkLen = chunk;
  numChunks = chunks;
  lastLen = r2 - (chunks - 1) * chunk;
  runs = std::clamp<int64_t>(schedule.getRows(), 1, std::max<int64_t>(r1, 1));
  numGroups = ceilDiv(r1, runs);
  numPartials = runs > 1 ? numGroups : r1 * chunks;
}

void SegmentEmitter::emitPartials(Value partials) {
  Extent grid = runs > 1 ? Extent(l.numStats() * numGroups)
                         : emul(numSegmentsLen(), numChunks);
  launch(
      idx(grid), threads, {warps, warps, warps},
      [&](Value bid, Value tid, ArrayRef<BlockArgument> sh) {
        if (runs > 1)
          emitRuns(bid, tid, sh, partials);
        else
          emitChunk(bid, tid, sh, partials);
      },
      b.getF64Type());
}

void SegmentEmitter::emitRuns(Value bid, Value tid,
                              ArrayRef<BlockArgument> shared, Value partials) {
  // Block (g, group): statistic g = (p0, p1), runs [group * runs, +count)
  // of R1, each r2 contiguous elements p1 * r2 apart.
  Value g = idiv(bid, numGroups);
  Value group = irem(bid, numGroups);
  Value p0 = idiv(g, p1), p1c = irem(g, p1);
  Value r1Begin = imul(group, runs);
  int64_t lastCount = r1 - (numGroups - 1) * runs;
  Value count =
      numGroups == 1 || lastCount == runs
          ? cI(runs)
          : select(ieq(group, numGroups - 1), cI(lastCount), cI(runs));
  Value base = imul(iadd(imul(iadd(imul(p0, r1), r1Begin), p1), p1c), r2);
  // vl divides r2 (the schedule's width divides the runs): a vector never
  // straddles two runs.
  auto at = [&](Value j) {
    return iadd(base, iadd(imul(idiv(j, r2), p1 * r2), irem(j, r2)));
  };
  Value first = imul(tid, vl);
  statistics.blockMerge(threadMoments(at, imul(count, r2), first), threads, tid,
                        shared, [&](Moments total) {
                          storePartial(total, partials,
                                       iadd(imul(g, numPartials.fixed), group));
                        });
}

void SegmentEmitter::emitChunk(Value bid, Value tid,
                               ArrayRef<BlockArgument> shared, Value partials) {
  Value seg = idiv(bid, numChunks);
  Value chunk = irem(bid, numChunks);
  Value len =
      numChunks.isStatic() && numChunks.fixed == 1
          ? idx(r2Len)
          : select(ieq(chunk, subE(numChunks, 1)), idx(lastLen), idx(chunkLen));
  Value start = iadd(imul(seg, r2Len), imul(chunk, chunkLen));
  Value first = imul(tid, vl);
  statistics.blockMerge(
      threadMoments([&](Value j) { return iadd(start, j); }, len, first),
      threads, tid, shared,
      [&](Moments total) { storeChunkPartial(seg, chunk, total, partials); });
}

GPUEmitter::Moments SegmentEmitter::threadMoments(function_ref<Value(Value)> at,
                                                  Value len, Value first) {
  // Each thread sums deviations from its first element (0 without
  // centering), which keeps the sums small for data far from 0.
  Value shift = cF(0.0);
  if (centered) {
    shift = ifElse(
        ult(first, len), f32Type,
        [&] {
          Value v = vector::ExtractOp::create(b, loc, loadVec(x, at(first)),
                                              ArrayRef<int64_t>{0});
          return select(isFinite(v), v, cF(0.0));
        },
        [&] { return cF(0.0); });
  }
  Value shiftV = splat(shift);
  SmallVector<Value> acc = unrolledRows(
      first, len, threads * vl, kRowUnroll, {zeroV(), zeroV(), cF(0.0)},
      [&](Value j) { return loadVec(x, at(j)); },
      [&](Value, Value v, ValueRange a) -> SmallVector<Value> {
        Value d = centered ? fsub(v, shiftV) : v;
        return {fadd(a[0], d), fma(d, d, a[1]), fadd(a[2], cF(double(vl)))};
      });
  // The thread's moments and the block's merge are f64, as the column
  // strategy's: f32 means rounded at each merge are ~1e-3 off at 1e4.
  return statistics.momentsFromShiftedSums(
      toF64(acc[2]), toF64(shift), toF64(hsum(acc[0])), toF64(hsum(acc[1])));
}

void SegmentEmitter::storeChunkPartial(Value seg, Value chunk, Moments total,
                                       Value partials) {
  // Segment s = (p0, r1, p1): statistic (p0, p1), partial r1, chunk.
  Value p0 = idiv(seg, emul(r1Len, p1Len));
  Value r1c = irem(idiv(seg, p1Len), r1Len);
  Value p1c = irem(seg, p1Len);
  Value g = iadd(imul(p0, p1Len), p1c);
  storePartial(total, partials,
               iadd(imul(g, numPartials), iadd(imul(r1c, numChunks), chunk)));
}

void SegmentEmitter::storePartial(Moments total, Value partials, Value index) {
  Value at = imul(index, 3);
  storeScalar(total.n, partials, at);
  storeScalar(total.mean, partials, iadd(at, 1));
  storeScalar(total.m2, partials, iadd(at, 2));
}

LogicalResult
LowerSegmentKernel::matchAndRewrite(KernelOp op,
                                    PatternRewriter &rewriter) const {
  std::optional<GPUKernel> kernel = matchGPUKernel(
      op, norm::Strategy::Segment, rewriter, /*dynamicSizes=*/true);
  if (!kernel)
    return failure();
  const KernelLayout &l = kernel->layout;
  int64_t vl = kernel->schedule.getVectorWidth();
  // Dynamic sizes: chunks of runs whose length is only known at run time,
  // one run per block, scalar accesses where the runs are dynamic.
  if (l.hasDynamicSize() &&
      (l.isDynamic(Run::P1) || kernel->schedule.getRows() != 1 ||
       (l.isDynamic(Run::R2) && vl != 1)))
    return op.emitError()
           << "the GPU segment strategy takes dynamic sizes in P0, R1 and "
              "R2 with rows = 1, and vectorWidth = 1 where R2 is dynamic; "
              "layout "
           << l.str() << ", schedule " << kernel->schedule;
  // Vector accesses must stay inside one contiguous run and be aligned.
  if (!l.isDynamic(Run::R2) &&
      (failed(checkContiguousRuns(op, l, vl, l.size[Run::R2])) ||
       failed(checkColumns(op, l, vl))))
    return failure();
  rewriter.setInsertionPoint(op);
  SegmentEmitter(rewriter, op, l, kernel->schedule).emit();
  rewriter.eraseOp(op);
  return success();
}
