//===- SelectSchedule.h - norm-select-schedule's shared parts ---*- C++ -*-===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// Internal to norm-select-schedule: what the CPU selection
// (SelectSchedule.cpp, with the pass) and the GPU selection
// (SelectScheduleGPU.cpp) share.
//
//===----------------------------------------------------------------------===//

#ifndef NORMLIR_LIB_DIALECT_NORM_TRANSFORMS_SELECTSCHEDULE_H
#define NORMLIR_LIB_DIALECT_NORM_TRANSFORMS_SELECTSCHEDULE_H

#include "normlir/Dialect/Norm/IR/Norm.h"
#include "normlir/Dialect/Norm/Transforms/Passes.h"
#include "normlir/Dialect/Norm/Utils/KernelLayout.h"

#include <optional>
#include <string>
#include <utility>

namespace normlir::norm {

/// Whether `strategy` can lower `l` on the CPU or (`cuda`) the GPU; else
/// false with the reason in `why`. Both the selection functions and the
/// tuning database's records are held to it.
bool strategyApplies(Strategy strategy, const KernelLayout &l, bool cuda,
                     std::string &why);

/// Bytes per element of `op`'s input (at least 1).
int64_t inputElementBytes(KernelOp op);

/// The GPU schedule of a kernel of static `layout`: the first GPU strategy
/// that takes it, or the one the options force (SelectScheduleGPU.cpp).
mlir::FailureOr<GPUScheduleAttr>
selectGPUSchedule(KernelOp op, const KernelLayout &layout,
                  CUDATargetAttr target,
                  const NormSelectScheduleOptions &options);

/// The GPU schedule of a kernel with dynamic sizes (SelectScheduleGPU.cpp).
mlir::FailureOr<GPUScheduleAttr>
selectGPUDynamic(KernelOp op, const KernelLayout &layout, CUDATargetAttr target,
                 const NormSelectScheduleOptions &options);

/// The first schedule of `strategies` that does not decline, or the forced
/// strategy's (an error at the kernel where it cannot lower it).
template <typename AttrT, typename SelectionT, size_t N>
mlir::FailureOr<AttrT> selectSchedule(
    const SelectionT &s,
    const std::pair<Strategy, mlir::FailureOr<AttrT> (*)(const SelectionT &,
                                                         bool, std::string &)> (
        &strategies)[N]) {
  std::optional<Strategy> forced;
  if (!s.options.strategy.empty())
    forced = symbolizeStrategy(s.options.strategy);
  std::string why;
  for (const auto &[strategy, select] : strategies) {
    if (forced && *forced != strategy)
      continue;
    mlir::FailureOr<AttrT> chosen = select(s, forced.has_value(), why);
    if (failed(chosen) || *chosen)
      return chosen;
    if (forced)
      return s.op.emitError() << "norm-select-schedule: " << why << ", layout "
                              << s.layout.str();
  }
  return s.op.emitError() << "norm-select-schedule: no strategy takes this "
                             "kernel, layout "
                          << s.layout.str();
}

} // namespace normlir::norm

#endif // NORMLIR_LIB_DIALECT_NORM_TRANSFORMS_SELECTSCHEDULE_H
