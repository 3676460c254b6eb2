//===- EmitterBase.h - shorthands shared by the kernel emitters -*- C++ -*-===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//
//
// The index and f32 arithmetic both lowerings of norm.kernel spell out op by
// op (convert-norm-to-vector, convert-norm-to-gpu): constants, folds of the
// trivial cases (x * 1, x / 1, x + 0), and scalar memory access in f32.
//
//===----------------------------------------------------------------------===//

#ifndef NORMLIR_DIALECT_NORM_UTILS_EMITTERBASE_H
#define NORMLIR_DIALECT_NORM_UTILS_EMITTERBASE_H

#include "normlir/Dialect/Norm/IR/Norm.h"
#include "normlir/Dialect/Norm/Utils/Utils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <limits>

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

} // namespace normlir::norm

#endif // NORMLIR_DIALECT_NORM_UTILS_EMITTERBASE_H
