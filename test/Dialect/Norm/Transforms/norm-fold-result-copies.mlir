// RUN: normlir-opt %s --pass-pipeline="builtin.module(func.func(norm-fold-result-copies))" -split-input-file | FileCheck %s

// The GroupNorm shape: computed as 2x2x3 in a temporary, returned as 4x3
// through a copy; the temporary becomes a view of the out-parameter.
// CHECK-LABEL: func.func @collapse(
// CHECK-SAME: %[[IN:.*]]: memref<2x2x3xf32>, %[[OUT:.*]]: memref<4x3xf32>)
// CHECK-NOT: memref.alloc
// CHECK: %[[VIEW:.*]] = memref.expand_shape %[[OUT]] {{\[\[}}0, 1], [2]] output_shape [2, 2, 3] : memref<4x3xf32> into memref<2x2x3xf32>
// CHECK: memref.copy %[[IN]], %[[VIEW]]
// CHECK-NOT: memref.copy
// CHECK: return
func.func @collapse(%in: memref<2x2x3xf32>, %out: memref<4x3xf32>) {
  %a = memref.alloc() : memref<2x2x3xf32>
  memref.copy %in, %a : memref<2x2x3xf32> to memref<2x2x3xf32>
  %c = memref.collapse_shape %a [[0, 1], [2]] : memref<2x2x3xf32> into memref<4x3xf32>
  memref.copy %c, %out : memref<4x3xf32> to memref<4x3xf32>
  return
}

// -----

// The same through an expand_shape.
// CHECK-LABEL: func.func @expand(
// CHECK-SAME: %{{.*}}: memref<6xf32>, %[[OUT:.*]]: memref<2x3xf32>)
// CHECK: memref.collapse_shape %[[OUT]] {{\[\[}}0, 1]] : memref<2x3xf32> into memref<6xf32>
// CHECK-NOT: memref.alloc
func.func @expand(%in: memref<6xf32>, %out: memref<2x3xf32>) {
  %a = memref.alloc() : memref<6xf32>
  memref.copy %in, %a : memref<6xf32> to memref<6xf32>
  %e = memref.expand_shape %a [[0, 1]] output_shape [2, 3] : memref<6xf32> into memref<2x3xf32>
  memref.copy %e, %out : memref<2x3xf32> to memref<2x3xf32>
  return
}

// -----

// The temporary is read after the copy: writing the out-parameter in its
// place would be visible there, so nothing changes.
// CHECK-LABEL: func.func @used_after(
// CHECK: memref.alloc
// CHECK: memref.copy %{{.*}}, %{{.*}} : memref<4x3xf32> to memref<4x3xf32>
func.func @used_after(%in: memref<2x2x3xf32>, %out: memref<4x3xf32>, %out2: memref<2x2x3xf32>) {
  %a = memref.alloc() : memref<2x2x3xf32>
  memref.copy %in, %a : memref<2x2x3xf32> to memref<2x2x3xf32>
  %c = memref.collapse_shape %a [[0, 1], [2]] : memref<2x2x3xf32> into memref<4x3xf32>
  memref.copy %c, %out : memref<4x3xf32> to memref<4x3xf32>
  memref.copy %a, %out2 : memref<2x2x3xf32> to memref<2x2x3xf32>
  return
}

// -----

// An out-parameter with other uses is not taken over.
// CHECK-LABEL: func.func @out_used(
// CHECK: memref.alloc
func.func @out_used(%in: memref<2x2x3xf32>, %out: memref<4x3xf32>) -> f32 {
  %a = memref.alloc() : memref<2x2x3xf32>
  memref.copy %in, %a : memref<2x2x3xf32> to memref<2x2x3xf32>
  %c = memref.collapse_shape %a [[0, 1], [2]] : memref<2x2x3xf32> into memref<4x3xf32>
  memref.copy %c, %out : memref<4x3xf32> to memref<4x3xf32>
  %i = arith.constant 0 : index
  %v = memref.load %out[%i, %i] : memref<4x3xf32>
  return %v : f32
}

// -----

// A dynamically shaped result: the allocation becomes the out-parameter
// after a check that its size is the computed one; the source of that size
// (input 0, dimension 0) is recorded for callers.
// CHECK-LABEL: func.func @dynamic
// CHECK-SAME: attributes {norm.result_dims = [array<i64: 1, 0, 0, 0>]}
// CHECK: %[[N:.*]] = memref.dim %arg0, %c0
// CHECK-NOT: memref.alloc
// CHECK: %[[GIVEN:.*]] = memref.dim %arg1, %c0
// CHECK: %[[SAME:.*]] = arith.cmpi eq, %[[GIVEN]], %[[N]]
// CHECK: norm.check %[[SAME]], "dimension 0 of argument 1 (a result buffer) is not the size the inputs give it"
// CHECK: memref.copy %arg0, %arg1
// CHECK-NOT: memref.copy
func.func @dynamic(%x: memref<?x4xf32>, %out: memref<?x4xf32>) {
  %c0 = arith.constant 0 : index
  %n = memref.dim %x, %c0 : memref<?x4xf32>
  %alloc = memref.alloc(%n) : memref<?x4xf32>
  memref.copy %x, %alloc : memref<?x4xf32> to memref<?x4xf32>
  memref.copy %alloc, %out : memref<?x4xf32> to memref<?x4xf32>
  return
}

// -----

// A dynamically shaped statistic computed flat and returned with its unit
// dimension (an expand_shape view): the view of the out-parameter takes the
// allocation's place after the size check, and the size's source is
// recorded.
// CHECK-LABEL: func.func @dynamic_view
// CHECK-SAME: attributes {norm.result_dims = [array<i64: 1, 0, 0, 0>]}
// CHECK: %[[N:.*]] = memref.dim %arg0, %c0
// CHECK: %[[GIVEN:.*]] = memref.dim %arg1, %c0
// CHECK: %[[SAME:.*]] = arith.cmpi eq, %[[GIVEN]], %[[N]]
// CHECK: norm.check %[[SAME]]
// CHECK: %[[VIEW:.*]] = memref.collapse_shape %arg1 {{\[\[}}0, 1]] : memref<?x1xf32> into memref<?xf32>
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%[[VIEW]] : memref<?xf32>)
// CHECK-NOT: memref.alloc
// CHECK-NOT: memref.copy
func.func @dynamic_view(%x: memref<?x8xf32>, %out: memref<?x1xf32>) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %n = memref.dim %x, %c0 : memref<?x8xf32>
  %alloc = memref.alloc(%n) : memref<?xf32>
  linalg.fill ins(%zero : f32) outs(%alloc : memref<?xf32>)
  %e = memref.expand_shape %alloc [[0, 1]] output_shape [%n, 1] : memref<?xf32> into memref<?x1xf32>
  memref.copy %e, %out : memref<?x1xf32> to memref<?x1xf32>
  return
}

// -----

// An expanded group with a static size other than 1: the result's size is
// not traced to the allocation's, so the copy stays (after its size check).
// CHECK-LABEL: func.func @expand_nonunit
// CHECK: memref.alloc
// CHECK: norm.check
// CHECK: memref.copy
func.func @expand_nonunit(%x: memref<?x8xf32>, %out: memref<?x4xf32>) {
  %c0 = arith.constant 0 : index
  %c4 = arith.constant 4 : index
  %zero = arith.constant 0.0 : f32
  %n = memref.dim %x, %c0 : memref<?x8xf32>
  %m = arith.muli %n, %c4 : index
  %alloc = memref.alloc(%m) : memref<?xf32>
  linalg.fill ins(%zero : f32) outs(%alloc : memref<?xf32>)
  %e = memref.expand_shape %alloc [[0, 1]] output_shape [%n, 4] : memref<?xf32> into memref<?x4xf32>
  memref.copy %e, %out : memref<?x4xf32> to memref<?x4xf32>
  return
}

// -----

// The allocation is written after the copy through another view of it: the
// out-parameter must hold what was copied, so nothing folds (dynamic and
// static).
// CHECK-LABEL: func.func @alias_after_copy
// CHECK: memref.alloc
// CHECK: memref.copy
// CHECK-LABEL: func.func @alias_after_copy_static
// CHECK: memref.alloc
// CHECK: memref.copy
func.func @alias_after_copy(%x: memref<?x8xf32>, %out: memref<?x1xf32>) {
  %c0 = arith.constant 0 : index
  %one = arith.constant 1.0 : f32
  %two = arith.constant 2.0 : f32
  %n = memref.dim %x, %c0 : memref<?x8xf32>
  %alloc = memref.alloc(%n) : memref<?xf32>
  %other = memref.expand_shape %alloc [[0, 1]] output_shape [%n, 1] : memref<?xf32> into memref<?x1xf32>
  linalg.fill ins(%one : f32) outs(%alloc : memref<?xf32>)
  %e = memref.expand_shape %alloc [[0, 1]] output_shape [%n, 1] : memref<?xf32> into memref<?x1xf32>
  memref.copy %e, %out : memref<?x1xf32> to memref<?x1xf32>
  linalg.fill ins(%two : f32) outs(%other : memref<?x1xf32>)
  return
}
func.func @alias_after_copy_static(%x: memref<4x8xf32>, %out: memref<4x1xf32>) {
  %one = arith.constant 1.0 : f32
  %two = arith.constant 2.0 : f32
  %alloc = memref.alloc() : memref<4xf32>
  %other = memref.expand_shape %alloc [[0, 1]] output_shape [4, 1] : memref<4xf32> into memref<4x1xf32>
  linalg.fill ins(%one : f32) outs(%alloc : memref<4xf32>)
  %e = memref.expand_shape %alloc [[0, 1]] output_shape [4, 1] : memref<4xf32> into memref<4x1xf32>
  memref.copy %e, %out : memref<4x1xf32> to memref<4x1xf32>
  linalg.fill ins(%two : f32) outs(%other : memref<4x1xf32>)
  return
}
