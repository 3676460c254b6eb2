//===- NormToLinalg.h - norm core ops to linalg -----------------*- C++ -*-===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//

#ifndef NORMLIR_CONVERSION_NORMTOLINALG_NORMTOLINALG_H
#define NORMLIR_CONVERSION_NORMTOLINALG_NORMTOLINALG_H

#include "mlir/Pass/Pass.h"

namespace mlir {
class RewritePatternSet;
} // namespace mlir

namespace normlir {

#define GEN_PASS_DECL_CONVERTNORMTOLINALG
#include "normlir/Conversion/Passes.h.inc"

/// Adds the patterns lowering norm core ops to linalg on tensors.
void populateNormToLinalgPatterns(mlir::RewritePatternSet &patterns);

} // namespace normlir

#endif // NORMLIR_CONVERSION_NORMTOLINALG_NORMTOLINALG_H
