//===- SelectSchedule.cpp - choose and record a schedule per kernel -------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// `norm-select-schedule`: the schedule heuristic. It only decides; the
// lowerings follow whatever schedule the op carries, so a schedule written
// by hand, forced through the options or read from a tuning database is
// honoured the same way.
//
// As in IREE's KernelDispatch.cpp, each strategy has one selection function
// that declines (returns a null attribute, saying why) where it does not
// apply or, unless it is forced, where it is not the right choice; the
// functions are tried in the order of kCPUStrategies / kGPUStrategies and the
// first schedule wins. A forced strategy that does not apply is an error.
// This file holds the pass, its options, the tuning database's lookup and
// the CPU strategies (with the variants of kernels with dynamic sizes); the
// GPU strategies are in SelectScheduleGPU.cpp.
//
//===----------------------------------------------------------------------===//

#include "SelectSchedule.h"
#include "SelectGradSchedule.h"

#include "normlir/Dialect/Norm/Transforms/Passes.h"
#include "normlir/Dialect/Norm/Transforms/TuningDatabase.h"
#include "normlir/Dialect/Norm/Utils/KernelLayout.h"
#include "normlir/Dialect/Norm/Utils/Target.h"

#include "mlir/AsmParser/AsmParser.h"

namespace normlir::norm {
#define GEN_PASS_DEF_NORMSELECTSCHEDULE
#include "normlir/Dialect/Norm/Transforms/Passes.h.inc"
} // namespace normlir::norm

using namespace mlir;
using namespace normlir::norm;

namespace {

/// Tasks of the row strategy (its per-thread software pipelines).
constexpr int64_t kRowTasks = 16;
/// Input bytes below which a kernel runs on one thread.
constexpr int64_t kMinParallelBytes = 64 * 1024;
/// Tasks the column strategy's statistics pass aims for, so that any thread
/// count up to this has balanced work (the split never depends on it).
constexpr int64_t kMinTasks = 64;
/// What a masked vector access costs against a full one, in the choice of
/// the vector width of short runs: a masked load or store is several
/// instructions on AVX2 (vmaskmovps), and normlir-tune measured width 4
/// 18-30% faster than 8 on rows of 12 f32 (one full and one masked vector).
constexpr int64_t kMaskedVectorCost = 3;

/// How far ahead the row strategy prefetches: measured on 4 KiB rows
/// (65536x1024 f32), 1 to 4 rows ahead ran within noise of each other.
constexpr int64_t kPrefetchBytes = 8 * 1024;

/// The CPU vector width for runs of `run` elements: among the powers of two
/// up to the target's width, the one with the fewest vector accesses per run,
/// a masked tail counting kMaskedVectorCost; the wider on a tie. Long runs
/// keep the target's width (their tail is a small share); a short run whose
/// length a narrower width divides takes that width.
static int64_t chooseCPUVectorWidth(int64_t targetWidth, int64_t run) {
  int64_t best = targetWidth, bestCost = std::numeric_limits<int64_t>::max();
  for (int64_t w = targetWidth; w >= 1; w /= 2) {
    int64_t cost = run / w + (run % w ? kMaskedVectorCost : 0);
    if (cost < bestCost) {
      best = w;
      bestCost = cost;
    }
  }
  return best;
}

} // namespace

bool normlir::norm::strategyApplies(Strategy strategy, const KernelLayout &l,
                                    bool cuda, std::string &why) {
  int64_t r1 = l.size[KernelLayout::R1], p1 = l.size[KernelLayout::P1];
  if (cuda) {
    if (strategy == Strategy::Row && r1 != 1 && p1 != 1) {
      why = "GPU strategy row needs contiguous rows (R1 = 1 or P1 = 1)";
      return false;
    }
    return true;
  }
  if (strategy == Strategy::Column && l.paramsAlongR1) {
    why = "strategy column needs parameters constant along R1";
    return false;
  }
  if (strategy == Strategy::Row && r1 != 1) {
    why = "strategy row needs R1 = 1";
    return false;
  }
  return true;
}

namespace {

/// strategyApplies with an error at `op`.
static LogicalResult checkStrategyApplies(KernelOp op, const KernelLayout &l,
                                          Strategy strategy, bool cuda) {
  std::string why;
  if (strategyApplies(strategy, l, cuda, why))
    return success();
  return op.emitError() << "norm-select-schedule: " << why << ", layout "
                        << l.str();
}

/// The schedule `database` records for `op` on `target`: null where it has
/// none; failure (with an error at `op`) where the record is not a schedule
/// of the target's kind or does not apply to the kernel.
static FailureOr<Attribute> lookupTunedSchedule(KernelOp op,
                                                const KernelLayout &l,
                                                const TuningDatabase &database,
                                                Attribute target, bool cuda) {
  StringRef text = database.lookup(getTuningKey(op, target));
  if (text.empty())
    return Attribute();
  Attribute schedule = parseAttribute(text, op.getContext());
  Strategy strategy;
  if (auto cpu = dyn_cast_or_null<ScheduleAttr>(schedule); cpu && !cuda)
    strategy = cpu.getStrategy();
  else if (auto gpu = dyn_cast_or_null<GPUScheduleAttr>(schedule); gpu && cuda)
    strategy = gpu.getStrategy();
  else
    return op.emitError() << "norm-select-schedule: the tuning database's "
                             "record for this kernel is not a "
                          << (cuda ? "#norm.gpu_schedule" : "#norm.schedule")
                          << ": " << text;
  if (failed(checkStrategyApplies(op, l, strategy, cuda)))
    return failure();
  // A record made when the column strategy's moments were f32 may need
  // more workgroup memory now that they are f64.
  if (auto gpu = dyn_cast<GPUScheduleAttr>(schedule);
      gpu && strategy == Strategy::Column && op.computesStatistics()) {
    auto cudaTarget = dyn_cast_or_null<CUDATargetAttr>(target);
    int64_t limit =
        cudaTarget ? cudaTarget.getSharedMemoryPerBlock() : int64_t(48) << 10;
    int64_t bytes =
        kGPUColumnScratchBytesPerLane * gpu.getThreads() * gpu.getVectorWidth();
    if (bytes > limit)
      return op.emitError()
             << "norm-select-schedule: the tuning database's record for "
                "this kernel needs "
             << bytes << " bytes of workgroup memory, more than the " << limit
             << " the target has (a record of an older "
                "NormLIR: tune the kernel again): "
             << text;
  }
  return schedule;
}

} // namespace

int64_t normlir::norm::inputElementBytes(KernelOp op) {
  auto type = cast<ShapedType>(op.getInput().getType());
  return std::max<int64_t>(type.getElementTypeBitWidth() / 8, 1);
}

namespace {

//===----------------------------------------------------------------------===//
// CPU strategies
//===----------------------------------------------------------------------===//

/// What the CPU selection functions read: the kernel, its layout, the
/// target and the options (0, "" or "auto": chosen per kernel).
struct CPUSelection {
  mutable KernelOp op;
  const KernelLayout &layout;
  CPUTargetAttr target;
  const NormSelectScheduleOptions &options;

  /// A kernel with dynamic sizes is selected for one static `layout` per
  /// variant (selectCPUVariants); its row tasks are clamped to the rows at
  /// run time, not here.
  bool dynamicRows = false;
  /// The kernel's R1 is dynamic: a column schedule's `chunks` is then the
  /// number of chunks aimed for in all samples together, kMinTasks (the
  /// lowering divides it among the samples at run time and adds chunks so
  /// that each holds at most kColumnChunkBytes).
  bool dynamicR1 = false;
  /// The length a dynamic R2 stands for in the choice of the vector width,
  /// the unroll and the prefetch (0: R2 is static): the kernel serves every
  /// length with them, short rows through masks.
  int64_t nominalR2 = 0;

  /// The contiguous run the vector width is chosen for: R2, or what a
  /// dynamic one stands for.
  int64_t vectorRun() const {
    return nominalR2 ? nominalR2 : size(KernelLayout::R2);
  }

  int64_t size(KernelLayout::Run r) const { return layout.size[r]; }
  int64_t bytes() const {
    return KernelLayout::product(
               {layout.size[KernelLayout::P0], layout.size[KernelLayout::R1],
                layout.size[KernelLayout::P1], layout.size[KernelLayout::R2]}) *
           inputElementBytes(op);
  }
  /// The vector width for runs of `run` elements (option, else
  /// chooseCPUVectorWidth).
  int64_t vectorWidth(int64_t run) const {
    return options.vectorWidth > 0
               ? int64_t(options.vectorWidth)
               : chooseCPUVectorWidth(target.getVectorWidth(), run);
  }
  /// Enough independent accumulators to hide the add latency, but no more
  /// vectors than the run has.
  int64_t unroll(int64_t run, int64_t vl) const {
    return options.unroll > 0 ? int64_t(options.unroll)
                              : std::clamp<int64_t>(run / vl, 1, 4);
  }
  /// Streaming stores skip the read-for-ownership of each output line; they
  /// pay off once the output does not stay in the last-level cache.
  /// normlir-tune measured (docs/performance.md): 16 MiB row-norm outputs on
  /// a 32 MiB L3 are 20-35% faster with cached stores, 25.7 MB BatchNorm
  /// outputs 39% slower; so from 3/4 of the last-level cache.
  bool nontemporal() const {
    // The output has the input's shape; its element type may differ only
    // through an epilogue, which the estimate ignores.
    return options.nontemporal == "on" ||
           (options.nontemporal == "auto" &&
            4 * bytes() >= 3 * target.getLlcCache());
  }
  /// Rows of `run` elements the row strategy prefetches ahead: about
  /// kPrefetchBytes (at least one row), where the input does not stay in
  /// the L2 cache and a row fits in half the L2 (the apply reads it again
  /// from cache while the prefetched row arrives beside it). Measured on
  /// the 2-core Zen 3 (interleaved, % of a copy at one thread): GroupNorm
  /// rows of 25 KiB 66 -> 79 and of 256 KiB 66 -> 74, RMSNorm 256 KiB
  /// rows 84 -> 89. A range of one row has nothing later to prefetch (the
  /// clamp would prefetch the row itself).
  int64_t prefetchRows(int64_t run) const {
    if (options.prefetch >= 0)
      return options.prefetch;
    int64_t rowBytes = std::max<int64_t>(run, 1) * inputElementBytes(op);
    int64_t rows = std::max<int64_t>(layout.numSegments(), 1);
    int64_t rowsPerTask = (rows + rowTasks() - 1) / rowTasks();
    if (bytes() < target.getL2Cache() || 2 * rowBytes > target.getL2Cache() ||
        rowsPerTask < 2)
      return 0;
    return (kPrefetchBytes + rowBytes - 1) / rowBytes;
  }
  /// Waking a thread costs microseconds: small kernels run serially.
  bool parallel() const {
    return options.parallel == "on" ||
           (options.parallel == "auto" && bytes() >= kMinParallelBytes);
  }
  /// Row ranges (thread tasks): enough for 16 threads.
  int64_t rowTasks() const {
    int64_t tasks =
        options.rowTasks > 0 ? int64_t(options.rowTasks) : kRowTasks;
    if (dynamicRows)
      return tasks;
    return std::clamp<int64_t>(tasks, 1,
                               std::max<int64_t>(layout.numSegments(), 1));
  }
  /// The schedule, checked against the attribute's constraints: the
  /// options were checked, and this keeps the heuristic honest too.
  FailureOr<ScheduleAttr> get(Strategy strategy, int64_t vl, int64_t unroll,
                              int64_t chunks, int64_t prefetch = 0) const {
    auto attr = ScheduleAttr::getChecked(
        [&] { return op.emitError() << "norm-select-schedule: "; },
        op.getContext(), strategy, vl, unroll, chunks, rowTasks(),
        nontemporal(), parallel(), prefetch);
    if (!attr)
      return failure();
    return attr;
  }
};

/// A selection function: the schedule of one strategy, or null where it
/// declines (`forced`: only where the strategy cannot lower the kernel),
/// with the reason in `why`; failure after an error at the kernel.
using CPUStrategyFn = FailureOr<ScheduleAttr> (*)(const CPUSelection &,
                                                  bool forced,
                                                  std::string &why);

/// Row: each row (R1 = 1) read from memory once, its statistics and apply
/// from cache, later rows prefetched.
static FailureOr<ScheduleAttr> selectCPURow(const CPUSelection &s, bool,
                                            std::string &why) {
  if (!strategyApplies(Strategy::Row, s.layout, /*cuda=*/false, why))
    return ScheduleAttr(); // Declines.
  int64_t r2 = s.vectorRun();
  int64_t vl = s.vectorWidth(r2);
  return s.get(Strategy::Row, vl, s.unroll(r2, vl), 1, s.prefetchRows(r2));
}

/// Segment: statistics per contiguous R2 run combined over R1, for runs of
/// at least two vectors (or parameters along R1, which the column strategy
/// cannot take).
static FailureOr<ScheduleAttr> selectCPUSegment(const CPUSelection &s,
                                                bool forced, std::string &why) {
  int64_t r2 = s.vectorRun();
  int64_t vl = s.vectorWidth(r2);
  if (!forced && r2 < 2 * vl && !s.layout.paramsAlongR1) {
    why = "contiguous runs shorter than two vectors";
    return ScheduleAttr(); // Declines.
  }
  return s.get(Strategy::Segment, vl, s.unroll(r2, vl), 1);
}

/// Column: vectors across the contiguous P1 * R2 elements of a row, R1 in
/// chunks whose rows stay in L2, at least kMinTasks tasks in all.
static FailureOr<ScheduleAttr> selectCPUColumn(const CPUSelection &s, bool,
                                               std::string &why) {
  if (!strategyApplies(Strategy::Column, s.layout, /*cuda=*/false, why))
    return ScheduleAttr(); // Declines.
  int64_t r1 = std::max<int64_t>(s.size(KernelLayout::R1), 1);
  int64_t lanes = s.size(KernelLayout::P1) * s.size(KernelLayout::R2);
  int64_t vl = s.vectorWidth(lanes);
  int64_t p0 = std::max<int64_t>(s.size(KernelLayout::P0), 1);
  int64_t k;
  if (s.options.chunks > 0)
    k = s.options.chunks;
  else if (s.dynamicR1)
    k = kMinTasks;
  else
    k = std::max<int64_t>((s.bytes() + kColumnChunkBytes - 1) /
                              kColumnChunkBytes,
                          (kMinTasks + p0 - 1) / p0);
  if (!s.dynamicR1)
    k = std::clamp<int64_t>(k, 1, r1);
  return s.get(Strategy::Column, vl, s.unroll(lanes, vl), k);
}

/// The CPU strategies in the order they are tried.
constexpr std::pair<Strategy, CPUStrategyFn> kCPUStrategies[] = {
    {Strategy::Row, selectCPURow},
    {Strategy::Segment, selectCPUSegment},
    {Strategy::Column, selectCPUColumn},
};

/// The CPU strategy of a kernel with dynamic sizes, as the static choice
/// would take it: row where R1 = 1 (dynamic P0 and R2), column for short
/// static runs (channels-last layouts: dynamic P0 and R1, the lanes P1 x R2
/// static), segment otherwise (dynamic P0, R1 and R2; P1 static); a located
/// error where none applies or the options force another.
static FailureOr<Strategy>
chooseDynamicStrategy(KernelOp op, const KernelLayout &layout,
                      CPUTargetAttr target,
                      const NormSelectScheduleOptions &options) {
  using Run = KernelLayout::Run;
  Strategy strategy;
  if (!layout.isDynamic(Run::R1) && layout.size[Run::R1] == 1)
    strategy = Strategy::Row;
  else if (layout.isDynamic(Run::P1))
    return op.emitError() << "norm-select-schedule: a kernel with a dynamic "
                             "P1 (parallel dimensions between the reduced "
                             "ones) is not lowered yet; layout "
                          << layout.str();
  else if (!layout.paramsAlongR1 && !layout.isDynamic(Run::R2) &&
           layout.size[Run::R2] < 2 * target.getVectorWidth())
    strategy = Strategy::Column;
  else
    strategy = Strategy::Segment;
  if (!options.strategy.empty() &&
      options.strategy != stringifyStrategy(strategy))
    return op.emitError() << "norm-select-schedule: strategy="
                          << options.strategy
                          << " does not take this kernel's dynamic sizes ("
                          << stringifyStrategy(strategy) << " does); layout "
                          << layout.str();
  return strategy;
}

/// The variants of a kernel with dynamic sizes: its strategy's heuristic
/// (chooseDynamicStrategy) at each input size (elements) where one of its
/// decisions may change (threads from kMinParallelBytes, prefetch from the
/// L2's size, streaming stores from 3/4 of the last-level cache, prefetch
/// once a task has two rows), one variant per distinct schedule. Each size
/// is evaluated on a static stand-in of the layout (layoutAt): a dynamic R2
/// takes up to kPrefetchBytes (its vector width and unroll are those of
/// such long rows, whatever the size: the kernel masks short ones), the
/// first dynamic one of P0 and R1 the rest of the size.
static FailureOr<ArrayAttr>
selectCPUVariants(KernelOp op, const KernelLayout &layout, CPUTargetAttr target,
                  const NormSelectScheduleOptions &options) {
  using Run = KernelLayout::Run;
  FailureOr<Strategy> strategy =
      chooseDynamicStrategy(op, layout, target, options);
  if (failed(strategy))
    return failure();
  int64_t elementBytes = inputElementBytes(op);
  // The static dimensions' product, and per dynamic run the product of its
  // static dimensions (GroupNorm's G beside a dynamic N).
  int64_t fixed = 1;
  int64_t unit[4] = {1, 1, 1, 1};
  for (int r = Run::P0; r <= Run::R2; ++r)
    for (int64_t d : layout.dims[r])
      if (!ShapedType::isDynamic(layout.shape[d])) {
        // A static 0 (no channels) empties every size: counted as 1 here.
        fixed *= std::max<int64_t>(layout.shape[d], 1);
        unit[r] *= std::max<int64_t>(layout.shape[d], 1);
      }
  bool dynR2 = layout.isDynamic(Run::R2);
  int64_t nominalR2 = 0;
  if (dynR2) {
    int64_t row = std::max<int64_t>(kPrefetchBytes / elementBytes, 1);
    nominalR2 = (row + unit[Run::R2] - 1) / unit[Run::R2] * unit[Run::R2];
  }
  Run growing = layout.isDynamic(Run::P0)   ? Run::P0
                : layout.isDynamic(Run::R1) ? Run::R1
                                            : Run::R2;
  // The layout at `n` elements: a dynamic R2 takes up to its nominal length
  // (all of them where it is the only dynamic run), the growing run the
  // rest, other dynamic runs their static factors.
  auto layoutAt = [&](int64_t n) {
    KernelLayout at = layout;
    int64_t rest = std::max<int64_t>((n + fixed - 1) / fixed, 1);
    for (int r = Run::P0; r <= Run::R2; ++r)
      if (layout.isDynamic(Run(r)))
        at.size[r] = unit[r];
    if (dynR2) {
      int64_t take =
          growing == Run::R2 ? rest : std::min(rest, nominalR2 / unit[Run::R2]);
      take = std::max<int64_t>(take, 1);
      at.size[Run::R2] = take * unit[Run::R2];
      rest = (rest + take - 1) / take;
    }
    if (growing != Run::R2)
      at.size[growing] = rest * unit[growing];
    return at;
  };
  // Sizes where a decision may change, ascending, as multiples of the
  // static dimensions: threads, prefetch (the L2; two rows per task),
  // streaming stores.
  int64_t rowLen =
      dynR2 ? nominalR2 : std::max<int64_t>(layout.size[Run::R2], 1);
  int64_t rowBytes = rowLen * elementBytes;
  int64_t tasks = options.rowTasks > 0 ? int64_t(options.rowTasks) : kRowTasks;
  SmallVector<int64_t> counts = {1, 2 * tasks * rowLen};
  for (int64_t bytes : {kMinParallelBytes, target.getL2Cache(),
                        (3 * target.getLlcCache() + 3) / 4})
    counts.push_back((bytes + rowBytes - 1) / rowBytes * rowLen);
  for (int64_t &n : counts)
    n = (std::max<int64_t>(n, 1) + fixed - 1) / fixed * fixed;
  llvm::sort(counts);
  counts.erase(llvm::unique(counts), counts.end());

  CPUStrategyFn select = nullptr;
  for (const auto &[st, fn] : kCPUStrategies)
    if (st == *strategy)
      select = fn;
  SmallVector<Attribute> variants;
  Attribute previous;
  for (int64_t n : counts) {
    KernelLayout at = layoutAt(n);
    CPUSelection s{op, at, target, options};
    s.dynamicRows = true;
    s.dynamicR1 = layout.isDynamic(Run::R1);
    s.nominalR2 = nominalR2;
    std::string why;
    FailureOr<ScheduleAttr> schedule = select(s, true, why);
    if (failed(schedule))
      return failure();
    if (!*schedule)
      return op.emitError()
             << "norm-select-schedule: " << why << ", layout " << layout.str();
    if (*schedule == previous)
      continue;
    previous = *schedule;
    variants.push_back(
        VariantAttr::get(op.getContext(), variants.empty() ? 0 : n, *schedule));
  }
  return ArrayAttr::get(op.getContext(), variants);
}

/// The variants a tuning database records for a kernel with dynamic sizes
/// (normlir-tune --at: one measured schedule per size range), checked: a
/// list of #norm.variant whose `from` ascend strictly from 0, each a CPU
/// schedule of the strategy the kernel's dynamic sizes take
/// (chooseDynamicStrategy). Null where the database has no record.
static FailureOr<ArrayAttr>
lookupTunedVariants(KernelOp op, const KernelLayout &layout,
                    const TuningDatabase &database, CPUTargetAttr target,
                    const NormSelectScheduleOptions &options) {
  StringRef text = database.lookup(getTuningKey(op, target));
  if (text.empty())
    return ArrayAttr();
  FailureOr<Strategy> strategy =
      chooseDynamicStrategy(op, layout, target, options);
  if (failed(strategy))
    return failure();
  auto variants =
      dyn_cast_or_null<ArrayAttr>(parseAttribute(text, op.getContext()));
  int64_t previous = -1;
  bool ok = variants && !variants.empty();
  for (Attribute a : variants ? variants.getValue() : ArrayRef<Attribute>()) {
    auto v = dyn_cast<VariantAttr>(a);
    auto schedule = v ? dyn_cast<ScheduleAttr>(v.getSchedule()) : nullptr;
    ok = ok && schedule && schedule.getStrategy() == *strategy &&
         (previous < 0 ? v.getFrom() == 0 : v.getFrom() > previous);
    if (!ok)
      break;
    previous = v.getFrom();
  }
  if (!ok)
    return op.emitError()
           << "norm-select-schedule: the tuning database's record for this "
              "kernel with dynamic sizes is not a list of #norm.variant "
              "(from ascending strictly from 0) of #norm.schedule with "
              "strategy "
           << stringifyStrategy(*strategy) << ": " << text;
  return variants;
}

} // namespace

/// "<name> must be <rule>, got <value>" for an option.
static llvm::Error optionError(llvm::StringRef name, llvm::StringRef rule,
                               const llvm::Twine &value) {
  return llvm::createStringError(name + " must be " + rule + ", got " + value);
}

/// Checks an integer option: 0 (chosen per kernel), else in [lo, hi] and,
/// with `pow2`, a power of two. `attr` names the schedule constraint.
static llvm::Error checkCount(llvm::StringRef name, int64_t value, int64_t lo,
                              int64_t hi, bool pow2, llvm::StringRef attr) {
  if (value == 0 ||
      (value >= lo && value <= hi && (!pow2 || llvm::isPowerOf2_64(value))))
    return llvm::Error::success();
  std::string rule =
      (pow2 ? "0 (chosen per kernel) or a power of two in ["
            : "0 (chosen per kernel) or in [") +
      std::to_string(lo) + ", " +
      (hi == (int64_t(1) << 30) ? std::string("2^30") : std::to_string(hi)) +
      "] (" + attr.str() + ")";
  return optionError(name, rule, llvm::Twine(value));
}

llvm::Error normlir::norm::checkNormSelectScheduleOptions(
    const NormSelectScheduleOptions &o) {
  auto oneOf = [](llvm::StringRef name, llvm::StringRef value,
                  std::initializer_list<llvm::StringRef> allowed,
                  llvm::StringRef rule) -> llvm::Error {
    if (llvm::is_contained(allowed, value))
      return llvm::Error::success();
    return optionError(name, rule, "'" + value + "'");
  };
  if (auto err = oneOf("target", o.target, {"cpu", "cuda"}, "cpu or cuda"))
    return err;
  bool cuda = o.target == "cuda";
  // The strategy names are the enum's (symbolizeStrategy), never spelled
  // out here.
  if (!o.strategy.empty() && !symbolizeStrategy(o.strategy))
    return optionError("strategy", "row, segment or column",
                       "'" + o.strategy + "'");
  if (auto err = oneOf("parallel", o.parallel, {"auto", "on", "off"},
                       "on, off or auto"))
    return err;
  if (auto err = oneOf("nontemporal", o.nontemporal, {"auto", "on", "off"},
                       "on, off or auto"))
    return err;
  if (auto err =
          oneOf("grad-statistics", o.gradStatistics,
                {"auto", "saved", "recomputed"}, "saved, recomputed or auto"))
    return err;
  if (cuda && o.gradStatistics != "auto")
    return optionError("grad-statistics",
                       "auto with target=cuda (the GPU has no fused backward "
                       "kernel)",
                       "'" + o.gradStatistics + "'");
  constexpr int64_t kMaxSplit = int64_t(1) << 30;
  // vector-width is the one option both targets read, with different ranges.
  if (cuda) {
    if (auto err = checkCount("vector-width", o.vectorWidth, 1, 16, true,
                              "#norm.gpu_schedule C3"))
      return err;
  } else if (auto err = checkCount("vector-width", o.vectorWidth, 1, 64, true,
                                   "#norm.schedule C2")) {
    return err;
  }
  if (auto err =
          checkCount("unroll", o.unroll, 1, 16, false, "#norm.schedule C2"))
    return err;
  if (auto err =
          checkCount("chunks", o.chunks, 1, kMaxSplit, false,
                     cuda ? "#norm.gpu_schedule C4" : "#norm.schedule C2"))
    return err;
  if (o.prefetch < -1 || o.prefetch > kMaxSplit)
    return optionError("prefetch",
                       "-1 (chosen per kernel) or in [0, 2^30] "
                       "(#norm.schedule C2)",
                       llvm::Twine(o.prefetch));
  // A forced CPU strategy that cannot hold a prefetch distance contradicts
  // one set with it (elsewhere the option applies to the kernels that take
  // the row strategy; the GPU schedules, like unroll, ignore it).
  if (!cuda && o.prefetch > 0 && !o.strategy.empty() &&
      symbolizeStrategy(o.strategy) != Strategy::Row)
    return optionError("prefetch",
                       "0 or -1 with strategy=" + o.strategy +
                           " (#norm.schedule C3: only the row strategy "
                           "prefetches)",
                       llvm::Twine(o.prefetch));
  if (auto err = checkCount("row-tasks", o.rowTasks, 1, kMaxSplit, false,
                            "#norm.schedule C2"))
    return err;
  if (auto err = checkCount("threads", o.threads, 1, 1024, true,
                            "#norm.gpu_schedule C2"))
    return err;
  if (auto err =
          checkCount("rows", o.rows, 1, 1024, true, "#norm.gpu_schedule C2"))
    return err;
  // Where rows are row teams (the segment strategy's are runs of R1).
  std::optional<Strategy> forced = symbolizeStrategy(o.strategy);
  if (o.threads > 0 && o.rows > 0 && o.threads * o.rows > 1024 &&
      forced != Strategy::Segment)
    return optionError("threads * rows", "<= 1024 (#norm.gpu_schedule C2)",
                       llvm::Twine(o.threads * o.rows));
  if (forced == Strategy::Segment && o.rows > 1 && o.chunks > 1)
    return optionError("chunks",
                       "1 with strategy=segment and rows > 1 "
                       "(#norm.gpu_schedule C4: a block reduces whole runs)",
                       llvm::Twine(o.chunks));
  return llvm::Error::success();
}

namespace {

struct NormSelectSchedulePass
    : public normlir::norm::impl::NormSelectScheduleBase<
          NormSelectSchedulePass> {
  using NormSelectScheduleBase::NormSelectScheduleBase;

  /// Emits `message` at the first kernel (else at the pass's operation), so
  /// that an error of an option points into the input like any other.
  void emitAtFirstKernel(const llvm::Twine &message) {
    Operation *at = getOperation();
    getOperation()->walk([&](Operation *op) {
      if (!isa<KernelOp, GradKernelOp>(op))
        return WalkResult::advance();
      at = op;
      return WalkResult::interrupt();
    });
    at->emitError() << message;
  }

  void runOnOperation() override {
    // Checked here rather than in initialize() so that the error points at
    // the input (file:line:col of the first kernel it would schedule) like
    // every other diagnostic.
    NormSelectScheduleOptions options;
    options.strategy = strategy;
    options.vectorWidth = vectorWidth;
    options.unroll = unroll;
    options.chunks = chunks;
    options.rowTasks = rowTasks;
    options.prefetch = prefetch;
    options.nontemporal = nontemporal;
    options.parallel = parallel;
    options.force = force;
    options.target = target;
    options.threads = threads;
    options.rows = rows;
    options.gradStatistics = gradStatistics;
    if (llvm::Error err = checkNormSelectScheduleOptions(options)) {
      emitAtFirstKernel("norm-select-schedule: " +
                        llvm::toString(std::move(err)));
      return signalPassFailure();
    }
    // The target facts come from the IR only (see the pass description).
    Attribute targetAttr = lookupTargetAttr(getOperation());
    bool cuda = target == "cuda";
    if (targetAttr && isa<CUDATargetAttr>(targetAttr) != cuda) {
      getOperation()->emitError()
          << "norm-select-schedule: target=" << target
          << " does not match the module's " << NormDialect::kTargetAttrName
          << " " << targetAttr;
      return signalPassFailure();
    }
    auto cpuTarget = dyn_cast_or_null<CPUTargetAttr>(targetAttr);
    if (!cpuTarget)
      cpuTarget = getDefaultCPUTarget(&getContext());
    auto cudaTarget = dyn_cast_or_null<CUDATargetAttr>(targetAttr);
    if (!cudaTarget)
      cudaTarget = getDefaultCUDATarget(&getContext());
    // Measured schedules, where no option asks for something else.
    std::shared_ptr<const TuningDatabase> database;
    if (!tuningDB.empty()) {
      auto loaded = TuningDatabase::load(tuningDB);
      if (!loaded) {
        emitAtFirstKernel("norm-select-schedule: " +
                          llvm::toString(loaded.takeError()));
        return signalPassFailure();
      }
      database = *loaded;
    }
    // A set option asks for the heuristic with that change instead of a
    // record: for the kinds of kernel that read it (prefetch, nontemporal
    // and parallel are both kinds').
    bool overridden = !strategy.empty() || vectorWidth || unroll || chunks ||
                      rowTasks || prefetch >= 0 || threads || rows ||
                      nontemporal != "auto" || parallel != "auto";
    bool gradOverridden = prefetch >= 0 || nontemporal != "auto" ||
                          parallel != "auto" || gradStatistics != "auto";
    Attribute keyTarget = cuda ? Attribute(cudaTarget) : Attribute(cpuTarget);
    WalkResult result = getOperation()->walk([&](KernelOp op) {
      if ((op.getScheduleAttr() || op.getVariantsAttr()) && !force)
        return WalkResult::advance();
      auto type = cast<ShapedType>(op.getInput().getType());
      std::string why;
      auto layout = analyzeKernelLayout(type.getShape(), op.getAxes(),
                                        op.getParamAxes(), &why);
      if (!layout) {
        op.emitError() << "norm-select-schedule: cannot schedule: " << why;
        return WalkResult::interrupt();
      }
      if (layout->hasDynamicSize()) {
        // A schedule per size range: the database's (normlir-tune --at)
        // where it has them, else the heuristic's.
        if (cuda) {
          FailureOr<GPUScheduleAttr> gpu =
              selectGPUDynamic(op, *layout, cudaTarget, options);
          if (failed(gpu))
            return WalkResult::interrupt();
          op.removeVariantsAttr();
          op.setScheduleAttr(*gpu);
          return WalkResult::advance();
        }
        FailureOr<ArrayAttr> variants = ArrayAttr();
        if (database && !overridden)
          variants =
              lookupTunedVariants(op, *layout, *database, cpuTarget, options);
        if (succeeded(variants) && !*variants)
          variants = selectCPUVariants(op, *layout, cpuTarget, options);
        if (failed(variants))
          return WalkResult::interrupt();
        op.removeScheduleAttr();
        op.setVariantsAttr(*variants);
        return WalkResult::advance();
      }
      op.removeVariantsAttr();
      if (database && !overridden) {
        FailureOr<Attribute> tuned =
            lookupTunedSchedule(op, *layout, *database, keyTarget, cuda);
        if (failed(tuned))
          return WalkResult::interrupt();
        if (*tuned) {
          op->setAttr(op.getScheduleAttrName(), *tuned);
          return WalkResult::advance();
        }
      }
      if (cuda) {
        FailureOr<GPUScheduleAttr> gpu =
            selectGPUSchedule(op, *layout, cudaTarget, options);
        if (failed(gpu))
          return WalkResult::interrupt();
        op.setScheduleAttr(*gpu);
        return WalkResult::advance();
      }
      FailureOr<ScheduleAttr> cpu = selectSchedule(
          CPUSelection{op, *layout, cpuTarget, options}, kCPUStrategies);
      if (failed(cpu))
        return WalkResult::interrupt();
      op.setScheduleAttr(*cpu);
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      return signalPassFailure();
    // The backward kernels (CPU only: the CUDA pipeline forms none).
    result = getOperation()->walk([&](GradKernelOp op) {
      if (op.getScheduleAttr() && !force)
        return WalkResult::advance();
      if (cuda) {
        op.emitError("norm-select-schedule: a norm.grad_kernel has no GPU "
                     "schedule (the CUDA pipeline lowers the unfused "
                     "gradient ops)");
        return WalkResult::interrupt();
      }
      FailureOr<GradScheduleAttr> schedule = selectGradSchedule(
          op, cpuTarget, options, gradOverridden ? nullptr : database.get());
      if (failed(schedule))
        return WalkResult::interrupt();
      op.setScheduleAttr(*schedule);
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
