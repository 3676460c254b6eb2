//===- EmitterBase.h - shorthands shared by the kernel emitters -*- C++ -*-===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// What both lowerings of norm.kernel (convert-norm-to-vector,
// convert-norm-to-gpu) share: the index and f32 arithmetic they spell out op
// by op (constants, folds of the trivial cases x * 1, x / 1, x + 0, scalar
// memory access in f32) in EmitterBase; the kernel's flattened buffers, its
// layout and the prologue/epilogue around loads and stores in
// KernelEmitterBase; the checks of a kernel they can take, and how their
// passes apply the strategy patterns.
//
//===----------------------------------------------------------------------===//

#ifndef NORMLIR_DIALECT_NORM_UTILS_EMITTERBASE_H
#define NORMLIR_DIALECT_NORM_UTILS_EMITTERBASE_H

#include "normlir/Dialect/Norm/IR/Norm.h"
#include "normlir/Dialect/Norm/Utils/KernelLayout.h"
#include "normlir/Dialect/Norm/Utils/Statistics.h"
#include "normlir/Dialect/Norm/Utils/Utils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Rewrite/PatternApplicator.h"

#include <limits>
#include <optional>
#include <string>

namespace normlir::norm {

/// Builds at `b`'s insertion point; `vf` is the f32 vector of `vl` lanes the
/// emitter computes with.
class EmitterBase {
protected:
  EmitterBase(mlir::OpBuilder &b, mlir::Location loc, int64_t vl)
      : b(b), loc(loc), vl(vl), f32Type(b.getF32Type()),
        vf(mlir::VectorType::get({vl}, f32Type)) {}

  mlir::Value cI(int64_t v) {
    return mlir::arith::ConstantIndexOp::create(b, loc, v);
  }
  mlir::Value cF(double v) {
    return mlir::arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
  }
  mlir::Value zeroV() {
    return mlir::arith::ConstantOp::create(
        b, loc, mlir::DenseElementsAttr::get(vf, b.getF32FloatAttr(0.0)));
  }
  mlir::Value splat(mlir::Value s) {
    return mlir::vector::BroadcastOp::create(b, loc, vf, s);
  }
  /// a + c; a null operand stands for 0.
  mlir::Value iadd(mlir::Value a, mlir::Value c) {
    if (!a)
      return c;
    if (!c)
      return a;
    return mlir::arith::AddIOp::create(b, loc, a, c);
  }
  mlir::Value iadd(mlir::Value a, int64_t c) {
    return c == 0 ? a : iadd(a, cI(c));
  }
  /// `n` as an index value.
  mlir::Value idx(const Extent &n) {
    return n.isStatic() ? cI(n.fixed) : n.value;
  }
  /// `n` as an f32 (counts that divide sums).
  mlir::Value countF32(const Extent &n) {
    if (n.isStatic())
      return cF(double(n.fixed));
    return mlir::arith::UIToFPOp::create(
        b, loc, f32Type,
        mlir::arith::IndexCastUIOp::create(b, loc, b.getI64Type(), n.value));
  }
  mlir::Value imul(mlir::Value a, const Extent &c) {
    if (c.isStatic())
      return imul(a, c.fixed);
    return mlir::arith::MulIOp::create(b, loc, a, c.value);
  }
  /// a * c, static where both are.
  Extent emul(const Extent &a, const Extent &c) {
    if (a.isStatic() && c.isStatic())
      return Extent(a.fixed * c.fixed);
    return Extent(imul(idx(a), c));
  }
  mlir::Value idiv(mlir::Value a, const Extent &c) {
    if (c.isStatic())
      return idiv(a, c.fixed);
    return mlir::arith::DivUIOp::create(b, loc, a, c.value);
  }
  mlir::Value irem(mlir::Value a, const Extent &c) {
    if (c.isStatic())
      return irem(a, c.fixed);
    return mlir::arith::RemUIOp::create(b, loc, a, c.value);
  }
  mlir::Value imul(mlir::Value a, int64_t c) {
    return c == 1 ? a
                  : mlir::arith::MulIOp::create(b, loc, a, cI(c)).getResult();
  }
  mlir::Value idiv(mlir::Value a, int64_t c) {
    return c == 1 ? a
                  : mlir::arith::DivUIOp::create(b, loc, a, cI(c)).getResult();
  }
  mlir::Value irem(mlir::Value a, int64_t c) {
    return c == 1 ? cI(0)
                  : mlir::arith::RemUIOp::create(b, loc, a, cI(c)).getResult();
  }
  mlir::Value fadd(mlir::Value a, mlir::Value c) {
    return mlir::arith::AddFOp::create(b, loc, a, c);
  }
  mlir::Value fsub(mlir::Value a, mlir::Value c) {
    return mlir::arith::SubFOp::create(b, loc, a, c);
  }
  mlir::Value fmul(mlir::Value a, mlir::Value c) {
    return mlir::arith::MulFOp::create(b, loc, a, c);
  }
  mlir::Value fdiv(mlir::Value a, mlir::Value c) {
    return mlir::arith::DivFOp::create(b, loc, a, c);
  }
  mlir::Value fma(mlir::Value a, mlir::Value c, mlir::Value d) {
    return mlir::math::FmaOp::create(b, loc, a, c, d);
  }
  mlir::Value select(mlir::Value c, mlir::Value t, mlir::Value f) {
    return mlir::arith::SelectOp::create(b, loc, c, t, f);
  }
  /// |v| < inf, elementwise: false for NaN and +-inf.
  mlir::Value isFinite(mlir::Value v) {
    mlir::Value inf = cF(std::numeric_limits<float>::infinity());
    if (mlir::isa<mlir::VectorType>(v.getType()))
      inf = splat(inf);
    return mlir::arith::CmpFOp::create(b, loc, mlir::arith::CmpFPredicate::OLT,
                                       mlir::math::AbsFOp::create(b, loc, v),
                                       inf);
  }
  /// 1 / sqrt(var + eps), PyTorch's InvStd with `zeroDegenerate`
  /// (buildRstd).
  mlir::Value rstdOf(mlir::Value var, double eps, bool zeroDegenerate) {
    return buildRstd(b, loc, var, eps, zeroDegenerate);
  }
  /// scf.for lb..ub with iter args; `body` returns the yielded values.
  llvm::SmallVector<mlir::Value>
  forLoop(mlir::Value lb, mlir::Value ub, mlir::ValueRange inits,
          llvm::function_ref<llvm::SmallVector<mlir::Value>(mlir::Value,
                                                            mlir::ValueRange)>
              body) {
    auto forOp = mlir::scf::ForOp::create(
        b, loc, lb, ub, cI(1), inits,
        [&](mlir::OpBuilder &nb, mlir::Location, mlir::Value iv,
            mlir::ValueRange args) {
          mlir::OpBuilder::InsertionGuard guard(b);
          b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
          mlir::scf::YieldOp::create(b, loc, body(iv, args));
        });
    return llvm::SmallVector<mlir::Value>(forOp.getResults());
  }
  /// A buffer viewed as 1-D.
  mlir::Value flatten(mlir::Value mem) { return flattenMemRef(b, loc, mem); }
  /// mem[i], extended to f32.
  mlir::Value loadScalar(mlir::Value mem, mlir::Value i) {
    mlir::Value v =
        mlir::memref::LoadOp::create(b, loc, mem, mlir::ValueRange{i});
    return v.getType().isF32()
               ? v
               : mlir::arith::ExtFOp::create(b, loc, f32Type, v).getResult();
  }
  void storeScalar(mlir::Value v, mlir::Value mem, mlir::Value i) {
    mlir::memref::StoreOp::create(b, loc, v, mem, mlir::ValueRange{i});
  }
  /// Prefetches element `i` of each buffer of `mems` (null ones skipped)
  /// for reading into every cache level. Prefetches cannot fault, but the
  /// callers keep `i` inside the buffers.
  void prefetchAt(llvm::ArrayRef<mlir::Value> mems, mlir::Value i) {
    for (mlir::Value mem : mems)
      if (mem)
        mlir::memref::PrefetchOp::create(b, loc, mem, mlir::ValueRange{i},
                                         /*isWrite=*/false,
                                         /*localityHint=*/3,
                                         /*isDataCache=*/true);
  }
  /// A mask of the first `n` lanes of a vector.
  mlir::Value tailMask(int64_t n) {
    return mlir::vector::ConstantMaskOp::create(
        b, loc, mlir::VectorType::get({vl}, b.getI1Type()),
        llvm::ArrayRef<int64_t>{n});
  }
  /// A mask of the first `count` lanes, `count` known at run time.
  mlir::Value maskTo(mlir::Value count) {
    return mlir::vector::CreateMaskOp::create(
        b, loc, mlir::VectorType::get({vl}, b.getI1Type()),
        mlir::ValueRange{count});
  }
  /// An scf.if on `cond` (no results) whose regions `thenBody` and
  /// `elseBody` (optional) build at the builder.
  void ifThenElse(mlir::Value cond, llvm::function_ref<void()> thenBody,
                  llvm::function_ref<void()> elseBody = nullptr);
  /// `body(mask)` for the masked vector at `tail` of a run of `n`
  /// elements, where it has lanes (tail < n).
  void maskedTail(mlir::Value tail, const Extent &n,
                  llvm::function_ref<void(mlir::Value)> body);
  /// maskedTail for a body that updates `accs`: the updated values where
  /// the tail has lanes, else `accs` as they are.
  llvm::SmallVector<mlir::Value> maskedTail(
      mlir::Value tail, const Extent &n, mlir::ValueRange accs,
      llvm::function_ref<llvm::SmallVector<mlir::Value>(mlir::Value)> body);
  /// Elements of the 1-D buffer `mem` from element `start` up to the first
  /// one whose address is aligned to a vector (at most `n`; `n` where the
  /// buffer is not even aligned to its element size).
  mlir::Value streamHead(mlir::Value mem, mlir::Value start, const Extent &n);
  /// Body of a vector loop: gets the element offset, the mask (null for
  /// full vectors) and whether a streaming store at that offset is
  /// vector-aligned.
  using VectorBody = llvm::function_ref<void(mlir::Value, mlir::Value, bool)>;
  /// Vectors over [0, n); with `streamMem`, the loop is split for streaming
  /// stores to streamMem[streamBase + ...]: a masked head up to the first
  /// vector-aligned element, aligned full vectors, a masked tail where
  /// elements are left (a buffer not even aligned to its element size
  /// takes the masked path throughout).
  void streamLoop(const Extent &n, mlir::Value streamMem,
                  mlir::Value streamBase, VectorBody body);
  /// Stores `v` (in `mem`'s element type) at `i`: masked, streaming where
  /// the caller knows the address vector-aligned (`aligned`; streamLoop),
  /// else plain.
  void storeAt(mlir::Value v, mlir::Value mem, mlir::Value i, mlir::Value mask,
               bool aligned);
  /// `v` (f32, a scalar or a vector) extended to f64 of the same shape.
  mlir::Value toF64(mlir::Value v) {
    mlir::Type f64 = b.getF64Type();
    if (auto vt = mlir::dyn_cast<mlir::VectorType>(v.getType()))
      f64 = mlir::VectorType::get(vt.getShape(), f64);
    return mlir::arith::ExtFOp::create(b, loc, f64, v);
  }
  /// A vector of `vl` floats, extended to f32.
  mlir::Value toF32Vec(mlir::Value v) {
    return mlir::cast<mlir::VectorType>(v.getType()).getElementType().isF32()
               ? v
               : mlir::arith::ExtFOp::create(b, loc, vf, v).getResult();
  }
  /// The kernel's prologue applied to the vectors loaded from its inputs
  /// (x first), as f32.
  mlir::Value applyPrologue(KernelOp op, llvm::ArrayRef<mlir::Value> loaded) {
    return toF32Vec(applyRegionOnVectors(b, loc, op.getPrologue(), loaded, vl));
  }
  /// An f32 result vector as stored into a buffer of `elt`: through the
  /// kernel's epilogue for the output `y` (`isOutput`, when there is one),
  /// else rounded to `elt`.
  mlir::Value prepareStore(KernelOp op, mlir::Value v, mlir::Type elt,
                           bool isOutput) {
    if (isOutput && !op.getEpilogue().empty()) {
      mlir::Type norm = op.getNormalizedElementType();
      if (!norm.isF32())
        v = mlir::arith::TruncFOp::create(b, loc,
                                          mlir::VectorType::get({vl}, norm), v);
      return applyRegionOnVectors(b, loc, op.getEpilogue(), {v}, vl);
    }
    if (!elt.isF32())
      v = mlir::arith::TruncFOp::create(b, loc,
                                        mlir::VectorType::get({vl}, elt), v);
    return v;
  }

  mlir::OpBuilder &b;
  mlir::Location loc;
  int64_t vl;
  mlir::Type f32Type;
  mlir::VectorType vf;
};

/// Checks that `op` is bufferized into row-major buffers, which is what both
/// lowerings flatten to 1-D: every operand a memref with the identity
/// layout. With `diagnose`, a located error names what is wrong.
inline mlir::LogicalResult checkBufferizedKernel(KernelOp op, bool diagnose) {
  for (mlir::Value v : op->getOperands()) {
    auto type = mlir::dyn_cast<mlir::MemRefType>(v.getType());
    if (!type) {
      if (diagnose)
        return op.emitError("expects a bufferized kernel (memref operands)");
      return mlir::failure();
    }
    if (!type.getLayout().isIdentity()) {
      if (diagnose)
        return op.emitError()
               << "expects row-major contiguous buffers, got " << type;
      return mlir::failure();
    }
  }
  return mlir::success();
}

/// The [P0, R1, P1, R2] view of the input of a bufferized kernel
/// (analyzeKernelLayout), or std::nullopt with the reason in `why`.
inline std::optional<KernelLayout> getKernelLayout(KernelOp op,
                                                   std::string *why = nullptr) {
  auto inType = mlir::cast<mlir::MemRefType>(op.getInput().getType());
  return analyzeKernelLayout(inType.getShape(), op.getAxes(), op.getParamAxes(),
                             why);
}

/// A bufferized kernel a strategy pattern lowers: its schedule and layout.
template <typename ScheduleT> struct MatchedKernel {
  ScheduleT schedule;
  KernelLayout layout;
};

/// The kernel `op` when its schedule is a `ScheduleT` (#norm.schedule or
/// #norm.gpu_schedule) of `strategy`, bufferized into row-major buffers with
/// a layout; else std::nullopt, with the reason given to `rewriter`. The one
/// place each lowering dispatches on the strategy.
/// The kernel's layout when `op` has a ScheduleT of `strategy` and is
/// bufferized; else std::nullopt, declining (notifyMatchFailure). A kernel
/// with dynamic sizes that the strategy's lowering does not take
/// (`dynamicSizes` false) is a located error.
template <typename ScheduleT>
std::optional<MatchedKernel<ScheduleT>>
matchKernel(KernelOp op, Strategy strategy, mlir::PatternRewriter &rewriter,
            bool dynamicSizes = false) {
  auto schedule = mlir::dyn_cast_or_null<ScheduleT>(op.getScheduleAttr());
  if (!schedule || schedule.getStrategy() != strategy) {
    (void)rewriter.notifyMatchFailure(op, [&](mlir::Diagnostic &diag) {
      diag << "no #norm." << ScheduleT::getMnemonic() << " with strategy "
           << stringifyStrategy(strategy);
    });
    return std::nullopt;
  }
  // The pass diagnoses these before applying the patterns.
  if (mlir::failed(checkBufferizedKernel(op, /*diagnose=*/false))) {
    (void)rewriter.notifyMatchFailure(op, "not bufferized into row-major "
                                          "buffers");
    return std::nullopt;
  }
  std::optional<KernelLayout> layout = getKernelLayout(op);
  if (!layout) {
    (void)rewriter.notifyMatchFailure(op, "no [P0, R1, P1, R2] layout");
    return std::nullopt;
  }
  if (layout->hasDynamicSize() && !dynamicSizes) {
    op.emitError() << "the " << stringifyStrategy(strategy)
                   << " strategy does not take dynamic sizes yet, layout "
                   << layout->str();
    return std::nullopt;
  }
  return MatchedKernel<ScheduleT>{schedule, std::move(*layout)};
}

/// Lowers `op` with the first of `applicator`'s patterns that takes it, as
/// both lowering passes do, kernel by kernel: each pattern is applied once,
/// with no folding, dead-code elimination or revisiting of the new ops, so
/// the IR is exactly what the emitter builds. A pattern declines a kernel it
/// does not lower (notifyMatchFailure) and reports a located error when it
/// takes one whose schedule does not fit; a kernel every pattern declines is
/// reported here.
inline mlir::LogicalResult
applyKernelPatterns(KernelOp op, mlir::PatternApplicator &applicator,
                    mlir::PatternRewriter &rewriter) {
  struct DeclineCounter : mlir::RewriterBase::Listener {
    void
    notifyMatchFailure(mlir::Location,
                       llvm::function_ref<void(mlir::Diagnostic &)>) override {
      ++count;
    }
    unsigned count = 0;
  } declines;
  unsigned failures = 0;
  rewriter.setListener(&declines);
  mlir::LogicalResult result = applicator.matchAndRewrite(
      op, rewriter, /*canApply=*/{},
      /*onFailure=*/[&](const mlir::Pattern &) { ++failures; });
  rewriter.setListener(nullptr);
  if (mlir::succeeded(result))
    return mlir::success();
  if (failures == declines.count)
    op.emitError() << "no lowering for schedule " << op.getScheduleAttr();
  return mlir::failure();
}

/// The state both lowerings build one kernel from: the op, its layout, what
/// it computes, and its buffers viewed as 1-D.
class KernelEmitterBase : public EmitterBase {
protected:
  using Run = KernelLayout::Run;

  /// Flattens the kernel's buffers at `b`'s insertion point, in operand
  /// order (input, prologue inputs, weight, bias, mean, rstd, outs): the
  /// first ops of every lowering.
  KernelEmitterBase(mlir::OpBuilder &b, KernelOp op, const KernelLayout &layout,
                    int64_t vl)
      : EmitterBase(b, op.getLoc(), vl), op(op), l(layout),
        stats(op.computesStatistics()), centered(op.isCentered()) {
    x = flatten(op.getInput());
    xInputs.push_back(x);
    for (mlir::Value in : op.getExtraInputs())
      xInputs.push_back(flatten(in));
    w = flatten(op.getWeight());
    bias = flatten(op.getBias());
    inMean = flatten(op.getMean());
    inRstd = flatten(op.getRstd());
    for (mlir::Value o :
         op.getOuts().take_front(KernelOp::getNumOutsOf(op.getKind())))
      outs.push_back(flatten(o));
    y = outs[0];
    if (mlir::Value p = op.getPrologueResult())
      h = flatten(p);
  }

  /// Sets the runs' lengths (r2Len, ..., p1Len), read from the input where
  /// dynamic, at the builder's insertion point (the kernel's start, so that
  /// they dominate its loops).
  void initRunLengths() {
    llvm::ArrayRef<int64_t> r2 = l.dims[Run::R2];
    r2Len = runExtent(r2, l.size[Run::R2]);
    r2oLen = runExtent(r2.take_front(l.r2Split), l.r2o);
    r2iLen = runExtent(r2.drop_front(l.r2Split), l.r2i);
    p0Len = runExtent(l.dims[Run::P0], l.size[Run::P0]);
    r1Len = runExtent(l.dims[Run::R1], l.size[Run::R1]);
    p1Len = runExtent(l.dims[Run::P1], l.size[Run::P1]);
  }

  /// The product of the input's dimensions `dims`, whose static value is
  /// `size` (kDynamic: built from the input's sizes).
  Extent runExtent(llvm::ArrayRef<int64_t> dims, int64_t size) {
    if (!mlir::ShapedType::isDynamic(size))
      return Extent(size);
    return Extent(buildDimsProduct(b, loc, op.getInput(), dims));
  }

  /// The kernel's epsilon (0 for an apply-only kernel, which has none).
  double epsilon() {
    std::optional<llvm::APFloat> eps = op.getEpsilon();
    return eps ? eps->convertToDouble() : 0.0;
  }
  /// 1 / sqrt(var + eps) with the kernel's epsilon and degenerate-variance
  /// rule.
  mlir::Value rstdOf(mlir::Value var) {
    return EmitterBase::rstdOf(var, epsilon(), op.getZeroDegenerate());
  }
  /// The statistics core for this kernel on `target` (which must outlive
  /// it).
  StatisticsBuilder makeStatistics(ReductionTarget &target) {
    return StatisticsBuilder(b, loc, target, centered, epsilon(),
                             op.getZeroDegenerate());
  }
  /// Offset into the parameters contributed by `coord` in run `run` (null
  /// when `coord` is null or the run holds no parameter axis).
  mlir::Value runParamOffset(Run run, mlir::Value coord) {
    return buildRunParamOffset(b, loc, l, run, coord);
  }
  /// A vector of `mem` as f32, each buffer read by `loadRaw`; the input `x`
  /// is read as its prologue's inputs and goes through the prologue.
  mlir::Value loadF32(mlir::Value mem,
                      llvm::function_ref<mlir::Value(mlir::Value)> loadRaw) {
    if (mem == x && !op.getPrologue().empty()) {
      llvm::SmallVector<mlir::Value> args;
      for (mlir::Value in : xInputs)
        args.push_back(loadRaw(in));
      return applyPrologue(op, args);
    }
    return toF32Vec(loadRaw(mem));
  }

  KernelOp op;
  const KernelLayout &l;
  /// The kernel computes its statistics (else it reads them: apply-only).
  bool stats;
  /// Moments (mean and variance) rather than the mean square.
  bool centered;
  /// The input, the output (outs[0]), the parameters and the statistics
  /// read by an apply-only kernel, as 1-D buffers (null when absent).
  mlir::Value x, y, w, bias, inMean, inRstd;
  /// The prologue's inputs (x first).
  llvm::SmallVector<mlir::Value> xInputs;
  /// outs[0] (y) and the statistics outs.
  llvm::SmallVector<mlir::Value> outs;
  /// The prologue's value, written as the kernel reads it (C10), 1-D; null
  /// when the kernel has no such out.
  mlir::Value h;
  /// The lengths of a segment (R2) and of its parts R2o and R2i
  /// (initRunLengths).
  Extent r2Len = 1, r2oLen = 1, r2iLen = 1;
  /// The lengths of the other runs.
  Extent p0Len = 1, r1Len = 1, p1Len = 1;
  /// Segments (P0 x R1 x P1) and statistics (P0 x P1).
  Extent numSegmentsLen() { return emul(emul(p0Len, r1Len), p1Len); }
  Extent numStatsLen() { return emul(p0Len, p1Len); }
};

} // namespace normlir::norm

#endif // NORMLIR_DIALECT_NORM_UTILS_EMITTERBASE_H
