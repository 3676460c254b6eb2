//===- GPUEmitter.h - machinery of the GPU lowering -------------*- C++ -*-===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// Internal to convert-norm-to-gpu. GPUEmitter holds what the three
// strategies (Row.cpp, Segment.cpp, Column.cpp) build from: launches, loops
// and branches, 16-byte vector loads and stores through the kernel's
// prologue/epilogue, parameter vectors, team reductions, and the GPU as the
// statistics core's target (warp shuffles); and, in Combine.cpp, the
// combine and apply
// kernels of the two-stage strategies (the apply also lowers every
// apply-only kernel). Each strategy is a rewrite pattern on norm.kernel
// declared here; DeviceBuffers.cpp moves the rest of the host code onto the
// device.
//
//===----------------------------------------------------------------------===//

#ifndef NORMLIR_LIB_CONVERSION_NORMTOGPU_GPUEMITTER_H
#define NORMLIR_LIB_CONVERSION_NORMTOGPU_GPUEMITTER_H

#include "normlir/Dialect/Norm/IR/Norm.h"
#include "normlir/Dialect/Norm/Utils/EmitterBase.h"
#include "normlir/Dialect/Norm/Utils/KernelLayout.h"
#include "normlir/Dialect/Norm/Utils/Statistics.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/PatternMatch.h"

#include <optional>

namespace normlir::normtogpu {

constexpr int64_t kWarpSize = 32;
/// Threads per block of the combine and apply launches.
constexpr int64_t kBlockThreads = 256;
/// Rows each apply thread normalizes (its scale and shift are computed once
/// for them).
constexpr int64_t kApplyRowsPerThread = 8;
/// Rows whose loads a thread issues together (unrolledRows).
constexpr int64_t kRowUnroll = 4;
/// Elements one thread of the row strategy keeps in registers at most.
constexpr int64_t kMaxRowElementsPerThread = 64;
/// Static workgroup memory of one block.
constexpr int64_t kMaxSharedBytes = 48 * 1024;

inline int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

//===----------------------------------------------------------------------===//
// Patterns
//===----------------------------------------------------------------------===//

/// A kernel a strategy pattern lowers: bufferized, with a [P0, R1, P1, R2]
/// layout and a #norm.gpu_schedule.
using GPUKernel = norm::MatchedKernel<norm::GPUScheduleAttr>;

/// matchKernel for this lowering's schedule attribute.
inline std::optional<GPUKernel> matchGPUKernel(norm::KernelOp op,
                                               norm::Strategy strategy,
                                               mlir::PatternRewriter &rewriter,
                                               bool dynamicSizes = false) {
  return norm::matchKernel<norm::GPUScheduleAttr>(op, strategy, rewriter,
                                                  dynamicSizes);
}

/// Checks that the schedule's vector accesses stay inside the contiguous
/// runs of `run` elements (and inside R2 when there are parameters), with a
/// located error otherwise.
mlir::LogicalResult checkContiguousRuns(norm::KernelOp op,
                                        const norm::KernelLayout &layout,
                                        int64_t vl, int64_t run);
/// Checks that the schedule's vectors tile the contiguous P1 x R2 columns
/// (what the apply kernel walks), with a located error otherwise.
mlir::LogicalResult checkColumns(norm::KernelOp op,
                                 const norm::KernelLayout &layout, int64_t vl);

/// Strategy row (Row.cpp): one launch; a team of threads per row holds
/// the row in registers.
struct LowerRowKernel : mlir::OpRewritePattern<norm::KernelOp> {
  using OpRewritePattern::OpRewritePattern;
  mlir::LogicalResult
  matchAndRewrite(norm::KernelOp op,
                  mlir::PatternRewriter &rewriter) const override;
};

/// Strategy segment (Segment.cpp): partial moments of chunks of each
/// contiguous R2 run, then the combine and apply launches.
struct LowerSegmentKernel : mlir::OpRewritePattern<norm::KernelOp> {
  using OpRewritePattern::OpRewritePattern;
  mlir::LogicalResult
  matchAndRewrite(norm::KernelOp op,
                  mlir::PatternRewriter &rewriter) const override;
};

/// Strategy column (Column.cpp): per-column partial moments of chunks of
/// R1, then the combine and apply launches.
struct LowerColumnKernel : mlir::OpRewritePattern<norm::KernelOp> {
  using OpRewritePattern::OpRewritePattern;
  mlir::LogicalResult
  matchAndRewrite(norm::KernelOp op,
                  mlir::PatternRewriter &rewriter) const override;
};

//===----------------------------------------------------------------------===//
// GPUEmitter
//===----------------------------------------------------------------------===//

/// The GPU as the statistics core sees it: vector lanes summed in order,
/// warps of kWarpSize threads that exchange registers by shuffles.
class GPUTarget final : public norm::ReductionTarget {
public:
  mlir::Value sumLanes(mlir::OpBuilder &b, mlir::Location loc,
                       mlir::Value v) override;
  int64_t warpSize() const override { return kWarpSize; }
  mlir::Value shuffleXor(mlir::OpBuilder &b, mlir::Location loc, mlir::Value v,
                         int64_t offset) override;
  /// gpu.barrier.
  void barrier(mlir::OpBuilder &b, mlir::Location loc) override;
};

/// Emits the launches of one kernel at the builder's insertion point; a
/// strategy derives from it.
class GPUEmitter : public norm::KernelEmitterBase {
public:
  GPUEmitter(mlir::OpBuilder &b, norm::KernelOp op,
             const norm::KernelLayout &layout, norm::GPUScheduleAttr schedule)
      : KernelEmitterBase(b, op, layout, schedule.getVectorWidth()),
        statistics(makeStatistics(target)), schedule(schedule) {
    initRunLengths();
  }

  /// y = (x - mean) * (rstd * w) + b: each thread owns `vl` adjacent
  /// columns of one p0, computes their scale and shift once, and walks rows
  /// of R1 (Combine.cpp). Reads the combine's statistics, or the kernel's
  /// for an apply-only kernel.
  void emitApply();

protected:
  //===--------------------------------------------------------------------===//
  // Small builders
  //===--------------------------------------------------------------------===//

  mlir::Value imin(mlir::Value a, mlir::Value c);
  mlir::Value ult(mlir::Value a, mlir::Value c);
  mlir::Value ult(mlir::Value a, int64_t c) { return ult(a, cI(c)); }
  mlir::Value ult(mlir::Value a, const norm::Extent &c) {
    return ult(a, idx(c));
  }
  mlir::Value ieq(mlir::Value a, int64_t c);
  mlir::Value ieq(mlir::Value a, const norm::Extent &c);
  /// a / c, ceil(a / c), max(a, c), min(a, c) and a - c of sizes, static
  /// where both operands are.
  norm::Extent divE(const norm::Extent &a, const norm::Extent &c);
  norm::Extent ceilDivE(const norm::Extent &a, const norm::Extent &c);
  norm::Extent maxE(const norm::Extent &a, const norm::Extent &c);
  norm::Extent minE(const norm::Extent &a, const norm::Extent &c);
  norm::Extent subE(const norm::Extent &a, const norm::Extent &c);
  /// v > 0, scalar or elementwise.
  mlir::Value fgt0(mlir::Value v);
  /// 0 or 1 of the type of `like` (a scalar or a vector).
  mlir::Value zeroLike(mlir::Value like);
  mlir::Value hsum(mlir::Value v) { return statistics.sumLanes(v); }

  /// Runs `body` under `cond` (no results).
  void ifThen(mlir::Value cond, llvm::function_ref<void()> body);
  /// `cond ? thenFn() : elseFn()`, each evaluated only on its branch.
  mlir::Value ifElse(mlir::Value cond, mlir::Type type,
                     llvm::function_ref<mlir::Value()> thenFn,
                     llvm::function_ref<mlir::Value()> elseFn);
  /// scf.for lb..ub step `step` with iter args; `body` returns the yields.
  llvm::SmallVector<mlir::Value>
  forLoop(mlir::Value lb, mlir::Value ub, const norm::Extent &step,
          mlir::ValueRange inits,
          llvm::function_ref<llvm::SmallVector<mlir::Value>(mlir::Value,
                                                            mlir::ValueRange)>
              body);

  /// A thread's walk over rows lb, lb + step, ... (< ub), `unroll` rows per
  /// iteration of a main loop, then a remainder loop: each iteration first
  /// calls `load(row)` for its rows, then `use(row, loaded, carried)` for
  /// each in row order. The loads then wait on memory together rather than
  /// one per trip: with a few rows per thread (a grid of one wave), a
  /// thread's memory parallelism is what bounds the kernel. lb may exceed
  /// ub (no rows).
  llvm::SmallVector<mlir::Value>
  unrolledRows(mlir::Value lb, mlir::Value ub, const norm::Extent &step,
               int64_t unroll, mlir::ValueRange inits,
               llvm::function_ref<mlir::Value(mlir::Value)> load,
               llvm::function_ref<llvm::SmallVector<mlir::Value>(
                   mlir::Value, mlir::Value, mlir::ValueRange)>
                   use);

  /// The body of a launch: (block id, thread id, workgroup buffers).
  using LaunchBody = llvm::function_ref<void(
      mlir::Value, mlir::Value, llvm::ArrayRef<mlir::BlockArgument>)>;
  /// A 1-D launch of `grid` blocks of `block` threads with workgroup
  /// buffers of `sharedSizes` elements of `sharedType` (null: f32). Nothing
  /// is launched for an empty grid.
  void launch(int64_t grid, int64_t block, llvm::ArrayRef<int64_t> sharedSizes,
              LaunchBody body, mlir::Type sharedType = {});
  /// launch with a grid known at run time (a dynamic number of rows); no
  /// launch where it is 0.
  void launch(mlir::Value grid, int64_t block,
              llvm::ArrayRef<int64_t> sharedSizes, LaunchBody body,
              mlir::Type sharedType = {});
  /// The gpu.launch of `launch`, whatever the grid.
  void emitLaunch(mlir::Value grid, int64_t block,
                  llvm::ArrayRef<int64_t> sharedSizes, LaunchBody body,
                  mlir::Type sharedType);

  //===--------------------------------------------------------------------===//
  // Memory
  //===--------------------------------------------------------------------===//

  /// Alignment of a `vl`-element access at an index that is a multiple of
  /// `vl`: the runtime guarantees 16-byte aligned buffers, no more.
  llvm::MaybeAlign accessAlign(mlir::Type elt);
  mlir::Value loadRaw(mlir::Value mem, mlir::Value i);
  /// `vl` elements at `i` as f32; the input `x` through the prologue.
  mlir::Value loadVec(mlir::Value mem, mlir::Value i) {
    return loadF32(mem, [&](mlir::Value in) { return loadRaw(in, i); });
  }
  /// Stores an f32 vector rounded to the buffer's type; `y` through the
  /// epilogue.
  void storeVec(mlir::Value v, mlir::Value mem, mlir::Value i);
  /// A device buffer of `n` elements (at least one) of `type` (null: f32).
  mlir::Value deviceAlloc(const norm::Extent &n, mlir::Type type = {});

  //===--------------------------------------------------------------------===//
  // Parameters
  //===--------------------------------------------------------------------===//

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
  /// The parameter offset of element `r2c` of R2 (runParamOffset, which
  /// for a dynamic R2 steps along R2o and R2i: a dynamic dimension is never
  /// a parameter axis).
  mlir::Value r2ParamOffset(mlir::Value r2c);
  /// The weight and bias of a vector access at parameter offset `off` (of
  /// its first lane) as vectors; null where there is no such parameter.
  std::pair<mlir::Value, mlir::Value> paramVectors(mlir::Value off);

  //===--------------------------------------------------------------------===//
  // Reductions
  //===--------------------------------------------------------------------===//

  using Moments = norm::Moments;

  /// Writes the statistics of `g` (and the apply's private copies, where
  /// there are), the rstd computed here from `var`.
  void storeStats(mlir::Value g, mlir::Value mean, mlir::Value var);
  void storeStats(mlir::Value g, const norm::Statistics &s);

  //===--------------------------------------------------------------------===//
  // Two-stage strategies (Combine.cpp)
  //===--------------------------------------------------------------------===//

  /// Partial moments into device scratch (3 f64 each, `numPartials` per
  /// statistic: the combine rounds the statistics to f32 once) by
  /// `emitPartials`, the combine per statistic into private
  /// copies of the statistics (the outs may share one buffer: unused
  /// statistics bufferize to one allocation), then the apply; the scratch
  /// is freed after it, stream-ordered.
  void
  emitTwoStage(const norm::Extent &numPartials,
               llvm::function_ref<void(mlir::Value partials)> emitPartials);

  GPUTarget target;
  /// The statistics core, on `target`.
  norm::StatisticsBuilder statistics;
  norm::GPUScheduleAttr schedule;
  /// Two-stage strategies: the combine's mean and rstd for the apply.
  mlir::Value statMean, statRstd;

private:
  /// One warp per statistic merges its partials: each lane a strided subset
  /// in order, then a butterfly; lane 0 stores the statistics.
  void emitCombine(mlir::Value partials, const norm::Extent &numPartials);
  /// The warp of statistic `g` merging its partials.
  void combineStatistic(mlir::Value g, mlir::Value lane, mlir::Value partials,
                        const norm::Extent &numPartials);

  /// How the apply kernel maps onto threads: a block is `tx` threads along
  /// the columns (`vl` each) by `ty` along the rows. Sizes are computed at
  /// run time where the layout's are dynamic; a dynamic `tx` need not
  /// divide the block (its last threads then idle).
  struct ApplyPlan {
    /// Contiguous columns of a row of R1 (P1 x R2).
    norm::Extent columns = 1;
    norm::Extent tx = 1, ty = 1, colTiles = 1, rowsPerChunk = 1, rowChunks = 1;
    /// The statistics the apply reads.
    mlir::Value meanBuf, rstdBuf;
    /// The `vl` lanes of an access share a statistic...
    bool uniformStat;
    /// ... and parameters that load as one vector (or one scalar).
    bool vectorParams;
    /// Channels-last (R2 = 1): the lanes are consecutive channels, whose
    /// statistics (and parameters, when they run along one P1 dimension)
    /// are consecutive too: one vector load each.
    bool channelLanes, channelParams;
  };
  ApplyPlan planApply();
  /// The apply thread of columns [q, q + vl) of sample `p0c` over its rows
  /// of chunk `chunk` (from row `tyc`, step `ty`).
  void applyColumns(const ApplyPlan &plan, mlir::Value p0c, mlir::Value chunk,
                    mlir::Value tyc, mlir::Value q);
  /// The statistic in `buf` of each lane (statistic index p0 * P1 + laneP1).
  mlir::Value applyStatVector(const ApplyPlan &plan, mlir::Value buf,
                              mlir::Value p0c, mlir::Value q,
                              llvm::ArrayRef<mlir::Value> laneP1);
  /// The weight and bias vectors of the lanes at row `row` (null: a row
  /// that does not matter, parameters constant along R1).
  std::pair<mlir::Value, mlir::Value>
  applyParams(const ApplyPlan &plan, mlir::Value p0Off, mlir::Value row,
              mlir::Value q, llvm::ArrayRef<mlir::Value> laneP1,
              llvm::ArrayRef<mlir::Value> laneR2);
};

} // namespace normlir::normtogpu

#endif // NORMLIR_LIB_CONVERSION_NORMTOGPU_GPUEMITTER_H
