//===- FoldResultCopies.cpp - write results straight into out-params ------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// `norm-fold-result-copies`: after buffer-results-to-out-params, a result
// that was computed in a temporary allocation under a different shape (the
// GroupNorm output, computed as [N, G, C/G, H, W] and returned as
// [N, C, H, W]) is copied into its out-parameter. This pass lets the
// computation write the out-parameter through a reshaped view instead: no
// temporary (which would be page-faulted in on every call) and no copy.
//
// A dynamically shaped result is allocated at the computed size and copied:
// that copy folds too, and its sizes are checked against the out-parameter
// (norm.check) before anything writes it.
//
//===----------------------------------------------------------------------===//

#include "normlir/Dialect/Norm/Transforms/Passes.h"
#include "normlir/Dialect/Norm/Utils/Utils.h"

#include "mlir/Interfaces/ViewLikeInterface.h"

namespace normlir::norm {
#define GEN_PASS_DEF_NORMFOLDRESULTCOPIES
#include "normlir/Dialect/Norm/Transforms/Passes.h.inc"
} // namespace normlir::norm

using namespace mlir;
using namespace normlir::norm;

namespace {

/// The size of dimension `d` of `computed` as the function computes it: an
/// allocation's size operand, or for a collapse_shape of one the product
/// of its group's sizes (so that the check depends on the arguments only
/// and moves to the function's start), else a memref.dim.
static Value computedSize(OpBuilder &b, Location loc, Value computed,
                          int64_t d) {
  if (auto alloc = computed.getDefiningOp<memref::AllocOp>())
    return alloc.getDynamicSizes()[alloc.getType().getDynamicDimIndex(d)];
  if (auto collapse = computed.getDefiningOp<memref::CollapseShapeOp>())
    if (auto alloc = collapse.getSrc().getDefiningOp<memref::AllocOp>()) {
      Value product;
      int64_t fixed = 1;
      SmallVector<ReassociationIndices> groups =
          collapse.getReassociationIndices();
      for (int64_t i : groups[d]) {
        if (!alloc.getType().isDynamicDim(i)) {
          fixed *= alloc.getType().getDimSize(i);
          continue;
        }
        Value size =
            alloc.getDynamicSizes()[alloc.getType().getDynamicDimIndex(i)];
        product = product
                      ? arith::MulIOp::create(b, loc, product, size).getResult()
                      : size;
      }
      if (product && fixed != 1)
        product = arith::MulIOp::create(
            b, loc, product, arith::ConstantIndexOp::create(b, loc, fixed));
      if (product)
        return product;
    }
  // Through views that keep the dimension (a statistic's unit dimensions).
  if (auto source = traceReshapedDim(computed, d))
    if (auto alloc = source->first.getDefiningOp<memref::AllocOp>();
        alloc && alloc.getType().isDynamicDim(source->second))
      return alloc.getDynamicSizes()[alloc.getType().getDynamicDimIndex(
          source->second)];
  return memref::DimOp::create(b, loc, computed, d);
}

/// The argument and dimension that `size` is the size of, through views
/// whose reassociation keeps that dimension alone (the GroupNorm split).
static std::optional<std::pair<BlockArgument, int64_t>> sizeSource(Value size) {
  // Through allocations sized from other buffers' dimensions (a statistic
  // of a statistic), as norm-lower-checks follows them.
  while (true) {
    auto dim = size.getDefiningOp<memref::DimOp>();
    std::optional<int64_t> index = dim ? dim.getConstantIndex() : std::nullopt;
    if (!index)
      return std::nullopt;
    auto source = traceReshapedDim(dim.getSource(), *index);
    if (!source)
      return std::nullopt;
    if (auto arg = dyn_cast<BlockArgument>(source->first))
      return std::make_pair(arg, source->second);
    auto alloc = source->first.getDefiningOp<memref::AllocOp>();
    if (!alloc || !alloc.getType().isDynamicDim(source->second))
      return std::nullopt;
    size = alloc.getDynamicSizes()[alloc.getType().getDynamicDimIndex(
        source->second)];
  }
}

/// Whether anything touches `alloc`, directly or through a view of it, after
/// `copy` (in the copy's block; a user in another block counts), other than
/// `except`.
static bool usedAfter(memref::AllocOp alloc, memref::CopyOp copy,
                      Operation *except) {
  SmallVector<Value> worklist = {alloc.getResult()};
  while (!worklist.empty()) {
    Value v = worklist.pop_back_val();
    for (Operation *user : v.getUsers()) {
      if (user == except)
        continue;
      Operation *inBlock = copy->getBlock()->findAncestorOpInBlock(*user);
      if (!inBlock || (inBlock != copy && copy->isBeforeInBlock(inBlock)))
        return true;
      // Views alias the allocation: their users count too.
      if (isa<ViewLikeOpInterface>(user))
        llvm::append_range(worklist, user->getResults());
    }
  }
  return false;
}

/// norm.check at `b`'s insertion point that the dynamic sizes of `out` (an
/// argument of the function) equal those of `computed` (computedSize).
static void checkResultSizes(OpBuilder &b, Location loc, BlockArgument out,
                             Value computed,
                             SmallVectorImpl<Attribute> &sources) {
  auto type = cast<MemRefType>(out.getType());
  for (int64_t d = 0; d < type.getRank(); ++d) {
    if (!type.isDynamicDim(d))
      continue;
    Value given = memref::DimOp::create(b, loc, out, d);
    Value wanted = computedSize(b, loc, computed, d);
    Value same =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, given, wanted);
    // A size that is an input's dimension: callers can size the result.
    if (auto source = sizeSource(wanted);
        source && source->first.getOwner() == out.getOwner())
      sources.push_back(b.getDenseI64ArrayAttr({out.getArgNumber(), d,
                                                source->first.getArgNumber(),
                                                source->second}));
    CheckOp::create(b, loc, same,
                    b.getStringAttr("dimension " + llvm::Twine(d) +
                                    " of argument " +
                                    llvm::Twine(out.getArgNumber()) +
                                    " (a result buffer) is not the size "
                                    "the inputs give it"));
  }
}

/// Folds `memref.copy %alloc, %out` of a dynamically shaped allocation into
/// the out-parameter %out that only the copy uses: %alloc becomes %out,
/// after a check of its sizes. Other copies into an argument get the check
/// before them.
static LogicalResult foldDynamicCopy(memref::CopyOp copy, bool &error,
                                     SmallVectorImpl<Attribute> &sources) {
  auto out = dyn_cast<BlockArgument>(copy.getTarget());
  auto outType = dyn_cast<MemRefType>(copy.getTarget().getType());
  if (!out || !outType || outType.hasStaticShape())
    return failure();
  auto func = dyn_cast<func::FuncOp>(out.getOwner()->getParentOp());
  if (!func)
    return failure();
  if (copy->getParentOp() != func.getOperation())
    return error = true,
           copy.emitError("norm-fold-result-copies: cannot check the sizes "
                          "of a dynamically shaped result copied inside a "
                          "region");
  auto alloc = copy.getSource().getDefiningOp<memref::AllocOp>();
  bool foldable = alloc && out.hasOneUse() && alloc.getType() == outType &&
                  outType.getLayout().isIdentity() &&
                  alloc->getBlock() == copy->getBlock();
  // Nothing may touch the allocation after the copy.
  if (foldable && usedAfter(alloc, copy, /*except=*/nullptr))
    foldable = false;
  OpBuilder b(copy);
  if (!foldable) {
    checkResultSizes(b, copy.getLoc(), out, copy.getSource(), sources);
    return failure();
  }
  b.setInsertionPointAfter(alloc);
  checkResultSizes(b, alloc.getLoc(), out, alloc, sources);
  copy->erase();
  alloc.replaceAllUsesWith(Value(out));
  alloc->erase();
  return success();
}

/// Folds `memref.copy (collapse|expand)(%alloc), %out` when %out is a block
/// argument used only by the copy and the copy is the last use of %alloc.
static LogicalResult foldCopy(memref::CopyOp copy,
                              SmallVectorImpl<Attribute> &sources) {
  auto out = dyn_cast<BlockArgument>(copy.getTarget());
  if (!out || !out.hasOneUse())
    return failure();
  Operation *view = copy.getSource().getDefiningOp();
  Value allocValue;
  if (auto c = dyn_cast_or_null<memref::CollapseShapeOp>(view))
    allocValue = c.getSrc();
  else if (auto e = dyn_cast_or_null<memref::ExpandShapeOp>(view))
    allocValue = e.getSrc();
  else
    return failure();
  auto alloc = allocValue.getDefiningOp<memref::AllocOp>();
  auto outType = dyn_cast<MemRefType>(out.getType());
  // Dynamic shapes: a reshaped view here (the GroupNorm shape, statistics
  // with their unit dimensions), the rest in foldDynamicCopy.
  bool dynamic = outType && !outType.hasStaticShape();
  if (!alloc || !outType ||
      (dynamic && alloc->getParentOp() != out.getOwner()->getParentOp()) ||
      !outType.getLayout().isIdentity() ||
      !alloc.getType().getLayout().isIdentity() ||
      copy.getSource().getType() != outType || !view->hasOneUse() ||
      alloc->getBlock() != copy->getBlock())
    return failure();
  // Nothing may touch the allocation after the copy.
  if (usedAfter(alloc, copy, /*except=*/view))
    return failure();
  // A dynamic result's sizes are checked right after the allocation: each
  // must be the allocation's (an expanded group of other dimensions than
  // static 1s is not traced, and not folded).
  if (dynamic && isa<memref::ExpandShapeOp>(view))
    for (int64_t d = 0; d < outType.getRank(); ++d) {
      if (!outType.isDynamicDim(d))
        continue;
      auto source = traceReshapedDim(view->getResult(0), d);
      if (!source || source->first != alloc.getResult())
        return failure();
    }
  OpBuilder b(alloc);
  Value replacement;
  if (dynamic) {
    // The out-parameter's sizes are checked before it stands for the
    // allocation.
    b.setInsertionPointAfter(alloc);
    checkResultSizes(b, alloc.getLoc(), out, view->getResult(0), sources);
    if (auto c = dyn_cast<memref::CollapseShapeOp>(view))
      replacement = memref::ExpandShapeOp::create(
          b, alloc.getLoc(), alloc.getType(), out, c.getReassociationIndices(),
          alloc.getMixedSizes());
    else
      replacement = memref::CollapseShapeOp::create(
          b, alloc.getLoc(), out,
          cast<memref::ExpandShapeOp>(view).getReassociationIndices());
  } else if (auto c = dyn_cast<memref::CollapseShapeOp>(view))
    replacement = memref::ExpandShapeOp::create(b, alloc.getLoc(),
                                                alloc.getType().getShape(), out,
                                                c.getReassociationIndices());
  else
    replacement = memref::CollapseShapeOp::create(
        b, alloc.getLoc(), out,
        cast<memref::ExpandShapeOp>(view).getReassociationIndices());
  if (replacement.getType() != alloc.getType())
    return replacement.getDefiningOp()->erase(), failure();
  copy->erase();
  view->erase();
  alloc.replaceAllUsesWith(replacement);
  alloc->erase();
  return success();
}

struct NormFoldResultCopiesPass
    : public normlir::norm::impl::NormFoldResultCopiesBase<
          NormFoldResultCopiesPass> {
  void runOnOperation() override {
    SmallVector<memref::CopyOp> copies;
    getOperation().walk([&](memref::CopyOp c) { copies.push_back(c); });
    bool error = false;
    SmallVector<Attribute> sources;
    for (memref::CopyOp c : copies)
      if (failed(foldCopy(c, sources)))
        (void)foldDynamicCopy(c, error, sources);
    if (error)
      return signalPassFailure();
    if (!sources.empty())
      getOperation()->setAttr(NormDialect::kResultDimsAttrName,
                              ArrayAttr::get(&getContext(), sources));
  }
};

} // namespace
