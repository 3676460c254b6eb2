// RUN: normlir-opt %s | normlir-opt | FileCheck %s
// RUN: normlir-opt %s --mlir-print-op-generic | normlir-opt | FileCheck %s

//===----------------------------------------------------------------------===//
// Core ops
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @moments(
// CHECK-SAME: %[[X:.*]]: tensor<8x6x3x4xf32>, %[[H:.*]]: tensor<2x4x3xf16>, %[[B:.*]]: tensor<2x4x3xbf16>)
func.func @moments(%x: tensor<8x6x3x4xf32>, %h: tensor<2x4x3xf16>, %b: tensor<2x4x3xbf16>)
    -> (tensor<8x6x1x1xf32>, tensor<8x6x1x1xf32>, tensor<1x4x1xf32>, tensor<1x1x1xf32>) {
  // CHECK: %{{.*}}, %{{.*}} = norm.moments %[[X]] axes = [2, 3] : tensor<8x6x3x4xf32> -> tensor<8x6x1x1xf32>, tensor<8x6x1x1xf32>
  %m, %v = norm.moments %x axes = [2, 3] : tensor<8x6x3x4xf32> -> tensor<8x6x1x1xf32>, tensor<8x6x1x1xf32>
  // CHECK: norm.moments %[[H]] axes = [0, 2] : tensor<2x4x3xf16> -> tensor<1x4x1xf32>, tensor<1x4x1xf32>
  %hm, %hv = norm.moments %h axes = [0, 2] : tensor<2x4x3xf16> -> tensor<1x4x1xf32>, tensor<1x4x1xf32>
  // CHECK: norm.moments %[[B]] axes = [0, 1, 2] : tensor<2x4x3xbf16> -> tensor<1x1x1xf32>, tensor<1x1x1xf32>
  %bm, %bv = norm.moments %b axes = [0, 1, 2] : tensor<2x4x3xbf16> -> tensor<1x1x1xf32>, tensor<1x1x1xf32>
  return %m, %v, %hv, %bm : tensor<8x6x1x1xf32>, tensor<8x6x1x1xf32>, tensor<1x4x1xf32>, tensor<1x1x1xf32>
}

// CHECK-LABEL: func.func @mean_square(
// CHECK-SAME: %[[X:.*]]: tensor<4x16xf32>, %[[H:.*]]: tensor<2x3x8xbf16>)
func.func @mean_square(%x: tensor<4x16xf32>, %h: tensor<2x3x8xbf16>) -> (tensor<4x1xf32>, tensor<2x1x1xf32>) {
  // CHECK: norm.mean_square %[[X]] axes = [1] : tensor<4x16xf32> -> tensor<4x1xf32>
  %0 = norm.mean_square %x axes = [1] : tensor<4x16xf32> -> tensor<4x1xf32>
  // CHECK: norm.mean_square %[[H]] axes = [1, 2] : tensor<2x3x8xbf16> -> tensor<2x1x1xf32>
  %1 = norm.mean_square %h axes = [1, 2] : tensor<2x3x8xbf16> -> tensor<2x1x1xf32>
  return %0, %1 : tensor<4x1xf32>, tensor<2x1x1xf32>
}

// CHECK-LABEL: func.func @rstd(
// CHECK-SAME: %[[V:.*]]: tensor<4x1xf32>, %[[RV:.*]]: tensor<4xf16>)
func.func @rstd(%v: tensor<4x1xf32>, %rv: tensor<4xf16>) -> (tensor<4x1xf32>, tensor<4xf32>, tensor<4x1xf32>) {
  // CHECK: norm.rstd %[[V]] epsilon = 1.000000e-05 : tensor<4x1xf32> -> tensor<4x1xf32>
  %0 = norm.rstd %v epsilon = 1.0e-5 : tensor<4x1xf32> -> tensor<4x1xf32>
  // A stored running variance may be f16/bf16; the result is always f32.
  // CHECK: norm.rstd %[[RV]] epsilon = 1.000000e-03 : tensor<4xf16> -> tensor<4xf32>
  %1 = norm.rstd %rv epsilon = 1.0e-3 : tensor<4xf16> -> tensor<4xf32>
  // CHECK: norm.rstd %[[V]] epsilon = 0.000000e+00 : tensor<4x1xf32> -> tensor<4x1xf32>
  %2 = norm.rstd %v epsilon = 0.0 : tensor<4x1xf32> -> tensor<4x1xf32>
  // PyTorch's InvStd; and epsilons PyTorch accepts (+inf, NaN).
  // CHECK: norm.rstd %[[V]] epsilon = 0.000000e+00 {zero_degenerate} : tensor<4x1xf32> -> tensor<4x1xf32>
  %3 = norm.rstd %v epsilon = 0.0 {zero_degenerate} : tensor<4x1xf32> -> tensor<4x1xf32>
  // CHECK: norm.rstd %[[V]] epsilon = 0x7FF0000000000000 : tensor<4x1xf32> -> tensor<4x1xf32>
  %4 = norm.rstd %v epsilon = 0x7FF0000000000000 : tensor<4x1xf32> -> tensor<4x1xf32>
  // CHECK: norm.rstd %[[V]] epsilon = 0x7FF8000000000000 : tensor<4x1xf32> -> tensor<4x1xf32>
  %5 = norm.rstd %v epsilon = 0x7FF8000000000000 : tensor<4x1xf32> -> tensor<4x1xf32>
  return %0, %1, %2 : tensor<4x1xf32>, tensor<4xf32>, tensor<4x1xf32>
}

// CHECK-LABEL: func.func @apply(
// CHECK-SAME: %[[X:.*]]: tensor<8x6x3x4xf32>, %[[M:.*]]: tensor<8x6x1x1xf32>, %[[R:.*]]: tensor<8x6x1x1xf32>, %[[W:.*]]: tensor<3x4xf32>, %[[B:.*]]: tensor<3x4xf32>)
func.func @apply(%x: tensor<8x6x3x4xf32>, %m: tensor<8x6x1x1xf32>, %r: tensor<8x6x1x1xf32>,
                 %w: tensor<3x4xf32>, %b: tensor<3x4xf32>)
    -> (tensor<8x6x3x4xf32>, tensor<8x6x3x4xf32>, tensor<8x6x3x4xf32>, tensor<8x6x3x4xf32>) {
  // CHECK: norm.apply %[[X]] mean %[[M]] rstd %[[R]] weight %[[W]] bias %[[B]] {param_axes = array<i64: 2, 3>} : (tensor<8x6x3x4xf32>, tensor<8x6x1x1xf32>, tensor<8x6x1x1xf32>, tensor<3x4xf32>, tensor<3x4xf32>) -> tensor<8x6x3x4xf32>
  %0 = norm.apply %x mean %m rstd %r weight %w bias %b {param_axes = array<i64: 2, 3>}
      : (tensor<8x6x3x4xf32>, tensor<8x6x1x1xf32>, tensor<8x6x1x1xf32>, tensor<3x4xf32>, tensor<3x4xf32>) -> tensor<8x6x3x4xf32>
  // No mean (RMSNorm), weight only.
  // CHECK: norm.apply %[[X]] rstd %[[R]] weight %[[W]] {param_axes = array<i64: 2, 3>} : (tensor<8x6x3x4xf32>, tensor<8x6x1x1xf32>, tensor<3x4xf32>) -> tensor<8x6x3x4xf32>
  %1 = norm.apply %x rstd %r weight %w {param_axes = array<i64: 2, 3>}
      : (tensor<8x6x3x4xf32>, tensor<8x6x1x1xf32>, tensor<3x4xf32>) -> tensor<8x6x3x4xf32>
  // Bias only.
  // CHECK: norm.apply %[[X]] mean %[[M]] rstd %[[R]] bias %[[B]] {param_axes = array<i64: 2, 3>} : (tensor<8x6x3x4xf32>, tensor<8x6x1x1xf32>, tensor<8x6x1x1xf32>, tensor<3x4xf32>) -> tensor<8x6x3x4xf32>
  %2 = norm.apply %x mean %m rstd %r bias %b {param_axes = array<i64: 2, 3>}
      : (tensor<8x6x3x4xf32>, tensor<8x6x1x1xf32>, tensor<8x6x1x1xf32>, tensor<3x4xf32>) -> tensor<8x6x3x4xf32>
  // No parameters: param_axes is absent (its default, empty, is elided).
  // CHECK: norm.apply %[[X]] mean %[[M]] rstd %[[R]] : (tensor<8x6x3x4xf32>, tensor<8x6x1x1xf32>, tensor<8x6x1x1xf32>) -> tensor<8x6x3x4xf32>
  %3 = norm.apply %x mean %m rstd %r
      : (tensor<8x6x3x4xf32>, tensor<8x6x1x1xf32>, tensor<8x6x1x1xf32>) -> tensor<8x6x3x4xf32>
  return %0, %1, %2, %3 : tensor<8x6x3x4xf32>, tensor<8x6x3x4xf32>, tensor<8x6x3x4xf32>, tensor<8x6x3x4xf32>
}

// CHECK-LABEL: func.func @apply_low_precision(
// CHECK-SAME: %[[X:.*]]: tensor<2x4x3xbf16>, %[[M:.*]]: tensor<1x4x1xf32>, %[[R:.*]]: tensor<1x4x1xf32>, %[[W:.*]]: tensor<4xbf16>, %[[B:.*]]: tensor<4xf32>)
func.func @apply_low_precision(%x: tensor<2x4x3xbf16>, %m: tensor<1x4x1xf32>, %r: tensor<1x4x1xf32>,
                               %w: tensor<4xbf16>, %b: tensor<4xf32>) -> tensor<2x4x3xbf16> {
  // Parameters are f32 or the input's element type, independently.
  // CHECK: norm.apply %[[X]] mean %[[M]] rstd %[[R]] weight %[[W]] bias %[[B]] {param_axes = array<i64: 1>} : (tensor<2x4x3xbf16>, tensor<1x4x1xf32>, tensor<1x4x1xf32>, tensor<4xbf16>, tensor<4xf32>) -> tensor<2x4x3xbf16>
  %0 = norm.apply %x mean %m rstd %r weight %w bias %b {param_axes = array<i64: 1>}
      : (tensor<2x4x3xbf16>, tensor<1x4x1xf32>, tensor<1x4x1xf32>, tensor<4xbf16>, tensor<4xf32>) -> tensor<2x4x3xbf16>
  return %0 : tensor<2x4x3xbf16>
}

//===----------------------------------------------------------------------===//
// LayerNorm
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @layer_norm(
// CHECK-SAME: %[[X:.*]]: tensor<8x6x3x4xf32>, %[[W:.*]]: tensor<3x4xf32>, %[[B:.*]]: tensor<3x4xf32>)
func.func @layer_norm(%x: tensor<8x6x3x4xf32>, %w: tensor<3x4xf32>, %b: tensor<3x4xf32>) {
  // CHECK: norm.layer_norm %[[X]] weight %[[W]] bias %[[B]] {normalized_shape = array<i64: 3, 4>} : (tensor<8x6x3x4xf32>, tensor<3x4xf32>, tensor<3x4xf32>) -> (tensor<8x6x3x4xf32>, tensor<8x6x1x1xf32>, tensor<8x6x1x1xf32>)
  %y0, %m0, %r0 = norm.layer_norm %x weight %w bias %b {normalized_shape = array<i64: 3, 4>}
      : (tensor<8x6x3x4xf32>, tensor<3x4xf32>, tensor<3x4xf32>) -> (tensor<8x6x3x4xf32>, tensor<8x6x1x1xf32>, tensor<8x6x1x1xf32>)
  // elementwise_affine=False, non-default eps.
  // CHECK: norm.layer_norm %[[X]] {epsilon = 9.9999999999999995E-7 : f64, normalized_shape = array<i64: 4>} : (tensor<8x6x3x4xf32>) -> (tensor<8x6x3x4xf32>, tensor<8x6x3x1xf32>, tensor<8x6x3x1xf32>)
  %y1, %m1, %r1 = norm.layer_norm %x {normalized_shape = array<i64: 4>, epsilon = 1.0e-6 : f64}
      : (tensor<8x6x3x4xf32>) -> (tensor<8x6x3x4xf32>, tensor<8x6x3x1xf32>, tensor<8x6x3x1xf32>)
  // bias=False.
  // CHECK: norm.layer_norm %[[X]] weight %[[W]] {normalized_shape = array<i64: 3, 4>} : (tensor<8x6x3x4xf32>, tensor<3x4xf32>) -> (tensor<8x6x3x4xf32>, tensor<8x6x1x1xf32>, tensor<8x6x1x1xf32>)
  %y2, %m2, %r2 = norm.layer_norm %x weight %w {normalized_shape = array<i64: 3, 4>}
      : (tensor<8x6x3x4xf32>, tensor<3x4xf32>) -> (tensor<8x6x3x4xf32>, tensor<8x6x1x1xf32>, tensor<8x6x1x1xf32>)
  // Bias without weight.
  // CHECK: norm.layer_norm %[[X]] bias %[[B]] {normalized_shape = array<i64: 3, 4>} : (tensor<8x6x3x4xf32>, tensor<3x4xf32>) -> (tensor<8x6x3x4xf32>, tensor<8x6x1x1xf32>, tensor<8x6x1x1xf32>)
  %y3, %m3, %r3 = norm.layer_norm %x bias %b {normalized_shape = array<i64: 3, 4>}
      : (tensor<8x6x3x4xf32>, tensor<3x4xf32>) -> (tensor<8x6x3x4xf32>, tensor<8x6x1x1xf32>, tensor<8x6x1x1xf32>)
  // normalized_shape covering the whole input.
  // CHECK: norm.layer_norm %[[X]] {normalized_shape = array<i64: 8, 6, 3, 4>} : (tensor<8x6x3x4xf32>) -> (tensor<8x6x3x4xf32>, tensor<1x1x1x1xf32>, tensor<1x1x1x1xf32>)
  %y4, %m4, %r4 = norm.layer_norm %x {normalized_shape = array<i64: 8, 6, 3, 4>}
      : (tensor<8x6x3x4xf32>) -> (tensor<8x6x3x4xf32>, tensor<1x1x1x1xf32>, tensor<1x1x1x1xf32>)
  return
}

// CHECK-LABEL: func.func @layer_norm_f16(
// CHECK-SAME: %[[X:.*]]: tensor<2x5x16xf16>, %[[W:.*]]: tensor<16xf16>, %[[B:.*]]: tensor<16xf32>)
func.func @layer_norm_f16(%x: tensor<2x5x16xf16>, %w: tensor<16xf16>, %b: tensor<16xf32>)
    -> (tensor<2x5x16xf16>, tensor<2x5x1xf32>, tensor<2x5x1xf32>) {
  // CHECK: norm.layer_norm %[[X]] weight %[[W]] bias %[[B]] {normalized_shape = array<i64: 16>} : (tensor<2x5x16xf16>, tensor<16xf16>, tensor<16xf32>) -> (tensor<2x5x16xf16>, tensor<2x5x1xf32>, tensor<2x5x1xf32>)
  %y, %m, %r = norm.layer_norm %x weight %w bias %b {normalized_shape = array<i64: 16>}
      : (tensor<2x5x16xf16>, tensor<16xf16>, tensor<16xf32>) -> (tensor<2x5x16xf16>, tensor<2x5x1xf32>, tensor<2x5x1xf32>)
  return %y, %m, %r : tensor<2x5x16xf16>, tensor<2x5x1xf32>, tensor<2x5x1xf32>
}

//===----------------------------------------------------------------------===//
// RMSNorm
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @rms_norm(
// CHECK-SAME: %[[X:.*]]: tensor<2x5x16xbf16>, %[[W:.*]]: tensor<16xbf16>, %[[WF:.*]]: tensor<16xf32>)
func.func @rms_norm(%x: tensor<2x5x16xbf16>, %w: tensor<16xbf16>, %wf: tensor<16xf32>) {
  // eps=None: no epsilon attribute.
  // CHECK: norm.rms_norm %[[X]] weight %[[W]] {normalized_shape = array<i64: 16>} : (tensor<2x5x16xbf16>, tensor<16xbf16>) -> (tensor<2x5x16xbf16>, tensor<2x5x1xf32>)
  %y0, %r0 = norm.rms_norm %x weight %w {normalized_shape = array<i64: 16>}
      : (tensor<2x5x16xbf16>, tensor<16xbf16>) -> (tensor<2x5x16xbf16>, tensor<2x5x1xf32>)
  // CHECK: norm.rms_norm %[[X]] weight %[[WF]] {epsilon = 9.9999999999999995E-7 : f64, normalized_shape = array<i64: 16>} : (tensor<2x5x16xbf16>, tensor<16xf32>) -> (tensor<2x5x16xbf16>, tensor<2x5x1xf32>)
  %y1, %r1 = norm.rms_norm %x weight %wf {normalized_shape = array<i64: 16>, epsilon = 1.0e-6 : f64}
      : (tensor<2x5x16xbf16>, tensor<16xf32>) -> (tensor<2x5x16xbf16>, tensor<2x5x1xf32>)
  // elementwise_affine=False, two normalized dims.
  // CHECK: norm.rms_norm %[[X]] {normalized_shape = array<i64: 5, 16>} : (tensor<2x5x16xbf16>) -> (tensor<2x5x16xbf16>, tensor<2x1x1xf32>)
  %y2, %r2 = norm.rms_norm %x {normalized_shape = array<i64: 5, 16>}
      : (tensor<2x5x16xbf16>) -> (tensor<2x5x16xbf16>, tensor<2x1x1xf32>)
  return
}

//===----------------------------------------------------------------------===//
// BatchNorm
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @batch_norm_training(
// CHECK-SAME: %[[X:.*]]: tensor<8x4x5x5xf32>, %[[W:.*]]: tensor<4xf32>, %[[B:.*]]: tensor<4xf32>)
func.func @batch_norm_training(%x: tensor<8x4x5x5xf32>, %w: tensor<4xf32>, %b: tensor<4xf32>) {
  // Training without running statistics: output, save_mean, save_rstd.
  // CHECK: norm.batch_norm %[[X]] weight %[[W]] bias %[[B]] {training} : (tensor<8x4x5x5xf32>, tensor<4xf32>, tensor<4xf32>) -> (tensor<8x4x5x5xf32>, tensor<4xf32>, tensor<4xf32>)
  %y:3 = norm.batch_norm %x weight %w bias %b {training}
      : (tensor<8x4x5x5xf32>, tensor<4xf32>, tensor<4xf32>) -> (tensor<8x4x5x5xf32>, tensor<4xf32>, tensor<4xf32>)
  // affine=False, non-default epsilon.
  // CHECK: norm.batch_norm %[[X]] {epsilon = 1.000000e-03 : f64, training} : (tensor<8x4x5x5xf32>) -> (tensor<8x4x5x5xf32>, tensor<4xf32>, tensor<4xf32>)
  %z:3 = norm.batch_norm %x {training, epsilon = 1.0e-3 : f64}
      : (tensor<8x4x5x5xf32>) -> (tensor<8x4x5x5xf32>, tensor<4xf32>, tensor<4xf32>)
  return
}

// CHECK-LABEL: func.func @batch_norm_running(
// CHECK-SAME: %[[X:.*]]: tensor<8x4x5x5xf32>, %[[W:.*]]: tensor<4xf32>, %[[B:.*]]: tensor<4xf32>, %[[RM:.*]]: tensor<4xf32>, %[[RV:.*]]: tensor<4xf32>, %[[N:.*]]: tensor<i64>)
func.func @batch_norm_running(%x: tensor<8x4x5x5xf32>, %w: tensor<4xf32>, %b: tensor<4xf32>,
                              %rm: tensor<4xf32>, %rv: tensor<4xf32>, %n: tensor<i64>) {
  // Training with running statistics: + updated running_mean/var.
  // CHECK: norm.batch_norm %[[X]] weight %[[W]] bias %[[B]] running(%[[RM]], %[[RV]]) {momentum = 2.000000e-01 : f64, training} : (tensor<8x4x5x5xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> (tensor<8x4x5x5xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
  %y:5 = norm.batch_norm %x weight %w bias %b running(%rm, %rv) {training, momentum = 0.2 : f64}
      : (tensor<8x4x5x5xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
      -> (tensor<8x4x5x5xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
  // + num_batches_tracked.
  // CHECK: norm.batch_norm %[[X]] running(%[[RM]], %[[RV]]) batches_tracked %[[N]] {training} : (tensor<8x4x5x5xf32>, tensor<4xf32>, tensor<4xf32>, tensor<i64>) -> (tensor<8x4x5x5xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<i64>)
  %z:6 = norm.batch_norm %x running(%rm, %rv) batches_tracked %n {training}
      : (tensor<8x4x5x5xf32>, tensor<4xf32>, tensor<4xf32>, tensor<i64>)
      -> (tensor<8x4x5x5xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<i64>)
  // momentum=None.
  // CHECK: norm.batch_norm %[[X]] weight %[[W]] running(%[[RM]], %[[RV]]) batches_tracked %[[N]] {cumulative_average, training} : (tensor<8x4x5x5xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<i64>) -> (tensor<8x4x5x5xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<i64>)
  %c:6 = norm.batch_norm %x weight %w running(%rm, %rv) batches_tracked %n {training, cumulative_average}
      : (tensor<8x4x5x5xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<i64>)
      -> (tensor<8x4x5x5xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<i64>)
  return
}

// CHECK-LABEL: func.func @batch_norm_eval(
// CHECK-SAME: %[[X:.*]]: tensor<8x4xf16>, %[[W:.*]]: tensor<4xf16>, %[[B:.*]]: tensor<4xf16>, %[[RM:.*]]: tensor<4xf16>, %[[RV:.*]]: tensor<4xf16>)
func.func @batch_norm_eval(%x: tensor<8x4xf16>, %w: tensor<4xf16>, %b: tensor<4xf16>,
                           %rm: tensor<4xf16>, %rv: tensor<4xf16>) -> tensor<8x4xf16> {
  // Eval: only the output; running statistics in the input's type.
  // CHECK: norm.batch_norm %[[X]] weight %[[W]] bias %[[B]] running(%[[RM]], %[[RV]]) : (tensor<8x4xf16>, tensor<4xf16>, tensor<4xf16>, tensor<4xf16>, tensor<4xf16>) -> tensor<8x4xf16>
  %y = norm.batch_norm %x weight %w bias %b running(%rm, %rv)
      : (tensor<8x4xf16>, tensor<4xf16>, tensor<4xf16>, tensor<4xf16>, tensor<4xf16>) -> tensor<8x4xf16>
  return %y : tensor<8x4xf16>
}

// CHECK-LABEL: func.func @batch_norm_channels_last(
// CHECK-SAME: %[[X:.*]]: tensor<2x5x5x3xbf16>, %[[RM:.*]]: tensor<3xf32>, %[[RV:.*]]: tensor<3xf32>)
func.func @batch_norm_channels_last(%x: tensor<2x5x5x3xbf16>, %rm: tensor<3xf32>, %rv: tensor<3xf32>) {
  // CHECK: norm.batch_norm %[[X]] running(%[[RM]], %[[RV]]) {channel_axis = 3 : i64, training} : (tensor<2x5x5x3xbf16>, tensor<3xf32>, tensor<3xf32>) -> (tensor<2x5x5x3xbf16>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>)
  %y:5 = norm.batch_norm %x running(%rm, %rv) {channel_axis = 3 : i64, training}
      : (tensor<2x5x5x3xbf16>, tensor<3xf32>, tensor<3xf32>)
      -> (tensor<2x5x5x3xbf16>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>)
  // CHECK: norm.batch_norm %[[X]] running(%[[RM]], %[[RV]]) {channel_axis = 3 : i64} : (tensor<2x5x5x3xbf16>, tensor<3xf32>, tensor<3xf32>) -> tensor<2x5x5x3xbf16>
  %z = norm.batch_norm %x running(%rm, %rv) {channel_axis = 3 : i64}
      : (tensor<2x5x5x3xbf16>, tensor<3xf32>, tensor<3xf32>) -> tensor<2x5x5x3xbf16>
  return
}

//===----------------------------------------------------------------------===//
// InstanceNorm
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @instance_norm(
// CHECK-SAME: %[[X:.*]]: tensor<2x3x4x4xf32>, %[[W:.*]]: tensor<3xf32>, %[[B:.*]]: tensor<3xf32>, %[[RM:.*]]: tensor<3xf32>, %[[RV:.*]]: tensor<3xf32>)
func.func @instance_norm(%x: tensor<2x3x4x4xf32>, %w: tensor<3xf32>, %b: tensor<3xf32>,
                         %rm: tensor<3xf32>, %rv: tensor<3xf32>) {
  // Default (track_running_stats=False): input statistics, output only.
  // CHECK: norm.instance_norm %[[X]] : (tensor<2x3x4x4xf32>) -> tensor<2x3x4x4xf32>
  %y0 = norm.instance_norm %x : (tensor<2x3x4x4xf32>) -> tensor<2x3x4x4xf32>
  // affine=True.
  // CHECK: norm.instance_norm %[[X]] weight %[[W]] bias %[[B]] {epsilon = 1.000000e-03 : f64} : (tensor<2x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<2x3x4x4xf32>
  %y1 = norm.instance_norm %x weight %w bias %b {epsilon = 1.0e-3 : f64}
      : (tensor<2x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<2x3x4x4xf32>
  // Eval with tracked running statistics.
  // CHECK: norm.instance_norm %[[X]] running(%[[RM]], %[[RV]]) : (tensor<2x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<2x3x4x4xf32>
  %y2 = norm.instance_norm %x running(%rm, %rv)
      : (tensor<2x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<2x3x4x4xf32>
  // Training with tracked running statistics: + updated running_mean/var.
  // CHECK: norm.instance_norm %[[X]] weight %[[W]] running(%[[RM]], %[[RV]]) {momentum = 5.000000e-01 : f64, training} : (tensor<2x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> (tensor<2x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>)
  %y3:3 = norm.instance_norm %x weight %w running(%rm, %rv) {training, momentum = 0.5 : f64}
      : (tensor<2x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>)
      -> (tensor<2x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>)
  // Training without running statistics: output only.
  // CHECK: norm.instance_norm %[[X]] {training} : (tensor<2x3x4x4xf32>) -> tensor<2x3x4x4xf32>
  %y4 = norm.instance_norm %x {training} : (tensor<2x3x4x4xf32>) -> tensor<2x3x4x4xf32>
  return
}

// CHECK-LABEL: func.func @instance_norm_channels_last(
// CHECK-SAME: %[[X:.*]]: tensor<2x7x3xf16>, %[[W:.*]]: tensor<3xf16>, %[[RM:.*]]: tensor<3xf16>, %[[RV:.*]]: tensor<3xf16>)
func.func @instance_norm_channels_last(%x: tensor<2x7x3xf16>, %w: tensor<3xf16>,
                                       %rm: tensor<3xf16>, %rv: tensor<3xf16>) {
  // CHECK: norm.instance_norm %[[X]] weight %[[W]] {channel_axis = 2 : i64} : (tensor<2x7x3xf16>, tensor<3xf16>) -> tensor<2x7x3xf16>
  %y0 = norm.instance_norm %x weight %w {channel_axis = 2 : i64}
      : (tensor<2x7x3xf16>, tensor<3xf16>) -> tensor<2x7x3xf16>
  // CHECK: norm.instance_norm %[[X]] running(%[[RM]], %[[RV]]) {channel_axis = 2 : i64, training} : (tensor<2x7x3xf16>, tensor<3xf16>, tensor<3xf16>) -> (tensor<2x7x3xf16>, tensor<3xf16>, tensor<3xf16>)
  %y1:3 = norm.instance_norm %x running(%rm, %rv) {channel_axis = 2 : i64, training}
      : (tensor<2x7x3xf16>, tensor<3xf16>, tensor<3xf16>) -> (tensor<2x7x3xf16>, tensor<3xf16>, tensor<3xf16>)
  return
}

//===----------------------------------------------------------------------===//
// GroupNorm
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @group_norm(
// CHECK-SAME: %[[X:.*]]: tensor<2x6x4x4xf32>, %[[W:.*]]: tensor<6xf32>, %[[B:.*]]: tensor<6xf32>)
func.func @group_norm(%x: tensor<2x6x4x4xf32>, %w: tensor<6xf32>, %b: tensor<6xf32>) {
  // CHECK: norm.group_norm %[[X]] weight %[[W]] bias %[[B]] {num_groups = 3 : i64} : (tensor<2x6x4x4xf32>, tensor<6xf32>, tensor<6xf32>) -> (tensor<2x6x4x4xf32>, tensor<2x3xf32>, tensor<2x3xf32>)
  %y0:3 = norm.group_norm %x weight %w bias %b {num_groups = 3}
      : (tensor<2x6x4x4xf32>, tensor<6xf32>, tensor<6xf32>) -> (tensor<2x6x4x4xf32>, tensor<2x3xf32>, tensor<2x3xf32>)
  // One group per channel (InstanceNorm-like) and a single group (LayerNorm-like).
  // CHECK: norm.group_norm %[[X]] {epsilon = 9.9999999999999995E-7 : f64, num_groups = 6 : i64} : (tensor<2x6x4x4xf32>) -> (tensor<2x6x4x4xf32>, tensor<2x6xf32>, tensor<2x6xf32>)
  %y1:3 = norm.group_norm %x {num_groups = 6, epsilon = 1.0e-6 : f64}
      : (tensor<2x6x4x4xf32>) -> (tensor<2x6x4x4xf32>, tensor<2x6xf32>, tensor<2x6xf32>)
  // CHECK: norm.group_norm %[[X]] bias %[[B]] {num_groups = 1 : i64} : (tensor<2x6x4x4xf32>, tensor<6xf32>) -> (tensor<2x6x4x4xf32>, tensor<2x1xf32>, tensor<2x1xf32>)
  %y2:3 = norm.group_norm %x bias %b {num_groups = 1}
      : (tensor<2x6x4x4xf32>, tensor<6xf32>) -> (tensor<2x6x4x4xf32>, tensor<2x1xf32>, tensor<2x1xf32>)
  return
}

// CHECK-LABEL: func.func @group_norm_channels_last(
// CHECK-SAME: %[[X:.*]]: tensor<2x4x4x8xbf16>, %[[W:.*]]: tensor<8xbf16>, %[[B:.*]]: tensor<8xf32>)
func.func @group_norm_channels_last(%x: tensor<2x4x4x8xbf16>, %w: tensor<8xbf16>, %b: tensor<8xf32>)
    -> (tensor<2x4x4x8xbf16>, tensor<2x2xf32>, tensor<2x2xf32>) {
  // CHECK: norm.group_norm %[[X]] weight %[[W]] bias %[[B]] {channel_axis = 3 : i64, num_groups = 2 : i64} : (tensor<2x4x4x8xbf16>, tensor<8xbf16>, tensor<8xf32>) -> (tensor<2x4x4x8xbf16>, tensor<2x2xf32>, tensor<2x2xf32>)
  %y:3 = norm.group_norm %x weight %w bias %b {num_groups = 2, channel_axis = 3 : i64}
      : (tensor<2x4x4x8xbf16>, tensor<8xbf16>, tensor<8xf32>) -> (tensor<2x4x4x8xbf16>, tensor<2x2xf32>, tensor<2x2xf32>)
  return %y#0, %y#1, %y#2 : tensor<2x4x4x8xbf16>, tensor<2x2xf32>, tensor<2x2xf32>
}

//===----------------------------------------------------------------------===//
// Fused kernel
//===----------------------------------------------------------------------===//

// Earlier releases printed the strategy quoted; that spelling still parses
// (tuning databases keep working) and prints as the keyword.
// CHECK-LABEL: func.func @quoted_strategy(
// CHECK: schedule = #norm.gpu_schedule<strategy = segment, threads = 64, rows = 1, vectorWidth = 4, chunks = 2>
func.func @quoted_strategy(%x: tensor<4x16xf32>, %r: tensor<4x1xf32>) -> tensor<4x16xf32> {
  %e = tensor.empty() : tensor<4x16xf32>
  %k = norm.kernel apply %x rstd %r outs(%e) {axes = array<i64: 1>, schedule = #norm.gpu_schedule<strategy = "segment", threads = 64, rows = 1, vectorWidth = 4, chunks = 2>} : (tensor<4x16xf32>, tensor<4x1xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  return %k : tensor<4x16xf32>
}

// CHECK-LABEL: func.func @kernel_tensors(
// CHECK: %{{.*}}:4 = norm.kernel moments %{{.*}} weight %{{.*}} bias %{{.*}} outs(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) {axes = array<i64: 1>, epsilon = 1.000000e-05 : f64, param_axes = array<i64: 1>, schedule = #norm.schedule<strategy = row, vectorWidth = 16, unroll = 4, chunks = 1, rowTasks = 4, nontemporal = true, parallel = true>}
func.func @kernel_tensors(%x: tensor<4x16xbf16>, %w: tensor<16xf32>, %b: tensor<16xbf16>) -> tensor<4x16xbf16> {
  %e = tensor.empty() : tensor<4x16xbf16>
  %s = tensor.empty() : tensor<4x1xf32>
  %k:4 = norm.kernel moments %x weight %w bias %b outs(%e, %s, %s, %s)
      {axes = array<i64: 1>, param_axes = array<i64: 1>, epsilon = 1.0e-5 : f64,
       schedule = #norm.schedule<strategy = row, vectorWidth = 16, unroll = 4, chunks = 1, rowTasks = 4, nontemporal = true, parallel = true>}
      : (tensor<4x16xbf16>, tensor<16xf32>, tensor<16xbf16>, tensor<4x16xbf16>, tensor<4x1xf32>, tensor<4x1xf32>, tensor<4x1xf32>)
      -> (tensor<4x16xbf16>, tensor<4x1xf32>, tensor<4x1xf32>, tensor<4x1xf32>)
  return %k#0 : tensor<4x16xbf16>
}

// CHECK-LABEL: func.func @kernel_gpu_schedule(
// CHECK: schedule = #norm.gpu_schedule<strategy = row, threads = 16, rows = 8, vectorWidth = 8, chunks = 1>
func.func @kernel_gpu_schedule(%x: tensor<4x16xbf16>, %w: tensor<16xbf16>) -> tensor<4x16xbf16> {
  %e = tensor.empty() : tensor<4x16xbf16>
  %s = tensor.empty() : tensor<4x1xf32>
  %k:3 = norm.kernel mean_square %x weight %w outs(%e, %s, %s)
      {axes = array<i64: 1>, param_axes = array<i64: 1>, epsilon = 1.0e-6 : f64,
       schedule = #norm.gpu_schedule<strategy = row, threads = 16, rows = 8, vectorWidth = 8, chunks = 1>}
      : (tensor<4x16xbf16>, tensor<16xbf16>, tensor<4x16xbf16>, tensor<4x1xf32>, tensor<4x1xf32>)
      -> (tensor<4x16xbf16>, tensor<4x1xf32>, tensor<4x1xf32>)
  return %k#0 : tensor<4x16xbf16>
}

// CHECK-LABEL: func.func @kernel_memrefs(
// CHECK: norm.kernel apply %{{.*}} mean %{{.*}} rstd %{{.*}} outs(%{{.*}}) {axes = array<i64: 0, 2>} : (memref<4x3x5xf16>, memref<1x3x1xf32>, memref<1x3x1xf32>, memref<4x3x5xf16>) -> ()
func.func @kernel_memrefs(%x: memref<4x3x5xf16>, %m: memref<1x3x1xf32>, %r: memref<1x3x1xf32>, %y: memref<4x3x5xf16>) {
  norm.kernel apply %x mean %m rstd %r outs(%y) {axes = array<i64: 0, 2>}
      : (memref<4x3x5xf16>, memref<1x3x1xf32>, memref<1x3x1xf32>, memref<4x3x5xf16>) -> ()
  return
}

// CHECK-LABEL: func.func @kernel_regions(
// CHECK: norm.kernel apply %{{.*}}, %{{.*}} rstd %{{.*}} outs(%{{.*}}) prologue {
// CHECK: norm.yield %{{.*}} : f32
// CHECK: } epilogue {
// CHECK: norm.yield %{{.*}} : f16
// CHECK: } {axes = array<i64: 1>}
func.func @kernel_regions(%a: tensor<4x16xf16>, %b: tensor<4x16xf32>, %r: tensor<4x1xf32>) -> tensor<4x16xf16> {
  %e = tensor.empty() : tensor<4x16xf16>
  %k = norm.kernel apply %a, %b rstd %r outs(%e) prologue {
  ^bb0(%p: f16, %q: f32):
    %w = arith.extf %p : f16 to f32
    %s = arith.addf %w, %q : f32
    norm.yield %s : f32
  } epilogue {
  ^bb0(%t: f32):
    %h = arith.truncf %t : f32 to f16
    norm.yield %h : f16
  } {axes = array<i64: 1>} : (tensor<4x16xf16>, tensor<4x16xf32>, tensor<4x1xf32>, tensor<4x16xf16>) -> tensor<4x16xf16>
  return %k : tensor<4x16xf16>
}

//===----------------------------------------------------------------------===//
// Dynamic dimensions
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @dynamic_layer_norm
// CHECK: norm.layer_norm %{{.*}} : (tensor<?x?x64xf32>, tensor<64xf32>, tensor<64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x1xf32>, tensor<?x?x1xf32>)
func.func @dynamic_layer_norm(%x: tensor<?x?x64xf32>, %w: tensor<64xf32>, %b: tensor<64xf32>) -> tensor<?x?x64xf32> {
  %y, %m, %r = norm.layer_norm %x weight %w bias %b {normalized_shape = array<i64: 64>} : (tensor<?x?x64xf32>, tensor<64xf32>, tensor<64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x1xf32>, tensor<?x?x1xf32>)
  return %y : tensor<?x?x64xf32>
}

// Dynamic normalized dimensions: -1 in normalized_shape, parameters of the
// input's (dynamic) length.
// CHECK-LABEL: func.func @dynamic_normalized
// CHECK: norm.layer_norm %{{.*}} {normalized_shape = array<i64: -1>} : (tensor<?x?xf32>, tensor<?xf32>, tensor<?xf32>)
func.func @dynamic_normalized(%x: tensor<?x?xf32>, %w: tensor<?xf32>, %b: tensor<?xf32>) -> tensor<?x?xf32> {
  %y, %m, %r = norm.layer_norm %x weight %w bias %b {normalized_shape = array<i64: -1>} : (tensor<?x?xf32>, tensor<?xf32>, tensor<?xf32>) -> (tensor<?x?xf32>, tensor<?x1xf32>, tensor<?x1xf32>)
  return %y : tensor<?x?xf32>
}

// The one-value-per-channel rule (C4) is a runtime check when N, H or W is
// dynamic.
// CHECK-LABEL: func.func @dynamic_batch_norm
// CHECK: norm.batch_norm
func.func @dynamic_batch_norm(%x: tensor<?x3x1x1xf32>) -> tensor<?x3x1x1xf32> {
  %y, %m, %r = norm.batch_norm %x {training, channel_axis = 1 : i64} : (tensor<?x3x1x1xf32>) -> (tensor<?x3x1x1xf32>, tensor<3xf32>, tensor<3xf32>)
  return %y : tensor<?x3x1x1xf32>
}

// CHECK-LABEL: func.func @dynamic_group_norm
// CHECK: norm.group_norm %{{.*}} : (tensor<?x6x?xf32>) -> (tensor<?x6x?xf32>, tensor<?x2xf32>, tensor<?x2xf32>)
func.func @dynamic_group_norm(%x: tensor<?x6x?xf32>) -> tensor<?x6x?xf32> {
  %y, %m, %r = norm.group_norm %x {num_groups = 2 : i64, channel_axis = 1 : i64} : (tensor<?x6x?xf32>) -> (tensor<?x6x?xf32>, tensor<?x2xf32>, tensor<?x2xf32>)
  return %y : tensor<?x6x?xf32>
}

// CHECK-LABEL: func.func @check
// CHECK: norm.check %{{.*}}, "sizes differ"
func.func @check(%ok: i1) {
  norm.check %ok, "sizes differ"
  return
}

// CHECK-LABEL: func.func @variants
// CHECK: variants = [#norm.variant<from = 0, schedule = #norm.schedule<strategy = row, vectorWidth = 8, unroll = 1, chunks = 1, rowTasks = 16, nontemporal = false, parallel = false>>, #norm.variant<from = 64, schedule = #norm.schedule<strategy = row, vectorWidth = 8, unroll = 1, chunks = 1, rowTasks = 16, nontemporal = false, parallel = true>>]
func.func @variants(%x: memref<?x16xf32>, %y: memref<?x16xf32>, %s: memref<?x1xf32>) {
  norm.kernel mean_square %x outs(%y, %s, %s) {axes = array<i64: 1>, epsilon = 1.0e-6 : f64, variants = [#norm.variant<from = 0, schedule = #norm.schedule<strategy = row, vectorWidth = 8, unroll = 1, chunks = 1, rowTasks = 16, nontemporal = false, parallel = false>>, #norm.variant<from = 64, schedule = #norm.schedule<strategy = row, vectorWidth = 8, unroll = 1, chunks = 1, rowTasks = 16, nontemporal = false, parallel = true>>]} : (memref<?x16xf32>, memref<?x16xf32>, memref<?x1xf32>, memref<?x1xf32>) -> ()
  return
}
