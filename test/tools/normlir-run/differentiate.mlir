// RUN: normlir-run %s --differentiate --print-signature | FileCheck %s --check-prefix=SIG
// RUN: normlir-run %s --differentiate --function=ln_backward --input="2x4xf32=1 2 3 4 5 5 5 5" --input="4xf32=1 2 3 4" --input="4xf32=0" --input="2x1xf32=2.5 5" --input="2x1xf32=0.89442366 316.22778" --input="2x4xf32=1 0 0 0 0 0 0 1" | FileCheck %s
// RUN: normlir-run %s --differentiate --recompute-statistics --print-signature | FileCheck %s --check-prefix=RECOMP
// RUN: normlir-run %s --differentiate --recompute-statistics --function=ln_backward --input="2x4xf32=1 2 3 4 5 5 5 5" --input="4xf32=1 2 3 4" --input="4xf32=0" --input="2x4xf32=1 0 0 0 0 0 0 1" | FileCheck %s
// RUN: normlir-run %s --print-signature | FileCheck %s --check-prefix=FWD
// RUN: not normlir-run %s --recompute-statistics --print-signature 2>&1 | FileCheck %s --check-prefix=ALONE
// ALONE: error: --recompute-statistics needs --differentiate
// RUN: normlir-run %S/Inputs/stats-only.mlir --differentiate --print-signature | FileCheck %s --check-prefix=STATS

// --differentiate adds each function's backward (norm-differentiate): the
// forward's arguments, then the statistics it returns (mean, rstd: saved,
// not recomputed), then the cotangent of its normalized output; the
// gradients of x, weight and bias. --recompute-statistics drops the saved
// statistics: the backward recomputes them from x.
// SIG: ln(2x4xf32, 4xf32, 4xf32) -> (2x4xf32, 2x1xf32, 2x1xf32)
// SIG: ln_backward(2x4xf32, 4xf32, 4xf32, 2x1xf32, 2x1xf32, 2x4xf32) -> (2x4xf32, 4xf32, 4xf32)
// RECOMP: ln_backward(2x4xf32, 4xf32, 4xf32, 2x4xf32) -> (2x4xf32, 4xf32, 4xf32)
// FWD-NOT: ln_backward

// PyTorch (float64 autograd of F.layer_norm, eps 1e-5): dx = [[0.26833,
// -0.35777, -0.089443, 0.17888], [-316.23, -316.23, -316.23, 948.68]] (the
// constant row's rstd is 1/sqrt(1e-5)), dweight = [-1.3416, 0, 0, 0],
// dbias = [1, 0, 0, 1]; the same from the saved statistics.
// CHECK: result[0]: 2x4xf32=[0.2683303 -0.3577684 -0.08944343 0.1788816][-316.2278 -316.2278 -316.2278 948.6833]
// CHECK: result[1]: 4xf32=-1.341635 0 0 0
// CHECK: result[2]: 4xf32=1 0 0 1

// A function without a normalized output gets no backward function.
// STATS: stats(2x4xf32) -> (2x1xf32)
// STATS-NOT: _backward
func.func @ln(%x: tensor<2x4xf32>, %w: tensor<4xf32>, %b: tensor<4xf32>)
    -> (tensor<2x4xf32>, tensor<2x1xf32>, tensor<2x1xf32>) {
  %y, %m, %r = norm.layer_norm %x weight %w bias %b {normalized_shape = array<i64: 4>}
      : (tensor<2x4xf32>, tensor<4xf32>, tensor<4xf32>) -> (tensor<2x4xf32>, tensor<2x1xf32>, tensor<2x1xf32>)
  return %y, %m, %r : tensor<2x4xf32>, tensor<2x1xf32>, tensor<2x1xf32>
}
