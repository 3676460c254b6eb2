// RUN: normlir-opt %s | normlir-opt | FileCheck %s
// RUN: normlir-opt %s -mlir-print-op-generic | normlir-opt | FileCheck %s

// The gradient ops round-trip, with and without their optional operands.

// CHECK-LABEL: func.func @layer_norm_backward(
// CHECK-SAME: %[[X:.*]]: tensor<4x8xf32>, %[[DY:.*]]: tensor<4x8xf32>, %[[M:.*]]: tensor<4x1xf32>, %[[R:.*]]: tensor<4x1xf32>, %[[W:.*]]: tensor<8xf32>)
func.func @layer_norm_backward(%x: tensor<4x8xf32>, %dy: tensor<4x8xf32>, %m: tensor<4x1xf32>,
                               %r: tensor<4x1xf32>, %w: tensor<8xf32>)
    -> (tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>) {
  // CHECK: %[[MG:[^ ]*]], %[[MGX:[^ ]*]] = norm.grad_moments %[[X]], %[[DY]] mean %[[M]] rstd %[[R]] weight %[[W]] axes = [1] {param_axes = array<i64: 1>} : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>, tensor<8xf32>) -> (tensor<4x1xf32>, tensor<4x1xf32>)
  %mg, %mgx = norm.grad_moments %x, %dy mean %m rstd %r weight %w axes = [1] {param_axes = array<i64: 1>}
      : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>, tensor<8xf32>) -> (tensor<4x1xf32>, tensor<4x1xf32>)
  // CHECK: norm.apply_grad %[[X]], %[[DY]] mean %[[M]] rstd %[[R]] weight %[[W]] mean_g %[[MG]] mean_gxhat %[[MGX]] {param_axes = array<i64: 1>} : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>, tensor<8xf32>, tensor<4x1xf32>, tensor<4x1xf32>) -> tensor<4x8xf32>
  %dx = norm.apply_grad %x, %dy mean %m rstd %r weight %w mean_g %mg mean_gxhat %mgx {param_axes = array<i64: 1>}
      : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>, tensor<8xf32>, tensor<4x1xf32>, tensor<4x1xf32>) -> tensor<4x8xf32>
  // CHECK: norm.param_grad %[[X]], %[[DY]] mean %[[M]] rstd %[[R]] param_axes = [1] : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>) -> (tensor<8xf32>, tensor<8xf32>)
  %dw, %db = norm.param_grad %x, %dy mean %m rstd %r param_axes = [1]
      : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>) -> (tensor<8xf32>, tensor<8xf32>)
  return %dx, %dw, %db : tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>
}

// CHECK-LABEL: func.func @rms_norm_backward(
func.func @rms_norm_backward(%x: tensor<4x8xbf16>, %dy: tensor<4x8xbf16>, %r: tensor<4x1xf32>)
    -> tensor<4x8xbf16> {
  // CHECK: norm.grad_moments %{{.*}}, %{{.*}} rstd %{{.*}} axes = [1] : (tensor<4x8xbf16>, tensor<4x8xbf16>, tensor<4x1xf32>) -> (tensor<4x1xf32>, tensor<4x1xf32>)
  %mg, %mgx = norm.grad_moments %x, %dy rstd %r axes = [1]
      : (tensor<4x8xbf16>, tensor<4x8xbf16>, tensor<4x1xf32>) -> (tensor<4x1xf32>, tensor<4x1xf32>)
  // CHECK: norm.apply_grad %{{.*}}, %{{.*}} rstd %{{.*}} mean_gxhat %{{.*}} : (tensor<4x8xbf16>, tensor<4x8xbf16>, tensor<4x1xf32>, tensor<4x1xf32>) -> tensor<4x8xbf16>
  %dx = norm.apply_grad %x, %dy rstd %r mean_gxhat %mgx
      : (tensor<4x8xbf16>, tensor<4x8xbf16>, tensor<4x1xf32>, tensor<4x1xf32>) -> tensor<4x8xbf16>
  return %dx : tensor<4x8xbf16>
}

// Statistics that are constants of the forward (BatchNorm eval): dx = rstd * g.
// CHECK-LABEL: func.func @batch_norm_eval_backward(
func.func @batch_norm_eval_backward(%x: tensor<2x3x4xf16>, %dy: tensor<2x3x4xf16>, %m: tensor<1x3x1xf32>,
                                    %r: tensor<1x3x1xf32>, %w: tensor<3xf32>)
    -> (tensor<2x3x4xf16>, tensor<3xf32>, tensor<3xf32>) {
  // CHECK: norm.apply_grad %{{.*}}, %{{.*}} rstd %{{.*}} weight %{{.*}} {param_axes = array<i64: 1>} : (tensor<2x3x4xf16>, tensor<2x3x4xf16>, tensor<1x3x1xf32>, tensor<3xf32>) -> tensor<2x3x4xf16>
  %dx = norm.apply_grad %x, %dy rstd %r weight %w {param_axes = array<i64: 1>}
      : (tensor<2x3x4xf16>, tensor<2x3x4xf16>, tensor<1x3x1xf32>, tensor<3xf32>) -> tensor<2x3x4xf16>
  // CHECK: norm.param_grad %{{.*}}, %{{.*}} mean %{{.*}} rstd %{{.*}} param_axes = [1] : (tensor<2x3x4xf16>, tensor<2x3x4xf16>, tensor<1x3x1xf32>, tensor<1x3x1xf32>) -> (tensor<3xf32>, tensor<3xf32>)
  %dw, %db = norm.param_grad %x, %dy mean %m rstd %r param_axes = [1]
      : (tensor<2x3x4xf16>, tensor<2x3x4xf16>, tensor<1x3x1xf32>, tensor<1x3x1xf32>) -> (tensor<3xf32>, tensor<3xf32>)
  return %dx, %dw, %db : tensor<2x3x4xf16>, tensor<3xf32>, tensor<3xf32>
}
