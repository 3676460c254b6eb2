//===- AttachTarget.cpp - record the compile target on the module ---------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// `norm-attach-cpu-target` and `norm-attach-cuda-target`: the one place where
// a target's name becomes IR (#norm.cpu_target, #norm.cuda_target); every
// later pass reads the attribute, as upstream's gpu passes read the
// #nvvm.target that `nvvm-attach-target` records.
//
//===----------------------------------------------------------------------===//

#include "normlir/Dialect/Norm/Transforms/Passes.h"
#include "normlir/Dialect/Norm/Utils/Target.h"

namespace normlir::norm {
#define GEN_PASS_DEF_NORMATTACHCPUTARGET
#define GEN_PASS_DEF_NORMATTACHCUDATARGET
#include "normlir/Dialect/Norm/Transforms/Passes.h.inc"
} // namespace normlir::norm

using namespace mlir;
using namespace normlir::norm;

namespace {

/// Sets `target` as `module`'s target unless one is there and `force` is
/// off; a failure to resolve it is an error located at the module.
template <typename Resolve>
static LogicalResult attach(ModuleOp module, bool force, StringRef pass,
                            Resolve &&resolve) {
  if (module->hasAttr(NormDialect::kTargetAttrName) && !force)
    return success();
  llvm::Expected<Attribute> target = resolve();
  if (!target)
    return module.emitError()
           << pass << ": " << llvm::toString(target.takeError());
  module->setAttr(NormDialect::kTargetAttrName, *target);
  return success();
}

struct NormAttachCPUTargetPass
    : public normlir::norm::impl::NormAttachCPUTargetBase<
          NormAttachCPUTargetPass> {
  using NormAttachCPUTargetBase::NormAttachCPUTargetBase;

  void runOnOperation() override {
    if (failed(attach(getOperation(), force, getArgument(),
                      [&]() -> llvm::Expected<Attribute> {
                        return resolveCPUTarget(&getContext(), cpu, features,
                                                triple);
                      })))
      signalPassFailure();
  }
};

struct NormAttachCUDATargetPass
    : public normlir::norm::impl::NormAttachCUDATargetBase<
          NormAttachCUDATargetPass> {
  using NormAttachCUDATargetBase::NormAttachCUDATargetBase;

  void runOnOperation() override {
    if (failed(attach(getOperation(), force, getArgument(),
                      [&]() -> llvm::Expected<Attribute> {
                        return resolveCUDATarget(&getContext(), chip,
                                                 multiprocessors);
                      })))
      signalPassFailure();
  }
};

} // namespace
