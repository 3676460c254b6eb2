// RUN: normlir-opt %s -norm-expand -split-input-file -verify-diagnostics | FileCheck %s

// LayerNorm over dynamic leading dimensions: the statistics keep them.
// CHECK-LABEL: func.func @layer_norm
// CHECK: %[[M:.*]], %[[V:.*]] = norm.moments %arg0 axes = [2] : tensor<?x?x64xf32> -> tensor<?x?x1xf32>, tensor<?x?x1xf32>
// CHECK: %[[R:.*]] = norm.rstd %[[V]] epsilon = {{.*}} : tensor<?x?x1xf32> -> tensor<?x?x1xf32>
// CHECK: norm.apply %arg0 mean %[[M]] rstd %[[R]] weight %arg1 {param_axes = array<i64: 2>} : (tensor<?x?x64xf32>, tensor<?x?x1xf32>, tensor<?x?x1xf32>, tensor<64xf32>) -> tensor<?x?x64xf32>
func.func @layer_norm(%x: tensor<?x?x64xf32>, %w: tensor<64xf32>) -> tensor<?x?x64xf32> {
  %y, %m, %r = norm.layer_norm %x weight %w {normalized_shape = array<i64: 64>} : (tensor<?x?x64xf32>, tensor<64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x1xf32>, tensor<?x?x1xf32>)
  return %y : tensor<?x?x64xf32>
}

// -----

// CHECK-LABEL: func.func @rms_norm
// CHECK: norm.mean_square %arg0 axes = [1] : tensor<?x64xbf16> -> tensor<?x1xf32>
func.func @rms_norm(%x: tensor<?x64xbf16>) -> tensor<?x64xbf16> {
  %y, %r = norm.rms_norm %x {normalized_shape = array<i64: 64>} : (tensor<?x64xbf16>) -> (tensor<?x64xbf16>, tensor<?x1xf32>)
  return %y : tensor<?x64xbf16>
}

// -----

// The channel norms with dynamic dimensions are refused, with where.
func.func @batch_norm(%x: tensor<?x3x?x?xf32>) -> tensor<?x3x?x?xf32> {
  // expected-error @+1 {{norm-expand: norm.batch_norm with dynamic dimensions is not lowered yet (only norm.layer_norm and norm.rms_norm are), got 'tensor<?x3x?x?xf32>'}}
  %y, %m, %r = norm.batch_norm %x {training, channel_axis = 1 : i64} : (tensor<?x3x?x?xf32>) -> (tensor<?x3x?x?xf32>, tensor<3xf32>, tensor<3xf32>)
  return %y : tensor<?x3x?x?xf32>
}

// -----

func.func @group_norm(%x: tensor<?x6x8xf32>) -> tensor<?x6x8xf32> {
  // expected-error @+1 {{norm-expand: norm.group_norm with dynamic dimensions is not lowered yet}}
  %y, %m, %r = norm.group_norm %x {num_groups = 2 : i64, channel_axis = 1 : i64} : (tensor<?x6x8xf32>) -> (tensor<?x6x8xf32>, tensor<?x2xf32>, tensor<?x2xf32>)
  return %y : tensor<?x6x8xf32>
}
