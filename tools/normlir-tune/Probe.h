//===- Probe.h - what norm-select-schedule makes of a spec ----*- C++ -*-===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// normlir-tune's view of a spec before anything is compiled: the head of
// the JIT's pipeline (norm-attach-{cpu,cuda}-target, norm-expand, norm-fuse,
// norm-select-schedule) run in-process, so that the tuner sees each function's
// kernels, their tuning keys and the schedule norm-select-schedule records
// under any override, exactly as a JIT compile with the same options would.
//
//===----------------------------------------------------------------------===//

#ifndef NORMLIR_TOOLS_NORMLIR_TUNE_PROBE_H
#define NORMLIR_TOOLS_NORMLIR_TUNE_PROBE_H

#include "normlir/Dialect/Norm/Utils/KernelLayout.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/SourceMgr.h"

#include <memory>
#include <string>
#include <vector>

namespace normlir::tune {

/// The target the spec is tuned for, as the JIT's options name it.
struct ProbeTarget {
  bool cuda = false;
  /// CPU: "host" or an LLVM CPU name, and feature changes.
  std::string cpu = "host";
  std::string features;
  /// CUDA: the chip and multiprocessors (0: the chip's flagship part).
  std::string chip = "sm_90";
  int64_t multiprocessors = 0;
  /// Also derive the backward functions (norm-differentiate, as the JIT's
  /// `differentiate`), whose fused backward kernels are tuned too.
  bool differentiate = false;
};

/// One norm.kernel or norm.grad_kernel of a function after
/// norm-select-schedule.
struct ProbedKernel {
  /// normlir::norm::getTuningKey of the kernel on the module's target.
  std::string key;
  /// The recorded schedule (#norm.schedule, #norm.gpu_schedule or, for a
  /// backward kernel, #norm.grad_schedule) and its text as a database
  /// stores it.
  mlir::Attribute schedule;
  std::string scheduleText;
  /// The kernel's [P0, R1, P1, R2] view.
  norm::KernelLayout layout;
  /// A backward kernel: whether its form prefetches (row or segment, not
  /// column), whether it streams dx where asked (those forms, in runs of
  /// kMinStreamRun or more) and whether it is given the input's own saved
  /// statistics (what its schedule may vary).
  bool grad = false, gradPrefetches = false, gradStreams = false,
       inputStatistics = false;
  /// The function argument the kernel's input is (or a reshape of: the
  /// same elements), whose shape at a tuning point gives the kernel's
  /// element count; -1 where it is none.
  int64_t inputArgument = -1;
  /// A kernel with dynamic sizes: on the CPU `schedule` is its variants
  /// (an ArrayAttr of #norm.variant, a schedule per range of the input's
  /// element count).
  bool dynamic = false;

  /// The kernel as scheduled for an input of `elements` elements: a
  /// dynamic kernel's variant covering it, the kernel itself otherwise.
  ProbedKernel at(int64_t elements) const;
};

/// A parsed spec with its target attached and its norms fused into kernels,
/// ready to be scheduled under different overrides.
class ScheduleProbe {
public:
  /// Parses `source` (`bufferName` in messages) and runs the pipeline head
  /// up to norm-select-schedule. Errors carry the located diagnostics.
  static llvm::Expected<std::unique_ptr<ScheduleProbe>>
  create(llvm::StringRef source, llvm::StringRef bufferName,
         const ProbeTarget &target);

  /// The public functions, in module order.
  const std::vector<std::string> &getFunctions() const { return functions; }

  /// The module's target attribute (what the keys include).
  mlir::Attribute getTarget() const { return target; }

  /// The kernels of `function` as norm-select-schedule schedules them with
  /// `override` (norm-select-schedule's options as text, "" for the heuristic),
  /// in order. An invalid override (an option out of range, a strategy that
  /// does not apply to a kernel) is an error with norm-select-schedule's
  /// message.
  llvm::Expected<std::vector<ProbedKernel>> schedule(llvm::StringRef function,
                                                     llvm::StringRef override);

private:
  ScheduleProbe();

  /// The diagnostics collected since the last call, as an error.
  llvm::Error takeDiagnostics(llvm::StringRef fallback);

  std::unique_ptr<mlir::MLIRContext> context;
  llvm::SourceMgr sourceMgr;
  std::string diagnostics;
  std::unique_ptr<llvm::raw_string_ostream> diagnosticStream;
  std::unique_ptr<mlir::SourceMgrDiagnosticHandler> handler;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  mlir::Attribute target;
  bool cuda = false;
  std::vector<std::string> functions;
};

} // namespace normlir::tune

#endif // NORMLIR_TOOLS_NORMLIR_TUNE_PROBE_H
