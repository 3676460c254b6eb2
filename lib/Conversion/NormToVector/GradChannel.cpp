//===- GradChannel.cpp - channel-norm norm.grad_kernel to vector loops ----===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// The backward of BatchNorm, InstanceNorm and GroupNorm (any norm.grad_kernel
// that is not a row norm), on the CPU, over the input's [P0, R1, P1, R2]
// view. A statistic spans many contiguous runs here, so it cannot be
// finished before its runs are read; but every sum the backward needs is a
// sum of per-run sums when each run keeps its own shift s (its first
// element, or lane):
//   Sx = sum(x - s), Sxx = sum((x - s)^2), A = sum(dy), B = sum(dy * (x - s))
// give, per statistic with n elements,
//   mean = sum(Sx + count * s) / n
//   M2   = sum(Sxx - 2 d Sx + count d^2)            d = mean - s
//   sum(dy * (x - mean)) over a run = B - d A
// so the kernel is:
//   1. one pass over x and dy for those four sums per partial, in
//      parallel: per run of R2 with constant parameters (the segment form:
//      NCHW layouts; about the saved mean, f32 lanes within blocks of
//      vectors and f64 across them, else f64 lanes),
//      or per lane and fixed chunk of R1 (the column form: channels-last;
//      f64 lanes); the segment form also prefetches the run the schedule's
//      distance ahead;
//   2. the combine, in partial order on one thread: mean, rstd, E[g] and
//      E[g * xhat] per statistic (g = dy * w, w constant in a partial), and
//      dweight = sum(rstd * (B - d A)), dbias = sum(A) per parameter, in
//      f64: bitwise the same for any number of threads, no atomics;
//   3. dx = rstd * w * dy - rstd * E[g] - rstd^2 * E[g * xhat] * (x - mean),
//      in parallel, with x - mean as (x - mean_hi) - mean_lo (the f64 mean
//      split in two floats), so a mean of 1e4 costs no accuracy.
// With the forward's saved statistics, each partial's shift is its
// statistic's saved mean (the combine's mean is then that mean plus a
// correction of the f32 rounding) and the saved rstd replaces the one from
// M2. With constant statistics (BatchNorm eval) the mean is the given one,
// uncorrected, and E[g], E[g * xhat] are 0: dx = rstd * w * dy.
// Where each statistic is one segment (R1 = P1 = 1: InstanceNorm, GroupNorm
// NCHW) small enough for the L2, 1-3 run per segment in one loop, the dx
// pass reading the segment from cache; dweight and dbias after all. So
// with constant statistics in the segment form, whose coefficients need no
// sum: sums and dx per segment, dy read once.
// Traffic otherwise: x and dy read twice, dx written once. The shifts make the
// sums about a value inside the run's range, so their f64 rounding stays far
// below f32 precision for any mean.
//
//===----------------------------------------------------------------------===//

#include "GradEmitter.h"
#include "VectorEmitter.h"

#include "normlir/Dialect/Norm/Utils/KernelLayout.h"

#include <algorithm>

using namespace mlir;
using namespace normlir;
using namespace normlir::norm;
using namespace normlir::normtovector;

using Run = KernelLayout::Run;

namespace {

/// Chunks of R1 per sample in the column form: at most this many, fixed by
/// the shape (not the number of threads), so the partials and their
/// combine do not depend on it.
constexpr int64_t kColumnChunks = 16;
/// Rows per chunk at least (where R1 has them): a partial takes 44 bytes
/// per lane, so short chunks would make the scratch larger than the input.
constexpr int64_t kColumnMinChunkRows = 64;

/// The fields of a partial, each an f64 array over the partials.
enum Field { Count, Sx, Sxx, SumDy, SumDyX, NumFields };

/// The summed fields, in the order the sum loops carry them.
constexpr Field kSums[] = {Sx, Sxx, SumDy, SumDyX};

/// Per-statistic values of the apply, f32 arrays over the statistics.
enum Coef { Rstd, MeanG, MeanGx, MeanHi, MeanLo, NumCoefs };

class GradChannelEmitter : public GradEmitterBase {
public:
  GradChannelEmitter(OpBuilder &b, GradKernelOp op, const KernelLayout &l,
                     GradForm form, int64_t vl, int64_t l2Bytes)
      : GradEmitterBase(b, op.getLoc(), vl), op(op), l(l),
        column(form == GradForm::Column), l2Bytes(l2Bytes) {}

  void emit();

private:
  Value cD(double v) {
    return arith::ConstantOp::create(b, loc, b.getF64FloatAttr(v));
  }
  Value toD(Value v) {
    return arith::ExtFOp::create(b, loc, b.getF64Type(), v);
  }
  Value toF(Value v) { return arith::TruncFOp::create(b, loc, f32Type, v); }
  Value load(Value mem, Value i) {
    return memref::LoadOp::create(b, loc, mem, ValueRange{i});
  }
  Value alloc(int64_t n, Type elt) {
    return memref::AllocOp::create(b, loc, MemRefType::get({n}, elt),
                                   ValueRange{}, b.getI64IntegerAttr(64));
  }
  /// Field `f` of partial `e`.
  Value at(Field f, Value e) { return iadd(e, cI(int64_t(f) * numPartials)); }
  Value coefAt(Coef c, Value s) { return iadd(s, cI(int64_t(c) * numStats)); }
  /// The parameter offset of the flat index `flat` over the input
  /// dimensions `dims` (row-major among themselves).
  Value paramOffset(Value flat, ArrayRef<int64_t> dims);
  /// The dimensions of runs `runs`, in order.
  SmallVector<int64_t> dimsOf(ArrayRef<Run> runs);
  /// The weight at parameter offset `p`, or 1.
  Value weightAt(Value p) { return w ? loadScalar(w, p) : cF(1.0); }

  /// Partial `e`: its statistic and parameter offset.
  std::pair<Value, Value> partialIndices(Value e);
  /// The rows [lo, hi) of chunk `k` of R1 (column form).
  std::pair<Value, Value> chunkRows(Value k);

  void emitSumsSegment();
  /// The sums of segment `s`'s runs into its partials; with `prefetch`,
  /// prefetching the segment the schedule's distance ahead.
  void sumsOfSegment(Value s, bool prefetch);
  void emitSumsColumn();
  /// The statistics [sLo, sHi) from their partials [eLo, eHi) (all of
  /// theirs, in order): their f64 sums and the apply's coefficients.
  void combineStats(Value sLo, Value sHi, Value eLo, Value eHi);
  /// dweight and dbias from every partial, in partial order.
  void paramGrads();
  void emitApplySegment();
  /// dx over segment `s`; with `prefetch`, prefetching the segment the
  /// schedule's distance ahead.
  void applySegment(Value s, bool prefetch = true);
  /// The offset of the segment `prefetchSegments` after `s` (the last one
  /// at most), or null where the schedule does not prefetch.
  Value aheadOf(Value s);
  /// Prefetches x (where the dx pass reads it) and dy at `i`.
  void prefetchInputs(Value i) {
    prefetchAt({op.getConstantStatistics() ? Value() : x, dy}, i);
  }
  void emitApplyColumn();
  /// The vector of x the dx pass reads at `i`; none with constant
  /// statistics, whose dx does not depend on x.
  Value xAt(Value i, Value mask) {
    return op.getConstantStatistics() ? Value() : loadVec(x, i, mask);
  }
  /// dx for vectors `xv` (null: constant statistics), `dyv` with the
  /// statistic's splats (mean terms null when not centred) and the per-lane
  /// weight-times-rstd `a`.
  Value dxOf(Value xv, Value dyv, Value a, Value meanG, Value meanGx,
             Value meanHi, Value meanLo);

  GradKernelOp op;
  const KernelLayout &l;
  bool column;
  int64_t l2Bytes;
  bool centered = false, params = false, parallel = false;
  /// Scratch: the partials (NumFields x numPartials f64) and their shifts
  /// (f32); the apply's coefficients (NumCoefs x numStats f32).
  Value part, shift, coef;
  /// Per statistic, f64: the sum of x (then the mean), M2, sum(w A), sum(w
  /// (B - d A)).
  Value stat;
  int64_t numPartials = 0, numStats = 0, perStat = 0, numParams = 1;
  /// Column form: lanes per row of R1 (P1 x R2), rows per chunk, chunks.
  int64_t lanes = 1, chunk = 1, chunks = 1;
  /// Segments ahead the segment form prefetches (0: none).
  int64_t prefetchSegments = 0;
};

SmallVector<int64_t> GradChannelEmitter::dimsOf(ArrayRef<Run> runs) {
  SmallVector<int64_t> dims;
  for (Run r : runs)
    llvm::append_range(dims, l.dims[r]);
  return dims;
}

Value GradChannelEmitter::paramOffset(Value flat, ArrayRef<int64_t> dims) {
  Value off;
  for (int64_t d : llvm::reverse(dims)) {
    int64_t size = l.shape[d];
    if (l.paramStride[d] != 0)
      off = iadd(off, imul(irem(flat, size), l.paramStride[d]));
    flat = idiv(flat, size);
  }
  return off ? off : cI(0);
}

std::pair<Value, Value> GradChannelEmitter::partialIndices(Value e) {
  if (!column) {
    // e = segment * r2o + j; segment = (p0, r1, p1).
    Value s = idiv(e, l.r2o);
    Value stat =
        iadd(imul(idiv(s, l.size[Run::R1] * l.size[Run::P1]), l.size[Run::P1]),
             irem(s, l.size[Run::P1]));
    Value p = iadd(paramOffset(s, dimsOf({Run::P0, Run::R1, Run::P1})),
                   imul(irem(e, l.r2o), l.r2oParamStride));
    return {stat, p};
  }
  // e = (p0 * chunks + k) * lanes + lane; lane = (p1, r2).
  Value lane = irem(e, lanes);
  Value p0 = idiv(e, chunks * lanes);
  Value stat = iadd(imul(p0, l.size[Run::P1]), idiv(lane, l.size[Run::R2]));
  Value p = iadd(paramOffset(p0, l.dims[Run::P0]),
                 paramOffset(lane, dimsOf({Run::P1, Run::R2})));
  return {stat, p};
}

std::pair<Value, Value> GradChannelEmitter::chunkRows(Value k) {
  Value lo = imul(k, chunk);
  Value hi =
      arith::MinUIOp::create(b, loc, iadd(lo, chunk), cI(l.size[Run::R1]));
  return {lo, hi};
}

void GradChannelEmitter::emit() {
  auto inType = cast<MemRefType>(op.getInput().getType());
  centered = op.getCentered();
  bindBuffers(op);
  params = op.getOuts().size() == 3;
  if (params)
    numParams = cast<MemRefType>(dw.getType()).getNumElements();
  if (inType.getNumElements() == 0) {
    // No element: the parameter gradients are sums of nothing.
    if (params)
      eachVector(numParams, [&](Value off, Value mask) {
        storeVec(zeroV(), dw, off, mask);
        storeVec(zeroV(), db, off, mask);
      });
    return;
  }
  numStats = l.numStats();
  perStat = inType.getNumElements() / numStats;
  if (column) {
    lanes = l.size[Run::P1] * l.size[Run::R2];
    chunks = std::clamp<int64_t>(l.size[Run::R1] / kColumnMinChunkRows, 1,
                                 kColumnChunks);
    chunk = (l.size[Run::R1] + chunks - 1) / chunks;
    chunks = (l.size[Run::R1] + chunk - 1) / chunk;
    numPartials = l.size[Run::P0] * chunks * lanes;
  } else {
    numPartials = l.numSegments() * l.r2o;
  }
  parallel = op.getScheduleAttr().getParallel();
  prefetchSegments = op.getScheduleAttr().getPrefetch();
  part = alloc(NumFields * numPartials, b.getF64Type());
  shift = alloc(numPartials, f32Type);
  coef = alloc(NumCoefs * numStats, f32Type);
  stat = alloc(4 * numStats, b.getF64Type());
  if (!column &&
      isFusedGradSegment(l, inType.getElementTypeBitWidth() / 8, l2Bytes)) {
    // Each statistic is one segment (InstanceNorm, GroupNorm NCHW) whose x
    // and dy fit in half the L2: sums, combine and dx back to back per
    // segment, the dx pass reading them from cache (one read of x and dy
    // from memory). The same partials in the same order as the passes
    // below: the same results.
    tasks(l.numSegments(), parallel, [&](Value s) {
      sumsOfSegment(s, /*prefetch=*/false);
      combineStats(s, iadd(s, 1), imul(s, l.r2o), imul(iadd(s, 1), l.r2o));
      applySegment(s);
    });
  } else if (!column && op.getConstantStatistics() &&
             (!centered || savedMean)) {
    // Constant statistics (BatchNorm eval): dx = rstd * w * dy needs no sum,
    // so the coefficients come first and each segment's sums and dx follow
    // each other, the dx pass reading dy from cache: x and dy read once
    // from memory instead of dy twice. The same partials: the same results.
    // (The mean is the given one: the combine reads no partial.)
    combineStats(cI(0), cI(numStats), cI(0), cI(numPartials));
    tasks(l.numSegments(), parallel, [&](Value s) {
      sumsOfSegment(s, /*prefetch=*/true);
      applySegment(s, /*prefetch=*/false);
    });
  } else {
    if (column)
      emitSumsColumn();
    else
      emitSumsSegment();
    combineStats(cI(0), cI(numStats), cI(0), cI(numPartials));
    if (column)
      emitApplyColumn();
    else
      emitApplySegment();
  }
  if (params)
    paramGrads();
  // The scratch is freed by the pipeline's buffer deallocation, which runs
  // after this lowering (and rejects a dealloc it did not place).
}

void GradChannelEmitter::emitSumsSegment() {
  tasks(l.numSegments(), parallel,
        [&](Value s) { sumsOfSegment(s, /*prefetch=*/true); });
}

Value GradChannelEmitter::aheadOf(Value s) {
  if (prefetchSegments <= 0)
    return Value();
  // Prefetches cannot fault, but the segment stays one of the input's.
  Value last = cI(l.numSegments() - 1);
  return imul(arith::MinUIOp::create(b, loc, iadd(s, prefetchSegments), last),
              l.size[Run::R2]);
}

void GradChannelEmitter::sumsOfSegment(Value s, bool prefetch) {
  int64_t r2 = l.size[Run::R2];
  {
    Value base = imul(s, r2);
    Value ahead = prefetch ? aheadOf(s) : Value();
    // The shift: the saved mean of the run's statistic, or the run's first
    // element (0 for uncentred statistics, whose sum of squares is the
    // statistic itself).
    Value sh = cF(0.0);
    if (savedMean)
      sh = loadScalar(savedMean, partialIndices(imul(s, l.r2o)).first);
    else if (centered)
      sh = loadScalar(x, base);
    Value shV = splat(sh);
    loop(cI(0), cI(l.r2o), [&](Value j) {
      Value run = iadd(base, imul(j, l.r2i));
      // About the saved mean, f32 lanes within blocks of vectors and f64
      // across them (a third of the f64 work per element); about the run's
      // first element, f64 lanes (shiftedSums).
      SmallVector<Value> acc = shiftedSums(
          l.r2i, 4, /*exact=*/centered && !savedMean,
          [&](Value off, Value mask, ValueRange a) -> SmallVector<Value> {
            Value d = fsub(loadVec(x, iadd(run, off), mask), shV);
            if (mask)
              d = select(mask, d, zeroV());
            d = lanesOf(d, a[0]);
            Value g = lanesOf(loadVec(dy, iadd(run, off), mask), a[0]);
            if (ahead)
              prefetchInputs(iadd(iadd(ahead, imul(j, l.r2i)), off));
            return {fadd(a[0], d), fma(d, d, a[1]), fadd(a[2], g),
                    fma(g, d, a[3])};
          });
      Value e = iadd(imul(s, l.r2o), j);
      storeScalar(sh, shift, e);
      storeScalar(cD(double(l.r2i)), part, at(Count, e));
      for (auto [f, v] : llvm::zip(kSums, acc))
        storeScalar(sumLanes(v), part, at(f, e));
    });
  }
}

void GradChannelEmitter::emitSumsColumn() {
  tasks(l.size[Run::P0] * chunks, parallel, [&](Value t) {
    Value p0 = idiv(t, chunks);
    auto [lo, hi] = chunkRows(irem(t, chunks));
    Value e0 = imul(t, lanes);
    auto rowAt = [&](Value r) {
      return imul(iadd(imul(p0, l.size[Run::R1]), r), lanes);
    };
    // The shifts: the chunk's first row; the sums start at 0.
    Value count = splatD(arith::UIToFPOp::create(
        b, loc, b.getF64Type(),
        arith::IndexCastOp::create(b, loc, b.getI64Type(),
                                   arith::SubIOp::create(b, loc, hi, lo))));
    if (savedMean)
      loop(cI(0), cI(lanes), [&](Value lane) {
        Value e = iadd(e0, lane);
        storeScalar(loadScalar(savedMean, partialIndices(e).first), shift, e);
      });
    eachVector(lanes, [&](Value off, Value mask) {
      Value e = iadd(e0, off);
      if (!savedMean)
        storeVec(centered ? loadVec(x, iadd(rowAt(lo), off), mask) : zeroV(),
                 shift, e, mask);
      storeVec(count, part, at(Count, e), mask);
      for (Field f : kSums)
        storeVec(zeroD(), part, at(f, e), mask);
    });
    // Each row adds into the partials (L1-resident: lanes x 4 x 8 bytes).
    loop(lo, hi, [&](Value r) {
      Value row = rowAt(r);
      eachVector(lanes, [&](Value off, Value mask) {
        Value e = iadd(e0, off);
        Value d =
            fsub(loadVec(x, iadd(row, off), mask), loadVec(shift, e, mask));
        Value dd = wide(d), g = wide(loadVec(dy, iadd(row, off), mask));
        auto update = [&](Field f, Value v) {
          storeVec(v, part, at(f, e), mask);
        };
        auto old = [&](Field f) { return loadRawVec(part, at(f, e), mask); };
        update(Sx, fadd(old(Sx), dd));
        update(Sxx, fma(dd, dd, old(Sxx)));
        update(SumDy, fadd(old(SumDy), g));
        update(SumDyX, fma(g, dd, old(SumDyX)));
      });
    });
  });
}

void GradChannelEmitter::combineStats(Value sLo, Value sHi, Value eLo,
                                      Value eHi) {
  // Per statistic, f64: the sum of x (then the mean), M2, sum(w A) and
  // sum(w (B - d A)).
  auto statAt = [&](int64_t f, Value s) { return iadd(s, cI(f * numStats)); };
  loop(sLo, sHi, [&](Value s) {
    for (int64_t f = 0; f < 4; ++f)
      storeScalar(cD(0.0), stat, statAt(f, s));
  });
  auto field = [&](Field f, Value e) { return load(part, at(f, e)); };
  Value n = cD(double(perStat));
  bool constant = op.getConstantStatistics();
  if (centered && savedMean && !op.getInputStatistics()) {
    // Given statistics that are not the input's own (constants): the mean
    // as given.
    loop(sLo, sHi, [&](Value s) {
      storeScalar(toD(loadScalar(savedMean, s)), stat, statAt(0, s));
    });
  } else if (centered) {
    loop(eLo, eHi, [&](Value e) {
      Value s = partialIndices(e).first;
      Value sum = fma(field(Count, e), toD(load(shift, e)), field(Sx, e));
      storeScalar(fadd(load(stat, statAt(0, s)), sum), stat, statAt(0, s));
    });
    loop(sLo, sHi, [&](Value s) {
      storeScalar(fdiv(load(stat, statAt(0, s)), n), stat, statAt(0, s));
    });
  }
  // d = mean - shift; B - d A is sum(dy * (x - mean)) over the partial.
  auto centredB = [&](Value e, Value s) -> std::pair<Value, Value> {
    Value d = fsub(load(stat, statAt(0, s)), toD(load(shift, e)));
    return {d, fsub(field(SumDyX, e), fmul(d, field(SumDy, e)))};
  };
  // M2, E[g] and E[g * xhat]: none needed with constant statistics, whose
  // coefficients may then come before the partials exist.
  if (!constant)
    loop(eLo, eHi, [&](Value e) {
      auto [s, p] = partialIndices(e);
      auto [d, bc] = centredB(e, s);
      Value m2 = fsub(field(Sxx, e), fmul(d, fsub(fmul(cD(2.0), field(Sx, e)),
                                                  fmul(field(Count, e), d))));
      Value wv = toD(weightAt(p));
      auto add = [&](int64_t f, Value v) {
        storeScalar(fadd(load(stat, statAt(f, s)), v), stat, statAt(f, s));
      };
      add(1, m2);
      add(2, fmul(wv, field(SumDy, e)));
      add(3, fmul(wv, bc));
    });
  // The apply's coefficients per statistic: rstd as the forward computes
  // it (from the variance rounded to f32), then rstd * E[g] and
  // rstd^2 * E[g * xhat], and the mean as two floats.
  loop(sLo, sHi, [&](Value s) {
    Value rstd;
    if (savedRstd) {
      rstd = loadScalar(savedRstd, s);
    } else {
      Value var = toF(fdiv(load(stat, statAt(1, s)), n));
      rstd = rstdOf(var, op.getEpsilon().convertToDouble(),
                    op.getZeroDegenerate());
    }
    Value rD = toD(rstd);
    storeScalar(rstd, coef, coefAt(Rstd, s));
    // rstd * E[g] and rstd^2 * E[g * xhat] = rstd^3 * E[w (dy (x - mean))]
    // (none with constant statistics).
    storeScalar(constant ? cF(0.0)
                         : toF(fmul(rD, fdiv(load(stat, statAt(2, s)), n))),
                coef, coefAt(MeanG, s));
    storeScalar(constant ? cF(0.0)
                         : toF(fmul(fmul(rD, fmul(rD, rD)),
                                    fdiv(load(stat, statAt(3, s)), n))),
                coef, coefAt(MeanGx, s));
    Value mean = load(stat, statAt(0, s));
    Value hi = centered ? toF(mean) : cF(0.0);
    storeScalar(hi, coef, coefAt(MeanHi, s));
    storeScalar(centered ? toF(fsub(mean, toD(hi))) : cF(0.0), coef,
                coefAt(MeanLo, s));
  });
}

void GradChannelEmitter::paramGrads() {
  auto statAt = [&](int64_t f, Value s) { return iadd(s, cI(f * numStats)); };
  auto field = [&](Field f, Value e) { return load(part, at(f, e)); };
  // d = mean - shift; B - d A is sum(dy * (x - mean)) over the partial.
  auto centredB = [&](Value e, Value s) {
    Value d = fsub(load(stat, statAt(0, s)), toD(load(shift, e)));
    return fsub(field(SumDyX, e), fmul(d, field(SumDy, e)));
  };
  // dweight = sum(rstd * (B - d A)), dbias = sum(A), in partial order.
  Value sums = alloc(2 * numParams, b.getF64Type());
  loop(cI(0), cI(2 * numParams),
       [&](Value i) { storeScalar(cD(0.0), sums, i); });
  loop(cI(0), cI(numPartials), [&](Value e) {
    auto [s, p] = partialIndices(e);
    Value bc = centredB(e, s);
    Value rD = toD(load(coef, coefAt(Rstd, s)));
    storeScalar(fma(rD, bc, load(sums, p)), sums, p);
    Value pb = iadd(p, cI(numParams));
    storeScalar(fadd(load(sums, pb), field(SumDy, e)), sums, pb);
  });
  Type pt = cast<MemRefType>(dw.getType()).getElementType();
  loop(cI(0), cI(numParams), [&](Value p) {
    Value vw = load(sums, p), vb = load(sums, iadd(p, cI(numParams)));
    // Through f32: f64 -> f16/bf16 would need compiler-rt's helpers
    // (__truncdfbf2), which a JIT-compiled kernel cannot call.
    auto round = [&](Value v) -> Value {
      v = toF(v);
      return pt.isF32() ? v : arith::TruncFOp::create(b, loc, pt, v);
    };
    storeScalar(round(vw), dw, p);
    storeScalar(round(vb), db, p);
  });
}

Value GradChannelEmitter::dxOf(Value xv, Value dyv, Value a, Value meanG,
                               Value meanGx, Value meanHi, Value meanLo) {
  // Constant statistics: dx = rstd * w * dy, x not read.
  if (!xv)
    return fmul(a, dyv);
  Value xc = centered ? fsub(fsub(xv, meanHi), meanLo) : xv;
  Value v = fsub(fmul(a, dyv), fmul(meanGx, xc));
  return centered ? fsub(v, meanG) : v;
}

void GradChannelEmitter::emitApplySegment() {
  tasks(l.numSegments(), parallel, [&](Value s) { applySegment(s); });
}

void GradChannelEmitter::applySegment(Value s, bool prefetch) {
  int64_t r2 = l.size[Run::R2];
  {
    auto [st, p] = partialIndices(imul(s, l.r2o));
    auto c = [&](Coef k) { return splat(load(coef, coefAt(k, st))); };
    Value rstd = load(coef, coefAt(Rstd, st));
    Value meanG = c(MeanG), meanGx = c(MeanGx);
    Value meanHi = c(MeanHi), meanLo = c(MeanLo);
    Value ahead = prefetch ? aheadOf(s) : Value();
    loop(cI(0), cI(l.r2o), [&](Value j) {
      Value a = splat(fmul(rstd, weightAt(iadd(p, imul(j, l.r2oParamStride)))));
      Value run = iadd(imul(s, r2), imul(j, l.r2i));
      dxVectors(run, l.r2i, [&](Value off, Value mask, bool aligned) {
        Value i = iadd(run, off);
        storeDx(dxOf(xAt(i, mask), loadVec(dy, i, mask), a, meanG, meanGx,
                     meanHi, meanLo),
                i, mask, aligned);
        if (ahead)
          prefetchInputs(iadd(iadd(ahead, imul(j, l.r2i)), off));
      });
    });
  }
}

void GradChannelEmitter::emitApplyColumn() {
  // Per sample and lane: rstd * w and the statistic's coefficients, so that
  // each row's vectors load them (L1-resident) instead of gathering.
  int64_t perSample = lanes * NumCoefs;
  Value laneCoef = alloc(l.size[Run::P0] * perSample, f32Type);
  auto laneAt = [&](Value p0, int64_t k, Value lane) {
    return iadd(imul(p0, perSample), iadd(lane, cI(k * lanes)));
  };
  loop(cI(0), cI(l.size[Run::P0]), [&](Value p0) {
    loop(cI(0), cI(lanes), [&](Value lane) {
      auto [st, p] = partialIndices(iadd(imul(p0, chunks * lanes), lane));
      storeScalar(fmul(load(coef, coefAt(Rstd, st)), weightAt(p)), laneCoef,
                  laneAt(p0, Rstd, lane));
      for (Coef k : {MeanG, MeanGx, MeanHi, MeanLo})
        storeScalar(load(coef, coefAt(k, st)), laneCoef, laneAt(p0, k, lane));
    });
  });
  tasks(l.size[Run::P0] * chunks, parallel, [&](Value t) {
    Value p0 = idiv(t, chunks);
    auto [lo, hi] = chunkRows(irem(t, chunks));
    loop(lo, hi, [&](Value r) {
      Value row = imul(iadd(imul(p0, l.size[Run::R1]), r), lanes);
      eachVector(lanes, [&](Value off, Value mask) {
        auto c = [&](Coef k) {
          return loadVec(laneCoef, laneAt(p0, k, off), mask);
        };
        Value i = iadd(row, off);
        storeDx(dxOf(xAt(i, mask), loadVec(dy, i, mask), c(Rstd), c(MeanG),
                     c(MeanGx), c(MeanHi), c(MeanLo)),
                i, mask);
      });
    });
  });
}

} // namespace

void normtovector::emitGradChannelKernel(OpBuilder &b, GradKernelOp op,
                                         const KernelLayout &layout,
                                         GradForm form, int64_t vectorWidth,
                                         int64_t l2Bytes) {
  GradChannelEmitter(b, op, layout, form, vectorWidth, l2Bytes).emit();
}
