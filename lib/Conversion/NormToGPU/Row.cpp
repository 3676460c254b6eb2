//===- Row.cpp - the "row" strategy of convert-norm-to-gpu ----------------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// One launch for contiguous rows (R1 = 1 or P1 = 1): a team of `threads`
// threads per row holds the row in registers: one read of memory, two
// reductions over registers (the mean, then the sum of squared deviations
// from it), one write. Rows past the last (when the row count is not a
// multiple of the teams per block) compute on row 0 and store nothing, so
// that every thread reaches every shuffle and barrier.
//
//===----------------------------------------------------------------------===//

#include "GPUEmitter.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace normlir;
using namespace normlir::norm;
using namespace normlir::normtogpu;

using Run = KernelLayout::Run;

namespace {

class RowEmitter : public GPUEmitter {
public:
  RowEmitter(OpBuilder &b, KernelOp op, const KernelLayout &layout,
             GPUScheduleAttr schedule)
      : GPUEmitter(b, op, layout, schedule), r1(l.size[Run::R1]),
        p1(l.size[Run::P1]), r2(l.size[Run::R2]), n(r1 * r2),
        rows(l.numStats()), team(schedule.getThreads()),
        teams(schedule.getRows()), perThread(ceilDiv(n, team * vl)),
        warpsPerTeam(std::max<int64_t>(team / kWarpSize, 1)) {}

  void emit();

private:
  /// Where one thread works.
  struct RowThread {
    /// The thread's index in its team.
    Value lane;
    /// Whether the team's row exists (null: always).
    Value valid;
    /// The row worked on (row 0 for a team past the last row) and its first
    /// element.
    Value row, base;
    /// The row's parameter offset (null without parameters).
    Value paramOff;
    /// The team's first workgroup slot (teams of more than a warp).
    Value slot;
    /// Workgroup buffers of the team sums.
    ArrayRef<BlockArgument> shared;
  };
  /// The vectors a thread holds: the k-th at element offs[k] of the row,
  /// zero where it lies past the row end (inBounds[k], null when it never
  /// does).
  struct RowVectors {
    SmallVector<Value> vals, offs, inBounds;
  };

  RowThread locateRow(Value bid, Value tid, ArrayRef<BlockArgument> shared);
  RowVectors loadRow(const RowThread &t);
  /// The team's sum of hsum(term(v)) over the vectors of every thread; with
  /// `dropPastEnd`, vectors past the row end add 0.
  Value teamRowSum(const RowThread &t, const RowVectors &rv,
                   function_ref<Value(Value)> term, bool dropPastEnd,
                   unsigned sharedBuffer);
  /// The row's mean (null for the mean square) and variance (or mean
  /// square).
  std::pair<Value, Value> rowMoments(const RowThread &t, const RowVectors &rv);
  /// The output of the thread's vectors; statistics as splats.
  void applyRow(const RowThread &t, const RowVectors &rv, Value meanV,
                Value rstdV);
  /// The output of vector `v` at element `e` of the row.
  void applyVector(const RowThread &t, Value v, Value e, Value meanV,
                   Value rstdV);

  int64_t r1, p1, r2;
  /// Elements per row.
  int64_t n;
  int64_t rows;
  /// The number of rows at run time, where it is dynamic.
  Value rowsV;
  /// Threads per team, teams per block.
  int64_t team, teams;
  /// Vectors each thread holds.
  int64_t perThread;
  int64_t warpsPerTeam;
};

} // namespace

void RowEmitter::emit() {
  SmallVector<int64_t> shared;
  if (team > kWarpSize)
    shared.assign(centered ? 2 : 1, teams * warpsPerTeam);
  // A dynamic number of rows (P0): the grid and each team's bound come
  // from it at run time.
  Value grid;
  if (l.hasDynamicSize()) {
    rowsV = idx(numSegmentsLen());
    grid = arith::CeilDivUIOp::create(b, loc, rowsV, cI(teams));
  } else {
    grid = cI(ceilDiv(rows, teams));
  }
  launch(grid, team * teams, shared,
         [&](Value bid, Value tid, ArrayRef<BlockArgument> sh) {
           RowThread t = locateRow(bid, tid, sh);
           RowVectors rv = loadRow(t);
           Value mean, var;
           std::tie(mean, var) = rowMoments(t, rv);
           Value rstd = rstdOf(var);
           Value leader = ieq(t.lane, 0);
           ifThen(t.valid ? arith::AndIOp::create(b, loc, leader, t.valid)
                          : leader,
                  [&] { storeStats(t.row, mean, var); });
           Value meanV = centered ? splat(mean) : Value();
           Value rstdV = splat(rstd);
           applyRow(t, rv, meanV, rstdV);
         });
}

RowEmitter::RowThread RowEmitter::locateRow(Value bid, Value tid,
                                            ArrayRef<BlockArgument> shared) {
  RowThread t;
  t.shared = shared;
  t.lane = irem(tid, team);
  Value teamIdx = idiv(tid, team);
  Value row = iadd(imul(bid, teams), teamIdx);
  t.valid = rowsV ? arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                          row, rowsV)
                        .getResult()
            : rows % teams ? ult(row, rows)
                           : Value();
  t.row = t.valid ? select(t.valid, row, cI(0)) : row;
  t.base = imul(t.row, n);
  // The row's coordinates: (p0, p1) when R1 = 1, else p0 alone.
  Value p0 = r1 == 1 ? idiv(t.row, p1) : t.row;
  Value p1c = r1 == 1 ? irem(t.row, p1) : Value();
  t.paramOff = (w || bias) ? iadd(runParamOffset(Run::P0, p0),
                                  runParamOffset(Run::P1, p1c))
                           : Value();
  t.slot = team > kWarpSize ? imul(teamIdx, warpsPerTeam) : Value();
  return t;
}

RowEmitter::RowVectors RowEmitter::loadRow(const RowThread &t) {
  RowVectors rv;
  for (int64_t k = 0; k < perThread; ++k) {
    Value e = imul(iadd(t.lane, k * team), vl);
    rv.offs.push_back(e);
    // Static when the whole step is inside the row.
    bool full = (k + 1) * team * vl <= n;
    Value in = full ? Value() : ult(e, n);
    rv.inBounds.push_back(in);
    Value at = iadd(t.base, e);
    rv.vals.push_back(in ? ifElse(
                               in, vf, [&] { return loadVec(x, at); },
                               [&] { return zeroV(); })
                         : loadVec(x, at));
  }
  return rv;
}

Value RowEmitter::teamRowSum(const RowThread &t, const RowVectors &rv,
                             function_ref<Value(Value)> term, bool dropPastEnd,
                             unsigned sharedBuffer) {
  Value sum = cF(0.0);
  for (auto [v, in] : llvm::zip(rv.vals, rv.inBounds)) {
    Value s = hsum(term(v));
    sum = fadd(sum, dropPastEnd && in ? select(in, s, cF(0.0)) : s);
  }
  return statistics.teamSum(
      sum, team, t.lane,
      team > kWarpSize ? Value(t.shared[sharedBuffer]) : Value(), t.slot);
}

std::pair<Value, Value> RowEmitter::rowMoments(const RowThread &t,
                                               const RowVectors &rv) {
  Value nF = cF(double(n));
  if (!centered) {
    Value sq = teamRowSum(
        t, rv, [&](Value v) { return fmul(v, v); }, /*dropPastEnd=*/false, 0);
    return {Value(), fdiv(sq, nF)};
  }
  // Deviations from the row's first element K keep the sum small for data
  // far from 0 (a constant row gives exactly K); every thread reads the
  // same K.
  Value shift = cF(0.0);
  if (n > 0) {
    Value k0 = vector::ExtractOp::create(b, loc, loadVec(x, t.base),
                                         ArrayRef<int64_t>{0});
    shift = select(isFinite(k0), k0, cF(0.0));
  }
  Value shiftV = splat(shift);
  Value sum = teamRowSum(
      t, rv, [&](Value v) { return fsub(v, shiftV); }, /*dropPastEnd=*/true, 0);
  Value mean = fadd(shift, fdiv(sum, nF));
  // An empty row has NaN statistics (0 / 0), as torch's.
  if (n == 0)
    mean = fdiv(cF(0.0), nF);
  Value meanV = splat(mean);
  Value sq = teamRowSum(
      t, rv,
      [&](Value v) {
        Value d = fsub(v, meanV);
        return fmul(d, d);
      },
      /*dropPastEnd=*/true, 1);
  return {mean, fdiv(sq, nF)};
}

void RowEmitter::applyRow(const RowThread &t, const RowVectors &rv, Value meanV,
                          Value rstdV) {
  for (int64_t k = 0; k < perThread; ++k) {
    Value cond = rv.inBounds[k];
    if (t.valid)
      cond = cond ? arith::AndIOp::create(b, loc, cond, t.valid).getResult()
                  : t.valid;
    if (cond)
      ifThen(cond,
             [&] { applyVector(t, rv.vals[k], rv.offs[k], meanV, rstdV); });
    else
      applyVector(t, rv.vals[k], rv.offs[k], meanV, rstdV);
  }
}

void RowEmitter::applyVector(const RowThread &t, Value v, Value e, Value meanV,
                             Value rstdV) {
  Value d = meanV ? fsub(v, meanV) : v;
  Value off;
  if (w || bias) {
    Value r1c = r1 == 1 ? Value() : idiv(e, r2);
    Value r2c = r1 == 1 ? e : irem(e, r2);
    off = iadd(iadd(t.paramOff, runParamOffset(Run::R1, r1c)),
               runParamOffset(Run::R2, r2c));
  }
  auto [wv, bv] = paramVectors(off);
  Value scale = wv ? fmul(rstdV, wv) : rstdV;
  Value r = bv ? fma(d, scale, bv) : fmul(d, scale);
  storeVec(r, y, iadd(t.base, e));
}

LogicalResult LowerRowKernel::matchAndRewrite(KernelOp op,
                                              PatternRewriter &rewriter) const {
  std::optional<GPUKernel> kernel =
      matchGPUKernel(op, norm::Strategy::Row, rewriter, /*dynamicSizes=*/true);
  if (!kernel)
    return failure();
  const KernelLayout &l = kernel->layout;
  GPUScheduleAttr schedule = kernel->schedule;
  // A dynamic number of rows (P0) only: the rows keep their static length.
  if (l.isDynamic(Run::R1) || l.isDynamic(Run::P1) || l.isDynamic(Run::R2) ||
      (l.hasDynamicSize() && l.size[Run::R1] != 1))
    return op.emitError() << "the GPU row strategy takes a dynamic number of "
                             "rows only (P0, with R1 = 1), layout "
                          << l.str();
  int64_t vl = schedule.getVectorWidth();
  int64_t r1 = l.size[Run::R1], p1 = l.size[Run::P1], r2 = l.size[Run::R2];
  bool stats = op.computesStatistics();
  // Vector accesses must stay inside one contiguous run and be aligned.
  if (failed(checkContiguousRuns(op, l, vl, p1 == 1 ? r1 * r2 : r2)) ||
      (!stats && failed(checkColumns(op, l, vl))))
    return failure();
  // The apply is in the kernel: parameter vectors must be one load or one
  // broadcast.
  if ((op.getWeight() || op.getBias()) && l.r2i % vl != 0)
    return op.emitError() << "gpu_schedule vectorWidth " << vl
                          << " does not divide the parameter runs of layout "
                          << l.str();
  if (r1 != 1 && p1 != 1)
    return op.emitError() << "gpu_schedule strategy \"row\" needs contiguous "
                             "rows (R1 = 1 or P1 = 1), but the layout is "
                          << l.str();
  int64_t team = schedule.getThreads();
  int64_t perThread = ceilDiv(r1 * r2, team * vl);
  if (stats && perThread * vl > kMaxRowElementsPerThread)
    return op.emitError() << "gpu_schedule strategy \"row\" with " << team
                          << " threads per row would keep " << perThread * vl
                          << " elements per thread in "
                          << "registers (at most " << kMaxRowElementsPerThread
                          << "); use more threads or the \"segment\" strategy";

  rewriter.setInsertionPoint(op);
  RowEmitter emitter(rewriter, op, l, schedule);
  if (stats)
    emitter.emit();
  else
    emitter.emitApply();
  rewriter.eraseOp(op);
  return success();
}
