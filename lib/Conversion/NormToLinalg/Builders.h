//===- Builders.h - linalg builders of convert-norm-to-linalg ---*- C++ -*-===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// Internal to the conversion: the reductions and maps that the forward
// (NormToLinalg.cpp) and gradient (GradToLinalg.cpp) patterns build.
//
//===----------------------------------------------------------------------===//

#ifndef NORMLIR_LIB_CONVERSION_NORMTOLINALG_BUILDERS_H
#define NORMLIR_LIB_CONVERSION_NORMTOLINALG_BUILDERS_H

#include "mlir/IR/AffineMap.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/PatternMatch.h"

namespace normlir::normtolinalg {

/// Indexing map selecting `dims` of a `rank`-dim iteration space.
mlir::AffineMap selectDims(int64_t rank, llvm::ArrayRef<int64_t> dims,
                           mlir::MLIRContext *ctx);

mlir::Value f32Const(mlir::OpBuilder &b, mlir::Location loc, double v);

/// Sum over `axes` of `term(args)`, where `args` are the elements of `ins`
/// read through `inMaps` (ins[0], with the identity map, sets the iteration
/// space). Returns an f32 tensor over the kept dims, in order.
///
/// The sum is Kahan-compensated: a second accumulator carries the rounding
/// error of each f32 addition, so the error does not grow with the number of
/// reduced elements (a plain f32 sum of 2^20 values of 1.1 is off by 7e-4).
mlir::Value
buildSumMapped(mlir::OpBuilder &b, mlir::Location loc, mlir::ValueRange ins,
               llvm::ArrayRef<mlir::AffineMap> inMaps,
               llvm::ArrayRef<int64_t> axes,
               llvm::function_ref<mlir::Value(mlir::OpBuilder &, mlir::Location,
                                              mlir::ValueRange)>
                   term);

/// buildSumMapped of `term(f32(x), extras...)`, where `extras` are tensors
/// over the kept dims (broadcast along `axes`).
mlir::Value
buildSum(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
         llvm::ArrayRef<int64_t> axes, mlir::ValueRange extras,
         llvm::function_ref<mlir::Value(mlir::OpBuilder &, mlir::Location,
                                        mlir::Value, mlir::ValueRange)>
             term);

/// Elementwise `f(v)` on f32 tensors of the first one's shape.
mlir::Value
mapF32(mlir::OpBuilder &b, mlir::Location loc, mlir::ValueRange vs,
       llvm::function_ref<mlir::Value(mlir::OpBuilder &, mlir::Location,
                                      mlir::ValueRange)>
           f);

/// `sum / n`, elementwise: a sum over the reduced elements becomes a mean.
mlir::Value divideByCount(mlir::OpBuilder &b, mlir::Location loc,
                          mlir::Value sum, double n);
/// `sum / n` for the elements of `x` along `axes`, counted at run time
/// where one of them is dynamic.
mlir::Value divideByReducedCount(mlir::OpBuilder &b, mlir::Location loc,
                                 mlir::Value sum, mlir::Value x,
                                 llvm::ArrayRef<int64_t> axes);

/// The number of elements of `t` along `axes`.
int64_t numReduced(mlir::RankedTensorType t, llvm::ArrayRef<int64_t> axes);

/// The gradient ops' patterns (GradToLinalg.cpp).
void populateGradToLinalgPatterns(mlir::RewritePatternSet &patterns);

} // namespace normlir::normtolinalg

#endif // NORMLIR_LIB_CONVERSION_NORMTOLINALG_BUILDERS_H
