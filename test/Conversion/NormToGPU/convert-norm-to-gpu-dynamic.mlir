// RUN: normlir-opt %s --convert-norm-to-gpu -split-input-file -verify-diagnostics | FileCheck %s

// A dynamic number of rows: the grid is ceil(rows / rows per block),
// computed on the host, with no launch for 0 rows; each team checks its row
// against the count, which the kernel captures.
// CHECK-LABEL: func.func @rows
// CHECK: %[[N:.*]] = memref.dim %arg0, %c0
// CHECK: %[[GRID:.*]] = arith.ceildivui %[[N]], %c16
// CHECK: %[[ANY:.*]] = arith.cmpi ne, %[[GRID]], %c0
// CHECK: scf.if %[[ANY]] {
// CHECK: gpu.launch blocks(%[[B:.*]], %{{.*}}, %{{.*}}) in (%{{.*}} = %[[GRID]],
// CHECK: arith.cmpi ult, %{{.*}}, %[[N]]
func.func @rows(%x: memref<?x256xf32>, %y: memref<?x256xf32>, %s: memref<?x1xf32>) {
  norm.kernel mean_square %x outs(%y, %s, %s) {axes = array<i64: 1>, epsilon = 1.0e-6 : f64, schedule = #norm.gpu_schedule<strategy = row, threads = 16, rows = 16, vectorWidth = 4, chunks = 1>} : (memref<?x256xf32>, memref<?x256xf32>, memref<?x1xf32>, memref<?x1xf32>) -> ()
  return
}

// -----

func.func @segment(%x: memref<?x3x64xf32>, %y: memref<?x3x64xf32>, %s: memref<1x3x1xf32>) {
  // expected-error @+1 {{the segment strategy does not take dynamic sizes yet, layout [P0, R1, P1, R2] = [1, ?, 3, 64]}}
  norm.kernel mean_square %x outs(%y, %s, %s) {axes = array<i64: 0, 2>, epsilon = 1.0e-6 : f64, schedule = #norm.gpu_schedule<strategy = segment, threads = 64, rows = 1, vectorWidth = 4, chunks = 1>} : (memref<?x3x64xf32>, memref<?x3x64xf32>, memref<1x3x1xf32>, memref<1x3x1xf32>) -> ()
  return
}

// -----

func.func @row_length(%x: memref<4x?xf32>, %y: memref<4x?xf32>, %s: memref<4x1xf32>) {
  // expected-error @+1 {{the GPU row strategy takes a dynamic number of rows only (P0, with R1 = 1), layout [P0, R1, P1, R2] = [4, 1, 1, ?]}}
  norm.kernel mean_square %x outs(%y, %s, %s) {axes = array<i64: 1>, epsilon = 1.0e-6 : f64, schedule = #norm.gpu_schedule<strategy = row, threads = 16, rows = 16, vectorWidth = 4, chunks = 1>} : (memref<4x?xf32>, memref<4x?xf32>, memref<4x1xf32>, memref<4x1xf32>) -> ()
  return
}
