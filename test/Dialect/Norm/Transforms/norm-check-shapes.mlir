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

// -----

// LayerNorm over dynamic normalized dimensions: each parameter's size is
// checked against the input's (a shorter weight would be read past its
// end); the leading dimension needs no check.
// CHECK-LABEL: func.func @layer_norm_params
// CHECK: %[[D:.*]] = tensor.dim %arg0, %c1
// CHECK: %[[W:.*]] = tensor.dim %arg1, %c0
// CHECK: %[[EQ:.*]] = arith.cmpi eq, %[[D]], %[[W]]
// CHECK: norm.check %[[EQ]], "norm.layer_norm: weight dimension 0 does not match the input's dimension 1"
// CHECK: norm.check %{{.*}}, "norm.layer_norm: bias dimension 0 does not match the input's dimension 1"
// CHECK-NOT: norm.check
// CHECK: norm.layer_norm
func.func @layer_norm_params(%x: tensor<?x?xf32>, %w: tensor<?xf32>, %b: tensor<?xf32>) -> tensor<?x?xf32> {
  %y, %m, %r = norm.layer_norm %x weight %w bias %b {normalized_shape = array<i64: -1>} : (tensor<?x?xf32>, tensor<?xf32>, tensor<?xf32>) -> (tensor<?x?xf32>, tensor<?x1xf32>, tensor<?x1xf32>)
  return %y : tensor<?x?xf32>
}

// -----

// Static normalized dimensions (a dynamic batch): the verifier compared the
// parameters.
// CHECK-LABEL: func.func @rms_norm_static_params
// CHECK-NOT: norm.check
func.func @rms_norm_static_params(%x: tensor<?x64xf32>, %w: tensor<64xf32>) -> tensor<?x64xf32> {
  %y, %r = norm.rms_norm %x weight %w {normalized_shape = array<i64: 64>} : (tensor<?x64xf32>, tensor<64xf32>) -> (tensor<?x64xf32>, tensor<?x1xf32>)
  return %y : tensor<?x64xf32>
}

// -----

// A norm.apply of the input with parameters along a dynamic axis: checked
// as its statistics are.
// CHECK-LABEL: func.func @apply_params
// CHECK: norm.check %{{.*}}, "norm.apply: weight dimension 0 does not match the input's dimension 1"
// CHECK: norm.apply
func.func @apply_params(%x: tensor<4x?xf32>, %r: tensor<4x1xf32>, %w: tensor<?xf32>) -> tensor<4x?xf32> {
  %y = norm.apply %x rstd %r weight %w {param_axes = array<i64: 1>} : (tensor<4x?xf32>, tensor<4x1xf32>, tensor<?xf32>) -> tensor<4x?xf32>
  return %y : tensor<4x?xf32>
}
