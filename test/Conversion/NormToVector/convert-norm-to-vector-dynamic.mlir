// RUN: normlir-opt %s --convert-norm-to-vector -split-input-file -verify-diagnostics | FileCheck %s

// A dynamic number of rows with two variants: a branch on the runtime row
// count picks the threaded copy from 64 rows; each copy splits the rows
// into at most 16 ranges at run time (none for 0 rows).
// CHECK-LABEL: func.func @rows
// CHECK: %[[N:.*]] = memref.dim %arg0, %c0
// CHECK: %[[BIG:.*]] = arith.cmpi uge, %[[N]], %c64
// CHECK: scf.if %[[BIG]] {
// CHECK: %[[ROWS:.*]] = memref.dim %arg0
// CHECK: %[[PER:.*]] = arith.ceildivui %[[ROWS]], %c16
// CHECK: %[[CHUNK:.*]] = arith.maxui %[[PER]], %c1
// CHECK: %[[TASKS:.*]] = arith.ceildivui %[[ROWS]], %[[CHUNK]]
// CHECK: scf.parallel (%{{.*}}) = (%{{.*}}) to (%[[TASKS]])
// CHECK: arith.minui %{{.*}}, %[[ROWS]]
// CHECK: } else {
// CHECK-NOT: scf.parallel
// CHECK: scf.for
// CHECK: }
// CHECK-NOT: norm.kernel
func.func @rows(%x: memref<?x256xf32>, %y: memref<?x256xf32>, %s: memref<?x1xf32>) {
  norm.kernel mean_square %x outs(%y, %s, %s) {axes = array<i64: 1>, epsilon = 1.0e-6 : f64, variants = [#norm.variant<from = 0, schedule = #norm.schedule<strategy = row, vectorWidth = 8, unroll = 1, chunks = 1, rowTasks = 16, nontemporal = false, parallel = false>>, #norm.variant<from = 64, schedule = #norm.schedule<strategy = row, vectorWidth = 8, unroll = 1, chunks = 1, rowTasks = 16, nontemporal = false, parallel = true>>]} : (memref<?x256xf32>, memref<?x256xf32>, memref<?x1xf32>, memref<?x1xf32>) -> ()
  return
}

// -----

// A static kernel lowers as before: no dimension queries.
// CHECK-LABEL: func.func @static_rows
// CHECK-NOT: memref.dim
// CHECK-NOT: scf.if
// CHECK: return
func.func @static_rows(%x: memref<8x256xf32>, %y: memref<8x256xf32>, %s: memref<8x1xf32>) {
  norm.kernel mean_square %x outs(%y, %s, %s) {axes = array<i64: 1>, epsilon = 1.0e-6 : f64, schedule = #norm.schedule<strategy = row, vectorWidth = 8, unroll = 1, chunks = 1, rowTasks = 2, nontemporal = false, parallel = false>} : (memref<8x256xf32>, memref<8x256xf32>, memref<8x1xf32>, memref<8x1xf32>) -> ()
  return
}

// -----

// The segment and column lowerings take static sizes only.
func.func @segment_dynamic(%x: memref<?x3x16xf32>, %y: memref<?x3x16xf32>, %s: memref<1x3x1xf32>) {
  // expected-error @+1 {{the segment strategy does not take dynamic sizes yet, layout [P0, R1, P1, R2] = [1, ?, 3, 16]}}
  norm.kernel mean_square %x outs(%y, %s, %s) {axes = array<i64: 0, 2>, epsilon = 1.0e-6 : f64, schedule = #norm.schedule<strategy = segment, vectorWidth = 8, unroll = 1, chunks = 1, rowTasks = 1, nontemporal = false, parallel = false>} : (memref<?x3x16xf32>, memref<?x3x16xf32>, memref<1x3x1xf32>, memref<1x3x1xf32>) -> ()
  return
}

// -----

// Rows of a dynamic length are not lowered by the row strategy.
func.func @row_dynamic_length(%x: memref<4x?xf32>, %y: memref<4x?xf32>, %s: memref<4x1xf32>) {
  // expected-error @+1 {{the row strategy takes a dynamic number of rows only (P0), layout [P0, R1, P1, R2] = [4, 1, 1, ?]}}
  norm.kernel mean_square %x outs(%y, %s, %s) {axes = array<i64: 1>, epsilon = 1.0e-6 : f64, schedule = #norm.schedule<strategy = row, vectorWidth = 8, unroll = 1, chunks = 1, rowTasks = 1, nontemporal = false, parallel = false>} : (memref<4x?xf32>, memref<4x?xf32>, memref<4x1xf32>, memref<4x1xf32>) -> ()
  return
}
