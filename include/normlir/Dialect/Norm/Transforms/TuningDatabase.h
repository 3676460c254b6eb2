//===- TuningDatabase.h - schedules measured by normlir-tune ----*- C++ -*-===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// A tuning database records, per kernel signature and target, the schedule
// that `normlir-tune` measured fastest on that target (TVM MetaSchedule's
// database, IREE's tuning specs). `norm-select-schedule` consults it before its
// heuristic. The file is JSON Lines: one record per line,
//
//   {"key": "<getTuningKey>", "schedule": "#norm.schedule<...>",
//    "seconds": 1.2e-4, "heuristic_seconds": 1.5e-4,
//    "heuristic": "#norm.schedule<...>"}
//
// where a later record of the same key replaces an earlier one (so a tuner
// appends). Only "key" and "schedule" are read by the compiler. A kernel
// with dynamic sizes (its key has `?` dimensions) records a schedule per
// range of its input's element count, `[#norm.variant<from = 0, schedule =
// #norm.schedule<...>>, ...]`, and "points" (normlir-tune --at).
//
//===----------------------------------------------------------------------===//

#ifndef NORMLIR_DIALECT_NORM_TRANSFORMS_TUNINGDATABASE_H
#define NORMLIR_DIALECT_NORM_TRANSFORMS_TUNINGDATABASE_H

#include "normlir/Dialect/Norm/IR/Norm.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <string>

namespace normlir::norm {

/// The key of `op` in a tuning database: everything its schedule choice
/// depends on (the input type, the axes and parameter axes, the operands and
/// outs it has, its prologue and epilogue ops, zero_degenerate) and the
/// target (`describeTarget`), as one line of text. Kernels with equal keys
/// are scheduled alike by the heuristic.
std::string getTuningKey(KernelOp op, mlir::Attribute target);

/// The key of a backward kernel: its operand types, outs, axes, what its
/// statistics are, and the target. Its record is a `#norm.grad_schedule`.
std::string getTuningKey(GradKernelOp op, mlir::Attribute target);

/// A loaded tuning database (immutable, shareable between threads).
class TuningDatabase {
public:
  /// Reads `path`; an error names the file and the line of a malformed
  /// record. Loads are cached per path, modification time and size.
  static llvm::Expected<std::shared_ptr<const TuningDatabase>>
  load(llvm::StringRef path);

  /// The schedule recorded for `key` (the attribute's text), or "".
  llvm::StringRef lookup(llvm::StringRef key) const;

  /// The number of distinct keys.
  size_t size() const { return schedules.size(); }

  /// A SHA-256 (hex) of the effective records (key and schedule, in key
  /// order), for compile cache keys: timings do not change it.
  llvm::StringRef getDigest() const { return digest; }

private:
  llvm::StringMap<std::string> schedules;
  std::string digest;
};

} // namespace normlir::norm

#endif // NORMLIR_DIALECT_NORM_TRANSFORMS_TUNINGDATABASE_H
