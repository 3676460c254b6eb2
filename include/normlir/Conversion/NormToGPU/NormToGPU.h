//===- NormToGPU.h - norm.kernel to GPU kernels -----------------*- C++ -*-===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//

#ifndef NORMLIR_CONVERSION_NORMTOGPU_NORMTOGPU_H
#define NORMLIR_CONVERSION_NORMTOGPU_NORMTOGPU_H

#include "mlir/Pass/Pass.h"

namespace normlir {

#define GEN_PASS_DECL_CONVERTNORMTOGPU
#include "normlir/Conversion/Passes.h.inc"

} // namespace normlir

#endif // NORMLIR_CONVERSION_NORMTOGPU_NORMTOGPU_H
