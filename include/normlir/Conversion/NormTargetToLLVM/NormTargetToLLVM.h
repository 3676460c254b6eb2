//===- NormTargetToLLVM.h - norm.target to LLVM's target ------*- C++ -*-===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//

#ifndef NORMLIR_CONVERSION_NORMTARGETTOLLVM_NORMTARGETTOLLVM_H
#define NORMLIR_CONVERSION_NORMTARGETTOLLVM_NORMTARGETTOLLVM_H

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Pass/Pass.h"

namespace normlir {

#define GEN_PASS_DECL_CONVERTNORMTARGETTOLLVM
#include "normlir/Conversion/Passes.h.inc"

} // namespace normlir

#endif // NORMLIR_CONVERSION_NORMTARGETTOLLVM_NORMTARGETTOLLVM_H
