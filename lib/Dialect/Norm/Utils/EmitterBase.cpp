//===- EmitterBase.cpp - vector loops shared by the CPU emitters ----------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// The loops over runs of vectors that the forward (VectorEmitter) and the
// backward (GradEmitterBase) CPU lowerings both split for streaming stores:
// the forward's into y, the backward's into dx.
//
//===----------------------------------------------------------------------===//

#include "normlir/Dialect/Norm/Utils/EmitterBase.h"

using namespace mlir;
using namespace normlir::norm;

void EmitterBase::ifThenElse(Value cond, function_ref<void()> thenBody,
                             function_ref<void()> elseBody) {
  auto region = [&](function_ref<void()> body) {
    return [&, body](OpBuilder &nb, Location) {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
      body();
      scf::YieldOp::create(b, loc);
    };
  };
  if (elseBody)
    scf::IfOp::create(b, loc, cond, region(thenBody), region(elseBody));
  else
    scf::IfOp::create(b, loc, cond, region(thenBody));
}

void EmitterBase::maskedTail(Value tail, const Extent &n,
                             function_ref<void(Value)> body) {
  // Masked loads and stores cost several plain ones (AVX2's vmaskmovps):
  // skipped for the rows that have no tail, the usual case.
  Value any =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, tail, idx(n));
  ifThenElse(
      any, [&] { body(maskTo(arith::SubIOp::create(b, loc, idx(n), tail))); });
}

SmallVector<Value>
EmitterBase::maskedTail(Value tail, const Extent &n, ValueRange accs,
                        function_ref<SmallVector<Value>(Value)> body) {
  Value any =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, tail, idx(n));
  auto ifOp = scf::IfOp::create(
      b, loc, any,
      [&](OpBuilder &nb, Location) {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
        scf::YieldOp::create(
            b, loc, body(maskTo(arith::SubIOp::create(b, loc, idx(n), tail))));
      },
      [&](OpBuilder &nb, Location) { scf::YieldOp::create(nb, loc, accs); });
  return SmallVector<Value>(ifOp.getResults());
}

Value EmitterBase::streamHead(Value mem, Value start, const Extent &n) {
  Type elt = cast<MemRefType>(mem.getType()).getElementType();
  int64_t eb = elt.getIntOrFloatBitWidth() / 8, vbytes = vl * eb;
  Value addr = iadd(
      imul(start, eb),
      memref::ExtractAlignedPointerAsIndexOp::create(b, loc, mem).getResult());
  Value elemAligned = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                            irem(addr, eb), cI(0));
  Value toAlign =
      idiv(irem(arith::SubIOp::create(b, loc, cI(vbytes), irem(addr, vbytes)),
                vbytes),
           eb);
  return arith::MinUIOp::create(b, loc, select(elemAligned, toAlign, idx(n)),
                                idx(n));
}

void EmitterBase::streamLoop(const Extent &len, Value streamMem,
                             Value streamBase, VectorBody body) {
  // One scf.for over [lb, ub) whose vector i is at offsetOf(i), masked by
  // maskOf(offset) when given.
  auto run = [&](Value lb, Value ub, function_ref<Value(Value)> offsetOf,
                 function_ref<Value(Value)> maskOf, bool aligned) {
    forLoop(lb, ub, {}, [&](Value i, ValueRange) {
      Value off = offsetOf(i);
      body(off, maskOf ? maskOf(off) : Value(), aligned);
      return SmallVector<Value>{};
    });
  };
  auto sub = [&](Value a, Value c) -> Value {
    return arith::SubIOp::create(b, loc, a, c);
  };
  if (!streamMem && !len.isStatic()) {
    // Full vectors, then the masked tail where there is one.
    Value full = idiv(len.value, vl);
    run(cI(0), full, [&](Value i) { return imul(i, vl); }, nullptr, false);
    Value tail = imul(full, vl);
    maskedTail(tail, len, [&](Value mask) { body(tail, mask, false); });
    return;
  }
  if (!streamMem) {
    int64_t n = len.fixed;
    int64_t full = n / vl;
    if (full > 0)
      run(
          cI(0), cI(full), [&](Value i) { return imul(i, vl); }, nullptr,
          false);
    if (n % vl)
      body(cI(full * vl), tailMask(n % vl), false);
    return;
  }
  Value head = streamHead(streamMem, streamBase, len);
  // Head: masked vectors over [0, head).
  run(
      cI(0), idiv(iadd(head, vl - 1), vl), [&](Value i) { return imul(i, vl); },
      [&](Value off) { return maskTo(sub(head, off)); }, false);
  Value full = idiv(sub(idx(len), head), vl);
  run(
      cI(0), full, [&](Value i) { return iadd(head, imul(i, vl)); }, nullptr,
      true);
  Value tail = iadd(head, imul(full, vl));
  maskedTail(tail, len, [&](Value mask) { body(tail, mask, false); });
}

void EmitterBase::storeAt(Value v, Value mem, Value i, Value mask,
                          bool aligned) {
  if (mask)
    vector::MaskedStoreOp::create(b, loc, mem, ValueRange{i}, mask, v);
  else if (aligned)
    vector::StoreOp::create(b, loc, v, mem, ValueRange{i}, /*nontemporal=*/true,
                            llvm::MaybeAlign(vl *
                                             cast<MemRefType>(mem.getType())
                                                 .getElementType()
                                                 .getIntOrFloatBitWidth() /
                                             8));
  else
    vector::StoreOp::create(b, loc, v, mem, ValueRange{i});
}
