//===- Passes.td - NormLIR conversion passes ---------------*- tablegen -*-===//
//
// Part of the NormLIR project.
//
//===----------------------------------------------------------------------===//

#ifndef NORMLIR_CONVERSION_PASSES_TD
#define NORMLIR_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertNormToLinalg : Pass<"convert-norm-to-linalg"> {
  let summary = "Lower norm core ops to linalg on tensors";
  let description = [{
    Lowers `norm.moments`, `norm.mean_square`, `norm.rstd` and `norm.apply`
    to `linalg.generic` on tensors (f32 accumulation, extf/truncf at the
    edges). Named ops must have been expanded by `norm-expand` first; they are
    reported as errors otherwise.

    `norm.moments` is numerically safe: the mean is a shifted sum (each
    reduced slice is shifted by its first element, so `1e4 + U(0,1)` does not
    lose its spread to rounding), and the variance is the mean of squared
    deviations from that mean (a second reduction over the slice), never
    `E[x^2] - E[x]^2`. Every reduction accumulates in f32 with Kahan
    compensation, so its error does not grow with the number of reduced
    elements.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

#endif // NORMLIR_CONVERSION_PASSES_TD
