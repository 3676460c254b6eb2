//===- Column.cpp - the "column" strategy of convert-norm-to-vector -------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// Channels-last layouts: vectors run across the contiguous P1 x R2 lanes of
// each row of R1. R1 is cut into `chunks` fixed ranges; each chunk's
// per-lane mean and M2 (two passes, the second from L2, register
// accumulators added into f64 every kSumBlockRows rows) go to scratch; the
// combine merges the chunks in order (f64, the statistics core's combine),
// so the result does not depend on the thread count. The apply streams each
// task's rows as one flat run, the lane of each vector tracked by a compare,
// with per-lane scale, shift and mean vectors.
//
//===----------------------------------------------------------------------===//

#include "VectorEmitter.h"

using namespace mlir;
using namespace normlir;
using namespace normlir::norm;
using namespace normlir::normtovector;

using Run = KernelLayout::Run;

namespace {

/// Apply tasks the column strategy aims for (any thread count up to this
/// gets balanced work).
constexpr int64_t kApplyTasks = 64;
/// Vectors of a row the dynamic apply writes out rather than loops over.
constexpr int64_t kMaxUnrolledRowVectors = 16;

class ColumnEmitter : public VectorEmitter {
public:
  ColumnEmitter(OpBuilder &b, KernelOp op, const KernelLayout &layout,
                ScheduleAttr schedule);

  void emit();

private:
  /// Lanes [lane0, lane0 + count * vl) of chunk `c` of sample `q0`, rows
  /// [lo, hi); the last vector is masked by `lastMask` (null: full).
  struct LaneBlock {
    Value q0, lo, hi, lane0;
    int64_t count;
    Value lastMask;
    Value maskOf(int64_t u) const {
      return u == count - 1 ? lastMask : Value();
    }
  };
  /// Updates the accumulators of vector `u` of a lane block with the
  /// vector `v` of one row.
  using RowBody =
      function_ref<void(int64_t u, Value v, MutableArrayRef<Value> accs)>;

  /// The first and one-past-the-last row of chunk `c`.
  std::pair<Value, Value> chunkRows(Value c);
  /// The rows in chunk `c`, as f64.
  Value chunkCount(Value c);
  /// Per-lane apply vectors for statistic (q0, q1) over lanes q1 * r2 + j:
  /// rstd times the weight, the bias, and the mean.
  void fillLanes(Value q0, Value q1, Value mean, Value rstd);
  /// The first `vl` lanes of sample `q0` repeated past its last lane, so
  /// that a vector load starting at any lane reads on across the row end.
  void wrapLanes(Value q0);

  /// Per chunk and lane, in f64: the chunk's mean and M2 (moments: two
  /// passes over the chunk, the second from L2, so an outlier row costs no
  /// accuracy) or its sum of squares (mean_square).
  void emitChunkPartials();
  /// The partials of one lane block: both passes keep their accumulators in
  /// registers over the chunk's rows (which stay in L2 between passes and
  /// lane blocks); results go to the f64 partials.
  void emitLaneBlock(const LaneBlock &blk, Value c);
  /// `accsPer` f32 accumulators per vector of the block, updated by `body`
  /// row by row; every kSumBlockRows rows they are added into f64 totals
  /// (returned), so long chunks with outlier rows keep their small terms.
  SmallVector<Value> sumOverRows(const LaneBlock &blk, unsigned accsPer,
                                 RowBody body);

  /// Per statistic: its columns' chunk partials merged in a fixed order,
  /// in f64 (StatisticsBuilder::combine); the statistics outs and lane
  /// vectors written.
  void emitCombine();
  void combineStatistic(Value q0, Value q1);
  /// Index of the partial of chunk `c`, lane `lane` of sample `q0`.
  Value partialAt(Value q0, Value c, Value lane);

  /// An apply-only kernel: the lane vectors from the input statistics.
  void emitLanesFromInputs();
  /// Each task streams a contiguous range of whole rows of one sample as a
  /// flat run, tracking the lane of each vector.
  void emitApply();

  int64_t p1, r2;
  /// Contiguous elements of a row of R1.
  int64_t lanes;
  /// Chunks of R1 (only non-empty ones) and rows per chunk.
  Extent numChunks = 1, chunkLen = 1;
  /// Per-sample length of the lane vectors: `lanes` plus one vector.
  int64_t ext;
  /// Per-lane apply vectors (f32, `ext` per sample); laneMean only for
  /// moments.
  Value laneMean, laneScale, laneBias;
  /// Per chunk and lane partials (f64): mean and M2, or the sum of squares
  /// in partB alone.
  Value partA, partB;
};

} // namespace

ColumnEmitter::ColumnEmitter(OpBuilder &b, KernelOp op,
                             const KernelLayout &layout, ScheduleAttr schedule)
    : VectorEmitter(b, op, layout, schedule), p1(l.size[Run::P1]),
      r2(l.size[Run::R2]), lanes(p1 * r2) {
  if (r1Len.isStatic()) {
    // Chunks of ceil(R1 / chunks) rows; only non-empty ones are kept.
    int64_t r1 = r1Len.fixed;
    int64_t k = std::min<int64_t>(std::max<int64_t>(chunks, 1),
                                  std::max<int64_t>(r1, 1));
    int64_t len = std::max<int64_t>((r1 + k - 1) / k, 1);
    chunkLen = len;
    numChunks = std::max<int64_t>((r1 + len - 1) / len, 1);
  } else {
    // `chunks` chunks in all samples together where R1 has the rows
    // (ceil(chunks / P0) per sample), more where a chunk would fill more
    // than kColumnChunkBytes of L2: the choice the selection makes for a
    // static R1, here at run time.
    int64_t rowBytes =
        lanes *
        std::max<int64_t>(
            cast<MemRefType>(x.getType()).getElementTypeBitWidth() / 8, 1);
    int64_t maxRows = std::max<int64_t>(
        kColumnChunkBytes / std::max<int64_t>(rowBytes, 1), 1);
    Value r1 = r1Len.value;
    Value perSample = arith::CeilDivUIOp::create(
        b, loc, cI(std::max<int64_t>(chunks, 1)),
        arith::MaxUIOp::create(b, loc, idx(p0Len), cI(1)));
    Value per = arith::CeilDivUIOp::create(b, loc, r1, perSample);
    Value len = arith::MaxUIOp::create(
        b, loc, arith::MinUIOp::create(b, loc, per, cI(maxRows)), cI(1));
    chunkLen = len;
    numChunks = arith::MaxUIOp::create(
                    b, loc, arith::CeilDivUIOp::create(b, loc, r1, len), cI(1))
                    .getResult();
  }
  // The apply's per-lane vectors of each sample are extended by one vector
  // that repeats them from lane 0, so a vector load starting at any lane
  // reads on across the row boundary.
  ext = lanes + vl;
}

void ColumnEmitter::emit() {
  Extent applyLen = emul(p0Len, ext);
  laneMean = centered ? allocScratch(applyLen, f32Type) : Value();
  laneScale = allocScratch(applyLen, f32Type);
  laneBias = allocScratch(applyLen, f32Type);
  if (stats) {
    Extent partLen = emul(emul(p0Len, numChunks), lanes);
    partA = allocScratch(partLen, b.getF64Type());
    partB = allocScratch(partLen, b.getF64Type());
    emitChunkPartials();
    emitCombine();
  } else {
    emitLanesFromInputs();
  }
  emitApply();
}

//===----------------------------------------------------------------------===//
// Lane vectors
//===----------------------------------------------------------------------===//

std::pair<Value, Value> ColumnEmitter::chunkRows(Value c) {
  Value lo = imul(c, chunkLen);
  Value hi =
      arith::MinUIOp::create(b, loc, iadd(lo, idx(chunkLen)), idx(r1Len));
  // An empty R1 has one chunk of no rows.
  if (!r1Len.isStatic())
    lo = arith::MinUIOp::create(b, loc, lo, hi);
  return {lo, hi};
}

Value ColumnEmitter::chunkCount(Value c) {
  auto [lo, hi] = chunkRows(c);
  Value n = arith::IndexCastOp::create(b, loc, b.getI64Type(),
                                       arith::SubIOp::create(b, loc, hi, lo));
  return arith::SIToFPOp::create(b, loc, b.getF64Type(), n);
}

void ColumnEmitter::fillLanes(Value q0, Value q1, Value mean, Value rstd) {
  forLoop(r2, [&](Value j) {
    Value lane = iadd(imul(q1, r2), j);
    Value at = iadd(imul(q0, ext), lane);
    Value scale = rstd, shift = cF(0.0);
    if (w || bias) {
      Value off = addOpt(
          addOpt(
              l.dims[Run::P0].empty() ? Value() : runParamOffset(Run::P0, q0),
              l.dims[Run::P1].empty() ? Value() : runParamOffset(Run::P1, q1)),
          l.dims[Run::R2].empty() ? Value() : runParamOffset(Run::R2, j));
      if (!off)
        off = cI(0);
      if (w)
        scale = fmul(rstd, loadScalar(w, off));
      if (bias)
        shift = loadScalar(bias, off);
    }
    storeScalar(scale, laneScale, at);
    storeScalar(shift, laneBias, at);
    if (laneMean)
      storeScalar(mean, laneMean, at);
  });
}

void ColumnEmitter::wrapLanes(Value q0) {
  forLoop(vl, [&](Value i) {
    Value from = iadd(imul(q0, ext), irem(i, lanes));
    Value to = iadd(imul(q0, ext), iadd(i, lanes));
    for (Value arr : {laneMean, laneScale, laneBias})
      if (arr)
        storeScalar(loadScalar(arr, from), arr, to);
  });
}

//===----------------------------------------------------------------------===//
// Chunk partials
//===----------------------------------------------------------------------===//

void ColumnEmitter::emitChunkPartials() {
  parallelLoop(emul(p0Len, numChunks), [&](Value j) {
    Value q0 = idiv(j, numChunks), c = irem(j, numChunks);
    int64_t blockLanes = vl * unroll;
    int64_t fullBlocks = lanes / blockLanes;
    // `count` vectors of lanes from `lane0`.
    auto laneBlock = [&](Value lane0, int64_t count, Value lastMask) {
      auto [lo, hi] = chunkRows(c);
      emitLaneBlock({q0, lo, hi, lane0, count, lastMask}, c);
    };
    if (fullBlocks > 0)
      forLoop(fullBlocks, [&](Value blk) {
        laneBlock(imul(blk, blockLanes), unroll, Value());
      });
    int64_t done = fullBlocks * blockLanes;
    int64_t rest = lanes - done;
    if (rest > 0)
      laneBlock(cI(done), (rest + vl - 1) / vl,
                rest % vl ? tailMask(rest % vl) : Value());
  });
}

SmallVector<Value> ColumnEmitter::sumOverRows(const LaneBlock &blk,
                                              unsigned accsPer, RowBody body) {
  SmallVector<Value> totals(blk.count * accsPer, zeroWide());
  Value blocks = idiv(
      iadd(arith::SubIOp::create(b, loc, blk.hi, blk.lo), kSumBlockRows - 1),
      kSumBlockRows);
  return forLoop(cI(0), blocks, totals, [&](Value rb, ValueRange tot) {
    Value blo = iadd(blk.lo, imul(rb, kSumBlockRows));
    Value bhi =
        arith::MinUIOp::create(b, loc, iadd(blo, kSumBlockRows), blk.hi);
    SmallVector<Value> inits(blk.count * accsPer, zeroV());
    SmallVector<Value> accs =
        forLoop(blo, bhi, inits, [&](Value row, ValueRange args) {
          SmallVector<Value> a(args);
          Value rowBase = imul(iadd(imul(blk.q0, r1Len), row), lanes);
          for (int64_t u = 0; u < blk.count; ++u)
            body(u,
                 loadVec(x, iadd(iadd(rowBase, blk.lane0), u * vl),
                         blk.maskOf(u)),
                 MutableArrayRef<Value>(a).slice(u * accsPer, accsPer));
          return a;
        });
    SmallVector<Value> out;
    for (auto [t, a] : llvm::zip(tot, accs))
      out.push_back(fadd(t, toF64(a)));
    return out;
  });
}

void ColumnEmitter::emitLaneBlock(const LaneBlock &blk, Value c) {
  Value part = iadd(imul(iadd(imul(blk.q0, numChunks), c), lanes), blk.lane0);
  auto at = [&](int64_t u) { return iadd(part, u * vl); };
  if (!centered) {
    SmallVector<Value> ss =
        sumOverRows(blk, 1, [&](int64_t, Value v, MutableArrayRef<Value> a) {
          a[0] = fma(v, v, a[0]);
        });
    for (int64_t u = 0; u < blk.count; ++u)
      storeWide(ss[u], partB, at(u), blk.maskOf(u));
    return;
  }
  Value nW = splatWide(chunkCount(c));
  // Pass a: provisional means, the shifts of pass b (0 where not finite: an
  // inf or NaN in the column, which then reaches the mean through the sums).
  SmallVector<Value> sums =
      sumOverRows(blk, 1, [&](int64_t, Value v, MutableArrayRef<Value> a) {
        a[0] = fadd(a[0], v);
      });
  SmallVector<Value> shifts;
  for (Value sum : sums) {
    Value mean = arith::TruncFOp::create(b, loc, vf, fdiv(sum, nW));
    shifts.push_back(select(isFinite(mean), mean, zeroV()));
  }
  // Pass b: deviations from them.
  SmallVector<Value> dev =
      sumOverRows(blk, 2, [&](int64_t u, Value v, MutableArrayRef<Value> a) {
        Value d = fsub(v, shifts[u]);
        if (Value mask = blk.maskOf(u))
          d = select(mask, d, zeroV());
        a[0] = fadd(a[0], d);
        a[1] = fma(d, d, a[1]);
      });
  for (int64_t u = 0; u < blk.count; ++u) {
    Moments m = statistics.momentsFromShiftedSums(nW, toF64(shifts[u]),
                                                  dev[2 * u], dev[2 * u + 1]);
    storeWide(m.mean, partA, at(u), blk.maskOf(u));
    storeWide(m.m2, partB, at(u), blk.maskOf(u));
  }
}

//===----------------------------------------------------------------------===//
// Combine
//===----------------------------------------------------------------------===//

void ColumnEmitter::emitCombine() {
  parallelLoop(p0Len, [&](Value q0) {
    forLoop(p1, [&](Value q1) { combineStatistic(q0, q1); });
    wrapLanes(q0);
  });
}

Value ColumnEmitter::partialAt(Value q0, Value c, Value lane) {
  return iadd(imul(iadd(imul(q0, numChunks), c), lanes), lane);
}

void ColumnEmitter::combineStatistic(Value q0, Value q1) {
  Value t = iadd(imul(q0, p1), q1);
  // The chunk partials of the statistic's R2 columns, column by column:
  // M2 are sums of squares without centering.
  Moments m = statistics.combine(
      b.getF64Type(), {r2, numChunks}, emul(r1Len, r2),
      [&](ValueRange jc, bool withM2) -> Moments {
        Value at = partialAt(q0, jc[1], iadd(imul(q1, r2), jc[0]));
        if (!centered)
          return {Value(), Value(), loadWide(partB, at)};
        Value n = chunkCount(jc[1]);
        Value mean = loadWide(partA, at);
        return {n, mean, withM2 ? loadWide(partB, at) : Value()};
      });
  Statistics st = statistics.finalize(m, emul(r1Len, r2));
  statistics.store(st, ArrayRef<Value>(outs).drop_front(), t);
  fillLanes(q0, q1, st.mean, st.rstd);
}

//===----------------------------------------------------------------------===//
// Apply
//===----------------------------------------------------------------------===//

void ColumnEmitter::emitLanesFromInputs() {
  parallelLoop(p0Len, [&](Value q0) {
    forLoop(p1, [&](Value q1) {
      Value t = iadd(imul(q0, p1), q1);
      fillLanes(q0, q1, inMean ? loadScalar(inMean, t) : Value(),
                loadScalar(inRstd, t));
    });
    wrapLanes(q0);
  });
}

void ColumnEmitter::emitApply() {
  // Each task: rows of sample q0 from element `start`, one flat run.
  auto task = [&](Value q0, Value start, const Extent &len) {
    Value laneBase = imul(q0, ext);
    auto element = [&](Value off, Value lane, Value mask, bool aligned) {
      Value v = loadVec(x, iadd(start, off), mask);
      Value at = iadd(laneBase, lane);
      Value d = laneMean ? fsub(v, loadVec(laneMean, at, mask)) : v;
      Value r =
          fma(d, loadVec(laneScale, at, mask), loadVec(laneBias, at, mask));
      storeVec(r, y, iadd(start, off), mask, aligned);
    };
    // Rows of whole vectors (a runtime row count, no streaming stores): a
    // loop over the rows around the row's vectors, whose lanes are then
    // constants, in place of the flat run's lane tracking. Measured on
    // BatchNorm eval 256x14x14x256 channels-last (one thread), the flat
    // run over a runtime length took 1.10x the static kernel's time.
    if (!len.isStatic() && lanes % vl == 0 && !nontemporal) {
      Value rows = idiv(len.value, lanes);
      int64_t perRow = lanes / vl;
      forLoop(cI(0), rows, {}, [&](Value row, ValueRange) {
        Value rowStart = imul(row, lanes);
        // Up to kMaxUnrolledRowVectors vectors written out, more in a loop.
        if (perRow <= kMaxUnrolledRowVectors) {
          for (int64_t k = 0; k < perRow; ++k)
            element(iadd(rowStart, k * vl), cI(k * vl), Value(), false);
        } else {
          forLoop(perRow, [&](Value k) {
            Value lane = imul(k, vl);
            element(iadd(rowStart, lane), lane, Value(), false);
          });
        }
        return SmallVector<Value>{};
      });
      return;
    }
    flatLoop(start, len, lanes, element);
  };
  if (p0Len.isStatic() && r1Len.isStatic()) {
    int64_t p0 = p0Len.fixed, r1 = r1Len.fixed;
    int64_t tasksPerSample = 1;
    int64_t wanted =
        (kApplyTasks + std::max<int64_t>(p0, 1) - 1) / std::max<int64_t>(p0, 1);
    for (int64_t d = std::min<int64_t>(r1, wanted); d > 1; --d)
      if (r1 % d == 0) {
        tasksPerSample = d;
        break;
      }
    int64_t len = r1 / tasksPerSample * lanes;
    parallelLoop(p0 * tasksPerSample, [&](Value j) {
      task(idiv(j, tasksPerSample), imul(j, len), len);
    });
    return;
  }
  // At run time: about kApplyTasks tasks in all, each sample's rows in
  // ranges of ceil(R1 / tasks per sample) rows, the last one shorter.
  Value p0 = idx(p0Len), r1 = idx(r1Len);
  Value wanted = arith::CeilDivUIOp::create(
      b, loc, cI(kApplyTasks), arith::MaxUIOp::create(b, loc, p0, cI(1)));
  Value per = arith::MaxUIOp::create(
      b, loc, arith::MinUIOp::create(b, loc, wanted, r1), cI(1));
  Value rowsPerTask = arith::MaxUIOp::create(
      b, loc, arith::CeilDivUIOp::create(b, loc, r1, per), cI(1));
  Value tasksPerSample = arith::CeilDivUIOp::create(b, loc, r1, rowsPerTask);
  parallelLoop(arith::MulIOp::create(b, loc, p0, tasksPerSample).getResult(),
               [&](Value j) {
                 Value q0 = idiv(j, Extent(tasksPerSample));
                 Value lo = arith::MulIOp::create(
                     b, loc, irem(j, Extent(tasksPerSample)), rowsPerTask);
                 Value hi =
                     arith::MinUIOp::create(b, loc, iadd(lo, rowsPerTask), r1);
                 Value rows = arith::SubIOp::create(b, loc, hi, lo);
                 task(q0, imul(iadd(imul(q0, r1Len), lo), lanes),
                      Extent(imul(rows, lanes)));
               });
}

LogicalResult
LowerColumnKernel::matchAndRewrite(KernelOp op,
                                   PatternRewriter &rewriter) const {
  std::optional<VectorKernel> kernel =
      matchVectorKernel(op, norm::Strategy::Column, rewriter,
                        /*dynamicSizes=*/true);
  if (!kernel)
    return failure();
  const KernelLayout &layout = kernel->layout;
  if (layout.paramsAlongR1)
    return op.emitError() << "schedule strategy \"column\" needs parameters "
                             "constant along R1; layout "
                          << layout.str();
  if (layout.isDynamic(Run::P1) || layout.isDynamic(Run::R2))
    return op.emitError() << "schedule strategy \"column\" needs static "
                             "rows (P1 x R2 lanes); layout "
                          << layout.str();
  rewriter.setInsertionPoint(op);
  ColumnEmitter(rewriter, op, layout, kernel->schedule).emit();
  rewriter.eraseOp(op);
  return success();
}
