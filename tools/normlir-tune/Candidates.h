//===- Candidates.h - the schedules normlir-tune tries ----------*- C++ -*-===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// The search space around the heuristic's schedule (TVM MetaSchedule's
// design space, kept small enough to measure exhaustively): each candidate
// is a complete schedule written as norm-select-schedule options with `force`,
// the form JITOptions::schedule takes.
//
//===----------------------------------------------------------------------===//

#ifndef NORMLIR_TOOLS_NORMLIR_TUNE_CANDIDATES_H
#define NORMLIR_TOOLS_NORMLIR_TUNE_CANDIDATES_H

#include "Probe.h"

#include <string>
#include <vector>

namespace normlir::tune {

/// A schedule override and how far it is from the heuristic's schedule:
/// one step per field that differs from the heuristic's choice for the same
/// strategy, plus one for another strategy than the heuristic's.
struct Candidate {
  std::string override;
  int distance = 0;
};

/// The candidates for a function whose kernels the heuristic scheduled as
/// `heuristic` (not empty), nearest first; enumeration order breaks ties.
/// Strategies are those whose rules (norm-select-schedule's) hold for every
/// kernel; the other fields vary around the first kernel's schedule:
///   CPU: vector width {the target's, half}, unroll {1, 2, 4, 8}, row tasks
///     {1, 4, 16, 64} (row), chunks {c/4, c/2, c, 2c, 4c} (column),
///     non-temporal stores and threads on and off;
///   GPU: threads {t/4 .. 4t} (power of two, whole warps per block), rows
///     per block {r/2, r, 2r} (row), vector width {v, v/2}, chunks
///     {c/4 .. 4c} (segment, column).
/// `probe` gives the heuristic's choice for each other strategy.
std::vector<Candidate>
enumerateCandidates(ScheduleProbe &probe, llvm::StringRef function,
                    llvm::ArrayRef<ProbedKernel> heuristic);

} // namespace normlir::tune

#endif // NORMLIR_TOOLS_NORMLIR_TUNE_CANDIDATES_H
