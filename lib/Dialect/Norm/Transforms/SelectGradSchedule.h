//===- SelectGradSchedule.h - schedules of backward kernels ------*- C++
//-*-===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// Internal to norm-select-schedule: the #norm.grad_schedule of a
// norm.grad_kernel (SelectGradSchedule.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef NORMLIR_LIB_DIALECT_NORM_TRANSFORMS_SELECTGRADSCHEDULE_H
#define NORMLIR_LIB_DIALECT_NORM_TRANSFORMS_SELECTGRADSCHEDULE_H

#include "normlir/Dialect/Norm/IR/Norm.h"
#include "normlir/Dialect/Norm/Transforms/Passes.h"

namespace normlir::norm {

class TuningDatabase;

/// The schedule of `op` on `target`: `database`'s record for it where there
/// is one (null: none consulted), else the heuristic, with the options set
/// in `options` overriding it. Failure after an error at `op` (a record that
/// is not a #norm.grad_schedule, or does not hold for the kernel).
mlir::FailureOr<GradScheduleAttr>
selectGradSchedule(GradKernelOp op, CPUTargetAttr target,
                   const NormSelectScheduleOptions &options,
                   const TuningDatabase *database);

} // namespace normlir::norm

#endif // NORMLIR_LIB_DIALECT_NORM_TRANSFORMS_SELECTGRADSCHEDULE_H
