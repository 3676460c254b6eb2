//===- GradRow.cpp - norm.grad_kernel to threaded vector loops ------------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// The backward of a row norm (norm.grad_kernel), on the CPU. The rows are
// split into a fixed number of contiguous ranges (tasks, kGradRowTasks at most,
// whatever the number of threads), each a loop over its rows:
//   1. one pass over x and dy (from memory) for the four sums the backward
//      needs, about a shift (the row's first element), in f32 lanes over
//      blocks of 16 vectors and f64 across blocks: the forward statistics
//      and E[g], E[g * xhat] follow from them (g = dy * w);
//   2. dx = rstd * (g - E[g] - xhat * E[g * xhat]) stored, x and dy read
//      again (from cache), and dy * xhat and dy added into the task's
//      dweight and dbias partials; with the schedule's `prefetch`, the
//      same elements of the row that many rows ahead (in the range) are
//      prefetched meanwhile; with `nontemporal`, dx is streamed (its
//      aligned vectors stored around the cache).
// After the tasks, the partials are summed in task order: the parameter
// gradients are bitwise the same for any number of threads. The vector
// width is the module target's (#norm.cpu_target); whether the tasks run on
// threads and the statistics are read or recomputed, the kernel's
// #norm.grad_schedule.
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

class GradRowEmitter : public GradEmitterBase {
public:
  GradRowEmitter(OpBuilder &b, GradKernelOp op, int64_t vl)
      : GradEmitterBase(b, op.getLoc(), vl), op(op) {}

  void emit();

private:
  /// Row `row` of task `t`; `ahead`: the offset of the row to prefetch
  /// (null: none).
  void emitRow(Value row, Value t, Value ahead);

  GradKernelOp op;
  /// The task's dweight and dbias partials.
  Value pdw, pdb;
  int64_t n = 1;
  /// Rows ahead pass 2 prefetches (0: none).
  int64_t prefetch = op.getScheduleAttr().getPrefetch();
};

void GradRowEmitter::emit() {
  auto inType = cast<MemRefType>(op.getInput().getType());
  for (int64_t a : op.getAxes())
    n *= inType.getDimSize(a);
  int64_t rows = n == 0 ? 0 : inType.getNumElements() / n;
  bindBuffers(op);
  bool params = op.getOuts().size() == 3;
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
  int64_t chunk = (rows + kGradRowTasks - 1) / kGradRowTasks;
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
    // The prefetched row stays inside the range (and the buffers).
    Value last =
        prefetch > 0 ? arith::SubIOp::create(b, loc, hi, cI(1)) : Value();
    forLoop(lo, hi, {}, [&](Value row, ValueRange) {
      Value ahead;
      if (last)
        ahead =
            imul(arith::MinUIOp::create(b, loc, iadd(row, prefetch), last), n);
      emitRow(row, t, ahead);
      return SmallVector<Value>{};
    });
  };
  tasks(numTasks, op.getScheduleAttr().getParallel(), task);
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

void GradRowEmitter::emitRow(Value row, Value t, Value ahead) {
  Value base = imul(row, n);
  bool centered = op.getCentered();
  bool saved = bool(savedRstd);
  auto toD = [&](Value v) {
    return arith::ExtFOp::create(b, loc, b.getF64Type(), v).getResult();
  };
  auto cD = [&](double v) {
    return arith::ConstantOp::create(b, loc, b.getF64FloatAttr(v)).getResult();
  };
  // 1. One pass over x and dy for every sum, about the shift s (a centred
  //    norm: the saved mean, or the row's first element; 0 for RMSNorm),
  //    in f32 lanes within blocks and f64 lanes across them:
  //      Sdd = sum(d^2), Sgd = sum(g * d), Sd = sum(d), Sg = sum(g)
  //    with d = x - s and g = dy * w (Sdd not with a saved rstd). The shift
  //    keeps d near the row's spread whatever its mean: x - s is exact in
  //    f32 for x within a factor 2 of s, and the sums lose no accuracy to
  //    a large mean.
  Value shift;
  if (centered)
    shift = saved ? loadScalar(savedMean, row) : loadScalar(x, base);
  Value shiftV = shift ? splat(shift) : Value();
  auto dAt = [&](Value off, Value mask) {
    Value d = loadVec(x, iadd(base, off), mask);
    if (!shiftV)
      return d;
    d = fsub(d, shiftV);
    return mask ? select(mask, d, zeroV()) : d;
  };
  auto gAt = [&](Value off, Value mask, Value dyv) {
    return w ? fmul(dyv, loadVec(w, off, mask)) : dyv;
  };
  // With constant statistics (given, not the input's) dx = rstd * g: no
  // backward sums, and the given mean is the shift, uncorrected.
  Value rstd, meanG, meanGxhat, deltaV;
  if (op.getConstantStatistics()) {
    rstd = loadScalar(savedRstd, row);
  } else {
    enum { Sgd, Sdd, Sd, Sg };
    // Exact (f64) lanes about the row's first element; f32 blocks about
    // the saved mean or 0.
    SmallVector<Value> sums = shiftedSums(
        n, centered ? 4 : 2, /*exact=*/centered && !saved,
        [&](Value off, Value mask, ValueRange a) -> SmallVector<Value> {
          Value d = lanesOf(dAt(off, mask), a[0]);
          Value g =
              lanesOf(gAt(off, mask, loadVec(dy, iadd(base, off), mask)), a[0]);
          SmallVector<Value> next = {fma(g, d, a[Sgd]),
                                     saved ? a[Sdd] : fma(d, d, a[Sdd])};
          if (centered) {
            next.push_back(fadd(a[Sd], d));
            next.push_back(fadd(a[Sg], g));
          }
          return next;
        });
    // The statistics in f64: delta = E[d] (mean = s + delta), the variance
    // E[d^2] - delta^2 (d about a value of the row, so the difference keeps
    // f64 precision far below f32's), and sum(g * (x - mean)) = Sgd - delta
    // * Sg.
    Value nD = cD(double(n));
    Value sgd = sumLanes(sums[Sgd]);
    // Given statistics are used as given, but the input's own saved
    // statistics, whose mean is rounded, are refined (delta).
    Value delta, sg;
    if (centered)
      sg = sumLanes(sums[Sg]);
    if (centered && (!saved || op.getInputStatistics())) {
      delta = arith::DivFOp::create(b, loc, sumLanes(sums[Sd]), nD);
      sgd = arith::SubFOp::create(b, loc, sgd, fmul(delta, sg));
    }
    if (saved) {
      rstd = loadScalar(savedRstd, row);
    } else {
      Value var = arith::DivFOp::create(b, loc, sumLanes(sums[Sdd]), nD);
      if (centered)
        var = arith::MaximumFOp::create(
            b, loc, arith::SubFOp::create(b, loc, var, fmul(delta, delta)),
            cD(0.0));
      rstd = rstdOf(arith::TruncFOp::create(b, loc, f32Type, var),
                    op.getEpsilon().convertToDouble(), op.getZeroDegenerate());
    }
    auto meanOver = [&](Value s) {
      return splat(arith::TruncFOp::create(
          b, loc, f32Type, arith::DivFOp::create(b, loc, s, nD)));
    };
    meanG = centered ? meanOver(sg) : Value();
    meanGxhat = meanOver(fmul(sgd, toD(rstd)));
    // x - mean as (x - s) - delta: the mean split into s (exact) and delta.
    deltaV = delta ? splat(arith::TruncFOp::create(b, loc, f32Type, delta))
                   : Value();
  }
  Value rstdV = splat(rstd);
  auto xhatAt = [&](Value off, Value mask) {
    Value d = loadVec(x, iadd(base, off), mask);
    if (shiftV)
      d = fsub(d, shiftV);
    if (deltaV)
      d = fsub(d, deltaV);
    return fmul(d, rstdV);
  };
  // 2. dx (x and dy now from cache), and the task's parameter partials.
  dxVectors(base, n, [&](Value off, Value mask, bool aligned) {
    Value dyv = loadVec(dy, iadd(base, off), mask);
    Value xhat = xhatAt(off, mask);
    Value v = gAt(off, mask, dyv);
    if (meanG)
      v = fsub(v, meanG);
    if (meanGxhat)
      v = fsub(v, fmul(xhat, meanGxhat));
    storeDx(fmul(rstdV, v), iadd(base, off), mask, aligned);
    // Prefetches cannot fault; the row ahead is one of the range's. The
    // residual gradient, which only this pass reads, comes too.
    if (ahead)
      prefetchAt({x, dy, dres}, iadd(ahead, off));
    if (pdw) {
      Value i = iadd(imul(t, n), off);
      storeVec(fma(dyv, xhat, loadVec(pdw, i, mask)), pdw, i, mask);
      storeVec(fadd(dyv, loadVec(pdb, i, mask)), pdb, i, mask);
    }
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
  if (!op.getScheduleAttr())
    return op.emitError("has no #norm.grad_schedule; run "
                        "norm-select-schedule first");
  auto shape = cast<MemRefType>(op.getInput().getType()).getShape();
  std::string why;
  std::optional<GradForm> form =
      classifyGradKernel(shape, op.getAxes(), op.getWeightAxes(), &why);
  if (!form)
    return op.emitError() << "cannot vectorize this backward: " << why;
  rewriter.setInsertionPoint(op);
  // (C12), the half that depends on the form.
  if (*form == GradForm::Column && (op.getScheduleAttr().getPrefetch() != 0 ||
                                    op.getScheduleAttr().getNontemporal()))
    return op.emitError("a column-form backward (channels-last) neither "
                        "prefetches nor streams; its schedule must have "
                        "prefetch = 0 and nontemporal = false (C12)");
  if (*form == GradForm::Row)
    GradRowEmitter(rewriter, op, target.getVectorWidth()).emit();
  else
    emitGradChannelKernel(
        rewriter, op,
        *analyzeKernelLayout(shape, op.getAxes(), op.getWeightAxes()), *form,
        target.getVectorWidth(), target.getL2Cache());
  rewriter.eraseOp(op);
  return success();
}
