// RUN: normlir-opt %s -split-input-file -convert-norm-to-linalg -canonicalize | FileCheck %s

// The gradient ops: grad_moments and param_grad become compensated
// reductions, apply_grad one elementwise generic; results without uses are
// not built.

// RMSNorm, bf16: no mean_g (dead), no dbias (dead).
// CHECK-LABEL: func.func @rms_norm_backward(
// CHECK-NOT: norm.
// E[g * xhat]: one reduction over the row, g = dy * w, xhat = x * rstd.
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// CHECK: %[[DY:[^ ]+]] = arith.extf %{{[^ ]+}} : bf16 to f32
// CHECK: %[[G:[^ ]+]] = arith.mulf %[[DY]], %{{[^ ]+}} : f32
// CHECK: %[[X:[^ ]+]] = arith.extf %{{[^ ]+}} : bf16 to f32
// CHECK: %[[XH:[^ ]+]] = arith.mulf %[[X]], %{{[^ ]+}} : f32
// CHECK: arith.mulf %[[G]], %[[XH]] : f32
// CHECK: arith.divf
// dx = rstd * (g - xhat * mean_gxhat), rounded once to bf16.
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel"]
// CHECK: %[[G2:[^ ]+]] = arith.mulf %{{[^ ]+}}, %{{[^ ]+}} : f32
// CHECK: %[[XF:[^ ]+]] = arith.extf %{{[^ ]+}} : bf16 to f32
// CHECK: %[[XHAT:[^ ]+]] = arith.mulf %[[XF]], %[[RSTD:[^ ]+]] : f32
// CHECK: %[[T:[^ ]+]] = arith.mulf %[[XHAT]], %{{[^ ]+}} : f32
// CHECK: %[[D:[^ ]+]] = arith.subf %[[G2]], %[[T]] : f32
// CHECK: %[[DX:[^ ]+]] = arith.mulf %[[RSTD]], %[[D]] : f32
// CHECK: arith.truncf %[[DX]] : f32 to bf16
// dweight: summed over the rows; the only other reduction.
// CHECK: linalg.generic {{.*}}iterator_types = ["reduction", "parallel"]
// CHECK-NOT: linalg.generic
// CHECK: return
func.func @rms_norm_backward(%x: tensor<4x8xbf16>, %dy: tensor<4x8xbf16>, %r: tensor<4x1xf32>, %w: tensor<8xf32>)
    -> (tensor<4x8xbf16>, tensor<8xf32>) {
  %mg, %mgx = norm.grad_moments %x, %dy rstd %r weight %w axes = [1] {param_axes = array<i64: 1>}
      : (tensor<4x8xbf16>, tensor<4x8xbf16>, tensor<4x1xf32>, tensor<8xf32>) -> (tensor<4x1xf32>, tensor<4x1xf32>)
  %dx = norm.apply_grad %x, %dy rstd %r weight %w mean_gxhat %mgx {param_axes = array<i64: 1>}
      : (tensor<4x8xbf16>, tensor<4x8xbf16>, tensor<4x1xf32>, tensor<8xf32>, tensor<4x1xf32>) -> tensor<4x8xbf16>
  %dw, %db = norm.param_grad %x, %dy rstd %r param_axes = [1]
      : (tensor<4x8xbf16>, tensor<4x8xbf16>, tensor<4x1xf32>) -> (tensor<8xf32>, tensor<8xf32>)
  return %dx, %dw : tensor<4x8xbf16>, tensor<8xf32>
}

// -----

// BatchNorm NCHW: both backward statistics over (N, H, W), both parameter
// gradients over the same axes, results per channel (f16 parameters).
// CHECK-LABEL: func.func @batch_norm_backward(
// CHECK-COUNT-2: iterator_types = ["reduction", "parallel", "reduction", "reduction"]
// CHECK: iterator_types = ["parallel", "parallel", "parallel", "parallel"]
// CHECK: arith.subf
// CHECK: arith.subf
// CHECK: arith.truncf %{{.*}} : f32 to f16
// CHECK-COUNT-2: iterator_types = ["reduction", "parallel", "reduction", "reduction"]
// CHECK: return
func.func @batch_norm_backward(%x: tensor<2x3x4x5xf16>, %dy: tensor<2x3x4x5xf16>, %m: tensor<1x3x1x1xf32>,
                               %r: tensor<1x3x1x1xf32>, %w: tensor<3xf16>)
    -> (tensor<2x3x4x5xf16>, tensor<3xf16>, tensor<3xf16>) {
  %mg, %mgx = norm.grad_moments %x, %dy mean %m rstd %r weight %w axes = [0, 2, 3] {param_axes = array<i64: 1>}
      : (tensor<2x3x4x5xf16>, tensor<2x3x4x5xf16>, tensor<1x3x1x1xf32>, tensor<1x3x1x1xf32>, tensor<3xf16>) -> (tensor<1x3x1x1xf32>, tensor<1x3x1x1xf32>)
  %dx = norm.apply_grad %x, %dy mean %m rstd %r weight %w mean_g %mg mean_gxhat %mgx {param_axes = array<i64: 1>}
      : (tensor<2x3x4x5xf16>, tensor<2x3x4x5xf16>, tensor<1x3x1x1xf32>, tensor<1x3x1x1xf32>, tensor<3xf16>, tensor<1x3x1x1xf32>, tensor<1x3x1x1xf32>) -> tensor<2x3x4x5xf16>
  %dw, %db = norm.param_grad %x, %dy mean %m rstd %r param_axes = [1]
      : (tensor<2x3x4x5xf16>, tensor<2x3x4x5xf16>, tensor<1x3x1x1xf32>, tensor<1x3x1x1xf32>) -> (tensor<3xf16>, tensor<3xf16>)
  return %dx, %dw, %db : tensor<2x3x4x5xf16>, tensor<3xf16>, tensor<3xf16>
}

// -----

// Statistics that are constants of the forward: dx = rstd * dy * w reads
// neither x nor the mean.
// CHECK-LABEL: func.func @eval_backward(
// CHECK-SAME: %[[X:[^:]*]]: tensor<2x3xf32>, %[[DY:[^:]*]]: tensor<2x3xf32>
// CHECK: linalg.generic {{.*}} ins(%[[DY]], %{{.*}}, %{{.*}} : tensor<2x3xf32>, tensor<3xf32>, tensor<3xf32>)
// CHECK: %[[G:[^ ]+]] = arith.mulf %{{[^ ]+}}, %{{[^ ]+}} : f32
// CHECK: arith.mulf %{{[^ ]+}}, %[[G]] : f32
// CHECK-NOT: linalg.generic
func.func @eval_backward(%x: tensor<2x3xf32>, %dy: tensor<2x3xf32>, %r: tensor<1x3xf32>, %w: tensor<3xf32>)
    -> tensor<2x3xf32> {
  %dx = norm.apply_grad %x, %dy rstd %r weight %w {param_axes = array<i64: 1>}
      : (tensor<2x3xf32>, tensor<2x3xf32>, tensor<1x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  return %dx : tensor<2x3xf32>
}
