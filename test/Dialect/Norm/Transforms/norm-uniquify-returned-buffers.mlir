// RUN: normlir-opt %s --pass-pipeline="builtin.module(func.func(norm-uniquify-returned-buffers))" -split-input-file -verify-diagnostics | FileCheck %s

// The second and third uses of %a get their own buffers; %b is untouched.
// CHECK-LABEL: func.func @repeated(
// CHECK-SAME: %[[ARG:.*]]: memref<4xf32>
// CHECK: %[[A:.*]] = memref.alloc() : memref<4xf32>
// CHECK: %[[C1:.*]] = memref.alloc() : memref<4xf32>
// CHECK: memref.copy %[[A]], %[[C1]]
// CHECK: %[[C2:.*]] = memref.alloc() : memref<4xf32>
// CHECK: memref.copy %[[A]], %[[C2]]
// CHECK: return %[[A]], %[[C1]], %[[ARG]], %[[C2]]
func.func @repeated(%b: memref<4xf32>) -> (memref<4xf32>, memref<4xf32>, memref<4xf32>, memref<4xf32>) {
  %a = memref.alloc() : memref<4xf32>
  return %a, %a, %b, %a : memref<4xf32>, memref<4xf32>, memref<4xf32>, memref<4xf32>
}

// -----

// Distinct buffers and non-memref results are left alone.
// CHECK-LABEL: func.func @distinct(
// CHECK-NOT: memref.copy
// CHECK: return
func.func @distinct(%i: index) -> (memref<2xf32>, index, index) {
  %a = memref.alloc() : memref<2xf32>
  return %a, %i, %i : memref<2xf32>, index, index
}

// -----

func.func @dynamic(%a: memref<?xf32>) -> (memref<?xf32>, memref<?xf32>) {
  // expected-error @+1 {{cannot split a returned buffer of type 'memref<?xf32>': it needs a static shape and identity layout}}
  return %a, %a : memref<?xf32>, memref<?xf32>
}
