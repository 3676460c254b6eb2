//===- LowerChecks.cpp - norm.check to an early return with a status ------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// `norm-lower-checks`: each norm.check splits its block; where the condition
// fails, the function returns 3 + the check's index, and the entry points
// (ExecutionEngine/Compiler.cpp) map that status to the check's message,
// which the function records in `norm.check_messages`. Statuses 1 and 2 are
// the entry points' (the CUDA runtime's error, a negative size). A check is
// lowered where the function's body is still structured, before deallocation,
// so that the deallocations follow both paths.
//
//===----------------------------------------------------------------------===//

#include "normlir/Dialect/Norm/Transforms/Passes.h"

namespace normlir::norm {
#define GEN_PASS_DEF_NORMLOWERCHECKS
#include "normlir/Dialect/Norm/Transforms/Passes.h.inc"
} // namespace normlir::norm

using namespace mlir;
using namespace normlir::norm;

namespace {

struct NormLowerChecksPass
    : public normlir::norm::impl::NormLowerChecksBase<NormLowerChecksPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    SmallVector<CheckOp> checks;
    func.walk([&](CheckOp c) { checks.push_back(c); });
    if (checks.empty())
      return;
    if (func.isExternal())
      return;
    if (func.getNumResults() != 0) {
      checks.front().emitError()
          << "norm-lower-checks: the function returns values; run it once "
             "results are out-parameters (buffer-results-to-out-params)";
      return signalPassFailure();
    }
    OpBuilder b(func.getContext());
    Type i32 = b.getI32Type();
    // Every return gives status 0.
    SmallVector<func::ReturnOp> returns;
    func.walk([&](func::ReturnOp r) { returns.push_back(r); });
    for (func::ReturnOp r : returns) {
      b.setInsertionPoint(r);
      Value ok = arith::ConstantIntOp::create(b, r.getLoc(), i32, 0);
      r.getOperandsMutable().assign(ok);
    }
    func.setType(FunctionType::get(func.getContext(), func.getArgumentTypes(),
                                   TypeRange{i32}));
    SmallVector<Attribute> messages;
    for (auto [i, check] : llvm::enumerate(checks)) {
      messages.push_back(check.getMessageAttr());
      // The verifier keeps checks in the function's own body (C2).
      Block *block = check->getBlock();
      Block *rest = block->splitBlock(check->getNextNode());
      Block *fail = b.createBlock(rest);
      b.setInsertionPointToEnd(fail);
      Value status = arith::ConstantIntOp::create(
          b, check.getLoc(), i32,
          NormDialect::kFirstCheckStatus + static_cast<int64_t>(i));
      func::ReturnOp::create(b, check.getLoc(), status);
      b.setInsertionPointToEnd(block);
      cf::CondBranchOp::create(b, check.getLoc(), check.getCondition(), rest,
                               ValueRange{}, fail, ValueRange{});
      check->erase();
    }
    func->setAttr(NormDialect::kCheckMessagesAttrName,
                  b.getArrayAttr(messages));
  }
};

} // namespace
