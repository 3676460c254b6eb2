//===- NormToVector.h - norm.kernel to vector loops -------------*- C++ -*-===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//

#ifndef NORMLIR_CONVERSION_NORMTOVECTOR_NORMTOVECTOR_H
#define NORMLIR_CONVERSION_NORMTOVECTOR_NORMTOVECTOR_H

#include "mlir/Pass/Pass.h"

namespace mlir {
class RewritePatternSet;
} // namespace mlir

namespace normlir {

#define GEN_PASS_DECL_CONVERTNORMTOVECTOR
#define GEN_PASS_DECL_NORMLEGALIZEHALFMASKEDMEMORY
#include "normlir/Conversion/Passes.h.inc"

/// Adds the patterns that lower a bufferized norm.kernel with a
/// #norm.schedule to scf.parallel/scf.for loops of vector code, one pattern
/// per strategy ("row", "segment", "column"). A pattern fails to match a
/// kernel of another strategy, one on tensors or with strided buffers, and
/// one whose layout is not [P0, R1, P1, R2]; it reports a located error and
/// fails when its strategy does not fit the kernel's layout.
void populateNormToVectorPatterns(mlir::RewritePatternSet &patterns);

} // namespace normlir

#endif // NORMLIR_CONVERSION_NORMTOVECTOR_NORMTOVECTOR_H
