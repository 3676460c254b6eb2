//===- NormToGPU.h - norm.kernel to GPU kernels -----------------*- C++ -*-===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//

#ifndef NORMLIR_CONVERSION_NORMTOGPU_NORMTOGPU_H
#define NORMLIR_CONVERSION_NORMTOGPU_NORMTOGPU_H

#include "mlir/Pass/Pass.h"

namespace mlir {
class RewritePatternSet;
} // namespace mlir

namespace normlir {

#define GEN_PASS_DECL_CONVERTNORMTOGPU
#define GEN_PASS_DECL_NORMHOSTBUFFERSTODEVICE
#include "normlir/Conversion/Passes.h.inc"

/// Adds the patterns that lower a bufferized norm.kernel with a
/// #norm.gpu_schedule to gpu.launch ops of thread-level code, one pattern
/// per strategy ("row", "segment", "column"). A pattern fails to match a
/// kernel of another strategy, one on tensors or with strided buffers, and
/// one whose layout is not [P0, R1, P1, R2]; it reports a located error and
/// fails when the schedule does not fit the kernel. The host code around
/// the launches is left to convert-norm-to-gpu.
void populateNormToGPUPatterns(mlir::RewritePatternSet &patterns);

} // namespace normlir

#endif // NORMLIR_CONVERSION_NORMTOGPU_NORMTOGPU_H
