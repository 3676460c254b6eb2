//===- NormToGPU.cpp - norm.kernel to GPU kernels -------------------------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// Lowers a bufferized norm.kernel, following its #norm.gpu_schedule, to
// gpu.launch ops, and moves the rest of the function's buffers onto the
// device. All buffers are flattened to 1-D; every size is static, so each
// thread's share of the work is known when the kernel is generated.
//
//===----------------------------------------------------------------------===//

#include "normlir/Conversion/NormToGPU/NormToGPU.h"

#include "normlir/Dialect/Norm/IR/Norm.h"
#include "normlir/Dialect/Norm/Utils/EmitterBase.h"
#include "normlir/Dialect/Norm/Utils/KernelLayout.h"
#include "normlir/Dialect/Norm/Utils/Utils.h"

#include "mlir/Analysis/SliceAnalysis.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/RegionUtils.h"

#include <limits>

namespace normlir {
#define GEN_PASS_DEF_CONVERTNORMTOGPU
#include "normlir/Conversion/Passes.h.inc"
} // namespace normlir

using namespace mlir;
using namespace normlir;
using namespace normlir::norm;

namespace {

using Run = KernelLayout::Run;

constexpr int64_t kWarpSize = 32;
/// Threads per block of the combine and apply launches.
constexpr int64_t kBlockThreads = 256;
/// Rows each apply thread normalizes (its scale and shift are computed once
/// for them).
constexpr int64_t kApplyRowsPerThread = 8;
/// Elements one thread of the row strategy keeps in registers at most.
constexpr int64_t kMaxRowElementsPerThread = 64;
/// Static workgroup memory of one block.
constexpr int64_t kMaxSharedBytes = 48 * 1024;

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// Emits the launches of one kernel before it.
class GPUKernelEmitter : EmitterBase {
public:
  GPUKernelEmitter(OpBuilder &b, KernelOp op, const KernelLayout &layout,
                   GPUScheduleAttr schedule)
      : EmitterBase(b, op.getLoc(), schedule.getVectorWidth()), op(op),
        l(layout), schedule(schedule) {}

  LogicalResult emit();

private:
  //===--------------------------------------------------------------------===//
  // Small builders
  //===--------------------------------------------------------------------===//

  Value imin(Value a, Value c) { return arith::MinUIOp::create(b, loc, a, c); }
  Value ult(Value a, Value c) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, a, c);
  }
  Value ult(Value a, int64_t c) { return ult(a, cI(c)); }
  Value ieq(Value a, int64_t c) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, a, cI(c));
  }
  Value fgt0(Value v) {
    Value zero = isa<VectorType>(v.getType()) ? zeroV() : cF(0.0);
    return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, v, zero);
  }
  Value rstdOf(Value var) {
    return EmitterBase::rstdOf(var, op.getEpsilon()->convertToDouble(),
                               op.getZeroDegenerate());
  }
  Value hsum(Value v) {
    return vector::ReductionOp::create(b, loc, vector::CombiningKind::ADD, v);
  }
  Value shuffleXor(Value v, int64_t offset) {
    return gpu::ShuffleOp::create(b, loc, v, int32_t(offset),
                                  int32_t(kWarpSize), gpu::ShuffleMode::XOR)
        .getShuffleResult();
  }
  void barrier() { gpu::BarrierOp::create(b, loc); }

  /// Runs `body` under `cond` (no results).
  void ifThen(Value cond, function_ref<void()> body) {
    auto ifOp = scf::IfOp::create(b, loc, cond, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    body();
  }
  /// `cond ? thenFn() : elseFn()`, each evaluated only on its branch.
  Value ifElse(Value cond, Type type, function_ref<Value()> thenFn,
               function_ref<Value()> elseFn) {
    auto ifOp = scf::IfOp::create(b, loc, TypeRange{type}, cond,
                                  /*withElseRegion=*/true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    scf::YieldOp::create(b, loc, thenFn());
    b.setInsertionPointToStart(ifOp.elseBlock());
    scf::YieldOp::create(b, loc, elseFn());
    return ifOp.getResult(0);
  }
  /// scf.for lb..ub step `step` with iter args; `body` returns the yields.
  SmallVector<Value>
  forLoop(Value lb, Value ub, int64_t step, ValueRange inits,
          function_ref<SmallVector<Value>(Value, ValueRange)> body) {
    auto loop = scf::ForOp::create(b, loc, lb, ub, cI(step), inits);
    OpBuilder::InsertionGuard guard(b);
    // Without iter args the builder already added the yield.
    if (inits.empty())
      b.setInsertionPoint(loop.getBody()->getTerminator());
    else
      b.setInsertionPointToStart(loop.getBody());
    SmallVector<Value> yields =
        body(loop.getInductionVar(), loop.getRegionIterArgs());
    if (!inits.empty())
      scf::YieldOp::create(b, loc, yields);
    return SmallVector<Value>(loop.getResults());
  }

  /// A 1-D launch of `grid` blocks of `block` threads with f32 workgroup
  /// buffers of `sharedSizes` elements; `body` gets (block id, thread id,
  /// buffers). Nothing is launched for an empty grid.
  void launch(int64_t grid, int64_t block, ArrayRef<int64_t> sharedSizes,
              function_ref<void(Value, Value, ArrayRef<BlockArgument>)> body) {
    if (grid == 0)
      return;
    auto workgroup = gpu::AddressSpaceAttr::get(
        b.getContext(), gpu::GPUDialect::getWorkgroupAddressSpace());
    SmallVector<Type> sharedTypes;
    for (int64_t n : sharedSizes)
      sharedTypes.push_back(MemRefType::get(
          {n}, f32Type, MemRefLayoutAttrInterface(), workgroup));
    Value one = cI(1);
    auto launchOp = gpu::LaunchOp::create(
        b, loc, cI(grid), one, one, cI(block), one, one,
        /*dynamicSharedMemorySize=*/nullptr, /*asyncTokenType=*/nullptr,
        /*asyncDependencies=*/{}, sharedTypes);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&launchOp.getBody().front());
    body(launchOp.getBlockIds().x, launchOp.getThreadIds().x,
         launchOp.getWorkgroupAttributions());
    gpu::TerminatorOp::create(b, loc);
  }

  //===--------------------------------------------------------------------===//
  // Memory
  //===--------------------------------------------------------------------===//

  /// Alignment of a `vl`-element access at an index that is a multiple of
  /// `vl`: the runtime guarantees 16-byte aligned buffers, no more.
  llvm::MaybeAlign accessAlign(Type elt) {
    return llvm::MaybeAlign(
        std::min<int64_t>(vl * elt.getIntOrFloatBitWidth() / 8, 16));
  }
  Value loadRaw(Value mem, Value i) {
    Type elt = cast<MemRefType>(mem.getType()).getElementType();
    return vector::LoadOp::create(b, loc, VectorType::get({vl}, elt), mem,
                                  ValueRange{i}, /*nontemporal=*/false,
                                  accessAlign(elt));
  }
  /// `vl` elements at `i` as f32; the input `x` through the prologue.
  Value loadVec(Value mem, Value i) {
    if (mem == x && !op.getPrologue().empty()) {
      SmallVector<Value> args;
      for (Value in : xInputs)
        args.push_back(loadRaw(in, i));
      return applyPrologue(op, args);
    }
    return toF32Vec(loadRaw(mem, i));
  }
  /// Stores an f32 vector rounded to the buffer's type; `y` through the
  /// epilogue.
  void storeVec(Value v, Value mem, Value i) {
    Type elt = cast<MemRefType>(mem.getType()).getElementType();
    v = prepareStore(op, v, elt, mem == y);
    vector::StoreOp::create(b, loc, v, mem, ValueRange{i},
                            /*nontemporal=*/false, accessAlign(elt));
  }

  //===--------------------------------------------------------------------===//
  // Parameters
  //===--------------------------------------------------------------------===//

  /// Offset into the parameters contributed by `coord` in run `run` (null
  /// when the run holds no parameter axis).
  Value runParamOffset(Run run, Value coord) {
    return buildRunParamOffset(b, loc, l, run, coord);
  }
  /// True when the `vl` parameters of a vector access (which stays inside
  /// one run of R2i, as the schedule's vector width divides it) are
  /// contiguous: loaded as one vector.
  bool paramsContiguous() const {
    return l.r2iParamStride == 1 && l.r2i % vl == 0;
  }
  /// True when they are all the same parameter: one scalar, broadcast.
  bool paramsUniform() const {
    return l.r2iParamStride == 0 && l.r2i % vl == 0;
  }
  /// The weight and bias of a vector access at parameter offset `off` (of
  /// its first lane) as vectors; null where there is no such parameter.
  std::pair<Value, Value> paramVectors(Value off) {
    off = off ? off : cI(0);
    auto one = [&](Value mem) -> Value {
      if (!mem)
        return {};
      if (paramsContiguous())
        return loadVec(mem, off);
      return splat(loadScalar(mem, off));
    };
    return {one(w), one(bias)};
  }

  //===--------------------------------------------------------------------===//
  // Reductions
  //===--------------------------------------------------------------------===//

  /// Sum of `v` over a team of `team` threads (a power of two): a shuffle
  /// butterfly within the warp, then the warps' sums through `shared`
  /// (`team / 32` slots from `slot0`), added in a fixed order. Every thread
  /// of the team gets the same value. All threads of the block must call it.
  Value teamSum(Value v, int64_t team, Value lane, Value shared, Value slot0) {
    for (int64_t off = std::min(team, kWarpSize) / 2; off >= 1; off /= 2)
      v = fadd(v, shuffleXor(v, off));
    if (team <= kWarpSize)
      return v;
    int64_t warps = team / kWarpSize;
    Value warp = idiv(lane, kWarpSize);
    ifThen(ieq(irem(lane, kWarpSize), 0),
           [&] { storeScalar(v, shared, iadd(slot0, warp)); });
    barrier();
    Value sum = loadScalar(shared, slot0);
    for (int64_t i = 1; i < warps; ++i)
      sum = fadd(sum, loadScalar(shared, iadd(slot0, i)));
    return sum;
  }

  /// Partial statistics (count, mean, M2): Chan et al.'s pairwise merge.
  /// Works on scalars and on vectors alike. A part with count 0 has mean 0.
  struct Moments {
    Value n, mean, m2;
  };
  Moments merge(Moments a, Moments c) {
    Value n = fadd(a.n, c.n);
    Value zero = isa<VectorType>(n.getType()) ? zeroV() : cF(0.0);
    Value f = select(fgt0(n), fdiv(c.n, n), zero);
    Value d = fsub(c.mean, a.mean);
    Value mean = fma(d, f, a.mean);
    // Infinite means merge as the sums they stand for (BatchNorm's mean of
    // [inf, 1] is inf, of [inf, -inf] NaN); the update above would give
    // inf - inf. An empty part (count 0, mean 0) adds 0.
    Value finite =
        arith::AndIOp::create(b, loc, isFinite(a.mean), isFinite(c.mean));
    Value sumMean = fdiv(fadd(fmul(a.n, a.mean), fmul(c.n, c.mean)), n);
    mean = select(finite, mean, sumMean);
    Value m2 = fadd(fadd(a.m2, c.m2), fmul(fmul(d, d), fmul(a.n, f)));
    return {n, mean, m2};
  }
  /// Moments of `n` values from their sums about `shift`: S1 = sum(x - K),
  /// S2 = sum((x - K)^2). For mean-square kernels (no centering) the mean
  /// stays 0 and M2 is the sum of squares (K = 0).
  Moments fromShiftedSums(Value n, Value shift, Value s1, Value s2) {
    if (!centered)
      return {n, isa<VectorType>(n.getType()) ? zeroV() : cF(0.0), s2};
    Value zero = isa<VectorType>(n.getType()) ? zeroV() : cF(0.0);
    Value pos = fgt0(n);
    Value safeN =
        select(pos, n, isa<VectorType>(n.getType()) ? splat(cF(1.0)) : cF(1.0));
    Value q = fdiv(s1, safeN);
    Value mean = select(pos, fadd(shift, q), zero);
    Value m2 = arith::MaximumFOp::create(b, loc, fsub(s2, fmul(s1, q)), zero);
    return {n, mean, select(pos, m2, zero)};
  }
  /// Merges `m` across a warp (butterfly); lane 0's result is deterministic.
  Moments warpMerge(Moments m) {
    for (int64_t off = kWarpSize / 2; off >= 1; off /= 2)
      m = merge(m, {shuffleXor(m.n, off), shuffleXor(m.mean, off),
                    shuffleXor(m.m2, off)});
    return m;
  }

  /// Writes the statistics of `g` (and the apply's private copies, where
  /// there are).
  void storeStats(Value g, Value mean, Value var) {
    Value rstd = rstdOf(var);
    if (statMean)
      storeScalar(mean, statMean, g);
    if (statRstd)
      storeScalar(rstd, statRstd, g);
    if (centered) {
      storeScalar(mean, outs[1], g);
      storeScalar(var, outs[2], g);
      storeScalar(rstd, outs[3], g);
    } else {
      storeScalar(var, outs[1], g);
      storeScalar(rstd, outs[2], g);
    }
  }

  /// Elements per chunk of an R2 segment (segment strategy).
  int64_t segmentChunkLen() const {
    int64_t r2 = std::max<int64_t>(l.size[Run::R2], 1);
    return llvm::alignTo(
        ceilDiv(r2, std::clamp<int64_t>(schedule.getChunks(), 1, r2)), vl);
  }
  /// Rows of R1 per chunk (column strategy).
  int64_t columnRowsPerChunk() const {
    int64_t r1 = std::max<int64_t>(l.size[Run::R1], 1);
    return ceilDiv(r1, std::clamp<int64_t>(schedule.getChunks(), 1, r1));
  }

  LogicalResult emitRow();
  LogicalResult emitSegmentPartials(Value partials, int64_t numPartials);
  LogicalResult emitColumnPartials(Value partials, int64_t numPartials);
  void emitCombine(Value partials, int64_t numPartials);
  void emitApply();

  KernelOp op;
  const KernelLayout &l;
  GPUScheduleAttr schedule;
  bool stats = false, centered = false;
  Value x, y, w, bias, inMean, inRstd;
  /// Two-stage strategies: the combine's mean and rstd for the apply.
  Value statMean, statRstd;
  /// The prologue's inputs (x first).
  SmallVector<Value> xInputs;
  SmallVector<Value> outs;
};

} // namespace

LogicalResult GPUKernelEmitter::emit() {
  stats = op.computesStatistics();
  centered = op.isCentered();
  int64_t r1 = l.size[Run::R1], p1 = l.size[Run::P1], r2 = l.size[Run::R2];
  StringRef strategy = schedule.getStrategy();
  // Vector accesses must stay inside one contiguous run and be aligned.
  int64_t columns = p1 * r2;
  bool apply = !stats || strategy != "row";
  if (strategy == "row" || strategy == "segment") {
    int64_t run = strategy == "row" && p1 == 1 ? r1 * r2 : r2;
    if (run % vl != 0 || ((op.getWeight() || op.getBias()) && r2 % vl != 0))
      return op.emitError() << "gpu_schedule vectorWidth " << vl
                            << " does not divide the contiguous runs of "
                               "layout "
                            << l.str();
  }
  if (apply && columns % vl != 0)
    return op.emitError() << "gpu_schedule vectorWidth " << vl
                          << " does not divide the " << columns
                          << " contiguous columns of layout " << l.str();
  // The row strategy applies in the kernel: parameter vectors must be one
  // load or one broadcast.
  if (strategy == "row" && (op.getWeight() || op.getBias()) && l.r2i % vl != 0)
    return op.emitError() << "gpu_schedule vectorWidth " << vl
                          << " does not divide the parameter runs of layout "
                          << l.str();
  if (strategy == "row" && r1 != 1 && p1 != 1)
    return op.emitError() << "gpu_schedule strategy \"row\" needs contiguous "
                             "rows (R1 = 1 or P1 = 1), but the layout is "
                          << l.str();

  x = flatten(op.getInput());
  xInputs.push_back(x);
  for (Value in : op.getExtraInputs())
    xInputs.push_back(flatten(in));
  w = flatten(op.getWeight());
  bias = flatten(op.getBias());
  inMean = flatten(op.getMean());
  inRstd = flatten(op.getRstd());
  for (Value o : op.getOuts())
    outs.push_back(flatten(o));
  y = outs[0];

  if (!stats) {
    emitApply();
    return success();
  }
  if (strategy == "row")
    return emitRow();

  // Two stages: partial moments into device scratch, a combine per
  // statistic, then the apply.
  int64_t numPartials;
  if (strategy == "segment")
    numPartials = r1 * std::max<int64_t>(ceilDiv(r2, segmentChunkLen()), 1);
  else
    numPartials = ceilDiv(r1, columnRowsPerChunk()) * r2;
  int64_t numStats = l.numStats();
  auto scratchType = MemRefType::get(
      {std::max<int64_t>(numStats * numPartials * 3, 1)}, f32Type);
  Value partials =
      gpu::AllocOp::create(b, loc, scratchType, Type(), ValueRange{},
                           ValueRange{}, ValueRange{}, false)
          .getMemref();
  LogicalResult result = strategy == "segment"
                             ? emitSegmentPartials(partials, numPartials)
                             : emitColumnPartials(partials, numPartials);
  if (failed(result))
    return failure();
  // The apply reads private copies of the statistics: the outs may share
  // one buffer (unused statistics bufferize to one allocation).
  auto statType = MemRefType::get({std::max<int64_t>(numStats, 1)}, f32Type);
  auto deviceAlloc = [&] {
    return gpu::AllocOp::create(b, loc, statType, Type(), ValueRange{},
                                ValueRange{}, ValueRange{}, false)
        .getMemref();
  };
  statMean = centered ? deviceAlloc() : Value();
  statRstd = deviceAlloc();
  emitCombine(partials, numPartials);
  emitApply();
  for (Value mem : {partials, statMean, statRstd})
    if (mem)
      gpu::DeallocOp::create(b, loc, Type(), ValueRange{}, mem);
  return success();
}

/// A team of `threads` threads per row holds the row in registers: one read
/// of memory, two reductions over registers, one write.
LogicalResult GPUKernelEmitter::emitRow() {
  int64_t r1 = l.size[Run::R1], p1 = l.size[Run::P1], r2 = l.size[Run::R2];
  int64_t n = r1 * r2;
  int64_t rows = l.numStats();
  int64_t team = schedule.getThreads(), teams = schedule.getRows();
  int64_t perThread = ceilDiv(n, team * vl);
  if (perThread * vl > kMaxRowElementsPerThread)
    return op.emitError() << "gpu_schedule strategy \"row\" with " << team
                          << " threads per row would keep " << perThread * vl
                          << " elements per thread in "
                          << "registers (at most " << kMaxRowElementsPerThread
                          << "); use more threads or the \"segment\" strategy";
  int64_t warpsPerTeam = std::max<int64_t>(team / kWarpSize, 1);
  SmallVector<int64_t> shared;
  if (team > kWarpSize)
    shared.assign(centered ? 2 : 1, teams * warpsPerTeam);
  launch(
      ceilDiv(rows, teams), team * teams, shared,
      [&](Value bid, Value tid, ArrayRef<BlockArgument> sh) {
        Value lane = irem(tid, team);
        Value teamIdx = idiv(tid, team);
        Value row = iadd(imul(bid, teams), teamIdx);
        // Rows past the end (last block) compute on row 0 and store
        // nothing: every thread must reach the barriers and shuffles.
        Value valid = rows % teams ? ult(row, rows) : Value();
        Value g = valid ? select(valid, row, cI(0)) : row;
        Value base = imul(g, n);
        // The row's coordinates: (p0, p1) when R1 = 1, else p0 alone.
        Value p0 = r1 == 1 ? idiv(g, p1) : g;
        Value p1c = r1 == 1 ? irem(g, p1) : Value();
        Value rowParamOff = (w || bias) ? iadd(runParamOffset(Run::P0, p0),
                                               runParamOffset(Run::P1, p1c))
                                        : Value();
        Value slot = team > kWarpSize ? imul(teamIdx, warpsPerTeam) : Value();

        SmallVector<Value> vals, offs, inBounds;
        for (int64_t k = 0; k < perThread; ++k) {
          Value e = imul(iadd(lane, k * team), vl);
          offs.push_back(e);
          // Static when the whole step is inside the row.
          bool full = (k + 1) * team * vl <= n;
          Value in = full ? Value() : ult(e, n);
          inBounds.push_back(in);
          Value at = iadd(base, e);
          vals.push_back(in ? ifElse(
                                  in, vf, [&] { return loadVec(x, at); },
                                  [&] { return zeroV(); })
                            : loadVec(x, at));
        }
        Value nF = cF(double(n));
        Value mean, var;
        if (centered) {
          // Deviations from the row's first element K keep the sum small
          // for data far from 0 (a constant row gives exactly K); every
          // thread reads the same K.
          Value shift = cF(0.0);
          if (n > 0) {
            Value k0 = vector::ExtractOp::create(b, loc, loadVec(x, base),
                                                 ArrayRef<int64_t>{0});
            shift = select(isFinite(k0), k0, cF(0.0));
          }
          Value shiftV = splat(shift);
          Value sum = cF(0.0);
          for (auto [v, in] : llvm::zip(vals, inBounds)) {
            Value s = hsum(fsub(v, shiftV));
            sum = fadd(sum, in ? select(in, s, cF(0.0)) : s);
          }
          sum = teamSum(sum, team, lane,
                        team > kWarpSize ? Value(sh[0]) : Value(), slot);
          mean = fadd(shift, fdiv(sum, nF));
          // An empty row has NaN statistics (0 / 0), as torch's.
          if (n == 0)
            mean = fdiv(cF(0.0), nF);
          Value meanV = splat(mean);
          Value sq = cF(0.0);
          for (auto [v, in] : llvm::zip(vals, inBounds)) {
            Value d = fsub(v, meanV);
            Value s = hsum(fmul(d, d));
            sq = fadd(sq, in ? select(in, s, cF(0.0)) : s);
          }
          var = fdiv(teamSum(sq, team, lane,
                             team > kWarpSize ? Value(sh[1]) : Value(), slot),
                     nF);
        } else {
          Value sq = cF(0.0);
          for (Value v : vals)
            sq = fadd(sq, hsum(fmul(v, v)));
          var = fdiv(teamSum(sq, team, lane,
                             team > kWarpSize ? Value(sh[0]) : Value(), slot),
                     nF);
        }
        Value rstd = rstdOf(var);
        Value leader = ieq(lane, 0);
        ifThen(valid ? arith::AndIOp::create(b, loc, leader, valid) : leader,
               [&] { storeStats(g, mean, var); });

        Value meanV = centered ? splat(mean) : Value();
        Value rstdV = splat(rstd);
        auto applyOne = [&](Value v, Value e) {
          Value d = meanV ? fsub(v, meanV) : v;
          Value off;
          if (w || bias) {
            Value r1c = r1 == 1 ? Value() : idiv(e, r2);
            Value r2c = r1 == 1 ? e : irem(e, r2);
            off = iadd(iadd(rowParamOff, runParamOffset(Run::R1, r1c)),
                       runParamOffset(Run::R2, r2c));
          }
          auto [wv, bv] = paramVectors(off);
          Value scale = wv ? fmul(rstdV, wv) : rstdV;
          Value r = bv ? fma(d, scale, bv) : fmul(d, scale);
          storeVec(r, y, iadd(base, e));
        };
        for (int64_t k = 0; k < perThread; ++k) {
          Value cond = inBounds[k];
          if (valid)
            cond = cond ? arith::AndIOp::create(b, loc, cond, valid).getResult()
                        : valid;
          if (cond)
            ifThen(cond, [&] { applyOne(vals[k], offs[k]); });
          else
            applyOne(vals[k], offs[k]);
        }
      });
  return success();
}

/// Per block: one chunk of one contiguous R2 segment reduced to partial
/// moments, stored at partial index r1 * chunks + chunk of its statistic.
LogicalResult GPUKernelEmitter::emitSegmentPartials(Value partials,
                                                    int64_t numPartials) {
  int64_t r1 = l.size[Run::R1], p1 = l.size[Run::P1], r2 = l.size[Run::R2];
  int64_t threads = schedule.getThreads();
  int64_t chunkLen = segmentChunkLen();
  int64_t chunks = std::max<int64_t>(ceilDiv(r2, chunkLen), 1);
  int64_t lastLen = r2 - (chunks - 1) * chunkLen;
  int64_t warps = ceilDiv(threads, kWarpSize);
  launch(l.numSegments() * chunks, threads, {warps, warps, warps},
         [&](Value bid, Value tid, ArrayRef<BlockArgument> sh) {
           Value seg = idiv(bid, chunks);
           Value chunk = irem(bid, chunks);
           Value len = chunks == 1 ? cI(r2)
                                   : select(ieq(chunk, chunks - 1), cI(lastLen),
                                            cI(chunkLen));
           Value start = iadd(imul(seg, r2), imul(chunk, chunkLen));
           Value first = imul(tid, vl);
           // Each thread sums deviations from its first element (0 without
           // centering), which keeps the sums small for data far from 0.
           Value shift = cF(0.0);
           if (centered) {
             shift = ifElse(
                 ult(first, len), f32Type,
                 [&] {
                   Value v = vector::ExtractOp::create(
                       b, loc, loadVec(x, iadd(start, first)),
                       ArrayRef<int64_t>{0});
                   return select(isFinite(v), v, cF(0.0));
                 },
                 [&] { return cF(0.0); });
           }
           Value shiftV = splat(shift);
           SmallVector<Value> acc =
               forLoop(first, len, threads * vl, {zeroV(), zeroV(), cF(0.0)},
                       [&](Value j, ValueRange a) -> SmallVector<Value> {
                         Value v = loadVec(x, iadd(start, j));
                         Value d = centered ? fsub(v, shiftV) : v;
                         return {fadd(a[0], d), fma(d, d, a[1]),
                                 fadd(a[2], cF(double(vl)))};
                       });
           Moments m =
               fromShiftedSums(acc[2], shift, hsum(acc[0]), hsum(acc[1]));
           m = warpMerge(m);
           Value warp = idiv(tid, kWarpSize);
           if (warps > 1) {
             ifThen(ieq(irem(tid, kWarpSize), 0), [&] {
               storeScalar(m.n, sh[0], warp);
               storeScalar(m.mean, sh[1], warp);
               storeScalar(m.m2, sh[2], warp);
             });
             barrier();
           }
           ifThen(ieq(tid, 0), [&] {
             Moments total = m;
             for (int64_t i = 1; i < warps; ++i) {
               Value s = cI(i);
               total = merge(total, {loadScalar(sh[0], s), loadScalar(sh[1], s),
                                     loadScalar(sh[2], s)});
             }
             // Segment s = (p0, r1, p1): statistic (p0, p1), partial r1, chunk.
             Value p0 = idiv(seg, r1 * p1);
             Value r1c = irem(idiv(seg, p1), r1);
             Value p1c = irem(seg, p1);
             Value g = iadd(imul(p0, p1), p1c);
             Value at = imul(
                 iadd(imul(g, numPartials), iadd(imul(r1c, chunks), chunk)), 3);
             storeScalar(total.n, partials, at);
             storeScalar(total.mean, partials, iadd(at, 1));
             storeScalar(total.m2, partials, iadd(at, 2));
           });
         });
  return success();
}

/// Per block: `vl` adjacent columns per thread over one chunk of R1 rows,
/// merged across the block's rows of threads into per-column partials,
/// stored at partial index chunk * R2 + r2 of the column's statistic.
LogicalResult GPUKernelEmitter::emitColumnPartials(Value partials,
                                                   int64_t numPartials) {
  int64_t p0 = l.size[Run::P0], r1 = l.size[Run::R1], p1 = l.size[Run::P1],
          r2 = l.size[Run::R2];
  int64_t columns = p1 * r2;
  int64_t threads = schedule.getThreads();
  int64_t tx = std::min<int64_t>(
      threads, llvm::PowerOf2Ceil(std::max<int64_t>(columns / vl, 1)));
  int64_t ty = threads / tx;
  int64_t colTiles = ceilDiv(columns / vl, tx);
  int64_t rowsPerChunk = columnRowsPerChunk();
  int64_t chunks = ceilDiv(r1, rowsPerChunk);
  if (3 * threads * vl * 4 > kMaxSharedBytes)
    return op.emitError() << "gpu_schedule strategy \"column\" with " << threads
                          << " threads of " << vl
                          << " lanes needs more than 48 KiB of workgroup "
                             "memory; use fewer threads or lanes";
  int64_t slots = threads * vl;
  launch(p0 * chunks * colTiles, threads, {slots, slots, slots},
         [&](Value bid, Value tid, ArrayRef<BlockArgument> sh) {
           Value tile = irem(bid, colTiles);
           Value chunk = irem(idiv(bid, colTiles), chunks);
           Value p0c = idiv(bid, colTiles * chunks);
           Value txc = irem(tid, tx), tyc = idiv(tid, tx);
           Value q = imul(iadd(imul(tile, tx), txc), vl);
           Value colOk = ult(q, columns);
           Value rowBegin = imul(chunk, rowsPerChunk);
           Value rowEnd = imin(iadd(rowBegin, rowsPerChunk), cI(r1));
           Value first = iadd(rowBegin, tyc);
           Value rowBase = imul(p0c, r1);
           auto at = [&](Value row) {
             return iadd(imul(iadd(rowBase, row), columns), q);
           };
           // Per-lane shift: each column's first element of this thread.
           Value shiftV = zeroV();
           if (centered) {
             Value ok =
                 arith::AndIOp::create(b, loc, colOk, ult(first, rowEnd));
             shiftV = ifElse(
                 ok, vf,
                 [&] {
                   Value v = loadVec(x, at(first));
                   Value fin = arith::CmpFOp::create(
                       b, loc, arith::CmpFPredicate::OLT,
                       math::AbsFOp::create(b, loc, v),
                       splat(cF(std::numeric_limits<float>::infinity())));
                   return select(fin, v, zeroV());
                 },
                 [&] { return zeroV(); });
           }
           Value ub = select(colOk, rowEnd, first);
           SmallVector<Value> acc = forLoop(
               first, ub, ty, {zeroV(), zeroV(), cF(0.0)},
               [&](Value row, ValueRange a) -> SmallVector<Value> {
                 Value v = loadVec(x, at(row));
                 Value d = centered ? fsub(v, shiftV) : v;
                 return {fadd(a[0], d), fma(d, d, a[1]), fadd(a[2], cF(1.0))};
               });
           Moments m = fromShiftedSums(splat(acc[2]), shiftV, acc[0], acc[1]);
           Value slot = imul(tid, vl);
           vector::StoreOp::create(b, loc, m.n, sh[0], ValueRange{slot});
           vector::StoreOp::create(b, loc, m.mean, sh[1], ValueRange{slot});
           vector::StoreOp::create(b, loc, m.m2, sh[2], ValueRange{slot});
           barrier();
           // The first row of threads merges the rows in a fixed order.
           ifThen(arith::AndIOp::create(b, loc, ieq(tyc, 0), colOk), [&] {
             SmallVector<Value> merged =
                 forLoop(cI(1), cI(ty), 1, {m.n, m.mean, m.m2},
                         [&](Value i, ValueRange a) -> SmallVector<Value> {
                           Value s = iadd(slot, imul(i, tx * vl));
                           auto ld = [&](Value mem) {
                             return vector::LoadOp::create(b, loc, vf, mem,
                                                           ValueRange{s})
                                 .getResult();
                           };
                           Moments t = merge({a[0], a[1], a[2]},
                                             {ld(sh[0]), ld(sh[1]), ld(sh[2])});
                           return {t.n, t.mean, t.m2};
                         });
             Moments total{merged[0], merged[1], merged[2]};
             for (int64_t lane = 0; lane < vl; ++lane) {
               Value col = iadd(q, lane);
               Value g = iadd(imul(p0c, p1), idiv(col, r2));
               Value idx = iadd(imul(chunk, r2), irem(col, r2));
               Value base = imul(iadd(imul(g, numPartials), idx), 3);
               auto lanev = [&](Value v) {
                 return vector::ExtractOp::create(b, loc, v,
                                                  ArrayRef<int64_t>{lane})
                     .getResult();
               };
               storeScalar(lanev(total.n), partials, base);
               storeScalar(lanev(total.mean), partials, iadd(base, 1));
               storeScalar(lanev(total.m2), partials, iadd(base, 2));
             }
           });
         });
  return success();
}

/// One warp per statistic merges its partials: each lane a strided subset
/// in order, then a butterfly; lane 0 stores the statistics.
void GPUKernelEmitter::emitCombine(Value partials, int64_t numPartials) {
  int64_t numStats = l.numStats();
  int64_t n = l.size[Run::R1] * l.size[Run::R2];
  int64_t warpsPerBlock = kBlockThreads / kWarpSize;
  launch(ceilDiv(numStats, warpsPerBlock), kBlockThreads, {},
         [&](Value bid, Value tid, ArrayRef<BlockArgument>) {
           Value g = iadd(imul(bid, warpsPerBlock), idiv(tid, kWarpSize));
           Value lane = irem(tid, kWarpSize);
           // Whole warps take or skip the branch, so the shuffles inside
           // see all their lanes.
           ifThen(ult(g, numStats), [&] {
             Value zero = cF(0.0);
             SmallVector<Value> acc =
                 forLoop(lane, cI(numPartials), kWarpSize, {zero, zero, zero},
                         [&](Value i, ValueRange a) -> SmallVector<Value> {
                           Value at = imul(iadd(imul(g, numPartials), i), 3);
                           Moments m =
                               merge({a[0], a[1], a[2]},
                                     {loadScalar(partials, at),
                                      loadScalar(partials, iadd(at, 1)),
                                      loadScalar(partials, iadd(at, 2))});
                           return {m.n, m.mean, m.m2};
                         });
             Moments m = warpMerge({acc[0], acc[1], acc[2]});
             ifThen(ieq(lane, 0), [&] {
               // An empty reduction has NaN statistics, as 0 / 0.
               Value nF = cF(double(n));
               Value mean = n == 0 ? fdiv(zero, nF) : m.mean;
               storeStats(g, mean, fdiv(m.m2, nF));
             });
           });
         });
}

/// y = (x - mean) * (rstd * w) + b: each thread owns `vl` adjacent columns
/// of one p0, computes their scale and shift once, and walks rows of R1.
void GPUKernelEmitter::emitApply() {
  int64_t p0 = l.size[Run::P0], r1 = l.size[Run::R1], p1 = l.size[Run::P1],
          r2 = l.size[Run::R2];
  int64_t columns = p1 * r2;
  int64_t tx = std::min<int64_t>(
      kBlockThreads, llvm::PowerOf2Ceil(std::max<int64_t>(columns / vl, 1)));
  int64_t ty = kBlockThreads / tx;
  int64_t colTiles = ceilDiv(columns / vl, tx);
  int64_t rowsPerChunk = ty * kApplyRowsPerThread;
  int64_t rowChunks = ceilDiv(r1, rowsPerChunk);
  Value meanBuf = stats ? statMean : inMean;
  Value rstdBuf = stats ? statRstd : inRstd;
  // Whether the `vl` lanes of an access share a statistic and parameters
  // that load as one vector (or one scalar), or need one load per lane.
  bool uniformStat = r2 % vl == 0;
  bool vectorParams = uniformStat && (paramsContiguous() || paramsUniform());
  // Channels-last (R2 = 1): the lanes are consecutive channels, whose
  // statistics (and parameters, when they run along one P1 dimension) are
  // consecutive too: one vector load each.
  bool channelLanes = r2 == 1 && vl > 1;
  bool channelParams = channelLanes && l.dims[Run::P1].size() == 1 &&
                       l.paramStride[l.dims[Run::P1][0]] == 1;
  launch(
      p0 * rowChunks * colTiles, kBlockThreads, {},
      [&](Value bid, Value tid, ArrayRef<BlockArgument>) {
        Value tile = irem(bid, colTiles);
        Value chunk = irem(idiv(bid, colTiles), rowChunks);
        Value p0c = idiv(bid, colTiles * rowChunks);
        Value txc = irem(tid, tx), tyc = idiv(tid, tx);
        Value q = imul(iadd(imul(tile, tx), txc), vl);
        ifThen(ult(q, columns), [&] {
          // Per-lane (or uniform) statistics.
          Value meanV, rstdV;
          SmallVector<Value> laneP1, laneR2;
          for (int64_t lane = 0; lane < (uniformStat ? 1 : vl); ++lane) {
            Value col = iadd(q, lane);
            laneP1.push_back(idiv(col, r2));
            laneR2.push_back(irem(col, r2));
          }
          auto statVec = [&](Value buf) -> Value {
            if (!buf)
              return {};
            if (channelLanes)
              return loadVec(buf, iadd(imul(p0c, p1), q));
            SmallVector<Value> lanes;
            for (Value pc : laneP1)
              lanes.push_back(loadScalar(buf, iadd(imul(p0c, p1), pc)));
            if (uniformStat)
              return splat(lanes[0]);
            return vector::FromElementsOp::create(b, loc, vf, lanes);
          };
          meanV = statVec(meanBuf);
          rstdV = statVec(rstdBuf);
          Value p0Off = runParamOffset(Run::P0, p0c);
          // The weight and bias vectors at row `row` (null: none).
          auto params = [&](Value row) -> std::pair<Value, Value> {
            if (!w && !bias)
              return {};
            Value r1Off = row ? runParamOffset(Run::R1, row) : Value();
            if (channelParams) {
              Value off = iadd(iadd(p0Off, r1Off), q);
              return {w ? loadVec(w, off) : Value(),
                      bias ? loadVec(bias, off) : Value()};
            }
            if (vectorParams)
              return paramVectors(
                  iadd(iadd(p0Off, r1Off),
                       iadd(runParamOffset(Run::P1, laneP1[0]),
                            runParamOffset(Run::R2, laneR2[0]))));
            SmallVector<Value> wl, bl;
            for (int64_t lane = 0; lane < vl; ++lane) {
              Value col = iadd(q, lane);
              Value off = iadd(iadd(p0Off, r1Off),
                               iadd(runParamOffset(Run::P1, idiv(col, r2)),
                                    runParamOffset(Run::R2, irem(col, r2))));
              off = off ? off : cI(0);
              if (w)
                wl.push_back(loadScalar(w, off));
              if (bias)
                bl.push_back(loadScalar(bias, off));
            }
            return {
                w ? vector::FromElementsOp::create(b, loc, vf, wl).getResult()
                  : Value(),
                bias
                    ? vector::FromElementsOp::create(b, loc, vf, bl).getResult()
                    : Value()};
          };
          auto scaleShift = [&](Value row) -> std::pair<Value, Value> {
            auto [wv, bv] = params(row);
            return {wv ? fmul(rstdV, wv) : rstdV, bv};
          };
          std::pair<Value, Value> fixed;
          if (!l.paramsAlongR1)
            fixed = scaleShift(Value());
          Value rowBegin = iadd(imul(chunk, rowsPerChunk), tyc);
          Value rowEnd =
              imin(iadd(imul(chunk, rowsPerChunk), rowsPerChunk), cI(r1));
          forLoop(
              rowBegin, rowEnd, ty, {},
              [&](Value row, ValueRange) -> SmallVector<Value> {
                auto [scale, shift] = l.paramsAlongR1 ? scaleShift(row) : fixed;
                Value e = iadd(imul(iadd(imul(p0c, r1), row), columns), q);
                Value v = loadVec(x, e);
                Value d = meanV ? fsub(v, meanV) : v;
                storeVec(shift ? fma(d, scale, shift) : fmul(d, scale), y, e);
                return {};
              });
        });
      });
}

//===----------------------------------------------------------------------===//
// Host buffers
//===----------------------------------------------------------------------===//

/// Puts the function's temporary buffers on the device and turns its copies
/// into device copies: after this, the host code only launches.
static LogicalResult moveBuffersToDevice(func::FuncOp func) {
  if (func.isExternal())
    return success();
  if (!func.getBody().hasOneBlock())
    return func.emitError("GPU lowering expects a function with one block "
                          "(straight-line host code)");
  SmallVector<Operation *> toErase;
  SmallVector<Value> deviceAllocs;
  WalkResult result = func.walk([&](Operation *o) -> WalkResult {
    if (o->getParentOfType<gpu::LaunchOp>())
      return WalkResult::advance();
    OpBuilder b(o);
    if (isa<memref::AllocOp, memref::AllocaOp>(o)) {
      auto type = cast<MemRefType>(o->getResult(0).getType());
      if (!type.getLayout().isIdentity() || type.getMemorySpace())
        return o->emitError("cannot place a buffer of type ")
               << type << " on the GPU";
      Value mem =
          gpu::AllocOp::create(b, o->getLoc(), type, Type(), ValueRange{},
                               o->getOperands(), ValueRange{}, false)
              .getMemref();
      o->getResult(0).replaceAllUsesWith(mem);
      deviceAllocs.push_back(mem);
      toErase.push_back(o);
      return WalkResult::advance();
    }
    if (auto dealloc = dyn_cast<memref::DeallocOp>(o)) {
      gpu::DeallocOp::create(b, o->getLoc(), Type(), ValueRange{},
                             dealloc.getMemref());
      llvm::erase(deviceAllocs, dealloc.getMemref());
      toErase.push_back(o);
      return WalkResult::advance();
    }
    if (auto copy = dyn_cast<memref::CopyOp>(o)) {
      auto srcType = cast<MemRefType>(copy.getSource().getType());
      auto dstType = cast<MemRefType>(copy.getTarget().getType());
      if (srcType.getLayout().isIdentity() && dstType.getLayout().isIdentity())
        gpu::MemcpyOp::create(b, o->getLoc(), Type(), ValueRange{},
                              copy.getTarget(), copy.getSource());
      else
        linalg::CopyOp::create(b, o->getLoc(), copy.getSource(),
                               copy.getTarget());
      toErase.push_back(o);
      return WalkResult::advance();
    }
    if (auto global = dyn_cast<memref::GetGlobalOp>(o)) {
      // A constant tensor lives in host memory: the kernels read a device
      // copy (the driver copies from host memory through unified
      // addressing).
      auto type = cast<MemRefType>(global.getType());
      if (!type.getLayout().isIdentity() || type.getMemorySpace())
        return o->emitError("cannot copy a constant of type ")
               << type << " to the GPU";
      b.setInsertionPointAfter(o);
      Value mem =
          gpu::AllocOp::create(b, o->getLoc(), type, Type(), ValueRange{},
                               ValueRange{}, ValueRange{}, false)
              .getMemref();
      global.getResult().replaceAllUsesWith(mem);
      gpu::MemcpyOp::create(b, o->getLoc(), Type(), ValueRange{}, mem,
                            global.getResult());
      deviceAllocs.push_back(mem);
      return WalkResult::advance();
    }
    return WalkResult::advance();
  });
  if (result.wasInterrupted())
    return failure();
  for (Operation *o : toErase)
    o->erase();
  // Scalar host code reads device memory: where it feeds a region (a
  // running-statistics update scaled by 1 / (num_batches_tracked + 1)), it
  // is recomputed inside the region, which becomes a kernel; where it feeds
  // a store (the counter's increment), it runs as a one-thread kernel.
  Block &body = func.getBody().front();
  BackwardSliceOptions options;
  options.omitBlockArguments = true;
  options.filter = [](Operation *o) {
    return o->getNumRegions() == 0 &&
           llvm::none_of(o->getResultTypes(),
                         [](Type t) { return isa<MemRefType>(t); });
  };
  auto scalarSlice = [&](Operation *root,
                         SetVector<Operation *> &slice) -> LogicalResult {
    if (failed(getBackwardSlice(root, &slice, options)))
      return root->emitError("cannot move this host code onto the GPU");
    for (Operation *o : slice)
      if (!isPure(o) && !isa<memref::LoadOp>(o))
        return o->emitError("cannot move this host operation onto the GPU");
    return success();
  };
  for (Operation &o : body) {
    if (o.getNumRegions() == 0 || isa<gpu::LaunchOp>(o))
      continue;
    SetVector<Value> captured;
    getUsedValuesDefinedAbove(o.getRegions(), captured);
    for (Value v : captured) {
      Operation *def = v.getDefiningOp();
      if (!def || isa<MemRefType>(v.getType()))
        continue;
      SetVector<Operation *> slice;
      if (failed(scalarSlice(def, slice)))
        return failure();
      slice.insert(def);
      if (llvm::none_of(slice, llvm::IsaPred<memref::LoadOp>))
        continue;
      for (Region &r : o.getRegions()) {
        OpBuilder rb = OpBuilder::atBlockBegin(&r.front());
        IRMapping map;
        for (Operation *s : slice)
          rb.clone(*s, map);
        replaceAllUsesInRegionWith(v, map.lookup(v), r);
      }
    }
  }
  SmallVector<memref::StoreOp> stores;
  for (auto store : body.getOps<memref::StoreOp>())
    stores.push_back(store);
  for (memref::StoreOp store : stores) {
    SetVector<Operation *> slice;
    if (failed(scalarSlice(store.getOperation(), slice)))
      return failure();
    OpBuilder b(store);
    Value one = arith::ConstantIndexOp::create(b, store.getLoc(), 1);
    auto launchOp =
        gpu::LaunchOp::create(b, store.getLoc(), one, one, one, one, one, one);
    b.setInsertionPointToStart(&launchOp.getBody().front());
    IRMapping map;
    for (Operation *o : slice)
      b.clone(*o, map);
    b.clone(*store, map);
    gpu::TerminatorOp::create(b, store.getLoc());
    store.erase();
  }
  // What is left of the host's scalar code is dead, or reads device memory
  // on the host: an error rather than a crash at run time.
  for (Operation &o : llvm::make_early_inc_range(llvm::reverse(body))) {
    if (o.hasTrait<OpTrait::IsTerminator>() ||
        (!isa<memref::LoadOp>(o) && !(isPure(&o) && o.getNumRegions() == 0)))
      continue;
    if (o.use_empty()) {
      o.erase();
      continue;
    }
    if (isa<memref::LoadOp>(o))
      return o.emitError("the GPU lowering cannot keep this load on the "
                         "host (it reads device memory)");
  }
  // Temporaries die at the return (no buffer is returned after
  // buffer-results-to-out-params).
  Operation *ret = func.getBody().front().getTerminator();
  OpBuilder b(ret);
  for (Value mem : deviceAllocs) {
    if (llvm::is_contained(ret->getOperands(), mem))
      return ret->emitError("GPU lowering expects buffers returned through "
                            "out-parameters (run "
                            "buffer-results-to-out-params first)");
    gpu::DeallocOp::create(b, ret->getLoc(), Type(), ValueRange{}, mem);
  }
  return success();
}

namespace {
struct ConvertNormToGPUPass
    : public normlir::impl::ConvertNormToGPUBase<ConvertNormToGPUPass> {
  void runOnOperation() override {
    SmallVector<KernelOp> kernels;
    getOperation()->walk([&](KernelOp k) { kernels.push_back(k); });
    for (KernelOp k : kernels)
      if (failed(lower(k)))
        return signalPassFailure();
    for (auto func : getOperation().getOps<func::FuncOp>())
      if (failed(moveBuffersToDevice(func)))
        return signalPassFailure();
    getOperation()->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                            UnitAttr::get(&getContext()));
  }

  LogicalResult lower(KernelOp k) {
    for (Value v : k.getOperands()) {
      auto type = dyn_cast<MemRefType>(v.getType());
      if (!type)
        return k.emitError("expects a bufferized kernel (memref operands)");
      if (!type.getLayout().isIdentity())
        return k.emitError()
               << "expects row-major contiguous buffers, got " << type;
    }
    auto schedule = dyn_cast_or_null<GPUScheduleAttr>(k.getScheduleAttr());
    if (!schedule)
      return k.emitError("has no GPU schedule; run norm-tile{target=cuda} "
                         "first");
    auto inType = cast<MemRefType>(k.getInput().getType());
    std::string why;
    std::optional<KernelLayout> layout = analyzeKernelLayout(
        inType.getShape(), k.getAxes(), k.getParamAxes(), &why);
    if (!layout)
      return k.emitError() << "cannot map to the GPU: " << why;
    OpBuilder b(k);
    GPUKernelEmitter emitter(b, k, *layout, schedule);
    if (failed(emitter.emit()))
      return failure();
    k.erase();
    return success();
  }
};
} // namespace
