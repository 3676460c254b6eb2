// RUN: normlir-opt %s -split-input-file -verify-diagnostics

// One negative test per numbered constraint of the gradient ops
// (include/normlir/Dialect/Norm/IR/NormGradOps.td).

//===----------------------------------------------------------------------===//
// norm.grad_moments
//===----------------------------------------------------------------------===//

// (C1)
func.func @grad_moments_axis_range(%x: tensor<4x8xf32>, %r: tensor<4x1xf32>) {
  // expected-error @+1 {{'norm.grad_moments' op axis 2 is out of range [0, 2)}}
  %a, %b = norm.grad_moments %x, %x rstd %r axes = [2] : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x1xf32>) -> (tensor<4x1xf32>, tensor<4x1xf32>)
  return
}

// -----

// (C1)
func.func @grad_moments_no_axes(%x: tensor<4x8xf32>, %r: tensor<4x8xf32>) {
  // expected-error @+1 {{'norm.grad_moments' op expects at least one reduction axis}}
  %a, %b = norm.grad_moments %x, %x rstd %r axes = [] : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>)
  return
}

// -----

// (C2)
func.func @grad_moments_grad_type(%x: tensor<4x8xf32>, %dy: tensor<4x8xbf16>, %r: tensor<4x1xf32>) {
  // expected-error @+1 {{'norm.grad_moments' op grad must have the input's type 'tensor<4x8xf32>', got 'tensor<4x8xbf16>'}}
  %a, %b = norm.grad_moments %x, %dy rstd %r axes = [1] : (tensor<4x8xf32>, tensor<4x8xbf16>, tensor<4x1xf32>) -> (tensor<4x1xf32>, tensor<4x1xf32>)
  return
}

// -----

// (C3)
func.func @grad_moments_mean_shape(%x: tensor<4x8xf32>, %m: tensor<1x1xf32>, %r: tensor<4x1xf32>) {
  // expected-error @+1 {{'norm.grad_moments' op mean must have type 'tensor<4x1xf32>', got 'tensor<1x1xf32>'}}
  %a, %b = norm.grad_moments %x, %x mean %m rstd %r axes = [1] : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<1x1xf32>, tensor<4x1xf32>) -> (tensor<4x1xf32>, tensor<4x1xf32>)
  return
}

// -----

// (C3)
func.func @grad_moments_rstd_shape(%x: tensor<4x8xf32>, %r: tensor<4x8xf32>) {
  // expected-error @+1 {{'norm.grad_moments' op rstd must have type 'tensor<4x1xf32>', got 'tensor<4x8xf32>'}}
  %a, %b = norm.grad_moments %x, %x rstd %r axes = [1] : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) -> (tensor<4x1xf32>, tensor<4x1xf32>)
  return
}

// -----

// (C4)
func.func @grad_moments_param_axes(%x: tensor<4x8xf32>, %r: tensor<4x1xf32>, %w: tensor<8xf32>) {
  // expected-error @+1 {{'norm.grad_moments' op param axis 3 is out of range [0, 2)}}
  %a, %b = norm.grad_moments %x, %x rstd %r weight %w axes = [1] {param_axes = array<i64: 3>} : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x1xf32>, tensor<8xf32>) -> (tensor<4x1xf32>, tensor<4x1xf32>)
  return
}

// -----

// (C5)
func.func @grad_moments_weight_shape(%x: tensor<4x8xf32>, %r: tensor<4x1xf32>, %w: tensor<4xf32>) {
  // expected-error @+1 {{'norm.grad_moments' op weight shape [4] does not match the expected [8]}}
  %a, %b = norm.grad_moments %x, %x rstd %r weight %w axes = [1] {param_axes = array<i64: 1>} : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x1xf32>, tensor<4xf32>) -> (tensor<4x1xf32>, tensor<4x1xf32>)
  return
}

// -----

// (C5)
func.func @grad_moments_weight_type(%x: tensor<4x8xbf16>, %r: tensor<4x1xf32>, %w: tensor<8xf16>) {
  // expected-error @+1 {{'norm.grad_moments' op weight element type 'f16' must be f32 or the input's 'bf16'}}
  %a, %b = norm.grad_moments %x, %x rstd %r weight %w axes = [1] {param_axes = array<i64: 1>} : (tensor<4x8xbf16>, tensor<4x8xbf16>, tensor<4x1xf32>, tensor<8xf16>) -> (tensor<4x1xf32>, tensor<4x1xf32>)
  return
}

// -----

// (C6)
func.func @grad_moments_axes_without_weight(%x: tensor<4x8xf32>, %r: tensor<4x1xf32>) {
  // expected-error @+1 {{'norm.grad_moments' op param_axes must be given exactly when weight is}}
  %a, %b = norm.grad_moments %x, %x rstd %r axes = [1] {param_axes = array<i64: 1>} : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x1xf32>) -> (tensor<4x1xf32>, tensor<4x1xf32>)
  return
}

// -----

// (C6)
func.func @grad_moments_weight_without_axes(%x: tensor<4x8xf32>, %r: tensor<4x1xf32>, %w: tensor<8xf32>) {
  // expected-error @+1 {{'norm.grad_moments' op param_axes must be given exactly when weight is}}
  %a, %b = norm.grad_moments %x, %x rstd %r weight %w axes = [1] : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x1xf32>, tensor<8xf32>) -> (tensor<4x1xf32>, tensor<4x1xf32>)
  return
}

// -----

// (C7)
func.func @grad_moments_result_type(%x: tensor<4x8xf32>, %r: tensor<4x1xf32>) {
  // expected-error @+1 {{'norm.grad_moments' op result must have type 'tensor<4x1xf32>', got 'tensor<1x8xf32>'}}
  %a, %b = norm.grad_moments %x, %x rstd %r axes = [1] : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x1xf32>) -> (tensor<1x8xf32>, tensor<1x8xf32>)
  return
}

// -----

//===----------------------------------------------------------------------===//
// norm.apply_grad
//===----------------------------------------------------------------------===//

// (C1)
func.func @apply_grad_grad_type(%x: tensor<4x8xf32>, %dy: tensor<4x4xf32>, %r: tensor<4x1xf32>) {
  // expected-error @+1 {{'norm.apply_grad' op grad must have the input's type 'tensor<4x8xf32>', got 'tensor<4x4xf32>'}}
  %0 = norm.apply_grad %x, %dy rstd %r : (tensor<4x8xf32>, tensor<4x4xf32>, tensor<4x1xf32>) -> tensor<4x8xf32>
  return
}

// -----

// (C2)
func.func @apply_grad_stat_rank(%x: tensor<4x8xf32>, %r: tensor<4xf32>) {
  // expected-error @+1 {{'norm.apply_grad' op rstd must have the input's rank 2, got 1}}
  %0 = norm.apply_grad %x, %x rstd %r : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4xf32>) -> tensor<4x8xf32>
  return
}

// -----

// (C2)
func.func @apply_grad_mean_g_shape(%x: tensor<4x8xf32>, %r: tensor<4x1xf32>, %mg: tensor<2x1xf32>) {
  // expected-error @+1 {{'norm.apply_grad' op mean_g dimension 0 is 2; it must be 1 or the input's 4}}
  %0 = norm.apply_grad %x, %x rstd %r mean_g %mg : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x1xf32>, tensor<2x1xf32>) -> tensor<4x8xf32>
  return
}

// -----

// (C2)
func.func @apply_grad_mean_gxhat_shape(%x: tensor<4x8xf32>, %r: tensor<4x1xf32>, %mg: tensor<4x2xf32>) {
  // expected-error @+1 {{'norm.apply_grad' op mean_gxhat dimension 1 is 2; it must be 1 or the input's 8}}
  %0 = norm.apply_grad %x, %x rstd %r mean_gxhat %mg : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x2xf32>) -> tensor<4x8xf32>
  return
}

// -----

// (C3)
func.func @apply_grad_param_axes(%x: tensor<4x8xf32>, %r: tensor<4x1xf32>, %w: tensor<8xf32>) {
  // expected-error @+1 {{'norm.apply_grad' op param axis must be distinct and ascending, got [1, 1]}}
  %0 = norm.apply_grad %x, %x rstd %r weight %w {param_axes = array<i64: 1, 1>} : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x1xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  return
}

// -----

// (C4)
func.func @apply_grad_weight_shape(%x: tensor<4x8xf32>, %r: tensor<4x1xf32>, %w: tensor<4xf32>) {
  // expected-error @+1 {{'norm.apply_grad' op weight shape [4] does not match the expected [8]}}
  %0 = norm.apply_grad %x, %x rstd %r weight %w {param_axes = array<i64: 1>} : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x1xf32>, tensor<4xf32>) -> tensor<4x8xf32>
  return
}

// -----

// (C5)
func.func @apply_grad_weight_without_axes(%x: tensor<4x8xf32>, %r: tensor<4x1xf32>, %w: tensor<8xf32>) {
  // expected-error @+1 {{'norm.apply_grad' op param_axes must be given exactly when weight is}}
  %0 = norm.apply_grad %x, %x rstd %r weight %w : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x1xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  return
}

// -----

// (C6)
func.func @apply_grad_result_type(%x: tensor<4x8xf32>, %r: tensor<4x1xf32>) {
  // expected-error @+1 {{'norm.apply_grad' op result must have type 'tensor<4x8xf32>', got 'tensor<4x8xbf16>'}}
  %0 = norm.apply_grad %x, %x rstd %r : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x1xf32>) -> tensor<4x8xbf16>
  return
}

// -----

//===----------------------------------------------------------------------===//
// norm.param_grad
//===----------------------------------------------------------------------===//

// (C1)
func.func @param_grad_grad_type(%x: tensor<4x8xf32>, %dy: tensor<4x8xf16>, %r: tensor<4x1xf32>) {
  // expected-error @+1 {{'norm.param_grad' op grad must have the input's type 'tensor<4x8xf32>', got 'tensor<4x8xf16>'}}
  %a, %b = norm.param_grad %x, %dy rstd %r param_axes = [1] : (tensor<4x8xf32>, tensor<4x8xf16>, tensor<4x1xf32>) -> (tensor<8xf32>, tensor<8xf32>)
  return
}

// -----

// (C2)
func.func @param_grad_mean_shape(%x: tensor<4x8xf32>, %m: tensor<3x1xf32>, %r: tensor<4x1xf32>) {
  // expected-error @+1 {{'norm.param_grad' op mean dimension 0 is 3; it must be 1 or the input's 4}}
  %a, %b = norm.param_grad %x, %x mean %m rstd %r param_axes = [1] : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<3x1xf32>, tensor<4x1xf32>) -> (tensor<8xf32>, tensor<8xf32>)
  return
}

// -----

// (C3)
func.func @param_grad_axis_range(%x: tensor<4x8xf32>, %r: tensor<4x1xf32>) {
  // expected-error @+1 {{'norm.param_grad' op param axis 2 is out of range [0, 2)}}
  %a, %b = norm.param_grad %x, %x rstd %r param_axes = [2] : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x1xf32>) -> (tensor<8xf32>, tensor<8xf32>)
  return
}

// -----

// (C3)
func.func @param_grad_no_axes(%x: tensor<4x8xf32>, %r: tensor<4x1xf32>) {
  // expected-error @+1 {{'norm.param_grad' op expects at least one param axis}}
  %a, %b = norm.param_grad %x, %x rstd %r param_axes = [] : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x1xf32>) -> (tensor<f32>, tensor<f32>)
  return
}

// -----

// (C4)
func.func @param_grad_result_shape(%x: tensor<4x8xf32>, %r: tensor<4x1xf32>) {
  // expected-error @+1 {{'norm.param_grad' op weight_grad shape [4] does not match the expected [8]}}
  %a, %b = norm.param_grad %x, %x rstd %r param_axes = [1] : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x1xf32>) -> (tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

// The two results share one type (ODS).
func.func @param_grad_result_types(%x: tensor<4x8xf32>, %r: tensor<4x1xf32>) {
  // expected-error @+1 {{'norm.param_grad' op failed to verify that all of {weight_grad, bias_grad} have same type}}
  %a, %b = norm.param_grad %x, %x rstd %r param_axes = [1] : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x1xf32>) -> (tensor<8xf32>, tensor<8xbf16>)
  return
}

// -----

//===----------------------------------------------------------------------===//
// norm.grad_kernel
//===----------------------------------------------------------------------===//

// (C1)
func.func @grad_kernel_axis_range(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{'norm.grad_kernel' op axis 2 is out of range [0, 2)}}
  %r = norm.grad_kernel %x, %x outs(%x) {axes = array<i64: 2>, epsilon = 1.0e-5 : f64} : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return
}

// -----

// (C3)
func.func @grad_kernel_param_axes_order(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{'norm.grad_kernel' op parameter axis must be distinct and ascending, got [1, 0]}}
  %r = norm.grad_kernel %x, %x outs(%x) {axes = array<i64: 0>, epsilon = 1.0e-5 : f64, param_axes = array<i64: 1, 0>} : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return
}

// -----

// (C3)
func.func @grad_kernel_channel_weight_shape(%x: tensor<4x8xf32>, %w: tensor<8xf32>) {
  // expected-error @+1 {{'norm.grad_kernel' op weight must have the shape [4]}}
  %r = norm.grad_kernel %x, %x weight %w outs(%x) {axes = array<i64: 1>, epsilon = 1.0e-5 : f64, param_axes = array<i64: 0>} : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return
}

// -----

// (C2)
func.func @grad_kernel_grad_type(%x: tensor<4x8xf32>, %dy: tensor<4x8xf16>) {
  // expected-error @+1 {{'norm.grad_kernel' op grad must have the input's shape and element type}}
  %r = norm.grad_kernel %x, %dy outs(%x) {axes = array<i64: 1>, epsilon = 1.0e-5 : f64} : (tensor<4x8xf32>, tensor<4x8xf16>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return
}

// -----

// (C3)
func.func @grad_kernel_weight_shape(%x: tensor<4x8xf32>, %w: tensor<4xf32>) {
  // expected-error @+1 {{'norm.grad_kernel' op weight must have the shape [8]}}
  %r = norm.grad_kernel %x, %x weight %w outs(%x) {axes = array<i64: 1>, epsilon = 1.0e-5 : f64} : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return
}

// -----

// (C4)
func.func @grad_kernel_two_outs(%x: tensor<4x8xf32>, %p: tensor<8xf32>) {
  // expected-error @+1 {{'norm.grad_kernel' op expects 1 or 3 outs, got 2}}
  %r:2 = norm.grad_kernel %x, %x outs(%x, %p) {axes = array<i64: 1>, epsilon = 1.0e-5 : f64} : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8xf32>) -> (tensor<4x8xf32>, tensor<8xf32>)
  return
}

// -----

// (C4)
func.func @grad_kernel_param_outs(%x: tensor<4x8xf32>, %p: tensor<8xf32>, %q: tensor<8xf16>) {
  // expected-error @+1 {{'norm.grad_kernel' op outs[1] and outs[2] must have the shape [8] and one element type}}
  %r:3 = norm.grad_kernel %x, %x outs(%x, %p, %q) {axes = array<i64: 1>, epsilon = 1.0e-5 : f64} : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8xf32>, tensor<8xf16>) -> (tensor<4x8xf32>, tensor<8xf32>, tensor<8xf16>)
  return
}

// -----

// (C5)
func.func @grad_kernel_epsilon(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{'norm.grad_kernel' op epsilon must not be negative, got -1}}
  %r = norm.grad_kernel %x, %x outs(%x) {axes = array<i64: 1>, epsilon = -1.0 : f64} : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return
}

// -----

// (C6)
func.func @grad_kernel_mixed(%x: tensor<4x8xf32>, %m: memref<4x8xf32>) {
  // expected-error @+1 {{'norm.grad_kernel' op operands must be all tensors or all memrefs}}
  norm.grad_kernel %x, %x outs(%m) {axes = array<i64: 1>, epsilon = 1.0e-5 : f64} : (tensor<4x8xf32>, tensor<4x8xf32>, memref<4x8xf32>) -> ()
  return
}

// -----

// (C1) axes in range (a negative axis used to reach the shape unchecked).
func.func @grad_kernel_negative_axis(%x: tensor<f32>) {
  // expected-error @+1 {{'norm.grad_kernel' op axis -1 is out of range [0, 0)}}
  %r = norm.grad_kernel %x, %x outs(%x) {axes = array<i64: -1>, epsilon = 1.0e-5 : f64} : (tensor<f32>, tensor<f32>, tensor<f32>) -> tensor<f32>
  return
}

// -----

// (C7)
func.func @grad_kernel_dynamic(%x: memref<?x8xf32>) {
  // expected-error @+1 {{'norm.grad_kernel' op operands must be statically shaped, got 'memref<?x8xf32>'}}
  norm.grad_kernel %x, %x outs(%x) {axes = array<i64: 1>, epsilon = 1.0e-5 : f64} : (memref<?x8xf32>, memref<?x8xf32>, memref<?x8xf32>) -> ()
  return
}

// -----

// (C7)
func.func @grad_kernel_integer(%x: memref<4x8xi32>) {
  // expected-error @+1 {{'norm.grad_kernel' op operands must have f32, f16 or bf16 elements, got 'memref<4x8xi32>'}}
  norm.grad_kernel %x, %x outs(%x) {axes = array<i64: 1>, epsilon = 1.0e-5 : f64} : (memref<4x8xi32>, memref<4x8xi32>, memref<4x8xi32>) -> ()
  return
}

// -----

// (C7)
func.func @grad_kernel_huge(%x: memref<1152921504606846976x16xf32>) {
  // expected-error @+1 {{'norm.grad_kernel' op operand 'memref<1152921504606846976x16xf32>' holds 2^62 bytes or more}}
  norm.grad_kernel %x, %x outs(%x) {axes = array<i64: 1>, epsilon = 1.0e-5 : f64} : (memref<1152921504606846976x16xf32>, memref<1152921504606846976x16xf32>, memref<1152921504606846976x16xf32>) -> ()
  return
}

// -----

// (C8) a centred kernel with a saved rstd needs the saved mean.
func.func @grad_kernel_saved_rstd_without_mean(%x: tensor<4x8xf32>, %r: tensor<4x1xf32>) {
  // expected-error @+1 {{'norm.grad_kernel' op with saved statistics, expects a mean iff centered}}
  %dx = norm.grad_kernel %x, %x rstd %r outs(%x) {axes = array<i64: 1>, centered, epsilon = 0.0 : f64} : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return
}

// -----

// (C8)
func.func @grad_kernel_saved_mean_without_rstd(%x: tensor<4x8xf32>, %m: tensor<4x1xf32>) {
  // expected-error @+1 {{'norm.grad_kernel' op expects a saved mean only with a saved rstd}}
  %dx = norm.grad_kernel %x, %x mean %m outs(%x) {axes = array<i64: 1>, centered, epsilon = 0.0 : f64} : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return
}

// -----

// (C8) the saved statistics have the reduced shape.
func.func @grad_kernel_saved_shape(%x: tensor<4x8xf32>, %r: tensor<1x8xf32>) {
  // expected-error @+1 {{'norm.grad_kernel' op saved statistics must be f32 of shape [4, 1], got 'tensor<1x8xf32>'}}
  %dx = norm.grad_kernel %x, %x rstd %r outs(%x) {axes = array<i64: 1>, epsilon = 0.0 : f64} : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<1x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return
}

// -----

// (C8) in f32.
func.func @grad_kernel_saved_f16(%x: tensor<4x8xf16>, %r: tensor<4x1xf16>) {
  // expected-error @+1 {{'norm.grad_kernel' op saved statistics must be f32 of shape [4, 1], got 'tensor<4x1xf16>'}}
  %dx = norm.grad_kernel %x, %x rstd %r outs(%x) {axes = array<i64: 1>, epsilon = 0.0 : f64} : (tensor<4x8xf16>, tensor<4x8xf16>, tensor<4x1xf16>, tensor<4x8xf16>) -> tensor<4x8xf16>
  return
}

// -----

// (C9)
func.func @grad_kernel_constant_without_statistics(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{'norm.grad_kernel' op constant_statistics needs the statistics as operands (rstd)}}
  %dx = norm.grad_kernel %x, %x outs(%x) {axes = array<i64: 1>, constant_statistics, epsilon = 0.0 : f64} : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return
}

// -----

// (C10)
func.func @grad_kernel_input_statistics_constant(%x: tensor<4x8xf32>, %r: tensor<4x1xf32>) {
  // expected-error @+1 {{'norm.grad_kernel' op input_statistics needs the statistics as operands (rstd) and excludes constant_statistics}}
  %dx = norm.grad_kernel %x, %x rstd %r outs(%x) {axes = array<i64: 1>, constant_statistics, input_statistics, epsilon = 0.0 : f64} : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return
}

// -----

// (C11)
func.func @grad_kernel_residual_grad_type(%x: tensor<4x8xf32>, %d: tensor<4x8xf16>) {
  // expected-error @+1 {{'norm.grad_kernel' op residual_grad must have the input's shape and element type}}
  %dx = norm.grad_kernel %x, %x residual_grad %d outs(%x) {axes = array<i64: 1>, centered, epsilon = 0.0 : f64} : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf16>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return
}

// -----

// (C12)
func.func @grad_kernel_recompute_given(%x: tensor<4x8xf32>, %r: tensor<4x1xf32>) {
  // expected-error @+1 {{'norm.grad_kernel' op a schedule recomputes the statistics only with input_statistics (the input's own, saved)}}
  %dx = norm.grad_kernel %x, %x rstd %r outs(%x) {axes = array<i64: 1>, epsilon = 0.0 : f64, schedule = #norm.grad_schedule<statistics = recomputed, parallel = false>} : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return
}

// -----

// #norm.grad_schedule (C2)
func.func @grad_schedule_prefetch_range(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{grad_schedule prefetch must be in [0, 2^30], got -1}}
  %dx = norm.grad_kernel %x, %x outs(%x) {axes = array<i64: 1>, epsilon = 0.0 : f64, schedule = #norm.grad_schedule<statistics = saved, parallel = false, prefetch = -1>} : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return
}

// -----

// #norm.grad_schedule (C1)
func.func @grad_schedule_statistics(%x: tensor<4x8xf32>) {
  // expected-error @+2 {{statistics must be saved or recomputed, got 'stored'}}
  // expected-error @+1 {{failed to parse Norm_GradScheduleAttr parameter 'statistics'}}
  %dx = norm.grad_kernel %x, %x outs(%x) {axes = array<i64: 1>, epsilon = 0.0 : f64, schedule = #norm.grad_schedule<statistics = stored, parallel = false>} : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return
}

// -----

// norm.grad_moments (C8)
func.func @grad_moments_input_statistics_epsilon(%x: tensor<4x8xf32>, %m: tensor<4x1xf32>, %r: tensor<4x1xf32>) {
  // expected-error @+1 {{'norm.grad_moments' op expects epsilon (the forward's) iff input_statistics}}
  %mg, %mgx = norm.grad_moments %x, %x mean %m rstd %r axes = [1] {input_statistics} : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>) -> (tensor<4x1xf32>, tensor<4x1xf32>)
  return
}

// -----

// norm.grad_moments (C8)
func.func @grad_moments_epsilon_alone(%x: tensor<4x8xf32>, %r: tensor<4x1xf32>) {
  // expected-error @+1 {{'norm.grad_moments' op expects epsilon (the forward's) iff input_statistics}}
  %mg, %mgx = norm.grad_moments %x, %x rstd %r axes = [1] {epsilon = 1.0e-5 : f64} : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x1xf32>) -> (tensor<4x1xf32>, tensor<4x1xf32>)
  return
}

// -----

// norm.grad_moments (C8)
func.func @grad_moments_zero_degenerate_alone(%x: tensor<4x8xf32>, %r: tensor<4x1xf32>) {
  // expected-error @+1 {{'norm.grad_moments' op zero_degenerate needs input_statistics}}
  %mg, %mgx = norm.grad_moments %x, %x rstd %r axes = [1] {zero_degenerate} : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x1xf32>) -> (tensor<4x1xf32>, tensor<4x1xf32>)
  return
}

// -----

// norm.grad_moments (C9)
func.func @grad_moments_negative_epsilon(%x: tensor<4x8xf32>, %m: tensor<4x1xf32>, %r: tensor<4x1xf32>) {
  // expected-error @+1 {{'norm.grad_moments' op epsilon must not be negative, got -1.000000e+00}}
  %mg, %mgx = norm.grad_moments %x, %x mean %m rstd %r axes = [1] {epsilon = -1.0 : f64, input_statistics} : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x1xf32>, tensor<4x1xf32>) -> (tensor<4x1xf32>, tensor<4x1xf32>)
  return
}
