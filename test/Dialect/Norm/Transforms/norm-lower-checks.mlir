// RUN: normlir-opt %s --norm-lower-checks -split-input-file -verify-diagnostics | FileCheck %s

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

// -----

// A check after the function's first writes moves before them, with the
// pure ops computing its condition: a failed call writes nothing.
// CHECK-LABEL: func.func @hoisted
// CHECK-NEXT: %[[C0:.*]] = arith.constant 0 : index
// CHECK-NEXT: %[[N:.*]] = memref.dim %arg0, %[[C0]]
// CHECK-NEXT: %[[M:.*]] = memref.dim %arg1, %[[C0]]
// CHECK-NEXT: %[[EQ:.*]] = arith.cmpi eq, %[[N]], %[[M]]
// CHECK-NEXT: cf.cond_br %[[EQ]]
// CHECK: memref.store
func.func @hoisted(%a: memref<?xf32>, %b: memref<?xf32>) {
  %z = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  memref.store %z, %a[%c0] : memref<?xf32>
  %n = memref.dim %a, %c0 : memref<?xf32>
  %m = memref.dim %b, %c0 : memref<?xf32>
  %eq = arith.cmpi eq, %n, %m : index
  norm.check %eq, "sizes differ"
  return
}

// -----

func.func @loaded(%a: memref<i1>) {
  %c = memref.load %a[] : memref<i1>
  // expected-error @+1 {{norm-lower-checks: the check's condition depends on memref.load, which cannot move to the function's entry}}
  norm.check %c, "loaded"
  return
}

// -----

func.func private @helper(%a: i1) {
  // expected-error @+1 {{norm-lower-checks: @helper is called by a function; runtime checks are supported in the functions the entry points call only}}
  norm.check %a, "in a callee"
  return
}

func.func @caller(%a: i1) {
  call @helper(%a) : (i1) -> ()
  return
}

// -----

// Allocations of the entry block sized from the inputs get a check where
// they are (not hoisted): a null pointer or a byte count that overflows
// frees the allocations made before it that are still live and returns the
// check's status. A static
// allocation is not checked, nor one freed before.
// CHECK-LABEL: func.func @allocations
// CHECK-SAME: norm.check_messages = ["dimension", "out of memory: a buffer sized from the inputs' dimensions could not be allocated", "out of memory: a buffer sized from the inputs' dimensions could not be allocated"]
// CHECK: cf.cond_br
// CHECK: %[[S:.*]] = memref.alloc() : memref<4xf32>
// CHECK: %[[A:.*]] = memref.alloc(%{{.*}}) : memref<?xf32>
// CHECK: %[[PA:.*]] = memref.extract_aligned_pointer_as_index %[[A]]
// CHECK: %[[NONNULL:.*]] = arith.cmpi ne, %[[PA]], %c0
// The byte count must not overflow: 4 <= (2^63 - 1) / max(n, 1), or n = 0.
// CHECK: %[[N1:.*]] = arith.maxui %[[N:.*]], %c1
// CHECK: %[[LIMIT:.*]] = arith.divui %c9223372036854775807, %[[N1]]
// CHECK: %[[FITS:.*]] = arith.cmpi ule, %c4, %[[LIMIT]]
// CHECK: %[[EMPTY:.*]] = arith.cmpi eq, %[[N]], %c0
// CHECK: %[[COUNT:.*]] = arith.ori %[[FITS]], %[[EMPTY]]
// CHECK: %[[OKA:.*]] = arith.andi %[[NONNULL]], %[[COUNT]]
// CHECK: cf.cond_br %[[OKA]], ^[[NEXT:.*]], ^[[FAILA:.*]]
// CHECK: ^[[FAILA]]:
// CHECK-NEXT: memref.dealloc %[[S]]
// CHECK-NEXT: arith.constant 4 : i32
// CHECK: ^[[NEXT]]:
// CHECK: memref.dealloc %[[A]]
// CHECK: %[[B:.*]] = memref.alloc(%{{.*}}) : memref<?xf32>
// CHECK: memref.extract_aligned_pointer_as_index %[[B]]
// CHECK: cf.cond_br %{{.*}}, ^[[LAST:.*]], ^[[FAILB:.*]]
// CHECK: ^[[FAILB]]:
// CHECK-NEXT: memref.dealloc %[[S]]
// CHECK-NEXT: arith.constant 5 : i32
// CHECK: ^[[LAST]]:
func.func @allocations(%x: memref<?xf32>, %ok: i1) {
  norm.check %ok, "dimension"
  %c0 = arith.constant 0 : index
  %n = memref.dim %x, %c0 : memref<?xf32>
  %s = memref.alloc() : memref<4xf32>
  %a = memref.alloc(%n) : memref<?xf32>
  memref.copy %x, %a : memref<?xf32> to memref<?xf32>
  memref.dealloc %a : memref<?xf32>
  %b = memref.alloc(%n) : memref<?xf32>
  memref.copy %x, %b : memref<?xf32> to memref<?xf32>
  memref.dealloc %b : memref<?xf32>
  memref.dealloc %s : memref<4xf32>
  return
}
