// RUN: normlir-opt %s -norm-expand | FileCheck %s
// RUN: normlir-opt %s -norm-expand | FileCheck %s --check-prefix=NONAMED

// Every named op becomes norm.moments / norm.mean_square + norm.rstd +
// norm.apply; no named op survives.
// NONAMED-NOT: norm.{{(layer|rms|batch|instance|group)}}_norm

// Maps of InstanceNorm's batch average of (N, C) statistics.
// CHECK-DAG: #[[$NC:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[$C:.*]] = affine_map<(d0, d1) -> (d1)>

//===----------------------------------------------------------------------===//
// LayerNorm: moments over the trailing len(normalized_shape) axes.
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @layer_norm(
// CHECK-SAME: %[[X:.*]]: tensor<8x6x3x4xf32>, %[[W:.*]]: tensor<3x4xf32>, %[[B:.*]]: tensor<3x4xf32>)
// CHECK-NEXT: %[[MEAN:.*]], %[[VAR:.*]] = norm.moments %[[X]] axes = [2, 3] : tensor<8x6x3x4xf32> -> tensor<8x6x1x1xf32>, tensor<8x6x1x1xf32>
// CHECK-NEXT: %[[RSTD:.*]] = norm.rstd %[[VAR]] epsilon = 1.000000e-05 : tensor<8x6x1x1xf32> -> tensor<8x6x1x1xf32>
// CHECK-NEXT: %[[Y:.*]] = norm.apply %[[X]] mean %[[MEAN]] rstd %[[RSTD]] weight %[[W]] bias %[[B]] {param_axes = array<i64: 2, 3>}
// The reported mean is NaN where the variance is (PyTorch's Welford moments
// turn a row with +-inf into a NaN mean).
// CHECK: %[[REP:.*]] = linalg.generic {{.*}} ins(%[[MEAN]], %[[VAR]] : tensor<8x6x1x1xf32>, tensor<8x6x1x1xf32>)
// CHECK-NEXT: ^bb0(%[[MV:.*]]: f32, %[[VV:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT:   %[[NAN:.*]] = arith.cmpf uno, %[[VV]], %[[VV]] : f32
// CHECK-NEXT:   %[[SEL:.*]] = arith.select %[[NAN]], %[[VV]], %[[MV]] : f32
// CHECK-NEXT:   linalg.yield %[[SEL]] : f32
// CHECK: return %[[Y]], %[[REP]], %[[RSTD]]
func.func @layer_norm(%x: tensor<8x6x3x4xf32>, %w: tensor<3x4xf32>, %b: tensor<3x4xf32>)
    -> (tensor<8x6x3x4xf32>, tensor<8x6x1x1xf32>, tensor<8x6x1x1xf32>) {
  %y, %m, %r = norm.layer_norm %x weight %w bias %b {normalized_shape = array<i64: 3, 4>}
      : (tensor<8x6x3x4xf32>, tensor<3x4xf32>, tensor<3x4xf32>) -> (tensor<8x6x3x4xf32>, tensor<8x6x1x1xf32>, tensor<8x6x1x1xf32>)
  return %y, %m, %r : tensor<8x6x3x4xf32>, tensor<8x6x1x1xf32>, tensor<8x6x1x1xf32>
}

// Without parameters the apply has no param_axes; the epsilon is carried over.
// CHECK-LABEL: func.func @layer_norm_no_affine(
// CHECK-SAME: %[[X:.*]]: tensor<4x16xbf16>)
// CHECK-NEXT: %[[MEAN:.*]], %[[VAR:.*]] = norm.moments %[[X]] axes = [1] : tensor<4x16xbf16> -> tensor<4x1xf32>, tensor<4x1xf32>
// CHECK-NEXT: %[[RSTD:.*]] = norm.rstd %[[VAR]] epsilon = 9.9999999999999995E-7 :
// CHECK-NEXT: %[[Y:.*]] = norm.apply %[[X]] mean %[[MEAN]] rstd %[[RSTD]] : (tensor<4x16xbf16>, tensor<4x1xf32>, tensor<4x1xf32>) -> tensor<4x16xbf16>
// CHECK: %[[REP:.*]] = linalg.generic {{.*}} ins(%[[MEAN]], %[[VAR]] : tensor<4x1xf32>, tensor<4x1xf32>)
// CHECK: return %[[Y]], %[[REP]], %[[RSTD]]
func.func @layer_norm_no_affine(%x: tensor<4x16xbf16>) -> (tensor<4x16xbf16>, tensor<4x1xf32>, tensor<4x1xf32>) {
  %y, %m, %r = norm.layer_norm %x {normalized_shape = array<i64: 16>, epsilon = 1.0e-6 : f64}
      : (tensor<4x16xbf16>) -> (tensor<4x16xbf16>, tensor<4x1xf32>, tensor<4x1xf32>)
  return %y, %m, %r : tensor<4x16xbf16>, tensor<4x1xf32>, tensor<4x1xf32>
}

//===----------------------------------------------------------------------===//
// RMSNorm: mean_square, no mean in the apply; eps=None is the epsilon of
// float for every input type (PyTorch computes f16/bf16 RMSNorm in float).
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @rms_norm_f32_default_eps(
// CHECK-SAME: %[[X:.*]]: tensor<2x16xf32>)
// CHECK-NEXT: %[[MS:.*]] = norm.mean_square %[[X]] axes = [1] : tensor<2x16xf32> -> tensor<2x1xf32>
// CHECK-NEXT: %[[RSTD:.*]] = norm.rstd %[[MS]] epsilon = 1.1920928955078125E-7 : tensor<2x1xf32> -> tensor<2x1xf32>
// CHECK-NEXT: %[[Y:.*]] = norm.apply %[[X]] rstd %[[RSTD]] : (tensor<2x16xf32>, tensor<2x1xf32>) -> tensor<2x16xf32>
// CHECK-NEXT: return %[[Y]], %[[RSTD]]
func.func @rms_norm_f32_default_eps(%x: tensor<2x16xf32>) -> (tensor<2x16xf32>, tensor<2x1xf32>) {
  %y, %r = norm.rms_norm %x {normalized_shape = array<i64: 16>} : (tensor<2x16xf32>) -> (tensor<2x16xf32>, tensor<2x1xf32>)
  return %y, %r : tensor<2x16xf32>, tensor<2x1xf32>
}

// CHECK-LABEL: func.func @rms_norm_f16_default_eps(
// CHECK-SAME: %[[X:.*]]: tensor<2x3x16xf16>, %[[W:.*]]: tensor<3x16xf16>)
// CHECK-NEXT: %[[MS:.*]] = norm.mean_square %[[X]] axes = [1, 2] : tensor<2x3x16xf16> -> tensor<2x1x1xf32>
// CHECK-NEXT: %[[RSTD:.*]] = norm.rstd %[[MS]] epsilon = 1.1920928955078125E-7 :
// CHECK-NEXT: %[[Y:.*]] = norm.apply %[[X]] rstd %[[RSTD]] weight %[[W]] {param_axes = array<i64: 1, 2>} : (tensor<2x3x16xf16>, tensor<2x1x1xf32>, tensor<3x16xf16>) -> tensor<2x3x16xf16>
// CHECK-NEXT: return %[[Y]], %[[RSTD]]
func.func @rms_norm_f16_default_eps(%x: tensor<2x3x16xf16>, %w: tensor<3x16xf16>) -> (tensor<2x3x16xf16>, tensor<2x1x1xf32>) {
  %y, %r = norm.rms_norm %x weight %w {normalized_shape = array<i64: 3, 16>}
      : (tensor<2x3x16xf16>, tensor<3x16xf16>) -> (tensor<2x3x16xf16>, tensor<2x1x1xf32>)
  return %y, %r : tensor<2x3x16xf16>, tensor<2x1x1xf32>
}

// CHECK-LABEL: func.func @rms_norm_bf16_default_eps(
// CHECK: norm.rstd %{{.*}} epsilon = 1.1920928955078125E-7 :
func.func @rms_norm_bf16_default_eps(%x: tensor<2x16xbf16>) -> (tensor<2x16xbf16>, tensor<2x1xf32>) {
  %y, %r = norm.rms_norm %x {normalized_shape = array<i64: 16>} : (tensor<2x16xbf16>) -> (tensor<2x16xbf16>, tensor<2x1xf32>)
  return %y, %r : tensor<2x16xbf16>, tensor<2x1xf32>
}

// An explicit epsilon wins over the default.
// CHECK-LABEL: func.func @rms_norm_explicit_eps(
// CHECK: norm.rstd %{{.*}} epsilon = 1.000000e-05 :
func.func @rms_norm_explicit_eps(%x: tensor<2x16xbf16>) -> (tensor<2x16xbf16>, tensor<2x1xf32>) {
  %y, %r = norm.rms_norm %x {normalized_shape = array<i64: 16>, epsilon = 1.0e-5 : f64}
      : (tensor<2x16xbf16>) -> (tensor<2x16xbf16>, tensor<2x1xf32>)
  return %y, %r : tensor<2x16xbf16>, tensor<2x1xf32>
}

//===----------------------------------------------------------------------===//
// GroupNorm: split C into (G, C/G), reduce (C/G, *S), collapse back.
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @group_norm(
// CHECK-SAME: %[[X:.*]]: tensor<2x6x4x4xf32>, %[[B:.*]]: tensor<6xf32>)
// CHECK-NEXT: %[[XG:.*]] = tensor.expand_shape %[[X]] {{\[\[}}0], [1, 2], [3], [4]] output_shape [2, 3, 2, 4, 4] : tensor<2x6x4x4xf32> into tensor<2x3x2x4x4xf32>
// CHECK-NEXT: %[[MEAN:.*]], %[[VAR:.*]] = norm.moments %[[XG]] axes = [2, 3, 4] : tensor<2x3x2x4x4xf32> -> tensor<2x3x1x1x1xf32>, tensor<2x3x1x1x1xf32>
// CHECK-NEXT: %[[RSTD:.*]] = norm.rstd %[[VAR]] epsilon = 9.9999999999999995E-7 :
// CHECK-NEXT: %[[BG:.*]] = tensor.expand_shape %[[B]] {{\[\[}}0, 1]] output_shape [3, 2] : tensor<6xf32> into tensor<3x2xf32>
// CHECK-NEXT: %[[YG:.*]] = norm.apply %[[XG]] mean %[[MEAN]] rstd %[[RSTD]] bias %[[BG]] {param_axes = array<i64: 1, 2>}
// CHECK-NEXT: %[[Y:.*]] = tensor.collapse_shape %[[YG]] {{\[\[}}0], [1, 2], [3], [4]] : tensor<2x3x2x4x4xf32> into tensor<2x6x4x4xf32>
// CHECK: %[[REP:.*]] = linalg.generic {{.*}} ins(%[[MEAN]], %[[VAR]] : tensor<2x3x1x1x1xf32>, tensor<2x3x1x1x1xf32>)
// CHECK: %[[M:.*]] = tensor.collapse_shape %[[REP]] {{\[\[}}0], [1, 2, 3, 4]] : tensor<2x3x1x1x1xf32> into tensor<2x3xf32>
// CHECK-NEXT: %[[R:.*]] = tensor.collapse_shape %[[RSTD]] {{\[\[}}0], [1, 2, 3, 4]] : tensor<2x3x1x1x1xf32> into tensor<2x3xf32>
// CHECK-NEXT: return %[[Y]], %[[M]], %[[R]]
func.func @group_norm(%x: tensor<2x6x4x4xf32>, %b: tensor<6xf32>) -> (tensor<2x6x4x4xf32>, tensor<2x3xf32>, tensor<2x3xf32>) {
  %y:3 = norm.group_norm %x bias %b {num_groups = 3, epsilon = 1.0e-6 : f64}
      : (tensor<2x6x4x4xf32>, tensor<6xf32>) -> (tensor<2x6x4x4xf32>, tensor<2x3xf32>, tensor<2x3xf32>)
  return %y#0, %y#1, %y#2 : tensor<2x6x4x4xf32>, tensor<2x3xf32>, tensor<2x3xf32>
}

// Channels-last: the last axis is split; the group axis is kept.
// CHECK-LABEL: func.func @group_norm_channels_last(
// CHECK-SAME: %[[X:.*]]: tensor<2x4x4x8xbf16>, %[[W:.*]]: tensor<8xbf16>, %[[B:.*]]: tensor<8xf32>)
// CHECK-NEXT: %[[XG:.*]] = tensor.expand_shape %[[X]] {{\[\[}}0], [1], [2], [3, 4]] output_shape [2, 4, 4, 2, 4] : tensor<2x4x4x8xbf16> into tensor<2x4x4x2x4xbf16>
// CHECK-NEXT: %[[MEAN:.*]], %[[VAR:.*]] = norm.moments %[[XG]] axes = [1, 2, 4] : tensor<2x4x4x2x4xbf16> -> tensor<2x1x1x2x1xf32>, tensor<2x1x1x2x1xf32>
// CHECK-NEXT: %[[RSTD:.*]] = norm.rstd %[[VAR]] epsilon = 1.000000e-05 :
// CHECK-NEXT: %[[WG:.*]] = tensor.expand_shape %[[W]] {{\[\[}}0, 1]] output_shape [2, 4] : tensor<8xbf16> into tensor<2x4xbf16>
// CHECK-NEXT: %[[BG:.*]] = tensor.expand_shape %[[B]] {{\[\[}}0, 1]] output_shape [2, 4] : tensor<8xf32> into tensor<2x4xf32>
// CHECK-NEXT: %[[YG:.*]] = norm.apply %[[XG]] mean %[[MEAN]] rstd %[[RSTD]] weight %[[WG]] bias %[[BG]] {param_axes = array<i64: 3, 4>}
// CHECK-NEXT: %[[Y:.*]] = tensor.collapse_shape %[[YG]] {{\[\[}}0], [1], [2], [3, 4]] : tensor<2x4x4x2x4xbf16> into tensor<2x4x4x8xbf16>
// CHECK: %[[REP:.*]] = linalg.generic {{.*}} ins(%[[MEAN]], %[[VAR]] : tensor<2x1x1x2x1xf32>, tensor<2x1x1x2x1xf32>)
// CHECK: %[[M:.*]] = tensor.collapse_shape %[[REP]] {{\[\[}}0], [1, 2, 3, 4]] : tensor<2x1x1x2x1xf32> into tensor<2x2xf32>
// CHECK-NEXT: %[[R:.*]] = tensor.collapse_shape %[[RSTD]] {{\[\[}}0], [1, 2, 3, 4]] : tensor<2x1x1x2x1xf32> into tensor<2x2xf32>
// CHECK-NEXT: return %[[Y]], %[[M]], %[[R]]
func.func @group_norm_channels_last(%x: tensor<2x4x4x8xbf16>, %w: tensor<8xbf16>, %b: tensor<8xf32>)
    -> (tensor<2x4x4x8xbf16>, tensor<2x2xf32>, tensor<2x2xf32>) {
  %y:3 = norm.group_norm %x weight %w bias %b {num_groups = 2, channel_axis = 3 : i64}
      : (tensor<2x4x4x8xbf16>, tensor<8xbf16>, tensor<8xf32>) -> (tensor<2x4x4x8xbf16>, tensor<2x2xf32>, tensor<2x2xf32>)
  return %y#0, %y#1, %y#2 : tensor<2x4x4x8xbf16>, tensor<2x2xf32>, tensor<2x2xf32>
}

//===----------------------------------------------------------------------===//
// BatchNorm
//===----------------------------------------------------------------------===//

// Training without running statistics: batch statistics over all axes but
// the channel axis; save_mean/save_rstd are their (C) collapses.
// CHECK-LABEL: func.func @batch_norm_training_channels_last(
// CHECK-SAME: %[[X:.*]]: tensor<2x5x5x3xbf16>, %[[W:.*]]: tensor<3xbf16>, %[[B:.*]]: tensor<3xf32>)
// CHECK-NEXT: %[[MEAN:.*]], %[[VAR:.*]] = norm.moments %[[X]] axes = [0, 1, 2] : tensor<2x5x5x3xbf16> -> tensor<1x1x1x3xf32>, tensor<1x1x1x3xf32>
// CHECK-NEXT: %[[RSTD:.*]] = norm.rstd %[[VAR]] epsilon = 1.000000e-05 {zero_degenerate} :
// CHECK-NEXT: %[[Y:.*]] = norm.apply %[[X]] mean %[[MEAN]] rstd %[[RSTD]] weight %[[W]] bias %[[B]] {param_axes = array<i64: 3>}
// CHECK-NEXT: %[[SM:.*]] = tensor.collapse_shape %[[MEAN]] {{\[\[}}0, 1, 2, 3]] : tensor<1x1x1x3xf32> into tensor<3xf32>
// CHECK-NEXT: %[[SR:.*]] = tensor.collapse_shape %[[RSTD]] {{\[\[}}0, 1, 2, 3]] : tensor<1x1x1x3xf32> into tensor<3xf32>
// CHECK-NEXT: return %[[Y]], %[[SM]], %[[SR]]
func.func @batch_norm_training_channels_last(%x: tensor<2x5x5x3xbf16>, %w: tensor<3xbf16>, %b: tensor<3xf32>)
    -> (tensor<2x5x5x3xbf16>, tensor<3xf32>, tensor<3xf32>) {
  %y:3 = norm.batch_norm %x weight %w bias %b {training, channel_axis = 3 : i64}
      : (tensor<2x5x5x3xbf16>, tensor<3xbf16>, tensor<3xf32>) -> (tensor<2x5x5x3xbf16>, tensor<3xf32>, tensor<3xf32>)
  return %y#0, %y#1, %y#2 : tensor<2x5x5x3xbf16>, tensor<3xf32>, tensor<3xf32>
}

// Training with running statistics and a counter:
//   running_mean = (1 - m) * running_mean + m * mean
//   running_var  = (1 - m) * running_var  + m * var * n / (n - 1)
// with n = 8 * 5 = 40 (40/39 = 1.02564108) and m = momentum = 0.25;
// num_batches_tracked is returned incremented.
// CHECK-LABEL: func.func @batch_norm_training_running(
// CHECK-SAME: %[[X:.*]]: tensor<8x4x5xf32>, %[[RM:.*]]: tensor<4xf32>, %[[RV:.*]]: tensor<4xf32>, %[[N:.*]]: tensor<i64>)
// CHECK-DAG: %[[KEEP:.*]] = arith.constant 7.500000e-01 : f32
// CHECK-DAG: %[[BESSEL:.*]] = arith.constant 1.02564108 : f32
// CHECK-DAG: %[[MOM:.*]] = arith.constant 2.500000e-01 : f32
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1 : i64
// CHECK: %[[MEAN:.*]], %[[VAR:.*]] = norm.moments %[[X]] axes = [0, 2] : tensor<8x4x5xf32> -> tensor<1x4x1xf32>, tensor<1x4x1xf32>
// CHECK-NEXT: %[[RSTD:.*]] = norm.rstd %[[VAR]] epsilon = 1.000000e-05 {zero_degenerate} :
// CHECK-NEXT: %[[Y:.*]] = norm.apply %[[X]] mean %[[MEAN]] rstd %[[RSTD]] : (tensor<8x4x5xf32>, tensor<1x4x1xf32>, tensor<1x4x1xf32>) -> tensor<8x4x5xf32>
// CHECK-DAG: %[[SM:.*]] = tensor.collapse_shape %[[MEAN]] {{\[\[}}0, 1, 2]] : tensor<1x4x1xf32> into tensor<4xf32>
// CHECK-DAG: %[[SR:.*]] = tensor.collapse_shape %[[RSTD]] {{\[\[}}0, 1, 2]] : tensor<1x4x1xf32> into tensor<4xf32>
// CHECK-DAG: %[[VC:.*]] = tensor.collapse_shape %[[VAR]] {{\[\[}}0, 1, 2]] : tensor<1x4x1xf32> into tensor<4xf32>
// CHECK-DAG: %[[CNT:.*]] = tensor.extract %[[N]][] : tensor<i64>
// CHECK-DAG: %[[INC:.*]] = arith.addi %[[CNT]], %[[ONE]] : i64
// CHECK-DAG: %[[NEWN:.*]] = tensor.from_elements %[[INC]] : tensor<i64>
// CHECK: %[[NEWRM:.*]] = linalg.generic {{.*}} iterator_types = ["parallel"]} ins(%[[RM]], %[[SM]] : tensor<4xf32>, tensor<4xf32>)
// CHECK-NEXT: ^bb0(%[[R0:.*]]: f32, %[[S0:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT:   %[[A0:.*]] = arith.mulf %[[S0]], %[[MOM]] : f32
// CHECK-NEXT:   %[[B0:.*]] = arith.mulf %[[R0]], %[[KEEP]] : f32
// CHECK-NEXT:   %[[C0:.*]] = arith.addf %[[A0]], %[[B0]] : f32
// CHECK-NEXT:   linalg.yield %[[C0]] : f32
// CHECK: %[[NEWRV:.*]] = linalg.generic {{.*}} ins(%[[RV]], %[[VC]] : tensor<4xf32>, tensor<4xf32>)
// CHECK-NEXT: ^bb0(%[[R1:.*]]: f32, %[[S1:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT:   %[[U1:.*]] = arith.mulf %[[S1]], %[[BESSEL]] : f32
// CHECK-NEXT:   %[[A1:.*]] = arith.mulf %[[U1]], %[[MOM]] : f32
// CHECK-NEXT:   %[[B1:.*]] = arith.mulf %[[R1]], %[[KEEP]] : f32
// CHECK-NEXT:   %[[C1:.*]] = arith.addf %[[A1]], %[[B1]] : f32
// CHECK-NEXT:   linalg.yield %[[C1]] : f32
// CHECK: return %[[Y]], %[[SM]], %[[SR]], %[[NEWRM]], %[[NEWRV]], %[[NEWN]]
func.func @batch_norm_training_running(%x: tensor<8x4x5xf32>, %rm: tensor<4xf32>, %rv: tensor<4xf32>, %n: tensor<i64>)
    -> (tensor<8x4x5xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<i64>) {
  %y:6 = norm.batch_norm %x running(%rm, %rv) batches_tracked %n {training, momentum = 0.25 : f64}
      : (tensor<8x4x5xf32>, tensor<4xf32>, tensor<4xf32>, tensor<i64>)
      -> (tensor<8x4x5xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<i64>)
  return %y#0, %y#1, %y#2, %y#3, %y#4, %y#5
      : tensor<8x4x5xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<i64>
}

// momentum=None: m = 1 / (num_batches_tracked + 1), computed from the
// incremented counter. f16 running statistics are updated in f32 and
// truncated back; n = 4 (4/3 = 1.33333337).
// CHECK-LABEL: func.func @batch_norm_cumulative_average(
// CHECK-SAME: %[[X:.*]]: tensor<4x3xf16>, %[[RM:.*]]: tensor<3xf16>, %[[RV:.*]]: tensor<3xf16>, %[[N:.*]]: tensor<i64>)
// CHECK-DAG: %[[BESSEL:.*]] = arith.constant 1.33333337 : f32
// CHECK-DAG: %[[FONE:.*]] = arith.constant 1.000000e+00 : f32
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1 : i64
// CHECK: %[[MEAN:.*]], %[[VAR:.*]] = norm.moments %[[X]] axes = [0] : tensor<4x3xf16> -> tensor<1x3xf32>, tensor<1x3xf32>
// CHECK: %[[CNT:.*]] = tensor.extract %[[N]][] : tensor<i64>
// CHECK-NEXT: %[[INC:.*]] = arith.addi %[[CNT]], %[[ONE]] : i64
// CHECK-DAG: %[[NEWN:.*]] = tensor.from_elements %[[INC]] : tensor<i64>
// CHECK-DAG: %[[FINC:.*]] = arith.sitofp %[[INC]] : i64 to f32
// CHECK: %[[M:.*]] = arith.divf %[[FONE]], %[[FINC]] : f32
// CHECK: %[[NEWRM:.*]] = linalg.generic {{.*}} ins(%[[RM]], %{{.*}} : tensor<3xf16>, tensor<3xf32>) outs(%{{.*}} : tensor<3xf16>)
// CHECK-NEXT: ^bb0(%[[R0:.*]]: f16, %[[S0:.*]]: f32, %{{.*}}: f16):
// CHECK-NEXT:   %[[R0F:.*]] = arith.extf %[[R0]] : f16 to f32
// CHECK-NEXT:   %[[KEEP0:.*]] = arith.subf %[[FONE]], %[[M]] : f32
// CHECK-NEXT:   %[[A0:.*]] = arith.mulf %[[M]], %[[S0]] : f32
// CHECK-NEXT:   %[[B0:.*]] = arith.mulf %[[KEEP0]], %[[R0F]] : f32
// CHECK-NEXT:   %[[C0:.*]] = arith.addf %[[A0]], %[[B0]] : f32
// CHECK-NEXT:   %[[T0:.*]] = arith.truncf %[[C0]] : f32 to f16
// CHECK-NEXT:   linalg.yield %[[T0]] : f16
// CHECK: %[[NEWRV:.*]] = linalg.generic {{.*}} ins(%[[RV]], %{{.*}} : tensor<3xf16>, tensor<3xf32>) outs(%{{.*}} : tensor<3xf16>)
// CHECK: arith.mulf %{{.*}}, %[[BESSEL]] : f32
// CHECK: arith.subf %[[FONE]], %[[M]] : f32
// CHECK: arith.truncf %{{.*}} : f32 to f16
// CHECK: return %{{.*}}, %{{.*}}, %{{.*}}, %[[NEWRM]], %[[NEWRV]], %[[NEWN]]
func.func @batch_norm_cumulative_average(%x: tensor<4x3xf16>, %rm: tensor<3xf16>, %rv: tensor<3xf16>, %n: tensor<i64>)
    -> (tensor<4x3xf16>, tensor<3xf32>, tensor<3xf32>, tensor<3xf16>, tensor<3xf16>, tensor<i64>) {
  %y:6 = norm.batch_norm %x running(%rm, %rv) batches_tracked %n {training, cumulative_average}
      : (tensor<4x3xf16>, tensor<3xf16>, tensor<3xf16>, tensor<i64>)
      -> (tensor<4x3xf16>, tensor<3xf32>, tensor<3xf32>, tensor<3xf16>, tensor<3xf16>, tensor<i64>)
  return %y#0, %y#1, %y#2, %y#3, %y#4, %y#5
      : tensor<4x3xf16>, tensor<3xf32>, tensor<3xf32>, tensor<3xf16>, tensor<3xf16>, tensor<i64>
}

// Eval: no statistics are computed; the mean is the running mean (as f32)
// and the rstd is norm.rstd of the running variance, both broadcast along
// every axis but the channel axis.
// CHECK-LABEL: func.func @batch_norm_eval(
// CHECK-SAME: %[[X:.*]]: tensor<8x4x5xf16>, %[[W:.*]]: tensor<4xf16>, %[[RM:.*]]: tensor<4xf16>, %[[RV:.*]]: tensor<4xf16>)
// CHECK-NOT: norm.moments
// CHECK: %[[RMF:.*]] = linalg.generic {{.*}} ins(%[[RM]] : tensor<4xf16>) outs(%{{.*}} : tensor<4xf32>)
// CHECK: arith.extf %{{.*}} : f16 to f32
// CHECK: %[[MEAN:.*]] = tensor.expand_shape %[[RMF]] {{\[\[}}0, 1, 2]] output_shape [1, 4, 1] : tensor<4xf32> into tensor<1x4x1xf32>
// CHECK-NEXT: %[[RSTDC:.*]] = norm.rstd %[[RV]] epsilon = 1.000000e-03 : tensor<4xf16> -> tensor<4xf32>
// CHECK-NEXT: %[[RSTD:.*]] = tensor.expand_shape %[[RSTDC]] {{\[\[}}0, 1, 2]] output_shape [1, 4, 1] : tensor<4xf32> into tensor<1x4x1xf32>
// CHECK-NEXT: %[[Y:.*]] = norm.apply %[[X]] mean %[[MEAN]] rstd %[[RSTD]] weight %[[W]] {param_axes = array<i64: 1>}
// CHECK-NEXT: return %[[Y]]
func.func @batch_norm_eval(%x: tensor<8x4x5xf16>, %w: tensor<4xf16>, %rm: tensor<4xf16>, %rv: tensor<4xf16>) -> tensor<8x4x5xf16> {
  %y = norm.batch_norm %x weight %w running(%rm, %rv) {epsilon = 1.0e-3 : f64}
      : (tensor<8x4x5xf16>, tensor<4xf16>, tensor<4xf16>, tensor<4xf16>) -> tensor<8x4x5xf16>
  return %y : tensor<8x4x5xf16>
}

// Eval with f32 running statistics needs no cast; channels-last broadcast.
// CHECK-LABEL: func.func @batch_norm_eval_channels_last(
// CHECK-SAME: %[[X:.*]]: tensor<2x5x3xf32>, %[[RM:.*]]: tensor<3xf32>, %[[RV:.*]]: tensor<3xf32>)
// CHECK-NEXT: %[[MEAN:.*]] = tensor.expand_shape %[[RM]] {{\[\[}}0, 1, 2]] output_shape [1, 1, 3] : tensor<3xf32> into tensor<1x1x3xf32>
// CHECK-NEXT: %[[RSTDC:.*]] = norm.rstd %[[RV]] epsilon = 1.000000e-05 : tensor<3xf32> -> tensor<3xf32>
// CHECK-NEXT: %[[RSTD:.*]] = tensor.expand_shape %[[RSTDC]] {{\[\[}}0, 1, 2]] output_shape [1, 1, 3] : tensor<3xf32> into tensor<1x1x3xf32>
// CHECK-NEXT: %[[Y:.*]] = norm.apply %[[X]] mean %[[MEAN]] rstd %[[RSTD]] : (tensor<2x5x3xf32>, tensor<1x1x3xf32>, tensor<1x1x3xf32>) -> tensor<2x5x3xf32>
// CHECK-NEXT: return %[[Y]]
func.func @batch_norm_eval_channels_last(%x: tensor<2x5x3xf32>, %rm: tensor<3xf32>, %rv: tensor<3xf32>) -> tensor<2x5x3xf32> {
  %y = norm.batch_norm %x running(%rm, %rv) {channel_axis = 2 : i64}
      : (tensor<2x5x3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<2x5x3xf32>
  return %y : tensor<2x5x3xf32>
}

//===----------------------------------------------------------------------===//
// InstanceNorm
//===----------------------------------------------------------------------===//

// Input statistics per (n, c) over the spatial axes.
// CHECK-LABEL: func.func @instance_norm(
// CHECK-SAME: %[[X:.*]]: tensor<2x3x4x4xf32>, %[[W:.*]]: tensor<3xf32>, %[[B:.*]]: tensor<3xf32>)
// CHECK-NEXT: %[[MEAN:.*]], %[[VAR:.*]] = norm.moments %[[X]] axes = [2, 3] : tensor<2x3x4x4xf32> -> tensor<2x3x1x1xf32>, tensor<2x3x1x1xf32>
// CHECK-NEXT: %[[RSTD:.*]] = norm.rstd %[[VAR]] epsilon = 1.000000e-05 {zero_degenerate} :
// CHECK-NEXT: %[[Y:.*]] = norm.apply %[[X]] mean %[[MEAN]] rstd %[[RSTD]] weight %[[W]] bias %[[B]] {param_axes = array<i64: 1>}
// CHECK-NEXT: return %[[Y]]
func.func @instance_norm(%x: tensor<2x3x4x4xf32>, %w: tensor<3xf32>, %b: tensor<3xf32>) -> tensor<2x3x4x4xf32> {
  %y = norm.instance_norm %x weight %w bias %b
      : (tensor<2x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<2x3x4x4xf32>
  return %y : tensor<2x3x4x4xf32>
}

// CHECK-LABEL: func.func @instance_norm_channels_last(
// CHECK-SAME: %[[X:.*]]: tensor<2x7x3xf16>, %[[W:.*]]: tensor<3xf16>)
// CHECK-NEXT: %[[MEAN:.*]], %[[VAR:.*]] = norm.moments %[[X]] axes = [1] : tensor<2x7x3xf16> -> tensor<2x1x3xf32>, tensor<2x1x3xf32>
// CHECK-NEXT: %[[RSTD:.*]] = norm.rstd %[[VAR]]
// CHECK-NEXT: %[[Y:.*]] = norm.apply %[[X]] mean %[[MEAN]] rstd %[[RSTD]] weight %[[W]] {param_axes = array<i64: 2>}
// CHECK-NEXT: return %[[Y]]
func.func @instance_norm_channels_last(%x: tensor<2x7x3xf16>, %w: tensor<3xf16>) -> tensor<2x7x3xf16> {
  %y = norm.instance_norm %x weight %w {channel_axis = 2 : i64} : (tensor<2x7x3xf16>, tensor<3xf16>) -> tensor<2x7x3xf16>
  return %y : tensor<2x7x3xf16>
}

// Eval with tracked running statistics: same path as BatchNorm eval.
// CHECK-LABEL: func.func @instance_norm_eval_running(
// CHECK-SAME: %[[X:.*]]: tensor<2x3x4xf32>, %[[RM:.*]]: tensor<3xf32>, %[[RV:.*]]: tensor<3xf32>)
// CHECK-NEXT: %[[MEAN:.*]] = tensor.expand_shape %[[RM]] {{\[\[}}0, 1, 2]] output_shape [1, 3, 1] : tensor<3xf32> into tensor<1x3x1xf32>
// CHECK-NEXT: %[[RSTDC:.*]] = norm.rstd %[[RV]] epsilon = 1.000000e-05 : tensor<3xf32> -> tensor<3xf32>
// CHECK-NEXT: %[[RSTD:.*]] = tensor.expand_shape %[[RSTDC]] {{\[\[}}0, 1, 2]] output_shape [1, 3, 1] : tensor<3xf32> into tensor<1x3x1xf32>
// CHECK-NEXT: %[[Y:.*]] = norm.apply %[[X]] mean %[[MEAN]] rstd %[[RSTD]] : (tensor<2x3x4xf32>, tensor<1x3x1xf32>, tensor<1x3x1xf32>) -> tensor<2x3x4xf32>
// CHECK-NEXT: return %[[Y]]
func.func @instance_norm_eval_running(%x: tensor<2x3x4xf32>, %rm: tensor<3xf32>, %rv: tensor<3xf32>) -> tensor<2x3x4xf32> {
  %y = norm.instance_norm %x running(%rm, %rv) : (tensor<2x3x4xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<2x3x4xf32>
  return %y : tensor<2x3x4xf32>
}

// Training with running statistics: per-(n, c) statistics normalize; their
// batch averages (sum over n, divided by N = 2) update the running
// statistics with the default momentum 0.1 and the unbiased variance
// (n = prod(S) = 20, 20/19 = 1.05263162).
// CHECK-LABEL: func.func @instance_norm_training_running(
// CHECK-SAME: %[[X:.*]]: tensor<2x3x4x5xf32>, %[[RM:.*]]: tensor<3xf32>, %[[RV:.*]]: tensor<3xf32>)
// CHECK-DAG: %[[KEEP:.*]] = arith.constant 0.899999976 : f32
// CHECK-DAG: %[[BESSEL:.*]] = arith.constant 1.05263162 : f32
// CHECK-DAG: %[[MOM:.*]] = arith.constant 1.000000e-01 : f32
// CHECK-DAG: %[[BATCH:.*]] = arith.constant 2.000000e+00 : f32
// CHECK: %[[MEAN:.*]], %[[VAR:.*]] = norm.moments %[[X]] axes = [2, 3] : tensor<2x3x4x5xf32> -> tensor<2x3x1x1xf32>, tensor<2x3x1x1xf32>
// CHECK-NEXT: %[[RSTD:.*]] = norm.rstd %[[VAR]]
// CHECK-NEXT: %[[Y:.*]] = norm.apply %[[X]] mean %[[MEAN]] rstd %[[RSTD]] :
// CHECK-NEXT: %[[MNC:.*]] = tensor.collapse_shape %[[MEAN]] {{\[\[}}0], [1, 2, 3]] : tensor<2x3x1x1xf32> into tensor<2x3xf32>
// CHECK: %[[MSUM:.*]] = linalg.generic {indexing_maps = [#[[$NC]], #[[$C]]], iterator_types = ["reduction", "parallel"]} ins(%[[MNC]] : tensor<2x3xf32>)
// CHECK: %[[MC:.*]] = linalg.generic {{.*}} ins(%[[MSUM]] : tensor<3xf32>)
// CHECK: arith.divf %{{.*}}, %[[BATCH]] : f32
// CHECK: %[[VNC:.*]] = tensor.collapse_shape %[[VAR]] {{\[\[}}0], [1, 2, 3]] : tensor<2x3x1x1xf32> into tensor<2x3xf32>
// CHECK: %[[VSUM:.*]] = linalg.generic {indexing_maps = [#[[$NC]], #[[$C]]], iterator_types = ["reduction", "parallel"]} ins(%[[VNC]] : tensor<2x3xf32>)
// CHECK: %[[VC:.*]] = linalg.generic {{.*}} ins(%[[VSUM]] : tensor<3xf32>)
// CHECK: arith.divf %{{.*}}, %[[BATCH]] : f32
// CHECK: %[[NEWRM:.*]] = linalg.generic {{.*}} ins(%[[RM]], %[[MC]] : tensor<3xf32>, tensor<3xf32>)
// CHECK: arith.mulf %{{.*}}, %[[MOM]] : f32
// CHECK: arith.mulf %{{.*}}, %[[KEEP]] : f32
// CHECK: %[[NEWRV:.*]] = linalg.generic {{.*}} ins(%[[RV]], %[[VC]] : tensor<3xf32>, tensor<3xf32>)
// CHECK: arith.mulf %{{.*}}, %[[BESSEL]] : f32
// CHECK: return %[[Y]], %[[NEWRM]], %[[NEWRV]]
func.func @instance_norm_training_running(%x: tensor<2x3x4x5xf32>, %rm: tensor<3xf32>, %rv: tensor<3xf32>)
    -> (tensor<2x3x4x5xf32>, tensor<3xf32>, tensor<3xf32>) {
  %y:3 = norm.instance_norm %x running(%rm, %rv) {training}
      : (tensor<2x3x4x5xf32>, tensor<3xf32>, tensor<3xf32>) -> (tensor<2x3x4x5xf32>, tensor<3xf32>, tensor<3xf32>)
  return %y#0, %y#1, %y#2 : tensor<2x3x4x5xf32>, tensor<3xf32>, tensor<3xf32>
}
