//===- Norm.h - norm dialect ------------------------------------*- C++ -*-===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//

#ifndef NORMLIR_DIALECT_NORM_IR_NORM_H
#define NORMLIR_DIALECT_NORM_IR_NORM_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "normlir/Dialect/Norm/IR/NormOpsDialect.h.inc"

#include "normlir/Dialect/Norm/IR/NormEnums.h.inc"

namespace normlir::norm {
/// Parses a schedule's strategy: a keyword (`row`) or, as earlier releases
/// printed it, a string (`"row"`); an error names the valid strategies.
mlir::FailureOr<Strategy> parseStrategy(mlir::AsmParser &parser);
/// Parses #norm.grad_schedule's statistics keyword (saved or recomputed).
mlir::FailureOr<GradStatistics> parseGradStatistics(mlir::AsmParser &parser);
} // namespace normlir::norm

#define GET_ATTRDEF_CLASSES
#include "normlir/Dialect/Norm/IR/NormAttrs.h.inc"

#define GET_OP_CLASSES
#include "normlir/Dialect/Norm/IR/NormOps.h.inc"

#endif // NORMLIR_DIALECT_NORM_IR_NORM_H
