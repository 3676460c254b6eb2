//===- Measure.h - timing normlir-tune's candidates -------------*- C++ -*-===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//

#ifndef NORMLIR_TOOLS_NORMLIR_TUNE_MEASURE_H
#define NORMLIR_TOOLS_NORMLIR_TUNE_MEASURE_H

#include "normlir/ExecutionEngine/JIT.h"

#include <vector>

namespace normlir::tune {

struct MeasureOptions {
  /// Untimed calls before each measurement.
  unsigned warmup = 3;
  /// Timed calls per measurement.
  unsigned repeat = 20;
  /// Measurements per module, interleaved with the other modules'.
  unsigned rounds = 3;
};

/// Times function `function` of each of `modules` (compiles of one spec for
/// one target) on the same pseudo-random inputs (normlir-run
/// --random-inputs': the first input in [-1, 1), the others, weights and
/// running variances, in [0.5, 1.5)). Each round measures every module
/// once, in an order rotated by one per round, so that a slow phase of a
/// shared machine hits all alike; a measurement is the median of `repeat`
/// calls (CPU) or the mean of `repeat` back-to-back calls between two CUDA
/// events (GPU). Returns, per module, the median of its rounds, in seconds.
///
/// `shapes` gives every input's shape where the function has dynamic
/// dimensions (its results are sized from them); empty for a static one.
llvm::Expected<std::vector<double>>
measure(llvm::ArrayRef<const JITModule *> modules, llvm::StringRef function,
        const MeasureOptions &options,
        llvm::ArrayRef<std::vector<int64_t>> shapes = {});

} // namespace normlir::tune

#endif // NORMLIR_TOOLS_NORMLIR_TUNE_MEASURE_H
