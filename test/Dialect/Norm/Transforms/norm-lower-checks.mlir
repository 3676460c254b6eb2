// RUN: normlir-opt %s --pass-pipeline="builtin.module(func.func(norm-lower-checks))" -split-input-file -verify-diagnostics | FileCheck %s

// Each check returns its status (3 + its index) where it fails; the function
// returns 0 otherwise and records the messages.
// CHECK-LABEL: func.func @two_checks
// CHECK-SAME: -> i32 attributes {norm.check_messages = ["first", "second"]}
// CHECK: cf.cond_br %arg0, ^[[NEXT:.*]], ^[[FAIL1:.*]]
// CHECK: ^[[FAIL1]]:
// CHECK: %[[C3:.*]] = arith.constant 3 : i32
// CHECK: return %[[C3]] : i32
// CHECK: ^[[NEXT]]:
// CHECK: cf.cond_br %arg1, ^[[LAST:.*]], ^[[FAIL2:.*]]
// CHECK: arith.constant 4 : i32
// CHECK: ^[[LAST]]:
// CHECK: memref.store
// CHECK: %[[C0:.*]] = arith.constant 0 : i32
// CHECK: return %[[C0]] : i32
func.func @two_checks(%a: i1, %b: i1, %m: memref<f32>) {
  norm.check %a, "first"
  norm.check %b, "second"
  %z = arith.constant 0.0 : f32
  memref.store %z, %m[] : memref<f32>
  return
}

// -----

// No checks: the function is left alone.
// CHECK-LABEL: func.func @none(%arg0: memref<f32>) {
func.func @none(%m: memref<f32>) {
  return
}

// -----

func.func @returns_values(%a: i1) -> i1 {
  // expected-error @+1 {{norm-lower-checks: the function returns values; run it once results are out-parameters (buffer-results-to-out-params)}}
  norm.check %a, "first"
  return %a : i1
}
