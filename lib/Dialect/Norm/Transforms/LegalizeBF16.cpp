//===- LegalizeBF16.cpp - bf16 conversions the target cannot do ----------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//

#include "normlir/Dialect/Norm/Transforms/Passes.h"
#include "normlir/Dialect/Norm/Utils/Target.h"
#include "normlir/Dialect/Norm/Utils/Utils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace normlir::norm {
#define GEN_PASS_DEF_NORMLEGALIZEBF16
#include "normlir/Dialect/Norm/Transforms/Passes.h.inc"
} // namespace normlir::norm

using namespace mlir;
using namespace normlir::norm;

namespace {

/// f32 -> bf16 with integer operations, rounding to nearest even, NaN to the
/// quiet NaN 0x7fc0, as upstream's expansion, but with the NaN select on
/// the i32 bits before they are narrowed: upstream selects between i16
/// vectors under a mask computed from f32 lanes, which the X86 backend
/// scalarizes on AVX2 (a compare, a cmov and a 16-bit store per lane),
/// making bf16 kernels 2-3x slower than a plain C++ loop. Here the mask and
/// the values have the same lane width, so the select is one blend.
struct TruncFToBF16 : OpRewritePattern<arith::TruncFOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(arith::TruncFOp op,
                                PatternRewriter &rewriter) const override {
    Type in = getElementTypeOrSelf(op.getIn().getType());
    Type out = getElementTypeOrSelf(op.getType());
    if (!in.isF32() || !out.isBF16())
      return failure();
    Location loc = op.getLoc();
    Value chosen = buildBF16RoundedBits(rewriter, loc, op.getIn());
    Type i32 = rewriter.getI32Type(), i16 = rewriter.getI16Type();
    auto like = [&](Type elt) -> Type {
      if (auto v = dyn_cast<VectorType>(op.getType()))
        return v.clone(elt);
      return elt;
    };
    Type bitsType = like(i32);
    TypedAttr sixteenAttr = rewriter.getI32IntegerAttr(16);
    if (auto v = dyn_cast<VectorType>(bitsType))
      sixteenAttr = DenseElementsAttr::get(v, sixteenAttr);
    Value sixteen =
        arith::ConstantOp::create(rewriter, loc, bitsType, sixteenAttr);
    Value high = arith::ShRUIOp::create(rewriter, loc, chosen, sixteen);
    Value narrow = arith::TruncIOp::create(rewriter, loc, like(i16), high);
    rewriter.replaceOpWithNewOp<arith::BitcastOp>(op, op.getType(), narrow);
    return success();
  }
};

struct NormLegalizeBF16Pass
    : public normlir::norm::impl::NormLegalizeBF16Base<NormLegalizeBF16Pass> {
  /// With native conversions (vcvtneps2bf16), a NaN keeps its sign: the
  /// NaNs x86 arithmetic makes (inf - inf) are negative, so a NaN row would
  /// be 0xffc0 on such a CPU and 0x7fc0 (PyTorch's c10::BFloat16, and the
  /// expansion above) on others. Selecting the quiet NaN first makes the
  /// bits the same on every CPU; a compare and a blend per vector.
  void canonicalizeNaNs() {
    SmallVector<arith::TruncFOp> truncs;
    getOperation()->walk([&](arith::TruncFOp op) {
      if (getElementTypeOrSelf(op.getIn().getType()).isF32() &&
          getElementTypeOrSelf(op.getType()).isBF16())
        truncs.push_back(op);
    });
    for (arith::TruncFOp op : truncs) {
      OpBuilder b(op);
      Location loc = op.getLoc();
      Value x = op.getIn();
      TypedAttr nanAttr = b.getF32FloatAttr(
          APFloat::getQNaN(APFloat::IEEEsingle()).convertToFloat());
      if (auto v = dyn_cast<VectorType>(x.getType()))
        nanAttr = DenseElementsAttr::get(v, nanAttr);
      Value nan = arith::ConstantOp::create(b, loc, x.getType(), nanAttr);
      Value isNaN =
          arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO, x, x);
      op.getInMutable().assign(arith::SelectOp::create(b, loc, isNaN, nan, x));
    }
  }

  void runOnOperation() override {
    // A CUDA module's host code never converts bf16, and its device code is
    // in gpu.module ops lowered by their own pipeline: only a CPU target
    // with the instructions keeps the conversions.
    auto cpu =
        dyn_cast_or_null<CPUTargetAttr>(lookupTargetAttr(getOperation()));
    if (cpu && cpu.getNativeBF16()) {
      canonicalizeNaNs();
      return;
    }
    RewritePatternSet patterns(&getContext());
    // Ours for f32 -> bf16 (tried first: higher benefit), upstream's for
    // the rest (bf16 -> f32 is a shift).
    patterns.add<TruncFToBF16>(&getContext(), /*benefit=*/2);
    arith::populateExpandBFloat16Patterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
