//===- SelectGradSchedule.cpp - schedules of backward kernels -------------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// norm-select-schedule's choice for a norm.grad_kernel, on the CPU. A
// backward kernel has one form per layout (row or channel, decided by its
// axes), so its schedule holds only what may vary for a given kernel:
// where the statistics come from, how far ahead it prefetches, whether it
// streams dx and whether it runs on threads. As for norm.kernel, a tuning
// database record wins over the heuristic, and every option that is set wins
// over both (the caller then passes no database).
//
//===----------------------------------------------------------------------===//

#include "SelectGradSchedule.h"

#include "normlir/Dialect/Norm/Transforms/TuningDatabase.h"
#include "normlir/Dialect/Norm/Utils/KernelLayout.h"

#include "mlir/AsmParser/AsmParser.h"

using namespace mlir;
using namespace normlir::norm;

namespace {

/// Input bytes below which a backward kernel runs on one thread (waking
/// threads costs microseconds), as for the forward kernels.
constexpr int64_t kMinParallelBytes = 64 * 1024;

/// How far ahead a backward kernel prefetches: about this many bytes of
/// each of x and dy (at least one row or run), as the forward row strategy.
constexpr int64_t kPrefetchBytes = 8 * 1024;

struct GradSelection {
  mutable GradKernelOp op;
  CPUTargetAttr target;
  const NormSelectScheduleOptions &options;

  ShapedType inputType() const {
    return cast<ShapedType>(op.getInput().getType());
  }
  int64_t bytes() const {
    ShapedType t = inputType();
    return t.getNumElements() *
           std::max<int64_t>(t.getElementTypeBitWidth() / 8, 1);
  }
  std::optional<GradForm> form() const {
    return classifyGradKernel(inputType().getShape(), op.getAxes(),
                              op.getWeightAxes());
  }

  /// Saved statistics are read (the forward did that work) unless the
  /// option asks for them to be recomputed; only the input's own saved
  /// statistics can be.
  GradStatistics statistics() const {
    if (options.gradStatistics == "recomputed" && op.getInputStatistics())
      return GradStatistics::Recomputed;
    return GradStatistics::Saved;
  }

  /// Rows (row form) or segments (segment form in two passes: contiguous
  /// runs of R2) a backward prefetches ahead: about kPrefetchBytes of each
  /// of x and dy, at least one, where they do not stay in the L2 cache, one
  /// of each fits in half of it (the pass that reads it again from cache
  /// runs beside the prefetched one) and there is a later one to prefetch
  /// (a row range of two rows or more). The column form never prefetches.
  int64_t prefetch() const {
    std::optional<GradForm> f = form();
    if (!f || *f == GradForm::Column)
      return 0;
    if (options.prefetch >= 0)
      return options.prefetch;
    ShapedType t = inputType();
    int64_t elementBytes = std::max<int64_t>(t.getElementTypeBitWidth() / 8, 1);
    int64_t run = 1, count = 0;
    if (*f == GradForm::Row) {
      for (int64_t a : op.getAxes())
        run *= t.getDimSize(a);
      int64_t rows = run == 0 ? 0 : t.getNumElements() / run;
      count = (rows + kGradRowTasks - 1) / kGradRowTasks;
    } else {
      std::optional<KernelLayout> l =
          analyzeKernelLayout(t.getShape(), op.getAxes(), op.getWeightAxes());
      if (!l)
        return 0;
      // Measured (docs/performance.md): the two passes of BatchNorm NCHW
      // gain from it, the per-statistic form of GroupNorm (whose dx pass
      // reads from cache) does not.
      if (isFusedGradSegment(*l, elementBytes, target.getL2Cache()))
        return 0;
      run = l->size[KernelLayout::R2];
      count = l->numSegments();
    }
    int64_t runBytes = std::max<int64_t>(run, 1) * elementBytes;
    if (2 * bytes() < target.getL2Cache() ||
        4 * runBytes > target.getL2Cache() || count < 2)
      return 0;
    return (kPrefetchBytes + runBytes - 1) / runBytes;
  }

  /// Streaming dx pays off, as the forward's y (SelectSchedule.cpp), once
  /// it does not stay in the last-level cache. Measured here
  /// (docs/performance.md): LayerNorm 4096x1024 f32 and GroupNorm 32x64x56x56,
  /// 16 and 25.7 MB of dx on a 16 MiB L3.
  bool nontemporal() const {
    // Only runs of kMinStreamRun elements or more stream (and never the
    // column form): elsewhere the field would change nothing.
    if (gradStoreRun(inputType().getShape(), op.getAxes(), op.getWeightAxes()) <
        kMinStreamRun)
      return false;
    auto dxType = cast<ShapedType>(op.getOuts()[0].getType());
    int64_t dxBytes = dxType.getNumElements() *
                      std::max<int64_t>(dxType.getElementTypeBitWidth() / 8, 1);
    return options.nontemporal == "on" ||
           (options.nontemporal == "auto" &&
            4 * dxBytes >= 3 * target.getLlcCache());
  }

  bool parallel() const {
    return options.parallel == "on" ||
           (options.parallel == "auto" && 3 * bytes() >= kMinParallelBytes);
  }
};

} // namespace

FailureOr<GradScheduleAttr>
normlir::norm::selectGradSchedule(GradKernelOp op, CPUTargetAttr target,
                                  const NormSelectScheduleOptions &options,
                                  const TuningDatabase *database) {
  auto emitError = [&] { return op.emitError() << "norm-select-schedule: "; };
  GradScheduleAttr schedule;
  if (database) {
    StringRef text = database->lookup(getTuningKey(op, target));
    if (!text.empty()) {
      Attribute parsed = parseAttribute(text, op.getContext());
      schedule = dyn_cast_or_null<GradScheduleAttr>(parsed);
      if (!schedule)
        return emitError() << "the tuning database's record for this kernel "
                           << (parsed ? "is not a #norm.grad_schedule"
                                      : "is not a valid attribute")
                           << ": " << text;
    }
  }
  if (!schedule) {
    GradSelection s{op, target, options};
    schedule = GradScheduleAttr::getChecked(emitError, op.getContext(),
                                            s.statistics(), s.parallel(),
                                            s.prefetch(), s.nontemporal());
    if (!schedule)
      return failure();
  }
  // The op's C12 for a record (an option's prefetch or streaming is dropped
  // above for the column form, and its recomputation for statistics that
  // are not the input's own).
  if (schedule.getStatistics() == GradStatistics::Recomputed &&
      !op.getInputStatistics())
    return emitError() << "the schedule " << schedule
                       << " recomputes the statistics, but the kernel is "
                          "not given the input's own";
  if ((schedule.getPrefetch() != 0 || schedule.getNontemporal()) &&
      classifyGradKernel(cast<ShapedType>(op.getInput().getType()).getShape(),
                         op.getAxes(), op.getWeightAxes()) == GradForm::Column)
    return emitError() << "the schedule " << schedule
                       << " prefetches or streams, but the kernel takes the "
                          "column form (C12)";
  return schedule;
}
