//===- SelectGradSchedule.cpp - schedules of backward kernels -------------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// norm-select-schedule's choice for a norm.grad_kernel, on the CPU. A
// backward kernel has one form per layout (row or channel, decided by its
// axes), so its schedule holds only what may vary for a given kernel:
// where the statistics come from, how far ahead a row backward prefetches,
// and whether it runs on threads. As for norm.kernel, a tuning database
// record wins over the heuristic, and every option that is set wins over
// both (the caller then passes no database).
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

/// How far ahead a row backward prefetches: about this many bytes of each
/// of x and dy (at least one row).
constexpr int64_t kPrefetchBytes = 8 * 1024;

/// Row ranges of a row backward (GradRow.cpp's fixed task count).
constexpr int64_t kGradRowTasks = 16;

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
  bool isRow() const {
    return classifyGradKernel(inputType().getShape(), op.getAxes(),
                              op.getWeightAxes()) == GradForm::Row;
  }

  /// Saved statistics are read (the forward did that work) unless the
  /// option asks for them to be recomputed; only the input's own saved
  /// statistics can be.
  GradStatistics statistics() const {
    if (options.gradStatistics == "recomputed" && op.getInputStatistics())
      return GradStatistics::Recomputed;
    return GradStatistics::Saved;
  }

  /// Rows a row backward prefetches ahead: where x and dy do not stay in
  /// the L2 cache, a row of each fits in half of it (pass 2 reads the row
  /// again from cache beside the prefetched one) and a row range holds two
  /// rows or more (a one-row range has nothing later to prefetch).
  int64_t prefetch() const {
    if (!isRow())
      return 0;
    if (options.prefetch >= 0)
      return options.prefetch;
    ShapedType t = inputType();
    int64_t n = 1;
    for (int64_t a : op.getAxes())
      n *= t.getDimSize(a);
    int64_t elementBytes = std::max<int64_t>(t.getElementTypeBitWidth() / 8, 1);
    int64_t rowBytes = std::max<int64_t>(n, 1) * elementBytes;
    int64_t rows = n == 0 ? 0 : t.getNumElements() / n;
    int64_t rowsPerTask = (rows + kGradRowTasks - 1) / kGradRowTasks;
    if (2 * bytes() < target.getL2Cache() ||
        4 * rowBytes > target.getL2Cache() || rowsPerTask < 2)
      return 0;
    return (kPrefetchBytes + rowBytes - 1) / rowBytes;
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
      schedule = dyn_cast_or_null<GradScheduleAttr>(
          parseAttribute(text, op.getContext()));
      if (!schedule)
        return emitError() << "the tuning database's record for this kernel "
                              "is not a #norm.grad_schedule: "
                           << text;
    }
  }
  if (!schedule) {
    GradSelection s{op, target, options};
    schedule = GradScheduleAttr::getChecked(
        emitError, op.getContext(), s.statistics(), s.parallel(), s.prefetch());
    if (!schedule)
      return failure();
  }
  // The op's C12 for a record or an option (a prefetch for a channel
  // backward is dropped above; a recomputation without the input's
  // statistics cannot be).
  if (schedule.getStatistics() == GradStatistics::Recomputed &&
      !op.getInputStatistics())
    return emitError() << "the schedule " << schedule
                       << " recomputes the statistics, but the kernel is "
                          "not given the input's own";
  if (schedule.getPrefetch() != 0 &&
      classifyGradKernel(cast<ShapedType>(op.getInput().getType()).getShape(),
                         op.getAxes(), op.getWeightAxes()) != GradForm::Row)
    return emitError() << "the schedule " << schedule
                       << " prefetches, but the kernel is not a row backward";
  return schedule;
}
