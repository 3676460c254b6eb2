//===- LowerChecks.cpp - norm.check to an early return with a status ------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// `norm-lower-checks`: the checks move to the start of their function (with
// the pure ops computing them), then each splits its block; where the
// condition fails, the function returns 3 + the check's index before it has
// allocated or written anything, and the entry points
// (ExecutionEngine/Compiler.cpp) map that status to the check's message,
// which the function records in `norm.check_messages`. Statuses 1 and 2 are
// the entry points' (the CUDA runtime's error, a negative size). It runs
// after deallocation, which then sees one path, while the body is still
// structured. An allocation of the entry block sized from the inputs'
// dimensions gets a check too, where it is: a null pointer or a byte count
// that overflows (an absurd size with an empty input: N = 2^40 instance
// statistics of no values) frees what was allocated before it and returns
// that check's status.
//
//===----------------------------------------------------------------------===//

#include "normlir/Dialect/Norm/Transforms/Passes.h"

#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "normlir/Dialect/Norm/Utils/Utils.h"
#include "llvm/ADT/SetVector.h"

#include <limits>

namespace normlir::norm {
#define GEN_PASS_DEF_NORMLOWERCHECKS
#include "normlir/Dialect/Norm/Transforms/Passes.h.inc"
} // namespace normlir::norm

using namespace mlir;
using namespace normlir::norm;

namespace {

/// The size `dim` reads when its buffer is an allocation seen through
/// reshapes that keep that dimension alone (a GroupNorm result): the
/// allocation's size operand, which the function's arguments give; null
/// otherwise.
static Value allocatedSize(memref::DimOp dim) {
  std::optional<int64_t> index = dim.getConstantIndex();
  if (!index)
    return {};
  auto source = traceReshapedDim(dim.getSource(), *index);
  auto alloc =
      source ? source->first.getDefiningOp<memref::AllocOp>() : nullptr;
  if (!alloc || !alloc.getType().isDynamicDim(source->second))
    return {};
  return alloc
      .getDynamicSizes()[alloc.getType().getDynamicDimIndex(source->second)];
}

/// Moves each check, and the pure ops its condition is computed by, to the
/// start of the function, in order: a failing check then returns before the
/// function has allocated or written anything.
static LogicalResult hoistChecks(func::FuncOp func, ArrayRef<CheckOp> checks) {
  Block &entry = func.front();
  llvm::SmallPtrSet<Operation *, 16> hoisted;
  auto anchor = [&]() -> Operation * {
    for (Operation &op : entry)
      if (!hoisted.contains(&op))
        return &op;
    return nullptr;
  };
  // A size read from an allocation is its size operand: computed from the
  // arguments, it moves with the checks.
  SmallVector<memref::DimOp> dims;
  entry.walk([&](memref::DimOp dim) { dims.push_back(dim); });
  for (memref::DimOp dim : dims)
    if (Value size = allocatedSize(dim))
      dim.getResult().replaceAllUsesWith(size);
  for (CheckOp check : checks) {
    if (check->getBlock() != &entry)
      return check.emitError("norm-lower-checks: a check must be in the "
                             "function's entry block");
    // The ops of the entry block the condition depends on.
    SetVector<Operation *> slice;
    SmallVector<Value> worklist = {check.getCondition()};
    while (!worklist.empty()) {
      Operation *def = worklist.pop_back_val().getDefiningOp();
      if (!def || hoisted.contains(def) || !slice.insert(def))
        continue;
      if (def->getBlock() != &entry || def->getNumRegions() != 0 ||
          !isMemoryEffectFree(def))
        return check.emitError()
               << "norm-lower-checks: the check's condition depends on "
               << def->getName()
               << ", which cannot move to the function's entry";
      llvm::append_range(worklist, def->getOperands());
    }
    SmallVector<Operation *> ordered(slice.begin(), slice.end());
    llvm::sort(ordered, [](Operation *a, Operation *b) {
      return a->isBeforeInBlock(b);
    });
    ordered.push_back(check);
    for (Operation *op : ordered) {
      Operation *at = anchor();
      if (op != at)
        op->moveBefore(at);
      hoisted.insert(op);
    }
  }
  return success();
}

/// A check after an allocation whose size comes from the input's
/// dimensions (an absurd size fails): its byte count does not overflow and
/// the pointer is not null. Where it
/// fails, the function frees what it has allocated so far and returns the
/// check's status; the caller's outputs may have been written.
struct AllocationCheck {
  CheckOp check;
  /// The allocations live at the check.
  SmallVector<Value> live;
};

/// The operation of `block` that holds `op` (itself, or an ancestor).
static Operation *inBlock(Block &block, Operation *op) {
  while (op && op->getBlock() != &block)
    op = op->getParentOp();
  return op;
}

/// An AllocationCheck after each allocation of the entry block with
/// dynamic sizes (the ones of nested regions, the kernels' scratch, are
/// sized from buffers that exist: not checked).
static SmallVector<AllocationCheck> addAllocationChecks(func::FuncOp func) {
  Block &entry = func.front();
  SmallVector<memref::AllocOp> allocs;
  for (auto alloc : entry.getOps<memref::AllocOp>())
    allocs.push_back(alloc);
  SmallVector<AllocationCheck> result;
  for (size_t i = 0; i < allocs.size(); ++i) {
    memref::AllocOp alloc = allocs[i];
    if (alloc.getType().hasStaticShape())
      continue;
    OpBuilder b(alloc->getContext());
    b.setInsertionPointAfter(alloc);
    Location loc = alloc.getLoc();
    Value ptr = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, alloc);
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    Value ok =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, ptr, zero);
    // A byte count past 2^63 wraps to a small one that malloc grants (2^62
    // rows of no values have 2^62 statistics): the count must not overflow.
    // bytes <= max / size at each factor, in unsigned arithmetic; a size of
    // 0 anywhere makes the count 0 (2^62 x 0 holds nothing).
    MemRefType type = alloc.getType();
    int64_t fixed = std::max<int64_t>(type.getElementTypeBitWidth() / 8, 1);
    for (int64_t d : type.getShape())
      if (!ShapedType::isDynamic(d))
        fixed *= d;
    Value bytes = arith::ConstantIndexOp::create(b, loc, fixed);
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    Value max = arith::ConstantIndexOp::create(
        b, loc, std::numeric_limits<int64_t>::max());
    Value fits, empty;
    for (Value size : alloc.getDynamicSizes()) {
      Value divisor = arith::MaxUIOp::create(b, loc, size, one);
      Value fit =
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ule, bytes,
                                arith::DivUIOp::create(b, loc, max, divisor));
      Value none =
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, size, zero);
      fits = fits ? arith::AndIOp::create(b, loc, fits, fit).getResult() : fit;
      empty =
          empty ? arith::OrIOp::create(b, loc, empty, none).getResult() : none;
      bytes = arith::MulIOp::create(b, loc, bytes, size);
    }
    if (fixed != 0)
      ok = arith::AndIOp::create(b, loc, ok,
                                 arith::OrIOp::create(b, loc, fits, empty));
    AllocationCheck c;
    c.check = CheckOp::create(
        b, loc, ok,
        b.getStringAttr("out of memory: a buffer sized from the inputs' "
                        "dimensions could not be allocated"));
    // The earlier allocations not freed before this one.
    for (memref::AllocOp earlier : ArrayRef(allocs).take_front(i)) {
      bool freed = llvm::any_of(earlier->getUsers(), [&](Operation *user) {
        Operation *at = inBlock(entry, user);
        return isa<memref::DeallocOp>(user) && at && at->isBeforeInBlock(alloc);
      });
      if (!freed)
        c.live.push_back(earlier);
    }
    result.push_back(std::move(c));
  }
  return result;
}

struct NormLowerChecksPass
    : public normlir::norm::impl::NormLowerChecksBase<NormLowerChecksPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    for (auto func : module.getOps<func::FuncOp>())
      if (failed(lower(func, module)))
        return signalPassFailure();
  }

  LogicalResult lower(func::FuncOp func, ModuleOp module) {
    SmallVector<CheckOp> checks;
    func.walk([&](CheckOp c) { checks.push_back(c); });
    if (checks.empty() || func.isExternal())
      return success();
    if (func.getNumResults() != 0)
      return checks.front().emitError()
             << "norm-lower-checks: the function returns values; run it "
                "once results are out-parameters "
                "(buffer-results-to-out-params)";
    // The status goes to the entry point: a function called from another
    // would have to pass it on.
    if (!SymbolTable::symbolKnownUseEmpty(func, module))
      return checks.front().emitError()
             << "norm-lower-checks: @" << func.getSymName()
             << " is called by a function; runtime checks are supported in "
                "the functions the entry points call only";
    if (failed(hoistChecks(func, checks)))
      return failure();
    SmallVector<AllocationCheck> allocChecks = addAllocationChecks(func);
    DenseMap<Operation *, ArrayRef<Value>> freeOnFailure;
    for (AllocationCheck &c : allocChecks) {
      checks.push_back(c.check);
      freeOnFailure[c.check] = c.live;
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
      Block *block = check->getBlock();
      Block *rest = block->splitBlock(check->getNextNode());
      Block *fail = b.createBlock(rest);
      b.setInsertionPointToEnd(fail);
      for (Value mem : freeOnFailure.lookup(check))
        memref::DeallocOp::create(b, check.getLoc(), mem);
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
    return success();
  }
};

} // namespace
