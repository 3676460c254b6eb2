//===- NormToVector.cpp - norm.kernel to threaded vector loops ------------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// Lowers a bufferized norm.kernel, following its #norm.schedule, to
// scf.parallel loops (threads) around scf.for loops of vector code. All
// buffers are flattened to 1-D; every trip count is static.
//
//===----------------------------------------------------------------------===//

#include "normlir/Conversion/NormToVector/NormToVector.h"

#include "normlir/Dialect/Norm/IR/Norm.h"
#include "normlir/Dialect/Norm/Utils/EmitterBase.h"
#include "normlir/Dialect/Norm/Utils/KernelLayout.h"
#include "normlir/Dialect/Norm/Utils/Utils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"

#include <limits>

namespace normlir {
#define GEN_PASS_DEF_CONVERTNORMTOVECTOR
#include "normlir/Conversion/Passes.h.inc"
} // namespace normlir

using namespace mlir;
using namespace normlir;
using namespace normlir::norm;

namespace {

using Run = KernelLayout::Run;

/// Runs shorter than this store normally even under a nontemporal schedule:
/// aligning their streaming stores costs more than it saves.
constexpr int64_t kMinStreamRun = 1024;
/// Rows the column strategy sums in f32 before adding them into f64.
constexpr int64_t kRowBlock = 256;
/// Apply tasks the column strategy aims for (any thread count up to this
/// gets balanced work).
constexpr int64_t kApplyTasks = 64;

/// Where a weight or bias comes from inside one contiguous run: a value that
/// is constant along the run, or a vector load at `base + offset`.
struct ParamRun {
  Value scalar; ///< f32, constant along the run.
  Value mem;    ///< 1-D buffer, read contiguously from `base`.
  Value base;
  explicit operator bool() const { return scalar || mem; }
};

/// Emits the loops of one kernel at the builder's insertion point.
class KernelEmitter : EmitterBase {
public:
  KernelEmitter(OpBuilder &b, KernelOp op, const KernelLayout &layout,
                ScheduleAttr schedule)
      : EmitterBase(b, op.getLoc(), schedule.getVectorWidth()), op(op),
        l(layout), unroll(schedule.getUnroll()), chunks(schedule.getChunks()),
        nontemporal(schedule.getNontemporal()),
        parallel(schedule.getParallel()), rowTasks(schedule.getRowTasks()) {}

  LogicalResult emit(StringRef strategy);

private:
  //===--------------------------------------------------------------------===//
  // Small builders
  //===--------------------------------------------------------------------===//

  Value cD(double v) {
    return arith::ConstantOp::create(b, loc, b.getF64FloatAttr(v));
  }
  /// A zero vector of f64 lanes (wide accumulators).
  Value zeroWide() {
    auto type = VectorType::get({vl}, b.getF64Type());
    return arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(type, b.getF64FloatAttr(0.0)));
  }
  Value toF64(Value v) {
    return arith::ExtFOp::create(b, loc, b.getF64Type(), v);
  }
  Value toF32(Value v) { return arith::TruncFOp::create(b, loc, f32Type, v); }
  Value rstdOf(Value var) {
    return EmitterBase::rstdOf(var, op.getEpsilon()->convertToDouble(),
                               op.getZeroDegenerate());
  }
  Value hsum(Value v) {
    // A fixed tree (log2 lanes shuffles), not a chain of lane additions.
    return vector::ReductionOp::create(b, loc, vector::CombiningKind::ADD, v,
                                       arith::FastMathFlags::reassoc);
  }

  Value loadWide(Value mem, Value i) {
    return memref::LoadOp::create(b, loc, mem, ValueRange{i});
  }
  /// Loads `vl` elements at `i` as they are (masked-off lanes read 0).
  Value loadRaw(Value mem, Value i, Value mask) {
    Type elt = cast<MemRefType>(mem.getType()).getElementType();
    auto vt = VectorType::get({vl}, elt);
    if (!mask)
      return vector::LoadOp::create(b, loc, vt, mem, ValueRange{i});
    Value zero = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(vt, b.getZeroAttr(elt)));
    return vector::MaskedLoadOp::create(b, loc, vt, mem, ValueRange{i}, mask,
                                        zero);
  }
  /// Loads `vl` elements at `i` as f32 (masked-off lanes read 0); the input
  /// `x` through the kernel's prologue.
  Value loadVec(Value mem, Value i, Value mask = {}) {
    if (mem == x && !op.getPrologue().empty()) {
      SmallVector<Value> args;
      for (Value in : xInputs)
        args.push_back(loadRaw(in, i, mask));
      return applyPrologue(op, args);
    }
    return toF32Vec(loadRaw(mem, i, mask));
  }
  /// Stores an f32 vector, rounded to the buffer's element type; the output
  /// `y` through the kernel's epilogue. `streaming` stores must be at an
  /// address aligned to the vector size.
  void storeVec(Value v, Value mem, Value i, Value mask = {},
                bool streaming = false) {
    Type elt = cast<MemRefType>(mem.getType()).getElementType();
    v = prepareStore(op, v, elt, mem == y);
    if (mask)
      vector::MaskedStoreOp::create(b, loc, mem, ValueRange{i}, mask, v);
    else if (streaming)
      vector::StoreOp::create(
          b, loc, v, mem, ValueRange{i}, /*nontemporal=*/true,
          llvm::MaybeAlign(vl * elt.getIntOrFloatBitWidth() / 8));
    else
      vector::StoreOp::create(b, loc, v, mem, ValueRange{i});
  }
  Value tailMask(int64_t n) {
    return vector::ConstantMaskOp::create(
        b, loc, VectorType::get({vl}, b.getI1Type()), ArrayRef<int64_t>{n});
  }

  /// scf.for lb..ub with iter args; `body` returns the yielded values.
  SmallVector<Value>
  forLoop(Value lb, Value ub, ValueRange inits,
          function_ref<SmallVector<Value>(Value, ValueRange)> body) {
    auto forOp = scf::ForOp::create(
        b, loc, lb, ub, cI(1), inits,
        [&](OpBuilder &nb, Location, Value iv, ValueRange args) {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
          SmallVector<Value> results = body(iv, args);
          scf::YieldOp::create(b, loc, results);
        });
    return SmallVector<Value>(forOp.getResults());
  }
  void forLoop(int64_t n, function_ref<void(Value)> body) {
    if (n == 0)
      return;
    if (n == 1) {
      body(cI(0));
      return;
    }
    forLoop(cI(0), cI(n), {}, [&](Value iv, ValueRange) {
      body(iv);
      return SmallVector<Value>{};
    });
  }
  /// One thread task per index of [0, n) (a plain loop for kernels too
  /// small to be worth waking threads).
  void parallelLoop(int64_t n, function_ref<void(Value)> body) {
    if (!parallel || n == 1) {
      forLoop(n, body);
      return;
    }
    scf::ParallelOp::create(
        b, loc, ValueRange{cI(0)}, ValueRange{cI(n)}, ValueRange{cI(1)},
        [&](OpBuilder &nb, Location, ValueRange ivs) {
          OpBuilder::InsertionGuard guard(b);
          b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
          body(ivs[0]);
        });
  }

  /// Elements of y[start, start + n) before the first one aligned to the
  /// vector size (all n when y is not even aligned to its element size).
  Value streamHead(Value start, int64_t n) {
    Type elt = cast<MemRefType>(y.getType()).getElementType();
    int64_t eb = elt.getIntOrFloatBitWidth() / 8, vbytes = vl * eb;
    Value addr = iadd(
        imul(start, eb),
        memref::ExtractAlignedPointerAsIndexOp::create(b, loc, y).getResult());
    Value elemAligned = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                              irem(addr, eb), cI(0));
    Value toAlign =
        idiv(irem(arith::SubIOp::create(b, loc, cI(vbytes), irem(addr, vbytes)),
                  vbytes),
             eb);
    return arith::MinUIOp::create(b, loc, select(elemAligned, toAlign, cI(n)),
                                  cI(n));
  }

  /// Body of a vector loop that carries values (accumulators): gets the
  /// element offset, the mask (null for full vectors), whether a streaming
  /// store at that offset is vector-aligned, and the carried values, which
  /// it updates in place.
  using AccBody =
      function_ref<void(Value, Value, bool, SmallVectorImpl<Value> &)>;

  /// Vectors over [0, n) carrying `accs`; with `streamBase`, the loop is
  /// split for streaming stores to y[streamBase + ...]: a masked head up to
  /// the first vector-aligned element, aligned full vectors, a masked tail
  /// (a buffer not even aligned to its element size takes the masked path
  /// throughout).
  SmallVector<Value> accLoop(int64_t n, ValueRange inits, Value streamBase,
                             AccBody body) {
    auto run = [&](Value lb, Value ub, ValueRange in,
                   function_ref<Value(Value)> offsetOf,
                   function_ref<Value(Value)> maskOf,
                   bool aligned) -> SmallVector<Value> {
      return forLoop(lb, ub, in, [&](Value i, ValueRange args) {
        SmallVector<Value> accs(args);
        Value off = offsetOf(i);
        body(off, maskOf ? maskOf(off) : Value(), aligned, accs);
        return accs;
      });
    };
    auto maskTo = [&](Value count) -> Value {
      return vector::CreateMaskOp::create(
          b, loc, VectorType::get({vl}, b.getI1Type()), ValueRange{count});
    };
    auto sub = [&](Value a, Value c) -> Value {
      return arith::SubIOp::create(b, loc, a, c);
    };
    SmallVector<Value> accs(inits);
    if (!streamBase) {
      int64_t full = n / vl;
      if (full > 0)
        accs = run(
            cI(0), cI(full), accs, [&](Value i) { return imul(i, vl); },
            nullptr, false);
      if (n % vl)
        body(cI(full * vl), tailMask(n % vl), false, accs);
      return accs;
    }
    Value head = streamHead(streamBase, n);
    // Head: masked vectors over [0, head).
    accs = run(
        cI(0), idiv(iadd(head, vl - 1), vl), accs,
        [&](Value i) { return imul(i, vl); },
        [&](Value off) { return maskTo(sub(head, off)); }, false);
    Value full = idiv(sub(cI(n), head), vl);
    accs = run(
        cI(0), full, accs, [&](Value i) { return iadd(head, imul(i, vl)); },
        nullptr, true);
    Value tail = iadd(head, imul(full, vl));
    body(tail, maskTo(sub(cI(n), tail)), false, accs);
    return accs;
  }

  /// Vectors over the flat run y[start, start + len) made of rows of
  /// `lanes` elements: `body(offset, lane, mask, aligned)` with the lane of
  /// the vector's first element. Streaming stores are split as in accLoop.
  void flatLoop(Value start, int64_t len, int64_t lanes,
                function_ref<void(Value, Value, Value, bool)> body) {
    auto laneOf = [&](Value off) { return irem(off, lanes); };
    // The lane advances by vl per vector: one compare instead of a division.
    auto step = [&](Value lane) -> Value {
      Value next = iadd(lane, vl);
      if (vl > lanes)
        return irem(next, lanes);
      Value wrap = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge,
                                         next, cI(lanes));
      return select(wrap, arith::SubIOp::create(b, loc, next, cI(lanes)), next);
    };
    auto sub = [&](Value a, Value c) -> Value {
      return arith::SubIOp::create(b, loc, a, c);
    };
    auto maskTo = [&](Value count) -> Value {
      return vector::CreateMaskOp::create(
          b, loc, VectorType::get({vl}, b.getI1Type()), ValueRange{count});
    };
    auto fullRun = [&](Value first, Value count, bool aligned) {
      forLoop(cI(0), count, {laneOf(first)},
              [&](Value i, ValueRange args) -> SmallVector<Value> {
                body(iadd(first, imul(i, vl)), args[0], Value(), aligned);
                return {step(args[0])};
              });
    };
    if (!nontemporal || len < kMinStreamRun) {
      int64_t full = len / vl;
      if (full > 0)
        fullRun(cI(0), cI(full), false);
      if (len % vl)
        body(cI(full * vl), laneOf(cI(full * vl)), tailMask(len % vl), false);
      return;
    }
    Value head = streamHead(start, len);
    forLoop(cI(0), idiv(iadd(head, vl - 1), vl), {},
            [&](Value i, ValueRange) -> SmallVector<Value> {
              Value off = imul(i, vl);
              body(off, laneOf(off), maskTo(sub(head, off)), false);
              return {};
            });
    Value full = idiv(sub(cI(len), head), vl);
    fullRun(head, full, true);
    Value tail = iadd(head, imul(full, vl));
    body(tail, laneOf(tail), maskTo(sub(cI(len), tail)), false);
  }

  /// Offset into the parameters contributed by `coord` in run `run`.
  Value runParamOffset(Run run, Value coord) {
    return buildRunParamOffset(b, loc, l, run, coord);
  }
  static Value addOpt(KernelEmitter &e, Value a, Value c) {
    if (!a)
      return c;
    if (!c)
      return a;
    return e.iadd(a, c);
  }
  /// Parameter offset of segment `s` = (p0, r1, p1).
  Value segmentParamOffset(Value s) {
    int64_t r1 = l.size[Run::R1], p1 = l.size[Run::P1];
    Value off;
    if (!l.dims[Run::P0].empty())
      off = addOpt(*this, off, runParamOffset(Run::P0, idiv(s, r1 * p1)));
    if (!l.dims[Run::R1].empty())
      off = addOpt(*this, off, runParamOffset(Run::R1, irem(idiv(s, p1), r1)));
    if (!l.dims[Run::P1].empty())
      off = addOpt(*this, off, runParamOffset(Run::P1, irem(s, p1)));
    return off ? off : cI(0);
  }
  /// The statistic index (p0, p1) of segment `s`.
  Value segmentStat(Value s) {
    int64_t r1 = l.size[Run::R1], p1 = l.size[Run::P1];
    if (r1 == 1)
      return s;
    return iadd(imul(idiv(s, r1 * p1), p1), irem(s, p1));
  }

  //===--------------------------------------------------------------------===//
  // Reductions and the apply over one contiguous run
  //===--------------------------------------------------------------------===//

  using ReduceBody =
      function_ref<void(Value v, Value mask, MutableArrayRef<Value> accs)>;

  /// Reduces x[base, base + n) into `numAcc` vector totals: `unroll`
  /// independent accumulator sets inside blocks of up to 1024 vectors, whose
  /// sums are added to the totals.
  SmallVector<Value> reduceRun(Value base, int64_t n, unsigned numAcc,
                               ReduceBody body, bool wideAccs = false) {
    auto zeroAcc = [&]() { return wideAccs ? zeroWide() : zeroV(); };
    SmallVector<Value> totals(numAcc, zeroAcc());
    int64_t group = vl * unroll;
    int64_t groups = n / group;
    int64_t blockGroups = std::max<int64_t>(1, 1024 / unroll);
    int64_t nBlocks = groups / blockGroups, remGroups = groups % blockGroups;
    auto block = [&](Value firstGroup, int64_t count,
                     ValueRange tot) -> SmallVector<Value> {
      SmallVector<Value> inits(unroll * numAcc, zeroAcc());
      SmallVector<Value> inner =
          forLoop(cI(0), cI(count), inits, [&](Value g, ValueRange args) {
            SmallVector<Value> accs(args);
            Value start = iadd(base, imul(iadd(firstGroup, g), group));
            for (int64_t u = 0; u < unroll; ++u)
              body(loadVec(x, iadd(start, u * vl)), Value(),
                   MutableArrayRef<Value>(accs).slice(u * numAcc, numAcc));
            return accs;
          });
      SmallVector<Value> out(tot);
      for (unsigned k = 0; k < numAcc; ++k) {
        // Pairwise over the unrolled partials.
        SmallVector<Value> parts;
        for (int64_t u = 0; u < unroll; ++u)
          parts.push_back(inner[u * numAcc + k]);
        while (parts.size() > 1) {
          SmallVector<Value> next;
          for (size_t i = 0; i + 1 < parts.size(); i += 2)
            next.push_back(fadd(parts[i], parts[i + 1]));
          if (parts.size() % 2)
            next.push_back(parts.back());
          parts = next;
        }
        out[k] = fadd(out[k], parts[0]);
      }
      return out;
    };
    if (nBlocks > 0)
      totals =
          forLoop(cI(0), cI(nBlocks), totals, [&](Value blk, ValueRange tot) {
            return block(imul(blk, blockGroups), blockGroups, tot);
          });
    if (remGroups > 0)
      totals = block(cI(nBlocks * blockGroups), remGroups, totals);
    int64_t done = groups * group;
    for (; done + vl <= n; done += vl)
      body(loadVec(x, iadd(base, done)), Value(), totals);
    if (done < n) {
      Value mask = tailMask(n - done);
      body(loadVec(x, iadd(base, done), mask), mask, totals);
    }
    return totals;
  }

  /// Mean and biased variance of x[base, base + n), two passes over the run
  /// (the second from cache). With `wide`, both are f64: a partial result
  /// that is combined further keeps the mean's low bits (the f32 rounding
  /// of a mean of 1e4 is large against a spread of 0.3).
  std::pair<Value, Value> runMoments(Value base, int64_t n, bool wide = false) {
    SmallVector<Value> s =
        reduceRun(base, n, 1, [&](Value v, Value, MutableArrayRef<Value> a) {
          a[0] = fadd(a[0], v);
        });
    return runMomentsFrom(base, n, fdiv(hsum(s[0]), cF(double(n))), wide);
  }
  /// The second pass of runMoments, given the provisional mean `m1`.
  std::pair<Value, Value> runMomentsFrom(Value base, int64_t n, Value m1,
                                         bool wide = false) {
    Value count = cF(double(n));
    Value m1v = splat(m1);
    SmallVector<Value> t = reduceRun(
        base, n, 2, [&](Value v, Value mask, MutableArrayRef<Value> a) {
          Value d = fsub(v, m1v);
          if (mask)
            d = select(mask, d, zeroV());
          a[0] = fadd(a[0], d);
          a[1] = fma(d, d, a[1]);
        });
    Value s1 = fdiv(hsum(t[0]), count);
    Value s2 = fdiv(hsum(t[1]), count);
    Value var =
        arith::MaximumFOp::create(b, loc, fsub(s2, fmul(s1, s1)), cF(0.0));
    // A non-finite provisional mean (an inf or NaN in the run) is the mean.
    if (wide) {
      Value m1d = toF64(m1);
      return {select(isFinite(m1), fadd(m1d, toF64(s1)), m1d), toF64(var)};
    }
    return {select(isFinite(m1), fadd(m1, s1), m1), var};
  }

  Value runMeanSquare(Value base, int64_t n) {
    return fdiv(pass1Sum(pass1Run(base, n)), cF(double(n)));
  }

  /// y[base, base + n) = apply(x[base, base + n)).
  /// Pass 1 of the row statistics, one vector at a time: the plain sum
  /// (moments: a provisional mean, corrected by pass 2) or the sum of
  /// squares (mean_square: it is the statistic, so it accumulates in f64
  /// lanes; compensated f32 sums would chain four dependent additions per
  /// vector and stall the fused apply loop).
  SmallVector<Value> pass1Inits() { return {centered ? zeroV() : zeroWide()}; }
  void pass1Step(Value v, MutableArrayRef<Value> a) {
    if (centered) {
      a[0] = fadd(a[0], v);
      return;
    }
    Value wide =
        arith::ExtFOp::create(b, loc, VectorType::get({vl}, b.getF64Type()), v);
    a[0] = fma(wide, wide, a[0]);
  }
  /// The f32 sum pass 1 accumulated.
  Value pass1Sum(ArrayRef<Value> a) {
    return centered ? hsum(a[0]) : toF32(hsum(a[0]));
  }
  SmallVector<Value> pass1Run(Value base, int64_t n) {
    return reduceRun(
        base, n, 1,
        [&](Value v, Value, MutableArrayRef<Value> a) { pass1Step(v, a); },
        /*wideAccs=*/!centered);
  }

  /// y[base, base + n) = apply(x[base, base + n)). With `next`, the same
  /// loop runs pass 1 over x[next, next + n) into `accs` (software
  /// pipelining: the next row streams in from memory while this one is
  /// normalized from cache).
  void applyRun(Value base, int64_t n, Value mean, Value rstd, ParamRun pw,
                ParamRun pb, Value next = {},
                SmallVectorImpl<Value> *accs = nullptr) {
    // Parameters constant along the run fold into one scale.
    bool fold = !pw.mem && !pb.mem;
    Value meanV = mean ? splat(mean) : Value();
    Value scaleV = splat(fold && pw ? fmul(rstd, pw.scalar) : rstd);
    Value wConst = pw.scalar ? splat(pw.scalar) : Value();
    Value bConst = pb.scalar ? splat(pb.scalar) : Value();
    auto element = [&](Value off, Value mask, bool aligned,
                       SmallVectorImpl<Value> &carried) {
      Value v = loadVec(x, iadd(base, off), mask);
      Value d = meanV ? fsub(v, meanV) : v;
      Value r;
      if (fold) {
        r = bConst ? fma(d, scaleV, bConst) : fmul(d, scaleV);
      } else {
        Value t = fmul(d, scaleV);
        Value wv = pw.mem ? loadVec(pw.mem, iadd(pw.base, off), mask) : wConst;
        Value bv = pb.mem ? loadVec(pb.mem, iadd(pb.base, off), mask) : bConst;
        if (wv)
          r = bv ? fma(t, wv, bv) : fmul(t, wv);
        else
          r = bv ? fadd(t, bv) : t;
      }
      storeVec(r, y, iadd(base, off), mask, aligned);
      if (next)
        pass1Step(loadVec(x, iadd(next, off), mask), carried);
    };
    SmallVector<Value> inits;
    if (accs)
      inits.assign(accs->begin(), accs->end());
    SmallVector<Value> out = accLoop(
        n, inits, nontemporal && n >= kMinStreamRun ? base : Value(), element);
    if (accs)
      *accs = out;
  }

  ParamRun paramRun(Value mem, Value offset, int64_t stride) {
    if (!mem)
      return {};
    if (stride == 0)
      return {loadScalar(mem, offset), {}, {}};
    return {{}, mem, offset};
  }

  /// The apply over segment `s` (R2 elements starting at `base`), with
  /// pass 1 of the segment at `next` fused in when given.
  void applySegment(Value s, Value base, Value mean, Value rstd,
                    Value next = {}, SmallVectorImpl<Value> *accs = nullptr) {
    Value pOff = (w || bias) ? segmentParamOffset(s) : Value();
    auto sub = [&](Value j, SmallVectorImpl<Value> *carried) {
      Value off = pOff ? iadd(pOff, imul(j, l.r2oParamStride)) : Value();
      Value start = imul(j, l.r2i);
      applyRun(iadd(base, start), l.r2i, mean, rstd,
               paramRun(w, off, l.r2iParamStride),
               paramRun(bias, off, l.r2iParamStride),
               next ? iadd(next, start) : Value(), carried);
    };
    if (l.r2o == 1) {
      sub(cI(0), accs);
      return;
    }
    SmallVector<Value> inits;
    if (accs)
      inits.assign(accs->begin(), accs->end());
    SmallVector<Value> out =
        forLoop(cI(0), cI(l.r2o), inits, [&](Value j, ValueRange args) {
          SmallVector<Value> carried(args);
          sub(j, accs ? &carried : nullptr);
          return carried;
        });
    if (accs)
      *accs = out;
  }

  /// Writes the statistics outs at `t` and returns (mean or null, rstd).
  std::pair<Value, Value> storeStats(Value t, Value mean, Value var) {
    Value rstd = rstdOf(var);
    if (centered) {
      storeScalar(mean, outs[1], t);
      storeScalar(var, outs[2], t);
      storeScalar(rstd, outs[3], t);
      return {mean, rstd};
    }
    storeScalar(var, outs[1], t);
    storeScalar(rstd, outs[2], t);
    return {Value(), rstd};
  }

  void emitRow();
  void emitSegment();
  LogicalResult emitColumn();

  KernelOp op;
  const KernelLayout &l;
  int64_t unroll, chunks;
  bool nontemporal, parallel;
  int64_t rowTasks;
  bool stats = false, centered = false;
  Value x, y, w, bias, inMean, inRstd;
  /// The prologue's inputs (x first).
  SmallVector<Value> xInputs;
  SmallVector<Value> outs;
};

} // namespace

LogicalResult KernelEmitter::emit(StringRef strategy) {
  stats = op.computesStatistics();
  centered = op.isCentered();
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
  if (strategy == "row") {
    if (l.size[Run::R1] != 1)
      return op.emitError() << "schedule strategy \"row\" needs R1 = 1, but "
                               "the kernel's layout is "
                            << l.str();
    emitRow();
    return success();
  }
  if (strategy == "segment") {
    emitSegment();
    return success();
  }
  return emitColumn();
}

/// One task per row: statistics from the row (read from memory once, then
/// from cache) and the apply, fused.
void KernelEmitter::emitRow() {
  int64_t n = l.size[Run::R2];
  int64_t rows = l.numSegments();
  if (!stats) {
    parallelLoop(rows, [&](Value s) {
      applySegment(s, imul(s, n), inMean ? loadScalar(inMean, s) : Value(),
                   loadScalar(inRstd, s));
    });
    return;
  }
  // Rows are split into `tasks` contiguous ranges; within one, pass 1 of
  // row s + 1 runs inside the apply of row s, so that memory streams the
  // next row while this one is worked on from cache.
  if (rows == 0)
    return;
  int64_t wantTasks = std::clamp<int64_t>(rowTasks, 1, rows);
  int64_t chunk = (rows + wantTasks - 1) / wantTasks;
  int64_t tasks = (rows + chunk - 1) / chunk;
  parallelLoop(tasks, [&](Value t) {
    Value lo = imul(t, chunk);
    Value hi = arith::MinUIOp::create(b, loc, iadd(lo, chunk), cI(rows));
    Value last = arith::SubIOp::create(b, loc, hi, cI(1));
    SmallVector<Value> first = pass1Run(imul(lo, n), n);
    forLoop(lo, hi, first, [&](Value s, ValueRange args) {
      Value base = imul(s, n);
      Value sum = pass1Sum(SmallVector<Value>(args));
      Value mean, rstd;
      if (centered) {
        auto [m, v] = runMomentsFrom(base, n, fdiv(sum, cF(double(n))));
        std::tie(mean, rstd) = storeStats(s, m, v);
      } else {
        std::tie(mean, rstd) = storeStats(s, Value(), fdiv(sum, cF(double(n))));
      }
      // The last row of the range re-reads itself (from cache) as "next".
      Value next = arith::MinUIOp::create(b, loc, iadd(s, 1), last);
      SmallVector<Value> accs = pass1Inits();
      applySegment(s, base, mean, rstd, imul(next, n), &accs);
      return accs;
    });
  });
}

/// Per-segment statistics, a combine over R1 in f64, then the apply.
void KernelEmitter::emitSegment() {
  int64_t n = l.size[Run::R2], r1 = l.size[Run::R1], p1 = l.size[Run::P1];
  int64_t nseg = l.numSegments();
  Value segA, segB, statMean, statRstd;
  if (stats) {
    // The combined statistics the apply reads are kept here: the outs may
    // share one buffer when the op's statistics results are unused.
    auto statType =
        MemRefType::get({std::max<int64_t>(l.numStats(), 1)}, f32Type);
    statMean = memref::AllocOp::create(b, loc, statType);
    statRstd = memref::AllocOp::create(b, loc, statType);
    auto scratch =
        MemRefType::get({std::max<int64_t>(nseg, 1)}, b.getF64Type());
    segA = memref::AllocOp::create(b, loc, scratch);
    segB = memref::AllocOp::create(b, loc, scratch);
    parallelLoop(nseg, [&](Value s) {
      Value base = imul(s, n);
      if (centered) {
        auto [m, v] = runMoments(base, n, /*wide=*/true);
        storeScalar(m, segA, s);
        storeScalar(v, segB, s);
      } else {
        storeScalar(toF64(runMeanSquare(base, n)), segA, s);
      }
    });
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
  Value meanBuf = stats ? (centered ? statMean : Value()) : inMean;
  Value rstdBuf = stats ? statRstd : inRstd;
  parallelLoop(nseg, [&](Value s) {
    Value t = segmentStat(s);
    Value mean = meanBuf ? loadScalar(meanBuf, t) : Value();
    applySegment(s, imul(s, n), mean, loadScalar(rstdBuf, t));
  });
}

/// Vectors across the contiguous P1 x R2 lanes of each row; R1 split into
/// chunks whose partial sums are combined in a fixed order.
LogicalResult KernelEmitter::emitColumn() {
  if (l.paramsAlongR1)
    return op.emitError() << "schedule strategy \"column\" needs parameters "
                             "constant along R1; layout "
                          << l.str();
  int64_t p0 = l.size[Run::P0], r1 = l.size[Run::R1], p1 = l.size[Run::P1],
          r2 = l.size[Run::R2];
  int64_t lanes = p1 * r2;
  // Chunks of ceil(R1 / chunks) rows; only non-empty ones are kept.
  int64_t k =
      std::min<int64_t>(std::max<int64_t>(chunks, 1), std::max<int64_t>(r1, 1));
  int64_t chunkLen = std::max<int64_t>((r1 + k - 1) / k, 1);
  k = std::max<int64_t>((r1 + chunkLen - 1) / chunkLen, 1);
  // The apply's per-lane vectors of each sample are extended by one vector
  // that repeats them from lane 0, so a vector load starting at any lane
  // reads on across the row boundary.
  int64_t ext = lanes + vl;
  auto applyType = MemRefType::get({std::max<int64_t>(p0 * ext, 1)}, f32Type);
  Value laneMean = centered
                       ? memref::AllocOp::create(b, loc, applyType).getResult()
                       : Value();
  Value laneScale = memref::AllocOp::create(b, loc, applyType);
  Value laneBias = memref::AllocOp::create(b, loc, applyType);

  // Per-lane apply vectors for statistic (q0, q1) over lanes q1 * r2 + j.
  auto fillLanes = [&](Value q0, Value q1, Value mean, Value rstd) {
    forLoop(r2, [&](Value j) {
      Value lane = iadd(imul(q1, r2), j);
      Value at = iadd(imul(q0, ext), lane);
      Value scale = rstd, shift = cF(0.0);
      if (w || bias) {
        Value off = addOpt(
            *this,
            addOpt(*this,
                   l.dims[Run::P0].empty() ? Value()
                                           : runParamOffset(Run::P0, q0),
                   l.dims[Run::P1].empty() ? Value()
                                           : runParamOffset(Run::P1, q1)),
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
  };

  auto wrapLanes = [&](Value q0) {
    forLoop(vl, [&](Value i) {
      Value from = iadd(imul(q0, ext), irem(i, lanes));
      Value to = iadd(imul(q0, ext), iadd(i, lanes));
      for (Value arr : {laneMean, laneScale, laneBias})
        if (arr)
          storeScalar(loadScalar(arr, from), arr, to);
    });
  };

  if (stats) {
    // Per chunk and lane, in f64: the chunk's mean and M2 (moments: two
    // passes over the chunk, the second from L2, so an outlier row costs no
    // accuracy) or its sum of squares (mean_square).
    auto partType =
        MemRefType::get({std::max<int64_t>(p0 * k * lanes, 1)}, b.getF64Type());
    Value partA = memref::AllocOp::create(b, loc, partType);
    Value partB = memref::AllocOp::create(b, loc, partType);
    auto wideType = VectorType::get({vl}, b.getF64Type());
    auto wide = [&](Value v) -> Value {
      return arith::ExtFOp::create(b, loc, wideType, v);
    };
    auto storeW = [&](Value v, Value mem, Value i, Value mask) {
      if (mask)
        vector::MaskedStoreOp::create(b, loc, mem, ValueRange{i}, mask, v);
      else
        vector::StoreOp::create(b, loc, v, mem, ValueRange{i});
    };
    auto splatW = [&](Value scalar) -> Value {
      return vector::BroadcastOp::create(b, loc, wideType, scalar);
    };
    auto countOf = [&](Value c) -> Value {
      // Rows in chunk c, as f64.
      Value lo = imul(c, chunkLen);
      Value hi = arith::MinUIOp::create(b, loc, iadd(lo, chunkLen), cI(r1));
      Value n = arith::IndexCastOp::create(
          b, loc, b.getI64Type(), arith::SubIOp::create(b, loc, hi, lo));
      return arith::SIToFPOp::create(b, loc, b.getF64Type(), n);
    };
    // Chunk (q0, c), lanes [lane0, lane0 + count * vl) (the last vector
    // masked by `lastMask`): both passes keep their accumulators in
    // registers over the chunk's rows (which stay in L2 between passes and
    // lane blocks); results go to the f64 partials.
    auto laneBlock = [&](Value q0, Value c, Value lane0, int64_t count,
                         Value lastMask) {
      Value lo = imul(c, chunkLen);
      Value hi = arith::MinUIOp::create(b, loc, iadd(lo, chunkLen), cI(r1));
      auto maskOf = [&](int64_t u) {
        return u == count - 1 ? lastMask : Value();
      };
      // `body(u, v, accs)` updates `accsPer` f32 accumulators of vector u;
      // every kRowBlock rows they are added into f64 totals (returned), so
      // long chunks with outlier rows keep their small terms.
      auto overRows =
          [&](unsigned accsPer,
              function_ref<void(int64_t, Value, MutableArrayRef<Value>)> body) {
            SmallVector<Value> totals(count * accsPer, zeroWide());
            Value blocks =
                idiv(iadd(arith::SubIOp::create(b, loc, hi, lo), kRowBlock - 1),
                     kRowBlock);
            return forLoop(
                cI(0), blocks, totals, [&](Value blk, ValueRange tot) {
                  Value blo = iadd(lo, imul(blk, kRowBlock));
                  Value bhi =
                      arith::MinUIOp::create(b, loc, iadd(blo, kRowBlock), hi);
                  SmallVector<Value> inits(count * accsPer, zeroV());
                  SmallVector<Value> accs =
                      forLoop(blo, bhi, inits, [&](Value row, ValueRange args) {
                        SmallVector<Value> a(args);
                        Value rowBase = imul(iadd(imul(q0, r1), row), lanes);
                        for (int64_t u = 0; u < count; ++u)
                          body(u,
                               loadVec(x, iadd(iadd(rowBase, lane0), u * vl),
                                       maskOf(u)),
                               MutableArrayRef<Value>(a).slice(u * accsPer,
                                                               accsPer));
                        return a;
                      });
                  SmallVector<Value> out;
                  for (auto [t, a] : llvm::zip(tot, accs))
                    out.push_back(fadd(t, wide(a)));
                  return out;
                });
          };
      Value part = iadd(imul(iadd(imul(q0, k), c), lanes), lane0);
      auto at = [&](int64_t u) { return iadd(part, u * vl); };
      if (!centered) {
        SmallVector<Value> ss =
            overRows(1, [&](int64_t, Value v, MutableArrayRef<Value> a) {
              a[0] = fma(v, v, a[0]);
            });
        for (int64_t u = 0; u < count; ++u)
          storeW(ss[u], partB, at(u), maskOf(u));
        return;
      }
      Value nW = splatW(countOf(c));
      // Pass a: provisional means.
      SmallVector<Value> sums =
          overRows(1, [&](int64_t, Value v, MutableArrayRef<Value> a) {
            a[0] = fadd(a[0], v);
          });
      SmallVector<Value> means;
      for (Value sum : sums)
        means.push_back(arith::TruncFOp::create(b, loc, vf, fdiv(sum, nW)));
      // Pass b: deviations from them.
      SmallVector<Value> dev =
          overRows(2, [&](int64_t u, Value v, MutableArrayRef<Value> a) {
            Value d = fsub(v, means[u]);
            if (Value mask = maskOf(u))
              d = select(mask, d, zeroV());
            a[0] = fadd(a[0], d);
            a[1] = fma(d, d, a[1]);
          });
      for (int64_t u = 0; u < count; ++u) {
        Value mean = wide(means[u]);
        Value dsum = dev[2 * u];
        Value corrected = fadd(mean, fdiv(dsum, nW));
        Value m2 = fsub(dev[2 * u + 1], fdiv(fmul(dsum, dsum), nW));
        // A non-finite mean (inf or NaN in the column) is kept as it is.
        Value finite = arith::CmpFOp::create(
            b, loc, arith::CmpFPredicate::OLT,
            math::AbsFOp::create(b, loc, mean),
            splatW(cD(std::numeric_limits<double>::infinity())));
        storeW(select(finite, corrected, mean), partA, at(u), maskOf(u));
        storeW(m2, partB, at(u), maskOf(u));
      }
    };
    parallelLoop(p0 * k, [&](Value j) {
      Value q0 = idiv(j, k), c = irem(j, k);
      int64_t blockLanes = vl * unroll;
      int64_t fullBlocks = lanes / blockLanes;
      if (fullBlocks > 0)
        forLoop(fullBlocks, [&](Value blk) {
          laneBlock(q0, c, imul(blk, blockLanes), unroll, Value());
        });
      int64_t done = fullBlocks * blockLanes;
      int64_t rest = lanes - done;
      if (rest > 0)
        laneBlock(q0, c, cI(done), (rest + vl - 1) / vl,
                  rest % vl ? tailMask(rest % vl) : Value());
    });
    // Combine chunks per column (Chan et al.), then columns per statistic,
    // in a fixed order, in f64.
    parallelLoop(p0, [&](Value q0) {
      forLoop(p1, [&](Value q1) {
        Value t = iadd(imul(q0, p1), q1);
        auto at = [&](Value c, Value lane) {
          return iadd(imul(iadd(imul(q0, k), c), lanes), lane);
        };
        Value total = cD(double(r1 * r2));
        if (!centered) {
          Value ss =
              forLoop(cI(0), cI(r2), {cD(0.0)},
                      [&](Value j, ValueRange acc) -> SmallVector<Value> {
                        Value lane = iadd(imul(q1, r2), j);
                        return forLoop(
                            cI(0), cI(k), {acc[0]},
                            [&](Value c, ValueRange a) -> SmallVector<Value> {
                              return {fadd(a[0], loadWide(partB, at(c, lane)))};
                            });
                      })[0];
          auto [mean, rstd] = storeStats(t, Value(), toF32(fdiv(ss, total)));
          fillLanes(q0, q1, mean, rstd);
          return;
        }
        // (mean, M2) of column `lane` over all R1 rows.
        auto column = [&](Value lane) -> std::pair<Value, Value> {
          Value sum =
              forLoop(cI(0), cI(k), {cD(0.0)},
                      [&](Value c, ValueRange a) -> SmallVector<Value> {
                        return {fadd(a[0], fmul(countOf(c),
                                                loadWide(partA, at(c, lane))))};
                      })[0];
          Value mean = fdiv(sum, cD(double(r1)));
          Value m2 = forLoop(
              cI(0), cI(k), {cD(0.0)},
              [&](Value c, ValueRange a) -> SmallVector<Value> {
                Value dm = fsub(loadWide(partA, at(c, lane)), mean);
                return {fadd(a[0], fadd(loadWide(partB, at(c, lane)),
                                        fmul(countOf(c), fmul(dm, dm))))};
              })[0];
          return {mean, m2};
        };
        Value sumMean = forLoop(
            cI(0), cI(r2), {cD(0.0)},
            [&](Value j, ValueRange acc) -> SmallVector<Value> {
              return {fadd(acc[0], column(iadd(imul(q1, r2), j)).first)};
            })[0];
        Value mean = fdiv(sumMean, cD(double(r2)));
        Value m2 = forLoop(
            cI(0), cI(r2), {cD(0.0)},
            [&](Value j, ValueRange acc) -> SmallVector<Value> {
              auto [cm, cm2] = column(iadd(imul(q1, r2), j));
              Value dm = fsub(cm, mean);
              return {
                  fadd(acc[0], fadd(cm2, fmul(cD(double(r1)), fmul(dm, dm))))};
            })[0];
        Value var =
            toF32(arith::MaximumFOp::create(b, loc, fdiv(m2, total), cD(0.0)));
        auto [m, rstd] = storeStats(t, toF32(mean), var);
        fillLanes(q0, q1, m, rstd);
      });
      wrapLanes(q0);
    });
  } else {
    parallelLoop(p0, [&](Value q0) {
      forLoop(p1, [&](Value q1) {
        Value t = iadd(imul(q0, p1), q1);
        fillLanes(q0, q1, inMean ? loadScalar(inMean, t) : Value(),
                  loadScalar(inRstd, t));
      });
      wrapLanes(q0);
    });
  }

  // The apply: each task streams a contiguous range of whole rows of one
  // sample as a flat run, tracking the lane of each vector.
  int64_t tasksPerSample = 1;
  int64_t wanted =
      (kApplyTasks + std::max<int64_t>(p0, 1) - 1) / std::max<int64_t>(p0, 1);
  for (int64_t d = std::min<int64_t>(r1, wanted); d > 1; --d)
    if (r1 % d == 0) {
      tasksPerSample = d;
      break;
    }
  int64_t rowsPerTask = r1 / tasksPerSample;
  int64_t len = rowsPerTask * lanes;
  parallelLoop(p0 * tasksPerSample, [&](Value j) {
    Value q0 = idiv(j, tasksPerSample);
    Value laneBase = imul(q0, ext);
    Value start = imul(j, len);
    auto element = [&](Value off, Value lane, Value mask, bool aligned) {
      Value v = loadVec(x, iadd(start, off), mask);
      Value at = iadd(laneBase, lane);
      Value d = laneMean ? fsub(v, loadVec(laneMean, at, mask)) : v;
      Value r =
          fma(d, loadVec(laneScale, at, mask), loadVec(laneBias, at, mask));
      storeVec(r, y, iadd(start, off), mask, aligned);
    };
    flatLoop(start, len, lanes, element);
  });
  return success();
}

namespace {
struct ConvertNormToVectorPass
    : public normlir::impl::ConvertNormToVectorBase<ConvertNormToVectorPass> {
  void runOnOperation() override {
    SmallVector<KernelOp> kernels;
    getOperation()->walk([&](KernelOp k) { kernels.push_back(k); });
    for (KernelOp k : kernels) {
      if (failed(lower(k)))
        return signalPassFailure();
    }
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
    if (isa_and_nonnull<GPUScheduleAttr>(k.getScheduleAttr()))
      return k.emitError("has a GPU schedule; lower it with "
                         "convert-norm-to-gpu, or re-run norm-tile with "
                         "force");
    auto schedule = dyn_cast_or_null<ScheduleAttr>(k.getScheduleAttr());
    if (!schedule)
      return k.emitError("has no schedule; run norm-tile first");
    auto inType = cast<MemRefType>(k.getInput().getType());
    std::string why;
    std::optional<KernelLayout> layout = analyzeKernelLayout(
        inType.getShape(), k.getAxes(), k.getParamAxes(), &why);
    if (!layout)
      return k.emitError() << "cannot vectorize: " << why;
    OpBuilder b(k);
    KernelEmitter emitter(b, k, *layout, schedule);
    if (failed(emitter.emit(schedule.getStrategy())))
      return failure();
    k.erase();
    return success();
  }
};
} // namespace
