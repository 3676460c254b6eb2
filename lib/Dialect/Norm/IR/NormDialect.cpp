//===- NormDialect.cpp - norm dialect registration ------------------------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//

#include "normlir/Dialect/Norm/IR/Norm.h"

using namespace mlir;
using namespace normlir::norm;

#include "normlir/Dialect/Norm/IR/NormOpsDialect.cpp.inc"

void NormDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "normlir/Dialect/Norm/IR/NormOps.cpp.inc"
      >();
}
