//===- Combine.cpp - combine and apply kernels of convert-norm-to-gpu -----===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// The launches the "segment" and "column" strategies share after their
// partial moments: a combine kernel (one warp per statistic, each lane
// merging a strided subset of the partials in order, then a butterfly:
// lane 0's result is deterministic, so the statistics do not depend on
// scheduling), and an apply kernel in which each thread owns `vl` adjacent
// columns, computes their scale and shift once and walks rows. The apply
// also lowers every apply-only kernel, whatever its strategy.
//
//===----------------------------------------------------------------------===//

#include "GPUEmitter.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace normlir;
using namespace normlir::norm;
using namespace normlir::normtogpu;

using Run = KernelLayout::Run;

void GPUEmitter::emitTwoStage(const Extent &numPartials,
                              function_ref<void(Value partials)> emitPartials) {
  // f64 partials: a mean far from 0 (1e4 + U(0, 1)) merged in f32 would be
  // rounded at every merge, a few ulp in all, and y = (x - mean) * rstd
  // magnifies that error by rstd.
  Extent numStats = numStatsLen();
  Value partials =
      deviceAlloc(emul(emul(numStats, numPartials), 3), b.getF64Type());
  emitPartials(partials);
  statMean = centered ? deviceAlloc(numStats) : Value();
  statRstd = deviceAlloc(numStats);
  emitCombine(partials, numPartials);
  emitApply();
  for (Value mem : {partials, statMean, statRstd})
    if (mem)
      gpu::DeallocOp::create(b, loc, Type(), ValueRange{}, mem);
}

//===----------------------------------------------------------------------===//
// Combine
//===----------------------------------------------------------------------===//

void GPUEmitter::emitCombine(Value partials, const Extent &numPartials) {
  Extent numStats = numStatsLen();
  int64_t warpsPerBlock = kBlockThreads / kWarpSize;
  launch(idx(ceilDivE(numStats, warpsPerBlock)), kBlockThreads, {},
         [&](Value bid, Value tid, ArrayRef<BlockArgument>) {
           Value g = iadd(imul(bid, warpsPerBlock), idiv(tid, kWarpSize));
           Value lane = irem(tid, kWarpSize);
           // Whole warps take or skip the branch, so the shuffles inside
           // see all their lanes.
           ifThen(ult(g, numStats),
                  [&] { combineStatistic(g, lane, partials, numPartials); });
         });
}

void GPUEmitter::combineStatistic(Value g, Value lane, Value partials,
                                  const Extent &numPartials) {
  Extent n = emul(r1Len, r2Len);
  Value zero = arith::ConstantOp::create(b, loc, b.getF64FloatAttr(0.0));
  SmallVector<Value> acc =
      forLoop(lane, idx(numPartials), kWarpSize, {zero, zero, zero},
              [&](Value i, ValueRange a) -> SmallVector<Value> {
                Value at = imul(iadd(imul(g, numPartials), i), 3);
                auto load = [&](Value idx) -> Value {
                  return memref::LoadOp::create(b, loc, partials,
                                                ValueRange{idx});
                };
                Moments m = statistics.merge(
                    {a[0], a[1], a[2]},
                    {load(at), load(iadd(at, 1)), load(iadd(at, 2))});
                return {m.n, m.mean, m.m2};
              });
  Moments m = statistics.butterflyMerge({acc[0], acc[1], acc[2]});
  ifThen(ieq(lane, 0), [&] { storeStats(g, statistics.finalize(m, n)); });
}

//===----------------------------------------------------------------------===//
// Apply
//===----------------------------------------------------------------------===//

GPUEmitter::ApplyPlan GPUEmitter::planApply() {
  ApplyPlan plan;
  plan.columns = emul(p1Len, r2Len);
  if (plan.columns.isStatic()) {
    int64_t vectors = plan.columns.fixed / vl;
    int64_t tx = std::min<int64_t>(
        kBlockThreads, llvm::PowerOf2Ceil(std::max<int64_t>(vectors, 1)));
    plan.tx = tx;
    plan.ty = kBlockThreads / tx;
    plan.colTiles = ceilDiv(vectors, tx);
  } else {
    // Dynamic columns take scalar accesses (the pattern checks vl = 1):
    // up to a block of threads along them, the rest along the rows.
    Extent tx = minE(maxE(plan.columns, 1), kBlockThreads);
    plan.tx = tx;
    plan.ty = Extent(idiv(cI(kBlockThreads), tx));
    plan.colTiles = ceilDivE(plan.columns, tx);
  }
  plan.rowsPerChunk = emul(plan.ty, kApplyRowsPerThread);
  plan.rowChunks = ceilDivE(r1Len, plan.rowsPerChunk);
  plan.meanBuf = stats ? statMean : inMean;
  plan.rstdBuf = stats ? statRstd : inRstd;
  plan.uniformStat = r2Len.isStatic() ? r2Len.fixed % vl == 0 : vl == 1;
  plan.vectorParams =
      plan.uniformStat && (paramsContiguous() || paramsUniform());
  plan.channelLanes = r2Len.isStatic() && r2Len.fixed == 1 && vl > 1;
  plan.channelParams = plan.channelLanes && l.dims[Run::P1].size() == 1 &&
                       l.paramStride[l.dims[Run::P1][0]] == 1;
  return plan;
}

void GPUEmitter::emitApply() {
  ApplyPlan plan = planApply();
  Extent grid = emul(emul(p0Len, plan.rowChunks), plan.colTiles);
  Extent tilesChunks = emul(plan.colTiles, plan.rowChunks);
  launch(idx(grid), kBlockThreads, {},
         [&](Value bid, Value tid, ArrayRef<BlockArgument>) {
           Value tile = irem(bid, plan.colTiles);
           Value chunk = irem(idiv(bid, plan.colTiles), plan.rowChunks);
           Value p0c = idiv(bid, tilesChunks);
           Value txc = irem(tid, plan.tx), tyc = idiv(tid, plan.tx);
           Value q = imul(iadd(imul(tile, plan.tx), txc), vl);
           Value inside = ult(q, plan.columns);
           // A dynamic tx leaves the block's last threads past ty rows.
           if (!plan.ty.isStatic())
             inside = arith::AndIOp::create(b, loc, inside, ult(tyc, plan.ty));
           ifThen(inside, [&] { applyColumns(plan, p0c, chunk, tyc, q); });
         });
}

void GPUEmitter::applyColumns(const ApplyPlan &plan, Value p0c, Value chunk,
                              Value tyc, Value q) {
  // Per-lane (or uniform) statistics.
  SmallVector<Value> laneP1, laneR2;
  for (int64_t lane = 0; lane < (plan.uniformStat ? 1 : vl); ++lane) {
    Value col = iadd(q, lane);
    laneP1.push_back(idiv(col, r2Len));
    laneR2.push_back(irem(col, r2Len));
  }
  Value meanV = applyStatVector(plan, plan.meanBuf, p0c, q, laneP1);
  Value rstdV = applyStatVector(plan, plan.rstdBuf, p0c, q, laneP1);
  Value p0Off = runParamOffset(Run::P0, p0c);
  // rstd * w and b at row `row`.
  auto scaleShift = [&](Value row) -> std::pair<Value, Value> {
    auto [wv, bv] = applyParams(plan, p0Off, row, q, laneP1, laneR2);
    return {wv ? fmul(rstdV, wv) : rstdV, bv};
  };
  std::pair<Value, Value> fixed;
  if (!l.paramsAlongR1)
    fixed = scaleShift(Value());
  Value rowBegin = iadd(imul(chunk, plan.rowsPerChunk), tyc);
  Value rowEnd = imin(
      iadd(imul(chunk, plan.rowsPerChunk), idx(plan.rowsPerChunk)), idx(r1Len));
  auto at = [&](Value row) {
    return iadd(imul(iadd(imul(p0c, r1Len), row), plan.columns), q);
  };
  unrolledRows(
      rowBegin, rowEnd, plan.ty, kRowUnroll, {},
      [&](Value row) { return loadVec(x, at(row)); },
      [&](Value row, Value v, ValueRange) -> SmallVector<Value> {
        auto [scale, shift] = l.paramsAlongR1 ? scaleShift(row) : fixed;
        Value d = meanV ? fsub(v, meanV) : v;
        storeVec(shift ? fma(d, scale, shift) : fmul(d, scale), y, at(row));
        return {};
      });
}

Value GPUEmitter::applyStatVector(const ApplyPlan &plan, Value buf, Value p0c,
                                  Value q, ArrayRef<Value> laneP1) {
  if (!buf)
    return {};
  if (plan.channelLanes)
    return loadVec(buf, iadd(imul(p0c, p1Len), q));
  SmallVector<Value> lanes;
  for (Value pc : laneP1)
    lanes.push_back(loadScalar(buf, iadd(imul(p0c, p1Len), pc)));
  if (plan.uniformStat)
    return splat(lanes[0]);
  return vector::FromElementsOp::create(b, loc, vf, lanes);
}

std::pair<Value, Value> GPUEmitter::applyParams(const ApplyPlan &plan,
                                                Value p0Off, Value row, Value q,
                                                ArrayRef<Value> laneP1,
                                                ArrayRef<Value> laneR2) {
  if (!w && !bias)
    return {};
  Value r1Off = row ? runParamOffset(Run::R1, row) : Value();
  if (plan.channelParams) {
    Value off = iadd(iadd(p0Off, r1Off), q);
    return {w ? loadVec(w, off) : Value(), bias ? loadVec(bias, off) : Value()};
  }
  if (plan.vectorParams)
    return paramVectors(
        iadd(iadd(p0Off, r1Off), iadd(runParamOffset(Run::P1, laneP1[0]),
                                      r2ParamOffset(laneR2[0]))));
  SmallVector<Value> wl, bl;
  for (int64_t lane = 0; lane < vl; ++lane) {
    Value col = iadd(q, lane);
    Value off =
        iadd(iadd(p0Off, r1Off), iadd(runParamOffset(Run::P1, idiv(col, r2Len)),
                                      r2ParamOffset(irem(col, r2Len))));
    off = off ? off : cI(0);
    if (w)
      wl.push_back(loadScalar(w, off));
    if (bias)
      bl.push_back(loadScalar(bias, off));
  }
  return {w ? vector::FromElementsOp::create(b, loc, vf, wl).getResult()
            : Value(),
          bias ? vector::FromElementsOp::create(b, loc, vf, bl).getResult()
               : Value()};
}
