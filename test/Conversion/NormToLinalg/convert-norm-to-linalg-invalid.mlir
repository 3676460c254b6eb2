// RUN: not normlir-opt %s -split-input-file -convert-norm-to-linalg 2>&1 | FileCheck %s

// Named ops must be expanded by -norm-expand first; a leftover one is an
// error, not silently kept.

// CHECK: convert-norm-to-linalg-invalid.mlir:[[@LINE+4]]:{{[0-9]+}}: error: failed to legalize operation 'norm.layer_norm' that was explicitly marked illegal
func.func @layer_norm(%x: tensor<8x6xf32>, %r: tensor<8x1xf32>) -> tensor<8x6xf32> {
  // The core op before it is legalizable; the named op still fails the pass.
  %0 = norm.rstd %r epsilon = 1.0e-5 : tensor<8x1xf32> -> tensor<8x1xf32>
  %y, %m, %s = norm.layer_norm %x {normalized_shape = array<i64: 6>}
      : (tensor<8x6xf32>) -> (tensor<8x6xf32>, tensor<8x1xf32>, tensor<8x1xf32>)
  return %y : tensor<8x6xf32>
}

// -----

// CHECK: convert-norm-to-linalg-invalid.mlir:[[@LINE+2]]:{{[0-9]+}}: error: failed to legalize operation 'norm.rms_norm' that was explicitly marked illegal
func.func @rms_norm(%x: tensor<2x16xbf16>) -> tensor<2x16xbf16> {
  %y, %r = norm.rms_norm %x {normalized_shape = array<i64: 16>} : (tensor<2x16xbf16>) -> (tensor<2x16xbf16>, tensor<2x1xf32>)
  return %y : tensor<2x16xbf16>
}

// -----

// CHECK: convert-norm-to-linalg-invalid.mlir:[[@LINE+2]]:{{[0-9]+}}: error: failed to legalize operation 'norm.batch_norm' that was explicitly marked illegal
func.func @batch_norm(%x: tensor<8x4xf32>, %rm: tensor<4xf32>, %rv: tensor<4xf32>) -> tensor<8x4xf32> {
  %y = norm.batch_norm %x running(%rm, %rv) : (tensor<8x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<8x4xf32>
  return %y : tensor<8x4xf32>
}

// -----

// CHECK: convert-norm-to-linalg-invalid.mlir:[[@LINE+2]]:{{[0-9]+}}: error: failed to legalize operation 'norm.instance_norm' that was explicitly marked illegal
func.func @instance_norm(%x: tensor<2x3x4xf32>) -> tensor<2x3x4xf32> {
  %y = norm.instance_norm %x : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return %y : tensor<2x3x4xf32>
}

// -----

// CHECK: convert-norm-to-linalg-invalid.mlir:[[@LINE+2]]:{{[0-9]+}}: error: failed to legalize operation 'norm.group_norm' that was explicitly marked illegal
func.func @group_norm(%x: tensor<2x6x4xf32>) -> tensor<2x6x4xf32> {
  %y:3 = norm.group_norm %x {num_groups = 3} : (tensor<2x6x4xf32>) -> (tensor<2x6x4xf32>, tensor<2x3xf32>, tensor<2x3xf32>)
  return %y#0 : tensor<2x6x4xf32>
}
