//===- Target.h - the targets kernels are compiled for ----------*- C++ -*-===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// Turning a target's name into the facts the compiler reads
// (#norm.cpu_target, #norm.cuda_target), and finding those facts on the IR.
// Only the functions named "host" look at the machine the compiler runs on;
// every pass reads the attribute instead, so that a module compiled for a
// named target lowers to the same IR on every host.
//
//===----------------------------------------------------------------------===//

#ifndef NORMLIR_DIALECT_NORM_UTILS_TARGET_H
#define NORMLIR_DIALECT_NORM_UTILS_TARGET_H

#include "normlir/Dialect/Norm/IR/Norm.h"

#include "llvm/Support/Error.h"

#include <string>

namespace normlir::norm {

/// The `norm.target` attribute of the nearest ancestor of `op` (or `op`
/// itself) that has one; null where none has.
mlir::Attribute lookupTargetAttr(mlir::Operation *op);

/// The CPU target passes assume where the module names none: x86-64-v3 (AVX2,
/// 8 f32 lanes) with the caches of a named CPU (see resolveCPUTarget).
CPUTargetAttr getDefaultCPUTarget(mlir::MLIRContext *context);
/// The GPU target passes assume where the module names none: sm_90.
CUDATargetAttr getDefaultCUDATarget(mlir::MLIRContext *context);

/// The facts about a CPU: `cpu` is "host" (this machine, as LLVM's JIT sees
/// it: its CPU name, features, cache sizes and hardware threads) or an LLVM
/// CPU name of `triple`'s architecture (`znver4`, `x86-64-v3`,
/// `skylake-avx512`), whose caches are taken as 32 KiB / 1 MiB / 32 MiB and
/// whose core count is unknown. `features` ("+avx512bf16,-avx512f") adjusts
/// the CPU's feature set; `triple` empty means the host's. An error names an
/// unknown CPU, feature or triple.
llvm::Expected<CPUTargetAttr> resolveCPUTarget(mlir::MLIRContext *context,
                                               llvm::StringRef cpu,
                                               llvm::StringRef features = "",
                                               llvm::StringRef triple = "");

/// The facts about a GPU architecture: `multiprocessors` (0: the chip's
/// flagship part, e.g. 132 for sm_90, 108 for sm_80).
llvm::Expected<CUDATargetAttr>
resolveCUDATarget(mlir::MLIRContext *context, llvm::StringRef chip,
                  int64_t multiprocessors = 0);

/// Whether `target`'s chip computes f64 at half its f32 rate (the
/// data-center parts: sm_60, sm_70, sm_80, sm_90, sm_100); the others run
/// f64 at a small fraction of it.
bool hasFullRateFP64(CUDATargetAttr target);

/// Whether code compiled for `target` runs on this machine: an error naming
/// the architecture or the instruction-set features it lacks.
llvm::Error checkRunsOnHost(CPUTargetAttr target);

/// This machine's cache sizes and hardware threads as resolveCPUTarget
/// records them for "host" ("l1=32768 l2=524288 llc=33554432 threads=2"):
/// with the CPU's name and features, what a host compile depends on.
std::string describeHostCaches();

/// The target as one line ("x86_64-pc-linux-gnu znver3 +avx512f ... vl=16"),
/// for cache keys and messages.
std::string describeTarget(mlir::Attribute target);

} // namespace normlir::norm

#endif // NORMLIR_DIALECT_NORM_UTILS_TARGET_H
