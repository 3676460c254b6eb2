// RUN: normlir-opt %s --pass-pipeline="builtin.module(func.func(norm-check-shapes))" -split-input-file | FileCheck %s

// A residual add over ?x8: each operand's dynamic size along the first loop
// is checked against the first operand's (the second loop is static).
#id = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @residual
// CHECK: %[[N:.*]] = tensor.dim %arg0, %c0
// CHECK: %[[R:.*]] = tensor.dim %arg1, %c0
// CHECK: %[[EQ:.*]] = arith.cmpi eq, %[[N]], %[[R]]
// CHECK: norm.check %[[EQ]], "linalg.generic: argument 1 dimension 0 does not match argument 0 dimension 0"
// CHECK: norm.check %{{.*}}, "linalg.generic: argument 2 dimension 0 does not match argument 0 dimension 0"
// CHECK-NOT: norm.check
// CHECK: linalg.generic
// CHECK-LABEL: func.func @empty_init
// CHECK: %[[N:.*]] = tensor.dim %arg0, %c0
// CHECK: %[[X:.*]] = tensor.dim %arg0
// CHECK: norm.check %{{.*}}, "linalg.generic: argument 1 dimension 0 does not match argument 0 dimension 0"
// CHECK: %[[EQ:.*]] = arith.cmpi eq, %[[X]], %[[N]]
// CHECK: norm.check %[[EQ]], "linalg.generic: operand 2 dimension 0 does not match argument 0 dimension 0"
// CHECK: linalg.generic
func.func @residual(%x: tensor<?x8xf32>, %r: tensor<?x8xf32>, %e: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %s = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %r : tensor<?x8xf32>, tensor<?x8xf32>) outs(%e : tensor<?x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %t = arith.addf %a, %b : f32
    linalg.yield %t : f32
  } -> tensor<?x8xf32>
  return %s : tensor<?x8xf32>
}

// An init made by tensor.empty is compared through its size operand: here
// the input's own size, a check the canonicalizer folds away; the size of
// another argument would be checked at run time.
func.func @empty_init(%x: tensor<?x8xf32>, %r: tensor<?x8xf32>) -> tensor<?x8xf32> {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %x, %c0 : tensor<?x8xf32>
  %e = tensor.empty(%n) : tensor<?x8xf32>
  %s = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %r : tensor<?x8xf32>, tensor<?x8xf32>) outs(%e : tensor<?x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %t = arith.addf %a, %b : f32
    linalg.yield %t : f32
  } -> tensor<?x8xf32>
  return %s : tensor<?x8xf32>
}

// -----

// A cast to a static size: the size is checked.
// CHECK-LABEL: func.func @cast
// CHECK: %[[N:.*]] = tensor.dim %arg0, %c0
// CHECK: %[[EQ:.*]] = arith.cmpi eq, %[[N]], %c8
// CHECK: norm.check %[[EQ]], "argument 0 dimension 0 must be 8"
// CHECK: tensor.cast
func.func @cast(%x: tensor<?x4xf32>) -> tensor<8x4xf32> {
  %c = tensor.cast %x : tensor<?x4xf32> to tensor<8x4xf32>
  return %c : tensor<8x4xf32>
}

// -----

// Static shapes: nothing to check.
#id = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @static
// CHECK-NOT: norm.check
func.func @static(%x: tensor<4x8xf32>, %e: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %s = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    linalg.yield %a : f32
  } -> tensor<4x8xf32>
  return %s : tensor<4x8xf32>
}
