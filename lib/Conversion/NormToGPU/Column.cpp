//===- Column.cpp - the "column" strategy of convert-norm-to-gpu ----------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// Channels-last layouts: a block of `threads` threads (`vl` adjacent columns
// per thread, the rest of the block along R1) reduces one of `chunks`
// ranges of R1 to per-column partial moments; then the combine and apply
// launches of Combine.cpp.
//
// Numerics. Each thread sums deviations from its first element; its
// moments, the block's merge (in workgroup memory) and the partials are
// f64, so that a mean far from 0 (1e4 + U(0, 1)) is rounded to f32 once, as
// on the CPU. On chips with full-rate f64 (hasFullRateFP64) the deviations
// are summed in f64 too: a first element far from the rest (an outlier row)
// then costs no accuracy, where f32 sums of squares of deviations ~1000
// would cancel in S2 - S1^2 / n. Elsewhere f64 runs at a small fraction of
// the f32 rate and the sums stay f32.
//
//===----------------------------------------------------------------------===//

#include "GPUEmitter.h"

#include "normlir/Dialect/Norm/Utils/Target.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <limits>

using namespace mlir;
using namespace normlir;
using namespace normlir::norm;
using namespace normlir::normtogpu;

using Run = KernelLayout::Run;

namespace {

class ColumnEmitter : public GPUEmitter {
public:
  ColumnEmitter(OpBuilder &b, KernelOp op, const KernelLayout &layout,
                GPUScheduleAttr schedule);

  void emit() {
    if (!stats) {
      emitApply();
      return;
    }
    emitTwoStage(numPartials, [&](Value partials) { emitPartials(partials); });
  }

private:
  /// Per block: `vl` adjacent columns per thread over one chunk of R1 rows,
  /// merged across the block's rows of threads into per-column partials,
  /// stored at partial index chunk * R2 + r2 of the column's statistic.
  void emitPartials(Value partials);
  /// One block: tile `tile` of the columns of sample `p0c`, chunk `chunk`.
  void emitBlock(Value bid, Value tid, ArrayRef<BlockArgument> shared,
                 Value partials);
  /// Element index of columns [q, q + vl) in row `row` of the sample whose
  /// first row is `rowBase`.
  Value elementAt(Value rowBase, Value row, Value q) {
    return iadd(imul(iadd(rowBase, row), columns), q);
  }
  /// Per-lane moments of the thread's rows [first, rowEnd) (step ty) of
  /// columns [q, q + vl), about the first of them; none when `colOk` is
  /// false.
  Moments threadMoments(Value rowBase, Value q, Value colOk, Value first,
                        Value rowEnd);
  /// Stores each column's partial (the first row of threads, the block's
  /// rows merged).
  void storeColumnPartials(Value p0c, Value chunk, Value q, Moments total,
                           Value partials);

  int64_t r1, p1, r2;
  /// Contiguous columns of a row of R1.
  int64_t columns;
  int64_t threads;
  /// Threads along the columns and along the rows of a block; column tiles.
  int64_t tx, ty, colTiles;
  /// Rows of R1 per chunk, chunks: computed at run time where the sizes
  /// are dynamic.
  Extent rowsPerChunk = 1, numChunks = 1;
  /// Partials per statistic: one per chunk of each of its R2 columns.
  Extent numPartials = 1;
  /// Deviations summed in f64 (the chip has full-rate f64).
  bool wideSums;
};

} // namespace

ColumnEmitter::ColumnEmitter(OpBuilder &b, KernelOp op,
                             const KernelLayout &layout,
                             GPUScheduleAttr schedule)
    : GPUEmitter(b, op, layout, schedule), r1(l.size[Run::R1]),
      p1(l.size[Run::P1]), r2(l.size[Run::R2]), columns(p1 * r2),
      threads(schedule.getThreads()) {
  tx = std::min<int64_t>(
      threads, llvm::PowerOf2Ceil(std::max<int64_t>(columns / vl, 1)));
  ty = threads / tx;
  colTiles = ceilDiv(columns / vl, tx);
  if (l.hasDynamicSize()) {
    // The schedule's chunks are the blocks wanted per column tile in all:
    // each sample takes its share, at least kGPUColumnMinRows rows per
    // thread (as the selection does for static sizes).
    Extent most = maxE(divE(r1Len, kGPUColumnMinRows * ty), 1);
    Extent k =
        minE(maxE(ceilDivE(schedule.getChunks(), maxE(p0Len, 1)), 1), most);
    rowsPerChunk = ceilDivE(maxE(r1Len, 1), k);
  } else {
    int64_t r1Max = std::max<int64_t>(r1, 1);
    rowsPerChunk =
        ceilDiv(r1Max, std::clamp<int64_t>(schedule.getChunks(), 1, r1Max));
  }
  numChunks = ceilDivE(r1Len, rowsPerChunk);
  numPartials = emul(numChunks, r2);
  auto target = dyn_cast_or_null<CUDATargetAttr>(lookupTargetAttr(op));
  wideSums =
      hasFullRateFP64(target ? target : getDefaultCUDATarget(b.getContext()));
}

void ColumnEmitter::emitPartials(Value partials) {
  int64_t slots = threads * vl;
  launch(
      idx(emul(emul(p0Len, numChunks), colTiles)), threads,
      {slots, slots, slots},
      [&](Value bid, Value tid, ArrayRef<BlockArgument> sh) {
        emitBlock(bid, tid, sh, partials);
      },
      b.getF64Type());
}

void ColumnEmitter::emitBlock(Value bid, Value tid,
                              ArrayRef<BlockArgument> shared, Value partials) {
  Value tile = irem(bid, colTiles);
  Value chunk = irem(idiv(bid, colTiles), numChunks);
  Value p0c = idiv(bid, emul(numChunks, colTiles));
  Value txc = irem(tid, tx), tyc = idiv(tid, tx);
  Value q = imul(iadd(imul(tile, tx), txc), vl);
  Value colOk = ult(q, columns);
  Value rowBegin = imul(chunk, rowsPerChunk);
  Value rowEnd = imin(iadd(rowBegin, idx(rowsPerChunk)), idx(r1Len));
  Value first = iadd(rowBegin, tyc);
  Value rowBase = imul(p0c, r1Len);
  Moments m = threadMoments(rowBase, q, colOk, first, rowEnd);
  // The rows of threads merge in order through workgroup memory: thread
  // (tx, ty) at slot (ty * tx_count + tx) * vl.
  statistics.exchangeMerge(m, imul(tid, vl), shared,
                           arith::AndIOp::create(b, loc, ieq(tyc, 0), colOk),
                           ty, tx * vl, [&](Moments total) {
                             storeColumnPartials(p0c, chunk, q, total,
                                                 partials);
                           });
}

GPUEmitter::Moments ColumnEmitter::threadMoments(Value rowBase, Value q,
                                                 Value colOk, Value first,
                                                 Value rowEnd) {
  // Per-lane shift: each column's first element of this thread.
  Value shiftV = zeroV();
  if (centered) {
    Value ok = arith::AndIOp::create(b, loc, colOk, ult(first, rowEnd));
    shiftV = ifElse(
        ok, vf,
        [&] {
          Value v = loadVec(x, elementAt(rowBase, first, q));
          Value fin = arith::CmpFOp::create(
              b, loc, arith::CmpFPredicate::OLT,
              math::AbsFOp::create(b, loc, v),
              splat(cF(std::numeric_limits<float>::infinity())));
          return select(fin, v, zeroV());
        },
        [&] { return zeroV(); });
  }
  Value ub = select(colOk, rowEnd, first);
  Value zero = wideSums ? toF64(zeroV()) : zeroV();
  SmallVector<Value> acc = unrolledRows(
      first, ub, ty, kRowUnroll, {zero, zero, cF(0.0)},
      [&](Value row) { return loadVec(x, elementAt(rowBase, row, q)); },
      [&](Value, Value v, ValueRange a) -> SmallVector<Value> {
        Value d = centered ? fsub(v, shiftV) : v;
        if (wideSums)
          d = toF64(d);
        return {fadd(a[0], d), fma(d, d, a[1]), fadd(a[2], cF(1.0))};
      });
  Value s1 = wideSums ? acc[0] : toF64(acc[0]);
  Value s2 = wideSums ? acc[1] : toF64(acc[1]);
  return statistics.momentsFromShiftedSums(toF64(splat(acc[2])), toF64(shiftV),
                                           s1, s2);
}

void ColumnEmitter::storeColumnPartials(Value p0c, Value chunk, Value q,
                                        Moments total, Value partials) {
  for (int64_t lane = 0; lane < vl; ++lane) {
    Value col = iadd(q, lane);
    Value g = iadd(imul(p0c, p1), idiv(col, r2));
    Value at = iadd(imul(chunk, r2), irem(col, r2));
    Value base = imul(iadd(imul(g, numPartials), at), 3);
    auto lanev = [&](Value v) {
      return vector::ExtractOp::create(b, loc, v, ArrayRef<int64_t>{lane})
          .getResult();
    };
    storeScalar(lanev(total.n), partials, base);
    storeScalar(lanev(total.mean), partials, iadd(base, 1));
    storeScalar(lanev(total.m2), partials, iadd(base, 2));
  }
}

LogicalResult
LowerColumnKernel::matchAndRewrite(KernelOp op,
                                   PatternRewriter &rewriter) const {
  std::optional<GPUKernel> kernel = matchGPUKernel(
      op, norm::Strategy::Column, rewriter, /*dynamicSizes=*/true);
  if (!kernel)
    return failure();
  const KernelLayout &l = kernel->layout;
  GPUScheduleAttr schedule = kernel->schedule;
  int64_t vl = schedule.getVectorWidth();
  // Dynamic sizes in P0 and R1 only: the block's tiling of the columns is
  // static.
  if (l.isDynamic(Run::P1) || l.isDynamic(Run::R2))
    return op.emitError() << "the GPU column strategy takes dynamic sizes in "
                             "P0 and R1 only (static columns P1 x R2), "
                             "layout "
                          << l.str();
  if (failed(checkColumns(op, l, vl)))
    return failure();
  int64_t threads = schedule.getThreads();
  if (op.computesStatistics() &&
      kGPUColumnScratchBytesPerLane * threads * vl > kMaxSharedBytes)
    return op.emitError() << "gpu_schedule strategy \"column\" with " << threads
                          << " threads of " << vl
                          << " lanes needs more than 48 KiB of workgroup "
                             "memory; use fewer threads or lanes";
  rewriter.setInsertionPoint(op);
  ColumnEmitter(rewriter, op, l, schedule).emit();
  rewriter.eraseOp(op);
  return success();
}
