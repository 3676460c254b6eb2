//===- SelectScheduleGPU.cpp - the GPU strategies' schedules --------------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// Part of norm-select-schedule: the #norm.gpu_schedule of a norm.kernel,
// one selection function per GPU strategy (row, segment, column), each
// declining where it does not apply, tried in order.
//
//===----------------------------------------------------------------------===//

#include "SelectSchedule.h"

#include "normlir/Dialect/Norm/Utils/Target.h"

#include "llvm/Support/MathExtras.h"

using namespace mlir;
using namespace normlir::norm;

namespace {

/// Threads per block the GPU schedules aim for.
constexpr int64_t kGPUBlockThreads = 256;
/// Elements per thread the GPU row strategy keeps in registers at most.
constexpr int64_t kGPUMaxRowElements = 32;
/// Runs shorter than this decline the GPU segment strategy; shorter than
/// kGPUShortSegmentRun, a block takes several (`rows`) of them, about
/// kGPUSegmentRunsBlock elements.
constexpr int64_t kGPUMinSegmentRun = 32;
constexpr int64_t kGPUShortSegmentRun = 256;
constexpr int64_t kGPUSegmentRunsBlock = 4096;
/// Blocks per multiprocessor the GPU segment strategy wants at least.
constexpr int64_t kGPUMinBlocksPerSM = 2;
/// Blocks per multiprocessor the GPU column strategy aims for (with
/// kGPUColumnMinRows rows per thread at least). normlir-tune on an H200
/// (BatchNorm training, 32x64x56x56 channels-last) timed 256 chunks of 24 rows
/// per thread at 0.74 of 1024 chunks of 6 (2048 chunks: 1.47, 4096: 2.33): each
/// thread's fixed work (its shift, its moments, the block's merge, the
/// combine's share) wants long threads more than the GPU wants many blocks.
constexpr int64_t kGPUColumnBlocksPerSM = 2;

/// The largest power of two <= `max` dividing every value of `runs`.
static int64_t largestDividingWidth(int64_t max, ArrayRef<int64_t> runs) {
  int64_t v = max;
  while (v > 1 && llvm::any_of(runs, [&](int64_t r) { return r % v != 0; }))
    v /= 2;
  return v;
}

//===----------------------------------------------------------------------===//
// GPU strategies
//===----------------------------------------------------------------------===//

/// What the GPU selection functions read (see CPUSelection).
struct GPUSelection {
  mutable KernelOp op;
  const KernelLayout &layout;
  CUDATargetAttr target;
  const NormSelectScheduleOptions &options;

  int64_t size(KernelLayout::Run r) const { return layout.size[r]; }
  bool hasParams() const { return op.getWeight() || op.getBias(); }
  /// Elements one 16-byte access holds, or the option.
  int64_t maxWidth() const {
    if (options.vectorWidth > 0)
      return options.vectorWidth;
    return 16 / inputElementBytes(op);
  }
  /// The widest access up to `max` that stays inside every run (vector
  /// accesses never straddle a contiguous run or a parameter run).
  int64_t vectorWidth(int64_t max, ArrayRef<int64_t> runs) const {
    return options.vectorWidth > 0 ? int64_t(options.vectorWidth)
                                   : largestDividingWidth(max, runs);
  }
  /// The schedule, checked against the attribute's constraints.
  FailureOr<GPUScheduleAttr> get(Strategy strategy, int64_t threads,
                                 int64_t rows, int64_t vectorWidth,
                                 int64_t chunks) const {
    auto attr = GPUScheduleAttr::getChecked(
        [&] { return op.emitError() << "norm-select-schedule: "; },
        op.getContext(), strategy, threads, rows, vectorWidth, chunks);
    if (!attr)
      return failure();
    return attr;
  }
};

using GPUStrategyFn = FailureOr<GPUScheduleAttr> (*)(const GPUSelection &,
                                                     bool forced,
                                                     std::string &why);

/// Row: a team of threads per contiguous row, held in registers; for
/// kernels that compute statistics over rows that fit.
static FailureOr<GPUScheduleAttr> selectGPURow(const GPUSelection &s,
                                               bool forced, std::string &why) {
  if (!strategyApplies(Strategy::Row, s.layout, /*cuda=*/true, why))
    return GPUScheduleAttr(); // Declines.
  int64_t r1 = s.size(KernelLayout::R1), p1 = s.size(KernelLayout::P1),
          r2 = s.size(KernelLayout::R2);
  int64_t n = r1 * r2;
  bool stats = s.op.computesStatistics();
  if (!forced && !stats) {
    why = "an apply-only kernel";
    return GPUScheduleAttr(); // Declines.
  }
  if (!forced && n > 1024 * kGPUMaxRowElements) {
    why = "rows too long for the registers of a block";
    return GPUScheduleAttr(); // Declines.
  }
  SmallVector<int64_t> runs = {p1 == 1 ? n : r2};
  if (r1 > 1 && s.hasParams())
    runs.push_back(r2);
  if (!stats)
    runs.push_back(p1 * r2);
  if (s.hasParams())
    runs.push_back(s.layout.r2i);
  int64_t v = s.vectorWidth(s.maxWidth(), runs);
  // About four vectors per thread: enough loads in flight, few registers.
  int64_t vectors = std::max<int64_t>((n + v - 1) / v, 1);
  int64_t t =
      s.options.threads > 0
          ? int64_t(s.options.threads)
          : std::clamp<int64_t>(llvm::PowerOf2Ceil((vectors + 3) / 4), 1, 1024);
  int64_t rb = s.options.rows > 0 ? int64_t(s.options.rows)
                                  : std::max<int64_t>(kGPUBlockThreads / t, 1);
  if (t * rb < 32)
    rb = 32 / t;
  return s.get(Strategy::Row, t, rb, v, 1);
}

/// Segment: long contiguous runs split into chunks of about 16K elements,
/// enough blocks to fill the GPU.
static FailureOr<GPUScheduleAttr>
selectGPUSegment(const GPUSelection &s, bool forced, std::string &why) {
  int64_t p1 = s.size(KernelLayout::P1), r2 = s.size(KernelLayout::R2);
  if (!forced && !s.op.computesStatistics()) {
    why = "an apply-only kernel";
    return GPUScheduleAttr(); // Declines.
  }
  if (!forced && r2 < kGPUMinSegmentRun) {
    why = "contiguous runs shorter than " + std::to_string(kGPUMinSegmentRun) +
          " elements";
    return GPUScheduleAttr(); // Declines.
  }
  int64_t v = s.vectorWidth(s.maxWidth(), {r2, p1 * r2});
  int64_t r1 = s.size(KernelLayout::R1);
  if (r1 > 1 &&
      (s.options.rows > 1 || (s.options.rows <= 0 && s.options.chunks <= 0 &&
                              r2 < kGPUShortSegmentRun))) {
    // Short runs (NCHW BatchNorm at 14x14): a block of 64 threads reduces
    // `rows` consecutive runs of one statistic, about kGPUSegmentRunsBlock
    // elements (64 per thread), so that blocks are full and the combine
    // has r1 / rows partials per statistic rather than a block and a
    // partial per run.
    int64_t t = s.options.threads > 0 ? int64_t(s.options.threads) : 64;
    int64_t rb = s.options.rows;
    if (rb <= 0)
      rb = std::clamp<int64_t>(
          int64_t(llvm::bit_floor(uint64_t(
              std::max<int64_t>(kGPUSegmentRunsBlock / 64 * t / r2, 1)))),
          1, std::min<int64_t>(1024, llvm::PowerOf2Ceil(r1)));
    return s.get(Strategy::Segment, t, rb, v, 1);
  }
  int64_t segs = std::max<int64_t>(s.layout.numSegments(), 1);
  int64_t k = s.options.chunks;
  if (k <= 0) {
    // Chunks of at most 16K elements, and enough blocks to fill the GPU
    // (few long rows), but at least 32 vectors per chunk.
    int64_t minBlocks = kGPUMinBlocksPerSM * s.target.getMultiprocessors();
    k = std::max((r2 + kGPUSegmentChunk - 1) / kGPUSegmentChunk,
                 (minBlocks + segs - 1) / segs);
    k = std::clamp<int64_t>(k, 1, std::max<int64_t>(r2 / (32 * v), 1));
  }
  // About four vectors per thread: short segments get small blocks.
  int64_t t = s.options.threads;
  if (t <= 0) {
    int64_t vectors = std::max<int64_t>((r2 + k * v - 1) / (k * v), 1);
    t = std::clamp<int64_t>(llvm::PowerOf2Ceil((vectors + 3) / 4), 32,
                            kGPUBlockThreads);
  }
  // (One run per block here: `rows` counts R1 runs, and R1 is 1 or the
  // runs are split.)
  return s.get(Strategy::Segment, t, 1, v, k);
}

/// Column: per-column partials across blocks of threads, for channels-last
/// layouts and apply-only kernels; it takes every kernel.
static FailureOr<GPUScheduleAttr> selectGPUColumn(const GPUSelection &s, bool,
                                                  std::string &) {
  int64_t r1 = s.size(KernelLayout::R1), p1 = s.size(KernelLayout::P1),
          r2 = s.size(KernelLayout::R2);
  int64_t t =
      s.options.threads > 0 ? int64_t(s.options.threads) : kGPUBlockThreads;
  // The column strategy keeps threads x width f64 moments in workgroup
  // memory.
  int64_t maxWidth = std::min<int64_t>(
      s.maxWidth(), std::max<int64_t>(s.target.getSharedMemoryPerBlock() /
                                          (kGPUColumnScratchBytesPerLane * t),
                                      1));
  int64_t v = s.vectorWidth(maxWidth, {p1 * r2});
  int64_t k = s.options.chunks;
  if (k <= 0) {
    int64_t columns = std::max<int64_t>(p1 * r2 / v, 1);
    int64_t tx = std::min<int64_t>(t, llvm::PowerOf2Ceil(columns));
    int64_t tiles = (columns + tx - 1) / tx;
    int64_t ty = t / tx;
    int64_t p0 = std::max<int64_t>(s.size(KernelLayout::P0), 1);
    int64_t blocks = kGPUColumnBlocksPerSM * s.target.getMultiprocessors();
    int64_t want = (blocks + p0 * tiles - 1) / (p0 * tiles);
    // At least kGPUColumnMinRows rows per thread.
    int64_t most = std::max<int64_t>(r1 / (kGPUColumnMinRows * ty), 1);
    k = std::clamp<int64_t>(want, 1, most);
  }
  int64_t rb = s.options.rows > 0 ? int64_t(s.options.rows) : 1;
  return s.get(Strategy::Column, t, rb, v, k);
}

/// The GPU strategies in the order they are tried.
constexpr std::pair<Strategy, GPUStrategyFn> kGPUStrategies[] = {
    {Strategy::Row, selectGPURow},
    {Strategy::Segment, selectGPUSegment},
    {Strategy::Column, selectGPUColumn},
};

/// A GPU kernel with dynamic sizes: one schedule for every size, its
/// choices made on the static sizes only. The row strategy where the rows
/// have a static length that fits (a dynamic number of rows); else the
/// segment strategy for long or dynamic contiguous runs and the column
/// strategy for short static ones (channels-last), as for static sizes.
/// Dynamic runs take scalar accesses (no width is known to divide them).
/// `chunks` is then the number of blocks the reduction aims for in all:
/// the lowering shares them among the runs (segment) or the samples
/// (column) at run time.
static FailureOr<GPUScheduleAttr>
selectGPUDynamicSchedule(const GPUSelection &s) {
  using Run = KernelLayout::Run;
  const KernelLayout &l = s.layout;
  const NormSelectScheduleOptions &options = s.options;
  bool stats = s.op.computesStatistics();
  if (l.isDynamic(Run::P1))
    return s.op.emitError()
           << "norm-select-schedule: a GPU kernel takes dynamic sizes in "
              "P0, R1 and R2 only (P1, the statistics of one sample, is "
              "static); layout "
           << l.str();
  std::optional<Strategy> forced;
  if (!options.strategy.empty())
    forced = symbolizeStrategy(options.strategy);
  int64_t r1 = s.size(Run::R1), p1 = s.size(Run::P1), r2 = s.size(Run::R2);
  bool r2Dynamic = l.isDynamic(Run::R2);
  int64_t blocks = kGPUMinBlocksPerSM * s.target.getMultiprocessors();
  std::string why;
  // Row: a dynamic number of rows of a static length.
  if ((!forced || *forced == Strategy::Row) && !l.isDynamic(Run::R1) &&
      !r2Dynamic && r1 == 1) {
    FailureOr<GPUScheduleAttr> row =
        selectGPURow(s, /*forced=*/forced.has_value(), why);
    if (failed(row) || *row)
      return row;
  }
  if (forced == Strategy::Row)
    return s.op.emitError()
           << "norm-select-schedule: a GPU kernel with dynamic sizes takes "
              "the row strategy only with R1 = 1 and a static R2 (the rows' "
              "length)"
           << (why.empty() ? "" : ", and it declines this one: ") << why
           << "; layout " << l.str();
  // (An apply-only kernel lowers to the same apply launch whatever its
  // strategy; the segment strategy takes dynamic columns.)
  bool segment = forced ? *forced == Strategy::Segment
                        : r2Dynamic || (stats && r2 >= kGPUMinSegmentRun);
  if (!segment && r2Dynamic)
    return s.op.emitError()
           << "norm-select-schedule: the GPU column strategy needs static "
              "contiguous columns (P1 and R2); layout "
           << l.str();
  int64_t chunks = options.chunks > 0 ? int64_t(options.chunks) : 0;
  if (segment) {
    int64_t v = r2Dynamic ? 1 : s.vectorWidth(s.maxWidth(), {r2, p1 * r2});
    if (r2Dynamic && options.vectorWidth > 1)
      return s.op.emitError()
             << "norm-select-schedule: vector-width=" << options.vectorWidth
             << " with dynamic contiguous runs (R2), which take scalar "
                "accesses; layout "
             << l.str();
    // About four vectors per thread of a piece of at most kGPUSegmentChunk
    // elements; the longest blocks where the length is unknown.
    int64_t t = options.threads;
    if (t <= 0)
      t = r2Dynamic ? kGPUBlockThreads
                    : std::clamp<int64_t>(
                          llvm::PowerOf2Ceil(
                              (std::min(r2, kGPUSegmentChunk) / v + 3) / 4),
                          32, kGPUBlockThreads);
    return s.get(Strategy::Segment, t, 1, v, chunks > 0 ? chunks : blocks);
  }
  int64_t t = options.threads > 0 ? int64_t(options.threads) : kGPUBlockThreads;
  int64_t maxWidth = std::min<int64_t>(
      s.maxWidth(), std::max<int64_t>(s.target.getSharedMemoryPerBlock() /
                                          (kGPUColumnScratchBytesPerLane * t),
                                      1));
  int64_t v = s.vectorWidth(maxWidth, {p1 * r2});
  if (chunks <= 0) {
    int64_t columns = std::max<int64_t>(p1 * r2 / v, 1);
    int64_t tx = std::min<int64_t>(t, llvm::PowerOf2Ceil(columns));
    int64_t tiles = (columns + tx - 1) / tx;
    chunks = std::max<int64_t>(
        (kGPUColumnBlocksPerSM * s.target.getMultiprocessors() + tiles - 1) /
            tiles,
        1);
  }
  return s.get(Strategy::Column, t, 1, v, chunks);
}
} // namespace

FailureOr<GPUScheduleAttr>
normlir::norm::selectGPUDynamic(KernelOp op, const KernelLayout &layout,
                                CUDATargetAttr target,
                                const NormSelectScheduleOptions &options) {
  return selectGPUDynamicSchedule(GPUSelection{op, layout, target, options});
}

FailureOr<GPUScheduleAttr>
normlir::norm::selectGPUSchedule(KernelOp op, const KernelLayout &layout,
                                 CUDATargetAttr target,
                                 const NormSelectScheduleOptions &options) {
  return selectSchedule(GPUSelection{op, layout, target, options},
                        kGPUStrategies);
}
