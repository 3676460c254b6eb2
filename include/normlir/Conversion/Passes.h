//===- Passes.h - NormLIR conversion passes ---------------------*- C++ -*-===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//

#ifndef NORMLIR_CONVERSION_PASSES_H
#define NORMLIR_CONVERSION_PASSES_H

#include "normlir/Conversion/NormToGPU/NormToGPU.h"
#include "normlir/Conversion/NormToLinalg/NormToLinalg.h"
#include "normlir/Conversion/NormTargetToLLVM/NormTargetToLLVM.h"
#include "normlir/Conversion/NormToVector/NormToVector.h"

namespace normlir {

#define GEN_PASS_REGISTRATION
#include "normlir/Conversion/Passes.h.inc"

} // namespace normlir

#endif // NORMLIR_CONVERSION_PASSES_H
