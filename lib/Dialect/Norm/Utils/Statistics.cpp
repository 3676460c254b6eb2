//===- Statistics.cpp - the statistics core of the kernel emitters --------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// Each builder below creates its ops one at a time, in the order written:
// both lowerings' row kernels are pinned to that IR.
//
//===----------------------------------------------------------------------===//

#include "normlir/Dialect/Norm/Utils/Statistics.h"
#include "normlir/Dialect/Norm/Utils/Utils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "llvm/Support/ErrorHandling.h"

#include <limits>

using namespace mlir;

namespace normlir::norm {

ReductionTarget::~ReductionTarget() = default;

Value ReductionTarget::shuffleXor(OpBuilder &, Location, Value, int64_t) {
  llvm_unreachable("a target without warps has no shuffles");
}

void ReductionTarget::barrier(OpBuilder &, Location) {
  llvm_unreachable("a target without warps has no block barrier");
}

//===----------------------------------------------------------------------===//
// Small builders
//===----------------------------------------------------------------------===//

namespace {
Value fadd(OpBuilder &b, Location loc, Value a, Value c) {
  return arith::AddFOp::create(b, loc, a, c);
}
Value fsub(OpBuilder &b, Location loc, Value a, Value c) {
  return arith::SubFOp::create(b, loc, a, c);
}
Value fmul(OpBuilder &b, Location loc, Value a, Value c) {
  return arith::MulFOp::create(b, loc, a, c);
}
Value fdiv(OpBuilder &b, Location loc, Value a, Value c) {
  return arith::DivFOp::create(b, loc, a, c);
}
Value select(OpBuilder &b, Location loc, Value c, Value t, Value f) {
  return arith::SelectOp::create(b, loc, c, t, f);
}
/// f32 `v` in `type`'s precision (a scalar or vector of a wider float).
Value extendTo(OpBuilder &b, Location loc, Value v, Type type) {
  return v.getType() == type
             ? v
             : arith::ExtFOp::create(b, loc, type, v).getResult();
}
/// `v` rounded to f32 (scalar).
Value toF32(OpBuilder &b, Location loc, Value v) {
  return v.getType().isF32()
             ? v
             : arith::TruncFOp::create(b, loc, b.getF32Type(), v).getResult();
}
} // namespace

Value StatisticsBuilder::constant(double v, Type type) {
  if (auto vt = dyn_cast<VectorType>(type))
    return arith::ConstantOp::create(
        b, loc,
        DenseElementsAttr::get(vt, b.getFloatAttr(vt.getElementType(), v)));
  return arith::ConstantOp::create(b, loc, b.getFloatAttr(type, v));
}

Value StatisticsBuilder::splatLike(double v, Value like) {
  Type type = like.getType();
  auto vt = dyn_cast<VectorType>(type);
  Value s = constant(v, vt ? vt.getElementType() : type);
  return vt ? vector::BroadcastOp::create(b, loc, vt, s).getResult() : s;
}

Value StatisticsBuilder::isFinite(Value v) {
  Value inf = splatLike(std::numeric_limits<double>::infinity(), v);
  return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT,
                               math::AbsFOp::create(b, loc, v), inf);
}

//===----------------------------------------------------------------------===//
// Accumulate
//===----------------------------------------------------------------------===//

Value StatisticsBuilder::butterflySum(Value v, int64_t width) {
  assert(width <= target.warpSize() && "a butterfly within one warp");
  for (int64_t off = width / 2; off >= 1; off /= 2) {
    Value other = target.shuffleXor(b, loc, v, off);
    v = fadd(b, loc, v, other);
  }
  return v;
}

Moments StatisticsBuilder::butterflyMerge(Moments m) {
  for (int64_t off = target.warpSize() / 2; off >= 1; off /= 2) {
    Moments other;
    other.n = target.shuffleXor(b, loc, m.n, off);
    other.mean = target.shuffleXor(b, loc, m.mean, off);
    other.m2 = target.shuffleXor(b, loc, m.m2, off);
    m = merge(m, other);
  }
  return m;
}

namespace {
/// `body` at `b`'s insertion point inside a new scf.if on `cond`.
void ifThen(OpBuilder &b, Location loc, Value cond, function_ref<void()> body) {
  auto ifOp = scf::IfOp::create(b, loc, cond, /*withElseRegion=*/false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(ifOp.thenBlock());
  body();
}
Value cIndex(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}
/// Whether `lane` is the first thread of its warp.
Value firstOfWarp(OpBuilder &b, Location loc, Value lane, int64_t warpSize) {
  Value within = arith::RemUIOp::create(b, loc, lane, cIndex(b, loc, warpSize));
  return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, within,
                               cIndex(b, loc, 0));
}
} // namespace

Value StatisticsBuilder::teamSum(Value v, int64_t team, Value lane,
                                 Value scratch, Value slot0) {
  int64_t warp = target.warpSize();
  v = butterflySum(v, std::min(team, warp));
  if (team <= warp)
    return v;
  Value index = arith::DivUIOp::create(b, loc, lane, cIndex(b, loc, warp));
  ifThen(b, loc, firstOfWarp(b, loc, lane, warp), [&] {
    Value at = arith::AddIOp::create(b, loc, slot0, index);
    memref::StoreOp::create(b, loc, v, scratch, ValueRange{at});
  });
  target.barrier(b, loc);
  Value sum = memref::LoadOp::create(b, loc, scratch, ValueRange{slot0});
  for (int64_t i = 1; i < team / warp; ++i) {
    Value at = arith::AddIOp::create(b, loc, slot0, cIndex(b, loc, i));
    sum = fadd(b, loc, sum,
               memref::LoadOp::create(b, loc, scratch, ValueRange{at}));
  }
  return sum;
}

void StatisticsBuilder::storeMoments(Moments m, ValueRange scratch, Value at) {
  Value parts[] = {m.n, m.mean, m.m2};
  for (auto [v, mem] : llvm::zip(parts, scratch)) {
    if (isa<VectorType>(v.getType()))
      vector::StoreOp::create(b, loc, v, mem, ValueRange{at});
    else
      memref::StoreOp::create(b, loc, v, mem, ValueRange{at});
  }
}

Moments StatisticsBuilder::loadMoments(ValueRange scratch, Value at,
                                       Type type) {
  auto load = [&](Value mem) -> Value {
    if (auto vt = dyn_cast<VectorType>(type))
      return vector::LoadOp::create(b, loc, vt, mem, ValueRange{at});
    return memref::LoadOp::create(b, loc, mem, ValueRange{at});
  };
  return {load(scratch[0]), load(scratch[1]), load(scratch[2])};
}

void StatisticsBuilder::blockMerge(Moments m, int64_t threads, Value tid,
                                   ValueRange scratch,
                                   function_ref<void(Moments)> inFirst) {
  int64_t warp = target.warpSize();
  assert((threads < warp || threads % warp == 0) &&
         "a block of whole warps (#norm.gpu_schedule C2)");
  int64_t warps = std::max<int64_t>(threads / warp, 1);
  m = butterflyMerge(m);
  if (warps > 1) {
    Value index = arith::DivUIOp::create(b, loc, tid, cIndex(b, loc, warp));
    ifThen(b, loc, firstOfWarp(b, loc, tid, warp),
           [&] { storeMoments(m, scratch, index); });
    target.barrier(b, loc);
  }
  Value first = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, tid,
                                      cIndex(b, loc, 0));
  ifThen(b, loc, first, [&] {
    Moments total = m;
    for (int64_t i = 1; i < warps; ++i)
      total =
          merge(total, loadMoments(scratch, cIndex(b, loc, i), m.n.getType()));
    inFirst(total);
  });
}

void StatisticsBuilder::exchangeMerge(Moments m, Value slot, ValueRange scratch,
                                      Value first, int64_t count,
                                      int64_t stride,
                                      function_ref<void(Moments)> inFirst) {
  storeMoments(m, scratch, slot);
  target.barrier(b, loc);
  ifThen(b, loc, first, [&] {
    auto loop = scf::ForOp::create(
        b, loc, cIndex(b, loc, 1), cIndex(b, loc, count), cIndex(b, loc, 1),
        ValueRange{m.n, m.mean, m.m2},
        [&](OpBuilder &nb, Location, Value i, ValueRange a) {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
          Value offset =
              stride == 1
                  ? i
                  : arith::MulIOp::create(b, loc, i, cIndex(b, loc, stride))
                        .getResult();
          Value at = arith::AddIOp::create(b, loc, slot, offset);
          Moments t = merge({a[0], a[1], a[2]},
                            loadMoments(scratch, at, m.n.getType()));
          scf::YieldOp::create(b, loc, ValueRange{t.n, t.mean, t.m2});
        });
    inFirst({loop.getResult(0), loop.getResult(1), loop.getResult(2)});
  });
}

//===----------------------------------------------------------------------===//
// Partials and merge
//===----------------------------------------------------------------------===//

Moments StatisticsBuilder::momentsFromShiftedSums(Value n, Value shift,
                                                  Value s1, Value s2) {
  if (!centered)
    return {n, zeroLike(n), s2};
  Value zero = zeroLike(n);
  Value pos =
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, n, zeroLike(n));
  // An empty part divides by 1 instead: its sums are 0.
  Value one = splatLike(1.0, n);
  Value q = fdiv(b, loc, s1, select(b, loc, pos, n, one));
  Value mean = select(b, loc, pos, fadd(b, loc, shift, q), zero);
  // S2 - S1 * q is a difference of rounded sums: clamped at 0.
  Value diff = fsub(b, loc, s2, fmul(b, loc, s1, q));
  Value m2 = arith::MaximumFOp::create(b, loc, diff, zero);
  return {n, mean, select(b, loc, pos, m2, zero)};
}

std::pair<Value, Value>
StatisticsBuilder::meanVarFromShiftedSums(Value count, Value shift, Value acc1,
                                          Value acc2, Type wide,
                                          Value *accurate) {
  Value s1 = fdiv(b, loc, sumLanes(acc1), count);
  Value s2 = fdiv(b, loc, sumLanes(acc2), count);
  Value s1sq = fmul(b, loc, s1, s1);
  Value diff = fsub(b, loc, s2, s1sq);
  Value var =
      arith::MaximumFOp::create(b, loc, diff, constant(0.0, s1.getType()));
  if (accurate) {
    // Ordered compares: a NaN anywhere fails them.
    Value near = arith::CmpFOp::create(
        b, loc, arith::CmpFPredicate::OLE, s1sq,
        fmul(b, loc, constant(kShiftMaxOffset, var.getType()), var));
    *accurate = arith::AndIOp::create(
        b, loc, arith::AndIOp::create(b, loc, near, isFinite(s2)),
        isFinite(shift));
  }
  // A non-finite shift (an inf or NaN in the run) is the mean.
  if (wide) {
    Value shiftW = extendTo(b, loc, shift, wide);
    Value finite = isFinite(shift);
    Value mean = fadd(b, loc, shiftW, extendTo(b, loc, s1, wide));
    return {select(b, loc, finite, mean, shiftW), extendTo(b, loc, var, wide)};
  }
  Value finite = isFinite(shift);
  Value mean = fadd(b, loc, shift, s1);
  return {select(b, loc, finite, mean, shift), var};
}

Moments StatisticsBuilder::merge(Moments a, Moments c) {
  Value n = fadd(b, loc, a.n, c.n);
  Value zero = zeroLike(n);
  Value pos =
      arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, n, zeroLike(n));
  // 1 / n, 0 when both parts are empty: one division per merge, as the
  // weight of c and the sums' fallback below share it (on a GPU an f64
  // division is a long dependent sequence, and the merges of a block's
  // partials are a chain of them).
  Value r = select(b, loc, pos, fdiv(b, loc, splatLike(1.0, n), n), zero);
  // The weight of c: exactly 1 when a is empty (c.n * (1 / c.n) can be
  // 1 - 2^-53, and a constant's merged M2 would then not be 0).
  Value aEmpty = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, a.n,
                                       zeroLike(n));
  Value f = select(b, loc, aEmpty, splatLike(1.0, n), fmul(b, loc, c.n, r));
  Value d = fsub(b, loc, c.mean, a.mean);
  Value mean = math::FmaOp::create(b, loc, d, f, a.mean);
  // Infinite means merge as the sums they stand for; the update above
  // would give inf - inf. An empty part (count 0, mean 0) adds 0.
  Value finiteA = isFinite(a.mean);
  Value finite = arith::AndIOp::create(b, loc, finiteA, isFinite(c.mean));
  Value weightedA = fmul(b, loc, a.n, a.mean);
  Value weighted = fadd(b, loc, weightedA, fmul(b, loc, c.n, c.mean));
  mean = select(b, loc, finite, mean, fmul(b, loc, weighted, r));
  Value m2 = fadd(b, loc, a.m2, c.m2);
  Value dd = fmul(b, loc, d, d);
  m2 = fadd(b, loc, m2, fmul(b, loc, dd, fmul(b, loc, a.n, f)));
  return {n, mean, m2};
}

namespace {
/// Nested scf.for loops over [0, extents[i]), the last innermost, carrying
/// `inits` through all of them; `body` gets the induction variables and
/// the carried values and returns the updated ones.
SmallVector<Value>
nestedLoops(OpBuilder &b, Location loc, ArrayRef<Extent> extents,
            ValueRange inits, SmallVectorImpl<Value> &ivs,
            function_ref<SmallVector<Value>(ValueRange, ValueRange)> body) {
  if (extents.empty())
    return body(ivs, inits);
  Value lb = arith::ConstantIndexOp::create(b, loc, 0);
  Value ub = extents.front().isStatic()
                 ? arith::ConstantIndexOp::create(b, loc, extents.front().fixed)
                       .getResult()
                 : extents.front().value;
  Value step = arith::ConstantIndexOp::create(b, loc, 1);
  auto loop = scf::ForOp::create(b, loc, lb, ub, step, inits);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(loop.getBody());
  ivs.push_back(loop.getInductionVar());
  SmallVector<Value> results = nestedLoops(b, loc, extents.drop_front(),
                                           loop.getRegionIterArgs(), ivs, body);
  ivs.pop_back();
  scf::YieldOp::create(b, loc, results);
  return SmallVector<Value>(loop.getResults());
}
} // namespace

/// `n` as a floating-point value of `type`.
static Value countIn(OpBuilder &b, Location loc, const Extent &n, Type type) {
  if (n.isStatic())
    return arith::ConstantOp::create(b, loc, b.getFloatAttr(type, n.fixed));
  return arith::UIToFPOp::create(
      b, loc, type,
      arith::IndexCastUIOp::create(b, loc, b.getI64Type(), n.value));
}

Moments
StatisticsBuilder::combine(Type type, ArrayRef<Extent> extents,
                           const Extent &count,
                           function_ref<Moments(ValueRange, bool)> load) {
  SmallVector<Value> ivs;
  if (!centered) {
    Value ss =
        nestedLoops(b, loc, extents, {constant(0.0, type)}, ivs,
                    [&](ValueRange at, ValueRange acc) {
                      Moments p = load(at, /*withM2=*/true);
                      return SmallVector<Value>{fadd(b, loc, acc[0], p.m2)};
                    })[0];
    return {Value(), Value(), ss};
  }
  // The weighted mean of the partials' means: the shift.
  Value sum = nestedLoops(b, loc, extents, {constant(0.0, type)}, ivs,
                          [&](ValueRange at, ValueRange acc) {
                            Moments p = load(at, /*withM2=*/false);
                            return SmallVector<Value>{fadd(
                                b, loc, acc[0], fmul(b, loc, p.n, p.mean))};
                          })[0];
  Value shift = fdiv(b, loc, sum,
                     count.isStatic() ? constant(double(count.fixed), type)
                                      : countIn(b, loc, count, type));
  // Infinite or NaN means merge unshifted, by merge's own rule.
  shift = select(b, loc, isFinite(shift), shift, constant(0.0, type));
  Value zero = constant(0.0, type);
  SmallVector<Value> folded =
      nestedLoops(b, loc, extents, {zero, zero, zero}, ivs,
                  [&](ValueRange at, ValueRange acc) {
                    Moments p = load(at, /*withM2=*/true);
                    p.mean = fsub(b, loc, p.mean, shift);
                    Moments m = merge({acc[0], acc[1], acc[2]}, p);
                    return SmallVector<Value>{m.n, m.mean, m.m2};
                  });
  return {folded[0], fadd(b, loc, shift, folded[1]), folded[2]};
}

//===----------------------------------------------------------------------===//
// Finalize
//===----------------------------------------------------------------------===//

Statistics StatisticsBuilder::finalize(Moments m, const Extent &count) {
  Value nF = count.isStatic() ? constant(double(count.fixed), m.m2.getType())
                              : countIn(b, loc, count, m.m2.getType());
  Value mean;
  if (centered) {
    // No values: NaN, as 0 / 0.
    if (count.isStatic())
      mean = count.fixed == 0 ? fdiv(b, loc, constant(0.0, nF.getType()), nF)
                              : m.mean;
    else
      mean = select(b, loc,
                    arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, nF,
                                          constant(0.0, nF.getType())),
                    fdiv(b, loc, constant(0.0, nF.getType()), nF), m.mean);
  }
  Value var = fdiv(b, loc, m.m2, nF);
  if (mean)
    mean = toF32(b, loc, mean);
  return finalize(mean, toF32(b, loc, var));
}

Statistics StatisticsBuilder::finalize(Value mean, Value var) {
  return {mean, var, buildRstd(b, loc, var, eps, zeroDegenerate)};
}

void StatisticsBuilder::store(const Statistics &s, ArrayRef<Value> statOuts,
                              Value index) {
  auto st = [&](Value v, Value mem) {
    memref::StoreOp::create(b, loc, v, mem, ValueRange{index});
  };
  if (centered) {
    st(s.mean, statOuts[0]);
    st(s.var, statOuts[1]);
    st(s.rstd, statOuts[2]);
    return;
  }
  st(s.var, statOuts[0]);
  st(s.rstd, statOuts[1]);
}

} // namespace normlir::norm
