//===- normlir-opt.cpp - NormLIR optimizer driver -------------------------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// mlir-opt with the norm dialect, NormLIR's passes and pipelines, and all of
// upstream's dialects, extensions and passes (GPU targets included).
//
//===----------------------------------------------------------------------===//

#include "normlir/Dialect/Norm/IR/Norm.h"
#include "normlir/Dialect/Norm/Transforms/BufferizableOpInterfaceImpl.h"
#include "normlir/Pipelines/Pipelines.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  normlir::registerAllPasses();

  mlir::DialectRegistry registry;
  registry.insert<normlir::norm::NormDialect>();
  normlir::norm::registerBufferizableOpInterfaceExternalModels(registry);
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  // gpu-module-to-binary translates kernels to LLVM IR (as mlir-opt does).
  mlir::registerAllGPUToLLVMIRTranslations(registry);
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "NormLIR optimizer driver\n", registry));
}
