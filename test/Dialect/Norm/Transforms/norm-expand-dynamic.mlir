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

// BatchNorm training with dynamic dimensions: what C4 and the empty batch
// decide statically is decided at run time from the n values per channel:
// a check that n != 1 (PyTorch's error), and an empty batch keeps the
// running statistics and saves zeros; the unbiased variance's factor
// n / (n - 1) is computed from n.
// CHECK-LABEL: func.func @batch_norm
// CHECK: %[[D0:.*]] = tensor.dim %arg0, %c0
// CHECK: %[[D2:.*]] = tensor.dim %arg0, %c2
// CHECK: %[[N0:.*]] = arith.muli %[[D0]], %[[D2]]
// CHECK: %[[D3:.*]] = tensor.dim %arg0, %c3
// CHECK: %[[N:.*]] = arith.muli %[[N0]], %[[D3]]
// CHECK: %[[NOT1:.*]] = arith.cmpi ne, %[[N]], %c1
// CHECK: norm.check %[[NOT1]], "norm.batch_norm: expected more than 1 value per channel when training"
// CHECK: %[[EMPTY:.*]] = arith.cmpi eq, %[[N]], %c0
// CHECK: norm.moments %arg0 axes = [0, 2, 3] : tensor<?x3x?x?xf32> -> tensor<1x3x1x1xf32>, tensor<1x3x1x1xf32>
// CHECK: arith.select %[[EMPTY]]
// CHECK: arith.uitofp %{{.*}} : i64 to f64
// CHECK: arith.divf
// CHECK: arith.truncf %{{.*}} : f64 to f32
func.func @batch_norm(%x: tensor<?x3x?x?xf32>, %rm: tensor<3xf32>, %rv: tensor<3xf32>) -> (tensor<?x3x?x?xf32>, tensor<3xf32>, tensor<3xf32>) {
  %y, %m, %r, %nrm, %nrv = norm.batch_norm %x running(%rm, %rv) {training, channel_axis = 1 : i64} : (tensor<?x3x?x?xf32>, tensor<3xf32>, tensor<3xf32>) -> (tensor<?x3x?x?xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>)
  return %y, %nrm, %nrv : tensor<?x3x?x?xf32>, tensor<3xf32>, tensor<3xf32>
}

// -----

// GroupNorm over dynamic spatial dimensions: the channel split keeps them.
// CHECK-LABEL: func.func @group_norm_spatial
// CHECK: tensor.expand_shape %arg0 {{\[\[}}0], [1, 2], [3]] output_shape [2, 2, 3, %{{.*}}] : tensor<2x6x?xf32> into tensor<2x2x3x?xf32>
// CHECK: norm.moments %{{.*}} axes = [2, 3] : tensor<2x2x3x?xf32> -> tensor<2x2x1x1xf32>, tensor<2x2x1x1xf32>
func.func @group_norm_spatial(%x: tensor<2x6x?xf32>) -> tensor<2x6x?xf32> {
  %y, %m, %r = norm.group_norm %x {num_groups = 2 : i64, channel_axis = 1 : i64} : (tensor<2x6x?xf32>) -> (tensor<2x6x?xf32>, tensor<2x2xf32>, tensor<2x2xf32>)
  return %y : tensor<2x6x?xf32>
}

// -----

// GroupNorm with a dynamic batch: the channel split keeps it.
// CHECK-LABEL: func.func @group_norm_batch
// CHECK: tensor.expand_shape %arg0 {{\[\[}}0], [1, 2], [3]] output_shape [%{{.*}}, 2, 3, 8] : tensor<?x6x8xf32> into tensor<?x2x3x8xf32>
// CHECK: norm.moments %{{.*}} axes = [2, 3] : tensor<?x2x3x8xf32> -> tensor<?x2x1x1xf32>, tensor<?x2x1x1xf32>
func.func @group_norm_batch(%x: tensor<?x6x8xf32>) -> tensor<?x6x8xf32> {
  %y, %m, %r = norm.group_norm %x {num_groups = 2 : i64, channel_axis = 1 : i64} : (tensor<?x6x8xf32>) -> (tensor<?x6x8xf32>, tensor<?x2xf32>, tensor<?x2xf32>)
  return %y : tensor<?x6x8xf32>
}

// -----

// InstanceNorm with running statistics over a dynamic batch: the batch
// average divides by the runtime batch size.
// CHECK-LABEL: func.func @instance_norm_batch
// CHECK: %[[N:.*]] = tensor.dim %{{.*}}, %c0 : tensor<?x3xf32>
// CHECK: %[[I:.*]] = arith.index_castui %[[N]] : index to i64
// CHECK: arith.uitofp %[[I]] : i64 to f32
func.func @instance_norm_batch(%x: tensor<?x3x8xf32>, %rm: tensor<3xf32>, %rv: tensor<3xf32>) -> (tensor<?x3x8xf32>, tensor<3xf32>) {
  %y, %nrm, %nrv = norm.instance_norm %x running(%rm, %rv) {training} : (tensor<?x3x8xf32>, tensor<3xf32>, tensor<3xf32>) -> (tensor<?x3x8xf32>, tensor<3xf32>, tensor<3xf32>)
  return %y, %nrm : tensor<?x3x8xf32>, tensor<3xf32>
}

// -----

// InstanceNorm from input statistics over dynamic spatial dimensions: C3
// (more than 1 spatial element) at run time; the running variance's factor
// n / (n - 1) from the runtime spatial size.
// CHECK-LABEL: func.func @instance_norm_spatial
// CHECK: %[[S:.*]] = tensor.dim %arg0, %c2
// CHECK: %[[NOT1:.*]] = arith.cmpi ne, %[[S]], %c1
// CHECK: norm.check %[[NOT1]], "norm.instance_norm: expected more than 1 spatial element when normalizing with input statistics"
// CHECK: norm.moments %arg0 axes = [2] : tensor<?x3x?xf32> -> tensor<?x3x1xf32>, tensor<?x3x1xf32>
// CHECK: arith.uitofp %{{.*}} : i64 to f64
func.func @instance_norm_spatial(%x: tensor<?x3x?xf32>, %rm: tensor<3xf32>, %rv: tensor<3xf32>) -> (tensor<?x3x?xf32>, tensor<3xf32>) {
  %y, %nrm, %nrv = norm.instance_norm %x running(%rm, %rv) {training} : (tensor<?x3x?xf32>, tensor<3xf32>, tensor<3xf32>) -> (tensor<?x3x?xf32>, tensor<3xf32>, tensor<3xf32>)
  return %y, %nrv : tensor<?x3x?xf32>, tensor<3xf32>
}
