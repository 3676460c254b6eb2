//===- Differentiate.cpp - backward functions of forward norm functions ---===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// `norm-differentiate`: reverse mode over the core form. A copy of the
// forward function is expanded (norm-expand), the values that depend on its
// arguments are marked active, and cotangents are propagated from the
// normalized outputs back to the arguments, op by op in reverse order. The
// only op that needs calculus is norm.apply, whose gradient is the core
// gradient ops (docs/design.md, "Gradients"); reshapes move cotangents back
// unchanged; elementwise linalg.generic ops of float arithmetic (a residual
// add, a cast, a scale) by the reverse of their scalar body; anything else
// on an active path is an error at that op. The recomputed forward ops that
// the gradients do not read are dead and removed; an elementwise result the
// forward returns (a residual stream) is taken as an argument where the
// gradients read it, rather than recomputed.
//
//===----------------------------------------------------------------------===//

#include "DifferentiateElementwise.h"

#include "normlir/Dialect/Norm/Transforms/Passes.h"
#include "normlir/Dialect/Norm/Utils/Utils.h"

#include "mlir/Analysis/SliceAnalysis.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/SmallBitVector.h"

namespace normlir::norm {
#define GEN_PASS_DEF_NORMDIFFERENTIATE
#include "normlir/Dialect/Norm/Transforms/Passes.h.inc"
} // namespace normlir::norm

using namespace mlir;
using namespace normlir;
using namespace normlir::norm;

namespace {

/// The statistics of a norm.apply when they are computed from its own input
/// (the forward differentiates through them): their axes, whether they are
/// centred, and their norm.rstd. None for statistics from elsewhere
/// (running statistics), which are constants of the forward.
struct InputStats {
  ArrayRef<int64_t> axes;
  bool centered;
  RstdOp rstd;
};

std::optional<InputStats> statsFromInput(ApplyOp apply) {
  auto rstd = apply.getRstd().getDefiningOp<RstdOp>();
  if (!rstd)
    return std::nullopt;
  Value var = rstd.getVariance();
  if (auto moments = var.getDefiningOp<MomentsOp>()) {
    if (var == moments.getVariance() &&
        moments.getInput() == apply.getInput() &&
        apply.getMean() == moments.getMean())
      return InputStats{moments.getAxes(), true, rstd};
    return std::nullopt;
  }
  if (auto ms = var.getDefiningOp<MeanSquareOp>())
    if (ms.getInput() == apply.getInput() && !apply.getMean())
      return InputStats{ms.getAxes(), false, rstd};
  return std::nullopt;
}

/// A normalized output: a norm.apply result or a named norm's first result,
/// possibly reshaped.
bool isNormalizedOutput(Value v) {
  while (Operation *def = v.getDefiningOp()) {
    if (isa<ApplyOp>(def))
      return true;
    if (isa<LayerNormOp, RMSNormOp, BatchNormOp, InstanceNormOp, GroupNormOp>(
            def))
      return v == def->getResult(0);
    if (!isa<tensor::CollapseShapeOp, tensor::ExpandShapeOp>(def))
      return false;
    v = def->getOperand(0);
  }
  return false;
}

/// The statistics a named norm computes from its input and returns as side
/// results (mean, null for RMSNorm; rstd), or none: BatchNorm eval and
/// InstanceNorm return none.
std::optional<std::pair<Value, Value>> sideStatistics(Operation *op) {
  if (auto ln = dyn_cast<LayerNormOp>(op))
    return std::make_pair(ln.getMean(), ln.getRstd());
  if (auto rms = dyn_cast<RMSNormOp>(op))
    return std::make_pair(Value(), rms.getRstd());
  if (auto gn = dyn_cast<GroupNormOp>(op))
    return std::make_pair(gn.getMean(), gn.getRstd());
  if (auto bn = dyn_cast<BatchNormOp>(op))
    if (bn.getTraining())
      return std::make_pair(bn.getSideResults()[0], bn.getSideResults()[1]);
  return std::nullopt;
}

/// `v` reshaped to the static `type` of as many elements (through 1-D).
Value reshapeTo(OpBuilder &b, Location loc, Value v, RankedTensorType type) {
  auto from = cast<RankedTensorType>(v.getType());
  if (from == type)
    return v;
  auto flatType =
      RankedTensorType::get({from.getNumElements()}, from.getElementType());
  auto all = [](int64_t rank) {
    ReassociationIndices group;
    for (int64_t i = 0; i < rank; ++i)
      group.push_back(i);
    return SmallVector<ReassociationIndices>{group};
  };
  if (from.getRank() != 1)
    v = tensor::CollapseShapeOp::create(b, loc, flatType, v,
                                        all(from.getRank()));
  if (type.getRank() != 1)
    v = tensor::ExpandShapeOp::create(b, loc, type, v, all(type.getRank()));
  return v;
}

/// The forward statistics a norm.apply's gradient reads in place of their
/// recomputation (mean null when not centred).
struct SavedStats {
  Value mean, rstd;
};

/// Records which norm.apply each named op expands to (its first
/// replacement value, seen through reshapes). The keys are the named ops'
/// addresses, kept only as identities (the ops are erased).
struct ExpansionListener : RewriterBase::Listener {
  void notifyOperationReplaced(Operation *op, ValueRange values) override {
    // Once: an op created later at the same address is not this one.
    if (!pending.erase(op) || values.empty())
      return;
    Value v = values.front();
    while (Operation *def = v.getDefiningOp()) {
      if (auto apply = dyn_cast<ApplyOp>(def)) {
        applyOf[op] = apply;
        return;
      }
      if (!isa<tensor::CollapseShapeOp, tensor::ExpandShapeOp>(def))
        return;
      v = def->getOperand(0);
    }
  }
  /// An erased apply (dead: only the norm's statistics were used) is
  /// forgotten, so that nothing refers to it or to a later op at its
  /// address.
  void notifyOperationErased(Operation *op) override {
    pending.erase(op);
    for (auto it = applyOf.begin(); it != applyOf.end();)
      if (it->second.getOperation() == op)
        applyOf.erase(it++);
      else
        ++it;
  }
  llvm::DenseSet<Operation *> pending;
  llvm::DenseMap<Operation *, ApplyOp> applyOf;
};

/// Reverse mode over one block: the cotangent of each active value.
class ReverseMode {
public:
  explicit ReverseMode(Block &body) : body(body) {
    for (Value arg : body.getArguments())
      active.insert(arg);
    // An op is active when it reads an active value, as an operand or from
    // inside one of its regions (which then makes it an error on a path).
    for (Operation &op : body) {
      bool reads =
          llvm::any_of(op.getOperands(),
                       [&](Value v) { return active.contains(v); }) ||
          op.walk([&](Operation *nested) {
              return llvm::any_of(nested->getOperands(),
                                  [&](Value v) { return active.contains(v); })
                         ? WalkResult::interrupt()
                         : WalkResult::advance();
            }).wasInterrupted();
      if (reads)
        active.insert(op.result_begin(), op.result_end());
    }
  }

  /// Adds `ct` to the cotangent of `v` (an elementwise f32 add, rounded
  /// once to v's element type, where v has several uses).
  void accumulate(OpBuilder &b, Location loc, Value v, Value ct) {
    auto [it, inserted] = cotangents.try_emplace(v, ct);
    if (inserted)
      return;
    auto type = cast<RankedTensorType>(v.getType());
    it->second = buildMap(b, loc, ValueRange{it->second, ct}, type,
                          [&](OpBuilder &nb, Location l, ValueRange a) {
                            Type f32 = nb.getF32Type();
                            Value s = arith::AddFOp::create(
                                nb, l, castFloat(nb, l, a[0], f32),
                                castFloat(nb, l, a[1], f32));
                            return castFloat(nb, l, s, type.getElementType());
                          });
  }

  /// Propagates the cotangents of the block's ops (but the terminator) to
  /// their operands, in reverse order; new ops go before the terminator.
  LogicalResult run(OpBuilder &b) {
    SmallVector<Operation *> ops;
    for (Operation &op : body.without_terminator())
      ops.push_back(&op);
    for (Operation *op : llvm::reverse(ops)) {
      if (llvm::none_of(op->getResults(), [&](Value r) {
            return cotangents.contains(r) && active.contains(r);
          }))
        continue;
      if (failed(propagate(op, b)))
        return failure();
    }
    return success();
  }

  Value cotangent(Value v) const { return cotangents.lookup(v); }

  /// Whether `v` depends on the arguments only through ops the reverse
  /// mode differentiates (norm.apply's input and parameters, reshapes,
  /// differentiable elementwise ops): a returned value that does gets a
  /// cotangent. Others (statistics, running-statistics updates, a relu
  /// mask) are not differentiated outputs, as before.
  bool isDifferentiable(Value v) {
    if (!active.contains(v) || isa<BlockArgument>(v))
      return true;
    auto [it, inserted] = differentiable.try_emplace(v, false);
    if (!inserted)
      return it->second;
    Operation *def = v.getDefiningOp();
    bool ok = false;
    if (auto apply = dyn_cast<ApplyOp>(def))
      ok = llvm::all_of(
          ValueRange{apply.getInput(), apply.getWeight(), apply.getBias()},
          [&](Value u) { return !u || isDifferentiable(u); });
    else if (isa<tensor::CollapseShapeOp, tensor::ExpandShapeOp>(def))
      ok = isDifferentiable(def->getOperand(0));
    else if (auto g = dyn_cast<linalg::GenericOp>(def))
      ok = isDifferentiableElementwise(g) && !capturesActive(g) &&
           llvm::all_of(g.getDpsInputs(),
                        [&](Value u) { return isDifferentiable(u); });
    differentiable[v] = ok;
    return ok;
  }

  /// The gradient of `apply` reads `stats` (the forward's saved statistics)
  /// instead of the recomputed ones.
  void useSaved(ApplyOp apply, SavedStats stats) { saved[apply] = stats; }

private:
  /// Whether `g`'s body reads an active value from outside (a scalar
  /// extracted from an argument): its derivative would be missed.
  bool capturesActive(linalg::GenericOp g) const {
    return g.getRegion()
        .walk([&](Operation *op) {
          for (Value v : op->getOperands())
            if (!g.getRegion().isAncestor(v.getParentRegion()) &&
                active.contains(v))
              return WalkResult::interrupt();
          return WalkResult::advance();
        })
        .wasInterrupted();
  }

  LogicalResult propagate(Operation *op, OpBuilder &b) {
    Location loc = op->getLoc();
    if (auto collapse = dyn_cast<tensor::CollapseShapeOp>(op)) {
      Value ct = tensor::ExpandShapeOp::create(
          b, loc, collapse.getSrcType(), cotangent(collapse.getResult()),
          collapse.getReassociationIndices());
      accumulate(b, loc, collapse.getSrc(), ct);
      return success();
    }
    if (auto expand = dyn_cast<tensor::ExpandShapeOp>(op)) {
      Value ct = tensor::CollapseShapeOp::create(
          b, loc, expand.getSrcType(), cotangent(expand.getResult()),
          expand.getReassociationIndices());
      accumulate(b, loc, expand.getSrc(), ct);
      return success();
    }
    if (auto apply = dyn_cast<ApplyOp>(op))
      return propagateApply(apply, b);
    if (auto g = dyn_cast<linalg::GenericOp>(op);
        g && isDifferentiableElementwise(g)) {
      if (capturesActive(g))
        return g.emitOpError(
            "norm-differentiate: the body reads a value that depends on an "
            "argument from outside the op; pass it as an input instead");
      return propagateElementwise(g, b);
    }
    return op->emitOpError()
           << "norm-differentiate: cannot differentiate through this op (it "
              "lies between an argument and a differentiated output; only "
              "norm ops, reshapes and elementwise linalg.generic ops of "
              "arith.addf/subf/negf/mulf/divf/extf/truncf can)";
  }

  /// ct_i = ct * d(out)/d(in_i) for each active input of an elementwise
  /// op (reverseElementwise).
  LogicalResult propagateElementwise(linalg::GenericOp g, OpBuilder &b) {
    Value ct = cotangent(g.getResult(0));
    for (unsigned i = 0, e = g.getNumDpsInputs(); i < e; ++i) {
      Value in = g.getDpsInputs()[i];
      if (active.contains(in))
        accumulate(b, g.getLoc(), in, reverseElementwise(b, g, i, ct));
    }
    return success();
  }

  /// dx through the statistics when they come from x (grad_moments, then
  /// apply_grad), else dx = rstd * g; dweight and dbias by param_grad.
  LogicalResult propagateApply(ApplyOp apply, OpBuilder &b) {
    Location loc = apply.getLoc();
    Value x = apply.getInput(), dy = cotangent(apply.getResult());
    Value mean = apply.getMean(), rstd = apply.getRstd();
    Value w = apply.getWeight(), bias = apply.getBias();
    ArrayRef<int64_t> wAxes = w ? apply.getParamAxes() : ArrayRef<int64_t>();
    std::optional<InputStats> stats = statsFromInput(apply);
    if (auto it = saved.find(apply); stats && it != saved.end()) {
      mean = it->second.mean;
      rstd = it->second.rstd;
    }
    if (active.contains(x)) {
      Value meanG, meanGxhat, xMean;
      if (stats) {
        auto statType = cast<RankedTensorType>(rstd.getType());
        // Saved statistics keep how the forward computed them, so that a
        // fused kernel may recompute them instead (#norm.grad_schedule).
        bool isSaved = saved.contains(apply);
        auto moments = GradMomentsOp::create(
            b, loc, statType, statType, x, dy, mean, rstd, w, stats->axes,
            wAxes, /*input_statistics=*/isSaved,
            isSaved ? stats->rstd.getEpsilonAttr() : FloatAttr(),
            isSaved && stats->rstd.getZeroDegenerate());
        if (stats->centered)
          meanG = moments.getMeanG();
        meanGxhat = moments.getMeanGxhat();
        xMean = mean;
      }
      Value dx = ApplyGradOp::create(b, loc, x.getType(), x, dy, xMean, rstd, w,
                                     meanG, meanGxhat, wAxes);
      accumulate(b, loc, x, dx);
    } else if (stats && active.contains(rstd)) {
      // Unreachable from norm-expand's forms: statistics of an inactive
      // input are inactive. Kept as an error rather than a wrong gradient.
      return apply.emitOpError(
          "norm-differentiate: statistics depend on an argument but the "
          "normalized input does not");
    }
    bool wActive = w && active.contains(w);
    bool bActive = bias && active.contains(bias);
    auto paramGrad = [&](Type type) {
      return ParamGradOp::create(b, loc, type, type, x, dy, mean, rstd,
                                 apply.getParamAxes());
    };
    if (wActive && bActive && w.getType() == bias.getType()) {
      ParamGradOp grads = paramGrad(w.getType());
      accumulate(b, loc, w, grads.getWeightGrad());
      accumulate(b, loc, bias, grads.getBiasGrad());
      return success();
    }
    if (wActive)
      accumulate(b, loc, w, paramGrad(w.getType()).getWeightGrad());
    if (bActive)
      accumulate(b, loc, bias, paramGrad(bias.getType()).getBiasGrad());
    return success();
  }

  Block &body;
  llvm::DenseSet<Value> active;
  llvm::DenseMap<Value, bool> differentiable;
  llvm::DenseMap<Value, Value> cotangents;
  llvm::DenseMap<Operation *, SavedStats> saved;
};

bool hasNormOps(func::FuncOp fn) {
  return fn
      .walk([](Operation *op) {
        return isa<NormDialect>(op->getDialect()) ? WalkResult::interrupt()
                                                  : WalkResult::advance();
      })
      .wasInterrupted();
}

struct NormDifferentiatePass
    : public normlir::norm::impl::NormDifferentiateBase<NormDifferentiatePass> {
  using NormDifferentiateBase::NormDifferentiateBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    for (const std::string &name : functions)
      if (!symbols.lookup<func::FuncOp>(name)) {
        module.emitError() << "norm-differentiate: no function @" << name;
        return signalPassFailure();
      }
    // By default the pass is idempotent: a function that has a backward
    // function already, or none to have (no normalized output), is skipped.
    llvm::DenseSet<StringRef> differentiated;
    for (auto fn : module.getOps<func::FuncOp>())
      if (auto of = fn->getAttrOfType<FlatSymbolRefAttr>(
              NormDialect::kGradientOfAttrName))
        differentiated.insert(of.getValue());
    SmallVector<func::FuncOp> targets;
    for (auto fn : module.getOps<func::FuncOp>()) {
      if (!functions.empty()) {
        if (!llvm::is_contained(functions, fn.getSymName()))
          continue;
        if (fn.isExternal()) {
          fn.emitOpError("norm-differentiate: a declaration has no body to "
                         "differentiate");
          return signalPassFailure();
        }
        targets.push_back(fn);
        continue;
      }
      if (fn.isExternal() || fn->hasAttr(NormDialect::kGradientOfAttrName) ||
          differentiated.contains(fn.getSymName()) || !hasNormOps(fn) ||
          !fn.getBody().hasOneBlock())
        continue;
      auto ret = dyn_cast<func::ReturnOp>(fn.front().getTerminator());
      if (ret && llvm::any_of(ret.getOperands(), isNormalizedOutput))
        targets.push_back(fn);
    }
    for (func::FuncOp fn : targets) {
      // The gradient ops are static (their ODS types).
      auto isDynamic = [](Type t) {
        auto shaped = dyn_cast<ShapedType>(t);
        return shaped && !shaped.hasStaticShape();
      };
      if (llvm::any_of(fn.getArgumentTypes(), isDynamic) ||
          llvm::any_of(fn.getResultTypes(), isDynamic)) {
        fn.emitOpError("norm-differentiate: a function with dynamic "
                       "dimensions has no backward yet (the gradient ops "
                       "are static)");
        return signalPassFailure();
      }
      if (failed(differentiate(fn, symbols)))
        return signalPassFailure();
    }
  }

  LogicalResult differentiate(func::FuncOp fn, SymbolTable &symbols) {
    std::string name = (fn.getSymName() + suffix).str();
    if (symbols.lookup(name))
      return fn.emitOpError()
             << "norm-differentiate: @" << name << " exists already";
    if (!fn.getBody().hasOneBlock())
      return fn.emitOpError(
          "norm-differentiate: expects a function of one block");
    // `norm.wrt` on a forward function: the arguments to differentiate
    // with respect to (ascending, distinct, in range).
    std::optional<ArrayRef<int64_t>> requested;
    if (auto attr =
            fn->getAttrOfType<DenseI64ArrayAttr>(NormDialect::kWrtAttrName)) {
      ArrayRef<int64_t> r = attr.asArrayRef();
      for (auto [k, i] : llvm::enumerate(r))
        if (i < 0 || i >= int64_t(fn.getNumArguments()) ||
            (k > 0 && i <= r[k - 1]))
          return fn.emitOpError()
                 << "norm-differentiate: " << NormDialect::kWrtAttrName
                 << " must list argument indices in [0, "
                 << fn.getNumArguments() << "), ascending and distinct";
      requested = r;
    }
    // Built detached, inserted into the module once complete.
    auto bwd = cast<func::FuncOp>(fn->clone());
    bwd.setSymName(name);
    // Its arguments and results are not the forward's.
    bwd.removeArgAttrsAttr();
    bwd.removeResAttrsAttr();
    llvm::scope_exit erase([&] {
      if (bwd)
        bwd.erase();
    });

    // The statistics the forward returns (a named op's side results, as
    // they are): its backward reads them instead of recomputing them
    // (unless recompute-statistics), a centred norm's only when both its
    // mean and its rstd are returned.
    Block &body = bwd.front();
    auto ret = cast<func::ReturnOp>(body.getTerminator());
    struct Returned {
      Operation *op;
      int64_t mean, rstd; // Result indices of the function; -1: none.
    };
    SmallVector<Returned> returned;
    ExpansionListener listener;
    if (!recomputeStatistics)
      for (Operation &op : body.without_terminator()) {
        std::optional<std::pair<Value, Value>> stats = sideStatistics(&op);
        if (!stats)
          continue;
        auto indexOf = [&](Value v) -> int64_t {
          if (!v)
            return -1;
          for (auto [j, r] : llvm::enumerate(ret.getOperands()))
            if (r == v)
              return int64_t(j);
          return -1;
        };
        int64_t m = indexOf(stats->first), r = indexOf(stats->second);
        if (r < 0 || (stats->first && m < 0))
          continue;
        returned.push_back({&op, m, r});
        listener.pending.insert(&op);
      }

    // The function's own elementwise results (not the ones norm-expand
    // builds for a named op's statistics).
    llvm::SmallBitVector elementwiseResult(ret.getNumOperands());
    for (auto [j, v] : llvm::enumerate(ret.getOperands()))
      elementwiseResult[j] = bool(v.getDefiningOp<linalg::GenericOp>());

    // The core form.
    MLIRContext *ctx = fn.getContext();
    {
      RewritePatternSet patterns(ctx);
      populateNormExpandPatterns(patterns);
      if (failed(applyPatternsGreedily(
              bwd, std::move(patterns),
              GreedyRewriteConfig().setListener(&listener))))
        return fn.emitOpError("norm-differentiate: norm-expand did not "
                              "converge");
    }
    ret = cast<func::ReturnOp>(body.getTerminator());
    unsigned numArgs = body.getNumArguments();
    ReverseMode reverse(body);
    // The differentiated outputs: the normalized ones and the elementwise
    // results that depend on an argument (a residual stream h = x + r
    // returned beside norm(h), an epilogue).
    SmallVector<int64_t> cotangentOf;
    for (auto [j, v] : llvm::enumerate(ret.getOperands()))
      if (isNormalizedOutput(v) ||
          (elementwiseResult[j] && reverse.isDifferentiable(v)))
        cotangentOf.push_back(int64_t(j));
    if (cotangentOf.empty())
      return fn.emitOpError("norm-differentiate: no result is a normalized "
                            "output (a norm op's first result) or an "
                            "elementwise result of an argument");

    // The saved statistics' arguments, in the order of @f's results,
    // reshaped to the core form's shapes at the top of the body.
    SmallVector<int64_t> savedOf;
    {
      struct Arg {
        int64_t result;
        ApplyOp apply;
        bool isMean;
      };
      SmallVector<Arg> args;
      for (const Returned &r : returned) {
        ApplyOp apply = listener.applyOf.lookup(r.op);
        if (!apply || !statsFromInput(apply) ||
            bool(apply.getMean()) != (r.mean >= 0))
          continue;
        if (r.mean >= 0)
          args.push_back({r.mean, apply, true});
        args.push_back({r.rstd, apply, false});
      }
      llvm::stable_sort(
          args, [](const Arg &a, const Arg &b) { return a.result < b.result; });
      OpBuilder top = OpBuilder::atBlockBegin(&body);
      llvm::DenseMap<Operation *, SavedStats> stats;
      for (Arg &a : args) {
        Value v = ret.getOperand(a.result);
        Value like = a.isMean ? a.apply.getMean() : a.apply.getRstd();
        Value arg = reshapeTo(top, v.getLoc(),
                              body.addArgument(v.getType(), v.getLoc()),
                              cast<RankedTensorType>(like.getType()));
        savedOf.push_back(a.result);
        (a.isMean ? stats[a.apply].mean : stats[a.apply].rstd) = arg;
      }
      for (auto &[apply, saved] : stats)
        reverse.useSaved(cast<ApplyOp>(apply), saved);
    }
    OpBuilder b(ret);
    for (int64_t j : cotangentOf) {
      Value v = ret.getOperand(j);
      reverse.accumulate(b, ret.getLoc(), v,
                         body.addArgument(v.getType(), v.getLoc()));
    }
    if (failed(reverse.run(b)))
      return failure();

    // The gradients: of the arguments `norm.wrt` on @f asks for (each must
    // have one), else of every argument that has one.
    SmallVector<Value> grads;
    SmallVector<int64_t> wrt;
    SmallVector<int64_t> candidates =
        requested ? SmallVector<int64_t>(*requested)
                  : llvm::to_vector(llvm::seq<int64_t>(0, numArgs));
    for (int64_t i : candidates) {
      Value ct = reverse.cotangent(body.getArgument(i));
      if (!ct && requested)
        return fn.emitOpError() << "norm-differentiate: argument #" << i
                                << " (in " << NormDialect::kWrtAttrName
                                << ") does not reach a differentiated output";
      if (!ct)
        continue;
      grads.push_back(ct);
      wrt.push_back(i);
    }
    if (grads.empty())
      return fn.emitOpError("norm-differentiate: no argument reaches a "
                            "normalized output");
    // An elementwise result the forward returns and the gradients read is
    // taken as an argument (in result order among the saved ones), so that
    // its recomputation is dead: the gradients read a residual stream h
    // once instead of recomputing x + r.
    {
      // The ops the gradients read, values captured by regions included.
      SetVector<Operation *> live;
      BackwardSliceOptions slice;
      slice.inclusive = true;
      slice.omitUsesFromAbove = false;
      for (Value v : grads)
        if (Operation *def = v.getDefiningOp())
          (void)getBackwardSlice(def, &live, slice);
      llvm::DenseSet<Value> taken;
      for (auto [j, v] : llvm::enumerate(ret.getOperands())) {
        auto g = v.getDefiningOp<linalg::GenericOp>();
        if (!elementwiseResult[j] || !g || !live.contains(g) ||
            llvm::is_contained(savedOf, j) || !taken.insert(v).second)
          continue;
        auto pos = llvm::lower_bound(savedOf, int64_t(j));
        unsigned index = numArgs + unsigned(pos - savedOf.begin());
        savedOf.insert(pos, int64_t(j));
        Value arg = body.insertArgument(index, v.getType(), v.getLoc());
        v.replaceAllUsesExcept(arg, ret);
      }
    }
    func::ReturnOp::create(b, ret.getLoc(), grads);
    ret.erase();
    bwd.setFunctionType(FunctionType::get(ctx, body.getArgumentTypes(),
                                          ValueRange(grads).getTypes()));
    bwd->setAttr(NormDialect::kGradientOfAttrName, FlatSymbolRefAttr::get(fn));
    bwd->setAttr(NormDialect::kWrtAttrName, DenseI64ArrayAttr::get(ctx, wrt));
    bwd->setAttr(NormDialect::kCotangentsAttrName,
                 DenseI64ArrayAttr::get(ctx, cotangentOf));
    if (!savedOf.empty())
      bwd->setAttr(NormDialect::kSavedAttrName,
                   DenseI64ArrayAttr::get(ctx, savedOf));
    // The recomputed forward ops the gradients do not read are dead.
    if (failed(applyPatternsGreedily(bwd, RewritePatternSet(ctx))))
      return fn.emitOpError("norm-differentiate: clean-up did not converge");
    symbols.insert(bwd, std::next(fn->getIterator()));
    bwd = nullptr; // Kept.
    return success();
  }
};

} // namespace
