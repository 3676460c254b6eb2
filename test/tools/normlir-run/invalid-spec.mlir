// A malformed spec is reported with its location, not run.
// RUN: not normlir-run %s 2>&1 | FileCheck %s

// CHECK: invalid-spec.mlir:[[@LINE+2]]:{{[0-9]+}}: error: 'norm.group_norm' op expected the number of channels 6 to be divisible by num_groups 4
func.func @gn(%x: tensor<2x6x4xf32>) -> (tensor<2x6x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>) {
  %y, %m, %r = norm.group_norm %x {num_groups = 4} : (tensor<2x6x4xf32>) -> (tensor<2x6x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>)
  return %y, %m, %r : tensor<2x6x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>
}
