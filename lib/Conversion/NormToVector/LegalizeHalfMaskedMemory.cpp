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

/// Gives a load of f16/bf16 vectors the i16 vector type `i16` in place
/// (its pass-through value too, for a masked load), with a bitcast back for
/// its users.
void legalizeLoad(Operation *load, VectorType i16) {
  Value result = load->getResult(0);
  Type half = result.getType();
  OpBuilder b(load);
  if (auto masked = dyn_cast<LLVM::MaskedLoadOp>(load))
    if (Value passThru = masked.getPassThru())
      masked.getPassThruMutable().assign(
          LLVM::BitcastOp::create(b, load->getLoc(), i16, passThru));
  result.setType(i16);
  b.setInsertionPointAfter(load);
  Value back = LLVM::BitcastOp::create(b, load->getLoc(), half, result);
  result.replaceAllUsesExcept(back, back.getDefiningOp());
}

/// Stores the bits of an f16/bf16 vector as an i16 vector.
template <typename StoreOp> void legalizeStore(StoreOp store) {
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
    // Plain loads and stores too: a <N x bfloat> value in LLVM IR makes the
    // X86 backend without AVX-512 BF16 scalarize the conversions next to it
    // (a compare, a cmov and a 16-bit store per lane for f32 -> bf16), where
    // <N x i16> ones stay vector code.
    getOperation()->walk([](Operation *op) {
      if (isa<LLVM::MaskedLoadOp, LLVM::LoadOp>(op)) {
        if (VectorType i16 = asI16Vector(op->getResult(0).getType()))
          legalizeLoad(op, i16);
      } else if (auto store = dyn_cast<LLVM::MaskedStoreOp>(op)) {
        legalizeStore(store);
      } else if (auto store = dyn_cast<LLVM::StoreOp>(op)) {
        legalizeStore(store);
      }
    });
  }
};

} // namespace
