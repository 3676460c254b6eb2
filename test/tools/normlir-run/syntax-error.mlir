// RUN: not normlir-run %s 2>&1 | FileCheck %s

// CHECK: syntax-error.mlir:[[@LINE+2]]:{{[0-9]+}}: error:
func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
  %y = norm.layer_norm %x {normalized_shape = array<i64: 4>} : tensor<4xf32>
  return %y : tensor<4xf32>
}
