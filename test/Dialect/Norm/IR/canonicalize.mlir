// RUN: normlir-opt %s -canonicalize | FileCheck %s

// norm.apply drops a weight that is a splat 1.0 and a bias that is a splat
// -0.0 (x * 1 = x and x + -0 = x for every x); param_axes goes away with the
// last parameter. A +0.0 bias stays: it turns a -0.0 result into +0.0.

// CHECK-LABEL: func.func @drop_unit_weight(
// CHECK-SAME: %[[X:.*]]: tensor<8x6xf32>, %[[M:.*]]: tensor<8x1xf32>, %[[R:.*]]: tensor<8x1xf32>, %[[B:.*]]: tensor<6xf32>)
// CHECK-NEXT: %[[Y:.*]] = norm.apply %[[X]] mean %[[M]] rstd %[[R]] bias %[[B]] {param_axes = array<i64: 1>} : (tensor<8x6xf32>, tensor<8x1xf32>, tensor<8x1xf32>, tensor<6xf32>) -> tensor<8x6xf32>
// CHECK-NEXT: return %[[Y]]
func.func @drop_unit_weight(%x: tensor<8x6xf32>, %m: tensor<8x1xf32>, %r: tensor<8x1xf32>, %b: tensor<6xf32>) -> tensor<8x6xf32> {
  %w = arith.constant dense<1.0> : tensor<6xf32>
  %0 = norm.apply %x mean %m rstd %r weight %w bias %b {param_axes = array<i64: 1>}
      : (tensor<8x6xf32>, tensor<8x1xf32>, tensor<8x1xf32>, tensor<6xf32>, tensor<6xf32>) -> tensor<8x6xf32>
  return %0 : tensor<8x6xf32>
}

// CHECK-LABEL: func.func @drop_zero_bias(
// CHECK-SAME: %[[X:.*]]: tensor<8x6xf32>, %[[M:.*]]: tensor<8x1xf32>, %[[R:.*]]: tensor<8x1xf32>, %[[W:.*]]: tensor<6xf32>)
// CHECK-NEXT: %[[Y:.*]] = norm.apply %[[X]] mean %[[M]] rstd %[[R]] weight %[[W]] {param_axes = array<i64: 1>} : (tensor<8x6xf32>, tensor<8x1xf32>, tensor<8x1xf32>, tensor<6xf32>) -> tensor<8x6xf32>
// CHECK-NEXT: return %[[Y]]
func.func @drop_zero_bias(%x: tensor<8x6xf32>, %m: tensor<8x1xf32>, %r: tensor<8x1xf32>, %w: tensor<6xf32>) -> tensor<8x6xf32> {
  %b = arith.constant dense<-0.0> : tensor<6xf32>
  %0 = norm.apply %x mean %m rstd %r weight %w bias %b {param_axes = array<i64: 1>}
      : (tensor<8x6xf32>, tensor<8x1xf32>, tensor<8x1xf32>, tensor<6xf32>, tensor<6xf32>) -> tensor<8x6xf32>
  return %0 : tensor<8x6xf32>
}

// Both dropped: no parameters are left, so param_axes is removed too.
// CHECK-LABEL: func.func @drop_both(
// CHECK-SAME: %[[X:.*]]: tensor<2x4x3xf16>, %[[M:.*]]: tensor<1x4x1xf32>, %[[R:.*]]: tensor<1x4x1xf32>)
// CHECK-NOT: arith.constant
// CHECK-NEXT: %[[Y:.*]] = norm.apply %[[X]] mean %[[M]] rstd %[[R]] : (tensor<2x4x3xf16>, tensor<1x4x1xf32>, tensor<1x4x1xf32>) -> tensor<2x4x3xf16>
// CHECK-NEXT: return %[[Y]]
func.func @drop_both(%x: tensor<2x4x3xf16>, %m: tensor<1x4x1xf32>, %r: tensor<1x4x1xf32>) -> tensor<2x4x3xf16> {
  %w = arith.constant dense<1.0> : tensor<4xf16>
  %b = arith.constant dense<-0.0> : tensor<4xf32>
  %0 = norm.apply %x mean %m rstd %r weight %w bias %b {param_axes = array<i64: 1>}
      : (tensor<2x4x3xf16>, tensor<1x4x1xf32>, tensor<1x4x1xf32>, tensor<4xf16>, tensor<4xf32>) -> tensor<2x4x3xf16>
  return %0 : tensor<2x4x3xf16>
}

// A lone unit weight (RMSNorm with the default initialization), bf16.
// CHECK-LABEL: func.func @drop_only_weight(
// CHECK-SAME: %[[X:.*]]: tensor<4x16xbf16>, %[[R:.*]]: tensor<4x1xf32>)
// CHECK-NEXT: %[[Y:.*]] = norm.apply %[[X]] rstd %[[R]] : (tensor<4x16xbf16>, tensor<4x1xf32>) -> tensor<4x16xbf16>
// CHECK-NEXT: return %[[Y]]
func.func @drop_only_weight(%x: tensor<4x16xbf16>, %r: tensor<4x1xf32>) -> tensor<4x16xbf16> {
  %w = arith.constant dense<1.0> : tensor<16xbf16>
  %0 = norm.apply %x rstd %r weight %w {param_axes = array<i64: 1>}
      : (tensor<4x16xbf16>, tensor<4x1xf32>, tensor<16xbf16>) -> tensor<4x16xbf16>
  return %0 : tensor<4x16xbf16>
}

// The weight is the identity only when it is 1.0 everywhere.
// CHECK-LABEL: func.func @keep_non_splat_weight(
// CHECK: %[[W:.*]] = arith.constant dense<[1.000000e+00, 2.000000e+00, 1.000000e+00]> : tensor<3xf32>
// CHECK: norm.apply %{{.*}} rstd %{{.*}} weight %[[W]] {param_axes = array<i64: 1>}
func.func @keep_non_splat_weight(%x: tensor<2x3xf32>, %r: tensor<2x1xf32>) -> tensor<2x3xf32> {
  %w = arith.constant dense<[1.0, 2.0, 1.0]> : tensor<3xf32>
  %0 = norm.apply %x rstd %r weight %w {param_axes = array<i64: 1>}
      : (tensor<2x3xf32>, tensor<2x1xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// CHECK-LABEL: func.func @keep_splat_two_weight(
// CHECK: %[[W:.*]] = arith.constant dense<2.000000e+00> : tensor<3xf32>
// CHECK: norm.apply %{{.*}} rstd %{{.*}} weight %[[W]] {param_axes = array<i64: 1>}
func.func @keep_splat_two_weight(%x: tensor<2x3xf32>, %r: tensor<2x1xf32>) -> tensor<2x3xf32> {
  %w = arith.constant dense<2.0> : tensor<3xf32>
  %0 = norm.apply %x rstd %r weight %w {param_axes = array<i64: 1>}
      : (tensor<2x3xf32>, tensor<2x1xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// A splat 0.0 weight and a splat 1.0 bias are not identities.
// CHECK-LABEL: func.func @keep_swapped_constants(
// CHECK-DAG: %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : tensor<3xf32>
// CHECK-DAG: %[[ONE:.*]] = arith.constant dense<1.000000e+00> : tensor<3xf32>
// CHECK: norm.apply %{{.*}} rstd %{{.*}} weight %[[ZERO]] bias %[[ONE]] {param_axes = array<i64: 1>}
func.func @keep_swapped_constants(%x: tensor<2x3xf32>, %r: tensor<2x1xf32>) -> tensor<2x3xf32> {
  %w = arith.constant dense<0.0> : tensor<3xf32>
  %b = arith.constant dense<1.0> : tensor<3xf32>
  %0 = norm.apply %x rstd %r weight %w bias %b {param_axes = array<i64: 1>}
      : (tensor<2x3xf32>, tensor<2x1xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// Non-constant parameters are kept.
// CHECK-LABEL: func.func @keep_arguments(
// CHECK-SAME: %[[X:.*]]: tensor<2x3xf32>, %[[R:.*]]: tensor<2x1xf32>, %[[W:.*]]: tensor<3xf32>, %[[B:.*]]: tensor<3xf32>)
// CHECK-NEXT: norm.apply %[[X]] rstd %[[R]] weight %[[W]] bias %[[B]] {param_axes = array<i64: 1>}
func.func @keep_arguments(%x: tensor<2x3xf32>, %r: tensor<2x1xf32>, %w: tensor<3xf32>, %b: tensor<3xf32>) -> tensor<2x3xf32> {
  %0 = norm.apply %x rstd %r weight %w bias %b {param_axes = array<i64: 1>}
      : (tensor<2x3xf32>, tensor<2x1xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// Unused norm ops are pure and erased.
// CHECK-LABEL: func.func @dead_stats(
// CHECK-NEXT: return
func.func @dead_stats(%x: tensor<2x3xf32>) {
  %m, %v = norm.moments %x axes = [1] : tensor<2x3xf32> -> tensor<2x1xf32>, tensor<2x1xf32>
  %r = norm.rstd %v epsilon = 1.0e-5 : tensor<2x1xf32> -> tensor<2x1xf32>
  return
}

// A +0.0 bias is kept: (-0.0) + (+0.0) is +0.0.
// CHECK-LABEL: func.func @keep_positive_zero_bias(
// CHECK: %[[B:.*]] = arith.constant dense<0.000000e+00> : tensor<6xf32>
// CHECK: norm.apply %{{.*}} rstd %{{.*}} bias %[[B]] {param_axes = array<i64: 1>}
func.func @keep_positive_zero_bias(%x: tensor<8x6xf32>, %r: tensor<8x1xf32>) -> tensor<8x6xf32> {
  %b = arith.constant dense<0.0> : tensor<6xf32>
  %0 = norm.apply %x rstd %r bias %b {param_axes = array<i64: 1>}
      : (tensor<8x6xf32>, tensor<8x1xf32>, tensor<6xf32>) -> tensor<8x6xf32>
  return %0 : tensor<8x6xf32>
}

// -----

// A cast from a static type folds into the kernel, whose results are cast
// back for their users (upstream's cast folding would clone the kernel,
// which MLIR cannot do for an op with an empty region).
// CHECK-LABEL: func.func @kernel_absorbs_cast
// CHECK-NOT: tensor.cast %arg0
// CHECK: %[[K:.*]]:3 = norm.kernel mean_square %arg0 outs(%arg1, %arg2, %arg2)
// CHECK-SAME: (tensor<8x256xf32>, tensor<?x256xf32>, tensor<?x1xf32>, tensor<?x1xf32>) -> (tensor<?x256xf32>, tensor<?x1xf32>, tensor<?x1xf32>)
// CHECK: return %[[K]]#0
func.func @kernel_absorbs_cast(%x: tensor<8x256xf32>, %y: tensor<?x256xf32>, %s: tensor<?x1xf32>) -> tensor<?x256xf32> {
  %c = tensor.cast %x : tensor<8x256xf32> to tensor<?x256xf32>
  %r:3 = norm.kernel mean_square %c outs(%y, %s, %s) {axes = array<i64: 1>, epsilon = 1.0e-6 : f64} : (tensor<?x256xf32>, tensor<?x256xf32>, tensor<?x1xf32>, tensor<?x1xf32>) -> (tensor<?x256xf32>, tensor<?x1xf32>, tensor<?x1xf32>)
  return %r#0 : tensor<?x256xf32>
}

// -----

// An out cast from a static type: the result is refined and cast back.
// CHECK-LABEL: func.func @kernel_out_cast
// CHECK: %[[K:.*]]:3 = norm.kernel {{.*}} -> (tensor<8x256xf32>, tensor<?x1xf32>, tensor<?x1xf32>)
// CHECK: %[[B:.*]] = tensor.cast %[[K]]#0 : tensor<8x256xf32> to tensor<?x256xf32>
// CHECK: return %[[B]]
func.func @kernel_out_cast(%x: tensor<?x256xf32>, %y: tensor<8x256xf32>, %s: tensor<?x1xf32>) -> tensor<?x256xf32> {
  %c = tensor.cast %y : tensor<8x256xf32> to tensor<?x256xf32>
  %r:3 = norm.kernel mean_square %x outs(%c, %s, %s) {axes = array<i64: 1>, epsilon = 1.0e-6 : f64} : (tensor<?x256xf32>, tensor<?x256xf32>, tensor<?x1xf32>, tensor<?x1xf32>) -> (tensor<?x256xf32>, tensor<?x1xf32>, tensor<?x1xf32>)
  return %r#0 : tensor<?x256xf32>
}

// -----

// A check of a constant true is erased.
// CHECK-LABEL: func.func @true_check
// CHECK-NOT: norm.check
func.func @true_check() {
  %t = arith.constant true
  norm.check %t, "never fails"
  return
}
