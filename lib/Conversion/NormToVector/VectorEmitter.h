//===- VectorEmitter.h - machinery of the vector lowering -------*- C++ -*-===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// Internal to convert-norm-to-vector. VectorEmitter holds what the three
// strategies (Row.cpp, Segment.cpp, Column.cpp) build from: loads and stores
// with masks and the kernel's prologue/epilogue, scf.for and scf.parallel
// loops, vector loops with masked tails and streaming stores, parameter
// runs, reductions over a contiguous run and the fused apply
// (VectorEmitter.cpp), and the bf16 apply in pairs (BF16Pairs.cpp). Each
// strategy is a rewrite pattern on norm.kernel declared here.
//
//===----------------------------------------------------------------------===//

#ifndef NORMLIR_LIB_CONVERSION_NORMTOVECTOR_VECTOREMITTER_H
#define NORMLIR_LIB_CONVERSION_NORMTOVECTOR_VECTOREMITTER_H

#include "normlir/Dialect/Norm/IR/Norm.h"
#include "normlir/Dialect/Norm/Utils/EmitterBase.h"
#include "normlir/Dialect/Norm/Utils/KernelLayout.h"
#include "normlir/Dialect/Norm/Utils/Statistics.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"

#include <optional>
#include <utility>

namespace normlir::normtovector {

using norm::kMinStreamRun;

//===----------------------------------------------------------------------===//
// Patterns
//===----------------------------------------------------------------------===//

/// A kernel a strategy pattern lowers: bufferized, with a vectorizable
/// layout and a #norm.schedule.
using VectorKernel = norm::MatchedKernel<norm::ScheduleAttr>;

/// matchKernel for this lowering's schedule attribute.
inline std::optional<VectorKernel>
matchVectorKernel(norm::KernelOp op, norm::Strategy strategy,
                  mlir::PatternRewriter &rewriter, bool dynamicSizes = false) {
  return norm::matchKernel<norm::ScheduleAttr>(op, strategy, rewriter,
                                               dynamicSizes);
}

/// Strategy row (Row.cpp): one task per range of rows, each row read from
/// memory once (pass 1), its statistics and apply from cache, later rows
/// prefetched.
struct LowerRowKernel : mlir::OpRewritePattern<norm::KernelOp> {
  using OpRewritePattern::OpRewritePattern;
  mlir::LogicalResult
  matchAndRewrite(norm::KernelOp op,
                  mlir::PatternRewriter &rewriter) const override;
};

/// Strategy segment (Segment.cpp): statistics per contiguous segment, a
/// combine over R1, then the apply.
struct LowerSegmentKernel : mlir::OpRewritePattern<norm::KernelOp> {
  using OpRewritePattern::OpRewritePattern;
  mlir::LogicalResult
  matchAndRewrite(norm::KernelOp op,
                  mlir::PatternRewriter &rewriter) const override;
};

/// Strategy column (Column.cpp): vectors across the contiguous columns,
/// chunked partial sums combined in a fixed order, then the apply.
struct LowerColumnKernel : mlir::OpRewritePattern<norm::KernelOp> {
  using OpRewritePattern::OpRewritePattern;
  mlir::LogicalResult
  matchAndRewrite(norm::KernelOp op,
                  mlir::PatternRewriter &rewriter) const override;
};

/// The backward (norm.grad_kernel on memrefs): a row norm (GradRow.cpp),
/// each row read from memory once, the parameter gradients summed from
/// per-task partials in task order; else a channel norm
/// (emitGradChannelKernel). Reports its own errors.
struct LowerGradKernel : mlir::OpRewritePattern<norm::GradKernelOp> {
  using OpRewritePattern::OpRewritePattern;
  mlir::LogicalResult
  matchAndRewrite(norm::GradKernelOp op,
                  mlir::PatternRewriter &rewriter) const override;
};

/// Builds the backward of a channel norm (GradChannel.cpp) of `layout` in
/// `form` (Segment or Column, classifyGradKernel) at `b`'s insertion point,
/// for a target with `l2Bytes` of L2 cache per core.
void emitGradChannelKernel(mlir::OpBuilder &b, norm::GradKernelOp op,
                           const norm::KernelLayout &layout,
                           norm::GradForm form, int64_t vectorWidth,
                           int64_t l2Bytes);

//===----------------------------------------------------------------------===//
// VectorEmitter
//===----------------------------------------------------------------------===//

/// Where a weight or bias comes from inside one contiguous run: a value that
/// is constant along the run, or a vector load at `base + offset`.
struct ParamRun {
  mlir::Value scalar; ///< f32, constant along the run.
  mlir::Value mem;    ///< 1-D buffer, read contiguously from `base`.
  mlir::Value base;
  explicit operator bool() const { return scalar || mem; }
};

/// The CPU as the statistics core sees it: vector lanes, one thread per
/// task (tasks share memory, not registers).
class VectorTarget final : public norm::ReductionTarget {
public:
  /// A fixed tree (log2 lanes shuffles), not a chain of lane additions.
  mlir::Value sumLanes(mlir::OpBuilder &b, mlir::Location loc,
                       mlir::Value v) override {
    return mlir::vector::ReductionOp::create(
        b, loc, mlir::vector::CombiningKind::ADD, v,
        mlir::arith::FastMathFlags::reassoc);
  }
};

/// Builds the loops of one kernel, following its #norm.schedule, at the
/// builder's insertion point; a strategy derives from it and adds `emit()`.
class VectorEmitter : public norm::KernelEmitterBase {
public:
  VectorEmitter(mlir::OpBuilder &b, norm::KernelOp op,
                const norm::KernelLayout &layout, norm::ScheduleAttr schedule)
      : KernelEmitterBase(b, op, layout, schedule.getVectorWidth()),
        statistics(makeStatistics(target)), unroll(schedule.getUnroll()),
        chunks(schedule.getChunks()), nontemporal(schedule.getNontemporal()),
        parallel(schedule.getParallel()), rowTasks(schedule.getRowTasks()),
        prefetch(schedule.getPrefetch()) {
    initRunLengths();
  }

protected:
  //===--------------------------------------------------------------------===//
  // Small builders
  //===--------------------------------------------------------------------===//

  mlir::Value cD(double v) {
    return mlir::arith::ConstantOp::create(b, loc, b.getF64FloatAttr(v));
  }
  /// The f64 vector type of `vl` lanes (wide accumulators).
  mlir::VectorType wideType() {
    return mlir::VectorType::get({vl}, b.getF64Type());
  }
  /// A zero vector of f64 lanes.
  mlir::Value zeroWide() {
    return mlir::arith::ConstantOp::create(
        b, loc,
        mlir::DenseElementsAttr::get(wideType(), b.getF64FloatAttr(0.0)));
  }
  mlir::Value splatWide(mlir::Value scalar) {
    return mlir::vector::BroadcastOp::create(b, loc, wideType(), scalar);
  }
  mlir::Value toF32(mlir::Value v) {
    return mlir::arith::TruncFOp::create(b, loc, f32Type, v);
  }
  /// The sum of `v`'s lanes (VectorTarget::sumLanes).
  mlir::Value hsum(mlir::Value v) { return statistics.sumLanes(v); }
  /// a + c; a null operand stands for 0 (parameter offsets of runs that
  /// hold no parameter axis).
  mlir::Value addOpt(mlir::Value a, mlir::Value c) {
    if (!a)
      return c;
    if (!c)
      return a;
    return iadd(a, c);
  }

  //===--------------------------------------------------------------------===//
  // Memory
  //===--------------------------------------------------------------------===//

  mlir::Value loadWide(mlir::Value mem, mlir::Value i) {
    return mlir::memref::LoadOp::create(b, loc, mem, mlir::ValueRange{i});
  }
  /// Stores a vector as it is (f64 partials).
  void storeWide(mlir::Value v, mlir::Value mem, mlir::Value i,
                 mlir::Value mask);
  /// Loads `vl` elements at `i` as they are (masked-off lanes read 0).
  mlir::Value loadRaw(mlir::Value mem, mlir::Value i, mlir::Value mask);
  /// Loads `vl` elements at `i` as f32 (masked-off lanes read 0); the input
  /// `x` through the kernel's prologue.
  mlir::Value loadVec(mlir::Value mem, mlir::Value i, mlir::Value mask = {}) {
    return loadF32(mem, [&](mlir::Value in) { return loadRaw(in, i, mask); });
  }
  /// Stores an f32 vector, rounded to the buffer's element type; the output
  /// `y` through the kernel's epilogue. `streaming` stores must be at an
  /// address aligned to the vector size.
  void storeVec(mlir::Value v, mlir::Value mem, mlir::Value i,
                mlir::Value mask = {}, bool streaming = false);
  /// A 1-D scratch buffer of `n` elements of `elt`, at least one (a kernel
  /// of no statistics allocates a valid buffer it never reads), sized at
  /// run time where `n` is dynamic.
  mlir::Value allocScratch(const norm::Extent &n, mlir::Type elt) {
    if (n.isStatic())
      return mlir::memref::AllocOp::create(
          b, loc, mlir::MemRefType::get({std::max<int64_t>(n.fixed, 1)}, elt));
    mlir::Value size = mlir::arith::MaxUIOp::create(b, loc, n.value, cI(1));
    return mlir::memref::AllocOp::create(
        b, loc, mlir::MemRefType::get({mlir::ShapedType::kDynamic}, elt),
        mlir::ValueRange{size});
  }
  /// `mem` (a 1-D parameter buffer) as f32: itself when it is f32, else a
  /// scratch copy converted once, so that a kernel that reads it for every
  /// row does not convert it again each time (bf16 on AVX2: two
  /// instructions per vector and parameter).
  mlir::Value widenToF32(mlir::Value mem);

  //===--------------------------------------------------------------------===//
  // Loops
  //===--------------------------------------------------------------------===//

  /// scf.for lb..ub with iter args (EmitterBase).
  using EmitterBase::forLoop;
  /// `body(i)` for i in [0, n): no loop for n = 1, nothing for n = 0.
  void forLoop(int64_t n, llvm::function_ref<void(mlir::Value)> body);
  /// One thread task per index of [0, n) (a plain loop for kernels too
  /// small to be worth waking threads).
  void parallelLoop(int64_t n, llvm::function_ref<void(mlir::Value)> body);
  /// parallelLoop over [0, n), `n` known at run time.
  void parallelLoop(mlir::Value n, llvm::function_ref<void(mlir::Value)> body);
  void parallelLoop(const norm::Extent &n,
                    llvm::function_ref<void(mlir::Value)> body) {
    if (n.isStatic())
      parallelLoop(n.fixed, body);
    else
      parallelLoop(n.value, body);
  }

  /// Vectors over [0, n); with `streamBase`, split for streaming stores to
  /// y[streamBase + ...] (EmitterBase::streamLoop).
  void vectorLoop(const norm::Extent &n, mlir::Value streamBase,
                  VectorBody body) {
    streamLoop(n, streamBase ? y : mlir::Value(), streamBase, body);
  }
  /// Vectors over the flat run y[start, start + len) made of rows of
  /// `lanes` elements: `body(offset, lane, mask, aligned)` with the lane of
  /// the vector's first element. Streaming stores are split as in vectorLoop.
  void
  flatLoop(mlir::Value start, const norm::Extent &len, int64_t lanes,
           llvm::function_ref<void(mlir::Value, mlir::Value, mlir::Value, bool)>
               body);

  //===--------------------------------------------------------------------===//
  // Parameters and statistics
  //===--------------------------------------------------------------------===//

  /// Parameter offset of segment `s` = (p0, r1, p1).
  mlir::Value segmentParamOffset(mlir::Value s);
  /// The weight or bias `mem` along a run whose parameter offset starts at
  /// `offset` and steps by `stride`: one scalar when the stride is 0.
  ParamRun paramRun(mlir::Value mem, mlir::Value offset, int64_t stride);
  /// Writes the statistics outs at `t` and returns (mean or null, rstd).
  std::pair<mlir::Value, mlir::Value>
  storeStats(mlir::Value t, mlir::Value mean, mlir::Value var);

  //===--------------------------------------------------------------------===//
  // Reductions and the apply over one contiguous run
  //===--------------------------------------------------------------------===//

  using ReduceBody =
      llvm::function_ref<void(mlir::Value v, mlir::Value mask,
                              llvm::MutableArrayRef<mlir::Value> accs)>;
  /// How reduceRun accumulates: all in f32 (blocks of kSumBlockVectors
  /// vectors, f32 totals), all in f64 lanes, or f32 blocks of
  /// kSquareBlockVectors vectors added into f64 totals.
  enum class Accumulate { F32, F64, F32BlocksF64Totals };
  /// Reduces x[base, base + n) into `numAcc` vector totals: `unroll`
  /// independent accumulator sets inside blocks of vectors, whose sums are
  /// added to the totals (so the rounding error grows with the block count
  /// and size, not the element count).
  /// A dynamic `n` takes the same blocks, their count at run time, and its
  /// last vectors as full ones and a masked tail.
  llvm::SmallVector<mlir::Value> reduceRun(mlir::Value base,
                                           const norm::Extent &n,
                                           unsigned numAcc, ReduceBody body,
                                           Accumulate acc = Accumulate::F32);
  /// One block of reduceRun: `count` groups of `unroll` vectors from group
  /// `firstGroup` into fresh accumulators, added pairwise into `totals`.
  llvm::SmallVector<mlir::Value>
  reduceBlock(mlir::Value base, mlir::Value firstGroup,
              const norm::Extent &count, mlir::ValueRange totals,
              unsigned numAcc, ReduceBody body, Accumulate acc);
  /// Mean and biased variance of x[base, base + n), two passes over the run
  /// (the second from cache). With `wide`, both are f64: a partial result
  /// that is combined further keeps the mean's low bits (the f32 rounding
  /// of a mean of 1e4 is large against a spread of 0.3).
  std::pair<mlir::Value, mlir::Value>
  runMoments(mlir::Value base, const norm::Extent &n, bool wide = false);
  /// The second pass of runMoments, given the provisional mean `m1`; with
  /// `accurate`, whether the results keep the two-pass accuracy
  /// (StatisticsBuilder::meanVarFromShiftedSums).
  std::pair<mlir::Value, mlir::Value>
  runMomentsFrom(mlir::Value base, const norm::Extent &n, mlir::Value m1,
                 bool wide = false, mlir::Value *accurate = nullptr);
  /// runMoments in one pass where that is as accurate: the sums about the
  /// mean of the run's first vector (its elements, if fewer), which are kept
  /// when the shift is near the mean (kShiftMaxOffset); otherwise (a shift
  /// far out in the run's spread, an inf or NaN) the two passes follow. For
  /// the usual run the second pass over the run is saved: on a core that
  /// converts or computes at about the rate memory delivers, a third of
  /// the kernel's work.
  std::pair<mlir::Value, mlir::Value>
  runMomentsOnePass(mlir::Value base, const norm::Extent &n, bool wide = false);
  /// The mean of the squares of x[base, base + n).
  mlir::Value runMeanSquare(mlir::Value base, const norm::Extent &n);

  /// Pass 1 of the row statistics, one vector at a time: the plain sum
  /// (moments: a provisional mean, corrected by pass 2) or the sum of
  /// squares (mean_square: it is the statistic, so it accumulates in f64
  /// lanes, cheaper than a compensated f32 sum's four dependent additions
  /// per vector; but see wideSquares).
  void pass1Step(mlir::Value v, llvm::MutableArrayRef<mlir::Value> a);
  /// The f32 sum pass 1 accumulated.
  mlir::Value pass1Sum(llvm::ArrayRef<mlir::Value> a) {
    return centered ? hsum(a[0]) : toF32(hsum(a[0]));
  }
  /// Whether the sum of squares accumulates in f64 lanes. Not for bf16 or
  /// f16 inputs read as they are (no prologue): their squares are exact in
  /// f32 (8 or 11 significant bits, squared, fit in 24), so they are summed
  /// in f32 lanes in blocks of kSquareBlockVectors vectors added into f64
  /// totals, which bounds the rounding to the block's additions. That
  /// saves the f64 conversions and the two f64 FMAs per vector that made a
  /// 16-bit RMSNorm compute-bound: bf16 RMSNorm 65536x1024 went from 42% to
  /// 59% of a copy at one thread (interleaved A/B); f32 inputs gained
  /// nothing and keep f64 lanes.
  bool wideSquares() {
    return !centered && (mlir::cast<mlir::MemRefType>(x.getType())
                             .getElementType()
                             .isF32() ||
                         !op.getPrologue().empty());
  }
  /// Pass 1 over x[base, base + n).
  llvm::SmallVector<mlir::Value> pass1Run(mlir::Value base,
                                          const norm::Extent &n);

  /// y[base, base + n) = apply(x[base, base + n)). With `ahead`, each
  /// vector also prefetches the inputs at the same offset from `ahead` (a
  /// later row, read from memory while this one is normalized from cache).
  /// A dynamic `n` streams its stores where it is at least kMinStreamRun at
  /// run time.
  void applyRun(mlir::Value base, const norm::Extent &n, mlir::Value mean,
                mlir::Value rstd, ParamRun pw, ParamRun pb,
                mlir::Value ahead = {});
  /// What applyRun computes each vector from: the run, the statistics and
  /// parameters as splats, or the parameter runs to load.
  struct RunApply {
    mlir::Value base, ahead;
    ParamRun pw, pb;
    /// Parameters constant along the run are folded into `scaleV`.
    bool fold;
    mlir::Value meanV, scaleV, wConst, bConst;
  };
  /// One vector of applyRun at offset `off` of the run.
  void applyVector(const RunApply &a, mlir::Value off, mlir::Value mask,
                   bool aligned);
  /// The normalized, scaled and shifted `v`, given the weight and bias
  /// vectors (null: none, or folded into `a`).
  mlir::Value applyMath(const RunApply &a, mlir::Value v, mlir::Value wv,
                        mlir::Value bv);

  /// bf16 rows on a CPU without bf16 conversions: the apply reads and writes
  /// 2 * vl elements at a time as vl i32 lanes, each holding a pair. The
  /// even elements widen by a shift, the odd ones by a mask, and the two
  /// rounded results combine by a shift and a mask, with no lane crossing:
  /// per 16 elements on AVX2, 4 shifts and shuffles fewer in and 6 fewer
  /// out than widening 8 lanes (vpmovzxwd, vpslld) and narrowing them
  /// (vextracti128, vpackusdw). The weight and bias are read deinterleaved
  /// (`wPairs`, `biasPairs`). Measured with hand kernels of both kinds on
  /// bf16 LayerNorm 65536x1024 (one thread): 43–57% against 60–76% of a
  /// copy. The reductions read pairs too where `unroll` is even (the even
  /// and odd halves go to two accumulators of a group): +2–9%. Set by
  /// preparePairs.
  bool pairs = false;
  /// The f32 weight and bias with each block of 2 * vl elements stored as
  /// its even elements, then its odd ones (null: not read as a buffer).
  mlir::Value wPairs, biasPairs;
  /// Sets `pairs` where the kernel allows it: bf16 input and output, no
  /// prologue or epilogue, a target without bf16 conversions, one run per
  /// row whose parameters depend on its position alone (the pairs then
  /// start at the parameters' blocks); builds wPairs and biasPairs from the
  /// f32 parameters `w` and `bias` (widenToF32 first).
  void preparePairs();
  /// The pair of vectors at x[at, at + 2 * vl) as f32: its even elements,
  /// its odd ones.
  std::pair<mlir::Value, mlir::Value> loadPair(mlir::Value at);
  /// A splat of the i32 `c` over vl lanes.
  mlir::Value pairBits(uint32_t c);
  /// `mem` (1-D f32) with each block of 2 * vl elements deinterleaved.
  mlir::Value deinterleave(mlir::Value mem);
  /// The pair of vectors of the apply at offset `off` of the run (a
  /// multiple of 2 * vl); `streaming`: two non-temporal vector stores, y
  /// aligned to a vector there.
  void applyPair(const RunApply &a, mlir::Value off, bool streaming);
  /// The apply over segment `s` (R2 elements starting at `base`),
  /// prefetching the segment at `ahead` when given.
  void applySegment(mlir::Value s, mlir::Value base, mlir::Value mean,
                    mlir::Value rstd, mlir::Value ahead = {});

  VectorTarget target;
  /// The statistics core, on `target`.
  norm::StatisticsBuilder statistics;
  int64_t unroll, chunks;
  bool nontemporal, parallel;
  int64_t rowTasks;
  /// Rows ahead the row strategy prefetches (0: none).
  int64_t prefetch;
};

} // namespace normlir::normtovector

#endif // NORMLIR_LIB_CONVERSION_NORMTOVECTOR_VECTOREMITTER_H
