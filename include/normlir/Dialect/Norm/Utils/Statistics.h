//===- Statistics.h - the statistics core of the kernel emitters -*- C++
//-*-===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// How both lowerings of norm.kernel (convert-norm-to-vector,
// convert-norm-to-gpu) turn sums into statistics, written once: partial
// moments (count, mean, M2) from sums about a shift, Chan et al.'s pairwise
// merge with its policy for infinite means, the fixed-order combine of a
// kernel's partials, butterfly reductions across the threads of a warp and
// team reductions across the warps of a block (through workgroup memory,
// in warp order), the finalize into the mean, variance and rstd the kernel
// stores, and the numerics policy constants. What differs between the
// targets (the sum of a vector's lanes, register exchange between threads,
// the block barrier) is behind ReductionTarget, in the spirit of Triton's
// TargetInfoBase; each lowering implements it. Backward kernels reduce Σdy·w
// and Σdy·w·x̂ with the same machinery.
//
//===----------------------------------------------------------------------===//

#ifndef NORMLIR_DIALECT_NORM_UTILS_STATISTICS_H
#define NORMLIR_DIALECT_NORM_UTILS_STATISTICS_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/Value.h"
#include "llvm/ADT/STLFunctionalExtras.h"

#include <cstdint>

namespace normlir::norm {

//===----------------------------------------------------------------------===//
// Numerics policy
//===----------------------------------------------------------------------===//

/// Vectors a CPU reduction adds into fresh f32 accumulators before adding
/// them into its totals: the rounding error of a long run then grows with
/// its number of blocks, not of elements.
constexpr int64_t kSumBlockVectors = 1024;
/// Vectors of a 16-bit input's squares (mean_square) a CPU reduction adds
/// in f32 lanes before adding them into f64 totals: with one accumulator
/// set, a lane adds at most 64 exact squares, a relative error of at most
/// 64 * 2^-24 (4e-6) where 1024 vectors could reach 6e-5.
constexpr int64_t kSquareBlockVectors = 64;
/// Rows the CPU column strategy sums into f32 lane accumulators before
/// adding them into f64 totals, so that long chunks with outlier rows keep
/// their small terms.
constexpr int64_t kSumBlockRows = 256;
/// A one-pass statistic from sums about a shift is kept when the shift lies
/// within sqrt(kShiftMaxOffset) standard deviations of the mean,
/// (mean - shift)² <= kShiftMaxOffset * var. The variance S2/n - (S1/n)²
/// then cancels at most a fraction kShiftMaxOffset / (1 + kShiftMaxOffset)
/// of S2/n, so its rounding error is at most 1 + kShiftMaxOffset times that
/// of the same formula about the exact mean (what the two-pass statistics
/// compute); otherwise the run takes the two passes.
constexpr double kShiftMaxOffset = 1.0;

//===----------------------------------------------------------------------===//
// Target interface
//===----------------------------------------------------------------------===//

/// What a reduction needs from the hardware it runs on. The CPU has vector
/// lanes and one thread per task (tasks share memory, not registers); the
/// GPU has lanes too, and warps whose threads exchange registers.
class ReductionTarget {
public:
  virtual ~ReductionTarget();

  /// The sum of the lanes of the vector `v` (scalar).
  virtual mlir::Value sumLanes(mlir::OpBuilder &b, mlir::Location loc,
                               mlir::Value v) = 0;
  /// Threads that exchange registers (shuffleXor); 1 for none.
  virtual int64_t warpSize() const { return 1; }
  /// The value of `v` in the thread of the warp whose index differs from
  /// this one's by XOR `offset` (< warpSize()).
  virtual mlir::Value shuffleXor(mlir::OpBuilder &b, mlir::Location loc,
                                 mlir::Value v, int64_t offset);
  /// Waits for every thread of the block, their stores to workgroup memory
  /// visible to all after it (teams of several warps exchange values
  /// there).
  virtual void barrier(mlir::OpBuilder &b, mlir::Location loc);
};

//===----------------------------------------------------------------------===//
// The core
//===----------------------------------------------------------------------===//

/// A length the emitters loop over: a constant, or an index value known at
/// run time (a run holding a dynamic dimension). Static lengths keep their
/// specialized code (constant trip counts and masks).
struct Extent {
  int64_t fixed = 0;
  mlir::Value value;
  Extent(int64_t n) : fixed(n) {}
  Extent(mlir::Value v) : value(v) {}
  bool isStatic() const { return !value; }
};

/// Partial statistics of `n` values: their count, mean and M2 = Σ(x -
/// mean)², or, for a mean-square kernel, mean 0 and M2 = Σx². Scalars or
/// vectors (one partial per lane), f32 or f64, all three of one type. A
/// partial of no values has mean 0 and M2 0.
struct Moments {
  mlir::Value n, mean, m2;
};

/// What a kernel stores: the mean (null for a mean-square kernel), the
/// biased variance (or the mean square) and 1 / sqrt(var + eps), in f32.
struct Statistics {
  mlir::Value mean, var, rstd;
};

/// Builds the statistics of one kernel at `b`'s insertion point.
class StatisticsBuilder {
public:
  /// `centered`: moments (else the mean square); `eps` and `zeroDegenerate`
  /// define the rstd (buildRstd).
  StatisticsBuilder(mlir::OpBuilder &b, mlir::Location loc,
                    ReductionTarget &target, bool centered, double eps,
                    bool zeroDegenerate)
      : b(b), loc(loc), target(target), centered(centered), eps(eps),
        zeroDegenerate(zeroDegenerate) {}

  //===--------------------------------------------------------------------===//
  // Accumulate
  //===--------------------------------------------------------------------===//

  /// The sum of the lanes of `v` (ReductionTarget::sumLanes).
  mlir::Value sumLanes(mlir::Value v) { return target.sumLanes(b, loc, v); }
  /// The sum of `v` over `width` threads of a warp (a power of two, at most
  /// the warp size): a butterfly of shuffles (offsets width / 2, ..., 1), so
  /// every thread gets the same value, added in the same order.
  mlir::Value butterflySum(mlir::Value v, int64_t width);
  /// `m` merged over a whole warp by a butterfly; the result of the warp's
  /// thread 0 does not depend on scheduling.
  Moments butterflyMerge(Moments m);
  /// The sum of the f32 `v` over a team of `team` threads (a power of two;
  /// `lane` is the thread's index in the team): butterflySum inside each
  /// warp, then, for a team of several warps, the warps' sums through
  /// `scratch` (workgroup memory, one slot per warp from `slot0`) added in
  /// warp order after a barrier. Every thread gets the same value; every
  /// thread of the block must reach it (the barrier). It ends without a
  /// barrier: a later exchange needs other slots (or a barrier first).
  mlir::Value teamSum(mlir::Value v, int64_t team, mlir::Value lane,
                      mlir::Value scratch, mlir::Value slot0);
  /// The scalar moments `m` of the `threads` threads of a block (`tid` is
  /// the thread's index) merged: butterflyMerge inside each warp, then the
  /// warps' moments through `scratch` (three workgroup buffers, count, mean
  /// and M2, one slot per warp) after a barrier, merged in warp order in
  /// thread 0, which passes them to `inFirst`. `threads` is a whole number
  /// of warps (#norm.gpu_schedule C2) or less than one. Every thread of the
  /// block must reach it; it ends without a barrier (see teamSum).
  void blockMerge(Moments m, int64_t threads, mlir::Value tid,
                  mlir::ValueRange scratch,
                  llvm::function_ref<void(Moments)> inFirst);
  /// The moments `m` (scalars, or vectors of one partial per lane) of
  /// `count` threads of a block merged through workgroup memory: every
  /// thread stores `m` at `slot` of `scratch` (three buffers: count, mean,
  /// M2), a barrier, then each thread where `first` holds merges its own
  /// with the partials at slot + i * stride, i in [1, count), in that order
  /// and passes the result to `inFirst`. Every thread of the block must
  /// reach it; it ends without a barrier (see teamSum).
  void exchangeMerge(Moments m, mlir::Value slot, mlir::ValueRange scratch,
                     mlir::Value first, int64_t count, int64_t stride,
                     llvm::function_ref<void(Moments)> inFirst);

  //===--------------------------------------------------------------------===//
  // Partials and merge
  //===--------------------------------------------------------------------===//

  /// Partial moments of `n` values (n may be 0) from their sums about
  /// `shift`: S1 = Σ(x - shift), S2 = Σ(x - shift)². Summing about a value
  /// near the data (its first element, a provisional mean) keeps S1 small,
  /// so that S2 - S1²/n cancels little. The shift must be finite; without
  /// centering the mean stays 0 and M2 is S2 (shift 0).
  Moments momentsFromShiftedSums(mlir::Value n, mlir::Value shift,
                                 mlir::Value s1, mlir::Value s2);
  /// The mean and biased variance of a whole run of `count` > 0 values (an
  /// f32 constant) from the vector accumulators of its sums about `shift`,
  /// whose lanes are summed here: each sum divided by the count before they
  /// are subtracted (the two-pass row statistics). A non-finite shift (a
  /// provisional mean from a run holding inf or NaN) is the mean, as the
  /// sums' would be. With `wide` (f64), both results are in it, the mean
  /// added in it: a partial combined further keeps its low bits. With
  /// `accurate`, it is set to whether the results keep the two-pass
  /// accuracy (kShiftMaxOffset): false for a non-finite shift or sum, which
  /// the two passes handle.
  std::pair<mlir::Value, mlir::Value>
  meanVarFromShiftedSums(mlir::Value count, mlir::Value shift, mlir::Value acc1,
                         mlir::Value acc2, mlir::Type wide = {},
                         mlir::Value *accurate = nullptr);

  /// Chan et al.'s pairwise merge of two partials. Infinite means merge as
  /// the sums they stand for (BatchNorm's mean of [inf, 1] is inf, of [inf,
  /// -inf] NaN), where the update would give inf - inf; a part of no values
  /// adds nothing.
  Moments merge(Moments a, Moments c);

  /// The partials of one statistic, `extents` nested in that order (the
  /// last innermost), merged in a fixed order in their type: their weighted
  /// mean first, which becomes the shift of every partial's mean (0 when it
  /// is not finite), then a fold of merge over the shifted partials, so
  /// that the merged means stay small. `load(ivs, withM2)` builds the
  /// partial at the loops' induction variables, its M2 only `withM2` (the
  /// shift needs the counts and means alone). Without centering, the M2
  /// (sums of squares) are added in order, the counts and means unused
  /// (null in the result). `type` is the partials' (scalar) type, `count`
  /// the statistic's number of values.
  /// Extents and count may be dynamic.
  Moments combine(mlir::Type type, llvm::ArrayRef<Extent> extents,
                  const Extent &count,
                  llvm::function_ref<Moments(mlir::ValueRange, bool)> load);

  //===--------------------------------------------------------------------===//
  // Finalize
  //===--------------------------------------------------------------------===//

  /// The statistics of `count` values from their merged moments: the mean
  /// (NaN for no values, 0 / 0, as torch's), M2 / count, computed in the
  /// moments' type and rounded to f32, and the rstd.
  Statistics finalize(Moments m, const Extent &count);
  /// The statistics from the f32 mean (null: mean square) and variance (or
  /// mean square): the rstd added.
  Statistics finalize(mlir::Value mean, mlir::Value var);
  /// Stores `s` at `index` into a kernel's statistics outs (the outs after
  /// y): mean, variance and rstd, or mean square and rstd.
  void store(const Statistics &s, llvm::ArrayRef<mlir::Value> statOuts,
             mlir::Value index);

private:
  /// `m` stored at `at` of the three buffers `scratch` (count, mean, M2),
  /// and loaded back as `type` (a scalar or a vector of partials).
  void storeMoments(Moments m, mlir::ValueRange scratch, mlir::Value at);
  Moments loadMoments(mlir::ValueRange scratch, mlir::Value at,
                      mlir::Type type);

  mlir::Value constant(double v, mlir::Type type);
  /// A splat of `v` (a scalar constant broadcast) of `like`'s shape.
  mlir::Value splatLike(double v, mlir::Value like);
  mlir::Value zeroLike(mlir::Value like) {
    return constant(0.0, like.getType());
  }
  mlir::Value isFinite(mlir::Value v);

  mlir::OpBuilder &b;
  mlir::Location loc;
  ReductionTarget &target;
  bool centered;
  double eps;
  bool zeroDegenerate;
};

} // namespace normlir::norm

#endif // NORMLIR_DIALECT_NORM_UTILS_STATISTICS_H
