//===- HostBuffersToDevice.cpp - host buffers onto the GPU ----------------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// `norm-host-buffers-to-device`: after convert-norm-to-gpu has turned the
// kernels into launches, the rest of each host function is moved onto the
// device: temporaries become gpu.alloc (freed before the return), contiguous
// copies gpu.memcpy, constants device copies, and scalar host code that
// reads device memory runs inside the regions it feeds or as a one-thread
// launch.
//
//===----------------------------------------------------------------------===//

#include "normlir/Conversion/NormToGPU/NormToGPU.h"

#include "mlir/Analysis/SliceAnalysis.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/RegionUtils.h"

namespace normlir {
#define GEN_PASS_DEF_NORMHOSTBUFFERSTODEVICE
#include "normlir/Conversion/Passes.h.inc"
} // namespace normlir

using namespace mlir;
using namespace normlir;

/// Puts one host buffer operation on the device: an allocation becomes a
/// gpu.alloc (recorded in `deviceAllocs`), a deallocation a gpu.dealloc, a
/// copy a gpu.memcpy (linalg.copy when strided), a constant a device copy.
/// Replaced operations are added to `toErase`.
static LogicalResult placeOnDevice(Operation *o,
                                   SmallVectorImpl<Operation *> &toErase,
                                   SmallVectorImpl<Value> &deviceAllocs) {
  OpBuilder b(o);
  if (isa<memref::AllocOp, memref::AllocaOp>(o)) {
    auto type = cast<MemRefType>(o->getResult(0).getType());
    if (!type.getLayout().isIdentity() || type.getMemorySpace())
      return o->emitError("cannot place a buffer of type ")
             << type << " on the GPU";
    Value mem = gpu::AllocOp::create(b, o->getLoc(), type, Type(), ValueRange{},
                                     o->getOperands(), ValueRange{}, false)
                    .getMemref();
    o->getResult(0).replaceAllUsesWith(mem);
    deviceAllocs.push_back(mem);
    toErase.push_back(o);
    return success();
  }
  if (auto dealloc = dyn_cast<memref::DeallocOp>(o)) {
    gpu::DeallocOp::create(b, o->getLoc(), Type(), ValueRange{},
                           dealloc.getMemref());
    llvm::erase(deviceAllocs, dealloc.getMemref());
    toErase.push_back(o);
    return success();
  }
  if (auto copy = dyn_cast<memref::CopyOp>(o)) {
    auto srcType = cast<MemRefType>(copy.getSource().getType());
    auto dstType = cast<MemRefType>(copy.getTarget().getType());
    if (srcType.getLayout().isIdentity() && dstType.getLayout().isIdentity())
      gpu::MemcpyOp::create(b, o->getLoc(), Type(), ValueRange{},
                            copy.getTarget(), copy.getSource());
    else
      linalg::CopyOp::create(b, o->getLoc(), copy.getSource(),
                             copy.getTarget());
    toErase.push_back(o);
    return success();
  }
  if (auto global = dyn_cast<memref::GetGlobalOp>(o)) {
    // A constant tensor lives in host memory: the kernels read a device
    // copy (the driver copies from host memory through unified addressing).
    auto type = cast<MemRefType>(global.getType());
    if (!type.getLayout().isIdentity() || type.getMemorySpace())
      return o->emitError("cannot copy a constant of type ")
             << type << " to the GPU";
    b.setInsertionPointAfter(o);
    Value mem = gpu::AllocOp::create(b, o->getLoc(), type, Type(), ValueRange{},
                                     ValueRange{}, ValueRange{}, false)
                    .getMemref();
    global.getResult().replaceAllUsesWith(mem);
    gpu::MemcpyOp::create(b, o->getLoc(), Type(), ValueRange{}, mem,
                          global.getResult());
    deviceAllocs.push_back(mem);
  }
  return success();
}

/// The pure scalar host code `root` depends on (loads of device memory
/// included), with a located error for anything that cannot move onto the
/// GPU.
static LogicalResult getScalarSlice(Operation *root,
                                    SetVector<Operation *> &slice) {
  BackwardSliceOptions options;
  options.omitBlockArguments = true;
  options.filter = [](Operation *o) {
    return o->getNumRegions() == 0 &&
           llvm::none_of(o->getResultTypes(),
                         [](Type t) { return isa<MemRefType>(t); });
  };
  if (failed(getBackwardSlice(root, &slice, options)))
    return root->emitError("cannot move this host code onto the GPU");
  // Effect-free rather than pure: a division by a runtime size (a grid of
  // dynamic sizes) is not speculatable, but it runs wherever its result
  // is used, as on the host.
  for (Operation *o : slice)
    if (!isMemoryEffectFree(o) && !isa<memref::LoadOp>(o))
      return o->emitError("cannot move this host operation onto the GPU");
  return success();
}

/// Scalar host code that reads device memory and feeds a region (a
/// running-statistics update scaled by 1 / (num_batches_tracked + 1)) is
/// recomputed inside the region, which becomes a kernel.
static LogicalResult moveScalarCodeIntoRegions(Block &body) {
  for (Operation &o : body) {
    if (o.getNumRegions() == 0 || isa<gpu::LaunchOp>(o))
      continue;
    SetVector<Value> captured;
    getUsedValuesDefinedAbove(o.getRegions(), captured);
    for (Value v : captured) {
      Operation *def = v.getDefiningOp();
      if (!def || isa<MemRefType>(v.getType()))
        continue;
      SetVector<Operation *> slice;
      if (failed(getScalarSlice(def, slice)))
        return failure();
      slice.insert(def);
      if (llvm::none_of(slice, llvm::IsaPred<memref::LoadOp>))
        continue;
      for (Region &r : o.getRegions()) {
        OpBuilder rb = OpBuilder::atBlockBegin(&r.front());
        IRMapping map;
        for (Operation *s : slice)
          rb.clone(*s, map);
        replaceAllUsesInRegionWith(v, map.lookup(v), r);
      }
    }
  }
  return success();
}

/// A store of scalar host code (the counter's increment) runs, with the
/// code it depends on, as a one-thread kernel.
static LogicalResult launchHostStores(Block &body) {
  SmallVector<memref::StoreOp> stores;
  for (auto store : body.getOps<memref::StoreOp>())
    stores.push_back(store);
  for (memref::StoreOp store : stores) {
    SetVector<Operation *> slice;
    if (failed(getScalarSlice(store.getOperation(), slice)))
      return failure();
    OpBuilder b(store);
    Value one = arith::ConstantIndexOp::create(b, store.getLoc(), 1);
    auto launchOp =
        gpu::LaunchOp::create(b, store.getLoc(), one, one, one, one, one, one);
    b.setInsertionPointToStart(&launchOp.getBody().front());
    IRMapping map;
    for (Operation *o : slice)
      b.clone(*o, map);
    b.clone(*store, map);
    gpu::TerminatorOp::create(b, store.getLoc());
    store.erase();
  }
  return success();
}

/// What is left of the host's scalar code is dead, or reads device memory
/// on the host: an error rather than a crash at run time.
static LogicalResult eraseHostScalarCode(Block &body) {
  for (Operation &o : llvm::make_early_inc_range(llvm::reverse(body))) {
    if (o.hasTrait<OpTrait::IsTerminator>() ||
        (!isa<memref::LoadOp>(o) &&
         !(isMemoryEffectFree(&o) && o.getNumRegions() == 0)))
      continue;
    if (o.use_empty()) {
      o.erase();
      continue;
    }
    if (isa<memref::LoadOp>(o))
      return o.emitError("the GPU lowering cannot keep this load on the "
                         "host (it reads device memory)");
  }
  return success();
}

/// Temporaries die at the return (no buffer is returned after
/// buffer-results-to-out-params).
static LogicalResult freeTemporaries(func::FuncOp func,
                                     ArrayRef<Value> deviceAllocs) {
  Operation *ret = func.getBody().front().getTerminator();
  OpBuilder b(ret);
  for (Value mem : deviceAllocs) {
    if (llvm::is_contained(ret->getOperands(), mem))
      return ret->emitError("GPU lowering expects buffers returned through "
                            "out-parameters (run "
                            "buffer-results-to-out-params first)");
    gpu::DeallocOp::create(b, ret->getLoc(), Type(), ValueRange{}, mem);
  }
  return success();
}

/// Puts the function's temporary buffers on the device and turns its copies
/// into device copies: after this, the host code only launches.
static LogicalResult moveBuffersToDevice(func::FuncOp func) {
  if (func.isExternal())
    return success();
  if (!func.getBody().hasOneBlock())
    return func.emitError("GPU lowering expects a function with one block "
                          "(straight-line host code)");
  SmallVector<Operation *> toErase;
  SmallVector<Value> deviceAllocs;
  WalkResult result = func.walk([&](Operation *o) -> WalkResult {
    if (o->getParentOfType<gpu::LaunchOp>())
      return WalkResult::advance();
    return placeOnDevice(o, toErase, deviceAllocs);
  });
  if (result.wasInterrupted())
    return failure();
  for (Operation *o : toErase)
    o->erase();
  Block &body = func.getBody().front();
  if (failed(moveScalarCodeIntoRegions(body)) ||
      failed(launchHostStores(body)) || failed(eraseHostScalarCode(body)))
    return failure();
  return freeTemporaries(func, deviceAllocs);
}

namespace {
struct NormHostBuffersToDevicePass
    : public normlir::impl::NormHostBuffersToDeviceBase<
          NormHostBuffersToDevicePass> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>())
      if (failed(moveBuffersToDevice(func)))
        return signalPassFailure();
  }
};
} // namespace
