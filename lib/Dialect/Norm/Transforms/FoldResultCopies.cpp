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
//===----------------------------------------------------------------------===//

#include "normlir/Dialect/Norm/Transforms/Passes.h"

namespace normlir::norm {
#define GEN_PASS_DEF_NORMFOLDRESULTCOPIES
#include "normlir/Dialect/Norm/Transforms/Passes.h.inc"
} // namespace normlir::norm

using namespace mlir;

namespace {

/// Folds `memref.copy (collapse|expand)(%alloc), %out` when %out is a block
/// argument used only by the copy and the copy is the last use of %alloc.
static LogicalResult foldCopy(memref::CopyOp copy) {
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
  if (!alloc || !outType || !outType.getLayout().isIdentity() ||
      !alloc.getType().getLayout().isIdentity() ||
      copy.getSource().getType() != outType || !view->hasOneUse() ||
      alloc->getBlock() != copy->getBlock())
    return failure();
  // Nothing may touch the allocation after the copy.
  for (Operation *user : alloc->getUsers()) {
    Operation *inBlock = copy->getBlock()->findAncestorOpInBlock(*user);
    if (!inBlock || (inBlock != view && copy->isBeforeInBlock(inBlock)))
      return failure();
  }
  OpBuilder b(alloc);
  Value replacement;
  if (auto c = dyn_cast<memref::CollapseShapeOp>(view))
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
    for (memref::CopyOp c : copies)
      (void)foldCopy(c);
  }
};

} // namespace
