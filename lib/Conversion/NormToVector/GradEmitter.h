//===- GradEmitter.h - shared machinery of the backward lowerings -*- C++
//-*-===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// Internal to convert-norm-to-vector: what the row (GradRow.cpp) and channel
// (GradChannel.cpp) lowerings of norm.grad_kernel both build from: vector
// loads and stores of any element type through f32, runs of vectors with a
// masked tail, f64 lanes for the sums.
//
//===----------------------------------------------------------------------===//

#ifndef NORMLIR_LIB_CONVERSION_NORMTOVECTOR_GRADEMITTER_H
#define NORMLIR_LIB_CONVERSION_NORMTOVECTOR_GRADEMITTER_H

#include "normlir/Dialect/Norm/Utils/EmitterBase.h"

#include "mlir/Dialect/SCF/IR/SCF.h"

namespace normlir::normtovector {

class GradEmitterBase : public norm::EmitterBase {
protected:
  GradEmitterBase(mlir::OpBuilder &b, mlir::Location loc, int64_t vl)
      : EmitterBase(b, loc, vl),
        vd(mlir::VectorType::get({vl}, b.getF64Type())) {}

  /// Views `op`'s buffers as 1-D: x, dy, the weight and the given
  /// statistics where present (unless the schedule recomputes them), dx
  /// and, with three outs, dw and db.
  void bindBuffers(norm::GradKernelOp op) {
    x = flatten(op.getInput());
    dy = flatten(op.getGrad());
    w = op.getWeight() ? flatten(op.getWeight()) : mlir::Value();
    norm::GradScheduleAttr schedule = op.getScheduleAttr();
    bool recompute = schedule && schedule.getStatistics() ==
                                     norm::GradStatistics::Recomputed;
    if (!recompute) {
      savedRstd = op.getRstd() ? flatten(op.getRstd()) : mlir::Value();
      savedMean = op.getMean() ? flatten(op.getMean()) : mlir::Value();
    }
    dres = op.getResidualGrad() ? flatten(op.getResidualGrad()) : mlir::Value();
    nontemporal = schedule && schedule.getNontemporal();
    dx = flatten(op.getOuts()[0]);
    if (op.getOuts().size() == 3) {
      dw = flatten(op.getOuts()[1]);
      db = flatten(op.getOuts()[2]);
    }
  }

  /// A vector of `mem` at `i` in its element type (masked lanes 0).
  mlir::Value loadRawVec(mlir::Value mem, mlir::Value i, mlir::Value mask) {
    mlir::Type elt =
        mlir::cast<mlir::MemRefType>(mem.getType()).getElementType();
    auto vt = mlir::VectorType::get({vl}, elt);
    if (!mask)
      return mlir::vector::LoadOp::create(b, loc, vt, mem, mlir::ValueRange{i});
    mlir::Value zero = mlir::arith::ConstantOp::create(
        b, loc, mlir::DenseElementsAttr::get(vt, b.getFloatAttr(elt, 0.0)));
    return mlir::vector::MaskedLoadOp::create(b, loc, vt, mem,
                                              mlir::ValueRange{i}, mask, zero);
  }
  /// A vector of `mem` at `i` (masked lanes 0), as f32.
  mlir::Value loadVec(mlir::Value mem, mlir::Value i, mlir::Value mask) {
    return toF32Vec(loadRawVec(mem, i, mask));
  }
  /// Stores the vector `v` (f32 or f64 lanes) into `mem` at `i`, rounded to
  /// the buffer's element type; `aligned`: a streaming store (streamLoop).
  void storeVec(mlir::Value v, mlir::Value mem, mlir::Value i, mlir::Value mask,
                bool aligned = false) {
    mlir::Type elt =
        mlir::cast<mlir::MemRefType>(mem.getType()).getElementType();
    if (mlir::cast<mlir::VectorType>(v.getType()).getElementType() != elt)
      v = mlir::arith::TruncFOp::create(b, loc,
                                        mlir::VectorType::get({vl}, elt), v);
    storeAt(v, mem, i, mask, aligned);
  }
  /// Stores dx (f32 lanes) at `i`, plus the residual gradient where the
  /// kernel has one: added in f32, rounded once (C11's reference).
  /// `aligned`: streamed (dxVectors).
  void storeDx(mlir::Value v, mlir::Value i, mlir::Value mask,
               bool aligned = false) {
    if (dres)
      v = mlir::arith::AddFOp::create(b, loc, v, loadVec(dres, i, mask));
    storeVec(v, dx, i, mask, aligned);
  }
  /// The vectors of a pass that stores dx[start, start + n):
  /// `body(offset, mask, aligned)`. Under a nontemporal schedule a run of
  /// kMinStreamRun elements or more is split so that its aligned vectors
  /// stream (`aligned`, for storeDx): dx is written once and not read
  /// again by the kernel, and streaming skips each line's read for
  /// ownership, a third of the traffic of x and dy read and dx written.
  void dxVectors(mlir::Value start, int64_t n, VectorBody body) {
    streamLoop(n, nontemporal && n >= norm::kMinStreamRun ? dx : mlir::Value(),
               start, body);
  }
  mlir::Value zeroD() {
    return mlir::arith::ConstantOp::create(
        b, loc, mlir::DenseElementsAttr::get(vd, b.getF64FloatAttr(0.0)));
  }
  /// The f64 scalar `s` over f64 lanes.
  mlir::Value splatD(mlir::Value s) {
    return mlir::vector::BroadcastOp::create(b, loc, vd, s);
  }
  /// The f32 vector `v` in f64 lanes.
  mlir::Value wide(mlir::Value v) {
    return mlir::arith::ExtFOp::create(b, loc, vd, v);
  }
  /// acc + f64(v), lanewise.
  mlir::Value addWide(mlir::Value acc, mlir::Value v) {
    return mlir::arith::AddFOp::create(b, loc, acc, wide(v));
  }
  /// The f64 sum of the lanes of `acc`.
  mlir::Value sumLanes(mlir::Value acc) {
    return mlir::vector::ReductionOp::create(
        b, loc, mlir::vector::CombiningKind::ADD, acc);
  }

  /// The vectors of a run of `n` elements: `body(offset, mask)` for each
  /// (mask null but for the tail), threading `accs` through.
  llvm::SmallVector<mlir::Value>
  vectors(int64_t n, mlir::ValueRange accs,
          llvm::function_ref<llvm::SmallVector<mlir::Value>(
              mlir::Value, mlir::Value, mlir::ValueRange)>
              body) {
    int64_t full = n / vl;
    llvm::SmallVector<mlir::Value> cur(accs);
    if (full > 0)
      cur =
          forLoop(cI(0), cI(full), cur, [&](mlir::Value k, mlir::ValueRange a) {
            return body(imul(k, vl), mlir::Value(), a);
          });
    if (n % vl)
      cur = body(cI(full * vl), tailMask(n % vl), cur);
    return cur;
  }
  /// Sums over a run of `n` elements in f64 lanes, taken in blocks: `body`
  /// adds one vector's terms (at `offset`, masked lanes 0 when `mask` is
  /// set) into f32 accumulators, which are widened into the f64 ones every
  /// kSumBlock vectors. f32 adds cost a fraction of widening every term,
  /// and a block's 16 f32 terms per lane keep the rounding near f32's
  /// epsilon, far below what the f64 sum over blocks then adds.
  llvm::SmallVector<mlir::Value>
  blockedSums(int64_t n, unsigned numSums,
              llvm::function_ref<llvm::SmallVector<mlir::Value>(
                  mlir::Value, mlir::Value, mlir::ValueRange)>
                  body) {
    constexpr int64_t kSumBlock = 16;
    int64_t full = n / vl, blocks = full / kSumBlock;
    llvm::SmallVector<mlir::Value> zerosF(numSums, zeroV());
    auto widenInto = [&](mlir::ValueRange accD, mlir::ValueRange accF) {
      llvm::SmallVector<mlir::Value> next;
      for (auto [d, f] : llvm::zip(accD, accF))
        next.push_back(addWide(d, f));
      return next;
    };
    // `count` whole vectors from vector `first` on, in f32.
    auto run = [&](mlir::Value first, int64_t count) {
      return forLoop(cI(0), cI(count), zerosF,
                     [&](mlir::Value k, mlir::ValueRange a) {
                       return body(imul(iadd(first, k), vl), mlir::Value(), a);
                     });
    };
    llvm::SmallVector<mlir::Value> acc(numSums, zeroD());
    if (blocks > 0)
      acc = forLoop(cI(0), cI(blocks), acc,
                    [&](mlir::Value blk, mlir::ValueRange a) {
                      return widenInto(a, run(imul(blk, kSumBlock), kSumBlock));
                    });
    if (int64_t rest = full % kSumBlock)
      acc = widenInto(acc, run(cI(blocks * kSumBlock), rest));
    if (n % vl)
      acc = widenInto(acc, body(cI(full * vl), tailMask(n % vl), zerosF));
    return acc;
  }
  /// The sums of blockedSums, or, with `exact`, in f64 lanes throughout:
  /// for sums about a shift that may lie far from the values (a row's or
  /// run's first element, an outlier in the worst case), where the
  /// variance E[d^2] - E[d]^2 cancels and f32 block sums would lose it.
  /// About the saved mean (or 0, uncentred) the blocks are exact enough.
  /// The body widens its f32 terms to the accumulators' lanes (lanesOf).
  llvm::SmallVector<mlir::Value>
  shiftedSums(int64_t n, unsigned numSums, bool exact,
              llvm::function_ref<llvm::SmallVector<mlir::Value>(
                  mlir::Value, mlir::Value, mlir::ValueRange)>
                  body) {
    if (!exact)
      return blockedSums(n, numSums, body);
    return vectors(n, llvm::SmallVector<mlir::Value>(numSums, zeroD()), body);
  }
  /// The f32 vector `v` in the lanes of the accumulator `acc` (f32 or f64).
  mlir::Value lanesOf(mlir::Value v, mlir::Value acc) {
    return acc.getType() == vd ? wide(v) : v;
  }
  /// `vectors` without values carried through.
  void eachVector(int64_t n,
                  llvm::function_ref<void(mlir::Value, mlir::Value)> body) {
    vectors(n, {}, [&](mlir::Value off, mlir::Value mask, mlir::ValueRange) {
      body(off, mask);
      return llvm::SmallVector<mlir::Value>{};
    });
  }
  /// `body(i)` for i in [lo, hi).
  void loop(mlir::Value lo, mlir::Value hi,
            llvm::function_ref<void(mlir::Value)> body) {
    forLoop(lo, hi, {}, [&](mlir::Value i, mlir::ValueRange) {
      body(i);
      return llvm::SmallVector<mlir::Value>{};
    });
  }
  /// `body(t)` for t in [0, n): one thread task each when `parallel`.
  void tasks(int64_t n, bool parallel,
             llvm::function_ref<void(mlir::Value)> body) {
    if (n > 1 && parallel) {
      mlir::scf::ParallelOp::create(
          b, loc, mlir::ValueRange{cI(0)}, mlir::ValueRange{cI(n)},
          mlir::ValueRange{cI(1)},
          [&](mlir::OpBuilder &nb, mlir::Location, mlir::ValueRange ivs) {
            mlir::OpBuilder::InsertionGuard guard(b);
            b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
            body(ivs[0]);
          });
      return;
    }
    loop(cI(0), cI(n), body);
  }

  mlir::VectorType vd;
  /// The kernel's buffers, 1-D (bindBuffers; null where absent); the given
  /// statistics (saved or constant) over the statistics; the residual
  /// gradient added to dx.
  mlir::Value x, dy, w, savedMean, savedRstd, dres, dx, dw, db;
  /// Whether the schedule streams dx (#norm.grad_schedule's nontemporal).
  bool nontemporal = false;
};

} // namespace normlir::normtovector

#endif // NORMLIR_LIB_CONVERSION_NORMTOVECTOR_GRADEMITTER_H
