// RUN: normlir-opt %s --norm-host-buffers-to-device -split-input-file -verify-diagnostics | FileCheck %s

// The host code around the launches of convert-norm-to-gpu moves onto the
// device.

// Host code: temporaries become device allocations freed at the return,
// contiguous copies device copies, and a scalar update a one-thread kernel.
// CHECK-LABEL: func.func @host(
// CHECK-SAME: %[[A:.*]]: memref<8xf32>, %[[C:.*]]: memref<i64>, %[[O:.*]]: memref<8xf32>, %[[D:.*]]: memref<i64>)
// CHECK: %[[T:.*]] = gpu.alloc () : memref<8xf32>
// CHECK: gpu.memcpy %[[T]], %[[A]]
// CHECK: gpu.memcpy %[[O]], %[[T]]
// CHECK: gpu.launch
// CHECK: memref.load %[[C]]
// CHECK: arith.addi
// CHECK: memref.store {{.*}}, %[[D]]
// CHECK: gpu.terminator
// CHECK: gpu.dealloc %[[T]]
// CHECK-NEXT: return
func.func @host(%a: memref<8xf32>, %c: memref<i64>, %o: memref<8xf32>, %d: memref<i64>) {
  %t = memref.alloc() : memref<8xf32>
  memref.copy %a, %t : memref<8xf32> to memref<8xf32>
  memref.copy %t, %o : memref<8xf32> to memref<8xf32>
  %v = memref.load %c[] : memref<i64>
  %one = arith.constant 1 : i64
  %s = arith.addi %v, %one : i64
  memref.store %s, %d[] : memref<i64>
  return
}

// -----

// A scalar read from device memory that feeds a region (a running-average
// factor 1 / (n + 1)) is recomputed inside it: no load stays on the host.
// CHECK-LABEL: func.func @host_scalar_in_region(
// CHECK-NOT: memref.load
// CHECK: linalg.generic
// CHECK: memref.load
// CHECK: arith.divf
// CHECK: linalg.yield
#id = affine_map<(d0) -> (d0)>
func.func @host_scalar_in_region(%n: memref<i64>, %a: memref<8xf32>, %o: memref<8xf32>) {
  %v = memref.load %n[] : memref<i64>
  %one = arith.constant 1 : i64
  %s = arith.addi %v, %one : i64
  %f = arith.sitofp %s : i64 to f32
  %c1 = arith.constant 1.0 : f32
  %r = arith.divf %c1, %f : f32
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%a : memref<8xf32>) outs(%o : memref<8xf32>) {
  ^bb0(%x: f32, %y: f32):
    %m = arith.mulf %x, %r : f32
    linalg.yield %m : f32
  }
  return
}

// -----

// A constant tensor (host memory) is copied to a device buffer first.
// CHECK-LABEL: func.func @constant(
// CHECK: %[[G:.*]] = memref.get_global @w
// CHECK: %[[D:.*]] = gpu.alloc () : memref<4xf32>
// CHECK: gpu.memcpy %[[D]], %[[G]]
// CHECK: gpu.memcpy %{{.*}}, %[[D]]
// CHECK: gpu.dealloc %[[D]]
memref.global "private" constant @w : memref<4xf32> = dense<1.0>
func.func @constant(%o: memref<4xf32>) {
  %g = memref.get_global @w : memref<4xf32>
  memref.copy %g, %o : memref<4xf32> to memref<4xf32>
  return
}

// -----

// A function that branches cannot be moved: its host code must be
// straight-line.
// expected-error @+1 {{GPU lowering expects a function with one block (straight-line host code)}}
func.func @control_flow(%c: i1, %o: memref<4xf32>) {
  cf.cond_br %c, ^a, ^b
^a:
  return
^b:
  return
}

// -----

// A buffer returned rather than written through an out-parameter.
func.func @returned(%a: memref<8xf32>) -> memref<8xf32> {
  %t = memref.alloc() : memref<8xf32>
  memref.copy %a, %t : memref<8xf32> to memref<8xf32>
  // expected-error @+1 {{GPU lowering expects buffers returned through out-parameters (run buffer-results-to-out-params first)}}
  return %t : memref<8xf32>
}
