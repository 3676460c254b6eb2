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

// The fused backward kernel, on tensors and on memrefs.
// CHECK-LABEL: func.func @grad_kernel(
// CHECK: norm.grad_kernel %{{[^ ]+}}, %{{[^ ]+}} weight %{{[^ ]+}} outs(%{{[^ ]+}}, %{{[^ ]+}}, %{{[^ ]+}}) {axes = array<i64: 1>, centered, epsilon = 1.000000e-05 : f64, zero_degenerate}
// CHECK: norm.grad_kernel %{{[^ ]+}}, %{{[^ ]+}} outs(%{{[^ ]+}}) {axes = array<i64: 1>, epsilon = 1.000000e-05 : f64} : (memref<4x8xbf16>, memref<4x8xbf16>, memref<4x8xbf16>) -> ()
// CHECK: norm.grad_kernel %{{[^ ]+}}, %{{[^ ]+}} residual_grad %{{[^ ]+}} outs(%{{[^ ]+}}) {axes = array<i64: 1>, epsilon = 1.000000e-05 : f64} : (memref<4x8xbf16>, memref<4x8xbf16>, memref<4x8xbf16>, memref<4x8xbf16>) -> ()
func.func @grad_kernel(%x: tensor<4x8xf32>, %dy: tensor<4x8xf32>, %w: tensor<8xf32>,
                       %mx: memref<4x8xbf16>, %mdx: memref<4x8xbf16>)
    -> (tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>) {
  %e = tensor.empty() : tensor<4x8xf32>
  %p = tensor.empty() : tensor<8xf32>
  %r:3 = norm.grad_kernel %x, %dy weight %w outs(%e, %p, %p) {axes = array<i64: 1>, centered, epsilon = 1.0e-5 : f64, zero_degenerate}
      : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<8xf32>, tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>)
  norm.grad_kernel %mx, %mx outs(%mdx) {axes = array<i64: 1>, epsilon = 1.0e-5 : f64}
      : (memref<4x8xbf16>, memref<4x8xbf16>, memref<4x8xbf16>) -> ()
  norm.grad_kernel %mx, %mx residual_grad %mx outs(%mdx) {axes = array<i64: 1>, epsilon = 1.0e-5 : f64}
      : (memref<4x8xbf16>, memref<4x8xbf16>, memref<4x8xbf16>, memref<4x8xbf16>) -> ()
  return %r#0, %r#1, %r#2 : tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>
}

// -----

// Saved input statistics with the forward's epsilon, and a backward kernel
// with a schedule (prefetch 0 is elided).
// CHECK-LABEL: func.func @saved_statistics_schedule(
// CHECK: norm.grad_moments %{{[^ ]+}}, %{{[^ ]+}} mean %{{[^ ]+}} rstd %{{[^ ]+}} axes = [1] {epsilon = 1.000000e-05 : f64, input_statistics, zero_degenerate}
// CHECK: norm.grad_kernel {{.*}}input_statistics, schedule = #norm.grad_schedule<statistics = recomputed, parallel = false, prefetch = 3>}
// CHECK: norm.grad_kernel {{.*}}schedule = #norm.grad_schedule<statistics = saved, parallel = true>}
func.func @saved_statistics_schedule(%x: tensor<4x8xf32>, %dy: tensor<4x8xf32>, %m: tensor<4x1xf32>, %r: tensor<4x1xf32>)
    -> (tensor<4x1xf32>, tensor<4x8xf32>, tensor<4x8xf32>) {
  %mg, %mgx = norm.grad_moments %x, %dy mean %m rstd %r axes = [1] {epsilon = 1.0e-5 : f64, input_statistics, zero_degenerate}
      : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>) -> (tensor<4x1xf32>, tensor<4x1xf32>)
  %e = tensor.empty() : tensor<4x8xf32>
  %a = norm.grad_kernel %x, %dy mean %m rstd %r outs(%e) {axes = array<i64: 1>, centered, epsilon = 1.0e-5 : f64, input_statistics, schedule = #norm.grad_schedule<statistics = recomputed, parallel = false, prefetch = 3>}
      : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %b = norm.grad_kernel %x, %dy outs(%e) {axes = array<i64: 0>, epsilon = 1.0e-5 : f64, schedule = #norm.grad_schedule<statistics = saved, parallel = true, prefetch = 0>}
      : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return %mgx, %a, %b : tensor<4x1xf32>, tensor<4x8xf32>, tensor<4x8xf32>
}
