//===- Verify.h - checks shared by the norm dialect's verifiers -*- C++ -*-===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// Internal to the dialect library: the forward ops' verifiers (NormOps.cpp)
// and the gradient ops' (NormGradOps.cpp) word their shared checks alike.
//
//===----------------------------------------------------------------------===//

#ifndef NORMLIR_LIB_DIALECT_NORM_IR_VERIFY_H
#define NORMLIR_LIB_DIALECT_NORM_IR_VERIFY_H

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Operation.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include <string>

namespace normlir::norm::detail {

/// "[a, b, c]".
std::string shapeStr(llvm::ArrayRef<int64_t> shape);

/// Axes lie in [0, rank), are distinct and ascending.
mlir::LogicalResult verifyAxes(mlir::Operation *op,
                               llvm::ArrayRef<int64_t> axes, int64_t rank,
                               llvm::StringRef what);

/// A parameter (weight, bias, running statistic) has exactly `shape` and an
/// element type of f32 or the input's; a null `param` passes.
mlir::LogicalResult verifyParam(mlir::Operation *op, mlir::Value param,
                                llvm::StringRef name,
                                llvm::ArrayRef<int64_t> shape,
                                mlir::Type inputElt);

/// The shape of a statistic: the input's shape with `axes` set to 1.
llvm::SmallVector<int64_t> keepDimsShape(llvm::ArrayRef<int64_t> shape,
                                         llvm::ArrayRef<int64_t> axes);

/// `actual` is `expected`.
mlir::LogicalResult verifyResultType(mlir::Operation *op, mlir::Type actual,
                                     mlir::RankedTensorType expected,
                                     llvm::StringRef name);

/// A statistic broadcasts against an input of `shape`: same rank, each
/// dimension 1 or the input's; a null `stat` passes.
mlir::LogicalResult verifyBroadcastStat(mlir::Operation *op, mlir::Value stat,
                                        llvm::StringRef name,
                                        llvm::ArrayRef<int64_t> shape);

/// The shape [shape[a] for a in axes] (of parameters indexed by `axes`).
llvm::SmallVector<int64_t> selectShape(llvm::ArrayRef<int64_t> shape,
                                       llvm::ArrayRef<int64_t> axes);

/// The memory effects of a destination-style kernel (norm.kernel,
/// norm.grad_kernel): none on tensors; on memrefs it reads its inputs and
/// writes its outs (it does not read them).
void addKernelEffects(mlir::DestinationStyleOpInterface op,
                      llvm::SmallVectorImpl<mlir::SideEffects::EffectInstance<
                          mlir::MemoryEffects::Effect>> &effects);

} // namespace normlir::norm::detail

#endif // NORMLIR_LIB_DIALECT_NORM_IR_VERIFY_H
