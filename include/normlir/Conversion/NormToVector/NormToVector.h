//===- NormToVector.h - norm.kernel to vector loops -------------*- C++ -*-===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//

#ifndef NORMLIR_CONVERSION_NORMTOVECTOR_NORMTOVECTOR_H
#define NORMLIR_CONVERSION_NORMTOVECTOR_NORMTOVECTOR_H

#include "mlir/Pass/Pass.h"

namespace normlir {

#define GEN_PASS_DECL_CONVERTNORMTOVECTOR
#define GEN_PASS_DECL_NORMLEGALIZEHALFMASKEDMEMORY
#include "normlir/Conversion/Passes.h.inc"

} // namespace normlir

#endif // NORMLIR_CONVERSION_NORMTOVECTOR_NORMTOVECTOR_H
