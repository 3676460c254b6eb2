//===- LegalizeHalfMaskedMemory.cpp - 16-bit float masked memory as i16 ---===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// `norm-legalize-half-masked-memory`: masked loads and stores of f16/bf16
// vectors become i16 ones (see the pass description for why).
//
//===----------------------------------------------------------------------===//

#include "normlir/Conversion/NormToVector/NormToVector.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"

namespace normlir {
#define GEN_PASS_DEF_NORMLEGALIZEHALFMASKEDMEMORY
#include "normlir/Conversion/Passes.h.inc"
} // namespace normlir

using namespace mlir;

namespace {

/// The i16 vector of the same shape as a vector of f16/bf16, else null.
VectorType asI16Vector(Type type) {
  auto vector = dyn_cast<VectorType>(type);
  if (!vector || !isa<Float16Type, BFloat16Type>(vector.getElementType()))
    return nullptr;
  return vector.clone(IntegerType::get(type.getContext(), 16));
}

void legalize(LLVM::MaskedLoadOp load) {
  VectorType i16 = asI16Vector(load.getType());
  if (!i16)
    return;
  OpBuilder b(load);
  Location loc = load.getLoc();
  Value passThru = load.getPassThru();
  if (passThru)
    passThru = LLVM::BitcastOp::create(b, loc, i16, passThru);
  auto wide = LLVM::MaskedLoadOp::create(
      b, loc, i16, load.getData(), load.getMask(), passThru,
      load.getAlignmentAttr(), load.getNontemporalAttr());
  Value back = LLVM::BitcastOp::create(b, loc, load.getType(), wide);
  load.getResult().replaceAllUsesWith(back);
  load.erase();
}

void legalize(LLVM::MaskedStoreOp store) {
  VectorType i16 = asI16Vector(store.getValue().getType());
  if (!i16)
    return;
  OpBuilder b(store);
  Value bits =
      LLVM::BitcastOp::create(b, store.getLoc(), i16, store.getValue());
  store.getValueMutable().assign(bits);
}

/// Plain loads and stores too: a <N x bfloat> value in LLVM IR makes the X86
/// backend without AVX-512 BF16 scalarize the conversions next to it (a
/// compare, a cmov and a 16-bit store per lane for f32 -> bf16), where
/// <N x i16> ones stay vector code.
void legalize(LLVM::LoadOp load) {
  VectorType i16 = asI16Vector(load.getType());
  if (!i16)
    return;
  OpBuilder b(load);
  Location loc = load.getLoc();
  auto wide = LLVM::LoadOp::create(
      b, loc, i16, load.getAddr(), load.getAlignment().value_or(0),
      load.getVolatile_(), load.getNontemporal(), load.getInvariant(),
      load.getInvariantGroup(), load.getOrdering());
  Value back = LLVM::BitcastOp::create(b, loc, load.getType(), wide);
  load.getResult().replaceAllUsesWith(back);
  load.erase();
}

void legalize(LLVM::StoreOp store) {
  VectorType i16 = asI16Vector(store.getValue().getType());
  if (!i16)
    return;
  OpBuilder b(store);
  Value bits =
      LLVM::BitcastOp::create(b, store.getLoc(), i16, store.getValue());
  store.getValueMutable().assign(bits);
}

struct NormLegalizeHalfMaskedMemoryPass
    : normlir::impl::NormLegalizeHalfMaskedMemoryBase<
          NormLegalizeHalfMaskedMemoryPass> {
  void runOnOperation() override {
    getOperation()->walk([](Operation *op) {
      if (auto load = dyn_cast<LLVM::MaskedLoadOp>(op))
        legalize(load);
      else if (auto store = dyn_cast<LLVM::MaskedStoreOp>(op))
        legalize(store);
      else if (auto load = dyn_cast<LLVM::LoadOp>(op))
        legalize(load);
      else if (auto store = dyn_cast<LLVM::StoreOp>(op))
        legalize(store);
    });
  }
};

} // namespace
