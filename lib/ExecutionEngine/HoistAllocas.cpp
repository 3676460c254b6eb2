//===- HoistAllocas.cpp - fixed-size allocas into the entry block ---------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// MLIR's translation of gpu.launch_func builds each launch's argument
// arrays with allocas where the launch is. A launch inside a host loop (the
// linalg path's sequential loops mapped to the GPU) then grows the stack on
// every iteration, and a long loop overflows it: 65536 launches of 25
// arguments crashed inside cuLaunchKernel. LLVM does not move allocas out of
// loops, so this moves every fixed-size alloca whose address cannot outlive
// its own block (usedOnlyIn) into the entry block, where it is allocated
// once per call, as Clang places its locals: one slot then serves every
// execution of the block.
//
//===----------------------------------------------------------------------===//

#include "HoistAllocas.h"

#include "llvm/Analysis/ValueTracking.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/Function.h"
#include "llvm/IR/Instructions.h"
#include "llvm/IR/Module.h"

using namespace llvm;

/// True when `v` (an alloca's address, or one derived from it) cannot
/// outlive its block: every use is in `block` and is a GEP or cast (whose
/// uses are checked too), a load from it, a store to it, a store of it into
/// another alloca of the block (a launch's argument array holds its
/// arguments' addresses), or a call argument (the runtime's functions do
/// not keep their arguments' addresses past the call). Anything else
/// (PHIs, selects, insertvalue, a store into other memory) may carry the
/// address to a later execution of the block, which one slot would alias.
static bool usedOnlyIn(const Value *v, const BasicBlock *block) {
  for (const Use &use : v->uses()) {
    const auto *inst = dyn_cast<Instruction>(use.getUser());
    if (!inst || inst->getParent() != block)
      return false;
    if (isa<GetElementPtrInst>(inst) || isa<CastInst>(inst)) {
      if (isa<PtrToIntInst>(inst) || !usedOnlyIn(inst, block))
        return false;
      continue;
    }
    if (isa<LoadInst>(inst))
      continue;
    if (const auto *store = dyn_cast<StoreInst>(inst)) {
      if (use.getOperandNo() == StoreInst::getPointerOperandIndex())
        continue;
      const auto *into =
          dyn_cast<AllocaInst>(getUnderlyingObject(store->getPointerOperand()));
      if (into && into->getParent() == block)
        continue;
      return false;
    }
    if (const auto *call = dyn_cast<CallBase>(inst))
      if (call->isArgOperand(&use))
        continue;
    return false;
  }
  return true;
}

unsigned normlir::hoistBlockLocalAllocas(Module &module) {
  unsigned moved = 0;
  for (Function &f : module) {
    if (f.isDeclaration())
      continue;
    BasicBlock &entry = f.getEntryBlock();
    SmallVector<AllocaInst *> allocas;
    for (BasicBlock &bb : f) {
      if (&bb == &entry)
        continue;
      for (Instruction &inst : bb)
        if (auto *a = dyn_cast<AllocaInst>(&inst))
          if (isa<ConstantInt>(a->getArraySize()) && usedOnlyIn(a, &bb))
            allocas.push_back(a);
    }
    BasicBlock::iterator at = entry.getFirstInsertionPt();
    for (AllocaInst *a : allocas) {
      a->moveBefore(entry, at);
      ++moved;
    }
  }
  return moved;
}
