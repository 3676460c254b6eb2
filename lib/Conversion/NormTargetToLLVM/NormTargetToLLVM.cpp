//===- NormTargetToLLVM.cpp - norm.target to LLVM's target ----------------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//

#include "normlir/Conversion/NormTargetToLLVM/NormTargetToLLVM.h"
#include "normlir/Dialect/Norm/IR/Norm.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringExtras.h"

namespace normlir {
#define GEN_PASS_DEF_CONVERTNORMTARGETTOLLVM
#include "normlir/Conversion/Passes.h.inc"
} // namespace normlir

using namespace mlir;
using namespace normlir;

namespace {

struct ConvertNormTargetToLLVMPass
    : public normlir::impl::ConvertNormTargetToLLVMBase<
          ConvertNormTargetToLLVMPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    Attribute target = module->removeAttr(norm::NormDialect::kTargetAttrName);
    auto cpu = dyn_cast_or_null<norm::CPUTargetAttr>(target);
    if (!cpu)
      return;
    MLIRContext *context = &getContext();
    llvm::SmallVector<llvm::StringRef> features;
    llvm::SplitString(cpu.getFeatures(), features, ",");
    auto triple = StringAttr::get(context, cpu.getTriple());
    module->setAttr(LLVM::LLVMDialect::getTargetTripleAttrName(), triple);
    module->setAttr(LLVM::LLVMDialect::getTargetAttrName(),
                    LLVM::TargetAttr::get(
                        context, triple, StringAttr::get(context, cpu.getCpu()),
                        LLVM::TargetFeaturesAttr::get(context, features)));
  }
};

} // namespace
