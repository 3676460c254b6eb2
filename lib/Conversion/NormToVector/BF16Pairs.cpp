//===- BF16Pairs.cpp - bf16 rows applied in pairs -------------------------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// The interleaved bf16 apply of the vector lowering (VectorEmitter::pairs):
// on a CPU without bf16 conversions, 2 * vl bf16 elements are read and
// written as vl i32 lanes, each holding a pair, so that widening and
// rounding need no lane-crossing shuffle. The weight and bias are read
// deinterleaved.
//
//===----------------------------------------------------------------------===//

#include "VectorEmitter.h"

#include "normlir/Dialect/Norm/Utils/Target.h"
#include "normlir/Dialect/Norm/Utils/Utils.h"

using namespace mlir;
using namespace normlir;
using namespace normlir::norm;
using namespace normlir::normtovector;

using Run = KernelLayout::Run;

Value VectorEmitter::pairBits(uint32_t c) {
  auto bitsType = VectorType::get({vl}, b.getI32Type());
  return arith::ConstantOp::create(
      b, loc, bitsType,
      DenseElementsAttr::get(bitsType,
                             b.getI32IntegerAttr(static_cast<int32_t>(c))));
}

std::pair<Value, Value> VectorEmitter::loadPair(Value at) {
  auto bitsType = VectorType::get({vl}, b.getI32Type());
  auto pairType = VectorType::get({2 * vl}, b.getBF16Type());
  Value raw = vector::LoadOp::create(b, loc, pairType, x, ValueRange{at});
  Value bits = vector::BitCastOp::create(b, loc, bitsType, raw);
  // Little-endian: the even element of a pair is the lane's low half.
  return {arith::BitcastOp::create(
              b, loc, vf, arith::ShLIOp::create(b, loc, bits, pairBits(16))),
          arith::BitcastOp::create(
              b, loc, vf,
              arith::AndIOp::create(b, loc, bits, pairBits(0xffff0000u)))};
}

void VectorEmitter::applyPair(const RunApply &a, Value off, bool streaming) {
  auto pairType = VectorType::get({2 * vl}, b.getBF16Type());
  Value sixteen = pairBits(16), high = pairBits(0xffff0000u);
  auto [even, odd] = loadPair(iadd(a.base, off));
  Value halves[2] = {even, odd};
  Value rounded[2];
  for (int half = 0; half < 2; ++half) {
    Value wv, bv;
    if (!a.fold) {
      Value at = iadd(off, half * vl);
      wv = a.pw.mem ? loadRaw(wPairs, iadd(a.pw.base, at), Value()) : a.wConst;
      bv = a.pb.mem ? loadRaw(biasPairs, iadd(a.pb.base, at), Value())
                    : a.bConst;
    }
    rounded[half] =
        buildBF16RoundedBits(b, loc, applyMath(a, halves[half], wv, bv));
  }
  Value packed = arith::OrIOp::create(
      b, loc, arith::ShRUIOp::create(b, loc, rounded[0], sixteen),
      arith::AndIOp::create(b, loc, rounded[1], high));
  Value out = vector::BitCastOp::create(b, loc, pairType, packed);
  Value at = iadd(a.base, off);
  if (streaming) {
    // Two streaming stores of vl elements: they need y aligned to vl
    // elements, as the vector loop's, where one store of the pair would need
    // twice that, which buffers aligned to 16 bytes (malloc's) have for
    // half of the rows.
    for (int64_t half = 0; half < 2; ++half)
      vector::StoreOp::create(
          b, loc,
          vector::ExtractStridedSliceOp::create(b, loc, out, half * vl, vl, 1),
          y, ValueRange{iadd(at, half * vl)},
          /*nontemporal=*/true, llvm::MaybeAlign(2 * vl));
  } else
    vector::StoreOp::create(b, loc, out, y, ValueRange{at});
  if (a.ahead)
    prefetchAt({x}, iadd(a.ahead, off));
}

void VectorEmitter::preparePairs() {
  auto bf16 = [](Value mem) {
    return cast<MemRefType>(mem.getType()).getElementType().isBF16();
  };
  if (!bf16(x) || !bf16(y) || xInputs.size() != 1 ||
      !op.getPrologue().empty() || !op.getEpilogue().empty())
    return;
  auto cpu = dyn_cast_or_null<CPUTargetAttr>(lookupTargetAttr(op));
  if (cpu && cpu.getNativeBF16())
    return;
  // Parameters constant along each run are scalars; parameters read along
  // the runs must start at a block of the deinterleaved copy: one run per
  // row, the parameters along it alone (offset 0 at its start).
  bool alongRun = (w || bias) && l.r2iParamStride != 0;
  if (alongRun) {
    // (Parameters of a dynamic length are widened instead: the copy is
    // deinterleaved in blocks of a static count.)
    if (l.r2o != 1 || l.r2iParamStride != 1 ||
        llvm::any_of(ValueRange{w, bias}, [](Value mem) {
          return mem && !cast<MemRefType>(mem.getType()).hasStaticShape();
        }))
      return;
    for (Run run : {Run::P0, Run::R1, Run::P1})
      for (int64_t d : l.dims[run])
        if (l.paramStride[d] != 0)
          return;
  }
  pairs = true;
  if (alongRun) {
    if (w)
      wPairs = deinterleave(w);
    if (bias)
      biasPairs = deinterleave(bias);
  }
}

Value VectorEmitter::deinterleave(Value mem) {
  int64_t n = cast<MemRefType>(mem.getType()).getNumElements();
  int64_t pairLen = 2 * vl;
  Value out = memref::AllocOp::create(
      b, loc, MemRefType::get({n}, f32Type), ValueRange{},
      b.getI64IntegerAttr(std::max<int64_t>(vl * 4, 64)));
  SmallVector<int64_t> evens, odds;
  for (int64_t i = 0; i < vl; ++i) {
    evens.push_back(2 * i);
    odds.push_back(2 * i + 1);
  }
  forLoop(n / pairLen, [&](Value k) {
    Value at = imul(k, pairLen);
    Value lo = loadRaw(mem, at, Value()),
          hi = loadRaw(mem, iadd(at, vl), Value());
    storeWide(vector::ShuffleOp::create(b, loc, lo, hi, evens), out, at,
              Value());
    storeWide(vector::ShuffleOp::create(b, loc, lo, hi, odds), out,
              iadd(at, vl), Value());
  });
  return out;
}
