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
// loops, so this moves every fixed-size alloca whose uses all stay in its
// own block into the entry block, where it is allocated once per call, as
// Clang places its locals. Such an alloca is dead when its block ends, so
// one slot serves every execution of the block.
//
//===----------------------------------------------------------------------===//

#include "HoistAllocas.h"

#include "llvm/IR/Constants.h"
#include "llvm/IR/Function.h"
#include "llvm/IR/Instructions.h"
#include "llvm/IR/Module.h"

using namespace llvm;

/// True when every use of `v`, through GEPs and casts, is in `block`.
static bool usedOnlyIn(const Value *v, const BasicBlock *block) {
  for (const User *u : v->users()) {
    const auto *inst = dyn_cast<Instruction>(u);
    if (!inst || inst->getParent() != block)
      return false;
    if ((isa<GetElementPtrInst>(inst) || isa<CastInst>(inst)) &&
        !usedOnlyIn(inst, block))
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
