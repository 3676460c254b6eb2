//===- DifferentiateElementwise.cpp - reverse of elementwise ops ----------===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// The reverse mode of norm-differentiate's elementwise ops (a residual add,
// a cast, a gate, an epilogue): the scalar body's derivative, taken once
// per active input.
//
//===----------------------------------------------------------------------===//

#include "DifferentiateElementwise.h"

#include "normlir/Dialect/Norm/Utils/Utils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/IRMapping.h"

using namespace mlir;
using namespace normlir;

bool norm::isDifferentiableElementwise(linalg::GenericOp g) {
  auto isFloat = [](Type t) { return isa<FloatType>(t); };
  if (!isElementwiseMap(g) || !llvm::all_of(g->getOperandTypes(), [&](Type t) {
        auto rt = dyn_cast<RankedTensorType>(t);
        return rt && rt.hasStaticShape() && isFloat(rt.getElementType());
      }))
    return false;
  Block &body = g.getRegion().front();
  return llvm::all_of(body.without_terminator(), [&](Operation &op) {
    return isa<arith::AddFOp, arith::SubFOp, arith::NegFOp, arith::MulFOp,
               arith::DivFOp, arith::ExtFOp, arith::TruncFOp,
               arith::ConstantOp>(op) &&
           llvm::all_of(op.getResultTypes(), isFloat);
  });
}

/// Whether the derivative of scalar `v` in the body of an elementwise op by
/// the body's argument `arg` is exactly 1: `v` is `arg`, or reached from it
/// through adds, the minuend of subs and casts only, one path.
static bool unitDerivative(Value v, BlockArgument arg) {
  std::function<bool(Value)> dependsOn = [&](Value u) {
    if (u == arg)
      return true;
    Operation *def = u.getDefiningOp();
    return def && def->getBlock() == arg.getOwner() &&
           llvm::any_of(def->getOperands(), dependsOn);
  };
  while (v != arg) {
    Operation *def = v.getDefiningOp();
    if (!def || def->getBlock() != arg.getOwner())
      return false;
    if (isa<arith::ExtFOp, arith::TruncFOp>(def)) {
      v = def->getOperand(0);
      continue;
    }
    if (!isa<arith::AddFOp, arith::SubFOp>(def))
      return false;
    bool lhs = dependsOn(def->getOperand(0));
    bool rhs = dependsOn(def->getOperand(1));
    if (lhs == rhs || (rhs && isa<arith::SubFOp>(def)))
      return false;
    v = def->getOperand(lhs ? 0 : 1);
  }
  return true;
}

Value norm::reverseElementwise(OpBuilder &b, linalg::GenericOp g, unsigned i,
                               Value ct) {
  Location loc = g.getLoc();
  Block &body = g.getRegion().front();
  Value out = cast<linalg::YieldOp>(body.getTerminator()).getOperand(0);
  Type f32 = b.getF32Type();
  Value in = g.getDpsInputs()[i];
  auto inType = cast<RankedTensorType>(in.getType());
  Type inElt = inType.getElementType();
  if (unitDerivative(out, body.getArgument(i))) {
    Value c = ct;
    Type ctElt = cast<RankedTensorType>(ct.getType()).getElementType();
    if (ctElt != inElt)
      c = buildMap(b, loc, ValueRange{ct}, inType,
                   [&](OpBuilder &nb, Location l, ValueRange a) {
                     // f16 <-> bf16 through f32; else one cast.
                     Value v = a[0];
                     if (ctElt.getIntOrFloatBitWidth() ==
                         inElt.getIntOrFloatBitWidth())
                       v = castFloat(nb, l, v, f32);
                     return castFloat(nb, l, v, inElt);
                   });
    return c;
  }
  SmallVector<Value> ins(g.getDpsInputs());
  ins.push_back(ct);
  Value c = buildMap(
      b, loc, ins, inType, [&](OpBuilder &nb, Location l, ValueRange a) {
        IRMapping map;
        for (unsigned k = 0; k + 1 < a.size(); ++k)
          map.map(body.getArgument(k), a[k]);
        for (Operation &op : body.without_terminator())
          nb.clone(op, map);
        auto val = [&](Value v) {
          return castFloat(nb, l, map.lookupOrDefault(v), f32);
        };
        // The adjoints of the body's values, f32.
        llvm::DenseMap<Value, Value> adj;
        auto add = [&](Value v, Value d) {
          Value &slot = adj[v];
          slot = slot ? arith::AddFOp::create(nb, l, slot, d) : d;
        };
        auto neg = [&](Value d) { return arith::NegFOp::create(nb, l, d); };
        auto mul = [&](Value p, Value q) {
          return arith::MulFOp::create(nb, l, p, q);
        };
        auto div = [&](Value p, Value q) {
          return arith::DivFOp::create(nb, l, p, q);
        };
        adj[out] = castFloat(nb, l, a.back(), f32);
        for (Operation &op : llvm::reverse(body.without_terminator())) {
          if (op.getNumResults() != 1)
            continue;
          Value d = adj.lookup(op.getResult(0));
          if (!d)
            continue;
          if (isa<arith::AddFOp>(op)) {
            add(op.getOperand(0), d);
            add(op.getOperand(1), d);
          } else if (isa<arith::SubFOp>(op)) {
            add(op.getOperand(0), d);
            add(op.getOperand(1), neg(d));
          } else if (isa<arith::NegFOp>(op)) {
            add(op.getOperand(0), neg(d));
          } else if (isa<arith::MulFOp>(op)) {
            add(op.getOperand(0), mul(d, val(op.getOperand(1))));
            add(op.getOperand(1), mul(d, val(op.getOperand(0))));
          } else if (isa<arith::DivFOp>(op)) {
            // d(p/q) = dp/q - (p/q) dq/q.
            Value q = val(op.getOperand(1));
            Value dq = div(d, q);
            add(op.getOperand(0), dq);
            add(op.getOperand(1), neg(mul(dq, div(val(op.getOperand(0)), q))));
          } else if (isa<arith::ExtFOp, arith::TruncFOp>(op)) {
            add(op.getOperand(0), d);
          }
        }
        Value r = adj.lookup(body.getArgument(i));
        if (!r)
          r = arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(0.0));
        return castFloat(nb, l, r, inElt);
      });
  return c;
}
