//===- DifferentiateElementwise.h - reverse of elementwise ops --*- C++ -*-===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// Internal to norm-differentiate: the reverse mode of an elementwise
// linalg.generic (a residual add, a cast, a gate, an epilogue), by the
// reverse of its scalar body.
//
//===----------------------------------------------------------------------===//

#ifndef NORMLIR_LIB_DIALECT_NORM_TRANSFORMS_DIFFERENTIATEELEMENTWISE_H
#define NORMLIR_LIB_DIALECT_NORM_TRANSFORMS_DIFFERENTIATEELEMENTWISE_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"

namespace normlir::norm {

/// Whether `g` is elementwise over identity maps with one result, on
/// statically shaped float tensors, its body float arithmetic the reverse
/// mode knows (arith.addf, subf, negf, mulf, divf, extf, truncf,
/// constants), not reading the output's initial value.
bool isDifferentiableElementwise(mlir::linalg::GenericOp g);

/// ct * d(out)/d(in_i) for input `i` of a differentiable elementwise `g`
/// and the cotangent `ct` of its result, as a tensor of input i's type:
/// `ct` itself (cast where the types differ) where the derivative is 1 (a
/// chain of adds, minuends and casts), else a map over g's inputs and ct
/// that replays the body and runs its reverse in f32, rounded once. New
/// ops go at `b`'s insertion point.
mlir::Value reverseElementwise(mlir::OpBuilder &b, mlir::linalg::GenericOp g,
                               unsigned i, mlir::Value ct);

} // namespace normlir::norm

#endif // NORMLIR_LIB_DIALECT_NORM_TRANSFORMS_DIFFERENTIATEELEMENTWISE_H
