//===- Candidates.cpp - the schedules normlir-tune tries ------------------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//

#include "Candidates.h"

#include "normlir/Dialect/Norm/IR/Norm.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/MathExtras.h"

#include <algorithm>

using namespace mlir;
using namespace normlir;
using namespace normlir::tune;

namespace {
/// One field of a schedule: its norm-select-schedule option, the values tried,
/// and the value of the strategy's base schedule (always among the values).
struct Axis {
  std::string option;
  std::vector<std::string> values;
  std::string base;
};
} // namespace

/// An axis of integer `values` (those in [lo, hi], powers of two with
/// `pow2`), and `base`, in order.
static Axis intAxis(llvm::StringRef option, int64_t base,
                    std::initializer_list<int64_t> values, int64_t lo = 1,
                    int64_t hi = int64_t(1) << 30, bool pow2 = false) {
  Axis axis{option.str(), {}, std::to_string(base)};
  for (int64_t v : values)
    if (v >= lo && v <= hi && (!pow2 || llvm::isPowerOf2_64(v)) &&
        !llvm::is_contained(axis.values, std::to_string(v)))
      axis.values.push_back(std::to_string(v));
  if (!llvm::is_contained(axis.values, axis.base))
    axis.values.insert(axis.values.begin(), axis.base);
  return axis;
}

/// An on/off axis.
static Axis boolAxis(llvm::StringRef option, bool base) {
  return Axis{option.str(), {"off", "on"}, base ? "on" : "off"};
}

/// Appends every combination of `axes` values after `prefix` (the
/// strategy option, or nothing), each at `offset` plus the number of fields
/// that differ from the base.
static void appendCrossProduct(llvm::StringRef prefix,
                               llvm::ArrayRef<Axis> axes, int offset,
                               std::vector<Candidate> &out) {
  std::vector<size_t> index(axes.size(), 0);
  while (true) {
    Candidate c{prefix.str(), offset};
    for (auto [axis, i] : llvm::zip_equal(axes, index)) {
      const std::string &value = axis.values[i];
      c.override += (c.override.empty() ? "" : " ") + axis.option + "=" + value;
      c.distance += value != axis.base;
    }
    c.override += " force";
    out.push_back(std::move(c));
    size_t k = 0;
    for (; k < axes.size(); ++k) {
      if (++index[k] < axes[k].values.size())
        break;
      index[k] = 0;
    }
    if (k == axes.size())
      return;
  }
}

/// The strategy option of `strategy`.
static std::string strategyOption(norm::Strategy strategy) {
  return "strategy=" + norm::stringifyStrategy(strategy).str();
}

/// The CPU fields varied around `base` for its strategy.
static std::vector<Axis> cpuAxes(norm::ScheduleAttr base, int64_t targetWidth) {
  int64_t c = base.getChunks();
  std::vector<Axis> axes = {
      intAxis("vector-width", base.getVectorWidth(),
              {targetWidth, targetWidth / 2}, 1, 64),
      intAxis("unroll", base.getUnroll(), {1, 2, 4, 8}, 1, 16)};
  if (base.getStrategy() == norm::Strategy::Row) {
    int64_t p = base.getPrefetch();
    axes.push_back(intAxis("row-tasks", base.getRowTasks(), {1, 4, 16, 64}));
    axes.push_back(
        intAxis("prefetch", p, {0, p / 2, 2 * p, p ? p : 2}, /*lo=*/0));
  }
  if (base.getStrategy() == norm::Strategy::Column)
    axes.push_back(intAxis("chunks", c, {c / 4, c / 2, c, 2 * c, 4 * c}));
  axes.push_back(boolAxis("nontemporal", base.getNontemporal()));
  axes.push_back(boolAxis("parallel", base.getParallel()));
  return axes;
}

/// The GPU fields varied around `base` for its strategy (threads, rows and
/// widths powers of two: #norm.gpu_schedule C2, C3).
static std::vector<Axis> gpuAxes(norm::GPUScheduleAttr base) {
  int64_t t = base.getThreads(), r = base.getRows(), v = base.getVectorWidth(),
          c = base.getChunks();
  bool row = base.getStrategy() == norm::Strategy::Row;
  // The segment strategy either splits runs (chunks) or, on short runs,
  // takes several per block (rows): the heuristic's form is varied.
  bool runs = base.getStrategy() == norm::Strategy::Segment && r > 1;
  std::vector<Axis> axes = {intAxis("threads", t,
                                    {t / 4, t / 2, t, 2 * t, 4 * t},
                                    row ? 1 : 32, 1024, /*pow2=*/true)};
  if (row || runs)
    axes.push_back(intAxis("rows", r, {r / 2, r, 2 * r}, 1, 1024, true));
  axes.push_back(intAxis("vector-width", v, {v, v / 2}, 1, 16, true));
  if (!row && !runs)
    axes.push_back(intAxis("chunks", c, {c / 4, c / 2, c, 2 * c, 4 * c}));
  return axes;
}

/// The grad-statistics axis (saved or recomputed, `base` first) where a
/// backward kernel of `kernels` is given the input's own statistics.
static void appendGradStatisticsAxis(llvm::ArrayRef<ProbedKernel> kernels,
                                     norm::GradStatistics base,
                                     std::vector<Axis> &axes) {
  if (llvm::any_of(kernels,
                   [](const ProbedKernel &k) { return k.inputStatistics; }))
    axes.push_back(Axis{"grad-statistics",
                        {"saved", "recomputed"},
                        norm::stringifyGradStatistics(base).str()});
}

/// The candidates of a function whose kernels are all backward kernels
/// (#norm.grad_schedule: no strategy), around `base`, the first kernel's
/// heuristic schedule: where the statistics come from (where a kernel is
/// given the input's own), the prefetch distance (where one takes the row
/// or segment form), streamed dx (where one stores runs long enough) and
/// the threads.
static void appendGradCandidates(llvm::ArrayRef<ProbedKernel> kernels,
                                 norm::GradScheduleAttr base,
                                 std::vector<Candidate> &out) {
  std::vector<Axis> axes;
  appendGradStatisticsAxis(kernels, base.getStatistics(), axes);
  if (llvm::any_of(kernels,
                   [](const ProbedKernel &k) { return k.gradPrefetches; })) {
    int64_t p = base.getPrefetch();
    axes.push_back(
        intAxis("prefetch", p, {0, p / 2, 2 * p, p ? p : 2}, /*lo=*/0));
  }
  if (llvm::any_of(kernels,
                   [](const ProbedKernel &k) { return k.gradStreams; }))
    axes.push_back(boolAxis("nontemporal", base.getNontemporal()));
  axes.push_back(boolAxis("parallel", base.getParallel()));
  appendCrossProduct("", axes, 0, out);
}

static std::vector<Candidate> sortByDistance(std::vector<Candidate> candidates);

/// The strategies whose norm-select-schedule rules hold for every kernel.
static std::vector<norm::Strategy>
applicableStrategies(llvm::ArrayRef<ProbedKernel> kernels, bool cuda) {
  using L = norm::KernelLayout;
  bool row = llvm::all_of(kernels, [&](const ProbedKernel &k) {
    int64_t r1 = k.layout.size[L::R1], p1 = k.layout.size[L::P1];
    return cuda ? (r1 == 1 || p1 == 1) : r1 == 1;
  });
  bool column = cuda || llvm::none_of(kernels, [](const ProbedKernel &k) {
                  return k.layout.paramsAlongR1;
                });
  std::vector<norm::Strategy> strategies;
  if (row)
    strategies.push_back(norm::Strategy::Row);
  strategies.push_back(norm::Strategy::Segment);
  if (column)
    strategies.push_back(norm::Strategy::Column);
  return strategies;
}

std::vector<Candidate>
normlir::tune::enumerateCandidates(ScheduleProbe &probe,
                                   llvm::StringRef function,
                                   llvm::ArrayRef<ProbedKernel> heuristic) {
  // A backward function: its own fields. Elsewhere the forward kernels'
  // strategies are varied (the options a backward kernel also reads,
  // prefetch and parallel, then apply to it too).
  auto forward =
      llvm::find_if(heuristic, [](const ProbedKernel &k) { return !k.grad; });
  std::vector<Candidate> candidates;
  if (forward == heuristic.end()) {
    appendGradCandidates(
        heuristic, cast<norm::GradScheduleAttr>(heuristic.front().schedule),
        candidates);
    return sortByDistance(std::move(candidates));
  }
  std::vector<ProbedKernel> forwardKernels;
  for (const ProbedKernel &k : heuristic)
    if (!k.grad)
      forwardKernels.push_back(k);
  Attribute first = forward->schedule;
  bool cuda = isa<norm::GPUScheduleAttr>(first);
  norm::Strategy heuristicStrategy =
      cuda ? cast<norm::GPUScheduleAttr>(first).getStrategy()
           : cast<norm::ScheduleAttr>(first).getStrategy();
  auto cpuTarget = dyn_cast_or_null<norm::CPUTargetAttr>(probe.getTarget());

  // The heuristic's own strategy first: its neighbours are the nearest.
  std::vector<norm::Strategy> strategies =
      applicableStrategies(forwardKernels, cuda);
  auto own = llvm::find(strategies, heuristicStrategy);
  if (own != strategies.end())
    std::rotate(strategies.begin(), own, own + 1);

  for (norm::Strategy strategy : strategies) {
    bool other = strategy != heuristicStrategy;
    Attribute base = first;
    if (other) {
      // What norm-select-schedule picks for the other fields under this
      // strategy.
      auto kernels =
          probe.schedule(function, strategyOption(strategy) + " force");
      if (!kernels) {
        llvm::consumeError(kernels.takeError());
        continue;
      }
      base = llvm::find_if(*kernels, [](const ProbedKernel &k) {
               return !k.grad;
             })->schedule;
    }
    if (cuda) {
      appendCrossProduct(strategyOption(strategy),
                         gpuAxes(cast<norm::GPUScheduleAttr>(base)), other,
                         candidates);
      continue;
    }
    auto cpu = cast<norm::ScheduleAttr>(base);
    int64_t width =
        cpuTarget ? cpuTarget.getVectorWidth() : cpu.getVectorWidth();
    std::vector<Axis> axes = cpuAxes(cpu, width);
    // A backward function that also holds forward kernels (statistics
    // recomputed by a norm.kernel): its backward kernels' statistics vary
    // too (their prefetch and threads follow the shared options).
    if (auto grad = llvm::find_if(heuristic,
                                  [](const ProbedKernel &k) { return k.grad; });
        grad != heuristic.end())
      appendGradStatisticsAxis(
          heuristic,
          cast<norm::GradScheduleAttr>(grad->schedule).getStatistics(), axes);
    appendCrossProduct(strategyOption(strategy), axes, other, candidates);
  }
  return sortByDistance(std::move(candidates));
}

/// Nearest first, in enumeration order within a distance.
static std::vector<Candidate>
sortByDistance(std::vector<Candidate> candidates) {
  int farthest = 0;
  for (const Candidate &c : candidates)
    farthest = std::max(farthest, c.distance);
  std::vector<Candidate> sorted;
  for (int d = 0; d <= farthest; ++d)
    for (const Candidate &c : candidates)
      if (c.distance == d)
        sorted.push_back(c);
  return sorted;
}
