//===- normlir-opt.cpp - NormLIR optimizer driver -------------------------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// mlir-opt with the norm dialect, NormLIR's passes and pipelines, and all of
// upstream's dialects, extensions and passes.
//
//===----------------------------------------------------------------------===//

#include "normlir/Dialect/Norm/IR/Norm.h"
#include "normlir/Dialect/Norm/Transforms/BufferizableOpInterfaceImpl.h"
#include "normlir/Pipelines/Pipelines.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  normlir::registerAllPasses();

  mlir::DialectRegistry registry;
  registry.insert<normlir::norm::NormDialect>();
  normlir::norm::registerBufferizableOpInterfaceExternalModels(registry);
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "NormLIR optimizer driver\n", registry));
}
