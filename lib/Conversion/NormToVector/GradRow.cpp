//===- GradRow.cpp - norm.grad_kernel to threaded vector loops ------------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// The backward of a row norm (norm.grad_kernel), on the CPU. The rows are
// split into a fixed number of contiguous ranges (tasks, kGradTasks at most,
// whatever the number of threads), each a loop over its rows:
//   1. the forward statistics from x (two passes, f64 lanes), the row then
//      in cache;
//   2. E[g] and E[g * xhat] over the row (g = dy * w), dy read from memory;
//   3. dx = rstd * (g - E[g] - xhat * E[g * xhat]) stored, and dy * xhat and
//      dy added into the task's dweight and dbias partials.
// After the tasks, the partials are summed in task order: the parameter
// gradients are bitwise the same for any number of threads. The vector
// width is the module target's (#norm.cpu_target).
//
//===----------------------------------------------------------------------===//

#include "GradEmitter.h"
#include "VectorEmitter.h"

#include "normlir/Dialect/Norm/Utils/KernelLayout.h"
#include "normlir/Dialect/Norm/Utils/Target.h"
#include "normlir/Dialect/Norm/Utils/Utils.h"

#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace normlir;
using namespace normlir::norm;
using namespace normlir::normtovector;

namespace {

/// Row ranges of a backward kernel: the parameter partials are per range, so
/// the count is fixed (not the number of threads) to keep the results
/// independent of it; 16 keeps 16 threads busy.
constexpr int64_t kGradTasks = 16;

class GradRowEmitter : public GradEmitterBase {
public:
  GradRowEmitter(OpBuilder &b, GradKernelOp op, int64_t vl)
      : GradEmitterBase(b, op.getLoc(), vl), op(op) {}

  void emit();

private:
  /// The f64 sum of the lanes of `acc`, as an f32 mean over `n`.
  Value meanOf(Value acc, int64_t n) {
    Value m = arith::DivFOp::create(
        b, loc, sumLanes(acc),
        arith::ConstantOp::create(b, loc, b.getF64FloatAttr(double(n))));
    return arith::TruncFOp::create(b, loc, f32Type, m);
  }

  /// One row at `base` of task `t`.
  void emitRow(Value base, Value t);

  GradKernelOp op;
  Value x, dy, w, dx, dw, db, pdw, pdb;
  int64_t n = 1;
};

void GradRowEmitter::emit() {
  auto inType = cast<MemRefType>(op.getInput().getType());
  for (int64_t a : op.getAxes())
    n *= inType.getDimSize(a);
  int64_t rows = n == 0 ? 0 : inType.getNumElements() / n;
  x = flatten(op.getInput());
  dy = flatten(op.getGrad());
  w = op.getWeight() ? flatten(op.getWeight()) : Value();
  dx = flatten(op.getOuts()[0]);
  bool params = op.getOuts().size() == 3;
  if (params) {
    dw = flatten(op.getOuts()[1]);
    db = flatten(op.getOuts()[2]);
  }
  if (rows == 0) {
    // No row: the parameter gradients are sums of nothing.
    if (params)
      vectors(n, {}, [&](Value off, Value mask, ValueRange) {
        storeVec(zeroV(), dw, off, mask);
        storeVec(zeroV(), db, off, mask);
        return SmallVector<Value>{};
      });
    return;
  }
  int64_t chunk = (rows + kGradTasks - 1) / kGradTasks;
  int64_t numTasks = (rows + chunk - 1) / chunk;
  if (params) {
    auto partialType = MemRefType::get({numTasks * n}, f32Type);
    pdw = memref::AllocOp::create(b, loc, partialType, ValueRange{},
                                  b.getI64IntegerAttr(64));
    pdb = memref::AllocOp::create(b, loc, partialType, ValueRange{},
                                  b.getI64IntegerAttr(64));
  }
  auto task = [&](Value t) {
    Value lo = imul(t, chunk);
    Value hi = arith::MinUIOp::create(b, loc, iadd(lo, chunk), cI(rows));
    if (params)
      vectors(n, {}, [&](Value off, Value mask, ValueRange) {
        Value i = iadd(imul(t, n), off);
        storeVec(zeroV(), pdw, i, mask);
        storeVec(zeroV(), pdb, i, mask);
        return SmallVector<Value>{};
      });
    forLoop(lo, hi, {}, [&](Value row, ValueRange) {
      emitRow(imul(row, n), t);
      return SmallVector<Value>{};
    });
  };
  int64_t bytes =
      3 * inType.getNumElements() * (inType.getElementTypeBitWidth() / 8);
  tasks(numTasks, bytes >= kGradMinParallelBytes, task);
  if (!params)
    return;
  // The partials in task order.
  vectors(n, {}, [&](Value off, Value mask, ValueRange) {
    SmallVector<Value> sums =
        forLoop(cI(0), cI(numTasks), ValueRange{zeroV(), zeroV()},
                [&](Value t, ValueRange a) -> SmallVector<Value> {
                  Value i = iadd(imul(t, n), off);
                  return {fadd(a[0], loadVec(pdw, i, mask)),
                          fadd(a[1], loadVec(pdb, i, mask))};
                });
    storeVec(sums[0], dw, off, mask);
    storeVec(sums[1], db, off, mask);
    return SmallVector<Value>{};
  });
  // The partials are freed by the pipeline's buffer deallocation, which
  // runs after this lowering (and rejects a dealloc it did not place).
}

void GradRowEmitter::emitRow(Value base, Value t) {
  bool centered = op.getCentered();
  // 1. The forward statistics: mean, then the mean of squared deviations
  //    (about the mean, never E[x^2] - E[x]^2), in f64 lanes.
  Value mean, var;
  if (centered) {
    Value s = vectors(n, zeroD(), [&](Value off, Value mask, ValueRange a) {
                return SmallVector<Value>{
                    addWide(a[0], loadVec(x, iadd(base, off), mask))};
              }).front();
    mean = meanOf(s, n);
  }
  Value meanV = mean ? splat(mean) : Value();
  Value q = vectors(n, zeroD(), [&](Value off, Value mask, ValueRange a) {
              Value d = loadVec(x, iadd(base, off), mask);
              if (meanV) {
                d = fsub(d, meanV);
                if (mask)
                  d = select(mask, d, zeroV());
              }
              return SmallVector<Value>{addWide(a[0], fmul(d, d))};
            }).front();
  var = meanOf(q, n);
  Value rstd =
      rstdOf(var, op.getEpsilon().convertToDouble(), op.getZeroDegenerate());
  Value rstdV = splat(rstd);

  auto xhatAt = [&](Value off, Value mask) {
    Value d = loadVec(x, iadd(base, off), mask);
    if (meanV)
      d = fsub(d, meanV);
    return fmul(d, rstdV);
  };
  auto gAt = [&](Value off, Value mask, Value dyv) {
    return w ? fmul(dyv, loadVec(w, off, mask)) : dyv;
  };
  // 2. E[g] and E[g * xhat]; masked lanes have dy = 0, so g = 0.
  SmallVector<Value> sums = vectors(
      n, ValueRange{zeroD(), zeroD()},
      [&](Value off, Value mask, ValueRange a) -> SmallVector<Value> {
        Value g = gAt(off, mask, loadVec(dy, iadd(base, off), mask));
        return {addWide(a[0], g), addWide(a[1], fmul(g, xhatAt(off, mask)))};
      });
  Value meanG = centered ? splat(meanOf(sums[0], n)) : Value();
  Value meanGxhat = splat(meanOf(sums[1], n));
  // 3. dx, and the task's parameter partials.
  vectors(n, {}, [&](Value off, Value mask, ValueRange) {
    Value dyv = loadVec(dy, iadd(base, off), mask);
    Value xhat = xhatAt(off, mask);
    Value v = gAt(off, mask, dyv);
    if (meanG)
      v = fsub(v, meanG);
    v = fsub(v, fmul(xhat, meanGxhat));
    storeVec(fmul(rstdV, v), dx, iadd(base, off), mask);
    if (pdw) {
      Value i = iadd(imul(t, n), off);
      storeVec(fma(dyv, xhat, loadVec(pdw, i, mask)), pdw, i, mask);
      storeVec(fadd(dyv, loadVec(pdb, i, mask)), pdb, i, mask);
    }
    return SmallVector<Value>{};
  });
}

} // namespace

LogicalResult normtovector::LowerGradKernel::matchAndRewrite(
    GradKernelOp op, PatternRewriter &rewriter) const {
  for (Value v : op->getOperands()) {
    auto type = dyn_cast<MemRefType>(v.getType());
    if (!type || !type.getLayout().isIdentity())
      return op.emitError("expects a bufferized kernel (row-major memref "
                          "operands)");
  }
  auto target = dyn_cast_or_null<CPUTargetAttr>(lookupTargetAttr(op));
  if (!target)
    return op.emitError("expects the module's #norm.cpu_target (run "
                        "norm-attach-cpu-target)");
  auto shape = cast<MemRefType>(op.getInput().getType()).getShape();
  std::string why;
  std::optional<GradForm> form =
      classifyGradKernel(shape, op.getAxes(), op.getWeightAxes(), &why);
  if (!form)
    return op.emitError() << "cannot vectorize this backward: " << why;
  rewriter.setInsertionPoint(op);
  if (*form == GradForm::Row)
    GradRowEmitter(rewriter, op, target.getVectorWidth()).emit();
  else
    emitGradChannelKernel(
        rewriter, op,
        *analyzeKernelLayout(shape, op.getAxes(), op.getWeightAxes()), *form,
        target.getVectorWidth());
  rewriter.eraseOp(op);
  return success();
}
