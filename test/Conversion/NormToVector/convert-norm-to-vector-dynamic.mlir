// RUN: normlir-opt %s --convert-norm-to-vector -split-input-file -verify-diagnostics | FileCheck %s

// A dynamic number of rows with two variants: a branch on the input's
// runtime size picks the threaded copy from 64 rows (16384 elements); each
// copy splits the rows into at most 16 ranges at run time (none for 0
// rows).
// CHECK-LABEL: func.func @rows
// CHECK: %[[D:.*]] = memref.dim %arg0, %c0
// CHECK: %[[N:.*]] = arith.muli %[[D]], %c256
// CHECK: %[[BIG:.*]] = arith.cmpi uge, %[[N]], %c16384
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
  norm.kernel mean_square %x outs(%y, %s, %s) {axes = array<i64: 1>, epsilon = 1.0e-6 : f64, variants = [#norm.variant<from = 0, schedule = #norm.schedule<strategy = row, vectorWidth = 8, unroll = 1, chunks = 1, rowTasks = 16, nontemporal = false, parallel = false>>, #norm.variant<from = 16384, schedule = #norm.schedule<strategy = row, vectorWidth = 8, unroll = 1, chunks = 1, rowTasks = 16, nontemporal = false, parallel = true>>]} : (memref<?x256xf32>, memref<?x256xf32>, memref<?x1xf32>, memref<?x1xf32>) -> ()
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

// A dynamic R1 in the segment strategy: the scratch sized at run time,
// each statistic's R1 partials combined in a loop of runtime length.
// CHECK-LABEL: func.func @segment_dynamic
// CHECK: %[[R1:.*]] = memref.dim %arg0, %c0
// CHECK: memref.alloc(%{{.*}}) : memref<?xf64>
// CHECK: scf.for %{{.*}} = %c0{{.*}} to %[[R1]] step
// CHECK-NOT: norm.kernel
func.func @segment_dynamic(%x: memref<?x3x16xf32>, %y: memref<?x3x16xf32>, %s: memref<1x3x1xf32>) {
  norm.kernel mean_square %x outs(%y, %s, %s) {axes = array<i64: 0, 2>, epsilon = 1.0e-6 : f64, schedule = #norm.schedule<strategy = segment, vectorWidth = 8, unroll = 1, chunks = 1, rowTasks = 1, nontemporal = false, parallel = false>} : (memref<?x3x16xf32>, memref<?x3x16xf32>, memref<1x3x1xf32>, memref<1x3x1xf32>) -> ()
  return
}

// -----

// Rows of a dynamic length: the length from the input, the reduction's
// blocks and last vectors counted at run time, the masked tail under a
// branch (none where the length is a multiple of the vector).
// CHECK-LABEL: func.func @row_dynamic_length
// CHECK: %[[LEN:.*]] = memref.dim %arg0, %c1
// CHECK: scf.for
// CHECK: arith.muli %{{.*}}, %[[LEN]] : index
// CHECK: %[[VECS:.*]] = arith.divui %[[LEN]], %c8
// CHECK: arith.divui %[[VECS]], %c1024
// CHECK: %[[TAIL:.*]] = arith.cmpi ult, %{{.*}}, %[[LEN]]
// CHECK: scf.if %[[TAIL]] -> (vector<8xf64>)
// CHECK: vector.create_mask
// CHECK: vector.maskedload
func.func @row_dynamic_length(%x: memref<4x?xf32>, %y: memref<4x?xf32>, %s: memref<4x1xf32>) {
  norm.kernel mean_square %x outs(%y, %s, %s) {axes = array<i64: 1>, epsilon = 1.0e-6 : f64, schedule = #norm.schedule<strategy = row, vectorWidth = 8, unroll = 1, chunks = 1, rowTasks = 1, nontemporal = false, parallel = false>} : (memref<4x?xf32>, memref<4x?xf32>, memref<4x1xf32>, memref<4x1xf32>) -> ()
  return
}

// -----

// The column strategy with a dynamic P0 and R1 (channels-last): `chunks`
// chunks in all samples (ceil(4 / P0) per sample) where R1 has the rows,
// of at most 8192 rows of 32 bytes (256 KiB), their count and the scratch
// sized at run time.
// CHECK-LABEL: func.func @column_dynamic
// CHECK: %[[P0:.*]] = memref.dim %arg0, %c0
// CHECK: %[[R1:.*]] = memref.dim %arg0, %c1
// CHECK: %[[ONE:.*]] = arith.maxui %[[P0]], %c1
// CHECK: %[[SAMPLE:.*]] = arith.ceildivui %c4, %[[ONE]]
// CHECK: %[[PER:.*]] = arith.ceildivui %[[R1]], %[[SAMPLE]]
// CHECK: %[[CAP:.*]] = arith.minui %[[PER]], %c8192
// CHECK: %[[LEN:.*]] = arith.maxui %[[CAP]], %c1
// CHECK: %[[K0:.*]] = arith.ceildivui %[[R1]], %[[LEN]]
// CHECK: %[[K:.*]] = arith.maxui %[[K0]], %c1
// CHECK: memref.alloc(%{{.*}}) : memref<?xf32>
// CHECK: %[[PK:.*]] = arith.muli %[[P0]], %[[K]]
// CHECK: memref.alloc(%{{.*}}) : memref<?xf64>
// CHECK: scf.parallel
// CHECK-NOT: norm.kernel
func.func @column_dynamic(%x: memref<?x?x8xf32>, %y: memref<?x?x8xf32>, %s: memref<?x1x8xf32>) {
  norm.kernel moments %x outs(%y, %s, %s, %s) {axes = array<i64: 1>, epsilon = 1.0e-5 : f64, schedule = #norm.schedule<strategy = column, vectorWidth = 8, unroll = 1, chunks = 4, rowTasks = 1, nontemporal = false, parallel = true>} : (memref<?x?x8xf32>, memref<?x?x8xf32>, memref<?x1x8xf32>, memref<?x1x8xf32>, memref<?x1x8xf32>) -> ()
  return
}
