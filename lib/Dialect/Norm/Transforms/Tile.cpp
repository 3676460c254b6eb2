//===- Tile.cpp - choose and record a schedule per norm.kernel ------------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// `norm-tile`: the schedule heuristic. It only decides; convert-norm-to-vector
// follows whatever #norm.schedule the op carries, so a schedule written by
// hand or forced through the options is honoured the same way.
//
//===----------------------------------------------------------------------===//

#include "normlir/Dialect/Norm/Transforms/Passes.h"
#include "normlir/Dialect/Norm/Transforms/TuningDatabase.h"
#include "normlir/Dialect/Norm/Utils/KernelLayout.h"
#include "normlir/Dialect/Norm/Utils/Target.h"

#include "mlir/AsmParser/AsmParser.h"

namespace normlir::norm {
#define GEN_PASS_DEF_NORMTILE
#include "normlir/Dialect/Norm/Transforms/Passes.h.inc"
} // namespace normlir::norm

using namespace mlir;
using namespace normlir::norm;

namespace {

/// Bytes of L2 cache one chunk of rows of the column strategy may fill.
constexpr int64_t kChunkBytes = 256 * 1024;
/// Tasks of the row strategy (its per-thread software pipelines).
constexpr int64_t kRowTasks = 16;
/// Input bytes below which a kernel runs on one thread.
constexpr int64_t kMinParallelBytes = 64 * 1024;
/// Tasks the column strategy's statistics pass aims for, so that any thread
/// count up to this has balanced work (the split never depends on it).
constexpr int64_t kMinTasks = 64;

/// Threads per block the GPU schedules aim for.
constexpr int64_t kGPUBlockThreads = 256;
/// Elements per thread the GPU row strategy keeps in registers at most.
constexpr int64_t kGPUMaxRowElements = 32;
/// Elements per block of the GPU segment strategy.
constexpr int64_t kGPUSegmentChunk = 16384;
/// Blocks per multiprocessor the GPU segment strategy wants at least.
constexpr int64_t kGPUMinBlocksPerSM = 2;
/// Blocks the GPU column strategy aims for (several waves on 132 SMs).
constexpr int64_t kGPUColumnBlocks = 1024;

/// The largest power of two <= `max` dividing every value of `runs`.
static int64_t largestDividingWidth(int64_t max, ArrayRef<int64_t> runs) {
  int64_t v = max;
  while (v > 1 && llvm::any_of(runs, [&](int64_t r) { return r % v != 0; }))
    v /= 2;
  return v;
}

/// Fails, with an error at `op`, where `strategy` cannot lower `op`'s layout
/// on the CPU or (`cuda`) the GPU.
static LogicalResult checkStrategyApplies(KernelOp op, const KernelLayout &l,
                                          StringRef strategy, bool cuda) {
  int64_t r1 = l.size[KernelLayout::R1], p1 = l.size[KernelLayout::P1];
  if (cuda) {
    if (strategy == "row" && r1 != 1 && p1 != 1)
      return op.emitError() << "norm-tile: GPU strategy row needs contiguous "
                               "rows (R1 = 1 or P1 = 1), layout "
                            << l.str();
    return success();
  }
  if (strategy == "column" && l.paramsAlongR1)
    return op.emitError() << "norm-tile: strategy column needs parameters "
                             "constant along R1, layout "
                          << l.str();
  if (strategy == "row" && r1 != 1)
    return op.emitError() << "norm-tile: strategy row needs R1 = 1, layout "
                          << l.str();
  return success();
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
  StringRef strategy;
  if (auto cpu = dyn_cast_or_null<ScheduleAttr>(schedule); cpu && !cuda)
    strategy = cpu.getStrategy();
  else if (auto gpu = dyn_cast_or_null<GPUScheduleAttr>(schedule); gpu && cuda)
    strategy = gpu.getStrategy();
  else
    return op.emitError() << "norm-tile: the tuning database's record for "
                             "this kernel is not a "
                          << (cuda ? "#norm.gpu_schedule" : "#norm.schedule")
                          << ": " << text;
  if (failed(checkStrategyApplies(op, l, strategy, cuda)))
    return failure();
  return schedule;
}

/// The GPU schedule heuristic (see the pass description).
static FailureOr<GPUScheduleAttr>
chooseGPUSchedule(KernelOp op, CUDATargetAttr target, const KernelLayout &l,
                  StringRef strategy, int64_t threads, int64_t rows,
                  int64_t vectorWidth, int64_t chunks) {
  auto type = cast<ShapedType>(op.getInput().getType());
  int64_t r1 = l.size[KernelLayout::R1], p1 = l.size[KernelLayout::P1],
          r2 = l.size[KernelLayout::R2];
  bool params = op.getWeight() || op.getBias();
  bool contiguousRows = r1 == 1 || p1 == 1;
  int64_t n = r1 * r2;
  int64_t eltBytes = std::max<int64_t>(type.getElementTypeBitWidth() / 8, 1);
  int64_t maxWidth = vectorWidth > 0 ? vectorWidth : 16 / eltBytes;

  std::string strat = strategy.str();
  if (strat.empty()) {
    if (!op.computesStatistics())
      strat = "column";
    else if (contiguousRows && n <= 1024 * kGPUMaxRowElements)
      strat = "row";
    else if (r2 >= 256)
      strat = "segment";
    else
      strat = "column";
  }
  if (failed(checkStrategyApplies(op, l, strat, /*cuda=*/true)))
    return failure();
  // Vector accesses stay inside one contiguous run (and one parameter run).
  SmallVector<int64_t> runs;
  if (strat == "row")
    runs.push_back(p1 == 1 ? n : r2);
  if (strat == "segment" || (strat == "row" && r1 > 1 && params))
    runs.push_back(r2);
  if (strat != "row" || !op.computesStatistics())
    runs.push_back(p1 * r2);
  if (strat == "row" && params)
    runs.push_back(l.r2i);
  // The column strategy keeps 3 x threads x width f32 in workgroup memory.
  if (strat == "column")
    maxWidth = std::min<int64_t>(
        maxWidth, std::max<int64_t>(
                      target.getSharedMemoryPerBlock() /
                          (3 * 4 * (threads > 0 ? threads : kGPUBlockThreads)),
                      1));
  int64_t v =
      vectorWidth > 0 ? vectorWidth : largestDividingWidth(maxWidth, runs);

  int64_t t = threads, rb = rows > 0 ? rows : 1, k = chunks > 0 ? chunks : 1;
  if (strat == "row") {
    // About four vectors per thread: enough loads in flight, few registers.
    int64_t vectors = std::max<int64_t>((n + v - 1) / v, 1);
    if (t <= 0)
      t = std::clamp<int64_t>(llvm::PowerOf2Ceil((vectors + 3) / 4), 1, 1024);
    if (rows <= 0)
      rb = std::max<int64_t>(kGPUBlockThreads / t, 1);
    if (t * rb < 32)
      rb = 32 / t;
    k = 1;
  } else if (strat == "segment") {
    // Chunks of at most 16K elements, and enough blocks to fill the GPU
    // (few long rows), but at least 32 vectors per chunk.
    int64_t segs = std::max<int64_t>(l.numSegments(), 1);
    if (chunks <= 0) {
      int64_t minBlocks = kGPUMinBlocksPerSM * target.getMultiprocessors();
      k = std::max((r2 + kGPUSegmentChunk - 1) / kGPUSegmentChunk,
                   (minBlocks + segs - 1) / segs);
      k = std::clamp<int64_t>(k, 1, std::max<int64_t>(r2 / (32 * v), 1));
    }
    // About four vectors per thread: short segments get small blocks.
    if (t <= 0) {
      int64_t vectors = std::max<int64_t>((r2 + k * v - 1) / (k * v), 1);
      t = std::clamp<int64_t>(llvm::PowerOf2Ceil((vectors + 3) / 4), 32,
                              kGPUBlockThreads);
    }
  } else {
    if (t <= 0)
      t = kGPUBlockThreads;
    if (chunks <= 0) {
      int64_t columns = std::max<int64_t>(p1 * r2 / v, 1);
      int64_t tx = std::min<int64_t>(t, llvm::PowerOf2Ceil(columns));
      int64_t tiles = (columns + tx - 1) / tx;
      int64_t ty = t / tx;
      int64_t p0 = std::max<int64_t>(l.size[KernelLayout::P0], 1);
      int64_t want = (kGPUColumnBlocks + p0 * tiles - 1) / (p0 * tiles);
      // At least a few rows per thread.
      int64_t most = std::max<int64_t>(r1 / (4 * ty), 1);
      k = std::clamp<int64_t>(want, 1, most);
    }
  }
  auto emitError = [&]() { return op.emitError() << "norm-tile: "; };
  if (failed(GPUScheduleAttr::verify(emitError, strat, t, rb, v, k)))
    return failure();
  return GPUScheduleAttr::get(op.getContext(), strat, t, rb, v, k);
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

llvm::Error normlir::norm::checkNormTileOptions(const NormTileOptions &o) {
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
  if (auto err = oneOf("strategy", o.strategy, {"", "row", "segment", "column"},
                       "row, segment or column"))
    return err;
  if (auto err = oneOf("parallel", o.parallel, {"auto", "on", "off"},
                       "on, off or auto"))
    return err;
  if (auto err = oneOf("nontemporal", o.nontemporal, {"auto", "on", "off"},
                       "on, off or auto"))
    return err;
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
  if (auto err = checkCount("row-tasks", o.rowTasks, 1, kMaxSplit, false,
                            "#norm.schedule C2"))
    return err;
  if (auto err = checkCount("threads", o.threads, 1, 1024, true,
                            "#norm.gpu_schedule C2"))
    return err;
  if (auto err =
          checkCount("rows", o.rows, 1, 1024, true, "#norm.gpu_schedule C2"))
    return err;
  if (o.threads > 0 && o.rows > 0 && o.threads * o.rows > 1024)
    return optionError("threads * rows", "<= 1024 (#norm.gpu_schedule C2)",
                       llvm::Twine(o.threads * o.rows));
  return llvm::Error::success();
}

namespace {

struct NormTilePass : public normlir::norm::impl::NormTileBase<NormTilePass> {
  using NormTileBase::NormTileBase;

  /// Emits `message` at the first kernel (else at the pass's operation), so
  /// that an error of an option points into the input like any other.
  void emitAtFirstKernel(const llvm::Twine &message) {
    Operation *at = getOperation();
    getOperation()->walk([&](KernelOp op) {
      at = op;
      return WalkResult::interrupt();
    });
    at->emitError() << message;
  }

  void runOnOperation() override {
    // Checked here rather than in initialize() so that the error points at
    // the input (file:line:col of the first kernel it would schedule) like
    // every other diagnostic.
    NormTileOptions options;
    options.strategy = strategy;
    options.vectorWidth = vectorWidth;
    options.unroll = unroll;
    options.chunks = chunks;
    options.rowTasks = rowTasks;
    options.nontemporal = nontemporal;
    options.parallel = parallel;
    options.force = force;
    options.target = target;
    options.threads = threads;
    options.rows = rows;
    if (llvm::Error err = checkNormTileOptions(options)) {
      emitAtFirstKernel("norm-tile: " + llvm::toString(std::move(err)));
      return signalPassFailure();
    }
    // The target facts come from the IR only (see the pass description).
    Attribute targetAttr = lookupTargetAttr(getOperation());
    bool cuda = target == "cuda";
    if (targetAttr && isa<CUDATargetAttr>(targetAttr) != cuda) {
      getOperation()->emitError()
          << "norm-tile: target=" << target << " does not match the module's "
          << NormDialect::kTargetAttrName << " " << targetAttr;
      return signalPassFailure();
    }
    auto cpuTarget = dyn_cast_or_null<CPUTargetAttr>(targetAttr);
    if (!cpuTarget)
      cpuTarget = getDefaultCPUTarget(&getContext());
    auto cudaTarget = dyn_cast_or_null<CUDATargetAttr>(targetAttr);
    if (!cudaTarget)
      cudaTarget = getDefaultCUDATarget(&getContext());
    int64_t targetWidth = cpuTarget.getVectorWidth();
    int64_t llcBytes = cpuTarget.getLlcCache();
    // Measured schedules, where no option asks for something else.
    std::shared_ptr<const TuningDatabase> database;
    if (!tuningDB.empty()) {
      auto loaded = TuningDatabase::load(tuningDB);
      if (!loaded) {
        emitAtFirstKernel("norm-tile: " + llvm::toString(loaded.takeError()));
        return signalPassFailure();
      }
      database = *loaded;
    }
    bool overridden = !strategy.empty() || vectorWidth || unroll || chunks ||
                      rowTasks || threads || rows || nontemporal != "auto" ||
                      parallel != "auto";
    Attribute keyTarget = cuda ? Attribute(cudaTarget) : Attribute(cpuTarget);
    WalkResult result = getOperation()->walk([&](KernelOp op) {
      if (op.getScheduleAttr() && !force)
        return WalkResult::advance();
      auto type = cast<ShapedType>(op.getInput().getType());
      std::string why;
      auto layout = analyzeKernelLayout(type.getShape(), op.getAxes(),
                                        op.getParamAxes(), &why);
      if (!layout) {
        op.emitError() << "norm-tile: cannot schedule: " << why;
        return WalkResult::interrupt();
      }
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
            chooseGPUSchedule(op, cudaTarget, *layout, strategy, threads, rows,
                              vectorWidth, chunks);
        if (failed(gpu))
          return WalkResult::interrupt();
        op.setScheduleAttr(*gpu);
        return WalkResult::advance();
      }
      int64_t vl = vectorWidth > 0 ? int64_t(vectorWidth) : targetWidth;
      int64_t r1 = layout->size[KernelLayout::R1];
      int64_t r2 = layout->size[KernelLayout::R2];
      int64_t lanes = layout->size[KernelLayout::P1] * r2;

      std::string strat = strategy;
      if (strat.empty())
        strat = r1 == 1                                   ? "row"
                : (r2 >= 2 * vl || layout->paramsAlongR1) ? "segment"
                                                          : "column";
      if (failed(checkStrategyApplies(op, *layout, strat, /*cuda=*/false)))
        return WalkResult::interrupt();
      // Enough independent accumulators to hide the add latency, but no more
      // vectors than the run has.
      int64_t run = strat == "column" ? lanes : r2;
      int64_t u =
          unroll > 0 ? int64_t(unroll) : std::clamp<int64_t>(run / vl, 1, 4);
      int64_t k = 1;
      if (strat == "column") {
        int64_t bytes = r1 * lanes * int64_t(type.getElementTypeBitWidth() / 8);
        int64_t p0 = layout->size[KernelLayout::P0];
        p0 = std::max<int64_t>(p0, 1);
        k = std::max<int64_t>((bytes + kChunkBytes - 1) / kChunkBytes,
                              (kMinTasks + p0 - 1) / p0);
        k = std::clamp<int64_t>(k, 1, std::max<int64_t>(r1, 1));
        if (chunks > 0)
          k = std::min<int64_t>(chunks, std::max<int64_t>(r1, 1));
      }
      // Streaming stores skip the read-for-ownership of each output line; they
      // pay off once the output does not stay in the last-level cache
      // (measured: from 16 MiB outputs on a 32 MiB L3, docs/performance.md).
      int64_t outBytes =
          type.getNumElements() * int64_t(type.getElementTypeBitWidth() / 8);
      bool nt = nontemporal == "on" ||
                (nontemporal == "auto" && 2 * outBytes >= llcBytes);
      // Row ranges per task: enough for 16 threads, long enough that the
      // unpipelined first row of each range is a small share of it.
      int64_t rows = layout->numSegments();
      int64_t rb =
          std::clamp<int64_t>(rowTasks > 0 ? int64_t(rowTasks) : kRowTasks, 1,
                              std::max<int64_t>(rows, 1));
      // Waking a thread costs microseconds: small kernels run serially.
      int64_t inBytes =
          type.getNumElements() * int64_t(type.getElementTypeBitWidth() / 8);
      bool par = parallel == "on" ||
                 (parallel == "auto" && inBytes >= kMinParallelBytes);
      // The options were checked; this keeps the heuristic honest too.
      auto emitError = [&]() { return op.emitError() << "norm-tile: "; };
      if (failed(ScheduleAttr::verify(emitError, strat, vl, u, k, rb, nt, par)))
        return WalkResult::interrupt();
      op.setScheduleAttr(
          ScheduleAttr::get(&getContext(), strat, vl, u, k, rb, nt, par));
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
