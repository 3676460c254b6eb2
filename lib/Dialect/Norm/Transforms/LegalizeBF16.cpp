//===- LegalizeBF16.cpp - bf16 conversions the target cannot do ----------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//

#include "normlir/Dialect/Norm/Transforms/Passes.h"
#include "normlir/Dialect/Norm/Utils/Target.h"

#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace normlir::norm {
#define GEN_PASS_DEF_NORMLEGALIZEBF16
#include "normlir/Dialect/Norm/Transforms/Passes.h.inc"
} // namespace normlir::norm

using namespace mlir;
using namespace normlir::norm;

namespace {

struct NormLegalizeBF16Pass
    : public normlir::norm::impl::NormLegalizeBF16Base<NormLegalizeBF16Pass> {
  void runOnOperation() override {
    // A CUDA module's host code never converts bf16, and its device code is
    // in gpu.module ops lowered by their own pipeline: only a CPU target
    // with the instructions keeps the conversions.
    auto cpu =
        dyn_cast_or_null<CPUTargetAttr>(lookupTargetAttr(getOperation()));
    if (cpu && cpu.getNativeBF16())
      return;
    RewritePatternSet patterns(&getContext());
    arith::populateExpandBFloat16Patterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
