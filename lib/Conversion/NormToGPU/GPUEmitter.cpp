//===- GPUEmitter.cpp - machinery of the GPU lowering ---------------------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//

#include "GPUEmitter.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace normlir;
using namespace normlir::norm;
using namespace normlir::normtogpu;

using Run = KernelLayout::Run;

LogicalResult normtogpu::checkContiguousRuns(KernelOp op,
                                             const KernelLayout &layout,
                                             int64_t vl, int64_t run) {
  if (run % vl != 0 ||
      ((op.getWeight() || op.getBias()) && layout.size[Run::R2] % vl != 0))
    return op.emitError() << "gpu_schedule vectorWidth " << vl
                          << " does not divide the contiguous runs of "
                             "layout "
                          << layout.str();
  return success();
}

LogicalResult normtogpu::checkColumns(KernelOp op, const KernelLayout &layout,
                                      int64_t vl) {
  int64_t columns = layout.size[Run::P1] * layout.size[Run::R2];
  if (columns % vl != 0)
    return op.emitError() << "gpu_schedule vectorWidth " << vl
                          << " does not divide the " << columns
                          << " contiguous columns of layout " << layout.str();
  return success();
}

//===----------------------------------------------------------------------===//
// Small builders
//===----------------------------------------------------------------------===//

Value GPUEmitter::imin(Value a, Value c) {
  return arith::MinUIOp::create(b, loc, a, c);
}

Value GPUEmitter::ult(Value a, Value c) {
  return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, a, c);
}

Value GPUEmitter::ieq(Value a, int64_t c) {
  return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, a, cI(c));
}

Value GPUEmitter::ieq(Value a, const Extent &c) {
  if (c.isStatic())
    return ieq(a, c.fixed);
  return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, a, c.value);
}

Extent GPUEmitter::divE(const Extent &a, const Extent &c) {
  if (a.isStatic() && c.isStatic())
    return Extent(a.fixed / c.fixed);
  return Extent(arith::DivUIOp::create(b, loc, idx(a), idx(c)));
}

Extent GPUEmitter::ceilDivE(const Extent &a, const Extent &c) {
  if (a.isStatic() && c.isStatic())
    return Extent(ceilDiv(a.fixed, c.fixed));
  return Extent(arith::CeilDivUIOp::create(b, loc, idx(a), idx(c)));
}

Extent GPUEmitter::maxE(const Extent &a, const Extent &c) {
  if (a.isStatic() && c.isStatic())
    return Extent(std::max(a.fixed, c.fixed));
  return Extent(arith::MaxUIOp::create(b, loc, idx(a), idx(c)));
}

Extent GPUEmitter::minE(const Extent &a, const Extent &c) {
  if (a.isStatic() && c.isStatic())
    return Extent(std::min(a.fixed, c.fixed));
  return Extent(imin(idx(a), idx(c)));
}

Extent GPUEmitter::subE(const Extent &a, const Extent &c) {
  if (a.isStatic() && c.isStatic())
    return Extent(a.fixed - c.fixed);
  return Extent(arith::SubIOp::create(b, loc, idx(a), idx(c)));
}

Value GPUEmitter::zeroLike(Value like) {
  return isa<VectorType>(like.getType()) ? zeroV() : cF(0.0);
}

Value GPUEmitter::fgt0(Value v) {
  Value zero = zeroLike(v);
  return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, v, zero);
}

Value GPUTarget::sumLanes(OpBuilder &b, Location loc, Value v) {
  return vector::ReductionOp::create(b, loc, vector::CombiningKind::ADD, v);
}

Value GPUTarget::shuffleXor(OpBuilder &b, Location loc, Value v,
                            int64_t offset) {
  auto shuffle = [&](Value x) -> Value {
    return gpu::ShuffleOp::create(b, loc, x, int32_t(offset),
                                  int32_t(kWarpSize), gpu::ShuffleMode::XOR)
        .getShuffleResult();
  };
  if (v.getType().getIntOrFloatBitWidth() != 64)
    return shuffle(v);
  // A shuffle moves 32 bits: an f64 travels as its two halves.
  Type i32 = b.getI32Type(), i64 = b.getI64Type();
  Value bits = arith::BitcastOp::create(b, loc, i64, v);
  Value lo = arith::TruncIOp::create(b, loc, i32, bits);
  Value c32 = arith::ConstantIntOp::create(b, loc, i64, 32);
  Value hi = arith::TruncIOp::create(b, loc, i32,
                                     arith::ShRUIOp::create(b, loc, bits, c32));
  Value lo2 = arith::ExtUIOp::create(b, loc, i64, shuffle(lo));
  Value hi2 = arith::ShLIOp::create(
      b, loc, arith::ExtUIOp::create(b, loc, i64, shuffle(hi)), c32);
  return arith::BitcastOp::create(b, loc, v.getType(),
                                  arith::OrIOp::create(b, loc, hi2, lo2));
}

void GPUTarget::barrier(OpBuilder &b, Location loc) {
  gpu::BarrierOp::create(b, loc);
}

void GPUEmitter::ifThen(Value cond, function_ref<void()> body) {
  auto ifOp = scf::IfOp::create(b, loc, cond, /*withElseRegion=*/false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(ifOp.thenBlock());
  body();
}

Value GPUEmitter::ifElse(Value cond, Type type, function_ref<Value()> thenFn,
                         function_ref<Value()> elseFn) {
  auto ifOp = scf::IfOp::create(b, loc, TypeRange{type}, cond,
                                /*withElseRegion=*/true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(ifOp.thenBlock());
  scf::YieldOp::create(b, loc, thenFn());
  b.setInsertionPointToStart(ifOp.elseBlock());
  scf::YieldOp::create(b, loc, elseFn());
  return ifOp.getResult(0);
}

SmallVector<Value>
GPUEmitter::forLoop(Value lb, Value ub, const Extent &step, ValueRange inits,
                    function_ref<SmallVector<Value>(Value, ValueRange)> body) {
  auto loop = scf::ForOp::create(b, loc, lb, ub, idx(step), inits);
  OpBuilder::InsertionGuard guard(b);
  // Without iter args the builder already added the yield.
  if (inits.empty())
    b.setInsertionPoint(loop.getBody()->getTerminator());
  else
    b.setInsertionPointToStart(loop.getBody());
  SmallVector<Value> yields =
      body(loop.getInductionVar(), loop.getRegionIterArgs());
  if (!inits.empty())
    scf::YieldOp::create(b, loc, yields);
  return SmallVector<Value>(loop.getResults());
}

SmallVector<Value> GPUEmitter::unrolledRows(
    Value lb, Value ub, const Extent &step, int64_t unroll, ValueRange inits,
    function_ref<Value(Value)> load,
    function_ref<SmallVector<Value>(Value, Value, ValueRange)> use) {
  // Rows of the main loop: floor(count / unroll) * unroll of the
  // ceil((ub - lb) / step) rows, the empty range clamped to none.
  Value span =
      arith::SubIOp::create(b, loc, arith::MaxUIOp::create(b, loc, lb, ub), lb);
  Value count = step.isStatic()
                    ? idiv(iadd(span, step.fixed - 1), step.fixed)
                    : arith::CeilDivUIOp::create(b, loc, span, step.value);
  Value mainEnd = iadd(lb, imul(imul(idiv(count, unroll), unroll), step));
  SmallVector<Value> acc = forLoop(
      lb, mainEnd, emul(step, unroll), inits,
      [&](Value row, ValueRange a) -> SmallVector<Value> {
        SmallVector<Value> rows, loaded;
        for (int64_t u = 0; u < unroll; ++u) {
          rows.push_back(u == 0            ? row
                         : step.isStatic() ? iadd(row, u * step.fixed)
                                           : iadd(row, imul(step.value, u)));
          loaded.push_back(load(rows.back()));
        }
        SmallVector<Value> carried(a);
        for (int64_t u = 0; u < unroll; ++u)
          carried = use(rows[u], loaded[u], carried);
        return carried;
      });
  return forLoop(mainEnd, arith::MaxUIOp::create(b, loc, mainEnd, ub), step,
                 acc, [&](Value row, ValueRange a) -> SmallVector<Value> {
                   return use(row, load(row), a);
                 });
}

void GPUEmitter::launch(int64_t grid, int64_t block,
                        ArrayRef<int64_t> sharedSizes, LaunchBody body,
                        Type sharedType) {
  if (grid == 0)
    return;
  launch(cI(grid), block, sharedSizes, body, sharedType);
}

void GPUEmitter::launch(Value grid, int64_t block,
                        ArrayRef<int64_t> sharedSizes, LaunchBody body,
                        Type sharedType) {
  // A grid of 0 blocks is an invalid launch for the driver.
  std::optional<int64_t> fixed = getConstantIntValue(grid);
  if (fixed && *fixed == 0)
    return;
  if (fixed) {
    emitLaunch(grid, block, sharedSizes, body, sharedType);
    return;
  }
  ifThen(arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, grid, cI(0)),
         [&] { emitLaunch(grid, block, sharedSizes, body, sharedType); });
}

void GPUEmitter::emitLaunch(Value grid, int64_t block,
                            ArrayRef<int64_t> sharedSizes, LaunchBody body,
                            Type sharedType) {
  auto workgroup = gpu::AddressSpaceAttr::get(
      b.getContext(), gpu::GPUDialect::getWorkgroupAddressSpace());
  SmallVector<Type> sharedTypes;
  for (int64_t n : sharedSizes)
    sharedTypes.push_back(
        MemRefType::get({n}, sharedType ? sharedType : f32Type,
                        MemRefLayoutAttrInterface(), workgroup));
  Value one = cI(1);
  auto launchOp = gpu::LaunchOp::create(
      b, loc, grid, one, one, cI(block), one, one,
      /*dynamicSharedMemorySize=*/nullptr, /*asyncTokenType=*/nullptr,
      /*asyncDependencies=*/{}, sharedTypes);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&launchOp.getBody().front());
  body(launchOp.getBlockIds().x, launchOp.getThreadIds().x,
       launchOp.getWorkgroupAttributions());
  gpu::TerminatorOp::create(b, loc);
}

//===----------------------------------------------------------------------===//
// Memory
//===----------------------------------------------------------------------===//

llvm::MaybeAlign GPUEmitter::accessAlign(Type elt) {
  return llvm::MaybeAlign(
      std::min<int64_t>(vl * elt.getIntOrFloatBitWidth() / 8, 16));
}

Value GPUEmitter::loadRaw(Value mem, Value i) {
  Type elt = cast<MemRefType>(mem.getType()).getElementType();
  return vector::LoadOp::create(b, loc, VectorType::get({vl}, elt), mem,
                                ValueRange{i}, /*nontemporal=*/false,
                                accessAlign(elt));
}

void GPUEmitter::storeVec(Value v, Value mem, Value i) {
  Type elt = cast<MemRefType>(mem.getType()).getElementType();
  v = prepareStore(op, v, elt, mem == y);
  vector::StoreOp::create(b, loc, v, mem, ValueRange{i},
                          /*nontemporal=*/false, accessAlign(elt));
}

Value GPUEmitter::deviceAlloc(const Extent &n, Type elt) {
  elt = elt ? elt : f32Type;
  if (n.isStatic()) {
    auto type = MemRefType::get({std::max<int64_t>(n.fixed, 1)}, elt);
    return gpu::AllocOp::create(b, loc, type, Type(), ValueRange{},
                                ValueRange{}, ValueRange{}, false)
        .getMemref();
  }
  auto type = MemRefType::get({ShapedType::kDynamic}, elt);
  Value size = idx(maxE(n, 1));
  return gpu::AllocOp::create(b, loc, type, Type(), ValueRange{},
                              ValueRange{size}, ValueRange{}, false)
      .getMemref();
}

//===----------------------------------------------------------------------===//
// Parameters
//===----------------------------------------------------------------------===//

Value GPUEmitter::r2ParamOffset(Value r2c) {
  if (!r2c || !l.isDynamic(Run::R2))
    return runParamOffset(Run::R2, r2c);
  Value off;
  if (l.r2oParamStride != 0)
    off = imul(idiv(r2c, r2iLen), l.r2oParamStride);
  if (l.r2iParamStride != 0)
    off = iadd(off, imul(irem(r2c, r2iLen), l.r2iParamStride));
  return off;
}

std::pair<Value, Value> GPUEmitter::paramVectors(Value off) {
  off = off ? off : cI(0);
  auto one = [&](Value mem) -> Value {
    if (!mem)
      return {};
    if (paramsContiguous())
      return loadVec(mem, off);
    return splat(loadScalar(mem, off));
  };
  return {one(w), one(bias)};
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

void GPUEmitter::storeStats(Value g, Value mean, Value var) {
  storeStats(g, statistics.finalize(mean, var));
}

void GPUEmitter::storeStats(Value g, const norm::Statistics &s) {
  if (statMean)
    storeScalar(s.mean, statMean, g);
  if (statRstd)
    storeScalar(s.rstd, statRstd, g);
  statistics.store(s, ArrayRef<Value>(outs).drop_front(), g);
}
